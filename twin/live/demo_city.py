"""``make demo-live`` (city half): SUMO as the real city, the twin as its shadow.

1. a mosquitto broker on 127.0.0.1 (a free port);
2. the real city: ``python -m twin.live.sumo_reality grid4x4`` (RESCO's 4x4 grid in SUMO,
   its own seed), publishing its stop-line loops every minute;
3. the shadow: ``twin shadow`` on the same network, every 5 minutes forking fixed-time,
   actuated, max-pressure and the trained PPO policy over a 10-minute look-ahead and
   recommending one, with the signal decisions of its best branch as the plan;
4. SUMO applies the plans; its own KPIs (time loss, waiting time per finished trip) are
   set beside the same SUMO run with its own programmes (open loop), seed by seed.

Every process started here is stopped here, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from twin.live.broker import Broker
from twin.live.reality import beside_shadow

CANDIDATES = (
    "signals/fixed-time-v0",
    "signals/actuated-v0",
    "signals/max-pressure-v0",
    "signals/ppo-v0",
)
TWIN_CONFIG = """# The twin of a RESCO network, started on its own programmes; adaptive policies may
# hold a green 5 to 50 s (sumo-rl's min and max green), as in experiments/resco.toml.
seed = 0
[scenario]
id = "traffic/sumo-net-v0"
horizon_s = {horizon_s}
tick_s = 60.0
params = {{ resco = "{network}", adaptive_green_s = [5, 50] }}
[policy]
id = "signals/fixed-time-v0"
"""


def city_run(args: argparse.Namespace, seed: int, *, closed: bool, out: Path) -> dict[str, Any]:
    """SUMO's KPIs for one seed, with the shadow's plans (``closed``) or without."""
    reality_args = [
        args.network, "", "--seed", str(seed), "--duration-s", str(args.duration_s),
        "--decision-period-s", str(args.decision_period_s),
    ]  # fmt: skip
    with Broker() as broker, tempfile.TemporaryDirectory() as scratch:
        url = f"{broker.url}/city"
        reality_args[1] = url
        reality = [sys.executable, "-m", "twin.live.sumo_reality", *reality_args]
        if not closed:
            reality.append("--open-loop")
            return _finished(subprocess.run(reality, capture_output=True, text=True, check=False))  # noqa: S603
        config = Path(scratch) / "twin.toml"
        config.write_text(TWIN_CONFIG.format(horizon_s=args.duration_s, network=args.network))
        shadow_command = [
            sys.executable, "-m", "twin", "shadow", str(config), "--source", url,
            "--out", str(out), "--candidates", ",".join(candidates(args.network)),
            "--kpi", "resco_delay_mean_s",
            "--decision-period-s", str(args.decision_period_s),
            "--look-ahead-s", str(args.look_ahead_s), "--replications", "2",
            "--idle-timeout-s", "20",
        ]  # fmt: skip
        return beside_shadow(broker, "city", shadow_command, reality)


def candidates(network: str) -> tuple[str, ...]:
    """The policies the shadow tries; the shipped PPO network reads grid4x4's lanes only."""
    trained_for = "grid4x4"
    return tuple(c for c in CANDIDATES if c != "signals/ppo-v0" or network == trained_for)


def _finished(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    if done.returncode != 0:
        raise SystemExit(f"SUMO reality failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="grid4x4", help="a RESCO network or a .sumocfg")
    parser.add_argument("--seeds", default="1,2,3", help="SUMO seeds, comma-separated")
    parser.add_argument("--duration-s", type=float, default=1800.0)
    parser.add_argument("--decision-period-s", type=float, default=300.0)
    parser.add_argument("--look-ahead-s", type=float, default=600.0)
    parser.add_argument("--out", default="results/live-city")
    args = parser.parse_args()
    out = Path(args.out)
    if out.exists():
        raise SystemExit(f"{out}: exists; remove it or choose another --out")
    print(f"SUMO {args.network}, {args.duration_s:g} s per run; mean per finished trip:")
    print(f"{'seed':>4} {'loop time loss s':>17} {'open time loss s':>17} {'change':>8} "
          f"{'loop wait s':>12} {'open wait s':>12} {'plans':>6}")  # fmt: skip
    for seed in (int(s) for s in args.seeds.split(",")):
        loop = city_run(args, seed, closed=True, out=out / f"seed{seed}")
        open_ = city_run(args, seed, closed=False, out=out)
        change = (loop["time_loss_mean_s"] - open_["time_loss_mean_s"]) / open_["time_loss_mean_s"]
        print(
            f"{seed:>4} {loop['time_loss_mean_s']:>17.1f} {open_['time_loss_mean_s']:>17.1f} "
            f"{change:>+8.1%} {loop['waiting_time_mean_s']:>12.1f} "
            f"{open_['waiting_time_mean_s']:>12.1f} {loop['followed']:>6}"
        )
    print(f"sessions (divergence.png, recommendations.json, recording/): {out.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
