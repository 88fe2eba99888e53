"""A trained network as a twin policy, evaluated with numpy alone.

A network trained in :class:`~twin.rl.env.TwinEnv` or
:class:`~twin.rl.parallel.TwinParallelEnv` (with any library) is saved as an ``.npz``
file of plain arrays, one weight matrix and bias per dense layer, and a JSON header
saying which decision area and scenario it was trained on, how its input is laid out
(:class:`~twin.rl.layout.InputLayout`), the hidden layers' activation and how it was
trained. :class:`AgentPolicy` loads it with ``allow_pickle=False`` (loading a model never
runs code) and decides like the environment's agent: encode the observation with the
area's learning interface, lay it out, run the layers, take the highest output (the
deterministic action of a PPO or DQN agent), decode it. It is a policy like any other:
``twin run``, experiments on common random numbers, ``twin viz`` and ``check_policy``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from twin.core.errors import UserError
from twin.core.files import read_capped, read_npz
from twin.core.learning import LearningInterface
from twin.core.policy import BasePolicy, PolicyParams
from twin.core.scenario import ScenarioConfig
from twin.rl.layout import InputLayout

MODEL_FORMAT = "twin.rl.dense-network"
MODEL_FORMAT_VERSION = 1
ACTIVATIONS = ("tanh", "relu")
"""Hidden-layer activations a model file may name (SB3's PPO default is tanh, DQN's relu)."""

Matrix = npt.NDArray[np.float32]


class ModelFileError(UserError, ValueError):
    """A model file that cannot be used: one line naming the file and what is wrong (a
    ``ValueError`` too, so a policy's params validation reports it at its key)."""


@dataclass(frozen=True)
class DenseNetwork:
    """Dense layers with one activation between them, and what they were trained for.

    Attributes:
        weights, biases: layer ``k`` maps ``x`` to ``x @ weights[k] + biases[k]``.
        activation: applied after every layer but the last.
        area: the decision area it decides in (``"acme.dispatch"``).
        scenario: the scenario it was trained on.
        layout: how its input is built from a decider's vector.
        training: how it was trained (algorithm, steps, seeds, library versions).
    """

    weights: tuple[Matrix, ...]
    biases: tuple[Matrix, ...]
    activation: str
    area: str
    scenario: str
    layout: InputLayout
    training: dict[str, Any] = field(default_factory=dict)

    def outputs(self, x: Matrix) -> Matrix:
        """The last layer's outputs (action logits or Q-values) for input ``x``."""
        hidden = np.tanh if self.activation == "tanh" else _relu
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ weight + bias
            if k < len(self.weights) - 1:
                x = hidden(x)
        return x

    def act(self, x: Matrix) -> int:
        """The highest output's index (ties: the lowest index, as ``argmax``)."""
        return int(np.argmax(self.outputs(x)))

    def save(self, path: str | Path) -> Path:
        """Write the network as ``.npz`` (arrays and a JSON header, nothing pickled)."""
        path = Path(path)
        header = {
            "format": MODEL_FORMAT,
            "version": MODEL_FORMAT_VERSION,
            "activation": self.activation,
            "area": self.area,
            "scenario": self.scenario,
            "layout": {
                "kind": self.layout.kind,
                "width": self.layout.width,
                "agents": list(self.layout.agents),
            },
            "training": self.training,
        }
        arrays: dict[str, Any] = {"header": np.array(json.dumps(header, sort_keys=True))}
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"weight_{k}"] = np.asarray(weight, np.float32)
            arrays[f"bias_{k}"] = np.asarray(bias, np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez(handle, **arrays)
        return path


# The networks twin trains are kilobytes to a few megabytes.
MAX_NETWORK_BYTES = 256_000_000


def load_network(path: str | Path) -> DenseNetwork:
    """Read a network saved by :meth:`DenseNetwork.save`; :class:`ModelFileError` naming
    the file and the problem when it is not one."""
    path = Path(path)

    def invalid(reason: str) -> ModelFileError:
        return ModelFileError(f"{path}: {reason}")

    try:
        # Read capped first: a device (/dev/zero) or a huge file is refused, not read.
        raw = read_capped(path, MAX_NETWORK_BYTES)
        arrays = read_npz(raw, MAX_NETWORK_BYTES)
    except FileNotFoundError:
        raise invalid("no such file") from None
    except (OSError, ValueError) as error:
        raise invalid(f"not a twin network (.npz of plain arrays): {error}") from None
    try:
        header = json.loads(str(arrays.pop("header")))
    except (KeyError, json.JSONDecodeError):
        raise invalid("no JSON header") from None
    if header.get("format") != MODEL_FORMAT:
        raise invalid(f"format {header.get('format')!r}, expected {MODEL_FORMAT!r}")
    if header.get("version") != MODEL_FORMAT_VERSION:
        raise invalid(f"version {header.get('version')!r}, expected {MODEL_FORMAT_VERSION}")
    if header.get("activation") not in ACTIVATIONS:
        raise invalid(f"activation {header.get('activation')!r}; allowed: {ACTIVATIONS}")
    layers = sum(1 for name in arrays if name.startswith("weight_"))
    if layers == 0 or set(arrays) != {
        f"{kind}_{k}" for k in range(layers) for kind in ("weight", "bias")
    }:
        raise invalid("arrays must be weight_0, bias_0, ... weight_N, bias_N")
    weights = tuple(arrays[f"weight_{k}"].astype(np.float32) for k in range(layers))
    biases = tuple(arrays[f"bias_{k}"].astype(np.float32) for k in range(layers))
    layout_fields = header.get("layout", {})
    layout = InputLayout(
        layout_fields.get("kind", "single"),
        int(layout_fields.get("width", 0)),
        tuple(layout_fields.get("agents", ())),
    )
    size = layout.size
    for k, (weight, bias) in enumerate(zip(weights, biases, strict=True)):
        if weight.ndim != 2 or bias.shape != (weight.shape[1],) or weight.shape[0] != size:
            raise invalid(f"layer {k} has shape {weight.shape} / {bias.shape}; input {size}")
        if not (np.all(np.isfinite(weight)) and np.all(np.isfinite(bias))):
            raise invalid(f"layer {k} has NaN or infinite weights")
        size = weight.shape[1]
    return DenseNetwork(
        weights=weights,
        biases=biases,
        activation=header["activation"],
        area=str(header.get("area", "")),
        scenario=str(header.get("scenario", "")),
        layout=layout,
        training=dict(header.get("training", {})),
    )


def _relu(x: Matrix) -> Matrix:
    return np.maximum(x, 0.0)


class AgentParams(PolicyParams):
    model: str = Field(
        default="", description="path of the network's .npz file (a shipped agent's own if empty)"
    )


class AgentPolicy(BasePolicy[Any, Any]):
    """A trained network (:func:`load_network`) deciding in its decision area.

    Use it with your own model: ``policy = {id = "twin.rl.agent_policy:AgentPolicy",
    params = {model = "runs/ppo.npz"}}``; shipped agents subclass it with an id, a domain
    and their default model (``signals/ppo-v0``).
    """

    id: ClassVar[str] = "rl/agent-v0"
    domain: ClassVar[str] = ""  # the model file's area (set per instance)
    description: ClassVar[str] = "a trained network from an .npz file, evaluated with numpy"
    Params: ClassVar[type[PolicyParams]] = AgentParams

    def __init__(self, params: PolicyParams | None = None) -> None:
        super().__init__(params)
        self.network = load_network(self.model_path())
        if type(self).domain and self.network.area != type(self).domain:
            raise ModelFileError(
                f"{self.model_path()}: trained for {self.network.area!r}, "
                f"but {self.id} decides in {type(self).domain!r}"
            )
        self.domain = self.network.area  # type: ignore[misc]
        self._interface: LearningInterface[Any] | None = None
        self._entity_of: Callable[[Any], str] = str
        self._model: Any = None
        self._choices: dict[str, int] = {}

    shipped_model: ClassVar[Path | None] = None
    """A shipped agent's network, run when ``params.model`` is empty."""

    def model_path(self) -> Path:
        """The network file this policy runs."""
        chosen = getattr(self.params, "model", "")
        if chosen:
            return Path(chosen)
        if self.shipped_model is None:
            raise ModelFileError(f"{self.id}: params.model must name a network's .npz file")
        return self.shipped_model

    def home_config(self, horizon_s: float) -> ScenarioConfig:
        """The scenario, with its params, the network was trained on (where
        ``check_policy`` checks it)."""
        params = self.network.training.get("env", {}).get("params", {})
        return ScenarioConfig(id=self.network.scenario, params=params, horizon_s=horizon_s)

    def bind(self, world: Any) -> None:
        """The built world: the encoding reads its model's fixed structure."""
        domain = world.registry.domain(self.network.area)
        area = domain.area(self.network.area)
        model = domain.model_of(world)
        if area.learning is None:
            raise ModelFileError(f"{self.model_path()}: {area.name!r} has no learning interface")
        interface = area.learning()
        layout = self.network.layout
        if layout.kind == "shared":
            agents = tuple(interface.agents(model))
            if agents != layout.agents:
                home = self.home_config(1.0)
                raise ModelFileError(
                    f"{self.model_path()}: trained for the deciders {_few(layout.agents)} "
                    f"of {home.id} {home.params}; this world has {_few(agents)}"
                )
        if layout.kind == "agent":
            widths = {
                a: interface.observation_space(model, a).shape[0] for a in interface.agents(model)
            }
            other = sorted(a for a, width in widths.items() if width != layout.width)
            if other:
                raise ModelFileError(
                    f"{self.model_path()}: reads a decider's vector of {layout.width} numbers; "
                    f"{_few(other)} of this world have others"
                )
        self._interface = interface
        self._entity_of = area.entity_of
        self._model = model
        self._choices = {
            a: int(interface.action_space(model, a).n) for a in interface.agents(model)
        }

    def act(self, obs: Any) -> Any:
        interface = self._interface
        if interface is None:
            raise RuntimeError(f"{self.id}: the run did not bind the world's model")
        agent = self._entity_of(obs)
        vector = self.network.layout.assemble(agent, interface.encode(self._model, obs))
        index = min(self.network.act(vector), self._choices[agent] - 1)
        return interface.decode(self._model, obs, index)


def _few(names: Sequence[str]) -> str:
    shown = ", ".join(names[:3])
    return f"{len(names)} ({shown}{', ...' if len(names) > 3 else ''})"
