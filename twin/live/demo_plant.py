"""``make demo-live`` (factory half): the closed loop, with every part a real process.

1. a mosquitto broker on 127.0.0.1 (a free port);
2. the real factory: ``python -m twin.live.emulated_plant`` (a flow line whose machines
   wear 1.3 times faster than the twin believes, its own seed), publishing its sensors;
3. the shadow: ``twin shadow`` on the flow line config, correcting its wear estimate
   every hour and, every simulated day, forking run-to-failure / condition-based /
   predictive branches over a three-day look-ahead and recommending one;
4. the plant follows the recommendations; at the end the plant's cost with the loop is
   set beside the same plant (same seed) left to run-to-failure and to condition-based.

Every process started here is stopped here, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.live.broker import Broker
from twin.live.emulated_plant import emulate
from twin.live.reality import beside_shadow

BASELINES = ("maintenance/run-to-failure-v0", "maintenance/condition-based-v0")
CANDIDATES = (
    "maintenance/run-to-failure-v0",
    "maintenance/condition-based-v0",
    "maintenance/predictive-v0",
)
TWIN_CONFIG = """# The twin of the flow line, with default parameters: it does not know the wear.
seed = 0
[scenario]
id = "factory/flowline-v0"
horizon_s = {horizon_s}
tick_s = 600.0
[policy]
id = "maintenance/run-to-failure-v0"
"""


def plant_alone(days: float, seed: int, wear_factor: float, policy: str) -> float:
    """The emulated plant's cost under one fixed policy, without the twin."""
    config = ScenarioConfig(
        id="factory/flowline-v0", horizon_s=days * SECONDS_PER_DAY, tick_s=600.0
    )
    hidden = {"stations": [{"degradation": {"drift_per_h": wear_factor / 500.0}}] * 5}
    plant = emulate(config, policy, seed, hidden, SECONDS_PER_HOUR)
    for _ in plant:
        pass
    plant.run.world.finish()
    return float(plant.run.result(wall_s=0.0).kpis["cost_total"].value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=14.0)
    parser.add_argument("--seeds", default="11", help="the plant's seeds, comma-separated")
    parser.add_argument("--wear-factor", type=float, default=1.3)
    parser.add_argument("--out", default="results/live-plant")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists():
        raise SystemExit(f"{out}: exists; remove it or choose another --out")
    rows = []
    for seed in (int(text) for text in args.seeds.split(",")):
        loop = closed_loop(args, seed, out / f"seed{seed}")
        alone = [plant_alone(args.days, seed, args.wear_factor, p) for p in BASELINES]
        rows.append((seed, loop, alone))
    print(f"\nthe plant ({args.days:g} days, wear x{args.wear_factor}), its own cost:")
    print(f"{'seed':>5} {'with the twin':>14} {'run-to-failure':>15} {'change':>8} "
          f"{'condition-based':>16} {'change':>8} {'followed':>9}")  # fmt: skip
    for seed, loop, (failure, condition) in rows:
        cost = loop["cost_total"]
        print(f"{seed:>5} {cost:>14,.0f} {failure:>15,.0f} {(cost - failure) / failure:>+8.2%} "
              f"{condition:>16,.0f} {(cost - condition) / condition:>+8.2%} "
              f"{loop['followed']:>9}")  # fmt: skip
    print(f"sessions (divergence.png, branches.png, recording/): {out.resolve()}")
    return 0


def closed_loop(args: argparse.Namespace, seed: int, out: Path) -> dict[str, Any]:
    """The emulated plant with seed ``seed`` following the shadow over a fresh broker."""
    with Broker() as broker, tempfile.TemporaryDirectory() as scratch:
        url = f"{broker.url}/plant"
        config = Path(scratch) / "twin.toml"
        config.write_text(TWIN_CONFIG.format(horizon_s=args.days * SECONDS_PER_DAY))
        shadow_command = [
            sys.executable, "-m", "twin", "shadow", str(config), "--source", url,
            "--out", str(out), "--candidates", ",".join(CANDIDATES),
            "--decision-period-s", str(SECONDS_PER_DAY), "--look-ahead-s", str(3 * SECONDS_PER_DAY),
            "--correction-period-s", str(SECONDS_PER_HOUR), "--idle-timeout-s", "20",
        ]  # fmt: skip
        plant_command = [
            sys.executable, "-m", "twin.live.emulated_plant", url, "--days", str(args.days),
            "--seed", str(seed), "--wear-factor", str(args.wear_factor),
        ]  # fmt: skip
        loop = beside_shadow(broker, "plant", shadow_command, plant_command)
    return loop


if __name__ == "__main__":
    raise SystemExit(main())
