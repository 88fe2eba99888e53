"""Closed-form queueing results that simulations are checked against.

References: Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th
ed., Wiley 2008, sections 2.3 (M/M/c) and 2.5 (M/M/c/K); Allen (1990) and Cunneen for
the M/G/c approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of M/M/c/c, by the stable recursion B(k) = aB/(k + aB)."""
    if servers < 1 or offered_load < 0:
        raise ValueError("need servers >= 1 and offered load >= 0")
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return blocking


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/c (offered load a = lambda / mu < c)."""
    if offered_load >= servers:
        raise ValueError(f"unstable: offered load {offered_load} >= servers {servers}")
    blocking = erlang_b(servers, offered_load)
    rho = offered_load / servers
    return blocking / (1 - rho * (1 - blocking))


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state means: waiting in queue (Wq), in system (W), queue length (Lq), L."""

    wait_s: float
    sojourn_s: float
    queue_length: float
    in_system: float
    utilisation: float
    blocking: float = 0.0


def mmc(arrival_rate: float, service_mean_s: float, servers: int) -> QueueMetrics:
    """M/M/c with FIFO and infinite room."""
    mu = 1.0 / service_mean_s
    load = arrival_rate / mu
    wait = erlang_c(servers, load) / (servers * mu - arrival_rate)
    return QueueMetrics(
        wait_s=wait,
        sojourn_s=wait + service_mean_s,
        queue_length=arrival_rate * wait,
        in_system=arrival_rate * (wait + service_mean_s),
        utilisation=load / servers,
    )


def mgc_allen_cunneen(
    arrival_rate: float, service_mean_s: float, service_scv: float, servers: int
) -> QueueMetrics:
    """M/G/c by the Allen-Cunneen approximation Wq ~ Wq(M/M/c) (1 + cs^2) / 2.

    Exact for c = 1 (Pollaczek-Khinchine); within a few percent for moderate c.
    """
    exponential = mmc(arrival_rate, service_mean_s, servers)
    wait = exponential.wait_s * (1.0 + service_scv) / 2.0
    return QueueMetrics(
        wait_s=wait,
        sojourn_s=wait + service_mean_s,
        queue_length=arrival_rate * wait,
        in_system=arrival_rate * (wait + service_mean_s),
        utilisation=exponential.utilisation,
    )


def mmck(arrival_rate: float, service_mean_s: float, servers: int, capacity: int) -> QueueMetrics:
    """M/M/c/K: at most ``capacity`` jobs in the system (waiting plus in service)."""
    if capacity < servers:
        raise ValueError(f"capacity {capacity} must be >= servers {servers}")
    if arrival_rate <= 0 or service_mean_s <= 0:
        raise ValueError("arrival rate and mean service time must be > 0")
    load = arrival_rate * service_mean_s
    # Unnormalised p_n in log space, so large K and loads do not overflow.
    log_p = []
    for n in range(capacity + 1):
        if n <= servers:
            log_p.append(n * math.log(load) - math.lgamma(n + 1))
        else:
            log_p.append(
                servers * math.log(load)
                - math.lgamma(servers + 1)
                + (n - servers) * math.log(load / servers)
            )
    top = max(log_p)
    weights = [math.exp(v - top) for v in log_p]
    total = sum(weights)
    p = [w / total for w in weights]
    in_system = sum(n * pn for n, pn in enumerate(p))
    queue_length = sum((n - servers) * pn for n, pn in enumerate(p) if n > servers)
    blocking = p[capacity]
    effective_rate = arrival_rate * (1 - blocking)
    return QueueMetrics(
        wait_s=queue_length / effective_rate,
        sojourn_s=in_system / effective_rate,
        queue_length=queue_length,
        in_system=in_system,
        utilisation=effective_rate * service_mean_s / servers,
        blocking=blocking,
    )
