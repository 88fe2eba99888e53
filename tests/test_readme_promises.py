"""The README's file lists hold: a small `twin run` and `twin experiment` write exactly the
files it names, no more and no fewer."""

import re
import textwrap
from pathlib import Path

import pytest

from twin.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def passage(starting: str, ending: str) -> str:
    """The README's text from ``starting`` (a paragraph's start) to ``ending``, on one line."""
    for block in README.read_text("utf-8").split("\n\n"):
        text = " ".join(block.split())
        if text.startswith(starting) and ending in text:
            return text[: text.index(ending) + len(ending)]
    raise AssertionError(f"the README has no paragraph {starting!r} ... {ending!r}")


def named_files(text: str) -> set[str]:
    """The results entries named in backticks: ``kpis.parquet``; a folder as ``parts/``
    (also from ``parts/<run_id>.json``). Options and keys are not files."""
    names = set()
    for token in re.findall(r"`([^`]+)`", text):
        if "/" in token:
            names.add(token.split("/")[0] + "/")
        elif re.fullmatch(r"[\w-]+\.(parquet|json|html|md)", token):
            names.add(token)
    return names


def written(directory: Path) -> set[str]:
    return {path.name + ("/" if path.is_dir() else "") for path in directory.iterdir()}


SINGLE_RUN = """
seed = 1
[scenario]
id = "station/mmc-v0"
horizon_s = 7200
{sampling}
[policy]
id = "admission/admit-all-v0"
"""


def run(tmp_path: Path, config: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(config))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    return out


SINGLE_RUN_FILES = passage("`twin run` shows a progress bar", "previous results intact.")


def test_the_readme_names_a_single_runs_files():
    assert named_files(SINGLE_RUN_FILES) == {"kpis.parquet", "manifest.json", "timeseries.parquet"}
    assert "`timeseries.parquet` when the scenario sets `sample_period_s`" in SINGLE_RUN_FILES


def test_a_single_run_with_a_time_series_writes_every_file_the_readme_names(tmp_path, capsys):
    out = run(tmp_path, SINGLE_RUN.format(sampling="sample_period_s = 600"))
    assert written(out) == named_files(SINGLE_RUN_FILES)


def test_a_single_run_without_one_writes_the_others(tmp_path, capsys):
    out = run(tmp_path, SINGLE_RUN.format(sampling=""))
    assert written(out) == named_files(SINGLE_RUN_FILES) - {"timeseries.parquet"}


EXPERIMENT = """
name = "tiny"
seed = 3

[[scenarios]]
id = "station/mmc-v0"
horizon_s = 20000
warmup_s = 1000
sample_period_s = 2000

[[arms]]
name = "admit-all"
policy = "admission/admit-all-v0"

[[arms]]
name = "cap-3"
policy = "admission/queue-cap-v0"
params = {{ max_queue = 3 }}

[replications]
count = 2

[output]
timeseries = {timeseries}

[executor]
kind = "inprocess"
"""

EXPERIMENT_FILES = passage("The results directory holds", "the figures it links, `figures/`.")


def test_the_readme_names_an_experiments_files():
    assert named_files(EXPERIMENT_FILES) == {
        "runs.parquet",
        "kpis.parquet",
        "summary.parquet",
        "parts/",
        "timeseries/",
        "manifest.json",
        "report.html",
        "report.md",
        "figures/",
    }
    assert "`timeseries/` (when `output.timeseries` is on)" in EXPERIMENT_FILES


@pytest.mark.parametrize("timeseries", ["true", "false"])
def test_an_experiment_writes_every_file_the_readme_names(tmp_path, capsys, timeseries):
    out = run(tmp_path, EXPERIMENT.format(timeseries=timeseries))
    expected = named_files(EXPERIMENT_FILES)
    if timeseries == "false":
        expected -= {"timeseries/"}
    assert written(out) == expected
