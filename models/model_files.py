"""Learned models as plain JSON files: written atomically, read without running code.

Every learned policy in ``models/`` stores its model this way (never a pickle: a file
from a user's path must not be able to execute anything when it loads).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from twin.core.config import check_nesting
from twin.core.errors import ConfigError, UserError
from twin.core.files import TooLargeError, read_capped, write_atomically

# The largest learned model twin writes is a few hundred kilobytes; 64 MB is far above
# any and far below a file that would exhaust memory.
MAX_MODEL_BYTES = 64_000_000


class ModelFileError(UserError):
    """A model file that is missing, unreadable or not a valid model."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path = path
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def save_json_model(path: str | Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON; a crash never leaves half a file."""
    write_atomically(Path(path), json.dumps(data, indent=2, allow_nan=False) + "\n")


def read_json_model(path: str | Path) -> tuple[Any, str]:
    """The parsed JSON of a model file and the SHA-256 of its bytes (for provenance).

    Raises:
        ModelFileError: the file is missing, unreadable or not JSON (one line).
    """
    where = str(path)
    try:
        raw = read_capped(path, MAX_MODEL_BYTES)
    except FileNotFoundError:
        raise ModelFileError(where, "model file not found") from None
    except OSError as error:
        raise ModelFileError(where, f"cannot read model file: {error.strerror}") from None
    except TooLargeError as error:
        raise ModelFileError(where, f"not a model file: {error}") from None
    try:
        check_nesting(raw.decode("utf-8"), where)
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(where, f"not a JSON model file: {error}") from None
    except ConfigError:
        raise ModelFileError(where, "not a model file (nested too deeply)") from None
    return data, hashlib.sha256(raw).hexdigest()
