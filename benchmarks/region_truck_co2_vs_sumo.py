"""The small region's truck drives, per trip, in twin and in SUMO: kg CO2 per km driven.

The region's trucks (issue #22) book about 3.6 kg CO2 per km in the city against the
supply twin's 0.65-0.89 kg/km. This script drives the same trucks on the same city in
both simulators and prints, per route, what each trip drove, how long it stood and what it
emitted, so the figure can be checked against SUMO rather than trusted:

- the city is the small region's 3x3 grid (``SmallRegionParams().city``); SUMO gets it as
  a ``.net.xml`` built by ``netconvert`` from twin's own nodes and edges (same ids, same
  200 m blocks, speeds and lanes, SUMO's guessed fixed-time lights as twin's grid has);
- the background is twin's own Poisson trips of the region's city (seed ``--seed``),
  written to SUMO as routes;
- the trucks are the region's truck vType (``TruckVehicleSpec``, emission class
  ``HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C``; SUMO vClass ``trailer``) between every two of
  the four placed sites (12 routes; the region's lanes and tour legs drive 8 of them),
  one per route every ``--every-s`` from the first hour (937 s: not a multiple of the
  90 s light cycle, so the trucks meet every phase of the lights);
- ``--region`` runs the small region itself (2 days, ``transport/cvrptw-v0``) and lists
  every truck drive: km booked and driven, time waiting to enter, driving and standing,
  CO2 (HBEFA) and the ledger's CO2e (litres x the diesel factor);
- ``--free-flow`` puts one truck on a straight road with no lights and no traffic, at the
  city's 50 km/h and at the truck's 90 km/h, from rest and entering at the limit, in both
  simulators (twin imports SUMO's road: ``traffic/sumo-net-v0``).

    .venv/bin/python benchmarks/region_truck_co2_vs_sumo.py            # ~20 s
    .venv/bin/python benchmarks/region_truck_co2_vs_sumo.py --free-flow  # ~20 s
    .venv/bin/python benchmarks/region_truck_co2_vs_sumo.py --region  # ~5 min, no SUMO

Needs the ``sumo`` extra (eclipse-sumo). Nothing is timed: the figures are emissions.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from twin.core.run import prepare_run
from twin.core.scenario import ScenarioConfig
from twin.region.config import SmallRegionParams
from twin.region.wiring import route_between, route_length_m
from twin.traffic.demand import Router, Trip, TripTable, VehicleType
from twin.traffic.kernels import ARRIVED
from twin.traffic.network import Network
from twin.traffic.scenario import GridCity
from twin.traffic.sumo import _sumo_emission_class as sumo_emission_class
from twin.traffic.sumo_tools import run_program, sumo_binary

FIRST_TRUCK_S = 3600.0
"""Trucks start after an hour, when the background traffic is in its steady state."""


def region_routes(network: Network, places: dict[str, str]) -> dict[str, list[int]]:
    """Every ordered pair of placed sites -> twin's route between their junctions (the
    region drives the lanes and a depot's stop-to-stop legs on these)."""
    router = Router(network)
    out = {}
    for a, b in itertools.permutations(sorted(places), 2):
        out[f"{a}->{b}"] = [
            int(e) for e in route_between(network, router, places[a], places[b]).edges
        ]
    return out


def write_sumo_net(network: Network, out: Path, signals: bool = True) -> Path:
    """twin's grid as a SUMO network: its nodes and edges, netconvert's junctions."""
    nodes = out.with_suffix(".nod.xml")
    edges = out.with_suffix(".edg.xml")
    node_lines = ["<nodes>"]
    junctions = {i.id for i in network.intersections}
    for n in network.nodes:
        kind = "traffic_light" if signals and n.id in junctions else "priority"
        node_lines.append(f'  <node id="{n.id}" x="{n.x_m!r}" y="{n.y_m!r}" type="{kind}"/>')
    node_lines.append("</nodes>")
    nodes.write_text("\n".join(node_lines) + "\n")
    edge_lines = ["<edges>"]
    for e in network.edges:
        a, b = network.nodes[e.from_node].id, network.nodes[e.to_node].id
        edge_lines.append(
            f'  <edge id="{e.id}" from="{a}" to="{b}" numLanes="{e.lanes}" '
            f'speed="{e.speed_mps!r}"/>'
        )
    edge_lines.append("</edges>")
    edges.write_text("\n".join(edge_lines) + "\n")
    run_program(
        [
            sumo_binary("netconvert"),
            "--node-files",
            nodes,
            "--edge-files",
            edges,
            "--no-turnarounds",
            "true",
            "--output-file",
            out,
        ],
        "netconvert",
    )
    return out


def vtype_xml(vt: VehicleType) -> str:
    return (
        f'  <vType id="{vt.id}" vClass="{vt.vclass}" length="{vt.length_m!r}" '
        f'minGap="{vt.min_gap_m!r}" '
        f'accel="{vt.accel_mps2!r}" decel="{vt.decel_mps2!r}" '
        f'emergencyDecel="{vt.emergency_decel_mps2!r}" maxSpeed="{vt.max_speed_mps!r}" '
        f'sigma="{vt.sigma!r}" tau="{vt.tau_s!r}" speedFactor="{vt.speed_factor_mean!r}" '
        f'speedDev="{vt.speed_factor_std!r}" emissionClass="{sumo_emission_class(vt)}"/>'
    )


def write_sumo_routes(network: Network, trips: TripTable, names: list[str], out: Path) -> Path:
    """``trips`` in departure order, vehicle ``k`` named ``names[k]``."""
    lines = ["<routes>"]
    for vt in trips.vtypes:
        lines.append(vtype_xml(vt))
    for k in np.argsort(trips.depart_s, kind="stable").tolist():
        edges = " ".join(network.edges[e].id for e in trips.route(k))
        vt = trips.vtypes[int(trips.vtype[k])]
        lines.append(
            f'  <vehicle id="{names[k]}" type="{vt.id}" depart="{float(trips.depart_s[k])!r}" '
            'departSpeed="0">'
            f'<route edges="{edges}"/></vehicle>'
        )
    lines.append("</routes>")
    out.write_text("\n".join(lines) + "\n")
    return out


def run_sumo(net: Path, routes: Path, end_s: float, seed: int, out_dir: Path) -> dict[str, dict]:
    """SUMO's tripinfo per vehicle id: length m, duration s, waiting s, CO2 kg."""
    tripinfo = out_dir / "tripinfo.xml"
    run_program(
        [
            sumo_binary("sumo"),
            "--net-file",
            net,
            "--route-files",
            routes,
            "--end",
            repr(end_s),
            "--step-length",
            "1",
            "--seed",
            str(seed),
            "--device.emissions.probability",
            "1",
            "--tripinfo-output",
            tripinfo,
            "--no-step-log",
            "true",
            "--no-warnings",
            "true",
            "--time-to-teleport",
            "-1",
        ],
        "sumo",
    )
    out = {}
    for trip in ET.parse(tripinfo).getroot().iter("tripinfo"):
        emissions = trip.find("emissions")
        assert emissions is not None
        out[trip.get("id", "")] = {
            "km": float(trip.get("routeLength", "nan")) / 1000,
            "duration_s": float(trip.get("duration", "nan")),
            "standing_s": float(trip.get("waitingTime", "nan")),
            "co2_kg": float(emissions.get("CO2_abs", "nan")) / 1e6,
        }
    return out


def run_twin(
    city_params: dict[str, Any], trucks: list[Trip], truck: VehicleType, seed: int, end_s: float
):
    """twin's city (the region's, signals fixed-time) with ``trucks`` added to its trips."""
    own_trips = GridCity.trips

    def with_trucks(self: GridCity, world: Any, network: Network) -> TripTable:
        background = own_trips(self, world, network)
        table = background.trips()
        kinds = (*background.vtypes, truck)
        trucked = [
            Trip(t.depart_s, t.origin, t.destination, len(kinds) - 1, t.route) for t in trucks
        ]
        return TripTable.from_trips(network, table + trucked, kinds)

    GridCity.trips = with_trucks  # type: ignore[method-assign]
    try:
        run = prepare_run(
            ScenarioConfig(id="traffic/grid4x4-v0", params=city_params, horizon_s=end_s),
            "signals/fixed-time-v0",
            seed,
        )
        run.world.run(end_s)
    finally:
        GridCity.trips = own_trips  # type: ignore[method-assign]
    return run


def grid_comparison(args: argparse.Namespace) -> None:
    region = SmallRegionParams()
    city_params = region.city.model_dump()
    city_params["demand"]["rates_per_s"] = [args.background_per_s]
    if args.horizon_s is None:
        end_s = FIRST_TRUCK_S + args.trucks_per_route * args.every_s + 1800.0
    else:
        end_s = args.horizon_s
    city_params["demand_horizon_s"] = end_s
    network = region.city.network()
    routes = region_routes(network, region.places)
    truck = region.truck.model_copy(update={"sigma": args.truck_sigma}).build()
    trucks, labels = [], []
    for r, (name, edges) in enumerate(routes.items()):
        for j in range(args.trucks_per_route):
            depart = FIRST_TRUCK_S + j * args.every_s + r * args.every_s / len(routes)
            trucks.append(Trip(depart, edges[0], edges[-1], 0, tuple(edges)))
            labels.append(name)
    twin_run = run_twin(city_params, trucks, truck, args.seed, end_s)
    city = twin_run.scenario.city
    veh, table = city.veh, city.trips
    # The table is in departure order: the trucks are its trips of the truck type, and
    # in departure order too (stable, as the sort that made the table).
    truck_type = len(table.vtypes) - 1
    truck_trips = np.flatnonzero(table.vtype == truck_type).tolist()
    order = np.argsort([t.depart_s for t in trucks], kind="stable").tolist()
    labels = [labels[j] for j in order]
    names = [f"bg{k}" for k in range(len(table))]
    for j, k in enumerate(truck_trips):
        names[k] = f"truck{j}"
    background = [k for k in range(len(table)) if table.vtype[k] != truck_type]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        net = write_sumo_net(network, out / "city.net.xml")
        rou = write_sumo_routes(network, table, names, out / "city.rou.xml")
        sumo = run_sumo(net, rou, end_s, args.seed, out)
    per_route: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for j, name in enumerate(labels):
        k = truck_trips[j]
        s = sumo.get(f"truck{j}")
        if veh.state[k] != ARRIVED or s is None:
            continue  # compared only where both finished
        row = per_route[name]
        row["twin_km"].append(float(veh.dist_m[k]) / 1000)
        row["twin_s"].append(float(veh.arrive_s[k] - veh.insert_s[k]))
        row["twin_stand_s"].append(float(veh.waiting_s[k]))
        row["twin_kg"].append(float(veh.co2_mg[k]) / 1e6)
        row["sumo_km"].append(s["km"])
        row["sumo_s"].append(s["duration_s"])
        row["sumo_stand_s"].append(s["standing_s"])
        row["sumo_kg"].append(s["co2_kg"])
    bg_twin = [k for k in background if veh.state[k] == ARRIVED]
    bg_sumo = [sumo[f"bg{k}"] for k in background if f"bg{k}" in sumo]
    print(
        f"grid 3x3, background {args.background_per_s}/s ({len(background)} trips: twin finished "
        f"{len(bg_twin)}, SUMO {len(bg_sumo)}), truck sigma {args.truck_sigma}, seed {args.seed}, "
        f"{args.trucks_per_route} trucks per route every {args.every_s:.0f} s"
    )
    booked_km = {name: route_length_m(network, edges) / 1000 for name, edges in routes.items()}
    header = (
        "| route | trips | booked km | driven km twin / SUMO | drive s twin / SUMO "
        "| standing s twin / SUMO "
        "| kg CO2 per trip twin / SUMO | kg/km twin | kg/km SUMO | twin/SUMO |"
    )
    print(header)
    print("|" + "---|" * 10)
    totals: dict[str, float] = defaultdict(float)
    for name in routes:
        row = per_route.get(name)
        if not row:
            continue
        n = len(row["twin_km"])
        for key, values in row.items():
            totals[key] += sum(values)
        mean = {key: sum(v) / n for key, v in row.items()}
        twin_kpk = sum(row["twin_kg"]) / sum(row["twin_km"])
        sumo_kpk = sum(row["sumo_kg"]) / sum(row["sumo_km"])
        print(
            f"| {name} | {n} | {booked_km[name]:.4f} "
            f"| {mean['twin_km']:.3f} / {mean['sumo_km']:.3f} "
            f"| {mean['twin_s']:.1f} / {mean['sumo_s']:.1f} "
            f"| {mean['twin_stand_s']:.1f} / {mean['sumo_stand_s']:.1f} "
            f"| {mean['twin_kg']:.3f} / {mean['sumo_kg']:.3f} "
            f"| {twin_kpk:.2f} | {sumo_kpk:.2f} | {twin_kpk / sumo_kpk:.3f} |"
        )
    twin_kpk = totals["twin_kg"] / totals["twin_km"]
    sumo_kpk = totals["sumo_kg"] / totals["sumo_km"]
    print(
        f"| all | {sum(len(r['twin_km']) for r in per_route.values())} | "
        f"| {totals['twin_km']:.2f} / {totals['sumo_km']:.2f} km in all "
        f"| {totals['twin_s']:.0f} / {totals['sumo_s']:.0f} "
        f"| {totals['twin_stand_s']:.0f} / {totals['sumo_stand_s']:.0f} "
        f"| {totals['twin_kg']:.2f} / {totals['sumo_kg']:.2f} in all "
        f"| {twin_kpk:.2f} | {sumo_kpk:.2f} | {twin_kpk / sumo_kpk:.3f} |"
    )


def straight_road_sumo_and_twin(
    length_m: float, speed_mps: float, depart_speed: str, truck: VehicleType, seed: int
):
    """One truck, departing at ``depart_speed`` (SUMO's ``0`` or ``max``), on one straight
    edge of ``length_m`` (no junction on the way):
    (twin km, twin kg, SUMO km, SUMO kg)."""
    from twin.core.run import prepare_run as prepare

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        (out / "road.nod.xml").write_text(
            f'<nodes><node id="a" x="0" y="0"/><node id="b" x="{length_m!r}" y="0"/></nodes>\n'
        )
        (out / "road.edg.xml").write_text(
            f'<edges><edge id="ab" from="a" to="b" numLanes="1" speed="{speed_mps!r}"/></edges>\n'
        )
        net = out / "road.net.xml"
        run_program(
            [
                sumo_binary("netconvert"),
                "--node-files",
                out / "road.nod.xml",
                "--edge-files",
                out / "road.edg.xml",
                "--output-file",
                net,
            ],
            "netconvert",
        )
        (out / "road.rou.xml").write_text(
            "<routes>\n" + vtype_xml(truck) + "\n"
            f'  <vehicle id="t" type="truck" depart="0" departSpeed="{depart_speed}">'
            '<route edges="ab"/></vehicle>\n</routes>\n'
        )
        end_s = 10 * length_m / speed_mps + 100
        sumo = run_sumo(net, out / "road.rou.xml", end_s, seed, out)["t"]
        (out / "road.sumocfg").write_text(
            "<configuration><input>"
            f'<net-file value="{net.name}"/><route-files value="road.rou.xml"/>'
            f'</input><time><begin value="0"/><end value="{end_s!r}"/></time></configuration>\n'
        )
        run = prepare(
            ScenarioConfig(
                id="traffic/sumo-net-v0",
                params={"sumocfg": str(out / "road.sumocfg")},
                horizon_s=end_s,
            ),
            "signals/fixed-time-v0",
            seed,
        )
        run.world.run(end_s)
        veh = run.scenario.city.veh
        assert veh.state[0] == ARRIVED
        return float(veh.dist_m[0]) / 1000, float(veh.co2_mg[0]) / 1e6, sumo["km"], sumo["co2_kg"]


def free_flow(args: argparse.Namespace) -> None:
    truck = SmallRegionParams().truck.model_copy(update={"sigma": 0.0}).build()
    print(
        "one truck on a straight road, no lights, no traffic, sigma 0 "
        f"({truck.emission_class}, SUMO vClass {truck.vclass})"
    )
    print(
        "| road, start | twin km | twin kg CO2 | twin kg/km "
        "| SUMO km | SUMO kg CO2 | SUMO kg/km | twin/SUMO |"
    )
    print("|" + "---|" * 8)
    for length_m, speed_mps, depart in (
        (400.0, 13.89, "0"),
        (800.0, 13.89, "0"),
        (2000.0, 13.89, "0"),
        (10000.0, 13.89, "0"),
        (10000.0, 13.89, "max"),
        (10000.0, 25.0, "0"),
        (10000.0, 25.0, "max"),
    ):
        tk, tkg, sk, skg = straight_road_sumo_and_twin(
            length_m, speed_mps, depart, truck, args.seed
        )
        start = "from rest" if depart == "0" else "entering at the limit"
        print(
            f"| {length_m / 1000:g} km at {speed_mps * 3.6:.0f} km/h, {start} "
            f"| {tk:.3f} | {tkg:.3f} | {tkg / tk:.3f} "
            f"| {sk:.3f} | {skg:.3f} | {skg / sk:.3f} | {tkg / tk / (skg / sk):.3f} |"
        )


def region_trips(args: argparse.Namespace) -> None:
    """The small region itself: each truck drive of the run, and what the ledger booked."""
    horizon_s = args.horizon_s if args.horizon_s is not None else 2 * 86_400.0
    run = prepare_run(
        ScenarioConfig(id="region/coupled-small-v0", horizon_s=horizon_s),
        "region/policy-set-v0",
        args.seed,
        policy_params={"transport": args.transport},
    )
    scenario, world = run.scenario, run.world
    road = scenario.road
    sent: list[tuple[int, str, str, float]] = []  # (trip, origin, destination, requested s)
    drive = road.drive

    def logged(origin: str, destination: str, cargo: Any = None) -> Any:
        done = drive(origin, destination, cargo)
        trip = next(reversed(road._driving))  # the trip this drive took
        sent.append((trip, origin, destination, float(world.env.now)))
        return done

    road.drive = logged  # type: ignore[method-assign]
    run.world.run(horizon_s)
    kpis = scenario.kpis(world)  # books the fuel of trucks still driving
    veh = scenario.city.veh
    print(
        f"region/coupled-small-v0, transport {args.transport}, seed {args.seed}, "
        f"{horizon_s / 86_400:g} days: truck drives in the city"
    )
    print(
        "| trip | from -> to | booked km | driven km | waited to enter s | drive s | standing s "
        "| HBEFA kg CO2 | ledger kg CO2e | HBEFA kg/km driven |"
    )
    print("|" + "---|" * 10)
    sums: dict[str, float] = defaultdict(float)
    for t, origin, destination, requested_s in sent:
        if veh.state[t] != ARRIVED:
            continue
        row = {
            "booked_km": road.length_m(t) / 1000,
            "km": float(veh.dist_m[t]) / 1000,
            "wait_s": float(veh.insert_s[t] - requested_s),
            "drive_s": float(veh.arrive_s[t] - veh.insert_s[t]),
            "stand_s": float(veh.waiting_s[t]),
            "kg": float(veh.co2_mg[t]) / 1e6,
            "ledger_kg": world.ledger.co2e_kg(entity=f"vehicle{t}"),
        }
        for key, value in row.items():
            sums[key] += value
        print(
            f"| {t} | {origin} -> {destination} | {row['booked_km']:.4f} "
            f"| {row['km']:.4f} | {row['wait_s']:.2f} | {row['drive_s']:.0f} "
            f"| {row['stand_s']:.0f} | {row['kg']:.3f} | {row['ledger_kg']:.3f} "
            f"| {row['kg'] / row['km']:.2f} |"
        )
    print(
        f"| all | | {sums['booked_km']:.4f} | {sums['km']:.4f} | {sums['wait_s']:.2f} "
        f"| {sums['drive_s']:.0f} | {sums['stand_s']:.0f} | {sums['kg']:.3f} "
        f"| {sums['ledger_kg']:.3f} | {sums['kg'] / sums['km']:.2f} |"
    )
    accounts = scenario.accounts(world)
    print(
        f"supply.truck_km {kpis['supply.truck_km'].value:.4f}; "
        f"co2e_supply_kg {kpis['co2e_supply_kg'].value:.3f} "
        f"({kpis['co2e_supply_kg'].value / kpis['supply.truck_km'].value:.2f} per booked km); "
        f"co2e_traffic_kg {kpis['co2e_traffic_kg'].value:.1f}, "
        f"traffic.network_co2_kg {kpis['traffic.network_co2_kg'].value:.1f} (HBEFA, trucks in); "
        f"domains sum to the ledger: "
        f"{sum(a['co2e_kg'] for a in accounts.values()):.3f} = {world.ledger.co2e_kg():.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--background-per-s", type=float, default=0.05, help="the small region's: 0.05"
    )
    parser.add_argument("--trucks-per-route", type=int, default=12)
    parser.add_argument(
        "--every-s", type=float, default=937.0, help="not a multiple of the 90 s light cycle"
    )
    parser.add_argument("--truck-sigma", type=float, default=0.5, help="the region's truck: 0.5")
    parser.add_argument("--horizon-s", type=float, default=None)
    parser.add_argument("--free-flow", action="store_true", help="the straight-road case only")
    parser.add_argument(
        "--region", action="store_true", help="the small region's own run (~5 min), per drive"
    )
    parser.add_argument("--transport", default="transport/cvrptw-v0", help="with --region")
    args = parser.parse_args(argv)
    if args.free_flow:
        free_flow(args)
    elif args.region:
        region_trips(args)
    else:
        grid_comparison(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
