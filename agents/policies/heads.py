"""Torch policy heads with action masks, and a numpy adapter for the model.

Every head maps a batch of observations ``(B, *obs_shape)`` and boolean action
masks ``(B, A)`` to **masked logits** ``(B, A)``: illegal actions get ``-inf``,
so their softmax probability is exactly ``0.0`` (``exp(-inf) == 0``), not a
small number. The heads:

* :class:`FeatureLinearPolicy` (``"feature_linear"``) — softmax-linear policy
  ``pi(a | s) ∝ exp(theta^T phi(s, a))`` over a feature map, the policy class
  of the linear Markov-game experiments (Viano, Freihaut et al., "Multi-agent
  imitation learning with function approximation: linear Markov games and
  beyond", BC with linear softmax policies over the features of LSVI-UCB);
* :class:`LinearPolicy` (``"linear"``) — logits linear in the flattened
  observation;
* :class:`MLPPolicy` (``"mlp"``) — fully connected network;
* :class:`SmallCNNPolicy` (``"cnn"``) — two 3x3 convolutions, for
  Tic-Tac-Toe's channels-last ``(3, 3, 2)`` PettingZoo observation;
* :class:`ImageCNNPolicy` (``"image_cnn"``) — a configurable convolution
  stack (strides, pooling) for rendered images such as the Gridworld's
  ``(32, 32, 3)`` picture; :data:`PAPER_BC_CNN` configures it as the
  published Gridworld BC network;
* :class:`ResidualSEPolicy` (``"residual_se"``) — residual CNN with
  squeeze-and-excitation blocks (Hu et al., "Squeeze-and-Excitation Networks",
  CVPR 2018), for Connect Four's ``(6, 7, 2)`` observation.

:class:`~agents.policies.TorchPolicy` turns any head into a numpy :class:`~mail_envs.core.BatchedPolicy`
(``policy(observations, masks) -> probs``), so that ``game.policy_table`` and
the exact Nash-gap solvers evaluate a network in one batched call.

Heads are rebuilt from ``head.config()`` with :func:`build_policy_head`, which
is how :mod:`agents.io` loads saved weights without pickle.

Example:
    >>> import numpy as np
    >>> head = MLPPolicy(observation_shape=(4,), num_actions=3, seed=0)
    >>> from agents.policies import TorchPolicy
    >>> policy = TorchPolicy(head, mode="stochastic")
    >>> probs = policy(np.eye(4, dtype=np.float32)[:2], np.array([[1, 0, 1], [0, 1, 0]], bool))
    >>> float(probs[0, 1]), float(probs[1, 1])
    (0.0, 1.0)
"""

from __future__ import annotations

import abc
import contextlib
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from agents.common import check_positive_int

__all__ = [
    "ARCHITECTURES",
    "PAPER_BC_CNN",
    "FeatureLinearPolicy",
    "ImageCNNPolicy",
    "LinearPolicy",
    "MLPPolicy",
    "PolicyHead",
    "ResidualSEPolicy",
    "SmallCNNPolicy",
    "apply_action_mask",
    "build_policy_head",
]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def apply_action_mask(logits: torch.Tensor, action_masks: torch.Tensor) -> torch.Tensor:
    """Set the logits of illegal actions to ``-inf``.

    Args:
        logits: ``(B, A)`` raw logits.
        action_masks: ``(B, A)`` masks, truthy where the action is legal.

    Returns:
        ``(B, A)`` masked logits; a softmax over them is exactly 0 on illegal
        actions.

    Example:
        >>> apply_action_mask(torch.zeros(1, 2), torch.tensor([[True, False]]))
        tensor([[0., -inf]])
    """
    return logits.masked_fill(~action_masks.bool(), -math.inf)


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Run parameter initialization under ``seed`` without touching the global RNG."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def _check_shape(name: str, shape: Sequence[int]) -> tuple[int, ...]:
    out = tuple(int(s) for s in shape)
    if not out or min(out) < 1:
        raise ValueError(
            f"{name} must be a non-empty tuple of positive ints, got {shape!r}"
        )
    return out


def _check_activation(activation: str) -> type[nn.Module]:
    if activation not in _ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
        )
    return _ACTIVATIONS[activation]


class PolicyHead(nn.Module, abc.ABC):
    """Base class: observations and masks in, masked logits out.

    Subclasses implement :meth:`logits` (unmasked) and :meth:`config`; the
    ``architecture`` class attribute names them in :data:`ARCHITECTURES`.

    Args:
        observation_shape: Shape of one observation.
        num_actions: Number of actions ``A``.
    """

    architecture: ClassVar[str] = ""

    def __init__(self, observation_shape: Sequence[int], num_actions: int) -> None:
        super().__init__()
        self.observation_shape = _check_shape("observation_shape", observation_shape)
        self.num_actions = check_positive_int("num_actions", num_actions)

    @abc.abstractmethod
    def logits(self, observations: torch.Tensor) -> torch.Tensor:
        """Unmasked logits ``(B, A)`` of float observations ``(B, *obs_shape)``."""

    def forward(
        self, observations: torch.Tensor, action_masks: torch.Tensor
    ) -> torch.Tensor:
        """Masked logits ``(B, A)``; illegal actions are ``-inf``.

        Args:
            observations: ``(B, *obs_shape)`` tensor of any real or bool dtype.
            action_masks: ``(B, A)`` boolean tensor.

        Returns:
            ``(B, A)`` float32 masked logits.
        """
        if observations.dtype != torch.float32:
            observations = observations.float()
        return apply_action_mask(self.logits(observations), action_masks)

    @abc.abstractmethod
    def config(self) -> dict[str, Any]:
        """JSON-serializable constructor keywords; ``build_policy_head`` inverts it."""

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PolicyHead:
        """Build a freshly initialized head from :meth:`config` output."""
        return cls(**config)

    @property
    def device(self) -> torch.device:
        """Device of the head's first parameter or buffer (CPU if it has none)."""
        for tensor in (*self.parameters(), *self.buffers()):
            return tensor.device
        return torch.device("cpu")


class FeatureLinearPolicy(PolicyHead):
    """Softmax-linear policy ``pi(a | s) ∝ exp(theta^T phi(s, a))``.

    The feature map is either a table ``phi`` of shape ``(S, A, d)`` (what the
    functions of :mod:`agents.linear.features` return), looked up through the
    observation as ``phi(o, a) = sum_s o_s phi[s, a]`` — for the default
    one-hot state observations of :class:`~mail_envs.core.TabularMarkovGame`
    this is exactly ``phi[s, a]`` —, or a torch callable ``feature_fn(obs) ->
    (B, A, d)``. Only table heads can be saved with :mod:`agents.io` (the table
    is stored with the weights). ``theta`` starts at zero (the uniform policy),
    the usual start for this convex problem.

    Args:
        feature_table: ``(S, A, d)`` features; observations are ``(S,)`` vectors.
        feature_fn: Alternative to the table: maps float observations
            ``(B, *observation_shape)`` to ``(B, A, d)`` features.
        observation_shape: Observation shape (only with ``feature_fn``).
        num_actions: Action count (only with ``feature_fn``).
        num_features: Feature dimension ``d`` (only with ``feature_fn``).
        table_shape: ``(S, A, d)`` to build a zero table to be filled by
            ``load_state_dict`` (used when loading from a config).
        seed: Unused (``theta`` starts at 0); kept for a uniform interface.

    Raises:
        ValueError: If neither or both of ``feature_table`` and ``feature_fn``
            are given, or shapes are invalid.

    Example:
        >>> phi = torch.eye(6).reshape(3, 2, 6)   # tabular one-hot, S=3, A=2
        >>> head = FeatureLinearPolicy(feature_table=phi)
        >>> head(torch.eye(3), torch.ones(3, 2, dtype=torch.bool)).shape
        torch.Size([3, 2])
    """

    architecture: ClassVar[str] = "feature_linear"

    def __init__(
        self,
        feature_table: np.ndarray | torch.Tensor | None = None,
        *,
        feature_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        observation_shape: Sequence[int] | None = None,
        num_actions: int | None = None,
        num_features: int | None = None,
        table_shape: Sequence[int] | None = None,
        seed: int | None = None,
    ) -> None:
        if table_shape is not None and feature_table is None and feature_fn is None:
            shape = _check_shape("table_shape", table_shape)
            if len(shape) != 3:
                raise ValueError(f"table_shape must be (S, A, d), got {table_shape!r}")
            feature_table = torch.zeros(shape, dtype=torch.float32)
        if (feature_table is None) == (feature_fn is None):
            raise ValueError("give exactly one of feature_table and feature_fn")
        if feature_table is not None:
            if isinstance(feature_table, torch.Tensor):
                table = feature_table.detach().to("cpu", torch.float32)
            else:
                table = torch.as_tensor(np.asarray(feature_table, dtype=np.float32))
            if table.ndim != 3 or min(table.shape) < 1:
                raise ValueError(
                    f"feature_table must have shape (S, A, d), got {tuple(table.shape)}"
                )
            if not torch.isfinite(table).all():
                raise ValueError("feature_table has non-finite entries")
            s, a, d = table.shape
            super().__init__((s,), a)
            self.feature_table: torch.Tensor | None
            self.register_buffer("feature_table", table.contiguous())
        else:
            if not callable(feature_fn):
                raise TypeError(f"feature_fn must be callable, got {feature_fn!r}")
            if observation_shape is None or num_actions is None or num_features is None:
                raise ValueError(
                    "feature_fn needs observation_shape, num_actions and num_features"
                )
            super().__init__(observation_shape, num_actions)
            d = check_positive_int("num_features", num_features)
            self.register_buffer("feature_table", None)
        self.feature_fn = feature_fn
        self.num_features = int(d)
        self.seed = seed
        self.theta = nn.Parameter(torch.zeros(self.num_features))

    def features(self, observations: torch.Tensor) -> torch.Tensor:
        """Features ``phi(o, a)`` of every action: ``(B, A, d)``."""
        if self.feature_table is None:
            return self.feature_fn(observations)  # type: ignore[misc]
        return torch.einsum("bs,sad->bad", observations, self.feature_table)

    def logits(self, observations: torch.Tensor) -> torch.Tensor:
        """``theta^T phi(o, a)`` for every action: ``(B, A)``."""
        if self.feature_table is None:
            return self.feature_fn(observations) @ self.theta  # type: ignore[misc]
        # (S, A, d) @ (d,) first: one pass over the table, then a (B, S) x (S, A) product.
        return observations @ (self.feature_table @ self.theta)

    def config(self) -> dict[str, Any]:
        """Table shape and seed; raises TypeError for a ``feature_fn`` head."""
        if self.feature_table is None:
            raise TypeError(
                "a FeatureLinearPolicy built from feature_fn cannot be serialized; "
                "build it from a feature_table to save it"
            )
        return {"table_shape": list(self.feature_table.shape), "seed": self.seed}


class LinearPolicy(PolicyHead):
    """Logits linear in the flattened observation: ``W o + b``.

    Args:
        observation_shape: Shape of one observation.
        num_actions: Number of actions.
        seed: Seed of the parameter initialization (None: global torch RNG).

    Example:
        >>> LinearPolicy(observation_shape=(3, 3, 2), num_actions=9, seed=0).linear
        Linear(in_features=18, out_features=9, bias=True)
    """

    architecture: ClassVar[str] = "linear"

    def __init__(
        self,
        observation_shape: Sequence[int],
        num_actions: int,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__(observation_shape, num_actions)
        self.seed = seed
        with _seeded(seed):
            self.linear = nn.Linear(math.prod(self.observation_shape), self.num_actions)

    def logits(self, observations: torch.Tensor) -> torch.Tensor:
        """``W flatten(o) + b``."""
        return self.linear(observations.flatten(1))

    def config(self) -> dict[str, Any]:
        """Constructor keywords."""
        return {
            "observation_shape": list(self.observation_shape),
            "num_actions": self.num_actions,
            "seed": self.seed,
        }


class MLPPolicy(PolicyHead):
    """Fully connected policy: ``output(embed(o))``.

    ``embed`` is the last hidden layer ``h(o)``, so the logits are
    ``W h(o) + b`` — the structure behind the deep-linear feature map
    ``phi(s, a) = e_a (x) h(s)`` of :mod:`agents.linear.features`.

    Args:
        observation_shape: Shape of one observation (flattened on input).
        num_actions: Number of actions.
        hidden_sizes: Widths of the hidden layers (at least one).
        activation: ``"relu"``, ``"tanh"``, ``"gelu"`` or ``"identity"``.
        layer_norm: A LayerNorm after every hidden linear layer (with
            ``"identity"``, the paper's "deep linear" network: the layer norms
            are its only non-linearity).
        seed: Seed of the parameter initialization (None: global torch RNG).

    Example:
        >>> head = MLPPolicy(observation_shape=(5,), num_actions=2, hidden_sizes=(8,), seed=0)
        >>> head.embed(torch.zeros(3, 5)).shape
        torch.Size([3, 8])
    """

    architecture: ClassVar[str] = "mlp"

    def __init__(
        self,
        observation_shape: Sequence[int],
        num_actions: int,
        *,
        hidden_sizes: Sequence[int] = (64, 64),
        activation: str = "relu",
        layer_norm: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__(observation_shape, num_actions)
        self.hidden_sizes = _check_shape("hidden_sizes", hidden_sizes)
        act = _check_activation(activation)
        if not isinstance(layer_norm, bool):
            raise TypeError(f"layer_norm must be a bool, got {layer_norm!r}")
        self.activation = activation
        self.layer_norm = layer_norm
        self.seed = seed
        sizes = (math.prod(self.observation_shape), *self.hidden_sizes)
        with _seeded(seed):
            layers: list[nn.Module] = []
            for fan_in, fan_out in itertools.pairwise(sizes):
                layers.append(nn.Linear(fan_in, fan_out))
                if layer_norm:
                    layers.append(nn.LayerNorm(fan_out))
                layers.append(act())
            self.trunk = nn.Sequential(*layers)
            self.output = nn.Linear(sizes[-1], self.num_actions)

    def embed(self, observations: torch.Tensor) -> torch.Tensor:
        """Last hidden layer ``h(o)``: ``(B, hidden_sizes[-1])``."""
        return self.trunk(observations.flatten(1))

    def logits(self, observations: torch.Tensor) -> torch.Tensor:
        """``output(embed(o))``."""
        return self.output(self.embed(observations))

    def config(self) -> dict[str, Any]:
        """Constructor keywords."""
        return {
            "observation_shape": list(self.observation_shape),
            "num_actions": self.num_actions,
            "hidden_sizes": list(self.hidden_sizes),
            "activation": self.activation,
            "layer_norm": self.layer_norm,
            "seed": self.seed,
        }


def _check_board_shape(observation_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = _check_shape("observation_shape", observation_shape)
    if len(shape) != 3:
        raise ValueError(
            f"observation_shape must be channels-last (H, W, C), got {observation_shape!r}"
        )
    return shape[0], shape[1], shape[2]


class SmallCNNPolicy(PolicyHead):
    """Small CNN for board observations in PettingZoo's channels-last layout.

    ``(H, W, C)`` input -> two 3x3 convolutions (padding 1) with ReLU -> a
    hidden linear layer (``embed``) -> logits. Sized for Tic-Tac-Toe
    (``(3, 3, 2)``, 9 actions).

    Args:
        observation_shape: ``(H, W, C)``, e.g. ``(3, 3, 2)``.
        num_actions: Number of actions, e.g. 9.
        channels: Channels of both convolutions.
        hidden_size: Width of the hidden linear layer.
        seed: Seed of the parameter initialization (None: global torch RNG).

    Example:
        >>> head = SmallCNNPolicy(observation_shape=(3, 3, 2), num_actions=9, seed=0)
        >>> head(torch.zeros(4, 3, 3, 2), torch.ones(4, 9, dtype=torch.bool)).shape
        torch.Size([4, 9])
    """

    architecture: ClassVar[str] = "cnn"

    def __init__(
        self,
        observation_shape: Sequence[int] = (3, 3, 2),
        num_actions: int = 9,
        *,
        channels: int = 32,
        hidden_size: int = 128,
        seed: int | None = None,
    ) -> None:
        super().__init__(_check_board_shape(observation_shape), num_actions)
        height, width, in_channels = self.observation_shape
        self.channels = check_positive_int("channels", channels)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.seed = seed
        with _seeded(seed):
            self.convs = nn.Sequential(
                nn.Conv2d(in_channels, channels, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(channels, channels, 3, padding=1),
                nn.ReLU(),
            )
            self.hidden = nn.Sequential(
                nn.Linear(channels * height * width, hidden_size), nn.ReLU()
            )
            self.output = nn.Linear(hidden_size, self.num_actions)

    def embed(self, observations: torch.Tensor) -> torch.Tensor:
        """Hidden layer ``h(o)``: ``(B, hidden_size)``."""
        x = self.convs(observations.permute(0, 3, 1, 2))
        return self.hidden(x.flatten(1))

    def logits(self, observations: torch.Tensor) -> torch.Tensor:
        """``output(embed(o))``."""
        return self.output(self.embed(observations))

    def config(self) -> dict[str, Any]:
        """Constructor keywords."""
        return {
            "observation_shape": list(self.observation_shape),
            "num_actions": self.num_actions,
            "channels": self.channels,
            "hidden_size": self.hidden_size,
            "seed": self.seed,
        }


_POOLINGS = ("flatten", "mean", "max")


class ImageCNNPolicy(PolicyHead):
    """CNN for rendered images (channels last): conv stack, pooling, hidden layer.

    ``(H, W, C)`` input -> for each entry of ``channels`` a ``kernel_size``
    convolution (its ``strides`` entry, ``padding``) with ReLU -> pooling
    (``"flatten"`` keeps every position, ``"mean"``/``"max"`` pool each
    channel over the image) -> a hidden linear layer with ReLU (``embed``,
    ``h(o)``) -> logits. The defaults are a cheap position-aware network for
    small pictures (two strided convolutions, flattened: ``32 x 32 x 3`` ->
    ``8 x 8 x 32`` -> 64); :data:`PAPER_BC_CNN` is the published Gridworld BC
    network (Viano, Freihaut et al., ``additional_experiments/bc.py``,
    ``SmallCNN``: 32 and 64 channels, stride 1, padding 1, global average
    pooling, 64 hidden units). ``embed`` also serves as the trunk of a DQN
    critic (:class:`agents.policies.extractors.HeadFeaturesExtractor`).

    Args:
        observation_shape: ``(H, W, C)``, e.g. ``(32, 32, 3)``.
        num_actions: Number of actions.
        channels: Output channels of each convolution (at least one).
        kernel_size: Side of every convolution kernel.
        strides: Stride of each convolution (one per entry of ``channels``).
        padding: Zero padding of every convolution.
        pooling: ``"flatten"``, ``"mean"`` or ``"max"``.
        hidden_size: Width of the hidden linear layer.
        seed: Seed of the parameter initialization (None: global torch RNG).

    Raises:
        ValueError: If a size is not a positive integer, ``strides`` does not
            match ``channels``, ``pooling`` is unknown, or the convolutions
            shrink the image to nothing.

    Example:
        >>> head = ImageCNNPolicy(observation_shape=(32, 32, 3), num_actions=4, seed=0)
        >>> head(torch.zeros(2, 32, 32, 3), torch.ones(2, 4, dtype=torch.bool)).shape
        torch.Size([2, 4])
        >>> head.embed(torch.zeros(2, 32, 32, 3)).shape
        torch.Size([2, 64])
    """

    architecture: ClassVar[str] = "image_cnn"

    def __init__(
        self,
        observation_shape: Sequence[int],
        num_actions: int,
        *,
        channels: Sequence[int] = (16, 32),
        kernel_size: int = 3,
        strides: Sequence[int] = (2, 2),
        padding: int = 1,
        pooling: str = "flatten",
        hidden_size: int = 64,
        seed: int | None = None,
    ) -> None:
        super().__init__(_check_board_shape(observation_shape), num_actions)
        height, width, planes = self.observation_shape
        self.channels = _check_shape("channels", channels)
        self.strides = _check_shape("strides", strides)
        if len(self.strides) != len(self.channels):
            raise ValueError(
                f"strides must hold one stride per convolution ({len(self.channels)}), "
                f"got {strides!r}"
            )
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
        self.padding = padding
        if pooling not in _POOLINGS:
            raise ValueError(f"pooling must be one of {_POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.seed = seed
        for stride in self.strides:
            height = (height + 2 * padding - self.kernel_size) // stride + 1
            width = (width + 2 * padding - self.kernel_size) // stride + 1
        if height < 1 or width < 1:
            raise ValueError(
                f"the convolutions shrink the {self.observation_shape} image to "
                f"{height} x {width}; use fewer, smaller-stride or padded convolutions"
            )
        flat = self.channels[-1] * (height * width if pooling == "flatten" else 1)
        with _seeded(seed):
            layers: list[nn.Module] = []
            for out, stride in zip(self.channels, self.strides, strict=True):
                layers += [
                    nn.Conv2d(planes, out, kernel_size, stride=stride, padding=padding),
                    nn.ReLU(),
                ]
                planes = out
            self.convs = nn.Sequential(*layers)
            self.hidden = nn.Sequential(nn.Linear(flat, hidden_size), nn.ReLU())
            self.output = nn.Linear(hidden_size, self.num_actions)

    def embed(self, observations: torch.Tensor) -> torch.Tensor:
        """Hidden layer ``h(o)``: ``(B, hidden_size)``."""
        x = self.convs(observations.float().permute(0, 3, 1, 2))
        if self.pooling == "mean":
            x = x.mean(dim=(2, 3))
        elif self.pooling == "max":
            x = x.amax(dim=(2, 3))
        return self.hidden(x.flatten(1))

    def logits(self, observations: torch.Tensor) -> torch.Tensor:
        """``output(embed(o))``."""
        return self.output(self.embed(observations))

    def config(self) -> dict[str, Any]:
        """Constructor keywords."""
        return {
            "observation_shape": list(self.observation_shape),
            "num_actions": self.num_actions,
            "channels": list(self.channels),
            "kernel_size": self.kernel_size,
            "strides": list(self.strides),
            "padding": self.padding,
            "pooling": self.pooling,
            "hidden_size": self.hidden_size,
            "seed": self.seed,
        }


#: :class:`ImageCNNPolicy` keywords of the published Gridworld BC network
#: (``SmallCNN`` of ``additional_experiments/bc.py``: conv 3->32, conv 32->64,
#: 3x3, stride 1, padding 1, ReLU; global average pooling; 64 hidden units).
PAPER_BC_CNN: dict[str, Any] = {
    "channels": (32, 64),
    "kernel_size": 3,
    "strides": (1, 1),
    "padding": 1,
    "pooling": "mean",
    "hidden_size": 64,
}


class _SEResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN, squeeze-and-excitation channel gate, skip, ReLU."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        squeezed = max(1, channels // reduction)
        self.excite = nn.Sequential(
            nn.Linear(channels, squeezed),
            nn.ReLU(),
            nn.Linear(squeezed, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        gate = self.excite(y.mean(dim=(2, 3)))  # squeeze: global average pool
        return torch.relu(x + y * gate[:, :, None, None])


class ResidualSEPolicy(PolicyHead):
    """Residual CNN with squeeze-and-excitation blocks (Connect Four sized).

    ``(H, W, C)`` input -> 3x3 stem conv (BN, ReLU) -> ``num_blocks`` residual
    blocks, each conv-BN-ReLU-conv-BN whose output channels are rescaled by a
    squeeze-and-excitation gate (global average pool -> bottleneck MLP ->
    sigmoid; Hu et al., CVPR 2018) before the skip connection -> 1x1 policy
    conv (2 channels, BN, ReLU) -> flattened ``embed`` -> linear logits.
    Uses batch norm: :class:`TorchPolicy` evaluates it in eval mode.

    Args:
        observation_shape: ``(H, W, C)``, e.g. ``(6, 7, 2)``.
        num_actions: Number of actions, e.g. 7.
        channels: Channels of the stem and every block.
        num_blocks: Number of residual SE blocks.
        se_reduction: Bottleneck ratio of the SE gate.
        seed: Seed of the parameter initialization (None: global torch RNG).

    Example:
        >>> head = ResidualSEPolicy(observation_shape=(6, 7, 2), num_actions=7, seed=0).eval()
        >>> head(torch.zeros(2, 6, 7, 2), torch.ones(2, 7, dtype=torch.bool)).shape
        torch.Size([2, 7])
    """

    architecture: ClassVar[str] = "residual_se"

    def __init__(
        self,
        observation_shape: Sequence[int] = (6, 7, 2),
        num_actions: int = 7,
        *,
        channels: int = 64,
        num_blocks: int = 4,
        se_reduction: int = 4,
        seed: int | None = None,
    ) -> None:
        super().__init__(_check_board_shape(observation_shape), num_actions)
        height, width, in_channels = self.observation_shape
        self.channels = check_positive_int("channels", channels)
        self.num_blocks = check_positive_int("num_blocks", num_blocks)
        self.se_reduction = check_positive_int("se_reduction", se_reduction)
        self.seed = seed
        with _seeded(seed):
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(),
            )
            self.blocks = nn.Sequential(
                *(_SEResidualBlock(channels, se_reduction) for _ in range(num_blocks))
            )
            self.policy_conv = nn.Sequential(
                nn.Conv2d(channels, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU()
            )
            self.output = nn.Linear(2 * height * width, self.num_actions)

    def embed(self, observations: torch.Tensor) -> torch.Tensor:
        """Flattened policy-conv features ``h(o)``: ``(B, 2 * H * W)``."""
        x = self.blocks(self.stem(observations.permute(0, 3, 1, 2)))
        return self.policy_conv(x).flatten(1)

    def logits(self, observations: torch.Tensor) -> torch.Tensor:
        """``output(embed(o))``."""
        return self.output(self.embed(observations))

    def config(self) -> dict[str, Any]:
        """Constructor keywords."""
        return {
            "observation_shape": list(self.observation_shape),
            "num_actions": self.num_actions,
            "channels": self.channels,
            "num_blocks": self.num_blocks,
            "se_reduction": self.se_reduction,
            "seed": self.seed,
        }


#: Architecture name -> head class; the names stored in saved configs.
ARCHITECTURES: dict[str, type[PolicyHead]] = {
    cls.architecture: cls
    for cls in (
        FeatureLinearPolicy,
        LinearPolicy,
        MLPPolicy,
        SmallCNNPolicy,
        ResidualSEPolicy,
        ImageCNNPolicy,
    )
}


def build_policy_head(architecture: str, config: dict[str, Any]) -> PolicyHead:
    """Build a freshly initialized head from its architecture name and config.

    Args:
        architecture: A key of :data:`ARCHITECTURES`.
        config: Keywords as returned by ``head.config()``.

    Returns:
        The head (parameters initialized, not trained).

    Raises:
        ValueError: If the architecture is unknown or the config is invalid.

    Example:
        >>> head = MLPPolicy(observation_shape=(4,), num_actions=2, seed=1)
        >>> type(build_policy_head("mlp", head.config())).__name__
        'MLPPolicy'
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"unknown policy architecture {architecture!r}; known: {sorted(ARCHITECTURES)}"
        )
    if not isinstance(config, dict):
        raise ValueError(f"config of {architecture!r} must be a dict, got {config!r}")
    try:
        return ARCHITECTURES[architecture].from_config(config)
    except TypeError as exc:
        raise ValueError(
            f"invalid config for {architecture!r}: {config!r} ({exc})"
        ) from exc
