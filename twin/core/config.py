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

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo

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


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a one-line :class:`ConfigError`."""
    source = str(path)
    file = Path(path)
    if not file.exists():
        raise ConfigError(source, "", "no such file")
    if not file.is_file():
        raise ConfigError(source, "", "not a file (a TOML config file is expected)")
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, "", f"malformed TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(source, "", f"cannot read: {error}") from None


def load_run_config(path: str | Path) -> RunConfig:
    """Read and validate a run config (structure only; ids are checked when resolved)."""
    return parse_run_config(read_toml(path), str(path))


def parse_run_config(data: dict[str, Any], source: str) -> RunConfig:
    """Validate a run config given as a mapping (from a file or the command line)."""
    try:
        return RunConfig.model_validate(data)
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
    return str(kind.default) if kind is not None else None


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
