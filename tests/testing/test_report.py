from twin.core.scenario import ScenarioConfig
from twin.testing.report import reproduce_command


def test_the_reproduce_line_keeps_the_pythonpath_of_the_check(monkeypatch):
    config = ScenarioConfig(id="station/mmc-v0", horizon_s=600.0)
    monkeypatch.setenv("PYTHONPATH", ".")
    assert reproduce_command(config, "my_rule:Mine", 3) == (
        "PYTHONPATH=. twin run --scenario station/mmc-v0 --policy my_rule:Mine "
        "--horizon-s 600 --tick-s 60 --seed 3"
    )
    monkeypatch.delenv("PYTHONPATH")
    assert reproduce_command(config, "my_rule:Mine", 3).startswith("twin run ")
