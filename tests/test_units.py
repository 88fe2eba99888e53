"""Time in twin is in seconds; a config field that is not says so in its name, and is
listed in docs/PARAMETERS.md ("Config fields not in seconds")."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from twin.core.run import default_registry

ROOT = Path(__file__).resolve().parents[1]
NOT_SECONDS = re.compile(r"(_h|_per_h|_per_hour|_days?|_per_day|_per_year|_min|_weeks?|_years?)$")
SECTION = "## Config fields not in seconds"


def models_in(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models a field's type holds (``Shift | None``, ``list[SiteSpec]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for part in typing.get_args(annotation) for model in models_in(part)]


def fields_not_in_seconds() -> set[str]:
    registry = default_registry()
    roots = [entry.cls.Params for entry in registry.scenarios()]
    roots += [p.cls.Params for p in registry.policies() if getattr(p.cls, "Params", None)]
    seen: set[type[BaseModel]] = set()
    named: set[str] = set()
    while roots:
        model = roots.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            if NOT_SECONDS.search(name):
                named.add(f"{model.__name__}.{name}")
            roots += models_in(field.annotation)
    return named


def listed() -> set[str]:
    text = (ROOT / "docs" / "PARAMETERS.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([\w.]+)` \|", section, re.M))


def test_every_config_field_not_in_seconds_is_listed_in_parameters_md():
    assert fields_not_in_seconds() == listed()


def test_the_check_sees_a_field_in_hours():
    class Shift(BaseModel):
        length_h: float = 8.0

    class Params(BaseModel):
        shift: Shift | None = None

    assert [m.__name__ for m in models_in(Params.model_fields["shift"].annotation)] == ["Shift"]
    assert NOT_SECONDS.search("length_h")
    assert not NOT_SECONDS.search("length_s")
