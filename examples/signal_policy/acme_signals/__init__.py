"""ACME's signal controller for twin: an example of a third-party policy package."""
