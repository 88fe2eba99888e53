"""Bad cloud input is one line naming the file and the key path, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from twin.cli import main

GOOD = """
seed = 1

[scenario]
id = "cloud/diurnal-v0"
horizon_s = 3600

[scenario.params]
min_nodes = 2
max_nodes = 4

[scenario.params.node]
cold_start_s = 60.0

[policy]
id = "scaling/hpa-v0"
params = { target_utilisation = 0.6 }
"""

BAD = {
    "min nodes above max": (
        GOOD.replace("min_nodes = 2", "min_nodes = 5"),
        "scenario.params: Value error, min_nodes (5) must not exceed max_nodes (4)",
    ),
    "negative cold start": (
        GOOD.replace("cold_start_s = 60.0", "cold_start_s = -5.0"),
        "scenario.params.node.cold_start_s: Input should be greater than or equal to 0",
    ),
    "target utilisation of zero": (
        GOOD.replace("target_utilisation = 0.6", "target_utilisation = 0.0"),
        "policy.params.target_utilisation: Input should be greater than 0",
    ),
    "target utilisation above one": (
        GOOD.replace("target_utilisation = 0.6", "target_utilisation = 1.5"),
        "policy.params.target_utilisation: Input should be less than or equal to 1",
    ),
    "unknown balancer": (
        GOOD.replace("max_nodes = 4", 'max_nodes = 4\nbalancer = "random"'),
        "scenario.params.balancer",
    ),
}


def run_twin(capsys, monkeypatch, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    monkeypatch.chdir(tmp_path)
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_cloud_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, case):
    text, expected = BAD[case]
    config = tmp_path / "run.toml"
    config.write_text(textwrap.dedent(text))
    done = run_twin(capsys, monkeypatch, tmp_path, "run", str(config), "--out", "out")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"twin: {config}: ")
    assert expected in lines[0], lines[0]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.toml"]


def test_the_good_config_runs(tmp_path, capsys, monkeypatch):
    config = tmp_path / "run.toml"
    config.write_text(textwrap.dedent(GOOD))
    done = run_twin(capsys, monkeypatch, tmp_path, "run", str(config), "--out", "out", "--quiet")
    assert done.returncode == 0, done.stderr
