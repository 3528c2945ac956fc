"""Action-masked DQN on stable-baselines3 (subclasses, not a fork).

Stable-Baselines3's :class:`~stable_baselines3.DQN` has no notion of illegal
actions: its greedy action is an argmax over all actions, its epsilon-greedy
and warm-up actions are ``action_space.sample()``, and its TD target maxes over
every action of the next state. Board games (PettingZoo classic) give a
``Dict(observation=..., action_mask=...)`` observation instead. The classes
here read that mask and

* :class:`MaskedQNetwork` sets the Q-values of illegal actions to
  :data:`MASKED_Q_VALUE` in ``forward`` -- so the greedy action (``_predict``)
  and the target ``max_a' Q_target(s', a')`` range over legal actions only;
* :class:`MaskedDQN` samples epsilon-greedy and warm-up actions uniformly among
  the LEGAL actions of each environment (an independent coin per environment),
  from its own seeded ``np.random.Generator``.

:class:`MaskedQNetwork` also exposes the critic's penultimate layer
(:meth:`MaskedQNetwork.penultimate_features`): ``Q(s, a) = w_a^T h(s) + b_a``,
the feature map of the elliptical exploration bonus of
:mod:`agents.deep.explorers`.

The masked value is a large finite negative number rather than ``-inf``: the
TD target multiplies ``max_a' Q(s', a')`` by ``1 - done``, and at a terminal
``s'`` every action may be masked (PettingZoo gives an all-zero mask to an agent
that is done), where ``-inf * 0`` would be NaN but ``-1e9 * 0`` is 0.

Example:
    >>> from mail_envs.tictactoe import env
    >>> from mail_wrappers.frozen_opponent import FrozenOpponentWrapper
    >>> explorer_env = FrozenOpponentWrapper(env(), "player_2", opponent="uniform")
    >>> model = MaskedDQN(env=explorer_env, learning_starts=50, seed=0)
    >>> _ = model.learn(200)
    >>> action, _ = model.predict(explorer_env.reset(seed=0)[0], deterministic=True)
    >>> bool(explorer_env.action_masks()[action])  # a legal move
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import DQN
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import PyTorchObs
from stable_baselines3.dqn.policies import MultiInputPolicy, QNetwork

__all__ = [
    "MASKED_Q_VALUE",
    "MaskedDQN",
    "MaskedDQNPolicy",
    "MaskedQNetwork",
    "mask_q_values",
    "sample_legal_actions",
]

#: Q-value given to illegal actions (finite, so ``0 * masked`` is 0, not NaN).
MASKED_Q_VALUE = -1.0e9


def mask_q_values(q_values: th.Tensor, action_mask: th.Tensor) -> th.Tensor:
    """Replace the Q-values of illegal actions by :data:`MASKED_Q_VALUE`.

    Args:
        q_values: ``(B, A)`` Q-values.
        action_mask: ``(B, A)`` mask, legal where ``> 0.5`` (bool, int or float,
            as SB3's preprocessing turns the int8 Box mask into floats).

    Returns:
        ``(B, A)`` masked Q-values (a new tensor).

    Example:
        >>> mask_q_values(th.tensor([[1.0, 5.0]]), th.tensor([[1, 0]]))
        tensor([[ 1.0000e+00, -1.0000e+09]])
    """
    legal = action_mask > 0.5 if action_mask.dtype != th.bool else action_mask
    return q_values.masked_fill(~legal, MASKED_Q_VALUE)


def sample_legal_actions(
    action_masks: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draw one action per row uniformly among its legal actions (vectorized).

    Args:
        action_masks: ``(B, A)`` masks, legal where nonzero.
        rng: Random generator (one ``(B, A)`` uniform draw).

    Returns:
        ``(B,)`` int64 actions.

    Raises:
        ValueError: If a row has no legal action.

    Example:
        >>> sample_legal_actions(np.array([[0, 0, 1]]), np.random.default_rng(0))
        array([2])
    """
    legal = np.asarray(action_masks).reshape(len(action_masks), -1) != 0
    empty = np.flatnonzero(~legal.any(axis=1))
    if empty.size:
        raise ValueError(f"action mask row {int(empty[0])} has no legal action")
    keys = np.where(legal, rng.random(legal.shape), -1.0)
    return keys.argmax(axis=1).astype(np.int64)


class MaskedQNetwork(QNetwork):
    """SB3 ``QNetwork`` whose illegal actions get :data:`MASKED_Q_VALUE`.

    Args:
        *args: Positional arguments of :class:`~stable_baselines3.dqn.policies.QNetwork`.
        mask_key: Key of the action mask in the Dict observation.
        **kwargs: Keyword arguments of ``QNetwork``.

    Raises:
        ValueError: If the observation space is not a ``Dict`` holding
            ``mask_key`` with one entry per action.
    """

    def __init__(
        self, *args: Any, mask_key: str = "action_mask", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _check_mask_space(self.observation_space, self.action_space, mask_key)
        self.mask_key = mask_key

    def penultimate_features(self, obs: PyTorchObs) -> th.Tensor:
        """The critic's last hidden layer ``h(s)``, with ``Q(s, a) = w_a^T h(s) + b_a``.

        Args:
            obs: Preprocessable Dict observation batch (as ``forward`` takes).

        Returns:
            ``(B, d)`` features (the extractor's output when ``net_arch=[]``).
        """
        latent = self.extract_features(obs, self.features_extractor)
        return self.q_net[:-1](latent)

    def forward(self, obs: PyTorchObs) -> th.Tensor:
        """Masked Q-values ``(B, A)``; illegal actions get :data:`MASKED_Q_VALUE`."""
        q_values = super().forward(obs)
        return mask_q_values(q_values, obs[self.mask_key])  # type: ignore[index]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(mask_key=self.mask_key)
        return data


class MaskedDQNPolicy(MultiInputPolicy):
    """SB3 DQN policy for Dict observations whose Q-networks are masked.

    Both the online and the target network are :class:`MaskedQNetwork`, so the
    greedy action and the TD target's max range over legal actions only.

    Args:
        *args: Positional arguments of SB3's ``MultiInputPolicy``.
        mask_key: Key of the action mask in the Dict observation.
        **kwargs: Keyword arguments of ``MultiInputPolicy`` (``net_arch``,
            ``features_extractor_class``...).
    """

    def __init__(
        self, *args: Any, mask_key: str = "action_mask", **kwargs: Any
    ) -> None:
        # make_q_net runs inside super().__init__ and needs the key already.
        object.__setattr__(self, "mask_key", mask_key)
        self.mask_key: str
        super().__init__(*args, **kwargs)

    def make_q_net(self) -> MaskedQNetwork:
        """Build a :class:`MaskedQNetwork` (called for the online and target nets)."""
        net_args = self._update_features_extractor(
            self.net_args, features_extractor=None
        )
        return MaskedQNetwork(**net_args, mask_key=self.mask_key).to(self.device)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(mask_key=self.mask_key)
        return data


class MaskedDQN(DQN):
    """SB3 DQN for masked Dict observations: legal-only greedy, random and target.

    Every argument is SB3 DQN's (see :class:`stable_baselines3.DQN`); the policy
    defaults to :class:`MaskedDQNPolicy` (aliases ``"MultiInputPolicy"`` and
    ``"MaskedDQNPolicy"``), whose ``mask_key`` (default ``"action_mask"``) may be
    set through ``policy_kwargs``. Exploration: with probability
    ``exploration_rate``, independently per environment, an action drawn
    uniformly among that environment's legal actions; warm-up actions
    (``num_timesteps < learning_starts``) are legal uniform draws as well. These
    draws come from a generator seeded by ``seed`` (``set_random_seed``).

    Args:
        policy: Policy class or alias; default :class:`MaskedDQNPolicy`.
        env: The (vectorized or plain) environment with Dict observations.
        **kwargs: Keyword arguments of :class:`stable_baselines3.DQN`.

    Raises:
        ValueError: If the env's observation space is not a ``Dict``.
        TypeError: If the policy is not a :class:`MaskedDQNPolicy`.

    Example:
        >>> from mail_envs.tictactoe import env
        >>> from mail_wrappers.frozen_opponent import FrozenOpponentWrapper
        >>> model = MaskedDQN(env=FrozenOpponentWrapper(env(), "player_1"), seed=0)
        >>> model.policy.mask_key
        'action_mask'
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MultiInputPolicy": MaskedDQNPolicy,
        "MaskedDQNPolicy": MaskedDQNPolicy,
    }
    policy: MaskedDQNPolicy
    q_net: MaskedQNetwork
    q_net_target: MaskedQNetwork

    def __init__(
        self,
        policy: str | type[MaskedDQNPolicy] = MaskedDQNPolicy,
        env: Any = None,
        **kwargs: Any,
    ) -> None:
        self._action_rng = np.random.default_rng(kwargs.get("seed"))
        #: Optional optimism ``(batched Dict obs) -> (B, A)`` added to the
        #: Q-values when choosing greedy actions (not in the TD target), e.g. the
        #: current elliptical bonus of every action (UCB-style action selection).
        self.action_bonus: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None
        space = getattr(env, "observation_space", None)
        if space is not None and not isinstance(space, spaces.Dict):
            raise ValueError(
                "MaskedDQN needs a Dict observation space with an action mask (key "
                f"'action_mask' by default), got {space!r}"
            )
        super().__init__(policy, env, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        if not isinstance(self.policy, MaskedDQNPolicy):
            raise TypeError(
                f"MaskedDQN needs a MaskedDQNPolicy, got {type(self.policy).__name__}"
            )

    @property
    def mask_key(self) -> str:
        """Key of the action mask in the Dict observation."""
        return self.policy.mask_key

    def _excluded_save_params(self) -> list[str]:
        # The optimism hook is run-time wiring (often a bound method of a callback).
        return [*super()._excluded_save_params(), "action_bonus"]

    def set_random_seed(self, seed: int | None = None) -> None:
        """Seed SB3's generators and the legal-action sampler."""
        super().set_random_seed(seed)
        self._action_rng = np.random.default_rng(seed)

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Masked epsilon-greedy action(s): random ones are uniform over legal moves.

        Args:
            observation: A Dict observation, or a batch of them.
            state: Unused (recurrent policies only).
            episode_start: Unused (recurrent policies only).
            deterministic: Greedy (masked argmax) when True.

        Returns:
            The action(s) and ``state``.
        """
        if not isinstance(observation, dict) or self.mask_key not in observation:
            raise ValueError(
                f"MaskedDQN needs a Dict observation with key {self.mask_key!r}, got "
                f"{type(observation).__name__}"
            )
        explore = None
        if not deterministic and self.exploration_rate > 0.0:
            vectorized = self.policy.is_vectorized_observation(observation)
            masks = np.asarray(observation[self.mask_key])
            masks = masks.reshape(-1, self.action_space.n)  # type: ignore[attr-defined]
            explore = self._action_rng.random(len(masks)) < self.exploration_rate
            if explore.all():  # no greedy action is needed (nor computed)
                action = sample_legal_actions(masks, self._action_rng)
                return (action if vectorized else action.reshape(())), state
        if self.action_bonus is None:
            action, state = self.policy.predict(
                observation, state, episode_start, deterministic
            )
        else:
            action = self._optimistic_greedy(observation)
        if explore is not None and explore.any():
            action = np.array(action, copy=True).reshape(-1)
            action[explore] = sample_legal_actions(masks[explore], self._action_rng)
            if not vectorized:
                action = action.reshape(())
        return action, state

    def _optimistic_greedy(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        """``argmax_a Q(s, a) + action_bonus(s)[a]`` over legal actions."""
        assert self.action_bonus is not None
        self.policy.set_training_mode(False)
        obs_tensor, vectorized = self.policy.obs_to_tensor(observation)
        with th.no_grad():
            q_values = self.q_net(obs_tensor).double().cpu().numpy()
        batch = {
            k: np.asarray(v) if vectorized else np.asarray(v)[None]
            for k, v in observation.items()
        }
        bonus = np.asarray(self.action_bonus(batch), dtype=np.float64)
        if bonus.shape != q_values.shape:
            raise ValueError(
                f"action_bonus returned shape {bonus.shape}, expected {q_values.shape}"
            )
        legal = batch[self.mask_key].reshape(q_values.shape) != 0
        action = np.where(legal, q_values + bonus, -np.inf).argmax(axis=1)
        return action if vectorized else action.reshape(())

    def _sample_action(
        self, learning_starts: int, action_noise: Any = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        assert self._last_obs is not None, "self._last_obs was not set"
        assert isinstance(self._last_obs, dict)
        if self.num_timesteps < learning_starts:
            action = sample_legal_actions(
                self._last_obs[self.mask_key], self._action_rng
            )
        else:
            action, _ = self.predict(self._last_obs, deterministic=False)
        return action, action


def _check_mask_space(
    observation_space: spaces.Space[Any], action_space: spaces.Space[Any], mask_key: str
) -> None:
    if (
        not isinstance(observation_space, spaces.Dict)
        or mask_key not in observation_space.spaces
    ):
        raise ValueError(
            f"masked DQN needs a Dict observation space with key {mask_key!r}, got "
            f"{observation_space!r}"
        )
    if not isinstance(action_space, spaces.Discrete):
        raise ValueError(
            f"masked DQN needs a Discrete action space, got {action_space!r}"
        )
    shape = observation_space.spaces[mask_key].shape
    if shape is None or int(np.prod(shape)) != int(action_space.n):
        raise ValueError(
            f"observation_space[{mask_key!r}] has shape {shape}, expected "
            f"({int(action_space.n)},) to match the action space"
        )
