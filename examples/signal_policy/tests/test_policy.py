"""ACME's signal controller in CI: safe, reproducible, and no worse than the fixed-time
programme it replaces.

The fixtures come from twin's pytest plugin, which pytest loads wherever twin is
installed. ``--twin-max-examples`` and ``--twin-replications`` scale the checks up in a
nightly job.
"""

from acme_signals.policy import LongestQueue

from twin.core.scenario import ScenarioConfig

# The 4x4 grid for half an hour after five minutes of filling up.
GRID = ScenarioConfig(id="traffic/grid4x4-v0", horizon_s=2_100.0, warmup_s=300.0, tick_s=60.0)


def test_the_policy_is_safe_and_reproducible(check_policy):
    report = check_policy(LongestQueue())
    print(report.decision_times)


def test_the_grid_keeps_its_invariants_under_the_policy(check_scenario):
    check_scenario("traffic/grid4x4-v0", LongestQueue(), max_examples=3)


def test_the_registered_id_finds_the_policy(check_policy):
    check_policy("acme/longest-queue-v0", run=False, max_examples=10)


def test_vehicles_wait_no_longer_than_under_fixed_time(assert_not_worse):
    assert_not_worse(
        LongestQueue(),
        "signals/fixed-time-v0",
        [GRID],
        "waiting_time_mean_s",
        better="lower",
        replications=4,
    )
