"""The batch runner: paired runs, a store that resumes, failures that do not stop a batch."""

import json

import pandas as pd
import pytest

from experiments.runner import run_experiment
from experiments.stats import paired_difference
from tests.experiments.support import station_experiment
from twin.core.errors import ConfigError, UserError

QUIET = {"executor": "inprocess", "report": False}


def test_a_batch_writes_one_row_per_run_and_tidy_kpis(tmp_path):
    results = run_experiment(station_experiment(tmp_path), tmp_path / "out", **QUIET)
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert list(runs.columns[:10]) == [
        "run_id", "scenario", "point", "arm", "policy", "replication", "seed", "status",
        "wall_s", "error",
    ]  # fmt: skip
    assert len(runs) == 8
    assert runs["run_id"].is_unique
    assert set(runs["status"]) == {"ok"}
    kpis = pd.read_parquet(tmp_path / "out" / "kpis.parquet")
    assert list(kpis.columns) == ["run_id", "kpi", "value", "unit"]
    assert kpis.groupby("run_id").size().nunique() == 1  # every run reports the same KPIs
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["config_hash"] == results.config.config_hash()
    assert manifest["config"]["arms"][1]["params"] == {"max_queue": 3}
    assert {"python", "simpy", "numpy"} <= set(manifest["versions"])


def test_arms_are_paired_on_common_random_numbers(tmp_path):
    # Two arms with the same policy see the same random numbers: identical results.
    path = station_experiment(tmp_path)
    text = path.read_text().replace(
        'policy = "admission/queue-cap-v0"\nparams = { max_queue = 3 }',
        'policy = "admission/admit-all-v0"',
    )
    path.write_text(text)
    results = run_experiment(path, tmp_path / "out", **QUIET)
    wide = results.kpis.merge(results.runs, on="run_id").pivot_table(
        index=["replication", "kpi"], columns="arm", values="value"
    )
    assert (wide["admit-all"] == wide["cap-3"]).all()
    waits = wide.xs("wait_mean_s", level="kpi")["admit-all"]
    assert waits.nunique() == 4  # while replications differ


def test_the_summary_is_the_paired_comparison_of_the_stored_kpis(tmp_path):
    results = run_experiment(station_experiment(tmp_path), tmp_path / "out", **QUIET)
    joined = results.kpis.merge(results.runs, on="run_id")
    waits = joined[joined["kpi"] == "wait_mean_s"].pivot(
        index="replication", columns="arm", values="value"
    )
    expected = paired_difference(waits["cap-3"], waits["admit-all"])
    row = results.summary.query("kpi == 'wait_mean_s' and arm == 'cap-3'").iloc[0]
    assert row["diff"] == pytest.approx(expected.difference.mean)
    assert row["diff_high"] == pytest.approx(expected.difference.high)
    assert row["p_value"] == pytest.approx(expected.p_value)
    assert row["change_pct"] == pytest.approx(100 * expected.relative_change)
    assert row["group"] == "efficiency"
    cost = results.summary.query("kpi == 'cost_total' and arm == 'admit-all'").iloc[0]
    assert cost["group"] == "cost"
    assert bool(cost["baseline"])


def test_a_resumed_batch_runs_only_what_is_missing(tmp_path):
    config = station_experiment(tmp_path)
    first = run_experiment(config, tmp_path / "out", **QUIET)
    part = tmp_path / "out" / "parts" / "s0-p0-r0002-cap-3.json"
    written = part.stat().st_mtime_ns
    part_missing = tmp_path / "out" / "parts" / "s0-p0-r0003-admit-all.json"
    part_missing.unlink()  # as if the runner had been killed before this run finished
    second = run_experiment(config, tmp_path / "out", **QUIET)
    assert part.stat().st_mtime_ns == written
    assert part_missing.exists()
    assert second.runs["run_id"].is_unique
    assert len(second.runs) == 8
    pd.testing.assert_frame_equal(first.kpis, second.kpis)


def test_a_resume_says_how_many_finished_runs_it_reuses(tmp_path, capsys):
    config = station_experiment(tmp_path)
    run_experiment(config, tmp_path / "out", **QUIET)
    (tmp_path / "out" / "parts" / "s0-p0-r0003-admit-all.json").unlink()
    capsys.readouterr()
    run_experiment(config, tmp_path / "out", **QUIET)
    assert capsys.readouterr().err == (
        f"twin: resuming: 7 of 8 runs already finished in {tmp_path / 'out'} are reused "
        "(--force-new runs them again)\n"
    )


PLUGIN = """
from typing import ClassVar

from twin.core.policy import BasePolicy
from twin.station import ADMIT


class Mine(BasePolicy):
    id: ClassVar[str] = "test/mine-v0"
    domain: ClassVar[str] = "station"

    def act(self, obs):
        return ADMIT  # {version}
"""


def test_runs_made_before_a_plugin_policy_changed_are_not_reused(tmp_path, monkeypatch):
    plugin = tmp_path / "plugin_for_resume.py"
    plugin.write_text(PLUGIN.format(version="first"))
    monkeypatch.syspath_prepend(str(tmp_path))
    arm = '[[arms]]\nname = "mine"\npolicy = "plugin_for_resume:Mine"\n'
    config = station_experiment(tmp_path, extra=arm)
    run_experiment(config, tmp_path / "out", **QUIET)
    run_experiment(config, tmp_path / "out", **QUIET)  # unchanged: resumed
    plugin.write_text(PLUGIN.format(version="edited"))
    with pytest.raises(UserError, match=r"holds runs made before plugin_for_resume changed"):
        run_experiment(config, tmp_path / "out", **QUIET)
    assert len(run_experiment(config, tmp_path / "out", force_new=True, **QUIET).runs) == 12


def test_another_config_is_refused_unless_forced_new(tmp_path):
    run_experiment(station_experiment(tmp_path), tmp_path / "out", **QUIET)
    changed = station_experiment(tmp_path, replications="[replications]\ncount = 3", name="b.toml")
    with pytest.raises(UserError, match=r"holds results of a different config.*--force-new"):
        run_experiment(changed, tmp_path / "out", **QUIET)
    results = run_experiment(changed, tmp_path / "out", force_new=True, **QUIET)
    assert len(results.runs) == 6
    assert len(list((tmp_path / "out" / "parts").glob("*.json"))) == 6


def test_a_foreign_directory_is_never_written_into(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(UserError, match="not a twin results directory"):
        run_experiment(station_experiment(tmp_path), foreign, **QUIET)
    assert [p.name for p in foreign.iterdir()] == ["thesis.tex"]


def test_a_run_that_raises_is_recorded_and_the_batch_goes_on(tmp_path):
    arm = '[[arms]]\nname = "buggy"\npolicy = "tests.experiments.support:Explodes"\n'
    results = run_experiment(station_experiment(tmp_path, extra=arm), tmp_path / "out", **QUIET)
    runs = results.runs.set_index("run_id")
    assert (runs.loc[runs["arm"] == "buggy", "status"] == "failed").all()
    assert (runs.loc[runs["arm"] != "buggy", "status"] == "ok").all()
    error = runs.loc["s0-p0-r0000-buggy", "error"]
    assert "Traceback" in error
    assert "policy bug: division by zero" in error
    assert set(results.summary["arm"]) == {"admit-all", "cap-3", "buggy"}
    buggy = results.summary[results.summary["arm"] == "buggy"]
    assert (buggy["n"] == 0).all()
    assert buggy["mean"].isna().all()


def test_failed_runs_are_kept_on_resume_unless_retried(tmp_path):
    arm = '[[arms]]\nname = "buggy"\npolicy = "tests.experiments.support:Explodes"\n'
    config = station_experiment(tmp_path, extra=arm)
    run_experiment(config, tmp_path / "out", **QUIET)
    part = tmp_path / "out" / "parts" / "s0-p0-r0001-buggy.json"
    written = part.stat().st_mtime_ns
    run_experiment(config, tmp_path / "out", **QUIET)
    assert part.stat().st_mtime_ns == written
    again = run_experiment(config, tmp_path / "out", retry_failed=True, **QUIET)
    assert part.stat().st_mtime_ns != written
    assert again.runs["run_id"].is_unique
    assert len(again.runs) == 12


def test_replications_are_added_until_the_ci_target_holds(tmp_path):
    rule = (
        "[replications]\nmin = 3\nmax = 40\n"
        'target = { kpi = "throughput_per_h", halfwidth_pct = 2.0 }'
    )
    results = run_experiment(
        station_experiment(tmp_path, replications=rule), tmp_path / "a", **QUIET
    )
    n = results.runs.groupby("arm").size()
    assert n.nunique() == 1
    assert 3 < n.iloc[0] <= 40
    summary = results.summary[results.summary["kpi"] == "throughput_per_h"]
    halfwidth = (summary["ci_high"] - summary["ci_low"]) / 2
    reached = (halfwidth / summary["mean"].abs() <= 0.02).all()
    assert reached or n.iloc[0] == 40
    # A second batch from scratch takes exactly the same decisions.
    again = run_experiment(station_experiment(tmp_path, replications=rule), tmp_path / "b", **QUIET)
    pd.testing.assert_frame_equal(results.kpis, again.kpis)


def test_a_target_above_the_cap_stops_at_the_cap(tmp_path):
    rule = (
        '[replications]\nmin = 2\nmax = 4\ntarget = { kpi = "wait_mean_s", halfwidth_pct = 0.001 }'
    )
    results = run_experiment(
        station_experiment(tmp_path, replications=rule), tmp_path / "o", **QUIET
    )
    assert (results.runs.groupby("arm").size() == 4).all()


def test_a_grid_runs_every_point_with_its_parameters_in_the_run_table(tmp_path):
    grid = '[design]\nkind = "grid"\nfactors = { "params.servers" = [2, 3] }'
    results = run_experiment(station_experiment(tmp_path, extra=grid), tmp_path / "o", **QUIET)
    assert len(results.runs) == 16
    assert results.runs.groupby("point")["params.servers"].unique().tolist() == [[2], [3]]
    utilisation = results.summary.query("kpi == 'utilisation' and arm == 'admit-all'")
    assert utilisation["mean"].iloc[0] > utilisation["mean"].iloc[1]  # more servers, less busy


UNKNOWN_KPI = '[statistics]\nheadline = ["wait_mean_s", "happiness"]'
UNKNOWN_PROGRESS_KPI = '[statistics]\nprogress_kpi = "speed"'
UNKNOWN_PROBE = '[output]\ntimeseries = true\ntimeseries_probes = ["queue"]'
BAD_POINT = '[design]\nkind = "list"\npoints = [{ "params.servers" = 0 }]'
WRONG_DOMAIN = '[[arms]]\nname = "x"\npolicy = "maintenance/run-to-failure-v0"'
BAD_POLICY_PARAM = (
    '[[arms]]\nname = "x"\npolicy = "admission/queue-cap-v0"\nparams = { max_queue = -1 }'
)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (UNKNOWN_KPI, "statistics.headline: unknown KPI 'happiness'; the scenarios report: "),
        (UNKNOWN_PROGRESS_KPI, "statistics.progress_kpi: unknown KPI 'speed'"),
        (UNKNOWN_PROBE, "output.timeseries_probes: "),
        (BAD_POINT, "scenarios.0.params.servers: "),
        (WRONG_DOMAIN, "arms.2.policy: policy 'maintenance/run-to-failure-v0' acts in domain"),
        (BAD_POLICY_PARAM, "arms.2.params.max_queue: "),
    ],
)
def test_names_and_values_are_checked_before_anything_is_written(tmp_path, extra, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        run_experiment(station_experiment(tmp_path, extra=extra), tmp_path / "out", **QUIET)
    assert not (tmp_path / "out").exists()


def test_a_scheduler_that_does_not_answer_is_one_error_and_nothing_written(tmp_path):
    with pytest.raises(UserError, match=r"dask scheduler tcp://127\.0\.0\.1:9 did not answer"):
        run_experiment(
            station_experiment(tmp_path),
            tmp_path / "out",
            scheduler="tcp://127.0.0.1:9",
            report=False,
        )
    assert not (tmp_path / "out").exists()


def test_several_scenarios_are_told_apart_by_their_labels(tmp_path):
    path = station_experiment(tmp_path)
    text = path.read_text()
    entry = text[text.index("[[scenarios]]") : text.index("[[arms]]")]
    busier = entry.replace("arrival_rate_per_s = 0.0166", "arrival_rate_per_s = 0.019")
    text = text.replace(
        entry, entry + busier.replace("[[scenarios]]", '[[scenarios]]\nlabel = "busy"')
    )
    path.write_text(text)
    results = run_experiment(path, tmp_path / "out", **QUIET)
    assert set(results.runs["scenario"]) == {"station/mmc-v0", "busy"}
    assert len(results.runs) == 16
    waits = results.summary.query("kpi == 'wait_mean_s' and arm == 'admit-all'")
    by_scenario = dict(zip(waits["scenario"], waits["mean"], strict=True))
    assert by_scenario["busy"] > by_scenario["station/mmc-v0"]


def test_two_scenarios_without_labels_must_differ_by_id(tmp_path):
    path = station_experiment(tmp_path)
    text = path.read_text()
    entry = text[text.index("[[scenarios]]") : text.index("[[arms]]")]
    path.write_text(text.replace(entry, entry + entry))
    with pytest.raises(ConfigError, match="scenarios must differ by id or label"):
        run_experiment(path, tmp_path / "out", **QUIET)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_run_whose_policy_never_answers_fails_alone_and_the_batch_finishes(tmp_path, workers):
    config = tmp_path / "stuck.toml"
    config.write_text(
        'name = "stuck"\nseed = 1\n'
        '[[scenarios]]\nid = "station/mmc-v0"\nhorizon_s = 2000\n'
        '[[arms]]\nname = "admit-all"\npolicy = "admission/admit-all-v0"\n'
        '[[arms]]\nname = "stuck"\npolicy = "tests.testing.broken:NeverAnswers"\n'
        "[replications]\ncount = 2\n"  # the fewest a config takes
        f"[executor]\nworkers = {workers}\ndecision_timeout_s = 0.3\n"
    )
    results = run_experiment(config, tmp_path / "out", **QUIET)
    runs = results.runs
    assert list(runs.loc[runs["arm"] == "admit-all", "status"]) == ["ok", "ok"]
    assert list(runs.loc[runs["arm"] == "stuck", "status"]) == ["failed", "failed"]
    for error in runs.loc[runs["arm"] == "stuck", "error"]:
        assert "DecisionTimeout: policy 'broken/never-answers-v0' failed at t = " in error
        assert ": did not answer within 0.3 s; last observation: " in error
