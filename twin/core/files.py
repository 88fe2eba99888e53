"""Writing result files so that a reader (or a resumed run) never sees half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path``: readers see the old file or the new one, never a part.

    The data is flushed to disk before the rename, so a machine that loses power right
    after still has one whole version.
    """
    descriptor, staging = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(staging, 0o666 & ~current_umask())  # mkstemp makes it private
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def write_parquet_atomically(frame: pd.DataFrame, path: Path) -> None:
    """``frame.to_parquet(path)`` (without the index), atomically."""
    with staged(path) as staging:
        frame.to_parquet(staging, index=False)


@contextmanager
def staged(path: Path) -> Iterator[Path]:
    """A file beside ``path`` for a writer that wants a path (Pillow, ffmpeg, parquet):
    renamed onto ``path`` when the block ends, removed if it raises. It ends in
    ``path``'s own name, so tools that go by the suffix see the right one.
    """
    descriptor, name = tempfile.mkstemp(prefix=".tmp-", suffix=f"-{path.name}", dir=path.parent)
    os.close(descriptor)
    staging = Path(name)
    try:
        yield staging
        os.chmod(staging, 0o666 & ~current_umask())  # mkstemp makes it private
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is restored)."""
    current = os.umask(0)
    os.umask(current)
    return current
