"""The live widgets: what each push sends."""

from viz.widgets import CHART_PERIOD_S, LiveWidgets


def live(rows: list[list[float]]) -> LiveWidgets:
    return LiveWidgets(
        panels=[("map", "City", "{}", "[]")],
        arm_labels=["fixed"],
        charts={"co2e_kg": ("kg", "lower", "s", [])},
        series=lambda kpi, start: rows[start:],
        on_select=lambda picked: None,
        on_hover=lambda picked: None,
    )


HTML = {"status": "clock", "table": "kpis", "inspector": "nothing selected"}


def test_charts_get_new_points_at_most_once_a_period_and_held_back_ones_after():
    rows = [[0.0, 1.0]]
    widgets = live(rows)
    widgets.push_status(1, HTML, 1)
    assert widgets.charts["co2e_kg"].chunk == {"start": 0, "rows": [[0.0, 1.0]], "version": 1}
    rows.append([10.0, 2.0])
    widgets.push_status(2, {**HTML, "status": "clock 10 s"}, 2)
    assert widgets.status.html == "clock 10 s"  # the clock and table come every status
    assert widgets.charts["co2e_kg"].chunk["version"] == 1  # the chart waits
    widgets.charts_sent_at -= CHART_PERIOD_S  # a period later
    widgets.push_charts(2)
    assert widgets.charts["co2e_kg"].chunk == {"start": 1, "rows": [[10.0, 2.0]], "version": 2}
    widgets.close()
