"""The report as neutral blocks, written once and rendered to both HTML and markdown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False
    significant: bool = False
    verdict: str | None = None
    """"better" or "worse" (coloured apart), "changed" (no better direction) or None."""


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Image:
    name: str
    """File name under ``figures/``."""
    caption: str
    png: bytes


@dataclass(frozen=True)
class Code:
    text: str
    language: str


Block: TypeAlias = Heading | Paragraph | Table | Image | Code
