"""The station against queueing theory: simulated means with 95% CIs next to the formulas.

Prints, for several loads, the mean wait (Erlang C; Pollaczek-Khinchine for M/D/1) and
the M/M/c/K blocking probability, each as the mean of independent replications with a
Student-t 95% confidence interval, and the ratio simulated / theory. The same checks,
at 99.9%, run in tests/station/test_theory.py.

Usage: python benchmarks/station_vs_theory.py [--replications R]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import stats

from twin.core.queueing import QueueMetrics, mgc_allen_cunneen, mmc, mmck
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig


def replicate(
    params: dict[str, object], horizon_s: float, kpi: str, replications: int, **policy: object
) -> tuple[float, float]:
    config = ScenarioConfig(
        id="station/mmc-v0", params=params, horizon_s=horizon_s, warmup_s=horizon_s / 20
    )
    policy_id = "admission/queue-cap-v0" if policy else "admission/admit-all-v0"
    values = np.array(
        [
            simulate(config, policy_id, seed=7_000 + r, policy_params=dict(policy)).kpis[kpi].value
            for r in range(replications)
        ]
    )
    halfwidth = stats.t.ppf(0.975, replications - 1) * values.std(ddof=1) / math.sqrt(replications)
    return float(values.mean()), float(halfwidth)


def row(label: str, theory: float, simulated: tuple[float, float]) -> str:
    mean, halfwidth = simulated
    return (
        f"| {label} | {theory:.4f} | {mean:.4f} +- {halfwidth:.4f} | {mean / theory:.3f} | "
        f"{'yes' if abs(mean - theory) <= halfwidth else 'no'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=20)
    args = parser.parse_args()
    r = args.replications
    print("| case | theory | simulated (95% CI) | ratio | theory inside CI |")
    print("| --- | --- | --- | --- | --- |")
    for servers, rho in [(1, 0.5), (1, 0.8), (3, 0.7), (5, 0.9)]:
        rate = rho * servers
        params = {
            "arrival_rate_per_s": rate,
            "servers": servers,
            "service": {"kind": "exponential", "mean": 1.0},
        }
        theory: QueueMetrics = mmc(rate, 1.0, servers)
        simulated = replicate(params, 40_000 / rate * (3 if rho >= 0.9 else 1), "wait_mean_s", r)
        print(row(f"M/M/{servers}, rho {rho}: mean wait, s (Erlang C)", theory.wait_s, simulated))
    md1 = {
        "arrival_rate_per_s": 0.8,
        "servers": 1,
        "service": {"kind": "deterministic", "value": 1.0},
    }
    print(
        row(
            "M/D/1, rho 0.8: mean wait, s (Pollaczek-Khinchine)",
            mgc_allen_cunneen(0.8, 1.0, 0.0, 1).wait_s,
            replicate(md1, 50_000, "wait_mean_s", r),
        )
    )
    mm2 = {"arrival_rate_per_s": 1.8, "servers": 2, "service": {"kind": "exponential", "mean": 1.0}}
    print(
        row(
            "M/M/2/5 by queue-cap-v0 (max_queue 3): blocking probability",
            mmck(1.8, 1.0, 2, 5).blocking,
            replicate(mm2, 30_000, "rejected_share", r, max_queue=3),
        )
    )


if __name__ == "__main__":
    main()
