"""Small searches on the M/M/c station (runs of a few milliseconds) for the search tests."""

from __future__ import annotations

from pathlib import Path

STATION = """
name = "{name}"
seed = 7

[scenario]
id = "station/mmc-v0"
horizon_s = {horizon_s}
warmup_s = 3_600
{sample}

[scenario.params]
arrival_rate_per_s = 0.016666666666666666
servers = 2
service = {{ kind = "exponential", mean = 100.0 }}
server_busy_power_kw = 7.5
server_idle_power_kw = 1.5
electricity_price_per_kwh = 0.15

[policy]
id = "admission/admit-all-v0"

{body}
"""

SERVERS = """
[parameters]
"scenario.params.servers" = { low = 1, high = 8, integer = true }

[objective]
kpi = "cost_total"

[[constraints]]
kpi = "wait_mean_s"
max = 30.0

[search]
trials = 12
batch = 4
startup_trials = 4

[replications]
count = 3

[recheck]
challengers = 2
replications = 4
"""


def station_search(
    directory: Path,
    body: str = SERVERS,
    *,
    horizon_s: float = 90_000,
    sample_period_s: float | None = None,
    name: str = "search.toml",
) -> Path:
    """A search config on a two-server station (one job a minute, 100 s service)."""
    sample = f"sample_period_s = {sample_period_s}" if sample_period_s else ""
    text = STATION.format(name=name, horizon_s=horizon_s, sample=sample, body=body)
    path = directory / name
    path.write_text(text)
    return path
