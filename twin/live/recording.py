"""Record every message a shadow session receives, so that the session can be replayed
exactly (:func:`replay`).

A recording is a directory of small Parquet files, ``part-00000.parquet``,
``part-00001.parquet``, ... one per flush. A Parquet file is readable only once its
footer is written, at close; one ParquetWriter kept open for a whole session would leave
nothing readable if the process were killed. Each part is written whole under a temporary
name and renamed into place, so a kill loses at most the messages not yet flushed (fewer
than ``flush_every``, or ``flush_after_s`` of them), never a part.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from twin.core.errors import UserError

SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("wall_time_s", pa.float64(), nullable=False),
        pa.field("topic", pa.string(), nullable=False),
        pa.field("payload", pa.binary(), nullable=False),
        # How many readings the intake accepted from it; null when not a readings message.
        pa.field("accepted", pa.int32()),
    ]
)
_PART = "part-{:05d}.parquet"


class Recorder:
    """Appends received messages to a recording directory.

    Args:
        path: the directory; created, and must not hold a recording already.
        flush_every: write a part every this many messages.
        flush_after_s: also write one when the oldest unwritten message is this old (wall
            clock, checked at each :meth:`record`): a slow stream is not held back long.
    """

    def __init__(
        self, path: str | Path, *, flush_every: int = 1000, flush_after_s: float = 10.0
    ) -> None:
        if flush_every < 1:
            raise UserError(f"Recorder: flush_every must be >= 1, not {flush_every}")
        self.path = Path(path)
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise UserError(f"{self.path}: exists and is not an empty directory; record elsewhere")
        self.path.mkdir(parents=True, exist_ok=True)
        self._flush_every = flush_every
        self._flush_after_s = flush_after_s
        self._rows: dict[str, list[object]] = {name: [] for name in SCHEMA.names}
        self._oldest_s: float | None = None
        self._seq = 0
        self._parts = 0
        self._closed = False

    @property
    def recorded(self) -> int:
        """How many messages were recorded (flushed or not)."""
        return self._seq

    def record(self, topic: str, payload: bytes, accepted: int | None = None) -> int:
        """Record one received message; returns its sequence number (0, 1, ...)."""
        if self._closed:
            raise UserError(f"{self.path}: the recorder is closed")
        now = time.time()
        seq = self._seq
        self._seq += 1
        for name, value in zip(
            SCHEMA.names, (seq, now, topic, bytes(payload), accepted), strict=True
        ):
            self._rows[name].append(value)
        if self._oldest_s is None:
            self._oldest_s = time.monotonic()
        pending = len(self._rows["seq"])
        if pending >= self._flush_every or time.monotonic() - self._oldest_s >= self._flush_after_s:
            self.flush()
        return seq

    def flush(self) -> None:
        """Write the unwritten messages as one more part (nothing if there are none)."""
        if not self._rows["seq"]:
            return
        table = pa.table(self._rows, schema=SCHEMA)
        final = self.path / _PART.format(self._parts)
        # A leading dot: pandas and pyarrow skip it when reading the directory whole.
        partial = final.with_name(f".{final.name}.tmp")
        pq.write_table(table, partial)
        os.replace(partial, final)  # atomic: a reader sees the whole part or none
        self._parts += 1
        self._rows = {name: [] for name in SCHEMA.names}
        self._oldest_s = None

    def close(self) -> None:
        """Flush; the recorder takes no more messages."""
        if not self._closed:
            self.flush()
            self._closed = True

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_recording(path: str | Path) -> pa.Table:
    """Every flushed message of a recording, in the order received (by ``seq``)."""
    directory = Path(path)
    # By (length, name): part-100000 comes after part-99999.
    parts = sorted(directory.glob("part-*.parquet"), key=lambda part: (len(part.name), part.name))
    if not directory.is_dir() or not parts:
        raise UserError(f"{directory}: not a recording (no part-*.parquet files)")
    # ParquetFile.read, not read_table: the dataset layer took 4x as long on small parts.
    table = pa.concat_tables([pq.ParquetFile(part).read() for part in parts]).cast(SCHEMA)
    seq = table.column("seq").to_numpy()
    if (seq[1:] > seq[:-1]).all():  # written in order: spare a copy of every payload
        return table
    return table.sort_by("seq")


def replay(path: str | Path) -> Iterator[tuple[str, bytes]]:
    """The recorded ``(topic, payload)`` messages, in the order they were received."""
    table = read_recording(path)  # here, not at the first next(): a bad path fails now
    topics = table.column("topic").to_pylist()
    payloads = table.column("payload").to_pylist()
    return zip(topics, payloads, strict=True)
