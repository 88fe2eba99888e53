"""SUMO as the real city: it runs a SUMO configuration, measures it with induction loops
as a city would, and takes the signal plans a shadow twin recommends.

:class:`SumoReality` returns the readings of each period and takes the decisions as
plain values; as a command it is the real city of the live demo, over MQTT::

    python -m twin.live.sumo_reality grid4x4 mqtt://127.0.0.1:1883/city --duration-s 3600

publishes each period's loop readings on ``city/readings`` (times on the twin's clock:
SUMO's minus the configuration's ``begin``), applies the decisions of each
recommendation on ``city/recommendation`` (waiting for the shadow's decision after each
decision epoch, so the loop is closed in simulated time; ``--open-loop`` never waits
and applies nothing), and prints SUMO's own KPIs at the end as one JSON line.

**Detectors.** One e1 induction loop (SUMO's ``<inductionLoop>``, written into an
additional file in a temporary folder and appended to the configuration's own
``--additional-files``) sits 2 m before the stop line of every incoming car lane of
every signalised junction (the lanes the twin imports, whether a light controls their
links or not): 1 m behind the front of a car halted at the line, as the twin's
stop-line loop is (:meth:`twin.traffic.city.City._build_net`: 1 m before the line, where
the twin halts cars). SUMO halts them ``jmStoplineGap`` = 1 m before the line, so a loop
1 m before it would sit exactly under the halted car's front, never covered: over an
hour of grid4x4, occupancy then differed from the twin's by 11 points on average (2 m:
3 points), counts alike. Per period it reports what SUMO's e1 writes
per interval: ``nVehContrib`` (vehicles whose back left the loop in the period) and
``occupancy`` (% of the period the loop was covered: for each vehicle that left,
``leave - max(begin, entry)``, plus the time the vehicle on it at the end has covered
it). Both are computed from ``inductionloop.getVehicleData`` (entry and leave time of
each vehicle over the loop) at every step, as ``MSInductLoop`` does: over 10 min of
grid4x4 this equals SUMO's e1 output file on all 1920 loop-intervals (to its two
decimals). ``getLastIntervalVehicleNumber`` gives the same counts, but
``getLastIntervalOccupancy`` does not match the file (negative in a first interval,
points off where a vehicle is on the loop at an interval's end), and summing
``getLastStepVehicleNumber`` would count a vehicle standing on the loop once per step.
The e1 file itself is buffered, so it cannot be read at the period's end.

**Names.** The loop of car lane ``k`` (numbered from the right over the lanes cars may
use, as the twin imports them) of edge ``e`` publishes channels ``lane:e_k/count``
(vehicles) and ``lane:e_k/occupancy`` (%); :mod:`twin.traffic.live` names the twin's
channels the same way. On an edge where every lane allows cars, ``e_k`` is SUMO's own
lane id.

**Signal plans.** A decision is ``{"entity": "intersection:<junction id>", "at_s": t,
"action": {"phase": p, "duration_s": d}}``, the traffic domain's
:class:`~twin.traffic.observation.SignalAction`. The twin's phases of a junction are the
green rows of SUMO's programme in programme order (``SignalProgram.from_sumo``: a row
with green and no yellow, over the junction's own links); yellow and all-red rows belong
to the green before them. So twin phase ``p`` is SUMO row ``green_rows[p]``. At the
first step at or after ``t``: the same green shown -> it is held ``d`` more seconds
(``setPhaseDuration``); another green shown -> SUMO moves to the row after it (its
yellow, as the programme has it) and, when the last yellow/all-red row ends, to row
``green_rows[p]`` for ``d`` seconds (``setPhase``, ``setPhaseDuration``); a change
already under way is redirected to ``p``. After ``d`` the programme runs on as SUMO's
(the twin asks its policy again; a real controller without a new plan keeps its
programme). No minimum green is enforced here: the real controller takes the plan as
given. A traffic light joining several junctions is driven from whichever junction's
decision came last.

**KPIs** (:meth:`SumoReality.kpis`) are SUMO's own: per finished vehicle, ``timeLoss``
and the accumulated waiting time (``--waiting-time-memory`` is set beyond the run so
it is tripinfo's ``waitingTime``), read through a libsumo subscription each step; the
last step before arrival is the one not seen (< one step per trip).

libsumo runs SUMO inside this process (one simulation at a time); without libsumo,
TraCI starts the ``sumo`` binary as a child process. Either way :meth:`close` (or
leaving the ``with`` block) ends it. SUMO's ``--seed`` makes a run deterministic.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.sax.saxutils import quoteattr

from twin.core.errors import UserError
from twin.core.live import Reading
from twin.traffic.live import lane_entity

STOP_LINE_LOOP_M = 2.0
"""The loop sits this far before the stop line: 1 m behind a halted car's front, SUMO
halting cars ``jmStoplineGap`` (1 m) before the line (module docstring)."""

CAR = "passenger"
"""The vehicle class whose lanes are measured (the twin's ``VEHICLE_CLASS``)."""

_VAR_TIMELOSS = 0x8C  # traci.constants.VAR_TIMELOSS
_VAR_ACCUMULATED_WAITING_TIME = 0x87  # traci.constants.VAR_ACCUMULATED_WAITING_TIME
_EPS_S = 1e-6


@dataclass(frozen=True)
class Detector:
    """One e1 loop: its SUMO id and lane, and the entity whose channels it feeds."""

    id: str
    lane: str
    pos_m: float
    entity: str


@dataclass
class _Junction:
    """A signalised junction: its traffic light, its links there and its green rows."""

    tls: str
    links: tuple[int, ...]
    free: int = 0  # links at the junction no light controls: always green for the twin
    green_rows: tuple[int, ...] = ()


def resolve_config(source: str | Path) -> Path:
    """A ``.sumocfg`` path, or a RESCO network name (``grid4x4``, ...) resolved to the
    sumocfg sumo-rl ships (as ``SumoNetParams.resco`` does)."""
    path = Path(source)
    if path.is_file():
        return path
    if path.suffix == ".sumocfg":
        raise UserError(f"{source}: no such SUMO configuration")
    from twin.traffic.sumo_tools import resco_configs

    configs = resco_configs()
    if str(source) not in configs:
        raise UserError(
            f"{source!r} is neither a .sumocfg file nor a RESCO network ({', '.join(configs)})"
        )
    return configs[str(source)]


class SumoReality:
    """SUMO as the real city, advanced one detector period at a time.

    Args:
        source: a ``.sumocfg`` path or a RESCO network name.
        seed: SUMO's ``--seed``.
        period_s: the detector period: readings cover it, :meth:`step_period` runs it.
        traci: run the ``sumo`` binary through TraCI instead of libsumo.
    """

    _libsumo_running = False

    def __init__(
        self, source: str | Path, *, seed: int = 0, period_s: float = 60.0, traci: bool = False
    ) -> None:
        from twin.traffic.sumocfg import read_sumocfg

        if not (math.isfinite(period_s) and period_s > 0):
            raise UserError(f"period_s must be finite and > 0, not {period_s}")
        self.config_path = resolve_config(source)
        self.config = read_sumocfg(self.config_path)
        self.seed = seed
        self.period_s = float(period_s)
        self._tmp = Path(tempfile.mkdtemp(prefix="twin-sumo-reality-"))
        self._api: Any = None
        self._traci_label: str | None = None
        self._closed = False
        try:
            self.detectors, self.junctions = _layout(self.config.net_file)
            additional = self._write_loops()
            self._start(additional, use_traci=traci)
            self._programmes()
        except BaseException:
            self.close()
            raise
        api: Any = self._api
        self.step_s = float(api.simulation.getDeltaT())
        self._decisions: list[tuple[float, int, str, int, float]] = []  # at, order, tls, row, d
        self._order = 0
        self._pending: dict[str, tuple[int, float]] = {}  # tls -> (green row, duration)
        self._watched: dict[str, tuple[float, float]] = {}  # vehicle -> (timeLoss, waiting)
        self._time_loss: list[float] = []
        self._waiting: list[float] = []
        self._period_begin_s = self.now_s
        self._on_loop: dict[str, dict[str, float]] = {d.id: {} for d in self.detectors}
        self._left = {d.id: 0 for d in self.detectors}
        self._covered_s = {d.id: 0.0 for d in self.detectors}
        self.departed = 0
        self.decisions_applied = 0
        self.decisions_late = 0

    # -- set-up ---------------------------------------------------------------------------

    def _write_loops(self) -> Path:
        path = self._tmp / "twin_loops.add.xml"
        lines = ["<additional>"]
        for d in self.detectors:
            lines.append(
                f"    <inductionLoop id={quoteattr(d.id)} lane={quoteattr(d.lane)} "
                f'pos="{d.pos_m:.2f}" period="{self.period_s!r}" file="NUL" '
                'friendlyPos="true"/>'
            )
        lines.append("</additional>")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def _start(self, loops: Path, *, use_traci: bool) -> None:
        own = [str(p.resolve()) for p in self.config.additional_files]
        args = [
            "--configuration-file", str(self.config_path.resolve()),
            "--additional-files", ",".join([*own, str(loops)]),
            "--seed", str(self.seed),
            "--waiting-time-memory", "1000000",
            "--no-step-log", "true",
            "--no-warnings", "true",
        ]  # fmt: skip
        if not use_traci:
            try:
                import libsumo  # type: ignore[import-untyped]
            except ImportError:
                use_traci = True
            else:
                if SumoReality._libsumo_running:
                    raise UserError(
                        "libsumo runs one SUMO per process and one is running: close it "
                        "first, or pass traci=True"
                    )
                libsumo.start(["sumo", *args])
                SumoReality._libsumo_running = True
                self._api = libsumo
                return
        import traci as traci_module  # type: ignore[import-untyped]

        from twin.traffic.sumo_tools import sumo_binary

        self._traci_label = f"twin-reality-{id(self)}"
        traci_module.start([str(sumo_binary("sumo")), *args], label=self._traci_label)
        self._api = traci_module.getConnection(self._traci_label)

    def _programmes(self) -> None:
        """Each junction's green rows in its light's running programme (see the module
        docstring: twin phase ``p`` is SUMO row ``green_rows[p]``)."""
        tl = self._api.trafficlight
        for junction in self.junctions.values():
            program = tl.getProgram(junction.tls)
            logic = next(x for x in tl.getAllProgramLogics(junction.tls) if x.programID == program)
            rows = []
            for r, phase in enumerate(logic.phases):
                state = "".join(phase.state[i] for i in junction.links).replace("u", "r")
                # A link no light controls shows green in the twin in every row.
                if not any(c in "yY" for c in state) and (
                    junction.free > 0 or any(c in "GgoO" for c in state)
                ):
                    rows.append(r)
            junction.green_rows = tuple(rows)

    # -- running --------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The ``sumo`` child process's id under TraCI (None: libsumo, in-process)."""
        process = getattr(self._api, "_process", None) if self._traci_label else None
        return None if process is None else int(process.pid)

    @property
    def now_s(self) -> float:
        """SUMO's clock."""
        return float(self._api.simulation.getTime())

    def step_period(self) -> list[Reading]:
        """Run SUMO to the end of the current period (applying due decisions at their
        steps) and return every loop's count and occupancy for that period, stamped with
        its end (SUMO's clock)."""
        self._check_open()
        begin = self.config.begin_s
        k = math.floor((self.now_s - begin) / self.period_s + _EPS_S) + 1
        end = begin + k * self.period_s
        api = self._api
        begin_p, span = self._period_begin_s, end - self._period_begin_s
        while self.now_s < end - _EPS_S:
            self._apply_due()
            api.simulationStep()
            self._watch_loops()
            self._track_trips()
        readings = []
        for d in self.detectors:
            on = self._on_loop[d.id]
            covered = self._covered_s[d.id] + sum(end - max(begin_p, e) for e in on.values())
            readings.append(Reading(f"{d.entity}/count", end, float(self._left[d.id])))
            readings.append(Reading(f"{d.entity}/occupancy", end, 100.0 * covered / span))
        self._period_begin_s = end
        self._left = dict.fromkeys(self._left, 0)
        self._covered_s = dict.fromkeys(self._covered_s, 0.0)
        return readings

    def _watch_loops(self) -> None:
        """What each loop saw in the step just run (module docstring)."""
        data = self._api.inductionloop.getVehicleData
        begin = self._period_begin_s
        for d in self.detectors:
            on = self._on_loop[d.id]
            for vehicle, _length, entry, leave, _type in data(d.id):
                if leave < 0:  # still on the loop (SUMO's -1)
                    on[vehicle] = entry
                else:
                    on.pop(vehicle, None)
                    self._left[d.id] += 1
                    self._covered_s[d.id] += leave - max(begin, entry)

    def apply(self, decisions: Iterable[Mapping[str, Any]]) -> None:
        """Queue a recommended plan: each decision is applied at the first step at or
        after its ``at_s`` (at once if that is past). Bad decisions raise
        :class:`UserError` naming what is wrong; none of the plan is queued then."""
        self._check_open()
        queued = []
        for k, decision in enumerate(decisions):
            queued.append(self._checked(k, decision))
        for at, tls, row, duration in queued:
            self._decisions.append((at, self._order, tls, row, duration))
            self._order += 1
        self._decisions.sort()

    def _checked(self, k: int, decision: Mapping[str, Any]) -> tuple[float, str, int, float]:
        where = f"decision {k}"
        try:
            entity = str(decision["entity"])
            at = float(decision["at_s"])
            action = decision["action"]
            phase, duration = action["phase"], float(action["duration_s"])
        except (KeyError, TypeError, ValueError):
            raise UserError(
                f"{where}: expected {{'entity': 'intersection:<id>', 'at_s': t, "
                f"'action': {{'phase': p, 'duration_s': d}}}}, got {decision!r}"
            ) from None
        node = entity.removeprefix("intersection:")
        if not entity.startswith("intersection:") or node not in self.junctions:
            raise UserError(f"{where}: {entity!r} is not a signalised intersection of this city")
        junction = self.junctions[node]
        if not isinstance(phase, int) or isinstance(phase, bool):
            raise UserError(f"{where}: phase must be an int, not {phase!r}")
        if not 0 <= phase < len(junction.green_rows):
            raise UserError(
                f"{where}: phase {phase} of {entity}, which has {len(junction.green_rows)}"
            )
        if not (math.isfinite(at) and math.isfinite(duration) and duration > 0):
            raise UserError(f"{where}: at_s must be finite and duration_s finite and > 0")
        return at, junction.tls, junction.green_rows[phase], duration

    def _apply_due(self) -> None:
        """Decisions due by now, then the changes whose yellow/all-red ends now."""
        now = self.now_s
        tl = self._api.trafficlight
        while self._decisions and self._decisions[0][0] <= now + _EPS_S:
            at, _, tls, row, duration = self._decisions.pop(0)
            self.decisions_applied += 1
            if at < now - self.step_s + _EPS_S:
                self.decisions_late += 1
            current = tl.getPhase(tls)
            if current == row:
                tl.setPhaseDuration(tls, duration)
                self._pending.pop(tls, None)
                continue
            self._pending[tls] = (row, duration)
            if self._is_green(tls, current):
                n = self._rows(tls)
                after = (current + 1) % n
                if self._is_green(tls, after):
                    self._switch(tls)  # the programme has no change interval here
                else:
                    tl.setPhase(tls, after)
        for tls in list(self._pending):
            current = tl.getPhase(tls)
            n = self._rows(tls)
            ending = tl.getNextSwitch(tls) <= now + _EPS_S
            if ending and self._is_green(tls, (current + 1) % n):
                self._switch(tls)

    def _switch(self, tls: str) -> None:
        row, duration = self._pending.pop(tls)
        tl = self._api.trafficlight
        tl.setPhase(tls, row)
        tl.setPhaseDuration(tls, duration)

    def _rows(self, tls: str) -> int:
        return len(self._logic(tls).phases)

    def _logic(self, tls: str) -> Any:
        tl = self._api.trafficlight
        program = tl.getProgram(tls)
        return next(x for x in tl.getAllProgramLogics(tls) if x.programID == program)

    def _is_green(self, tls: str, row: int) -> bool:
        return any(row in j.green_rows for j in self.junctions.values() if j.tls == tls)

    def _track_trips(self) -> None:
        api = self._api
        for vid in api.simulation.getDepartedIDList():
            api.vehicle.subscribe(vid, (_VAR_TIMELOSS, _VAR_ACCUMULATED_WAITING_TIME))
            self.departed += 1
        for vid, values in api.vehicle.getAllSubscriptionResults().items():
            self._watched[vid] = (
                float(values[_VAR_TIMELOSS]),
                float(values[_VAR_ACCUMULATED_WAITING_TIME]),
            )
        for vid in api.simulation.getArrivedIDList():
            loss, waiting = self._watched.pop(vid, (0.0, 0.0))
            self._time_loss.append(loss)
            self._waiting.append(waiting)

    def phase(self, node: str) -> int:
        """The twin phase junction ``node`` shows now (-1: a yellow or all-red row)."""
        junction = self.junctions[node]
        row = self._api.trafficlight.getPhase(junction.tls)
        return junction.green_rows.index(row) if row in junction.green_rows else -1

    def kpis(self) -> dict[str, float]:
        """SUMO's own KPIs so far: vehicles departed, arrived and running, and per
        arrived vehicle the mean time loss and waiting time (s; NaN before any)."""
        self._check_open()
        n = len(self._time_loss)
        return {
            "departed": float(self.departed),
            "arrived": float(n),
            "running": float(self._api.vehicle.getIDCount()),
            "time_loss_mean_s": sum(self._time_loss) / n if n else math.nan,
            "waiting_time_mean_s": sum(self._waiting) / n if n else math.nan,
        }

    # -- closing --------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise UserError("this SUMO reality is closed")

    def close(self) -> None:
        """End SUMO (libsumo: the in-process simulation; TraCI: the child process) and
        delete the loops' file. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._api is not None:
                self._api.close()
        finally:
            if self._traci_label is None and self._api is not None:
                SumoReality._libsumo_running = False
            self._api = None
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> SumoReality:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _layout(net_file: Path) -> tuple[list[Detector], dict[str, _Junction]]:
    """The loops and the signalised junctions, from the network file, as the twin imports
    them (``twin.traffic.sumo._NetBuilder.links_at``): a junction's links are the
    connections from car lanes of its normal incoming edges to car lanes of normal edges;
    it is signalised if a traffic light controls one of them, and then every from-lane
    of its links gets a loop, controlled or not."""
    import sumolib  # type: ignore[import-untyped]

    net = sumolib.net.readNet(str(net_file), withPrograms=False)

    def car_lanes(edge: Any) -> list[Any]:
        if edge.getFunction() not in ("", "normal"):
            return []
        return [lane for lane in edge.getLanes() if lane.allows(CAR)]

    detectors: list[Detector] = []
    junctions: dict[str, _Junction] = {}
    for node in net.getNodes():
        lanes: dict[str, Detector] = {}
        controlled: list[tuple[str, int]] = []
        free = 0
        for edge in node.getIncoming():
            cars = car_lanes(edge)
            for k, lane in enumerate(cars):
                for conn in lane.getOutgoing():
                    if conn.getToLane() not in car_lanes(conn.getToLane().getEdge()):
                        continue
                    if conn.getTLSID():
                        controlled.append((conn.getTLSID(), int(conn.getTLLinkIndex())))
                    else:
                        free += 1
                    if lane.getID() not in lanes:
                        pos = max(float(lane.getLength()) - STOP_LINE_LOOP_M, 0.0)
                        entity = lane_entity(edge.getID(), k)
                        lanes[lane.getID()] = Detector(
                            f"twin_{lane.getID()}", lane.getID(), pos, entity
                        )
        if not controlled:
            continue
        tls_ids = sorted({tls for tls, _ in controlled})
        if len(tls_ids) > 1:
            raise UserError(f"junction {node.getID()!r} has links of lights {tls_ids}: one only")
        indices = tuple(sorted({index for _, index in controlled}))
        junctions[node.getID()] = _Junction(tls_ids[0], indices, free)
        detectors.extend(lanes.values())
    return detectors, junctions


def channel_names(detectors: Sequence[Detector]) -> set[str]:
    """Every channel the loops publish."""
    return {f"{d.entity}/{q}" for d in detectors for q in ("count", "occupancy")}


def main(argv: Sequence[str] | None = None) -> int:
    from twin.core.arguments import EXIT_USER_ERROR, OneLineParser, positive, seed

    parser = OneLineParser(prog="python -m twin.live.sumo_reality", description=__doc__)
    parser.add_argument("source", help="a .sumocfg or a RESCO network name (grid4x4, ...)")
    parser.add_argument("broker", help="mqtt://127.0.0.1:<port>/<prefix>")
    parser.add_argument("--seed", type=seed, default=1, help="SUMO's --seed")
    parser.add_argument("--period-s", type=positive, default=60.0, help="detector period")
    parser.add_argument("--duration-s", type=positive, default=3600.0, help="simulated s")
    parser.add_argument("--decision-period-s", type=positive, default=300.0)
    parser.add_argument("--wait-s", type=positive, default=120.0, help="for a recommendation")
    parser.add_argument("--open-loop", action="store_true", help="SUMO's own programmes")
    args = parser.parse_args(argv)
    try:
        return _serve(args)
    except UserError as error:
        print(f"sumo reality: {error}", file=sys.stderr)
        return EXIT_USER_ERROR


def _serve(args: Any) -> int:
    from twin.live.messages import encode_readings, readings_topic
    from twin.live.mqtt import MqttClient, parse_source
    from twin.live.reality import await_recommendation

    where = parse_source(args.broker)
    followed = 0
    with SumoReality(args.source, seed=args.seed, period_s=args.period_s) as reality:
        begin_s = reality.config.begin_s
        units = {}
        for name in channel_names(reality.detectors):
            units[name] = "veh" if name.endswith("/count") else "%"
        with MqttClient(where.host, where.port, f"sumo-reality-{os.getpid()}") as client:
            if not client.subscribe(f"{where.topic}/recommendation", timeout_s=10.0):
                raise UserError(f"{args.broker}: no MQTT broker answered")
            next_epoch_s = args.decision_period_s
            while reality.now_s - begin_s < args.duration_s - 1e-9:
                readings = [
                    Reading(r.channel, r.at_s - begin_s, r.value) for r in reality.step_period()
                ]
                client.publish(readings_topic(where.topic), encode_readings(readings, units))
                now_s = reality.now_s - begin_s
                # The shadow decides when a reading measured after its epoch arrives.
                if args.open_loop or now_s < next_epoch_s + args.period_s - 1e-9:
                    continue
                if now_s >= args.duration_s - 1e-9:
                    break
                recommendation = await_recommendation(client, next_epoch_s, args.wait_s)
                if recommendation is not None:
                    reality.apply(
                        {
                            "entity": d["entity"],
                            "at_s": float(d["t"]) + begin_s,
                            "action": d["action"],
                        }
                        for d in recommendation.get("decisions", [])
                        if str(d.get("entity", "")).startswith("intersection:")
                    )
                    followed += 1
                next_epoch_s += args.decision_period_s
        kpis = reality.kpis()
    print(json.dumps({"followed": followed, **kpis}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
