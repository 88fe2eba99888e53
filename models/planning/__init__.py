"""Production planning policies (``factory.planning``): an integer program solved by
HiGHS, and the FIFO, EDD and SPT release rules it is measured against."""
