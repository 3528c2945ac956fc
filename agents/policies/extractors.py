"""A policy head's trunk as a Stable-Baselines3 features extractor (DQN critics).

SB3's default extractor for ``Dict`` observations
(:class:`~stable_baselines3.common.torch_layers.CombinedExtractor`) flattens
every non-``uint8`` entry, so a DQN explorer on the Gridworld's float image
observation would read ``32 x 32 x 3`` pixels through an MLP.
:class:`HeadFeaturesExtractor` instead runs one entry (``"observation"``)
through the ``embed`` trunk of a head of :mod:`agents.policies.heads` built by
:func:`~agents.policies.heads.build_policy_head` (the same factory as BC's
heads, e.g. ``"image_cnn"``) and flattens the other entries (the action mask)
beside it, as ``CombinedExtractor`` does. The critic's last hidden layer, the
feature map of DQN-Explore's bonus, then sits on top of the CNN.

Example:
    >>> import numpy as np
    >>> from gymnasium import spaces
    >>> space = spaces.Dict({
    ...     "observation": spaces.Box(0.0, 1.0, (32, 32, 3), np.float32),
    ...     "action_mask": spaces.Box(0, 1, (4,), np.int8)})
    >>> extractor = HeadFeaturesExtractor(space, architecture="image_cnn",
    ...                                   config={"hidden_size": 16, "seed": 0})
    >>> extractor.features_dim
    20
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_flattened_obs_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from agents.policies.heads import build_policy_head

__all__ = ["HeadFeaturesExtractor"]


def _embed(head: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The head's ``embed`` trunk (checked to exist when the extractor is built)."""
    return cast(Callable[[torch.Tensor], torch.Tensor], head.embed)


class HeadFeaturesExtractor(BaseFeaturesExtractor):
    """SB3 extractor: a head's ``embed`` on one ``Dict`` entry, the rest flattened.

    Args:
        observation_space: The ``Dict`` observation space.
        architecture: A key of :data:`agents.policies.heads.ARCHITECTURES`
            whose head has an ``embed`` trunk (``"image_cnn"``, ``"cnn"``,
            ``"mlp"``...).
        config: The head's keywords besides ``observation_shape`` and
            ``num_actions`` (its logits layer is not used).
        key: The entry the trunk reads.

    Raises:
        ValueError: If the space is not a ``Dict`` holding ``key``, or the
            head has no ``embed`` trunk.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        architecture: str = "image_cnn",
        config: Mapping[str, Any] | None = None,
        key: str = "observation",
    ) -> None:
        if (
            not isinstance(observation_space, spaces.Dict)
            or key not in observation_space.spaces
        ):
            raise ValueError(
                f"HeadFeaturesExtractor needs a Dict observation space with key "
                f"{key!r}, got {observation_space!r}"
            )
        shape = observation_space.spaces[key].shape
        assert shape is not None  # a Box
        head = build_policy_head(
            architecture,
            {
                "observation_shape": list(shape),
                "num_actions": 1,
                **dict(config or {}),
            },
        )
        if not hasattr(head, "embed"):
            raise ValueError(
                f"the {architecture!r} head has no embed trunk to extract features with"
            )
        with torch.no_grad():
            trunk_dim = int(_embed(head)(torch.zeros(1, *shape)).shape[1])
        others = [k for k in observation_space.spaces if k != key]
        other_dim = sum(
            get_flattened_obs_dim(observation_space.spaces[k]) for k in others
        )
        super().__init__(observation_space, features_dim=trunk_dim + other_dim)
        self.key = key
        self.others = others
        self.head = head
        self.flatten = nn.Flatten()

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """``[embed(obs[key]), flatten(obs[other]) ...]``: ``(B, features_dim)``."""
        parts = [_embed(self.head)(observations[self.key].float())]
        parts += [self.flatten(observations[k].float()) for k in self.others]
        return torch.cat(parts, dim=1)
