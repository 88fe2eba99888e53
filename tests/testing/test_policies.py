"""check_policy: every registered policy passes, and each kind of broken policy is caught."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import strategies as st

from twin.core.policy import BasePolicy, InvalidActionError
from twin.core.run import default_registry
from twin.core.scenario import ScenarioConfig
from twin.testing import CheckFailed, PolicyKit, check_policy

REGISTERED = sorted(entry.id for entry in default_registry().policies())


@pytest.mark.parametrize("policy_id", REGISTERED)
def test_every_registered_policy_passes(policy_id):
    report = check_policy(policy_id, max_examples=25)
    assert report.ok
    assert report.decision_times is not None
    assert report.decision_times.calls > 0
    assert 0 < report.decision_times.median_us <= report.decision_times.max_us


def failed(reference: str, **options: Any) -> dict[str, str]:
    """The failing checks of a policy: check name -> detail."""
    with pytest.raises(CheckFailed) as caught:
        check_policy(reference, max_examples=40, **options)
    assert "FAIL" in str(caught.value)  # the message is the report a test run shows
    return {finding.check: finding.detail for finding in caught.value.report.failures}


def test_an_out_of_range_action_is_caught_in_edge_cases_generated_observations_and_a_run():
    failures = failed("tests.testing.broken:AssignsMissingAgv")
    assert set(failures) == {
        "answers the 5 edge-case observations",
        "valid actions on generated observations, no exception",
        "runs in factory/jobshop-agv-v0 for 86400 s, twice alike",
    }
    generated = failures["valid actions on generated observations, no exception"]
    # Shrunk to the smallest fleet: one AGV, and the policy names AGV 1.
    assert "unknown AGV 1: the fleet has AGVs 0..0" in generated
    run = failures["runs in factory/jobshop-agv-v0 for 86400 s, twice alike"]
    assert "reproduce: twin run --scenario factory/jobshop-agv-v0" in run


def test_a_policy_drawing_from_global_random_is_caught():
    failures = failed("tests.testing.broken:GlobalRandom")
    assert set(failures) == {
        "same seed, same actions (no global or hidden randomness)",
        "runs in factory/flowline-v0 for 259200 s, twice alike",
    }
    detail = failures["same seed, same actions (no global or hidden randomness)"]
    assert "when only the global random state changed" in detail
    assert "draw from context.rng" in detail


def test_a_policy_that_crashes_on_an_empty_queue_is_caught_with_the_smallest_observation():
    failures = failed("tests.testing.broken:CrashesOnEmptyQueue", run=False)
    detail = failures["valid actions on generated observations, no exception"]
    assert "raised ZeroDivisionError: division by zero" in detail
    assert "queue_length=0, busy_servers=0, servers=1" in detail
    assert "broken.py" in detail  # where it raised


def test_state_that_survives_reset_is_caught():
    failures = failed("tests.testing.broken:RemembersAcrossResets", run=False)
    detail = failures["same seed, same actions (no global or hidden randomness)"]
    assert "state survives reset()" in detail


def test_a_policy_that_mutates_its_observation_is_caught():
    class Clears(BasePolicy[dict, bool]):
        id: ClassVar[str] = "broken/clears-v0"
        domain: ClassVar[str] = "test.arrays"

        def act(self, obs: dict) -> bool:
            obs["load"][:] = 0.0  # the bug: it edits what every other reader sees
            return True

    def check_bool(action: object, obs: Any, policy_id: str) -> object:
        if type(action) is not bool:
            raise InvalidActionError(policy_id, action, "expected a bool")
        return action

    kit = PolicyKit(
        name="test.arrays",
        observation=dict,
        action=bool,
        check_action=check_bool,
        entity_of=lambda obs: "load",
        observations=lambda: st.lists(st.floats(0.1, 1.0), min_size=1).map(
            lambda xs: {"load": np.array(xs)}
        ),
        edge_cases=lambda: [],
        run_config=lambda ref: (ScenarioConfig(id="station/mmc-v0", horizon_s=1.0), None),
        context_info=dict,
    )
    with pytest.raises(CheckFailed, match="act\\(\\) changed the observation it was given"):
        check_policy(Clears(), kit=kit, run=False, max_examples=20)


def test_the_global_random_state_of_the_caller_is_left_alone():
    import random

    random.seed(7)
    expected = random.random()
    random.seed(7)
    check_policy("admission/admit-all-v0", max_examples=5, run=False)
    assert random.random() == expected


def test_an_unknown_domain_says_which_domains_are_registered():
    class Alien(BasePolicy[Any, Any]):
        id: ClassVar[str] = "alien/v0"
        domain: ClassVar[str] = "alien"

        def act(self, obs: Any) -> Any:
            return obs

    with pytest.raises(
        KeyError, match=r"no registered domain decides 'alien'.*registered: .*station"
    ):
        check_policy(Alien())


def test_answers_that_change_on_every_call_are_caught_even_when_replays_disagree():
    failures = failed("tests.testing.broken:UsesTheClock", run=False)
    detail = failures["same seed, same actions (no global or hidden randomness)"]
    assert "state" in detail
    assert "unseeded randomness" in detail


def test_every_signal_policy_of_an_intersection_is_judged_by_the_intersection_rule():
    class OutOfPhase(BasePolicy[Any, Any]):
        id: ClassVar[str] = "broken/out-of-phase-v0"
        domain: ClassVar[str] = "traffic.signals"

        def act(self, obs: Any) -> Any:
            from twin.traffic.observation import SignalAction

            return SignalAction(len(obs.green_s), 5.0)  # one past the last phase

    with pytest.raises(CheckFailed, match=r"phase must be an int in \[0, 1\)"):
        check_policy(OutOfPhase(), run=False, max_examples=20)


class RaisesOnReset(BasePolicy[Any, Any]):
    """Cannot even be reset."""

    id: ClassVar[str] = "broken/raises-on-reset-v0"
    domain: ClassVar[str] = "station"

    def reset(self, context: Any) -> None:
        raise RuntimeError("no reset for me")

    def act(self, obs: Any) -> Any:
        raise AssertionError("never asked")


def test_a_policy_whose_reset_raises_gets_the_report_not_an_escape():
    report = check_policy(RaisesOnReset(), max_examples=5, raise_on_failure=False)
    details = {finding.check: finding.detail for finding in report.failures}
    assert len(details) == len(report.findings)  # every check fails, none escapes
    assert all("RuntimeError: no reset for me" in detail for detail in details.values())
    run = next(detail for check, detail in details.items() if check.startswith("runs in"))
    assert "reproduce: twin run --scenario" in run


def test_progress_says_each_property_as_it_is_done(capsys):
    check_policy("admission/admit-all-v0", max_examples=3, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 6
    assert all(line.startswith("check_policy 'admission/admit-all-v0': ") for line in lines)
    assert "1/5 ok   answers the " in lines[0]
    assert lines[4].endswith("running station/mmc-v0 for 86400 simulated s, twice ...")
    assert "5/5 ok   runs in station/mmc-v0" in lines[5]


def test_no_progress_unless_asked_or_on_a_terminal(capsys):
    check_policy("admission/admit-all-v0", max_examples=3, run=False)
    assert capsys.readouterr().err == ""


def test_a_policy_that_never_answers_is_reported_and_not_asked_again():
    report = check_policy(
        "tests.testing.broken:NeverAnswers", decision_timeout_s=0.3, raise_on_failure=False
    )
    edge_cases, valid, unchanged, reproducible, run = report.findings
    assert not any(finding.passed for finding in report.findings)
    assert edge_cases.detail.startswith("did not answer within 0.3 s on StationObservation(")
    for finding in (valid, unchanged, reproducible):
        assert finding.detail == f"not checked: {edge_cases.detail}"
    assert "DecisionTimeout: policy 'broken/never-answers-v0' failed at t = " in run.detail
    assert run.detail.endswith(" --decision-timeout-s 0.3")
    assert "reproduce: twin run --scenario station/mmc-v0 " in run.detail
