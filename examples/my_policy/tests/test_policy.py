"""ACME's policy in CI: safe, reproducible, and not worse than running to failure.

The fixtures come from twin's pytest plugin, which pytest loads wherever twin is
installed. ``--twin-max-examples`` and ``--twin-replications`` scale the checks up in a
nightly job.
"""

from acme_maintenance.policy import HoursOrVibration

from twin.core.scenario import ScenarioConfig

DAY_S = 86_400.0
# The default flow line for ten days after a day of warm-up: machines fail within it.
FLOW_LINE = ScenarioConfig(
    id="factory/flowline-v0", horizon_s=11 * DAY_S, warmup_s=DAY_S, tick_s=600.0
)


def test_the_policy_is_safe_and_reproducible(check_policy):
    report = check_policy(HoursOrVibration())
    print(report.decision_times)


def test_the_flow_line_keeps_its_invariants_under_the_policy(check_scenario):
    check_scenario("factory/flowline-v0", HoursOrVibration(), max_examples=5)


def test_the_registered_id_finds_the_policy(check_policy):
    check_policy("acme/hours-or-vibration-v0", run=False, max_examples=10)


def test_it_costs_no_more_than_running_to_failure(assert_not_worse):
    assert_not_worse(
        HoursOrVibration(),
        "maintenance/run-to-failure-v0",
        [FLOW_LINE],
        "cost_total",
        better="lower",
        replications=4,
    )
