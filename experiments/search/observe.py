"""Synthetic observed data for a calibration: one run of its scenario with known values.

    python -m experiments.search.observe experiments/calibrate_flowline.toml \\
        --truth scenario.params.products.0.interarrival.mean=110 \\
        --truth scenario.params.stations.*.degradation.drift_per_h=0.004 \\
        --seed 99 --out experiments/data/flowline_observed.parquet

The run is the calibration config's scenario and policy with the ``--truth`` values set,
on its own seed (a reality is one sample path, not an average); the file holds every
target of the config: a KPI as a ``name, value`` row, a time series as ``name, time_s,
value`` rows after the warm-up. A calibration that recovers the truth from this file
shows it can recover parameters from data of that kind.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.search.checks import check_calibrate
from experiments.search.config import CalibrateConfig, parse_calibrate
from experiments.search.space import candidate
from twin.core.arguments import seed
from twin.core.config import read_toml
from twin.core.errors import UserError
from twin.core.files import write_parquet_atomically
from twin.core.run import default_registry, simulate


def observe(config: CalibrateConfig, truth: dict[str, Any], seed: int) -> pd.DataFrame:
    """The targets of ``config`` as observed in one run with ``truth`` set."""
    registry = default_registry()
    check_calibrate(config, "<config>", registry)
    point = candidate(config, truth, "truth", registry)
    result = simulate(
        point.scenario, config.policy.id, seed, policy_params=point.policy_params, registry=registry
    )
    rows: list[tuple[str, float, float]] = []
    for target in config.targets:
        if target.kpi is not None:
            rows.append((target.kpi, math.nan, float(result.kpis[target.kpi].value)))
            continue
        series = result.timeseries
        kept = series[
            (series["probe"] == target.name) & (series["time_s"] >= point.scenario.warmup_s)
        ]
        rows += [
            (target.name, float(t), float(v))
            for t, v in zip(kept["time_s"], kept["value"], strict=True)
        ]
    return pd.DataFrame(rows, columns=["name", "time_s", "value"])


def _truth(text: str) -> tuple[str, Any]:
    key, separator, value = text.partition("=")
    if not separator:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"{key}: {value!r} is not a number") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.search.observe")
    parser.add_argument("config", help="calibration config (TOML)")
    parser.add_argument("--truth", type=_truth, action="append", default=[], help="KEY=VALUE")
    parser.add_argument("--seed", type=seed, required=True, help="seed of the observed run")
    parser.add_argument("--out", required=True, help="parquet file to write")
    args = parser.parse_args(argv)
    try:
        config = parse_calibrate(read_toml(args.config), args.config)
        truth = dict(args.truth)
        unknown = sorted(set(truth) - set(config.parameters))
        if unknown:
            raise UserError(
                f"--truth: {', '.join(unknown)} not among the parameters: "
                f"{', '.join(config.parameters)}"
            )
        frame = observe(config, truth, args.seed)
    except UserError as error:
        print(f"observe: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_parquet_atomically(frame, out)
    print(f"{len(frame)} observed rows -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
