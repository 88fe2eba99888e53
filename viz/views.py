"""Domain views as pure functions from a running world to drawable data.

Each domain has two functions: a *layout* read once per run (positions of machines,
lane geometry: what never moves) and a *frame* read at every drawn tick (states, fill
levels, vehicle positions). Both return plain arrays, so the drawing code
(:mod:`viz.draw`) only hands them to matplotlib artists and a test can compare them
with the engine's own state without drawing anything.

Positions are metres in the plant's or the city's plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.cloud.cluster import Cluster
from twin.factory.observation import MACHINE_STATES
from twin.factory.plant import Plant
from twin.station.station import Station
from twin.supply.network import SupplyNetwork
from twin.traffic.city import City
from twin.traffic.kernels import (
    ALLWAY_STOP,
    DRIVING,
    EQUAL,
    MAJOR,
    MINOR,
    OFF,
    OFF_BLINKING,
    PERMISSIVE,
    PROTECTED,
    RED,
    STOP,
    YELLOW,
    ZIPPER,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# -- factory -------------------------------------------------------------------------

STATE_CODE = {state: k for k, state in enumerate(MACHINE_STATES)}
"""Machine state -> its index in :data:`STATE_RGB`."""
STATE_RGB = np.array(
    [
        (0.75, 0.75, 0.75),  # idle: grey
        (0.55, 0.75, 0.95),  # starved: light blue
        (0.20, 0.65, 0.25),  # busy: green
        (0.95, 0.65, 0.10),  # blocked: orange
        (0.85, 0.10, 0.10),  # failed: red
        (0.60, 0.20, 0.70),  # repair: purple
        (0.10, 0.35, 0.80),  # maintenance: blue
    ]
)
HEALTH_SHADE = 0.6
"""How much darker a machine at its failure threshold is drawn than a new one."""
WEAR_LEVELS = 4
"""Shades of wear per state: a few colour classes draw much faster than one per machine."""
MACHINE_CLASS_RGB = np.array(
    [
        rgb * (1.0 - HEALTH_SHADE * level / (WEAR_LEVELS - 1))
        for rgb in STATE_RGB
        for level in range(WEAR_LEVELS)
    ]
)
"""Colour of machine class ``state * WEAR_LEVELS + wear level``."""
BUFFER_LEVELS = 5
"""Fill classes of a buffer: empty, up to a quarter, ..., full."""
MACHINE_SPACING_M = 2.5
"""Gap between the machines of one station, drawn side by side around its node."""
STATION_SPACING_M = 15.0
"""Gap between stations when the plant has no layout (drawn in a row)."""
BUFFER_FULL_WHEN_UNBOUNDED = 10
"""Parts that count as a full buffer when it has no places (direct hand-over only)."""


@dataclass(frozen=True)
class FactoryLayout:
    """What does not move: machine and buffer positions, aisles, chargers."""

    machine_xy: FloatArray  # (machines, 2)
    machine_names: tuple[str, ...]
    buffer_xy: FloatArray  # (stations, 2)
    buffer_capacity: FloatArray  # (stations,)
    aisles: FloatArray  # (aisles, 2, 2) segment end points
    charger_xy: FloatArray  # (chargers, 2)
    node_xy: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class FactoryFrame:
    """The plant at one instant."""

    now_s: float
    state: IntArray  # machine -> index into MACHINE_STATES
    wear: FloatArray  # machine -> health / failure threshold, clipped to [0, 1]
    machine_class: IntArray  # machine -> row of MACHINE_CLASS_RGB (state, wear level)
    buffer_fill: FloatArray  # station -> held / capacity, clipped to [0, 1]
    buffer_class: IntArray  # station -> fill class 0 .. BUFFER_LEVELS - 1
    buffer_held: IntArray
    agv_xy: FloatArray  # (agvs, 2)
    agv_soc: FloatArray  # state of charge 0..1
    agv_loaded: npt.NDArray[np.bool_]

    @property
    def machine_rgb(self) -> FloatArray:
        """(machines, 3): each machine's state colour, darkened by its wear."""
        return MACHINE_CLASS_RGB[self.machine_class]


def factory_layout(plant: Plant) -> FactoryLayout:
    """Positions of the plant's machines and buffers (once per run)."""
    params = plant.params
    nodes = dict(params.layout.nodes) if params.layout is not None else {}
    station_xy = np.array(
        [
            nodes[s.node] if s.node is not None and s.node in nodes else (k * STATION_SPACING_M, 0)
            for k, s in enumerate(params.stations)
        ],
        dtype=np.float64,
    ).reshape(-1, 2)
    station_of = {s.name: k for k, s in enumerate(params.stations)}
    machine_xy = np.empty((len(plant.machines), 2))
    seen: dict[int, int] = {}
    for machine in plant.machines:
        k = station_of[machine.station.name]
        j = seen.get(k, 0)
        seen[k] = j + 1
        offset = (j - (machine.station.machines - 1) / 2) * MACHINE_SPACING_M
        machine_xy[machine.index] = station_xy[k] + (offset, MACHINE_SPACING_M)
    edges = params.layout.edges if params.layout is not None else []
    aisles = np.array([[nodes[e[0]], nodes[e[1]]] for e in edges], dtype=np.float64)
    chargers = params.layout.chargers if params.layout is not None else []
    capacity = np.array(
        [b.capacity or BUFFER_FULL_WHEN_UNBOUNDED for b in plant.buffers], dtype=np.float64
    )
    return FactoryLayout(
        machine_xy=machine_xy,
        machine_names=tuple(m.label for m in plant.machines),
        buffer_xy=station_xy - (0.0, MACHINE_SPACING_M),
        buffer_capacity=capacity,
        aisles=aisles.reshape(-1, 2, 2),
        charger_xy=np.array([nodes[c] for c in chargers], dtype=np.float64).reshape(-1, 2),
        node_xy={name: (float(x), float(y)) for name, (x, y) in nodes.items()},
    )


def machine_class(state: IntArray, wear: FloatArray) -> IntArray:
    """Colour class of each machine: its state, and its wear in :data:`WEAR_LEVELS` steps
    (the last step only at the failure threshold's final stretch)."""
    level = np.minimum((wear * WEAR_LEVELS).astype(np.int64), WEAR_LEVELS - 1)
    return state * WEAR_LEVELS + level


def factory_frame(plant: Plant, layout: FactoryLayout) -> FactoryFrame:
    """The plant now: machine states and wear, buffer levels, AGVs (every drawn tick)."""
    state = np.fromiter(
        (STATE_CODE[m.meter.state] for m in plant.machines),
        dtype=np.int64,
        count=len(plant.machines),
    )
    wear = np.clip(plant.health / plant.degradation.threshold, 0.0, 1.0)
    held = np.fromiter((len(b.items) for b in plant.buffers), np.int64, len(plant.buffers))
    agvs = plant.fleet.agvs if plant.fleet is not None else []
    nodes = layout.node_xy
    agv_xy = np.empty((len(agvs), 2))
    soc = np.empty(len(agvs))
    loaded = np.zeros(len(agvs), dtype=np.bool_)
    for k, agv in enumerate(agvs):
        if agv.segment is not None:  # between two nodes: drawn half-way along the aisle
            (xa, ya), (xb, yb) = nodes[agv.segment[0]], nodes[agv.segment[1]]
            agv_xy[k] = ((xa + xb) / 2, (ya + yb) / 2)
        else:
            agv_xy[k] = nodes[agv.node]
        soc[k] = agv.soc
        loaded[k] = agv.state in ("loaded", "unloading")
    fill = np.clip(held / layout.buffer_capacity, 0.0, 1.0)
    return FactoryFrame(
        now_s=float(plant.env.now),
        state=state,
        wear=wear,
        machine_class=machine_class(state, wear),
        buffer_fill=fill,
        buffer_class=np.minimum((fill * BUFFER_LEVELS).astype(np.int64), BUFFER_LEVELS - 1),
        buffer_held=held,
        agv_xy=agv_xy,
        agv_soc=soc,
        agv_loaded=loaded,
    )


# -- traffic --------------------------------------------------------------------------

SIGNAL_RGB = {
    RED: (0.85, 0.10, 0.10),
    YELLOW: (0.95, 0.80, 0.10),
    PERMISSIVE: (0.55, 0.85, 0.45),
    PROTECTED: (0.05, 0.60, 0.15),
    STOP: (0.50, 0.25, 0.55),
    OFF_BLINKING: (0.95, 0.65, 0.10),
    OFF: (0.45, 0.45, 0.45),
    MAJOR: (0.05, 0.60, 0.15),
    MINOR: (0.55, 0.85, 0.45),
    EQUAL: (0.40, 0.70, 0.90),
    ALLWAY_STOP: (0.50, 0.25, 0.55),
    ZIPPER: (0.95, 0.65, 0.10),
}
"""State of a movement -> colour (SUMO's r, y, g, G, s, o, O, M, m, =, w, Z)."""
SIGNAL_RGB_TABLE = np.array([SIGNAL_RGB[k] for k in sorted(SIGNAL_RGB)])
SPEED_LEVELS = 8
"""Speed classes of vehicles, 0 .. SPEED_TOP_MPS."""
SPEED_TOP_MPS = 14.0
"""Top of the speed scale (50 km/h, the grid's limit)."""
QUEUE_LEVELS = 4
"""Queue heat classes of an approach (class 0, no queue, is not drawn)."""
QUEUE_FULL_VEH = 12.0
"""Halting vehicles at which an approach is drawn in the hottest colour."""
LANE_OFFSET_M = 5.0
"""Lateral offset of a lane's drawn centre line from its edge's axis, per lane."""


@dataclass(frozen=True)
class TrafficLayout:
    """What does not move: the centre line of every lane (edge and internal)."""

    lane_start: FloatArray  # (lanes, 2)
    lane_vector: FloatArray  # (lanes, 2): end - start
    lane_length_m: FloatArray  # the kernel's length of each lane
    approach_lanes: IntArray  # edge lanes that end at a signalised intersection
    signal_xy: FloatArray  # (movements, 2): where each movement's light is drawn
    intersection_xy: FloatArray  # (intersections, 2)
    intersection_ids: tuple[str, ...]

    @property
    def edge_segments(self) -> FloatArray:
        """(lanes, 2, 2) start and end of every lane."""
        return np.stack((self.lane_start, self.lane_start + self.lane_vector), axis=1)


@dataclass(frozen=True)
class TrafficFrame:
    """The city at one instant."""

    now_s: float
    vehicles: IntArray  # trip indices of the vehicles on the network
    vehicle_xy: FloatArray  # (vehicles, 2)
    speed_mps: FloatArray
    speed_class: IntArray  # vehicle -> 0 .. SPEED_LEVELS - 1
    signal_state: npt.NDArray[np.int8]  # movement -> RED .. PROTECTED
    approach_queue: FloatArray  # halting vehicles on each approach lane
    queue_class: IntArray  # approach lane -> 0 (no queue) .. QUEUE_LEVELS - 1

    @property
    def signal_rgb(self) -> FloatArray:
        """(movements, 3): the colour of each movement's light."""
        return SIGNAL_RGB_TABLE[self.signal_state]


def traffic_layout(city: City) -> TrafficLayout:
    """Lane centre lines and signal positions of the city (once per run)."""
    net = city.network
    arrays = city.arrays
    node_xy = np.array([(n.x_m, n.y_m) for n in net.nodes], dtype=np.float64)
    n_edge_lanes = arrays.n_lanes
    total = arrays.total_lanes
    start = np.zeros((total, 2))
    vector = np.zeros((total, 2))
    for k, edge in enumerate(net.edges):
        a, b = node_xy[edge.from_node], node_xy[edge.to_node]
        axis = b - a
        length = math.hypot(*axis) or 1.0
        unit = axis / length
        right = np.array((unit[1], -unit[0]))
        trim = min(2.5 * LANE_OFFSET_M * edge.lanes, 0.25 * length)
        first = int(arrays.edge_lane_start[k])
        for j in range(edge.lanes):
            offset = right * LANE_OFFSET_M * (j + 0.5)
            start[first + j] = a + unit * trim + offset
            vector[first + j] = axis - 2 * unit * trim
    for m, movement in enumerate(net.movements):
        lane = n_edge_lanes + m
        from_lane = int(arrays.mov_from_lane[m])
        to_lane = int(arrays.edge_lane_start[movement.to_edge])
        start[lane] = start[from_lane] + vector[from_lane]
        vector[lane] = start[to_lane] - start[lane]
    signalised = [i for i in net.intersections if i.program is not None]
    approach = sorted(
        {int(arrays.mov_from_lane[m]) for inter in signalised for m in inter.movements}
    )
    # A movement's light sits a quarter of the way into its path through the junction,
    # so the lights of one approach fan out by turn.
    mov_lanes = np.arange(n_edge_lanes, total)
    signal_xy = start[mov_lanes] + 0.25 * vector[mov_lanes]
    return TrafficLayout(
        lane_start=start,
        lane_vector=vector,
        lane_length_m=arrays.lane_length_m.copy(),
        approach_lanes=np.array(approach, dtype=np.int64),
        signal_xy=signal_xy,
        intersection_xy=node_xy[[i.node for i in net.intersections]].reshape(-1, 2),
        intersection_ids=tuple(i.id for i in net.intersections),
    )


def traffic_frame(city: City, layout: TrafficLayout) -> TrafficFrame:
    """Vehicles on the network at their positions, signal states, approach queues."""
    veh = city.veh
    on = np.flatnonzero(veh.state == DRIVING)
    lane = veh.lane[on]
    fraction = np.clip(veh.pos[on] / layout.lane_length_m[lane], 0.0, 1.0)
    xy = layout.lane_start[lane] + layout.lane_vector[lane] * fraction[:, None]
    speed = veh.speed[on]
    queue = city.lanes.halting[layout.approach_lanes].astype(np.float64)
    hot = np.ceil(queue / QUEUE_FULL_VEH * (QUEUE_LEVELS - 1)).astype(np.int64)
    return TrafficFrame(
        now_s=float(city.env.now),
        vehicles=on,
        vehicle_xy=xy,
        speed_mps=speed,
        speed_class=np.clip(
            (speed / SPEED_TOP_MPS * SPEED_LEVELS).astype(np.int64), 0, SPEED_LEVELS - 1
        ),
        signal_state=city.mov_state.copy(),
        approach_queue=queue,
        queue_class=np.minimum(hot, QUEUE_LEVELS - 1),
    )


# -- station -------------------------------------------------------------------------

STATION_SLOT_M = 1.0
"""Spacing of the drawn servers and waiting places."""
STATION_QUEUE_DRAWN = 60
"""Waiting jobs drawn one by one; a longer queue is drawn as this many and counted."""


@dataclass(frozen=True)
class StationLayout:
    """Server positions (a column) and the places of the queue (a row leading to them)."""

    server_xy: FloatArray  # (servers, 2)
    queue_xy: FloatArray  # (places drawn, 2), nearest the servers first
    capacity: int | None


@dataclass(frozen=True)
class StationFrame:
    """The station at one instant."""

    now_s: float
    busy: npt.NDArray[np.bool_]  # server -> serving a job
    queue_length: int
    queue_drawn: FloatArray  # (min(queue, places), 2) positions of the waiting jobs
    rejected: int


def station_layout(station: Station) -> StationLayout:
    servers = station.params.servers
    places = min(station.params.capacity or STATION_QUEUE_DRAWN, STATION_QUEUE_DRAWN)
    server_xy = np.column_stack(
        (np.zeros(servers), (np.arange(servers) - (servers - 1) / 2) * STATION_SLOT_M * 1.5)
    )
    queue_xy = np.column_stack(
        (-STATION_SLOT_M * (2 + np.arange(places)), np.zeros(places))
    ).astype(np.float64)
    return StationLayout(server_xy, queue_xy, station.params.capacity)


def station_frame(station: Station, layout: StationLayout) -> StationFrame:
    servers = len(layout.server_xy)
    busy_count = servers - station.free_servers
    queue = len(station.jobs.items)
    return StationFrame(
        now_s=float(station.env.now),
        busy=np.arange(servers) < busy_count,
        queue_length=queue,
        queue_drawn=layout.queue_xy[: min(queue, len(layout.queue_xy))],
        rejected=int(station.rejected.value(station.env.now)),
    )


# -- supply chain ----------------------------------------------------------------------

STOCK_LEVELS = ("out of stock", "below half its start", "normal", "over twice its start")
"""Stock classes of a stocking site, by on-hand units against its initial stock."""
SUPPLY_ECHELON_SPACING = 10.0
"""Drawn distance between echelons (suppliers left, retailers right); not to scale."""


@dataclass(frozen=True)
class SupplyLayout:
    """Sites in columns by echelon, and the lanes between them (origin, destination)."""

    site_xy: FloatArray  # (sites, 2)
    site_names: tuple[str, ...]
    supplier: npt.NDArray[np.bool_]
    lane_segments: FloatArray  # (lanes, 2, 2): origin -> destination


@dataclass(frozen=True)
class SupplyFrame:
    """The network at one instant."""

    now_s: float
    on_hand: IntArray  # site -> units (0 for suppliers, which are never short)
    stock_class: IntArray  # site -> index into STOCK_LEVELS; -1 for suppliers
    truck_xy: FloatArray  # (trucks on the road, 2)
    truck_loaded: npt.NDArray[np.bool_]


def supply_layout(network: SupplyNetwork) -> SupplyLayout:
    sites = network.sites
    top = max(site.echelon for site in sites) + 1
    column = [0 if site.is_supplier else top - site.echelon for site in sites]
    xy = np.zeros((len(sites), 2))
    for c in sorted(set(column)):
        members = [k for k, col in enumerate(column) if col == c]
        # Order a column by its sources' order, so lanes cross as little as possible.
        members.sort(key=lambda k: (sites[k].source.index if sites[k].source else -1, k))
        # Every column spans the same height, whatever its number of sites.
        step = 2.0 * SUPPLY_ECHELON_SPACING / max(len(members) - 1, 1)
        for j, k in enumerate(members):
            xy[k] = (c * SUPPLY_ECHELON_SPACING, (j - (len(members) - 1) / 2) * step)
    index = {site.name: k for k, site in enumerate(sites)}
    segments = np.array(
        [[xy[index[lane.origin]], xy[index[lane.destination]]] for lane in network.lanes]
    ).reshape(-1, 2, 2)
    return SupplyLayout(
        site_xy=xy,
        site_names=tuple(site.name for site in sites),
        supplier=np.array([site.is_supplier for site in sites]),
        lane_segments=segments,
    )


def supply_frame(network: SupplyNetwork, layout: SupplyLayout) -> SupplyFrame:
    now = float(network.env.now)
    on_hand = np.array([0 if s.is_supplier else s.on_hand for s in network.sites])
    start = np.array([max(s.initial, 1) for s in network.sites], dtype=np.float64)
    ratio = on_hand / start
    stock_class = np.where(on_hand <= 0, 0, np.where(ratio < 0.5, 1, np.where(ratio > 2, 3, 2)))
    stock_class[layout.supplier] = -1
    xy, loaded = [], []
    for k, lane in enumerate(network.lanes):
        origin, destination = layout.lane_segments[k]
        for departed_s, drive_s, full in lane.on_road.values():
            share = min(max((now - departed_s) / drive_s, 0.0), 1.0) if drive_s > 0 else 1.0
            start_xy, end_xy = (origin, destination) if full else (destination, origin)
            xy.append(start_xy + share * (end_xy - start_xy))
            loaded.append(full)
    return SupplyFrame(
        now_s=now,
        on_hand=on_hand.astype(np.int64),
        stock_class=stock_class.astype(np.int64),
        truck_xy=np.array(xy, dtype=np.float64).reshape(-1, 2),
        truck_loaded=np.array(loaded, dtype=np.bool_),
    )


# -- cloud cluster ---------------------------------------------------------------------

NODE_CLASSES = ("starting", "draining", "idle", "busy < 50%", "busy < 100%", "all busy")
"""Colour classes of a node slot that holds a node; empty slots are not drawn."""
NODE_QUEUE_LEVELS = (1, 5, 20)
"""Waiting requests at which a node's queue mark turns one class hotter."""


@dataclass(frozen=True)
class CloudLayout:
    """One place per node slot, in a square grid (the cluster's maximum and spares)."""

    slot_xy: FloatArray  # (slots, 2)
    workers: int


@dataclass(frozen=True)
class CloudFrame:
    """The cluster at one instant."""

    now_s: float
    node_class: IntArray  # slot -> index into NODE_CLASSES; -1 for an empty slot
    busy_workers: IntArray  # slot -> workers serving a request
    waiting: IntArray  # slot -> requests queued at the node
    queue_class: IntArray  # slot -> 0 (none) .. len(NODE_QUEUE_LEVELS)
    deferred: int  # deferrable requests held back by the policy


def cloud_layout(cluster: Cluster) -> CloudLayout:
    columns = math.ceil(math.sqrt(cluster.slots))
    k = np.arange(cluster.slots)
    xy = np.column_stack((k % columns, -(k // columns))).astype(np.float64)
    return CloudLayout(slot_xy=xy, workers=int(cluster.workers))


def cloud_frame(cluster: Cluster, layout: CloudLayout) -> CloudFrame:
    """The cluster now. It serves each sync window's requests lazily, so the window so
    far is served first (what its KPIs do too; it changes nothing a run ends with)."""
    cluster.close()
    now = float(cluster.env.now)
    busy = (cluster.free > now).sum(axis=1)
    # Completions not yet popped from a node's heap are done: count only those ahead.
    in_node = np.array(
        [(cluster.heap[s, : cluster.heap_size[s]] > now).sum() for s in range(cluster.slots)]
    )
    waiting = np.maximum(in_node - busy, 0)
    node_class = np.full(cluster.slots, -1)
    for slot, node in enumerate(cluster.nodes):
        if node is None or node.state == "off":
            continue
        if node.state in ("starting", "draining"):
            node_class[slot] = NODE_CLASSES.index(node.state)
        else:
            share = busy[slot] / layout.workers
            node_class[slot] = 2 if share == 0 else 3 if share < 0.5 else 4 if share < 1 else 5
    return CloudFrame(
        now_s=now,
        node_class=node_class.astype(np.int64),
        busy_workers=busy.astype(np.int64),
        waiting=waiting.astype(np.int64),
        queue_class=np.searchsorted(NODE_QUEUE_LEVELS, waiting, side="right").astype(np.int64),
        deferred=int(cluster.backlog.size),
    )


# -- which view a scenario has --------------------------------------------------------


def domain_of(scenario: Any) -> str:
    """The domain whose view draws this scenario's world: ``"factory"``, ``"traffic"``,
    ``"station"``, ``"supply"`` or ``"cloud"``.

    Raises:
        LookupError: the scenario has no view yet.
    """
    if isinstance(getattr(scenario, "plant", None), Plant):
        return "factory"
    if isinstance(getattr(scenario, "city", None), City):
        return "traffic"
    if isinstance(getattr(scenario, "station", None), Station):
        return "station"
    if isinstance(getattr(scenario, "network", None), SupplyNetwork):
        return "supply"
    if isinstance(getattr(scenario, "cluster", None), Cluster):
        return "cloud"
    raise LookupError(
        f"scenario {scenario.id!r} has no domain view yet "
        "(factory, traffic, station, supply and cloud scenarios do)"
    )
