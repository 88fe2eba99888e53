"""The single run's terminal table: which way each KPI is better, zeros on one line."""

import re

from twin.cli import main

CONFIG = """
seed = 1
[scenario]
id = "station/mmc-v0"
horizon_s = 7200
[policy]
id = "admission/admit-all-v0"
"""


def test_a_single_runs_table_says_which_way_is_better_and_names_zero_kpis_once(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(CONFIG)
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    table = capsys.readouterr().out
    rows = {line.split()[0]: line for line in table.splitlines() if line.startswith("  ")}
    assert rows["wait_mean_s"].endswith("s       lower is better")
    assert rows["throughput_per_h"].endswith("jobs/h  higher is better")
    assert rows["arrived"].endswith("jobs")  # a count: neither way is better
    # No electricity is priced in this config: its money and emissions are all zero.
    zero = " ".join(table[table.index("zero: ") :].split("\n\n")[0].split())
    assert zero.startswith("zero: rejected, rejected_share, cost_total, energy_kwh, fuel_l,")
    assert not re.search(r"^  cost_total\s", table, flags=re.M)


def test_kpis_with_nothing_to_measure_are_named_on_one_line_not_shown_as_nan(tmp_path, capsys):
    # The single-echelon chain plans no routes: route delays have nothing to measure.
    out = tmp_path / "out"
    argv = ["run", "--scenario", "supply/single-echelon-v0", "--horizon-s", "172800"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    table = capsys.readouterr().out
    assert not re.search(r"\bnan\b", table)
    undefined = " ".join(table[table.index("nothing to measure in this run: ") :].split())
    assert "route_arrival_delay_mean_h" in undefined
