"""Run configs: TOML -> frozen pydantic models, and user errors as one clear line.

A run config names a scenario (with its parameters and horizon), a policy (with its
parameters) and a seed::

    seed = 42

    [scenario]
    id = "station/mmc-v0"
    horizon_s = 86400
    warmup_s = 3600

    [scenario.params]
    servers = 2

    [policy]
    id = "admission/admit-all-v0"
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo
from pydantic_core import InitErrorDetails

from twin.core.errors import ConfigError
from twin.core.scenario import ScenarioConfig


class PolicyRef(BaseModel):
    """Which policy to run: a registered id or ``package.module:Class``, and its params."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="registered policy id or 'package.module:Class'")
    params: dict[str, Any] = Field(default_factory=dict)


class RunConfig(BaseModel):
    """One scenario, one policy, one seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, ge=0, lt=2**63, description="root seed of every stream")
    scenario: ScenarioConfig
    policy: PolicyRef | None = Field(
        default=None, description="the scenario's default policy when omitted"
    )


# Limits on what a config may hold. A config is a page of settings: a megabyte or 32
# levels of nesting is far beyond any real one, and checking them before parsing keeps
# a hostile file from exhausting memory or the parser's recursion.
MAX_INPUT_BYTES = 1_000_000
MAX_NESTING = 32
# No quantity in a twin input (seconds, kW, prices, rates) is meaningful beyond 1e15;
# larger ones overflow to inf in sums (1e308 kW x 1 h) or never finish (a horizon).
MAX_MAGNITUDE = 1e15
MAX_INTEGER = 2**63  # seeds use all 63 bits


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a one-line :class:`ConfigError`.

    The file is refused before parsing when it is larger than ``MAX_INPUT_BYTES`` or
    nested deeper than ``MAX_NESTING``.
    """
    source = str(path)
    file = Path(path)
    try:
        if not file.exists():
            raise ConfigError(source, "", "no such file")
        if not file.is_file():
            raise ConfigError(source, "", "not a file (a TOML config file is expected)")
        with file.open("rb") as handle:
            raw = handle.read(MAX_INPUT_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeError, ValueError) as error:
        # ValueError: a name the file system cannot take (an embedded NUL, say).
        raise ConfigError(source, "", f"cannot read: {error}") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise ConfigError(source, "", f"larger than {MAX_INPUT_BYTES} bytes; not a config file")
    check_nesting(text, source)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, "", f"malformed TOML: {error}") from None


def check_nesting(text: str, source: str, key_path: str = "") -> None:
    """Refuse ``text`` (TOML or JSON) whose brackets nest deeper than ``MAX_NESTING``.

    Brackets inside strings are counted too: a cheap over-estimate that only a config
    with dozens of unbalanced brackets in one string would notice.
    """
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    if deepest > MAX_NESTING:
        raise ConfigError(
            source, key_path, f"nested {deepest} levels deep; at most {MAX_NESTING} are allowed"
        )


def check_numbers(data: Any, source: str, prefix: Sequence[str | int] = ()) -> None:
    """Refuse any number in ``data`` that is not finite or whose magnitude is beyond
    ``MAX_MAGNITUDE`` (integers: ``MAX_INTEGER``), naming its key path."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, tuple(prefix))]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            stack.extend((item, (*path, str(key))) for key, item in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(source, _dotted(path), f"must be a finite number, got {value}")
        elif isinstance(value, float) and abs(value) > MAX_MAGNITUDE:
            raise ConfigError(
                source, _dotted(path), f"{value:g} is too large; at most {MAX_MAGNITUDE:g} in size"
            )
        elif isinstance(value, int) and abs(value) >= MAX_INTEGER:
            raise ConfigError(
                source, _dotted(path), f"{value} is too large; integers are below 2**63"
            )


def _dotted(path: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in path)


ModelT = TypeVar("ModelT", bound=BaseModel)


def validate_strictly(model: type[ModelT], data: Any, context: Any = None) -> ModelT:
    """``model`` from ``data`` with no coercion: ``"yes"`` is not a bool, ``true`` not a
    number, ``"3"`` or ``3.0`` not an integer.

    Validated as usual first (so real mistakes are reported as before), then again as
    JSON in pydantic's strict mode, which still takes a list for a tuple, a string for a
    path or an enum and an integer for a float, as TOML and JSON write them; of its
    complaints only the coercions count, since a ``mode="before"`` validator that
    rewrites its input sends plain Python data on (a list where a tuple is due).
    """
    result = model.model_validate(data, context=context)
    text = json.dumps(data, default=_plain)
    try:
        model.model_validate_json(text, strict=True, context=context)
    except ValidationError as error:
        coerced: list[InitErrorDetails] = [
            {"type": problem["type"], "loc": problem["loc"], "input": problem["input"]}
            for problem in error.errors()
            if problem["type"] in _COERCIONS
        ]
        if coerced:
            raise ValidationError.from_exception_data(error.title, coerced) from None
    return result


def _plain(value: Any) -> Any:
    """JSON's form of what a caller in Python may pass: NumPy scalars and arrays as the
    numbers they hold; anything else (a model instance, a date) as text, which strict
    mode then reports as a wrong type that is not a coercion, so it is ignored."""
    for method in ("item", "tolist"):
        convert = getattr(value, method, None)
        if callable(convert):
            try:
                return convert()
            except (TypeError, ValueError):
                break
    return str(value)


# What strict mode refuses that lax mode would have converted.
_COERCIONS = frozenset({"bool_type", "int_type", "float_type", "string_type"})


def load_run_config(path: str | Path) -> RunConfig:
    """Read and validate a run config (structure only; ids are checked when resolved)."""
    return parse_run_config(read_toml(path), str(path))


def parse_run_config(data: dict[str, Any], source: str) -> RunConfig:
    """Validate a run config given as a mapping (from a file or the command line)."""
    check_numbers(data, source)
    try:
        return validate_strictly(RunConfig, data)
    except ValidationError as error:
        raise validation_error_to_config_error(error, source, model=RunConfig) from None


def validation_error_to_config_error(
    error: ValidationError,
    source: str,
    prefix: Sequence[str | int] = (),
    model: type[BaseModel] | None = None,
) -> ConfigError:
    """The first problem of a pydantic error as a :class:`ConfigError`.

    One line is the contract, so only the first problem is reported; fixing it and
    validating again shows the next. ``model`` is the model that was validated; with it
    an unknown key is reported with the keys that are allowed there.
    """
    first = error.errors(include_url=False)[0]
    path, model_there = _walk(model, first["loc"])
    location = [*prefix, *path]
    kind = first["type"]
    if kind == "extra_forbidden":
        parent = ".".join(str(part) for part in location[:-1])
        allowed = sorted(model_there.model_fields) if model_there is not None else []
        problem = f"unknown key {location[-1]!r}"
        if allowed:
            problem += f"; allowed: {', '.join(allowed)}"
        return ConfigError(source, parent, problem)
    key_path = ".".join(str(part) for part in location)
    if kind == "missing":
        return ConfigError(source, key_path, "required key is missing")
    return ConfigError(source, key_path, f"{first['msg']} (got {first.get('input')!r})")


def _walk(
    model: type[BaseModel] | None, loc: Sequence[str | int]
) -> tuple[list[str | int], type[BaseModel] | None]:
    """Follow ``loc`` through nested models, dropping tagged-union tags from the path.

    Returns the path as the user wrote it and the model that holds its last key.
    """
    path: list[str | int] = []
    current: type[BaseModel] | None = model
    holder: type[BaseModel] | None = model
    parts = list(loc)
    index = 0
    while index < len(parts):
        part = parts[index]
        path.append(part)
        holder = current
        field = current.model_fields.get(str(part)) if current is not None else None
        current = None
        if field is not None:
            members = _model_members(field.annotation)
            if len(members) == 1:
                current = members[0]
            elif members and index + 1 < len(parts):
                tagged = {_tag(m): m for m in members}
                if parts[index + 1] in tagged:
                    current = tagged[str(parts[index + 1])]
                    index += 1  # the tag is pydantic's, not a key of the user's file
        index += 1
    return path, holder if path else model


def _model_members(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    members: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        members.extend(_model_members(arg))
    return members


def _tag(model: type[BaseModel]) -> str | None:
    kind = model.model_fields.get("kind")
    if kind is None:
        return None
    # A required tag (``kind: Literal["grid"]``) has no default: its one literal is the tag.
    choices = get_args(kind.annotation)
    return str(choices[0]) if len(choices) == 1 else str(kind.default)


def policy_in_params(reference: str, info: ValidationInfo, area: str) -> type[Any]:
    """The class of a second policy a scenario's params name (an AGV dispatcher, a
    transport rule), looked up in the registry the params are validated against
    (``model_validate(..., context={"registry": registry})``, what ``build_scenario``
    passes), else the installed entry points.

    Raises:
        ValueError: unknown id, or a policy of another decision area (pydantic reports it
            against the field, like any other mistake in the config).
    """
    from twin.core.registry import Registry, UnknownIdError

    context = info.context
    registry = context.get("registry") if isinstance(context, dict) else None
    if not isinstance(registry, Registry):
        from twin.core.run import default_registry  # run validates configs: import late

        registry = default_registry()
    try:
        cls = registry.policy(reference)
    except UnknownIdError as error:
        raise ValueError(str(error)) from None
    domain = getattr(cls, "domain", None)
    if domain != area:
        raise ValueError(f"policy {reference!r} acts in {domain!r}; a {area} policy is needed here")
    return cls
