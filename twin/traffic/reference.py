"""A plain-Python reference of the car-following update, written from its definitions.

The kernel (:mod:`twin.traffic.kernels`) computes braking distances and safe speeds in
closed form and the Krauss update in a few fused lines; here each is computed the slow,
obvious way (braking tick by tick, searching the safe speed, the update as SUMO's
``MSCFModel_Krauss`` states it), so a test can check the kernel against something that
does not share its code. No Numba, no arrays.
"""

from __future__ import annotations

STOP_SPEED_TOLERANCE_MPS = 1e-9
"""How closely :func:`stop_speed` brackets the largest safe speed."""


def brake_gap(speed: float, decel: float, dt: float) -> float:
    """Distance covered while braking from ``speed`` by ``decel`` every tick of ``dt``:
    Euler steps, each tick moving ``dt`` at the speed reached at its end."""
    distance = 0.0
    k = 1
    while speed - k * decel * dt >= 0.0:
        distance += dt * (speed - k * decel * dt)
        k += 1
    return distance


def stops_within(x: float, gap: float, decel: float, tau: float, dt: float) -> bool:
    """Whether a vehicle at ``x`` (reacting for ``tau``, then braking) stops in ``gap``."""
    return x * tau + brake_gap(x, decel, dt) <= gap


def stop_speed(gap: float, decel: float, tau: float, dt: float) -> float:
    """The largest speed from which the vehicle still stops within ``gap``: bisection
    on :func:`stops_within` (stopping distance grows with speed)."""
    if gap <= 0.0:
        return 0.0
    low, high = 0.0, 1.0
    while stops_within(high, gap, decel, tau, dt):
        low, high = high, 2.0 * high
    while high - low > STOP_SPEED_TOLERANCE_MPS:
        middle = (low + high) / 2.0
        if stops_within(middle, gap, decel, tau, dt):
            low = middle
        else:
            high = middle
    return low


def safe_speed(v_leader: float, gap: float, decel: float, tau: float, dt: float) -> float:
    """Krauss's safe speed behind a leader ``gap`` ahead at ``v_leader``: stop before
    where the leader would stop braking as hard as we do."""
    return stop_speed(gap + brake_gap(v_leader, decel, dt), decel, tau, dt)


def krauss_speed(
    speed: float,
    accel: float,
    decel: float,
    emergency_decel: float,
    sigma: float,
    allowed: float,
    limit: float,
    cap: float,
    dt: float,
    u: float,
) -> tuple[float, bool]:
    """The speed after one tick and whether it needed more than ``decel``.

    SUMO's Krauss model: the fastest speed the vehicle may reach (accelerating, the
    lane's allowed speed, the safe speed) minus the dawdling (``sigma`` times the
    smaller of the acceleration and that speed, times a uniform ``u``, over one tick),
    never below what braking by ``decel`` allows; if the safe speed is below even that,
    the vehicle brakes harder, up to ``emergency_decel``. ``cap`` bounds the result.
    """
    fastest = min(speed + accel * dt, allowed, limit)
    dawdled = fastest - u * sigma * min(accel, fastest) * dt
    slowest_comfortable = speed - decel * dt
    if fastest < max(slowest_comfortable, 0.0):
        new = max(fastest, speed - emergency_decel * dt)
        emergency = new < max(slowest_comfortable, 0.0) - 1e-9
    else:
        new = max(dawdled, slowest_comfortable)
        emergency = False
    return min(max(new, 0.0), cap), emergency
