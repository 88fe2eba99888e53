"""What watching the region costs: one published frame of its three panels (plant, city
with trucks, supply network; views -> frame data -> JSON, as the app publishes it)
against one display tick of the coupled run it shows, measured side by side.

The run is warmed up past the first day, on until a supply truck drives in the city,
then ``--ticks`` times: step one display tick headless, then publish a frame (every
panel), each timed. It prints the median and minimum milliseconds of each, per panel
too, and their ratio: the share of simulating a frame per tick would cost. The app
publishes a frame only while that share stays within ``viz.controller.DRAW_FRACTION``
(it skips frames otherwise), so a ratio above it means fewer frames, not a slower run.

Usage: python benchmarks/region_view.py [--scenario region/coupled-v0] [--seed 1]
       [--tick-s 60] [--ticks 40] [--warm-s 86400]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY
from viz.controller import DRAW_FRACTION, AppTarget, Controller
from viz.scene_data import frame_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="region/coupled-v0")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tick-s", type=float, default=60.0)
    parser.add_argument("--ticks", type=int, default=40)
    parser.add_argument("--warm-s", type=float, default=86_400.0)
    args = parser.parse_args()

    horizon_s = 4 * SECONDS_PER_DAY
    config = ScenarioConfig(id=args.scenario, horizon_s=horizon_s, tick_s=args.tick_s)
    app = Controller(AppTarget(config, "region/policy-set-v0", args.seed))
    app.session.advance(args.warm_s)
    road = app.session.arms[0].run.scenario.road
    while not road.drives_now() and not app.session.done:  # until trucks drive
        app.session.step(1)
    warmed_s = app.session.now_s
    step_s: list[float] = []
    publish_s: list[float] = []
    panel_s: dict[str, list[float]] = {panel.name: [] for panel in app.panels}
    trucks = []
    for _ in range(args.ticks):
        start = time.perf_counter()
        app.session.step(1)
        step_s.append(time.perf_counter() - start)
        total = 0.0
        for panel in app.panels:  # what the app's publish does, panel by panel
            start = time.perf_counter()
            frames = [frame_data(view.frame()) for view in panel.views]
            json.dumps(frames, separators=(",", ":"))
            took = time.perf_counter() - start
            panel_s[panel.name].append(took)
            total += took
            if panel.name == "city":
                trucks.append(len(frames[0]["points"]["supply_trucks"]["classes"]))
        publish_s.append(total)
    step, publish = statistics.median(step_s), statistics.median(publish_s)
    print(
        f"{args.scenario}, seed {args.seed}, {args.ticks} ticks of {args.tick_s:g} s "
        f"from {warmed_s:g} s (the first supply truck in the city)"
    )
    mean_trucks = statistics.mean(trucks)
    print(f"  supply trucks in the city per frame: max {max(trucks)}, mean {mean_trucks:.1f}")
    # The minimum too: on a shared machine the median carries other processes' time.
    print(f"  simulate one tick: {step * 1000:.1f} ms median, {min(step_s) * 1000:.1f} ms min")
    print(
        f"  publish one frame: {publish * 1000:.1f} ms median, "
        f"{min(publish_s) * 1000:.1f} ms min (all panels)"
    )
    for name, times in panel_s.items():
        print(
            f"    {name}: {statistics.median(times) * 1000:.1f} ms median, "
            f"{min(times) * 1000:.1f} ms min"
        )
    print(
        f"frame / tick = {publish / step:.3f} median, {min(publish_s) / min(step_s):.3f} min "
        f"(the app publishes while <= {DRAW_FRACTION:.2f})"
    )


if __name__ == "__main__":
    main()
