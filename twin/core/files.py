"""Writing result files so that a reader (or a resumed run) never sees half of one."""

from __future__ import annotations

import io
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from twin.core.errors import UserError


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


def check_output_dir(out: Path, option: str = "--out", *, file: bool = False) -> None:
    """Refuse, before any work, a results directory (``file``: a file) that could not be
    written.

    Checks that the name is encodable and within the file system's limits, that no
    existing part of the path is a file, and that a directory can be made where ``out``
    would go (tried with a probe directory that is removed at once: permission bits do
    not tell, since root may write anywhere but /proc and read-only mounts).

    Raises:
        UserError: one line naming ``option``, the path and what is wrong.
    """
    shown = repr(str(out))
    try:
        # Strictly: bytes that are not UTF-8 arrive as surrogates, which os takes
        # but Arrow and JSON writers refuse after the run.
        str(out).encode("utf-8")
    except UnicodeError:
        raise UserError(
            f"{option}: {shown} cannot be encoded as a file name; use other characters"
        ) from None
    absolute = Path(os.path.abspath(out))
    longest = max((len(os.fsencode(part)) for part in absolute.parts), default=0)
    if longest > NAME_MAX or len(os.fsencode(absolute)) > PATH_MAX:
        raise UserError(
            f"{option}: {shown} is too long (at most {NAME_MAX} bytes a name, "
            f"{PATH_MAX} in all); choose a shorter one"
        )
    existing = absolute
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() and not (file and existing == absolute):
        raise UserError(f"{option}: {shown} is under {str(existing)!r}, which is a file")
    if existing == absolute:
        existing = absolute.parent  # out itself is replaced, so its parent must take one
    try:
        Path(tempfile.mkdtemp(prefix=".twin-probe-", dir=existing)).rmdir()
    except OSError as error:
        raise UserError(
            f"{option}: cannot create a directory in {str(existing)!r} ({error.strerror}); "
            "choose a writable place"
        ) from None


# Linux's limits (pathconf would ask the file system, but the path may not exist yet).
NAME_MAX = 255
PATH_MAX = 4096


class TooLargeError(ValueError):
    """A file that is not a regular file, or larger than its reader's cap."""


def read_capped(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refusing one larger than ``limit`` bytes.

    A device or pseudo-file (``/dev/zero``, ``/proc/...``) is refused without reading:
    the first never ends and the second reports a size of 0 whatever it holds.

    Raises:
        OSError: missing or unreadable.
        TooLargeError: not a regular file, or too large (the message says which).
    """
    file = Path(path)
    with file.open("rb") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode) or str(file.resolve()).startswith(("/proc/", "/sys/")):
            raise TooLargeError("not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(f"larger than {limit} bytes")
    return data


MAX_INFLATION_RATIO = 100
"""The most a large compressed archive member may expand (deflate tops out near 1,030:1
on zeros; weights and counts compress about 1.1:1)."""

RATIO_CHECKED_ABOVE_BYTES = 1_000_000
"""Members smaller than this inflate to nothing worth refusing, whatever their ratio (a
small all-zero bias vector compresses well)."""


def read_npz(raw: bytes, limit: int) -> dict[str, npt.NDArray[Any]]:
    """The arrays of the ``.npz`` archive ``raw`` (plain arrays only, nothing pickled),
    refusing an archive that would inflate past ``limit`` bytes before inflating it.

    Every member's declared size, their total and a large member's compression ratio
    are checked against the zip directory first (a zip bomb declares its sizes
    honestly or is refused by them); then each member is read through a reader that
    stops at its declared size, so a lying directory cannot make it read more.

    Raises:
        TooLargeError: it declares more than ``limit`` bytes, or a ratio above
            :data:`MAX_INFLATION_RATIO` (the message says which member).
        ValueError: not a zip archive of ``.npy`` arrays.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as error:
        raise ValueError(f"not an .npz archive ({error})") from None
    with archive:
        members = archive.infolist()
        total = 0
        for member in members:
            total += member.file_size
            if member.file_size > limit or total > limit:
                raise TooLargeError(
                    f"archive member {member.filename!r} would inflate the archive to more "
                    f"than {limit} bytes"
                )
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > RATIO_CHECKED_ABOVE_BYTES and ratio > MAX_INFLATION_RATIO:
                raise TooLargeError(
                    f"archive member {member.filename!r} inflates {ratio:.0f}:1 "
                    f"(at most {MAX_INFLATION_RATIO}:1 is accepted): a zip bomb?"
                )
        arrays = {}
        for member in members:
            name = member.filename.removesuffix(".npy")
            try:
                with archive.open(member) as stream:
                    data = _read_at_most(stream, member.file_size)
                arrays[name] = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
            except (zipfile.BadZipFile, zlib.error, EOFError) as error:
                raise ValueError(f"archive member {member.filename!r}: {error}") from None
    return arrays


def _read_at_most(stream: IO[bytes], size: int, chunk: int = 1 << 20) -> bytes:
    """``size`` bytes of ``stream`` in chunks; more than that is an error, not a read."""
    parts = []
    left = size
    while left > 0:
        part = stream.read(min(chunk, left))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    if stream.read(1):
        raise ValueError(f"archive member is larger than the {size} bytes it declares")
    return b"".join(parts)
