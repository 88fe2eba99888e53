"""Property tests for policies and scenarios, for twin's CI and for yours.

``check_policy`` feeds a policy its domain's edge cases and generated observations and
runs it in a short scenario; ``check_scenario`` runs generated scenarios and checks the
domain's invariants while they run; ``assert_not_worse`` compares a policy with a
baseline on common random numbers with a paired one-sided test. Each raises
:class:`CheckFailed` (an ``AssertionError``) with a readable report, including the one
``twin run`` command that reproduces a failing run. The pytest plugin (``twin.testing.plugin``,
loaded automatically) offers them as fixtures.
"""

from twin.testing import strategies
from twin.testing.comparison import ComparisonReport, PairedComparison, assert_not_worse
from twin.testing.kits import PolicyKit, ScenarioKit, policy_kit, scenario_kit
from twin.testing.policies import DecisionTimes, PolicyReport, check_policy
from twin.testing.report import CheckFailed, CheckReport, Finding
from twin.testing.scenarios import check_scenario

__all__ = [
    "CheckFailed",
    "CheckReport",
    "ComparisonReport",
    "DecisionTimes",
    "Finding",
    "PairedComparison",
    "PolicyKit",
    "PolicyReport",
    "ScenarioKit",
    "assert_not_worse",
    "check_policy",
    "check_scenario",
    "policy_kit",
    "scenario_kit",
    "strategies",
]
