"""AGV dispatching: which vehicle serves which transport request."""
