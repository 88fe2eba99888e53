"""The parameter form: read from each scenario's pydantic model, edited one checked value
at a time, a rejected value named in one line while the run keeps the old one."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from twin.core.run import default_registry
from twin.core.scenario import ScenarioParams
from viz.params_form import ParamField, ParamGroup, apply_edit, fields_of, unit_of

SCENARIOS = (
    "station/mmc-v0",
    "factory/flowline-v0",
    "supply/regional-v0",
    "traffic/grid4x4-v0",
    "cloud/diurnal-v0",
)


def params(scenario: str) -> type[BaseModel]:
    return default_registry().scenario(scenario).Params


def flat(items: list[ParamField | ParamGroup] | tuple[ParamField | ParamGroup, ...]):
    for item in items:
        if isinstance(item, ParamGroup):
            yield from flat(item.fields)
        else:
            yield item


def field(scenario: str, dotted: str, values: dict[str, Any] | None = None) -> ParamField:
    found = [f for f in flat(fields_of(params(scenario), values or {})) if f.dotted == dotted]
    assert len(found) == 1, dotted
    return found[0]


def pydantic_bounds(model: type[BaseModel], path: tuple[str | int, ...]) -> dict[str, float]:
    for key in path[:-1]:
        model = model.model_fields[str(key)].annotation  # type: ignore[assignment]
    bounds: dict[str, float] = {}
    for constraint in model.model_fields[str(path[-1])].metadata:
        for name in ("ge", "gt", "le", "lt"):
            if hasattr(constraint, name):
                bounds[name] = float(getattr(constraint, name))
    return bounds


# -- reading the model ------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_bounded_field_shows_the_bounds_pydantic_enforces(scenario: str) -> None:
    bounded = 0
    for item in flat(fields_of(params(scenario), {})):
        bounds = pydantic_bounds(params(scenario), item.path)
        assert item.minimum == bounds.get("gt", bounds.get("ge")), item.dotted
        assert item.maximum == bounds.get("lt", bounds.get("le")), item.dotted
        assert item.exclusive_minimum == ("gt" in bounds), item.dotted
        assert item.exclusive_maximum == ("lt" in bounds), item.dotted
        bounded += item.minimum is not None or item.maximum is not None
    assert bounded >= 5


@pytest.mark.parametrize(
    ("scenario", "dotted", "unit"),
    [
        ("station/mmc-v0", "arrival_rate_per_s", "jobs/s"),  # "..., jobs per second"
        ("station/mmc-v0", "server_busy_power_kw", "kW"),
        ("station/mmc-v0", "electricity_price_per_kwh", "currency/kWh"),
        ("station/mmc-v0", "rejection_cost", "currency"),
        ("station/mmc-v0", "servers", ""),
        ("factory/flowline-v0", "degradation_step_s", "s"),
        ("factory/flowline-v0", "ambient_c", "°C"),
        ("factory/flowline-v0", "ambient_humidity_pct", "%"),
        ("factory/flowline-v0", "crew.wage_per_h", "currency/h"),
        ("factory/flowline-v0", "crew.repair", "s"),  # "corrective repair time, s"
        ("factory/flowline-v0", "sensors.sensor.period_s", "s"),
        ("factory/flowline-v0", "sensors.sensor.drift_per_s", ""),  # the reading's unit per s
        ("supply/regional-v0", "truck.speed_kmh", "km/h"),
        ("supply/regional-v0", "truck.capacity_kg", "kg"),
        ("supply/regional-v0", "truck.fuel_l_per_km_empty", "L/km"),
        ("supply/regional-v0", "truck.handling_s_per_pallet", "s/pallet"),
        ("supply/regional-v0", "truck.cost_per_km", "currency/km"),
        ("supply/regional-v0", "product.units_per_pallet", "units/pallet"),
        ("supply/regional-v0", "history_days", "d"),
        ("traffic/grid4x4-v0", "grid.speed_mps", "m/s"),
        ("traffic/grid4x4-v0", "grid.block_m", "m"),
        ("traffic/grid4x4-v0", "grid.green_s", "s"),
        ("traffic/grid4x4-v0", "demand.rates_per_s", "1/s"),
        ("traffic/grid4x4-v0", "grid.rows", ""),
        ("cloud/diurnal-v0", "node.idle_kw", "kW"),
        ("cloud/diurnal-v0", "node.price_per_h", "currency/h"),
        ("cloud/diurnal-v0", "workload.random_bursts_per_day", "1/d"),
        ("cloud/diurnal-v0", "workload.peak_hour", "h"),
        ("cloud/diurnal-v0", "grid_kg_co2e_per_kwh", "kg CO2e/kWh"),
        ("cloud/diurnal-v0", "sync_period_s", "s"),
    ],
)
def test_known_fields_get_their_units(scenario: str, dotted: str, unit: str) -> None:
    assert field(scenario, dotted).unit == unit


def test_a_declared_unit_beats_the_description_and_the_description_beats_the_name() -> None:
    assert unit_of("lead_s", "days until the next review", {"unit": "min"}) == "min"
    assert unit_of("lead_s", "days until the next review") == "d"
    assert unit_of("demand", "units per day") == "units/d"
    assert unit_of("power", "charger power (grid side), kW") == "kW"
    assert unit_of("lead_s", "per stop, loading or unloading") == "s"
    assert unit_of("servers", "parallel identical servers") == ""


def test_kinds_choices_descriptions_and_defaults_come_from_the_model() -> None:
    balancer = field("cloud/diurnal-v0", "balancer")
    assert (balancer.kind, balancer.choices) == ("choice", ("round-robin", "least-connections"))
    initial = field("cloud/diurnal-v0", "initial_nodes")
    assert (initial.kind, initial.optional, initial.value) == ("int", True, None)
    assert initial.description == "ready at time 0; min_nodes when omitted"
    assert field("traffic/grid4x4-v0", "per_intersection_kpis").kind == "bool"
    assert field("traffic/grid4x4-v0", "routes").kind == "json"  # a list: edited as JSON
    assert field("station/mmc-v0", "service").kind == "json"  # a union of distributions
    assert field("factory/flowline-v0", "dispatch_policy").kind == "text"
    groups = [
        item for item in fields_of(params("traffic/grid4x4-v0"), {}) if isinstance(item, ParamGroup)
    ]
    assert [group.dotted for group in groups] == ["grid", "demand"]


def test_a_nested_default_is_the_scenarios_own_and_a_value_is_the_resolved_one() -> None:
    rows = field("traffic/grid10x10-v0", "grid.rows")  # GridSpec says 4; this city says 10
    assert (rows.value, rows.default) == (10, 10)
    rows = field("traffic/grid10x10-v0", "grid.rows", {"grid": {"rows": 3}})
    assert (rows.value, rows.default) == (3, 10)


def test_a_slider_only_where_both_bounds_are_finite_and_the_range_is_slider_sized() -> None:
    rows = field("traffic/grid4x4-v0", "grid.rows")
    assert (rows.slider, rows.step, rows.slider_range()) == (True, 1.0, (1.0, 60.0))
    speed = field("traffic/grid4x4-v0", "grid.speed_mps")  # 0 < v <= 40: 0 is not a choice
    assert (speed.slider, speed.step, speed.slider_range()) == (True, 0.1, (0.1, 40.0))
    peak = field("cloud/diurnal-v0", "workload.peak_hour")  # 0 <= h < 24
    assert peak.slider
    assert peak.slider_range() == pytest.approx((0.0, 23.9))
    assert not field("supply/regional-v0", "product.kg_per_unit").slider  # 0 to 100,000 kg
    assert not field("traffic/grid4x4-v0", "grid.green_s").slider  # no upper bound


# -- editing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "path", "raw", "expected"),
    [
        ("station/mmc-v0", ("servers",), "3", 3),
        ("station/mmc-v0", ("arrival_rate_per_s",), "0.05", 0.05),
        ("station/mmc-v0", ("capacity",), "", None),
        ("factory/flowline-v0", ("crew", "technicians"), 4, 4),
        ("factory/flowline-v0", ("sensors", "sensor", "dropout_prob"), "0.5", 0.5),
        ("supply/regional-v0", ("truck", "speed_kmh"), 80.0, 80.0),
        ("traffic/grid4x4-v0", ("grid", "rows"), "6", 6),
        ("traffic/grid4x4-v0", ("per_intersection_kpis",), True, True),
        ("traffic/grid4x4-v0", ("demand", "rates_per_s"), "[0.5]", [0.5]),
        ("cloud/diurnal-v0", ("balancer",), "least-connections", "least-connections"),
    ],
)
def test_an_in_range_edit_validates_and_lands_at_its_path(
    scenario: str, path: tuple[str, ...], raw: Any, expected: Any
) -> None:
    result = apply_edit(params(scenario), {}, path, raw)
    assert result.error is None
    node: Any = result.overrides
    for key in path:
        node = node[key]
    assert node == expected
    resolved = params(scenario).model_validate(result.overrides).model_dump(mode="json")
    for key in path:
        resolved = resolved[key]
    assert resolved == expected


def test_a_nested_edit_keeps_the_scenarios_other_nested_values() -> None:
    result = apply_edit(params("traffic/grid10x10-v0"), {"step_s": 0.5}, ("grid", "rows"), "5")
    assert result.error is None
    assert result.overrides["step_s"] == 0.5
    grid = params("traffic/grid10x10-v0").model_validate(result.overrides).grid  # type: ignore[attr-defined]
    assert (grid.rows, grid.cols) == (5, 10)  # not GridSpec's own 4 columns


ROWS_ALLOWED = "(allowed: integer, 1 <= x <= 60)"
SPEED_ALLOWED = "(allowed: finite number, 0 < x <= 40 m/s)"


@pytest.mark.parametrize(
    ("path", "raw", "line"),
    [
        (
            ("grid", "rows"),
            "61",
            f"grid.rows: 61 rejected, input should be less than or equal to 60 {ROWS_ALLOWED}",
        ),
        (
            ("grid", "rows"),
            0,
            f"grid.rows: 0 rejected, input should be greater than or equal to 1 {ROWS_ALLOWED}",
        ),
        (("grid", "rows"), "true", f"grid.rows: 'true' is not an integer {ROWS_ALLOWED}"),
        (("grid", "rows"), True, f"grid.rows: True is not an integer {ROWS_ALLOWED}"),
        (("grid", "rows"), "2.5", f"grid.rows: '2.5' is not an integer {ROWS_ALLOWED}"),
        (("grid", "rows"), "", f"grid.rows: a value is required {ROWS_ALLOWED}"),
        (("grid", "speed_mps"), "abc", f"grid.speed_mps: 'abc' is not a number {SPEED_ALLOWED}"),
        (("grid", "speed_mps"), "nan", f"grid.speed_mps: NaN is not a number {SPEED_ALLOWED}"),
        (("grid", "speed_mps"), float("inf"), f"grid.speed_mps: inf is not finite {SPEED_ALLOWED}"),
        (("grid", "speed_mps"), "-inf", f"grid.speed_mps: -inf is not finite {SPEED_ALLOWED}"),
        (
            ("grid", "speed_mps"),
            "0",
            f"grid.speed_mps: 0.0 rejected, input should be greater than 0 {SPEED_ALLOWED}",
        ),
        (
            ("per_intersection_kpis",),
            "yes",
            "per_intersection_kpis: 'yes' is not true or false (allowed: true or false)",
        ),
        (
            ("demand", "rates_per_s"),
            "[1, NaN]",
            "demand.rates_per_s: NaN is not a finite number (allowed: JSON)",
        ),
        (
            ("demand", "rates_per_s"),
            "[1,",
            "demand.rates_per_s: not JSON (Expecting value at character 3) (allowed: JSON)",
        ),
        (("grid", "colour"), "red", "grid.colour: no such parameter"),
    ],
)
def test_a_bad_value_is_one_line_naming_its_path_and_leaves_the_overrides_alone(
    path: tuple[str, ...], raw: Any, line: str
) -> None:
    before = {"grid": {"cols": 6}, "step_s": 0.5}
    result = apply_edit(params("traffic/grid4x4-v0"), before, path, raw)
    assert result.error == line
    assert result.overrides == {"grid": {"cols": 6}, "step_s": 0.5}


def test_a_choice_outside_the_literal_is_rejected_with_the_choices() -> None:
    result = apply_edit(params("cloud/diurnal-v0"), {}, ("balancer",), "random")
    assert result.error == (
        "balancer: 'random' is not a choice (allowed: one of round-robin, least-connections)"
    )
    assert result.overrides == {}


def test_a_check_across_fields_names_the_edited_field_and_keeps_the_old_overrides() -> None:
    result = apply_edit(params("cloud/diurnal-v0"), {"max_nodes": 40}, ("min_nodes",), "50")
    assert result.error == (
        "min_nodes: min_nodes (50) must not exceed max_nodes (40)"
        " (allowed: integer, 1 <= x <= 1000)"
    )
    assert result.overrides == {"max_nodes": 40}


def test_a_check_inside_a_nested_model_is_named_by_that_model() -> None:
    result = apply_edit(params("traffic/grid4x4-v0"), {}, ("demand", "rates_per_s"), "[1, 2]")
    assert result.error == "demand: a rate profile needs one rate per breakpoint"
    assert result.overrides == {}


def test_a_path_into_a_list_edits_that_item_and_keeps_its_siblings_values() -> None:
    model = params("traffic/grid4x4-v0")
    result = apply_edit(model, {}, ("vehicle_types", 0, "length_m"), "6")
    assert result.error is None
    car = model.model_validate(result.overrides).vehicle_types[0]  # type: ignore[attr-defined]
    assert (car.id, car.length_m, car.min_gap_m) == ("passenger", 6.0, 2.5)
    missing = apply_edit(model, {}, ("vehicle_types", 5, "length_m"), "6")
    assert missing.error == "vehicle_types.5.length_m: list index out of range (allowed: JSON)"
    assert missing.overrides == {}


def test_the_edit_is_made_on_a_copy() -> None:
    before = {"grid": {"rows": 3}}
    result = apply_edit(params("traffic/grid4x4-v0"), before, ("grid", "rows"), "5")
    assert result.overrides["grid"]["rows"] == 5
    assert before == {"grid": {"rows": 3}}


def test_a_declared_unit_and_exclusive_bounds_of_a_third_party_model_are_read() -> None:
    class Pump(ScenarioParams):
        flow: float = Field(default=2.0, gt=0, lt=10, json_schema_extra={"unit": "m³/h"})

    flow = field_of(Pump, "flow")
    assert (flow.unit, flow.minimum, flow.maximum, flow.slider) == ("m³/h", 0.0, 10.0, True)
    assert apply_edit(Pump, {}, ("flow",), "10").error == (
        "flow: 10.0 rejected, input should be less than 10"
        " (allowed: finite number, 0 < x < 10 m³/h)"
    )


def field_of(model: type[BaseModel], dotted: str) -> ParamField:
    return next(f for f in flat(fields_of(model, {})) if f.dotted == dotted)


# -- the form -----------------------------------------------------------------------------


def test_the_form_marks_a_rejected_value_keeps_the_old_one_and_applies_the_valid_ones() -> None:
    solara = pytest.importorskip("solara")
    v = pytest.importorskip("ipyvuetify")
    model = params("traffic/grid10x10-v0")
    overrides = solara.Reactive({})
    applied: list[dict[str, Any]] = []
    resolved = model().model_dump(mode="json")
    from viz.params_form import ParameterForm

    _, rc = solara.render(
        ParameterForm(model, overrides, applied.append, resolved), handle_error=False
    )

    def box(dotted: str) -> Any:
        return rc.find(v.Html, attributes={"data-testid": f"param-{dotted}"})

    def error(dotted: str) -> Any:
        return box(dotted).find(v.Html, attributes={"data-testid": f"param-error-{dotted}"})

    rows = box("grid.rows")
    assert rows.find(v.Slider).widget.label == "rows"
    assert (rows.find(v.Slider).widget.min, rows.find(v.Slider).widget.max) == (1, 60)
    text = rows.find(v.TextField).widget
    assert text.v_model == "10"

    text.v_model = "61"
    text.fire_event("keyup.enter", {})
    assert error("grid.rows").widget.children == [
        f"grid.rows: 61 rejected, input should be less than or equal to 60 {ROWS_ALLOWED}"
    ]
    assert box("grid.rows").find(v.TextField).widget.v_model == "61"  # shown as typed
    assert box("grid.rows").find(v.TextField).widget.error
    assert box("grid.rows").find(v.Slider).widget.v_model == 10  # the value in force
    assert overrides.value == {}

    text.v_model = "7"
    text.fire_event("keyup.enter", {})
    error("grid.rows").assert_empty()
    assert overrides.value["grid"]["rows"] == 7
    note = box("grid.rows").find(v.Html, class_="text-caption").widget
    assert note.children == ["edited; the run uses 10 until applied"]
    assert applied == []  # nothing runs until applied
    rc.find(v.Btn, children=["Apply parameters"]).widget.click()
    assert applied == [overrides.value]
    assert applied[0]["grid"]["cols"] == 10

    speed = box("grid.speed_mps").find(v.Slider).widget
    assert (speed.min, speed.max, speed.step) == (0.1, 40.0, 0.1)
    assert "(m/s)" in speed.label
    rc.close()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_form_draws_every_field_of_each_domain_with_its_description(scenario: str) -> None:
    solara = pytest.importorskip("solara")
    v = pytest.importorskip("ipyvuetify")
    from viz.params_form import ParameterForm

    model = params(scenario)
    resolved = model().model_dump(mode="json")
    form = ParameterForm(model, solara.Reactive({}), lambda _: None, resolved)
    _, rc = solara.render(form, handle_error=False)
    expected = list(flat(fields_of(model, resolved)))
    drawn = [w.attributes["data-testid"] for w in rc.find(v.Html).widgets if w.attributes]
    assert sorted(drawn) == sorted(f"param-{f.dotted}" for f in expected)  # found breadth first
    for item in expected:
        notes = rc.find(v.Html, attributes={"data-testid": f"param-{item.dotted}"}).find(
            v.Html, class_="text-caption"
        )
        assert [w.children for w in notes.widgets] == (
            [[item.description]] if item.description else []
        )
    rc.close()
