"""The registry: ids, entry points and ``package.module:Class`` references."""

from importlib.metadata import EntryPoint

import pytest

from twin.core.registry import Registry, UnknownIdError
from twin.station.scenario import StationScenario


def test_installed_entry_points_provide_our_scenarios_and_policies():
    registry = Registry()
    assert "station/mmc-v0" in [entry.id for entry in registry.scenarios()]
    policy_ids = [entry.id for entry in registry.policies()]
    assert {"admission/admit-all-v0", "admission/queue-cap-v0"} <= set(policy_ids)
    assert registry.scenario("station/mmc-v0") is StationScenario


def test_unknown_id_names_the_known_ones():
    with pytest.raises(
        UnknownIdError, match=r"unknown policy 'admission/nope-v0'; known: .*admit-all"
    ):
        Registry().policy("admission/nope-v0")


def test_a_module_class_reference_is_imported():
    cls = Registry(discover=False).policy("models.admission.queue_cap:QueueCap")
    assert cls.id == "admission/queue-cap-v0"
    with pytest.raises(UnknownIdError, match="has no policy 'Missing'"):
        Registry().policy("models.admission.queue_cap:Missing")
    with pytest.raises(UnknownIdError, match="cannot import"):
        Registry().policy("no_such_package.mod:Thing")
    with pytest.raises(UnknownIdError, match="is not a scenario"):
        Registry().scenario("models.admission.queue_cap:QueueCap")


def test_ids_must_be_versioned():
    class Unversioned:
        id = "admission/whatever"

        def reset(self, context): ...
        def act(self, obs): ...

    with pytest.raises(ValueError, match="area/name-v0"):
        Registry().register_policy(Unversioned)


def test_two_classes_cannot_claim_one_id():
    class A:
        id = "x/a-v0"

    class B:
        id = "x/a-v0"

    registry = Registry(discover=False)
    registry.register_policy(A)
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_policy(B)


def test_a_broken_plugin_does_not_hide_the_others(monkeypatch):
    broken = EntryPoint("acme/broken-v0", "acme_missing.module:Policy", "twin.policies")
    good = EntryPoint(
        "admission/admit-all-v0", "models.admission.admit_all:AdmitAll", "twin.policies"
    )

    def fake_entry_points(group, name=None):
        points = [broken, good] if group == "twin.policies" else []
        return [point for point in points if name in (None, point.name)]

    monkeypatch.setattr("twin.core.registry.entry_points", fake_entry_points)
    registry = Registry()
    assert [entry.id for entry in registry.policies()] == ["admission/admit-all-v0"]
    with pytest.raises(UnknownIdError, match="acme_missing"):
        registry.policy("acme/broken-v0")


def test_looking_up_one_id_loads_only_that_plugin(monkeypatch):
    loaded = []
    good = EntryPoint(
        "admission/admit-all-v0", "models.admission.admit_all:AdmitAll", "twin.policies"
    )
    other = EntryPoint("acme/heavy-v0", "acme_heavy.module:Policy", "twin.policies")

    def fake_entry_points(group, name=None):
        points = [good, other] if group == "twin.policies" else []
        chosen = [point for point in points if name in (None, point.name)]
        loaded.extend(point.name for point in chosen)
        return chosen

    monkeypatch.setattr("twin.core.registry.entry_points", fake_entry_points)
    registry = Registry()
    assert registry.policy("admission/admit-all-v0").id == "admission/admit-all-v0"
    assert loaded == ["admission/admit-all-v0"]
