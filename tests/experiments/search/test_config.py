"""Bad search configs and flags: one line naming the file, key and what is allowed; exit 2."""

from __future__ import annotations

import pytest

from tests.experiments.search.support import SERVERS, station_search
from tests.support import twin_in_process


def replaced(old: str, new: str) -> str:
    assert old in SERVERS
    return SERVERS.replace(old, new)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            replaced('"scenario.params.servers"', '"scenario.servers"'),
            "search.toml: parameters: cannot search 'scenario.servers'; allowed: "
            "'scenario.params.<name>",
        ),
        (
            replaced("low = 1, high = 8", "low = 8, high = 1"),
            "search.toml: parameters.scenario.params.servers: Value error, low (8.0) must be "
            "less than high (1.0)",
        ),
        (
            replaced("high = 8, integer = true", "high = 8.5, integer = true"),
            "needs whole-number 'low' and 'high'",
        ),
        (
            replaced('kpi = "cost_total"', 'kpi = "cost_totl"'),
            "search.toml: objective.kpi: unknown KPI 'cost_totl'; the scenario reports: ",
        ),
        (
            replaced("max = 30.0", "max = 30.0\nmin = 1.0"),
            "search.toml: constraints.0: Value error, give exactly one of 'max' and 'min'",
        ),
        (
            replaced('kpi = "wait_mean_s"', 'kpi = "wait"'),
            "search.toml: constraints.0.kpi: unknown KPI 'wait'",
        ),
        (
            replaced("low = 1, high = 8", "low = 0, high = 8"),
            "search.toml: parameters.scenario.params.servers: 0 does not fit the scenario: ",
        ),
        (
            replaced("trials = 12", "trials = 0"),
            "search.toml: search.trials: Input should be greater than or equal to 1",
        ),
        (
            replaced("batch = 4", 'batch = 4\nsampler = "cmaes"'),
            "search.toml: parameters.scenario.params.servers: CMA-ES searches continuous ranges "
            "only",
        ),
        (
            replaced("[recheck]", "[recheck]\nchalengers = 2"),
            "search.toml: recheck: unknown key 'chalengers'; allowed: challengers, replications",
        ),
    ],
)
def test_a_bad_optimisation_config_is_one_line_and_exit_2(tmp_path, capsys, body, message):
    config = station_search(tmp_path, body)
    out = tmp_path / "out"
    result = twin_in_process(capsys, "optimize", str(config), "--out", str(out))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert not out.exists()  # refused before anything was written


def test_validate_checks_a_search_config_and_run_points_to_its_command(tmp_path, capsys):
    config = station_search(tmp_path)
    result = twin_in_process(capsys, "validate", str(config))
    assert result.returncode == 0
    assert "ok (optimize" in result.stdout
    result = twin_in_process(capsys, "run", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"twin: {config}: is a config for 'twin optimize'; run: twin optimize {config}"
    )


def test_calibrate_refuses_a_missing_data_file_in_one_line(tmp_path, capsys):
    config = station_search(tmp_path, '[parameters]\n"scenario.params.servers" = '
        "{ low = 1, high = 4, integer = true }\n[[targets]]\nkpi = \"utilisation\"\n"
        "[replications]\ncount = 2\n")  # fmt: skip
    missing = tmp_path / "nothing.parquet"
    result = twin_in_process(capsys, "calibrate", str(config), "--data", str(missing))
    assert result.returncode == 2
    assert result.stderr.strip() == f"twin: --data: {missing}: no such file"


def test_another_configs_study_is_not_resumed(tmp_path, capsys):
    first = station_search(tmp_path, replaced("trials = 12", "trials = 4"), name="a.toml")
    second = station_search(tmp_path, replaced("trials = 12", "trials = 5"), name="b.toml")
    out = tmp_path / "out"
    common = ["--out", str(out), "--executor", "inprocess", "--quiet"]
    assert twin_in_process(capsys, "optimize", str(first), *common).returncode == 0
    result = twin_in_process(capsys, "optimize", str(second), *common)
    assert result.returncode == 2
    assert "holds the study of another config or other data; use --force-new" in result.stderr
    assert twin_in_process(capsys, "optimize", str(second), *common, "--force-new").returncode == 0
