"""ACME's maintenance rule for twin: an example of a third-party policy package."""
