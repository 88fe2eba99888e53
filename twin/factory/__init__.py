"""The factory twin: degrading machines, sensors, repair crews, buffers and AGVs."""
