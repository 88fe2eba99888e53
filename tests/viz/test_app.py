"""The page's status line and KPI table, as the browser gets them, without a browser."""

from twin.core.scenario import ScenarioConfig
from viz.app import _kpi_table_html, _status_html
from viz.controller import AppTarget, Controller

CAP = "admission/queue-cap-v0"


def test_the_status_line_and_kpi_table_call_each_arm_by_its_name():
    config = ScenarioConfig(id="station/mmc-v0", horizon_s=600.0, tick_s=60.0)
    target = AppTarget(
        config,
        CAP,
        1,
        CAP,
        {"max_queue": 2},
        compare_params={"max_queue": 8},
        policy_name="short-queue",
        compare_name="long-queue",
    )
    app = Controller(target)
    app.step(2)
    assert '<span data-testid="policies">short-queue vs long-queue</span>' in _status_html(
        app, app.status
    )
    assert "<th>short-queue</th><th>long-queue</th><th>difference</th>" in _kpi_table_html(app)


def test_an_unnamed_arm_with_params_is_marked_so_on_the_page():
    config = ScenarioConfig(id="station/mmc-v0", horizon_s=600.0, tick_s=60.0)
    app = Controller(AppTarget(config, "admission/admit-all-v0", 1, CAP, compare_params={}))
    assert "admission/admit-all-v0 vs admission/queue-cap-v0<" in _status_html(app, app.status)
    app = Controller(
        AppTarget(config, "admission/admit-all-v0", 1, CAP, compare_params={"max_queue": 3})
    )
    assert "admission/admit-all-v0 vs admission/queue-cap-v0 (params)<" in _status_html(
        app, app.status
    )
