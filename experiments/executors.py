"""Where runs execute: in this process, in a local process pool, or on a Dask cluster.

Every executor runs the same task function, :func:`run_chunk`, on chunks of
:class:`~experiments.design.RunSpec`; a run's result depends only on its spec, so the
executor and the number of workers never change a result. Workers only compute: the
runner's process writes every result, so a worker needs no access to the results
directory (a Dask worker may be on another machine).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Any

import pandas as pd

from experiments.design import RunSpec
from twin.core.errors import UserError
from twin.core.run import simulate

CONNECT_TIMEOUT_S = 10.0

# What Dask's Client takes for a scheduler: [protocol://]host:port, host a name, an IPv4
# address or a bracketed IPv6 one.
SCHEDULER_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})$"
)


def check_scheduler_address(address: str) -> str:
    """``address`` if it is a Dask scheduler address, before anything connects to it.

    Raises:
        UserError: one line saying what form is allowed.
    """
    match = SCHEDULER_ADDRESS.match(address)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise UserError(
            f"--scheduler: {address!r} is not a Dask scheduler address; expected "
            "[tcp://]HOST:PORT with PORT in 1-65535, e.g. tcp://10.0.0.5:8786"
        )
    return address


POLL_S = 5.0
NO_WORKERS_S = 60.0


@dataclass(frozen=True)
class RunOutcome:
    """What one run produced, or why it failed (``error`` holds the traceback)."""

    run_id: str
    status: str
    wall_s: float
    error: str | None
    kpis: tuple[tuple[str, float, str], ...]
    timeseries: pd.DataFrame | None


def run_one(spec: RunSpec) -> RunOutcome:
    """Make one run; an exception becomes a failed outcome so the batch goes on."""
    started = time.perf_counter()
    try:
        result = simulate(
            spec.scenario_config,
            spec.policy,
            spec.seed,
            policy_params=spec.policy_params,
            decision_timeout_s=spec.decision_timeout_s,
        )
    except Exception:
        return RunOutcome(
            spec.run_id, "failed", time.perf_counter() - started, traceback.format_exc(), (), None
        )
    kpis = tuple((name, float(kpi.value), kpi.unit) for name, kpi in result.kpis.items())
    timeseries = result.timeseries if spec.keep_timeseries else None
    return RunOutcome(spec.run_id, "ok", time.perf_counter() - started, None, kpis, timeseries)


def run_chunk(specs: list[RunSpec]) -> list[RunOutcome]:
    """The task every executor runs: several short runs amortise the per-task overhead."""
    return [run_one(spec) for spec in specs]


class WorkersLost(Exception):
    """Worker processes died; the runs they held did not finish.

    Attributes:
        chunks: the chunks that were in flight on the lost workers.
        retried: whether the executor already retried them (Dask does, three times).
    """

    def __init__(self, chunks: list[list[RunSpec]], retried: bool) -> None:
        super().__init__(chunks, retried)
        self.chunks = chunks
        self.retried = retried


class Executor(ABC):
    """Runs chunks of runs; the runner keeps at most a few chunks per worker in flight."""

    workers: int
    name: str
    task_target_s: float = 0.05
    """Runs are grouped so that a task lasts at least this long: a process pool's
    per-task cost is about a millisecond."""

    @abstractmethod
    def submit(self, chunk: list[RunSpec]) -> None: ...

    @abstractmethod
    def next_done(self) -> list[RunOutcome]:
        """Block until a chunk finishes and return its outcomes (raises WorkersLost)."""

    @property
    @abstractmethod
    def in_flight(self) -> int: ...

    @abstractmethod
    def close(self, cancel: bool = False) -> None:
        """Release the workers; with ``cancel``, stop runs in flight at once."""


class InProcessExecutor(Executor):
    """One worker: this process. Simplest to debug (breakpoints and profilers work)."""

    name = "inprocess"

    def __init__(self) -> None:
        self.workers = 1
        self._queue: deque[list[RunSpec]] = deque()

    def submit(self, chunk: list[RunSpec]) -> None:
        self._queue.append(chunk)

    def next_done(self) -> list[RunOutcome]:
        return run_chunk(self._queue.popleft())

    @property
    def in_flight(self) -> int:
        return len(self._queue)

    def close(self, cancel: bool = False) -> None:
        self._queue.clear()


def _init_worker(runner_pid: int) -> None:
    # Ctrl-C reaches the whole process group; the runner decides what to do about it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_runner, args=(runner_pid,), daemon=True).start()


def _ready() -> None:
    """A task that does nothing: submitting one per worker starts the workers at once."""


def _exit_with_runner(runner_pid: int) -> None:
    """End this worker when the runner is gone (killed: it could not shut the pool down)."""
    while os.getppid() == runner_pid:
        time.sleep(1.0)
    os._exit(1)


def start_method() -> str:
    """``fork`` while this process runs a single thread, else ``spawn``.

    A forked worker starts in milliseconds with twin already imported; a spawned one
    spends a second or two importing it, which is a fifth of a batch of 200 short
    runs on two cores. But ``fork`` is only safe before other threads exist (one could
    hold a lock the child then waits on forever), so a notebook's runner, or a pool
    restarted mid-batch, spawns. macOS and Windows always spawn.
    """
    forkable = sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
    return "fork" if forkable and threading.active_count() == 1 else "spawn"


class ProcessPoolExecutor(Executor):
    """A pool of local worker processes (default: one per core); see :func:`start_method`."""

    name = "process"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._futures: dict[cf.Future[list[RunOutcome]], list[RunSpec]] = {}
        self._unstarted: list[list[RunSpec]] = []
        self._pool = self._start()

    def _start(self) -> cf.ProcessPoolExecutor:
        pool = cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(start_method()),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )
        # Workers start on demand, one per submitted task while none is idle; start
        # them all now, so that the first chunks do not wait for a worker to start.
        for _ in range(self.workers):
            pool.submit(_ready)
        return pool

    def submit(self, chunk: list[RunSpec]) -> None:
        try:
            self._futures[self._pool.submit(run_chunk, chunk)] = chunk
        except cf.process.BrokenProcessPool:
            # A worker died since the last result and the pool refuses new work. This
            # chunk never started, so it is not lost: it waits for the next pool.
            self._unstarted.append(chunk)

    def next_done(self) -> list[RunOutcome]:
        if not self._futures:  # only unstarted chunks: the pool broke with nothing in it
            self._restart()
        done, _ = cf.wait(self._futures, return_when=cf.FIRST_COMPLETED)
        future = next(iter(done))
        chunk = self._futures.pop(future)
        try:
            return future.result()
        except cf.process.BrokenProcessPool:
            # A worker died (killed, out of memory): every chunk in flight is lost with
            # the pool. Start a new pool so the batch can go on.
            lost = [chunk, *self._futures.values()]
            self._futures.clear()
            self._restart()
            raise WorkersLost(lost, retried=False) from None

    def _restart(self) -> None:
        """A new pool in place of a broken one, given the chunks the old one refused."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._start()
        unstarted, self._unstarted = self._unstarted, []
        for chunk in unstarted:
            self.submit(chunk)

    @property
    def in_flight(self) -> int:
        return len(self._futures) + len(self._unstarted)

    def close(self, cancel: bool = False) -> None:
        if cancel:
            # Runs in flight are lost anyway; do not wait minutes for them to end.
            # (ProcessPoolExecutor.terminate_workers() arrives in Python 3.14.)
            processes: dict[Any, multiprocessing.Process] = getattr(self._pool, "_processes", {})
            for process in list(processes.values()):
                process.terminate()
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
        self._futures.clear()
        self._unstarted.clear()


QUIET_WORKERS = {
    # The statistical profiler samples every worker thread's stack every 10 ms, taking
    # the GIL from the run each time; a batch of simulations has no use for it.
    "distributed.worker.profile.enabled": False,
    # psutil samples of CPU, memory and disk every 0.5 s, per worker and nanny.
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.system-monitor.disk": False,
    "distributed.worker.memory.monitor-interval": "1s",
}
"""Settings of the local cluster's workers (passed on by each nanny): on a laptop they
share the cores with the runs, so monitors that help a data-science session only slow a
simulation batch down. A cluster named by --scheduler keeps its own settings."""


class DaskExecutor(Executor):
    """A ``dask.distributed`` cluster: a scheduler address, or a local cluster on loopback."""

    name = "dask"
    task_target_s = 0.5
    """A Dask task costs several milliseconds of scheduler, client and worker time, spent on
    the same cores as the runs on a laptop; Dask's guidance is tasks of 100 ms or more.
    The tail stays balanced: near the end, chunks shrink to leave work for every worker."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None) -> None:
        try:
            import dask
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise UserError(
                "the dask executor needs dask.distributed: pip install 'twin[dask]'"
            ) from None
        self._cluster: Any = None
        if scheduler is None:
            n = workers or os.cpu_count() or 1
            # Loopback only (scheduler, workers and the HTTP status pages): nothing listens
            # beyond this machine, and a random port never collides with another cluster.
            with dask.config.set(QUIET_WORKERS):
                self._cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",
                )
            self._client = Client(self._cluster)
        else:
            check_scheduler_address(scheduler)
            try:
                self._client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as error:
                raise UserError(
                    f"dask scheduler {scheduler} did not answer within {CONNECT_TIMEOUT_S:.0f} s "
                    f"({type(error).__name__}); check the address and that it is running"
                ) from None
        self.workers = workers or max(1, len(self._client.scheduler_info()["workers"]))
        self._chunks: dict[str, tuple[Any, list[RunSpec]]] = {}

    def submit(self, chunk: list[RunSpec]) -> None:
        future = self._client.submit(run_chunk, chunk, pure=False)
        self._chunks[future.key] = (future, chunk)

    def next_done(self) -> list[RunOutcome]:
        from distributed import KilledWorker, wait

        futures = [future for future, _ in self._chunks.values()]
        without_workers_since: float | None = None
        while True:
            try:
                done, _ = wait(futures, timeout=POLL_S, return_when="FIRST_COMPLETED")
                break
            except TimeoutError:
                without_workers_since = self._check_workers(without_workers_since)
        future = min(done, key=lambda f: str(f.key))
        chunk = self._chunks[future.key][1]
        without_workers_since = None
        while True:
            try:
                # A finished task's result lives on its worker: if the worker left before
                # the result was fetched, the task runs again, or waits for a worker.
                outcomes: list[RunOutcome] = future.result(timeout=POLL_S)
                break
            except TimeoutError:
                without_workers_since = self._check_workers(without_workers_since)
            except KilledWorker:
                # Dask already rescheduled this task after each lost worker; it gave up.
                del self._chunks[future.key]
                raise WorkersLost([chunk], retried=True) from None
        del self._chunks[future.key]
        return outcomes

    def _check_workers(self, without_workers_since: float | None) -> float | None:
        """Since when the cluster has had no workers (None: it has some now); raises once
        that is longer than :data:`NO_WORKERS_S`: tasks wait for workers forever, and a
        cluster that lost them all must not leave the runner waiting with it."""
        if self._client.scheduler_info()["workers"]:
            return None
        if without_workers_since is None:
            return time.monotonic()
        if time.monotonic() - without_workers_since > NO_WORKERS_S:
            raise UserError(
                f"the Dask cluster has had no workers for {NO_WORKERS_S:.0f} s; "
                "finished runs are kept: run the same command again to resume"
            ) from None
        return without_workers_since

    @property
    def in_flight(self) -> int:
        return len(self._chunks)

    def close(self, cancel: bool = False) -> None:
        if cancel:
            self._client.cancel([future for future, _ in self._chunks.values()], force=True)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._chunks.clear()


def make_executor(kind: str, workers: int | None, scheduler: str | None) -> Executor:
    """The executor ``kind``; a scheduler address implies Dask."""
    if scheduler is not None or kind == "dask":
        return DaskExecutor(scheduler, workers)
    if kind == "inprocess" or workers == 1:
        return InProcessExecutor()
    return ProcessPoolExecutor(workers)
