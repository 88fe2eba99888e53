"""Time to draw one frame, and how much a view drawing every N ticks slows a played run.

Two worlds: the 10x10 traffic grid (run until about 2,000 vehicles are on the network, or
until ``--max-warm-s`` if the demand never puts that many on it) and the 1,000-machine
plant. For each it prints the time to produce one frame (read the world into arrays,
update the artists, rasterise with Agg; the KPI caption separately), then plays the same
run on, alternating segments of N ticks headless and N ticks ending in a drawn frame
(side by side in one process), and prints the slow-down.

Last, the browser app's own play loop (:class:`viz.controller.Controller`, which draws
only while drawing stays within 20% of simulating) against headless stepping, in
alternating segments of the same run.

While the city warms up, one frame is also timed as it passes 500 and 1,000 vehicles:
docs/benchmarks/viz_frame.png draws a frame's cost against the vehicles on the network.
The last line printed is each world's frame time and the app loop's slow-down.

Targets (issue 6): <= 100 ms per frame; <= 20% slow-down.

Usage: python benchmarks/viz_frame.py [--seed 1] [--ticks 60] [--every 1 5 10 30] [--rate 6.5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from growth import save_growth_plot

from twin.core.scenario import ScenarioConfig
from twin.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from twin.traffic.kernels import DRIVING
from viz.controller import AppTarget, Controller
from viz.record import Replay, caption
from viz.session import Session

TARGET_FRAME_S = 0.100
TARGET_SLOWDOWN = 0.20


def on_network(session: Session) -> int:
    return int((session.arms[0].run.scenario.city.veh.state == DRIVING).sum())


GROWTH_VEHICLES = (500, 1000)
"""Vehicle counts at which the warming city's frame is timed too, for the growth plot."""


def traffic(
    seed: int, rate: float, max_warm_s: float, vehicles: int, repeats: int
) -> tuple[Session, list[tuple[float, float]]]:
    """The city warmed up to ``vehicles`` on the network, and (vehicles, frame ms) timed
    on the way at :data:`GROWTH_VEHICLES` (each timing steps ``repeats`` ticks on)."""
    params: dict[str, Any] = {"demand": {"rates_per_s": [rate]}}
    config = ScenarioConfig(
        id="traffic/grid10x10-v0", params=params, horizon_s=SECONDS_PER_DAY, tick_s=10.0
    )
    session = Session(config, ["signals/fixed-time-v0"], seed)
    growth: list[tuple[float, float]] = []
    pending = [n for n in GROWTH_VEHICLES if n < vehicles]
    while on_network(session) < vehicles and session.now_s < max_warm_s:
        session.step()
        if pending and on_network(session) >= pending[0]:
            pending.pop(0)
            on = on_network(session)
            draw_s, caption_s = frame_times(session, repeats)
            growth.append((on, (draw_s + caption_s) * 1000))
    return session, growth


def plant(seed: int, warm_s: float) -> Session:
    config = ScenarioConfig(
        id="factory/plant-1000-v0", horizon_s=30 * SECONDS_PER_DAY, tick_s=300.0
    )
    session = Session(config, ["maintenance/condition-based-v0"], seed)
    session.step(round(warm_s / config.tick_s))
    return session


def frame_times(session: Session, repeats: int) -> tuple[float, float]:
    """Median seconds per frame (data + artists + Agg), and per KPI caption."""
    replay = Replay(session)
    replay.update()
    replay.render()  # first draw builds the text and tick caches
    draws, captions = [], []
    for _ in range(repeats):
        session.step()
        start = time.perf_counter()
        for view in replay.views:
            view.update(view.frame())
        replay.render()
        middle = time.perf_counter()
        caption(session)
        captions.append(time.perf_counter() - middle)
        draws.append(middle - start)
    replay.close()
    return statistics.median(draws), statistics.median(captions)


def slowdown(session: Session, every: int, segments: int) -> tuple[float, float]:
    """Wall seconds of headless and of drawn play, alternating segments of ``every`` ticks.

    The same run plays on: a headless segment, then a segment that draws once at its
    end, and so on, so both see the same (growing or steady) world, side by side.
    """
    replay = Replay(session)
    replay.update()
    replay.render()
    headless_s = drawn_s = 0.0
    for _ in range(segments):
        start = time.perf_counter()
        session.step(every)
        headless_s += time.perf_counter() - start
        start = time.perf_counter()
        session.step(every)
        replay.update()
        replay.render()
        caption(session)  # the KPIs a live chart would append
        drawn_s += time.perf_counter() - start
    replay.close()
    return headless_s, drawn_s


def app_slowdown(session: Session, ticks: int, segments: int) -> tuple[float, float, int]:
    """Wall seconds headless and played by the app's loop (flat out), and frames drawn."""
    target = AppTarget(session.config, session.policies[0], session.seed)
    app = Controller(target, session=session)
    app.play()
    headless_s = played_s = 0.0
    frames = app.frames
    for _ in range(segments):
        start = time.perf_counter()
        session.step(ticks)
        headless_s += time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(ticks):
            app.advance(1)
        played_s += time.perf_counter() - start
    return headless_s, played_s, app.frames - frames


def report(
    name: str, session: Session, args: argparse.Namespace, count: str
) -> tuple[float, float]:
    """Print the world's figures; return its frame seconds (with KPIs) and the app
    loop's slow-down."""
    draw_s, caption_s = frame_times(session, args.repeats)
    ok = "meets" if draw_s + caption_s <= TARGET_FRAME_S else "MISSES"
    print(f"\n{name}: {count}")
    print(f"  frame (world -> arrays -> artists -> Agg): {draw_s * 1000:7.1f} ms")
    print(f"  KPIs for the caption (scenario + ledger) : {caption_s * 1000:7.1f} ms")
    print(f"  one frame in all: {(draw_s + caption_s) * 1000:.1f} ms, {ok} <= 100 ms")
    for every in args.every:
        segments = max(1, args.ticks // every)
        headless_s, drawn_s = slowdown(session, every, segments)
        ticks = segments * every
        ratio = drawn_s / headless_s - 1.0
        # What the frame cost predicts, steadier than the measured ratio on a busy box.
        predicted = (draw_s + caption_s) / (every * headless_s / ticks)
        ok = "meets" if ratio <= TARGET_SLOWDOWN else "misses"
        print(
            f"  drawing every {every:>3} ticks: {ticks} ticks headless {headless_s:6.2f} s, "
            f"drawn {drawn_s:6.2f} s wall, slow-down {ratio:+.0%} ({ok} <= 20%; "
            f"frame / (N x tick) predicts {predicted:+.0%})"
        )
    segments = max(1, args.ticks // 10)
    headless_s, played_s, frames = app_slowdown(session, 10, segments)
    ratio = played_s / headless_s - 1.0
    ok = "meets" if ratio <= TARGET_SLOWDOWN else "misses"
    print(
        f"  the app's play loop (frame budget 20%): {segments * 10} ticks headless "
        f"{headless_s:6.2f} s, played {played_s:6.2f} s with {frames} frames, "
        f"slow-down {ratio:+.0%} ({ok} <= 20%)"
    )
    return draw_s + caption_s, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ticks", type=int, default=60, help="ticks per arm and N")
    parser.add_argument("--every", type=int, nargs="+", default=[1, 5, 10, 30])
    parser.add_argument("--repeats", type=int, default=10, help="frames timed per world")
    parser.add_argument("--vehicles", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=6.5, help="trips/s (scenario's: 2)")
    parser.add_argument("--max-warm-s", type=float, default=SECONDS_PER_HOUR)
    parser.add_argument("--plant-warm-s", type=float, default=6 * SECONDS_PER_HOUR)
    args = parser.parse_args()

    city, growth = traffic(args.seed, args.rate, args.max_warm_s, args.vehicles, args.repeats)
    vehicles = on_network(city)
    count = (
        f"{vehicles} vehicles on the network after {city.now_s:g} s "
        f"at {args.rate:g} trips/s (the scenario's own 2 trips/s levels off near 650)"
    )
    city_frame_s, city_slowdown = report(
        "traffic/grid10x10-v0 (10 s display tick)", city, args, count
    )
    growth.append((vehicles, city_frame_s * 1000))
    plant_frame_s, plant_slowdown = report(
        "factory/plant-1000-v0 (300 s display tick)",
        plant(args.seed, args.plant_warm_s),
        args,
        f"1000 machines, 100 AGVs, after {args.plant_warm_s:g} s",
    )
    print(
        "\ngrowth, city frame with KPIs: "
        + ", ".join(f"{n:g} vehicles {ms:.1f} ms" for n, ms in growth)
    )
    save_growth_plot(
        "viz_frame",
        x_label="vehicles on the network (traffic/grid10x10-v0)",
        y_label="ms per frame with KPIs (median)",
        series={"frame": growth},
        title="one frame of the 10x10 city",
    )
    print(
        f"frame with KPIs: city {city_frame_s * 1000:.1f} ms, plant {plant_frame_s * 1000:.1f} ms"
        f" (target <= 100 ms); app loop slow-down: city {city_slowdown:+.0%}, plant "
        f"{plant_slowdown:+.0%} (target <= 20%)"
    )


if __name__ == "__main__":
    main()
