"""Transport policies: when waiting loads leave on a truck."""
