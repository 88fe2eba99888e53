"""Throughput of the degradation kernel against a STREAM triad and its pure-Python reference.

Three things run side by side in one process, on one thread:

- the kernel, ``twin.factory.kernels.advance``, over ``--machines`` machines; its
  effective bandwidth is the bytes it must move per machine update (counted from the
  arrays it reads and writes) times its updates per second;
- a STREAM triad ``a[i] = b[i] + q * c[i]`` (McCalpin, STREAM benchmark; 24 bytes per
  element: two reads, one write) jitted by Numba over arrays of the same length, the
  anchor for what one core can move. A second triad over the same number of bytes as
  the kernel's arrays is printed too: at 10^6 elements the triad's 24 MB can sit in a
  large last-level cache while the kernel's 145 MB cannot, which flatters the anchor;
- the pure-Python reference ``advance_reference`` on a smaller plant, per update.

Kernel and triad repetitions alternate, so drift in the machine's speed hits both;
times are medians after a warm-up call (which also compiles), and bandwidth ratios
are medians of per-round ratios. The same alternation at 10^4 and 10^5 machines (the
same number of rounds) gives the growth plot, docs/benchmarks/degradation_kernel.png:
milliseconds per call against machines (triad: elements).

Usage: python benchmarks/degradation_kernel.py [--machines N] [--repeats R]
Targets: kernel bandwidth >= 90% of the same-length triad's (issue 19; 50% in issue 2);
kernel >= 100x the reference. The last line printed is the bandwidth ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numba
import numpy as np
from growth import save_growth_plot

from twin.factory.kernels import (
    SENSOR_CHANNELS,
    DegradationParams,
    advance,
    advance_reference,
    step,
)

GB = 1e9
TRIAD_BYTES_PER_ELEMENT = 24  # STREAM's count: read b, read c, write a (8 bytes each)
AMBIENT_C = 22.0
HUMIDITY_PCT = 45.0
DT_S = 60.0


@numba.njit(cache=True)
def triad(a: np.ndarray, b: np.ndarray, c: np.ndarray, q: float) -> None:
    for i in range(a.shape[0]):
        a[i] = b[i] + q * c[i]


class Plant:
    """The kernel's arguments for ``n`` machines: a plant part-way through its life."""

    def __init__(self, n: int, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.params = DegradationParams.from_scalars(n)
        self.h = rng.uniform(0.0, 0.9, n)
        self.load = rng.uniform(0.0, 1.2, n)
        self.z = rng.standard_normal(n)
        self.signals = np.zeros((n, len(SENSOR_CHANNELS)))
        self.failed = np.zeros(n, dtype=np.bool_)

    def bytes_per_update(self) -> tuple[int, int]:
        """(read, written) bytes per machine, from the arrays the kernel touches."""
        read = (self.h, self.load, self.z, *self.params.arrays())
        read_bytes = sum(array.itemsize for array in read)
        written_bytes = (
            self.h.itemsize + self.signals.itemsize * self.signals.shape[1] + self.failed.itemsize
        )
        return read_bytes, written_bytes

    def run(self, kernel: Callable[..., None]) -> None:
        kernel(
            self.h,
            self.load,
            AMBIENT_C,
            HUMIDITY_PCT,
            self.z,
            DT_S,
            *self.params.arrays(),
            self.signals,
            self.failed,
        )


def timed(call: Callable[[], None]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def triad_arrays(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    return np.zeros(n), rng.random(n), rng.random(n)


def alternate(
    plant: Plant, arrays: tuple[np.ndarray, ...], repeats: int
) -> tuple[list[float], list[float]]:
    """Seconds per kernel call and per triad call, ``repeats`` rounds back to back."""
    plant.run(advance)  # compile (or load from cache) and touch every page
    triad(*arrays, 3.0)
    kernel_s, triad_s = [], []
    for _ in range(repeats):
        kernel_s.append(timed(lambda: plant.run(advance)))
        triad_s.append(timed(lambda: triad(*arrays, 3.0)))
    return kernel_s, triad_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--reference-machines", type=int, default=10_000, help="plant size for pure Python"
    )
    args = parser.parse_args()
    n = args.machines

    growth: dict[str, list[tuple[float, float]]] = {"kernel": [], "STREAM triad": []}
    for size in (10_000, 100_000):  # smaller plants, for the growth plot only
        if size < n:
            small_kernel_s, small_triad_s = alternate(Plant(size), triad_arrays(size), args.repeats)
            growth["kernel"].append((size, statistics.median(small_kernel_s) * 1e3))
            growth["STREAM triad"].append((size, statistics.median(small_triad_s) * 1e3))

    plant = Plant(n)
    read_bytes, written_bytes = plant.bytes_per_update()
    bytes_per_update = read_bytes + written_bytes
    same_length = triad_arrays(n)
    footprint = triad_arrays(bytes_per_update * n // TRIAD_BYTES_PER_ELEMENT)

    plant.run(advance)  # compile (or load from cache) and touch every page
    triad(*same_length, 3.0)
    triad(*footprint, 3.0)

    kernel_s, triad_s, footprint_s = [], [], []
    for _ in range(args.repeats):
        kernel_s.append(timed(lambda: plant.run(advance)))
        triad_s.append(timed(lambda: triad(*same_length, 3.0)))
        footprint_s.append(timed(lambda: triad(*footprint, 3.0)))
    kernel_median = statistics.median(kernel_s)
    updates_per_s = n / kernel_median
    kernel_bw = bytes_per_update * updates_per_s
    triad_bw = TRIAD_BYTES_PER_ELEMENT * n / statistics.median(triad_s)
    footprint_n = footprint[0].shape[0]
    footprint_bw = TRIAD_BYTES_PER_ELEMENT * footprint_n / statistics.median(footprint_s)
    # Ratios per round (kernel and triad timed back to back), so a noisy neighbour that
    # slows one round slows both sides of its ratio.
    same_length_ratios = [
        (bytes_per_update * n / k) / (TRIAD_BYTES_PER_ELEMENT * n / t)
        for k, t in zip(kernel_s, triad_s, strict=True)
    ]
    same_bytes_ratios = [
        (bytes_per_update * n / k) / (TRIAD_BYTES_PER_ELEMENT * footprint_n / t)
        for k, t in zip(kernel_s, footprint_s, strict=True)
    ]

    reference = Plant(args.reference_machines)
    reference_s = [
        timed(lambda: reference.run(advance_reference)) for _ in range(min(args.repeats, 3))
    ]
    reference_per_update_s = statistics.median(reference_s) / args.reference_machines
    speedup = reference_per_update_s * updates_per_s

    small = Plant(100)
    small.run(advance)
    direct_s = statistics.median(timed(lambda: small.run(advance)) for _ in range(200))

    def call_step() -> None:
        step(
            small.h,
            small.load,
            AMBIENT_C,
            HUMIDITY_PCT,
            small.z,
            DT_S,
            small.params,
            small.signals,
            small.failed,
        )

    wrapped_s = statistics.median(timed(call_step) for _ in range(200))

    print(
        f"degradation kernel: {n:,} machines, {bytes_per_update} B per update "
        f"({read_bytes} read, {written_bytes} written), median of {args.repeats}, one thread"
    )
    print(
        f"  kernel (numba {numba.__version__})       {kernel_median * 1e3:8.2f} ms/call "
        f"{updates_per_s / 1e6:8.1f} M updates/s {kernel_bw / GB:6.2f} GB/s effective"
    )
    print(
        f"  STREAM triad, same length     {statistics.median(triad_s) * 1e3:8.2f} ms/call "
        f"{triad_bw / GB:25.2f} GB/s ({n * TRIAD_BYTES_PER_ELEMENT / 1e6:,.0f} MB)"
    )
    print(
        f"  STREAM triad, same bytes      {statistics.median(footprint_s) * 1e3:8.2f} ms/call "
        f"{footprint_bw / GB:25.2f} GB/s ({footprint_n * TRIAD_BYTES_PER_ELEMENT / 1e6:,.0f} MB)"
    )
    print(
        f"  kernel / triad bandwidth, same length: {statistics.median(same_length_ratios):6.1%}"
        f"  (per-round min {min(same_length_ratios):.1%}, max {max(same_length_ratios):.1%};"
        " target >= 90%)"
    )
    print(
        f"  kernel / triad bandwidth, same bytes:  {statistics.median(same_bytes_ratios):6.1%}"
        f"  (per-round min {min(same_bytes_ratios):.1%}, max {max(same_bytes_ratios):.1%})"
    )
    print(
        f"  pure-Python reference ({args.reference_machines:,} machines): "
        f"{reference_per_update_s * 1e6:.2f} us/update"
    )
    print(f"  kernel speed-up over the reference:    {speedup:6.0f}x  (target >= 100x)")
    print(
        f"  per call at 100 machines: kernel {direct_s * 1e6:.1f} us, "
        f"step() with its checks {wrapped_s * 1e6:.1f} us"
    )
    growth["kernel"].append((n, kernel_median * 1e3))
    growth["STREAM triad"].append((n, statistics.median(triad_s) * 1e3))
    for name, points in growth.items():
        print(
            f"  growth, {name}: "
            + ", ".join(
                f"{size:,} {ms:.3f} ms ({ms / size * 1e6:.2f} ns each)" for size, ms in points
            )
        )
    save_growth_plot(
        "degradation_kernel",
        x_label="machines (triad: elements)",
        y_label="ms per call (median)",
        series=growth,
        title="degradation kernel against a STREAM triad, one thread",
    )
    print(
        f"kernel / triad bandwidth, same length: {statistics.median(same_length_ratios):.1%}"
        f" (per-round min {min(same_length_ratios):.1%}, max {max(same_length_ratios):.1%};"
        " target >= 90%)"
    )


if __name__ == "__main__":
    main()
