"""The routing-and-serving kernel equals its plain-Python statement, and keeps its rules.

Runs compiled and, in CI's NUMBA_DISABLE_JIT=1 pass, as plain Python.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.cloud import kernels


@st.composite
def batches(draw: st.DrawFn) -> dict:
    """A batch of requests over a few nodes: some starting, some draining, tiny queues."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    slots = draw(st.integers(1, 5))
    workers = draw(st.integers(1, 3))
    classes = draw(st.integers(1, 3))
    n = draw(st.integers(0, 300))
    times = np.sort(rng.uniform(0.0, 50.0, n))
    origins = times - rng.choice([0.0, 0.0, 30.0], n)  # some deferred work
    ready = rng.choice([0.0, 10.0, math.inf], slots)
    drain = np.where(rng.random(slots) < 0.3, rng.uniform(0.0, 50.0, slots), math.inf)
    return {
        "times": times,
        "origins": origins,
        "classes": rng.integers(0, classes, n),
        "services": rng.exponential(draw(st.sampled_from([0.1, 1.0, 5.0])), n),
        "ready_s": ready,
        "drain_s": drain,
        "workers": workers,
        "least_connections": draw(st.booleans()),
        "queue_capacity": draw(st.integers(0, 6)),
        "slo_s": rng.uniform(0.5, 10.0, classes),
        "rr_next": draw(st.integers(0, slots - 1)),
        "slots_used": draw(st.integers(1, slots)),
    }


def run_kernel(b: dict) -> dict:
    slots, workers = len(b["ready_s"]), b["workers"]
    classes = len(b["slo_s"])
    state = {
        "free": np.zeros((slots, workers)),
        "heap": np.zeros((slots, workers + b["queue_capacity"])),
        "heap_size": np.zeros(slots, dtype=np.int64),
        "assigned_work": np.zeros(slots),
        "first_start": np.full(slots, math.inf),
        "served": np.zeros(slots, dtype=np.int64),
        "rr_next": np.array([b["rr_next"]], dtype=np.int64),
        "histogram": np.zeros((classes, kernels.LATENCY_BINS), dtype=np.int64),
        "latency_sum": np.zeros(classes),
        "violations": np.zeros(classes, dtype=np.int64),
        "assigned": np.zeros(classes, dtype=np.int64),
        "dropped": np.zeros(classes, dtype=np.int64),
    }
    s = state
    kernels.route_and_serve(
        b["times"], b["origins"], b["classes"], b["services"], b["ready_s"], b["drain_s"],
        s["free"], s["heap"], s["heap_size"], s["assigned_work"], s["first_start"], s["served"],
        s["rr_next"], b["slots_used"], b["least_connections"], b["queue_capacity"], b["slo_s"],
        s["histogram"],
        s["latency_sum"], s["violations"], s["assigned"], s["dropped"],
    )  # fmt: skip
    return state


@settings(max_examples=150, deadline=None)
@given(batches())
def test_kernel_equals_the_pure_python_reference(b):
    state = run_kernel(b)
    slots, workers = len(b["ready_s"]), b["workers"]
    free = [[0.0] * workers for _ in range(slots)]
    in_node: list[list[float]] = [[] for _ in range(slots)]
    ref = kernels.route_and_serve_reference(
        b["times"], b["origins"], b["classes"], b["services"], b["ready_s"], b["drain_s"],
        free, in_node, b["rr_next"], b["slots_used"], b["least_connections"],
        b["queue_capacity"], b["slo_s"],
    )  # fmt: skip
    np.testing.assert_array_equal(state["free"], np.array(free))
    assert state["rr_next"][0] == ref["rr_next"]
    np.testing.assert_array_equal(state["served"], ref["served"])
    for n in range(slots):
        kept = np.sort(state["heap"][n, : state["heap_size"][n]])
        np.testing.assert_array_equal(kept, np.sort(in_node[n]))
    routed = ref["node"] >= 0
    classes = len(b["slo_s"])
    for c in range(classes):
        mine = b["classes"] == c
        assert state["assigned"][c] == np.sum(mine & routed)
        assert state["dropped"][c] == np.sum(mine & ~routed)
        assert state["violations"][c] == np.sum(mine & routed & ref["violates"])
        latencies = ref["latency"][mine & routed]
        np.testing.assert_allclose(state["latency_sum"][c], latencies.sum(), rtol=1e-12, atol=1e-9)
        bins = [kernels.latency_bin(x) for x in latencies]
        np.testing.assert_array_equal(
            state["histogram"][c], np.bincount(bins, minlength=kernels.LATENCY_BINS)
        )
    for n in range(slots):
        on_node = ref["node"] == n
        work = b["services"][on_node].sum()
        np.testing.assert_allclose(state["assigned_work"][n], work, rtol=1e-12, atol=1e-12)
        # No request starts on a node before it is ready, or arrives after it drained;
        # slots past slots_used get nothing.
        if n >= b["slots_used"]:
            assert not on_node.any()
        assert np.all(ref["start"][on_node] >= b["ready_s"][n])
        assert np.all(b["times"][on_node] < b["drain_s"][n])
        first = ref["start"][on_node].min() if on_node.any() else math.inf
        assert state["first_start"][n] == first


@settings(max_examples=100, deadline=None)
@given(batches())
def test_fcfs_per_node_and_queue_capacity_hold(b):
    slots, workers = len(b["ready_s"]), b["workers"]
    free = [[0.0] * workers for _ in range(slots)]
    in_node: list[list[float]] = [[] for _ in range(slots)]
    ref = kernels.route_and_serve_reference(
        b["times"], b["origins"], b["classes"], b["services"], b["ready_s"], b["drain_s"],
        free, in_node, b["rr_next"], b["slots_used"], b["least_connections"],
        b["queue_capacity"], b["slo_s"],
    )  # fmt: skip
    for n in range(slots):
        on_node = np.flatnonzero(ref["node"] == n)
        starts = ref["start"][on_node]
        arrivals = b["times"][on_node]
        assert np.all(np.diff(starts) >= 0), "a later arrival started before an earlier one"
        for i, arrival in zip(on_node, arrivals, strict=True):
            # At each arrival: at most `workers` in service and `queue_capacity` waiting.
            earlier = on_node[on_node < i]
            in_service = np.sum(
                (ref["start"][earlier] <= arrival) & (ref["end"][earlier] > arrival)
            )
            waiting = np.sum(ref["start"][earlier] > arrival)
            assert in_service <= workers
            assert waiting <= b["queue_capacity"]


def test_complete_until_pops_exactly_the_completions_due():
    heap = np.zeros((2, 5))
    sizes = np.zeros(2, dtype=np.int64)
    served = np.zeros(2, dtype=np.int64)
    values = [[4.0, 1.0, 3.0], [2.0, 9.0]]
    for node, items in enumerate(values):
        for value in items:
            kernels._heap_push(heap, sizes, node, value)
    assert kernels.complete_until(3.0, heap, sizes, served) == 3
    np.testing.assert_array_equal(served, [2, 1])
    np.testing.assert_array_equal(sizes, [1, 1])
    assert heap[0, 0] == 4.0
    assert heap[1, 0] == 9.0


@settings(max_examples=60)
@given(
    st.lists(st.lists(st.floats(0.0, 100.0), max_size=12), min_size=1, max_size=4),
    st.floats(-1.0, 101.0),
)
def test_complete_until_equals_counting_the_sorted_completions(values, now_s):
    # Reference: a node's completions as a sorted list; those <= now are served.
    heap = np.zeros((len(values), 12))
    sizes = np.zeros(len(values), dtype=np.int64)
    served = np.zeros(len(values), dtype=np.int64)
    for node, items in enumerate(values):
        for value in items:
            kernels._heap_push(heap, sizes, node, value)
    total = kernels.complete_until(now_s, heap, sizes, served)
    due = [sum(v <= now_s for v in items) for items in values]
    assert total == sum(due)
    np.testing.assert_array_equal(served, due)
    for node, items in enumerate(values):
        left = heap[node, : sizes[node]]
        assert sorted(left.tolist()) == sorted(v for v in items if v > now_s)
        children = np.arange(1, left.size)
        assert (left[(children - 1) // 2] <= left[children]).all()  # still a min-heap


def test_latency_bins_are_log_spaced_and_clipped():
    assert kernels.latency_bin(0.0) == 0
    assert kernels.latency_bin(1e-9) == 0
    assert kernels.latency_bin(1e-5) == 0
    assert kernels.latency_bin(1.0) == 5 * kernels.BINS_PER_DECADE
    assert kernels.latency_bin(1e9) == kernels.LATENCY_BINS - 1


def test_histogram_quantiles_are_within_a_bin_of_the_exact_ones():
    from twin.cloud.scenario import histogram_quantile

    rng = np.random.default_rng(5)
    latencies = rng.lognormal(-3.0, 1.0, 50_000)
    histogram = np.bincount(
        [kernels.latency_bin(x) for x in latencies], minlength=kernels.LATENCY_BINS
    )
    width = 10.0 ** (1.0 / kernels.BINS_PER_DECADE)  # one bin, 4.7%
    for q in (0.5, 0.95, 0.99):
        exact = np.quantile(latencies, q)
        assert exact / width < histogram_quantile(histogram, q) < exact * width
    assert math.isnan(histogram_quantile(np.zeros(kernels.LATENCY_BINS, dtype=np.int64), 0.5))
