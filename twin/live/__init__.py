"""The live twin: fork, snapshot and shadow a running world (issue 18)."""
