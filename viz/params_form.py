"""A scenario's parameter form, generated from its pydantic ``Params`` model.

:func:`fields_of` reads the model (bounds, choices, descriptions, units) into plain
:class:`ParamField` / :class:`ParamGroup` records; :func:`apply_edit` validates one edit
against the whole model and either returns the new overrides or one line saying why not;
:func:`ParameterForm` is the Solara component that draws both. The first two are pure so
that tests read them without a browser.
"""

from __future__ import annotations

import copy
import enum
import json
import math
import re
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import solara
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

from viz.units import unit_of

Kind = Literal["bool", "int", "float", "choice", "text", "json"]
Path = tuple[str | int, ...]

SLIDER_MAX_SPAN = 1000.0
"""A bounded number gets a slider when its range is at most this wide: a slider moves in
about a hundredth of its range, so on a wider one (1 to 100,000) a typical value sits in
the first notch; those get the number input alone."""


@dataclass(frozen=True)
class ParamField:
    """One editable parameter: where it lives, what it may be, what it means."""

    path: Path
    label: str
    kind: Kind
    value: Any
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: tuple[Any, ...] = ()
    unit: str = ""
    description: str = ""
    slider: bool = False
    step: float | None = None
    """Slider step: 1 for integers, a power of ten near a hundredth of the range for floats."""
    optional: bool = False
    """None is allowed (an empty box); the description usually says what it means."""

    @property
    def dotted(self) -> str:
        return ".".join(str(key) for key in self.path)

    def slider_range(self) -> tuple[float, float]:
        """The slider's ends: the bounds, moved one step inwards where they are exclusive,
        so that no slider position is a value the model rejects."""
        assert self.minimum is not None
        assert self.maximum is not None
        assert self.step is not None
        low = self.minimum + (self.step if self.exclusive_minimum else 0.0)
        high = self.maximum - (self.step if self.exclusive_maximum else 0.0)
        return low, high

    def allowed(self) -> str:
        """What the field accepts, as the ``(allowed: ...)`` part of an error line."""
        if self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(str(choice) for choice in self.choices)
        elif self.kind == "text":
            text = "text"
        elif self.kind == "json":
            text = "JSON"
        else:
            text = ("integer" if self.kind == "int" else "finite number") + self._range()
        return text + (", or empty for none" if self.optional else "")

    def _range(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        low, high = _number(self.minimum), _number(self.maximum)
        if self.minimum is not None and self.maximum is not None:
            below = "<" if self.exclusive_minimum else "<="
            above = "<" if self.exclusive_maximum else "<="
            return f", {low} {below} x {above} {high}{unit}"
        if self.minimum is not None:
            return f", x {'>' if self.exclusive_minimum else '>='} {low}{unit}"
        if self.maximum is not None:
            return f", x {'<' if self.exclusive_maximum else '<='} {high}{unit}"
        return ""


@dataclass(frozen=True)
class ParamGroup:
    """A nested model of the parameters, drawn as one collapsible section."""

    path: Path
    label: str
    description: str
    fields: tuple[ParamField | ParamGroup, ...]

    @property
    def dotted(self) -> str:
        return ".".join(str(key) for key in self.path)


@dataclass(frozen=True)
class EditResult:
    """The overrides after an edit, or the old ones and why the edit was refused."""

    overrides: dict[str, Any]
    error: str | None = None


# -- reading the model ------------------------------------------------------------------


def fields_of(model_cls: type[BaseModel], values: dict[str, Any]) -> list[ParamField | ParamGroup]:
    """The form's fields for ``model_cls``, showing ``values`` (resolved params, JSON types).

    A field missing from ``values`` shows its default: the value the scenario takes when
    nothing overrides it (which, for nested models, can differ from the nested class's
    own field default: a 10x10 city's grid has 10 rows, a GridSpec 4).
    """
    return _fields(model_cls, (), values, _defaults(model_cls))


def _fields(
    model_cls: type[BaseModel], prefix: Path, values: Any, defaults: Any
) -> list[ParamField | ParamGroup]:
    items: list[ParamField | ParamGroup] = []
    for name, info in model_cls.model_fields.items():
        path = (*prefix, name)
        value = _get(values, (name,), _get(defaults, (name,), _field_default(info)))
        default = _get(defaults, (name,), _field_default(info))
        annotation, optional = _unwrap(info.annotation)
        if _is_model(annotation) and not optional:
            items.append(
                ParamGroup(
                    path=path,
                    label=name,
                    description=info.description or _first_paragraph(annotation.__doc__),
                    fields=tuple(_fields(annotation, path, value, default)),
                )
            )
        else:
            items.append(_describe(path, name, info, value, default))
    return items


def _describe(path: Path, name: str, info: FieldInfo, value: Any, default: Any) -> ParamField:
    annotation, optional = _unwrap(info.annotation)
    kind, choices = _kind(annotation)
    bounds: dict[str, float] = {}
    for constraint in info.metadata:
        for key in ("ge", "gt", "le", "lt"):
            bound = getattr(constraint, key, None)
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                bounds[key] = float(bound)
    minimum = bounds.get("gt", bounds.get("ge"))
    maximum = bounds.get("lt", bounds.get("le"))
    step = None
    if kind in ("int", "float") and minimum is not None and maximum is not None:
        step = 1.0 if kind == "int" else _float_step(maximum - minimum)
    slider = step is not None and 0 < (maximum or 0) - (minimum or 0) <= SLIDER_MAX_SPAN
    description = info.description or ""
    return ParamField(
        path=path,
        label=name,
        kind=kind,
        value=value,
        default=default,
        minimum=minimum,
        maximum=maximum,
        exclusive_minimum="gt" in bounds,
        exclusive_maximum="lt" in bounds,
        choices=choices,
        unit=unit_of(name, description, info.json_schema_extra),
        description=description,
        slider=slider,
        step=step,
        optional=optional,
    )


def _kind(annotation: Any) -> tuple[Kind, tuple[Any, ...]]:
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if annotation is str:
        return "text", ()
    if get_origin(annotation) is Literal:
        return "choice", get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "choice", tuple(member.value for member in annotation)
    return "json", ()


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); Annotated[X, ...] -> X; anything else as it is."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        optional = len(args) < len(get_args(annotation))
        if len(args) == 1:
            inner, _ = _unwrap(args[0])
            return inner, optional
        return annotation, optional
    return annotation, False


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _defaults(model_cls: type[BaseModel]) -> dict[str, Any]:
    """The scenario's own defaults, or nothing when the model needs inputs (a SUMO net)."""
    try:
        return dict(model_cls.model_validate({}).model_dump(mode="json"))
    except ValidationError:
        return {}


def _field_default(info: FieldInfo) -> Any:
    try:
        default = info.get_default(call_default_factory=True, validated_data={})
    except (TypeError, ValueError, KeyError):
        return None
    if default is PydanticUndefined:
        return None
    if isinstance(default, BaseModel):
        return default.model_dump(mode="json")
    return to_jsonable_python(default)


def _first_paragraph(doc: str | None) -> str:
    line = " ".join((doc or "").strip().split("\n\n", 1)[0].split())
    return re.sub(r":\w+:`~?([^`]*)`", r"\1", line)  # Sphinx roles read as plain names


def _float_step(span: float) -> float:
    # A power of ten near a hundredth of the range: 0.01 for [0, 1], 0.1 for [0, 40].
    return float(10.0 ** math.floor(math.log10(span / 100.0))) if span > 0 else 1.0


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


# -- editing ------------------------------------------------------------------------------


class _Rejected(ValueError):
    """A raw value that does not parse as the field's kind (message without the path)."""


def apply_edit(
    model_cls: type[BaseModel], overrides: dict[str, Any], path: Path, raw: Any
) -> EditResult:
    """Set ``raw`` at ``path`` in a copy of ``overrides`` and validate the whole params.

    ``raw`` is what the widget gives: text from a box (parsed here as the field's kind,
    so "abc" or "true" never reach pydantic's lenient coercion), a number from a slider,
    a bool from a checkbox, JSON text for the fields edited as JSON. On success the
    result holds the new overrides; on failure the old ones, unchanged, and one line
    ``"<dotted.path>: <what is wrong> (allowed: <...>)"`` so the caller can show the
    value as rejected while the run keeps the old one.
    """
    field = _field_at(model_cls, path)
    dotted = ".".join(str(key) for key in path)
    if field is None:
        return EditResult(dict(overrides), f"{dotted}: no such parameter")
    try:
        value = _parse(field, raw)
    except _Rejected as reason:
        return EditResult(dict(overrides), f"{dotted}: {reason} (allowed: {field.allowed()})")
    edited = copy.deepcopy(overrides)
    try:
        _set(edited, path, value, _resolved(model_cls, overrides))
        text = json.dumps(edited, allow_nan=False)
    except (_Rejected, LookupError, TypeError, ValueError) as reason:
        return EditResult(dict(overrides), f"{dotted}: {reason} (allowed: {field.allowed()})")
    try:
        # JSON mode, strict: tuples arrive as JSON lists (allowed), strings are never
        # coerced to numbers or bools, and the whole model's validators run.
        model_cls.model_validate_json(text, strict=True)
    except ValidationError as invalid:
        return EditResult(dict(overrides), _one_line(invalid, path, field))
    return EditResult(edited)


def _field_at(model_cls: type[BaseModel], path: Path) -> ParamField | None:
    """The field at ``path``; a path into a JSON-edited field (a list item) is JSON too."""
    model: type[BaseModel] = model_cls
    for depth, key in enumerate(path):
        info = model.model_fields.get(key) if isinstance(key, str) else None
        if info is None or not isinstance(key, str):
            return None
        annotation, optional = _unwrap(info.annotation)
        if depth == len(path) - 1:
            return _describe(path, key, info, None, None)
        if not _is_model(annotation) or optional:
            return ParamField(path=path, label=str(path[-1]), kind="json", value=None)
        model = annotation
    return None


def _parse(field: ParamField, raw: Any) -> Any:
    if isinstance(raw, str):
        raw = raw.strip()
    if field.optional and raw in ("", None):
        return None
    if raw in ("", None) and field.kind != "text":
        raise _Rejected("a value is required")
    if field.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise _Rejected(f"{raw!r} is not true or false")
    if field.kind == "int":
        return _parse_int(raw)
    if field.kind == "float":
        return _parse_float(raw)
    if field.kind == "choice":
        for choice in field.choices:
            if raw == choice or (isinstance(raw, str) and raw == str(choice)):
                return choice
        raise _Rejected(f"{raw!r} is not a choice")
    if field.kind == "text":
        return str(raw)
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise _Rejected(f"not JSON ({error.msg} at character {error.pos})") from None


def _parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise _Rejected(f"{raw!r} is not an integer")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and re.fullmatch(r"[+-]?\d+", raw):
        return int(raw)
    raise _Rejected(f"{raw!r} is not an integer")


def _parse_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise _Rejected(f"{raw!r} is not a number")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        try:
            value = float(str(raw))
        except ValueError:
            raise _Rejected(f"{raw!r} is not a number") from None
    if math.isnan(value):
        raise _Rejected("NaN is not a number")
    if math.isinf(value):
        raise _Rejected(f"{value} is not finite")
    return value


def _no_constant(name: str) -> Any:
    raise _Rejected(f"{name} is not a finite number")


def _resolved(model_cls: type[BaseModel], overrides: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(model_cls.model_validate(overrides).model_dump(mode="json"))
    except ValidationError:
        return _defaults(model_cls)


def _set(target: dict[str, Any], path: Path, value: Any, resolved: Any) -> None:
    """Set ``value`` at ``path``, seeding containers the overrides lack from the resolved
    params, so that editing ``grid.rows`` keeps the scenario's other grid values."""
    node: Any = target
    for depth, key in enumerate(path[:-1]):
        resolved = _get(resolved, (key,), None)
        if isinstance(node, dict) and key not in node:
            node[key] = copy.deepcopy(resolved) if resolved is not None else {}
        node = node[key]
        if node is None:
            raise _Rejected(f"{'.'.join(map(str, path[: depth + 1]))} is not set")
    node[path[-1]] = value


def _get(tree: Any, path: Sequence[str | int], missing: Any) -> Any:
    node = tree
    for key in path:
        in_dict = isinstance(node, dict) and key in node
        in_list = isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node)
        if not (in_dict or in_list):
            return missing
        node = node[key]
    return node


def _one_line(invalid: ValidationError, path: Path, field: ParamField) -> str:
    """The first pydantic error as one line, named by its own location when it has one
    (a cross-field check can blame another field) and by the edited path when not."""
    first = invalid.errors(include_url=False)[0]
    where = ".".join(str(key) for key in first["loc"]) or ".".join(str(key) for key in path)
    what = str(first["msg"]).removeprefix("Value error, ")
    what = what[:1].lower() + what[1:]
    ours = tuple(first["loc"]) in ((), tuple(path))
    if ours and tuple(first["loc"]) == tuple(path):
        what = f"{json.dumps(first['input'])} rejected, {what}"
    line = f"{where}: {what}" + (f" (allowed: {field.allowed()})" if ours else "")
    return " ".join(line.split())


# -- the form -----------------------------------------------------------------------------


@solara.component
def ParameterForm(
    model_cls: type[BaseModel],
    overrides: solara.Reactive[dict[str, Any]],
    on_apply: Callable[[dict[str, Any]], None],
    resolved: dict[str, Any],
) -> None:
    """The scenario's parameters as inputs; edits land in ``overrides`` when valid and
    take effect when "Apply parameters" calls ``on_apply`` with them. ``resolved`` is
    what the running run uses: a field edited but not applied says so."""
    # The page redraws often (the clock); reading a 1,000-machine plant's model does not
    # need to follow it, only the model, the edits and the run's values.
    items = solara.use_memo(
        lambda: fields_of(model_cls, _resolved_or(model_cls, overrides.value, resolved)),
        dependencies=[model_cls, overrides.value, resolved],
    )
    with solara.Column(gap="6px"):
        for item in items:
            _Item(model_cls, overrides, item, resolved).key(_key(item))
        solara.Button(
            "Apply parameters",
            on_click=lambda: on_apply(copy.deepcopy(overrides.value)),
            attributes={"data-testid": "param-apply"},
        )


_UNKNOWN = object()
"""A field the running run's resolved params do not hold (a form for another scenario)."""


def _resolved_or(
    model_cls: type[BaseModel], overrides: dict[str, Any], resolved: dict[str, Any]
) -> dict[str, Any]:
    try:
        return dict(model_cls.model_validate(overrides).model_dump(mode="json"))
    except ValidationError:
        return resolved


def _key(item: ParamField | ParamGroup) -> str:
    return f"{type(item).__name__}:{item.dotted}"


@solara.component
def _Item(
    model_cls: type[BaseModel],
    overrides: solara.Reactive[dict[str, Any]],
    item: ParamField | ParamGroup,
    resolved: dict[str, Any],
) -> None:
    if isinstance(item, ParamGroup):
        with solara.Details(summary=_heading(item.label, "", item.description)):
            for child in item.fields:
                _Item(model_cls, overrides, child, resolved).key(_key(child))
    else:
        _FieldInput(model_cls, overrides, item, _get(resolved, item.path, _UNKNOWN))


@solara.component
def _FieldInput(
    model_cls: type[BaseModel],
    overrides: solara.Reactive[dict[str, Any]],
    field: ParamField,
    running: Any,
) -> None:
    rejected = solara.use_reactive("")  # the reason, shown until a valid edit
    typed = solara.use_reactive("")  # the rejected text, shown as typed

    def edit(raw: Any) -> None:
        result = apply_edit(model_cls, overrides.value, field.path, raw)
        if result.error:
            typed.set(raw if isinstance(raw, str) else json.dumps(raw))
            rejected.set(result.error)
        else:
            rejected.set("")
            overrides.set(result.overrides)

    text = typed.value if rejected.value else _text(field)
    label = _heading(field.label, field.unit, "")
    style = "border-left: 3px solid #c62828; padding-left: 6px" if rejected.value else ""
    with solara.v.Html(
        tag="div",
        attributes={"data-testid": f"param-{field.dotted}"},
        style_=style,
    ):
        if field.kind == "bool":
            solara.Checkbox(label=label, value=bool(field.value), on_value=edit)
        elif field.kind == "choice":
            solara.Select(label=label, values=list(field.choices), value=field.value, on_value=edit)
        elif field.kind == "json":
            # Lists and unions can run to pages (a plant's 1,000 stations): folded away.
            with solara.Details(summary=f"{label}: JSON", expand=bool(rejected.value)):
                solara.InputTextArea(
                    label, value=text, on_value=edit, rows=3, error=bool(rejected.value)
                )
        elif field.slider and field.value is not None:
            low, high = field.slider_range()
            with solara.Row(gap="8px", style={"align-items": "center"}):
                if field.kind == "int":
                    solara.SliderInt(
                        label, value=int(field.value), min=int(low), max=int(high), on_value=edit
                    )
                else:
                    solara.SliderFloat(
                        label,
                        value=float(field.value),
                        min=low,
                        max=high,
                        step=field.step or 0.01,
                        on_value=edit,
                    )
                solara.InputText(
                    f"exact ({field.unit})" if field.unit else "exact",
                    value=text,
                    on_value=edit,
                    error=bool(rejected.value),
                    dense=True,
                )
        else:
            solara.InputText(label, value=text, on_value=edit, error=bool(rejected.value))
        notes = [field.description] if field.description else []
        if running is not _UNKNOWN and running != field.value:
            notes.append(f"edited; the run uses {_show(running)} until applied")
        if notes:
            # Text children: Vue escapes them, so a description is never read as HTML.
            solara.v.Html(tag="div", class_="text-caption", children=["; ".join(notes)])
        if rejected.value:
            solara.v.Html(
                tag="div",
                style_="color: #c62828",
                attributes={"data-testid": f"param-error-{field.dotted}"},
                children=[rejected.value],
            )


def _heading(label: str, unit: str, description: str) -> str:
    text = f"{label} ({unit})" if unit else label
    return f"{text}: {description}" if description else text


def _text(field: ParamField) -> str:
    if field.value is None:
        return ""
    if field.kind == "json":
        return json.dumps(field.value, separators=(", ", ": "))
    return _show(field.value)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str | int):
        return str(value)
    return json.dumps(value)
