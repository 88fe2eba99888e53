"""Forking a running world: a branch forked at t equals a run from 0 that switched at t."""

from __future__ import annotations

import math
from typing import Any

import pytest

from twin.core.errors import UserError
from twin.core.run import default_registry, simulate
from twin.core.scenario import ScenarioConfig
from twin.live.branches import Branch, BranchError, LiveRun, fork_method


def kpi_values(kpis: dict[str, Any]) -> dict[str, float]:
    # NaN stands for "no event of that kind" (no repair, no rejection): equal to itself here.
    return {name: "nan" if math.isnan(kpi.value) else kpi.value for name, kpi in kpis.items()}


def two_policies_per_domain() -> list[Any]:
    """For every registered domain, an area's own short run and two of its policies."""
    registry = default_registry()
    cases = []
    for domain in registry.domains():
        for area in domain.areas:
            config, rider = area.run_config(area.baseline)
            if rider is not None:  # the policy under test rides in params: not switchable
                continue
            others = sorted(
                e.id
                for e in registry.policies()
                if getattr(e.cls, "domain", None) == area.name and e.id != area.baseline
            )
            if others:
                cases.append(pytest.param(config, area.baseline, others, id=area.name))
    return cases


CASES = two_policies_per_domain()


def test_every_domain_has_a_switchable_area() -> None:
    names = {case.id.split(".")[0] for case in CASES}
    assert names == {domain.name for domain in default_registry().domains()}


def switched_run(config: ScenarioConfig, first: str, second: str, switch_s: float) -> Any:
    reference = LiveRun(config, first, 11)
    reference.advance(switch_s)
    reference.switch_policy(second)
    return kpi_values(reference.finish().kpis)


def changes_the_run(
    config: ScenarioConfig, first: str, others: list[str], switch_s: float, straight: Any
) -> Any:
    for policy in others:
        try:
            kpis = switched_run(config, first, policy, switch_s)
        except UserError:  # a trained policy made for another world refuses this one
            continue
        if kpis != straight:
            yield policy, kpis


@pytest.mark.parametrize(("config", "first", "others"), CASES)
def test_a_branch_forked_at_t_equals_a_run_switching_at_t(
    config: ScenarioConfig, first: str, others: list[str]
) -> None:
    # The first other policy that changes the run after the switch, so that equality
    # means something; an area's short run may be too short for any policy to act (wear
    # takes days), then four times as long.
    for longer in (1, 4):
        config = config.model_copy(update={"horizon_s": config.horizon_s * longer})
        switch_s = config.horizon_s / 2
        straight = kpi_values(simulate(config, first, 11).kpis)
        found = next(changes_the_run(config, first, others, switch_s, straight), None)
        if found is not None:
            break
    assert found is not None, f"no policy of {others} changes the run"
    second, expected = found

    live = LiveRun(config, first, 11)
    live.advance(switch_s)
    by_process, by_replay = (
        live.fork([Branch("second", second)], method=method)[0] for method in ("process", "replay")
    )
    assert kpi_values(by_process.result.kpis) == expected
    assert kpi_values(by_replay.result.kpis) == expected
    # Forking left the trunk where it was: it runs on as if nothing had happened.
    assert kpi_values(live.finish().kpis) == straight


def station_config() -> ScenarioConfig:
    return ScenarioConfig(id="station/mmc-v0", horizon_s=8 * 3600.0)


def test_branches_share_the_future_unless_given_another() -> None:
    live = LiveRun(station_config(), "admission/admit-all-v0", 3)
    live.advance(3600.0)
    same_a, same_b, other, other_again = (
        r.result.kpis["sojourn_mean_s"].value
        for r in live.fork(
            [Branch("a"), Branch("b"), Branch("c", future=1), Branch("d", future=1)],
            method="process",
        )
    )
    assert (
        same_a
        == same_b
        == simulate(station_config(), "admission/admit-all-v0", 3).kpis["sojourn_mean_s"].value
    )
    assert other == other_again
    assert other != same_a


def test_a_branch_records_its_decisions_until_asked() -> None:
    live = LiveRun(station_config(), "admission/admit-all-v0", 3)
    live.advance(3600.0)
    (result,) = live.fork([Branch("cap", "admission/queue-cap-v0", record_until_s=3900.0)])
    assert result.decisions, "a queue-cap policy decides at every arrival"
    assert all(3600.0 <= d.at_s < 3900.0 for d in result.decisions)
    assert {d.entity for d in result.decisions} == {"station"}


def test_a_failing_branch_reports_its_error_and_the_trunk_survives() -> None:
    live = LiveRun(station_config(), "admission/admit-all-v0", 3)
    live.advance(3600.0)
    with pytest.raises(BranchError, match=r"branch .bad. failed: ConfigError: .*unknown policy"):
        live.fork([Branch("bad", "admission/no-such-v0")], method="process")
    assert live.finish().kpis["arrived"].value > 0


def test_the_fork_method_follows_the_os() -> None:
    assert fork_method("replay") == "replay"
    assert fork_method("auto") in {"process", "replay"}


def test_advancing_past_the_horizon_is_refused() -> None:
    live = LiveRun(station_config(), "admission/admit-all-v0", 3)
    with pytest.raises(ValueError, match="horizon"):
        live.advance(9 * 3600.0)
