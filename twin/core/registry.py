"""Find scenarios, policies and domains by id, entry point or ``package.module:Class``.

Our own scenarios, policies and domains are registered through the same entry-point
groups a third-party package uses (``twin.scenarios``, ``twin.policies``,
``twin.domains``), so the core never imports a domain or a model and a user's package
needs no change to twin.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from twin.core.domain import Domain
from twin.core.errors import UserError
from twin.core.policy import BasePolicy, Policy
from twin.core.scenario import Scenario

SCENARIO_GROUP = "twin.scenarios"
POLICY_GROUP = "twin.policies"
DOMAIN_GROUP = "twin.domains"
DOMAIN_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_.-]*)*-v\d+$")
REFERENCE_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

T = TypeVar("T")


class UnknownIdError(UserError):
    """An id that names no registered scenario or policy."""


@dataclass(frozen=True)
class Entry:
    """One registered scenario or policy class, and where it came from."""

    id: str
    cls: type[Any]
    origin: str

    @property
    def description(self) -> str:
        text = getattr(self.cls, "description", "") or (self.cls.__doc__ or "")
        return text.strip().splitlines()[0] if text.strip() else ""


class Registry:
    """Scenarios and policies by id.

    An entry point is loaded when its id is first looked up; all of them only when a
    listing is asked for or an id is unknown.
    ``register_*`` adds classes directly (notebooks, tests, ad-hoc experiments).
    """

    def __init__(self, *, discover: bool = True) -> None:
        self._discover = discover
        self._loaded = False
        self._scenarios: dict[str, Entry] = {}
        self._policies: dict[str, Entry] = {}
        self._domains: dict[str, Domain[Any]] = {}
        self._domains_loaded = False
        self.broken: dict[str, str] = {}

    def register_scenario(self, cls: type[Scenario[Any]], origin: str = "python") -> None:
        self._register(self._scenarios, cls, origin, "scenario")

    def register_policy(self, cls: type[Any], origin: str = "python") -> None:
        self._register(self._policies, cls, origin, "policy")

    def scenario(self, ref: str) -> type[Scenario[Any]]:
        """The scenario class for an id or a ``package.module:Class`` reference."""
        return self._lookup(self._scenarios, ref, "scenario", _is_scenario)

    def policy(self, ref: str) -> type[Any]:
        """The policy class for an id or a ``package.module:Class`` reference."""
        return self._lookup(self._policies, ref, "policy", _is_policy)

    def register_domain(self, domain: Domain[Any], origin: str = "python") -> None:
        """Add a domain (a notebook's, a test's); its name must be new."""
        if not isinstance(domain, Domain):
            raise ValueError(f"{origin} is a {type(domain).__name__}, not a twin Domain")
        if not DOMAIN_NAME_PATTERN.match(domain.name):
            raise ValueError(f"domain name {domain.name!r} is not a lower-case identifier")
        existing = self._domains.get(domain.name)
        if existing is not None and existing is not domain:
            raise ValueError(f"domain {domain.name!r} is registered twice (again by {origin})")
        self._domains[domain.name] = domain

    def domains(self) -> list[Domain[Any]]:
        """Every registered domain, by name."""
        if self._discover and not self._domains_loaded:
            self._domains_loaded = True
            for point in entry_points(group=DOMAIN_GROUP):
                origin = f"entry point {point.name!r} ({point.value})"
                try:
                    domain = point.load()
                    if getattr(domain, "name", None) != point.name:
                        raise ValueError(
                            f"domain name {getattr(domain, 'name', None)!r} differs from its "
                            "entry point's name"
                        )
                    self.register_domain(domain, origin)
                except Exception as error:  # a broken plug-in must not break the others
                    self.broken[f"domain {point.name}"] = f"{origin} failed to load: {error}"
        return [self._domains[name] for name in sorted(self._domains)]

    def domain(self, name: str) -> Domain[Any]:
        """The domain called ``name`` or owning the decision area ``name``
        (``"factory"``, ``"factory.maintenance"``, a scenario's or policy's ``domain``)."""
        for domain in self.domains():
            if domain.owns(name):
                return domain
        known = ", ".join(d.name for d in self.domains()) or "none"
        raise UnknownIdError(f"no registered domain owns {name!r}; registered: {known}")

    def scenarios(self) -> list[Entry]:
        self._load()
        return sorted(self._scenarios.values(), key=lambda e: e.id)

    def policies(self) -> list[Entry]:
        self._load()
        return sorted(self._policies.values(), key=lambda e: e.id)

    # -- internals ------------------------------------------------------------------
    def _register(self, table: dict[str, Entry], cls: type[Any], origin: str, kind: str) -> None:
        ident = getattr(cls, "id", None)
        if not isinstance(ident, str) or not ID_PATTERN.match(ident):
            raise ValueError(
                f"{kind} {cls.__qualname__} has id {ident!r}; an id looks like 'area/name-v0'"
            )
        existing = table.get(ident)
        if existing is not None and existing.cls is not cls:
            raise ValueError(
                f"{kind} id {ident!r} is registered twice: by {existing.origin} and {origin}"
            )
        table[ident] = Entry(ident, cls, origin)

    def _load(self) -> None:
        if self._loaded or not self._discover:
            return
        self._loaded = True
        for group, table, kind in (
            (SCENARIO_GROUP, self._scenarios, "scenario"),
            (POLICY_GROUP, self._policies, "policy"),
        ):
            for point in entry_points(group=group):
                self._load_entry_point(point, table, kind)

    def _load_entry_point(self, point: EntryPoint, table: dict[str, Entry], kind: str) -> None:
        origin = f"entry point {point.name!r} ({point.value})"
        try:
            cls = point.load()
            if getattr(cls, "id", None) != point.name:
                raise ValueError(f"class id {getattr(cls, 'id', None)!r} differs from its name")
            self._register(table, cls, origin, kind)
        except Exception as error:  # a broken plug-in must not break the others
            self.broken[point.name] = f"{origin} failed to load: {error}"

    def _lookup(
        self,
        table: dict[str, Entry],
        ref: str,
        kind: str,
        accepts: Callable[[type[Any]], bool],
    ) -> type[Any]:
        if REFERENCE_PATTERN.match(ref):
            cls = _import_reference(ref, kind)
            if not accepts(cls):
                raise UnknownIdError(f"{ref!r} is not a {kind} class")
            return cls
        if ref not in table and self._discover:
            # Only the plug-in asked for: importing every installed one costs seconds.
            group = SCENARIO_GROUP if kind == "scenario" else POLICY_GROUP
            for point in entry_points(group=group, name=ref):
                self._load_entry_point(point, table, kind)
        if ref not in table:
            self._load()
        entry = table.get(ref)
        if entry is None:
            if ref in self.broken:
                raise UnknownIdError(self.broken[ref])
            known = ", ".join(sorted(table)) or "none"
            raise UnknownIdError(
                f"unknown {kind} {ref!r}; known: {known} (or a 'package.module:Class' reference)"
            )
        return entry.cls


def replay_command(arguments: list[str]) -> str:
    """The shell line that runs ``arguments`` again as this process ran: a
    ``module:Class`` reference found through ``PYTHONPATH`` (``PYTHONPATH=. twin run
    --policy my_rule:Mine``) fails with "No module named" when pasted without it."""
    line = shlex.join(arguments)
    path = os.environ.get("PYTHONPATH")
    return f"PYTHONPATH={shlex.quote(path)} {line}" if path else line


REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
"""A ``package.module:Class`` reference to a plug-in outside the registry."""


def plugin_sources(payload: Any) -> dict[str, str]:
    """A digest of the source file of every plug-in module a config names by
    ``package.module:Class`` (in any value, at any depth) and that is imported now,
    by module name: results made by a plug-in whose file changed since are not results
    of this plug-in. twin's own modules are left out (its version and commit say
    those), as are modules without a source file.
    """
    found: dict[str, str] = {}
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
        elif isinstance(value, str) and REFERENCE.fullmatch(value):
            name = value.partition(":")[0]
            module = sys.modules.get(name)
            file = getattr(module, "__file__", None)
            if name.split(".")[0] == "twin" or file is None or not os.path.isfile(file):
                continue
            with open(file, "rb") as source:
                found[name] = hashlib.sha256(source.read()).hexdigest()
    return dict(sorted(found.items()))


def _import_reference(ref: str, kind: str) -> type[Any]:
    module_name, _, attribute = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UnknownIdError(f"cannot import {kind} module {module_name!r}: {error}") from None
    try:
        cls: type[Any] = getattr(module, attribute)
    except AttributeError:
        raise UnknownIdError(f"module {module_name!r} has no {kind} {attribute!r}") from None
    return cls


def _is_scenario(cls: type[Any]) -> bool:
    return isinstance(cls, type) and issubclass(cls, Scenario)


def _is_policy(cls: type[Any]) -> bool:
    return isinstance(cls, type) and (
        issubclass(cls, BasePolicy)
        or (callable(getattr(cls, "act", None)) and callable(getattr(cls, "reset", None)))
    )


def make_policy(cls: type[Any], params: dict[str, Any]) -> Policy[Any, Any]:
    """Instantiate a policy class with its validated ``Params`` (or none)."""
    params_model = getattr(cls, "Params", None)
    if params_model is not None:
        policy: Policy[Any, Any] = cls(params_model.model_validate(params))
        return policy
    if params:
        raise ValueError(f"policy {cls.__qualname__} takes no parameters, got {sorted(params)}")
    plain: Policy[Any, Any] = cls()
    return plain
