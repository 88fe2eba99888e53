"""Traffic-signal policies: baselines (fixed-time, Webster, actuated, SOTL) and adaptive
(max-pressure). Each decides, at a decision epoch of one intersection, which green phase
to show and for how long (:class:`twin.traffic.SignalAction`)."""
