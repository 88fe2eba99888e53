"""AgentPolicy: a trained network from a plain .npz file, deciding as a twin policy."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from models.admission.queue_cap import QueueCap, QueueCapParams
from tests.rl.learning_world import SCENARIO, registry
from twin.core.errors import UserError
from twin.core.run import simulate
from twin.core.scenario import ScenarioConfig
from twin.rl import agent_policy
from twin.rl.agent_policy import (
    AgentParams,
    AgentPolicy,
    DenseNetwork,
    ModelFileError,
    load_network,
)
from twin.rl.layout import InputLayout

SINGLE = InputLayout("single", 2, ("station",))


def queue_cap_network(area: str = "station") -> DenseNetwork:
    """Reject (output 0) when ``10 * queue/10 + 10 * busy/servers >= 12.5``: with two
    servers, exactly when both are busy and at least 3 jobs wait (QueueCap(max_queue=3))."""
    return DenseNetwork(
        weights=(np.array([[10.0, 0.0], [10.0, 0.0]], np.float32),),
        biases=(np.array([0.0, 12.5], np.float32),),
        activation="relu",
        area=area,
        scenario=SCENARIO,
        layout=SINGLE,
        training={"algorithm": "by hand"},
    )


def test_a_saved_network_loads_as_it_was(tmp_path: Path) -> None:
    network = queue_cap_network()
    loaded = load_network(network.save(tmp_path / "cap.npz"))
    assert loaded.layout == network.layout
    assert loaded.training == {"algorithm": "by hand"}
    assert (loaded.area, loaded.scenario, loaded.activation) == ("station", SCENARIO, "relu")
    for ours, theirs in zip(
        loaded.weights + loaded.biases, network.weights + network.biases, strict=True
    ):
        assert np.array_equal(ours, theirs)


def test_hidden_layers_apply_the_activation_and_the_last_does_not() -> None:
    rng = np.random.default_rng(0)
    w0, b0 = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    w1, b1 = rng.normal(size=(4, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32)
    x = rng.normal(size=3).astype(np.float32)
    layout = InputLayout("single", 3, ("a",))
    tanh = DenseNetwork((w0, w1), (b0, b1), "tanh", "station", SCENARIO, layout)
    relu = DenseNetwork((w0, w1), (b0, b1), "relu", "station", SCENARIO, layout)
    np.testing.assert_allclose(tanh.outputs(x), np.tanh(x @ w0 + b0) @ w1 + b1, rtol=1e-6)
    np.testing.assert_allclose(relu.outputs(x), np.maximum(x @ w0 + b0, 0) @ w1 + b1, rtol=1e-6)


def test_decides_exactly_like_the_rule_its_weights_encode(tmp_path: Path) -> None:
    path = queue_cap_network().save(tmp_path / "cap.npz")
    config = ScenarioConfig(id=SCENARIO, horizon_s=86_400.0)
    agent = simulate(config, AgentPolicy(AgentParams(model=str(path))), 5, registry=registry())
    rule = simulate(config, QueueCap(QueueCapParams(max_queue=3)), 5, registry=registry())
    assert agent.kpis["rejected"].value > 0
    np.testing.assert_equal(
        {k: v.value for k, v in agent.kpis.items()}, {k: v.value for k, v in rule.kpis.items()}
    )


def test_a_network_trained_for_another_area_is_refused(tmp_path: Path) -> None:
    path = queue_cap_network(area="traffic.signals").save(tmp_path / "signals.npz")

    class StationAgent(AgentPolicy):
        id = "admission/agent-test-v0"
        domain = "station"

    with pytest.raises(ModelFileError, match=r"signals.npz: trained for 'traffic.signals'"):
        StationAgent(AgentParams(model=str(path)))


def test_a_file_with_pickled_objects_is_refused_without_running_them(tmp_path: Path) -> None:
    path = tmp_path / "pickled.npz"
    np.savez(path, header=np.array([{"format": "twin.rl.dense-network"}], dtype=object))
    with pytest.raises(ModelFileError, match=r"pickled.npz: "):
        load_network(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not a zip", "not a twin network"),
        (None, "no such file"),
    ],
)
def test_an_unreadable_file_is_one_line(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    path = tmp_path / "model.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match=problem) as error:
        load_network(path)
    assert "\n" not in str(error.value)


def test_layers_that_do_not_chain_are_refused(tmp_path: Path) -> None:
    network = queue_cap_network()
    broken = DenseNetwork(
        weights=(network.weights[0], np.ones((3, 2), np.float32)),
        biases=(network.biases[0], np.zeros(2, np.float32)),
        activation="relu",
        area="station",
        scenario=SCENARIO,
        layout=SINGLE,
    )
    with pytest.raises(ModelFileError, match="layer 1 has shape"):
        load_network(broken.save(tmp_path / "broken.npz"))


def test_a_network_run_on_a_world_it_was_not_trained_for_is_one_line(tmp_path: Path) -> None:
    shared = DenseNetwork(
        weights=(np.zeros((4, 2), np.float32),),
        biases=(np.zeros(2, np.float32),),
        activation="relu",
        area="station",
        scenario=SCENARIO,
        layout=InputLayout("shared", 2, ("station:a", "station:b")),
        training={"env": {"params": {"servers": 3}}},
    )
    path = shared.save(tmp_path / "two.npz")
    config = ScenarioConfig(id=SCENARIO, horizon_s=600.0)
    with pytest.raises(ModelFileError) as error:
        simulate(config, AgentPolicy(AgentParams(model=str(path))), 1, registry=registry())
    assert str(error.value) == (
        f"{path}: trained for the deciders 2 (station:a, station:b) of {SCENARIO} "
        "{'servers': 3}; this world has 1 (station)"
    )
    assert isinstance(error.value, UserError)  # the command line prints it as one line


def test_a_network_of_one_deciders_vector_decides_for_every_decider_of_that_width(
    tmp_path: Path,
) -> None:
    from tests.rl.learning_world import PLANT_SCENARIO, plant_registry

    # Equal outputs: argmax takes index 0, "continue", for every machine.
    network = DenseNetwork(
        weights=(np.zeros((1, 2), np.float32),),
        biases=(np.zeros(2, np.float32),),
        activation="relu",
        area="factory.maintenance",
        scenario=PLANT_SCENARIO,
        layout=InputLayout("agent", 1, ("machine:1",)),
    )
    path = network.save(tmp_path / "machine.npz")
    config = ScenarioConfig(id=PLANT_SCENARIO, horizon_s=86_400.0)
    agent = simulate(
        config, AgentPolicy(AgentParams(model=str(path))), 2, registry=plant_registry()
    )
    rule = simulate(config, "maintenance/run-to-failure-v0", 2, registry=plant_registry())
    np.testing.assert_equal(
        {k: v.value for k, v in agent.kpis.items()}, {k: v.value for k, v in rule.kpis.items()}
    )


@pytest.mark.parametrize("device", ["/dev/zero", "/proc/self/environ"])
def test_a_device_as_a_network_is_refused_without_reading_it(device: str) -> None:
    with pytest.raises(ModelFileError, match=f"{device}: not a twin network .*not a regular file"):
        load_network(device)


def zip_bomb(path: Path, zeros: int) -> Path:
    """An .npz whose one deflated member inflates to ``zeros`` bytes of zeros (about a
    thousandth of that on disk), written in chunks so the test never holds it whole."""
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("weight_0.npy", "w", force_zip64=True) as member,
    ):
        chunk = bytes(1 << 20)
        for _ in range(zeros // len(chunk)):
            member.write(chunk)
    return path


def test_an_archive_declaring_more_than_the_cap_is_refused_before_inflating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent_policy, "MAX_NETWORK_BYTES", 2_000_000)
    bomb = zip_bomb(tmp_path / "bomb.npz", 4 << 20)
    assert bomb.stat().st_size < 20_000
    with pytest.raises(ModelFileError) as error:
        load_network(bomb)
    assert str(error.value) == (
        f"{bomb}: not a twin network (.npz of plain arrays): archive member 'weight_0.npy' "
        "would inflate the "
        "archive to more than 2000000 bytes"
    )


def test_a_large_member_that_inflates_more_than_the_ratio_allows_is_refused(
    tmp_path: Path,
) -> None:
    bomb = zip_bomb(tmp_path / "bomb.npz", 8 << 20)  # under the cap, but ~1000:1
    with pytest.raises(ModelFileError, match=r"'weight_0.npy' inflates \d+:1 \(at most 100:1"):
        load_network(bomb)


def test_a_member_larger_than_its_declared_size_is_not_read_past_it(tmp_path: Path) -> None:
    saved = queue_cap_network().save(tmp_path / "saved.npz")
    path = tmp_path / "cap.npz"
    # The same members without numpy's zip64 fields, so the 4-byte sizes are the real ones.
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as copy:
        for name in source.namelist():
            copy.writestr(name, source.read(name))
    raw = bytearray(path.read_bytes())
    # Halve weight_0's uncompressed size in its local header and the central directory:
    # the reader stops there and the checksum no longer matches.
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("weight_0.npy")
    local = member.header_offset
    declared = struct.unpack_from("<I", raw, local + 22)[0]
    struct.pack_into("<I", raw, local + 22, declared // 2)
    central = raw.index(b"PK\x01\x02")  # the central directory's entries, in order
    while raw[central + 46 : central + 46 + len(b"weight_0.npy")] != b"weight_0.npy":
        central = raw.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", raw, central + 24, declared // 2)
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match=r"'weight_0.npy': Bad CRC-32") as error:
        load_network(path)
    assert "\n" not in str(error.value)
