"""The conveyor domain under twin's kit: nothing in twin knows this domain; the checkers
find its observations, edge cases, invariants and short runs through its entry point."""

from __future__ import annotations

from conveyor_twin.policies import FullSpeed, SlowWhenCrowded

from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.testing import check_policy, check_scenario

DAY_S = 86_400.0


def test_both_policies_pass_the_policy_kit():
    check_policy(FullSpeed(), max_examples=30)
    check_policy(SlowWhenCrowded(), max_examples=30)


def test_generated_belts_keep_the_domain_invariants():
    check_scenario("conveyor/belt-v0", max_examples=8)


def test_both_policies_see_the_same_arrivals_on_a_seed_and_other_arrivals_on_another():
    config = ScenarioConfig(id="conveyor/belt-v0", horizon_s=DAY_S / 4)
    arrived = {
        (policy, seed): simulate(config, policy, seed).kpis["arrived"].value
        for policy in ("conveyor/full-speed-v0", "conveyor/slow-when-crowded-v0")
        for seed in (0, 1)
    }
    assert arrived["conveyor/full-speed-v0", 0] == arrived["conveyor/slow-when-crowded-v0", 0]
    assert arrived["conveyor/full-speed-v0", 1] == arrived["conveyor/slow-when-crowded-v0", 1]
    assert arrived["conveyor/full-speed-v0", 0] != arrived["conveyor/full-speed-v0", 1]
