"""Elliptical exploration bonus as a reward: Gymnasium and SB3 VecEnv wrappers.

:class:`EllipticalBonus` holds ``Lambda^{-1}`` and a feature map and does the
bookkeeping; the math is in :mod:`mail_wrappers.elliptical`.
:class:`EllipticalBonusReward` (a ``gymnasium.Wrapper``) and
:class:`EllipticalBonusVecEnv` (an SB3 ``VecEnvWrapper``) put its bonus
``beta * ||phi(s, a)||_{Lambda^{-1}}`` into the reward:

* ``reward_mode="replace"``: the reward *is* the bonus (reward-free
  exploration, Wang et al., NeurIPS 2020);
* ``reward_mode="add"``: env reward plus bonus (LSVI-UCB-style optimism).

The bonus of a transition is computed with ``Lambda`` built from the data
*before* it (so a first visit earns the full ``beta * ||phi||/sqrt(ridge)``),
then ``phi`` is added to ``Lambda`` while ``update`` is True (a freeze switch
like Gymnasium's ``NormalizeReward.update_running_mean``). In the VecEnv
wrapper the envs of one step all see ``Lambda`` from before that step. The
bonus is also reported in ``info["bonus"]``. While ``update`` is on, a
revisited pair earns less than before, so the wrapped env is not
step-deterministic under a fixed seed (Gymnasium's ``check_env`` needs
``update=False``).

Features come in two forms:

* full: ``features(observations, actions) -> (B, D)`` for a batch;
* block: ``state_features(observations) -> (B, d)`` with a ``Discrete(A)``
  action space, meaning ``phi(s, a) = e_a (x) h(s)`` (one ``d x d`` block of
  ``Lambda`` per action; the right form for a DQN critic ``Q = w_a^T h(s)``).

Observations are passed as a batch (leading axis ``B``; a ``dict`` of such
arrays for ``Dict`` spaces). Default: block form with ``h`` the flattened
float observation (the ``"observation"`` entry of a ``Dict``) and a constant
1 (:func:`flat_observation_features`).

When the feature map changes (a critic was trained), call
``rebuild(state_features=new_h)`` (or ``features=``) to recompute
``Lambda^{-1}`` from stored data: pass ``observations`` and ``actions``, or
keep them in the wrapper with ``keep_history=True``.

### Version History

* v0: initial release.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

import gymnasium
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from mail_wrappers.elliptical import (
    _check_beta,
    _check_ridge,
    block_elliptical_bonus,
    block_elliptical_bonus_all_actions,
    block_logdet,
    block_logdet_increment,
    block_rebuild_cov_inv,
    block_sherman_morrison_update,
    elliptical_bonus,
    rebuild_cov_inv,
    sherman_morrison_update,
)

__all__ = [
    "EllipticalBonus",
    "EllipticalBonusReward",
    "EllipticalBonusVecEnv",
    "flat_observation_features",
]

FeatureFn = Callable[[Any, np.ndarray], np.ndarray]
StateFeatureFn = Callable[[Any], np.ndarray]
_MODES = ("replace", "add")


def flat_observation_features(observations: Any) -> np.ndarray:
    """Default state features: the flattened float64 observation and a constant 1.

    The constant makes every action's block see the observation's "bias"
    direction, so even an all-zero observation (an empty board) has a
    bonus.

    Args:
        observations: ``(B, ...)`` array, or a ``dict`` with ``"observation"``.

    Returns:
        ``(B, prod(obs_shape) + 1)`` float64 array.

    Example:
        >>> flat_observation_features(np.zeros((2, 3, 3)))[:, -1].tolist()
        [1.0, 1.0]
    """
    if isinstance(observations, Mapping):
        observations = observations["observation"]
    obs = np.asarray(observations)
    flat = obs.reshape(obs.shape[0], -1)
    out = np.empty((flat.shape[0], flat.shape[1] + 1))
    out[:, :-1] = flat
    out[:, -1] = 1.0
    return out


def _batch_one(observation: Any, copy: bool) -> Any:
    """A batch of one observation (copied when it is to be stored)."""
    as_array = np.array if copy else np.asarray
    if isinstance(observation, Mapping):
        return {k: as_array(v)[None] for k, v in observation.items()}
    return as_array(observation)[None]


def _batch_size(observations: Any) -> int:
    if isinstance(observations, Mapping):
        observations = next(iter(observations.values()))
    return int(np.asarray(observations).shape[0])


def _concat(batches: list[Any]) -> Any:
    if isinstance(batches[0], Mapping):
        return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    return np.concatenate(batches)


class EllipticalBonus:
    """``Lambda^{-1}``, a feature map and the bonus they define.

    Args:
        features: Full feature map ``(observations, actions) -> (B, D)``.
        state_features: Block form ``observations -> (B, d)`` (needs
            ``num_actions``). Default when neither is given:
            :func:`flat_observation_features`.
        num_actions: ``A`` for the block form.
        beta: Bonus scale ``>= 0``.
        ridge: Regulariser ``lambda > 0`` (``Lambda`` starts at ``ridge * I``).
        keep_history: Store every update's observations and actions so that
            :meth:`rebuild` can recompute ``Lambda`` without arguments.

    Raises:
        ValueError: If both feature forms are given, the block form lacks
            ``num_actions``, ``beta`` is negative or not finite, or ``ridge``
            is not finite and positive. Later, a bonus or update whose
            ``phi^T Lambda^{-1} phi`` overflows (features far too large) raises
            ``ValueError`` instead of returning ``inf``/``nan``.
        TypeError: If ``beta`` or ``ridge`` is not a real number.

    Example:
        >>> bonus = EllipticalBonus(
        ...     state_features=lambda obs: obs, num_actions=2, beta=1.0, ridge=1.0
        ... )
        >>> obs, acts = np.array([[1.0, 0.0]]), np.array([0])
        >>> float(bonus.bonus(obs, acts)[0])
        1.0
        >>> bonus.update(obs, acts)
        >>> round(float(bonus.bonus(obs, acts)[0]), 6)  # sqrt(1/2)
        0.707107
    """

    def __init__(
        self,
        *,
        features: FeatureFn | None = None,
        state_features: StateFeatureFn | None = None,
        num_actions: int | None = None,
        beta: float = 1.0,
        ridge: float = 1.0,
        keep_history: bool = False,
    ) -> None:
        if features is not None and state_features is not None:
            raise ValueError("give either features or state_features, not both")
        if features is None and state_features is None:
            state_features = flat_observation_features
        if state_features is not None and (num_actions is None or num_actions < 1):
            raise ValueError(
                f"the block form (state_features) needs num_actions >= 1, got "
                f"{num_actions!r}"
            )
        self.beta = _check_beta(beta)
        self.ridge = _check_ridge(ridge)
        self.features = features
        self.state_features = state_features
        self.num_actions = num_actions
        self.keep_history = bool(keep_history)
        self.cov_inv: np.ndarray | None = None  # (D, D) or (A, d, d), lazily sized
        self.num_updates = 0
        #: ``log det Lambda``, tracked exactly through every update by the
        #: matrix determinant lemma (``log(1 + phi^T Lambda^-1 phi)`` per pair);
        #: the "rarely switching" rule rebuilds when it has grown by ``log 2``.
        self.logdet = 0.0
        self._obs_history: list[Any] = []
        self._action_history: list[np.ndarray] = []
        self._buffers: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # The feature buffers hold views, which pickling and deepcopy would
        # turn into independent arrays: drop them (they are rebuilt on use).
        state = self.__dict__.copy()
        state["_buffers"] = {}
        return state

    @property
    def is_block(self) -> bool:
        """Whether the per-action block form is used."""
        return self.state_features is not None

    def _phi(
        self, observations: Any, actions: np.ndarray, check_finite: bool = True
    ) -> np.ndarray:
        if self.state_features is not None:
            out = np.asarray(self.state_features(observations), dtype=np.float64)
        else:
            assert self.features is not None
            out = np.asarray(self.features(observations, actions), dtype=np.float64)
        if out.ndim != 2 or out.shape[0] != actions.shape[0]:
            raise ValueError(
                f"feature map must return ({actions.shape[0]}, dim) features, got "
                f"shape {out.shape}"
            )
        if check_finite and not np.isfinite(out).all():
            raise ValueError("feature map returned non-finite features")
        if self.cov_inv is None:
            dim = out.shape[1]
            eye = np.eye(dim) / self.ridge
            if self.num_actions is not None and self.is_block:
                self.cov_inv = np.repeat(eye[None], self.num_actions, axis=0)
            else:
                self.cov_inv = eye
            blocks = self.cov_inv.shape[0] if self.cov_inv.ndim == 3 else 1
            self.logdet = blocks * dim * math.log(self.ridge)
        elif out.shape[1] != self.cov_inv.shape[-1]:
            raise ValueError(
                f"feature map returned dimension {out.shape[1]} but Lambda has "
                f"dimension {self.cov_inv.shape[-1]}; call rebuild() after changing "
                "the feature map"
            )
        return out

    def bonus(self, observations: Any, actions: np.ndarray) -> np.ndarray:
        """Bonuses ``(B,)`` of a batch of (observation, action) pairs."""
        return self.bonus_and_update(observations, actions, update=False)

    def bonus_all_actions(self, observations: Any) -> np.ndarray:
        """Bonus of every action in a batch of states, ``(B, A)`` (block form only).

        The optimism of LSVI-UCB at decision time: an explorer that picks
        ``argmax_a Q(s, a) + bonus(s, a)`` tries what the data does not cover.

        Raises:
            ValueError: For the full feature form (it has no per-action blocks).
        """
        if not self.is_block:
            raise ValueError("bonus_all_actions needs the block form (state_features)")
        batch = np.zeros(_batch_size(observations), dtype=np.int64)
        phi = self._phi(observations, batch)
        assert self.cov_inv is not None
        return block_elliptical_bonus_all_actions(self.cov_inv, phi, self.beta)

    def update(self, observations: Any, actions: np.ndarray) -> None:
        """Add a batch of pairs to ``Lambda`` (in order)."""
        actions = np.asarray(actions, dtype=np.int64).reshape(-1)
        phi = self._phi(observations, actions)
        self._update(phi, actions)
        self._remember(observations, actions)

    def bonus_and_update(
        self, observations: Any, actions: np.ndarray, *, update: bool = True
    ) -> np.ndarray:
        """Bonuses under the current ``Lambda``, then (optionally) the update.

        One pair (the per-step case of a single env) takes a fused path:
        ``u = Lambda^{-1} phi`` gives both the bonus ``beta * sqrt(phi^T u)``
        and the Sherman–Morrison update ``Lambda^{-1} -= u u^T / (1 + phi^T u)``
        (applied in place).
        """
        actions = np.asarray(actions, dtype=np.int64).reshape(-1)
        if actions.shape[0] == 1:
            value = self._one(observations, actions, update)
            return np.array([value])
        phi = self._phi(observations, actions)
        cov_inv = self.cov_inv
        assert cov_inv is not None
        if self.is_block:
            out = block_elliptical_bonus(cov_inv, phi, actions, self.beta)
        else:
            out = elliptical_bonus(cov_inv, phi, self.beta)
        if update:
            self._update(phi, actions)
            self._remember(observations, actions)
        return out

    def _one(self, observations: Any, actions: np.ndarray, update: bool) -> float:
        """The fused path for one pair (``observations`` a batch of one)."""
        phi = self._phi(observations, actions, check_finite=False)[0]
        cov_inv = self.cov_inv
        assert cov_inv is not None
        if self.is_block:
            a = int(actions[0])
            if not 0 <= a < cov_inv.shape[0]:
                raise ValueError(f"action {a} is not in [0, {cov_inv.shape[0]})")
            cov_inv = cov_inv[a]
        value = self._fused(cov_inv, phi, update)
        if update:
            self._remember(observations, actions)
        return value

    def _fused(self, inv: np.ndarray, phi: np.ndarray, update: bool) -> float:
        """Bonus of ``phi`` under ``inv``, then (optionally) the in-place update."""
        with np.errstate(over="ignore", invalid="ignore"):
            u = inv @ phi
            quad = float(phi @ u)
        # A non-finite feature makes phi^T Lambda^{-1} phi non-finite (Lambda^{-1}
        # has a positive diagonal), so one float check replaces a pass over phi;
        # finite but huge features overflow it, which is refused as well.
        value = self.beta * math.sqrt(max(quad, 0.0)) if math.isfinite(quad) else quad
        if not math.isfinite(value):
            if not np.isfinite(phi).all():
                raise ValueError("feature map returned non-finite features")
            raise ValueError(
                f"elliptical bonus overflowed: phi^T Lambda^-1 phi = {quad!r} "
                f"(beta={self.beta!r}); the features are too large, rescale them"
            )
        if update:
            inv -= np.multiply.outer(u, u / (1.0 + quad))
            self.num_updates += 1
            self.logdet += math.log1p(max(quad, 0.0))
        return value

    def _step(self, observation: Any, action: Any, update: bool) -> float:
        """Bonus of one unbatched pair, then (optionally) the update.

        The per-step path of :class:`EllipticalBonusReward`: with the default
        features and a Lambda already sized, phi is written straight into a
        buffer (no batch of one, no feature-map call). Same numbers as
        :meth:`bonus_and_update` on ``(observation[None], [action])``.
        """
        cov_inv = self.cov_inv
        if (
            cov_inv is not None
            and self.state_features is flat_observation_features
            and (type(action) is int or isinstance(action, np.integer))
        ):
            obs = (
                observation["observation"]
                if type(observation) is dict or isinstance(observation, Mapping)
                else observation
            )
            if type(obs) is np.ndarray and obs.size + 1 == cov_inv.shape[-1]:
                a = int(action)
                if not 0 <= a < cov_inv.shape[0]:
                    raise ValueError(f"action {a} is not in [0, {cov_inv.shape[0]})")
                buffers = self._buffers.get(obs.shape) or self._phi_buffer(obs.shape)
                phi, view = buffers
                view[...] = obs
                value = self._fused(cov_inv[a], phi, update)
                if update and self.keep_history:
                    self._remember(
                        _batch_one(observation, copy=True),
                        np.array([a], dtype=np.int64),
                    )
                return value
        return self._one(
            _batch_one(observation, copy=self.keep_history),
            np.array([action], dtype=np.int64),
            update,
        )

    def _phi_buffer(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """A new ``(D,)`` feature buffer ending in 1 and a view of its head, kept."""
        phi = np.empty(math.prod(shape) + 1)
        phi[-1] = 1.0
        self._buffers[shape] = (phi, phi[:-1].reshape(shape))
        return self._buffers[shape]

    def _update(self, phi: np.ndarray, actions: np.ndarray) -> None:
        assert self.cov_inv is not None
        if self.is_block:
            self.logdet += block_logdet_increment(self.cov_inv, phi, actions)
            self.cov_inv = block_sherman_morrison_update(self.cov_inv, phi, actions)
        else:
            # The update first: it refuses overflowing features before any
            # state changes.
            new_inv = sherman_morrison_update(self.cov_inv, phi)
            gram = np.eye(phi.shape[0]) + phi @ self.cov_inv @ phi.T
            self.logdet += float(np.linalg.slogdet(gram)[1])
            self.cov_inv = new_inv
        self.num_updates += actions.shape[0]

    def _remember(self, observations: Any, actions: np.ndarray) -> None:
        if self.keep_history:
            self._obs_history.append(observations)
            self._action_history.append(actions)

    def rebuild(
        self,
        observations: Any = None,
        actions: np.ndarray | None = None,
        *,
        features: FeatureFn | None = None,
        state_features: StateFeatureFn | None = None,
        relabel: bool = False,
    ) -> np.ndarray | None:
        """Rebuild ``Lambda^{-1}`` from data, optionally with a new feature map.

        Args:
            observations: A batch of observations, or None for the stored
                history (``keep_history=True``).
            actions: ``(N,)`` actions matching ``observations``.
            features: New full feature map (keeps the form: full).
            state_features: New block-form state feature map (keeps the form:
                block).
            relabel: Also return the bonus of every pair of the data under the
                rebuilt ``Lambda`` (from the same features: no second pass).

        Returns:
            With ``relabel``, the ``(N,)`` bonuses of the data; else None.

        Raises:
            ValueError: If no data is given and none was kept, if only one of
                ``observations``/``actions`` is given, or a new map is of the
                other form.
        """
        if features is not None:
            if self.is_block:
                raise ValueError("this bonus uses the block form; pass state_features")
            self.features = features
        if state_features is not None:
            if not self.is_block:
                raise ValueError("this bonus uses the full form; pass features")
            self.state_features = state_features
        if (observations is None) != (actions is None):
            raise ValueError("pass both observations and actions, or neither")
        if observations is None:
            if not self.keep_history:
                raise ValueError(
                    "no data to rebuild from: pass observations and actions, or "
                    "construct with keep_history=True"
                )
            if not self._action_history:
                self.cov_inv = None
                self.num_updates = 0
                self.logdet = 0.0
                return np.zeros(0) if relabel else None
            observations = _concat(self._obs_history)
            actions = np.concatenate(self._action_history)
        actions = np.asarray(actions, dtype=np.int64).reshape(-1)
        self.cov_inv = None
        phi = self._phi(observations, actions)
        if self.is_block:
            assert self.num_actions is not None
            self.cov_inv = block_rebuild_cov_inv(
                phi, actions, self.num_actions, self.ridge
            )
            self.logdet = block_logdet(self.cov_inv)
        else:
            self.cov_inv = rebuild_cov_inv(phi, self.ridge)
            self.logdet = -float(np.linalg.slogdet(self.cov_inv)[1])
        self.num_updates = int(actions.shape[0])
        if not relabel:
            return None
        if self.is_block:
            return block_elliptical_bonus(self.cov_inv, phi, actions, self.beta)
        return elliptical_bonus(self.cov_inv, phi, self.beta)


def _make_bonus(
    action_space: gymnasium.spaces.Space[Any],
    features: FeatureFn | None,
    state_features: StateFeatureFn | None,
    beta: float,
    ridge: float,
    keep_history: bool,
) -> EllipticalBonus:
    num_actions = None
    if features is None:
        if not isinstance(action_space, gymnasium.spaces.Discrete):
            raise TypeError(
                "the block form needs a Discrete action space; got "
                f"{action_space!r} (pass features= for a full feature map)"
            )
        num_actions = int(action_space.n)
    return EllipticalBonus(
        features=features,
        state_features=state_features,
        num_actions=num_actions,
        beta=beta,
        ridge=ridge,
        keep_history=keep_history,
    )


def _check_mode(reward_mode: str) -> str:
    if reward_mode not in _MODES:
        raise ValueError(f"reward_mode must be one of {_MODES}, got {reward_mode!r}")
    return reward_mode


class EllipticalBonusReward(gymnasium.Wrapper):
    """Gymnasium wrapper: reward = bonus (``"replace"``) or reward + bonus (``"add"``).

    Args:
        env: The env (its observations feed the feature map).
        features: Full feature map ``(observations, actions) -> (B, D)``.
        state_features: Block-form map ``observations -> (B, d)``.
        beta: Bonus scale.
        ridge: Regulariser of ``Lambda``.
        reward_mode: ``"replace"`` or ``"add"``.
        update: Whether steps update ``Lambda`` (switch later via ``.update``).
        keep_history: Store data for argument-free :meth:`rebuild`.

    Raises:
        ValueError: On an unknown ``reward_mode``, a ``beta``/``ridge`` that is
            out of range or not finite, or (at a step) features so large that
            the bonus overflows.
        TypeError: If the block form meets a non-``Discrete`` action space, or
            ``beta``/``ridge`` is not a real number.

    Example:
        >>> from gymnasium.envs.toy_text import FrozenLakeEnv
        >>> onehot = lambda obs: np.eye(16)[np.asarray(obs)]
        >>> env = EllipticalBonusReward(FrozenLakeEnv(), state_features=onehot)
        >>> _ = env.reset(seed=0)
        >>> _, reward, *_, info = env.step(0)
        >>> reward == info["bonus"] == 1.0  # first visit: beta / sqrt(ridge)
        True
    """

    def __init__(
        self,
        env: gymnasium.Env,
        *,
        features: FeatureFn | None = None,
        state_features: StateFeatureFn | None = None,
        beta: float = 1.0,
        ridge: float = 1.0,
        reward_mode: Literal["replace", "add"] = "replace",
        update: bool = True,
        keep_history: bool = False,
    ) -> None:
        super().__init__(env)
        self.reward_mode = _check_mode(reward_mode)
        self.update = bool(update)
        self.bonus = _make_bonus(
            env.action_space, features, state_features, beta, ridge, keep_history
        )
        self._last_obs: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env and remember the first observation."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._last_obs = obs
        return obs, info

    def step(self, action: Any):
        """Step; the bonus of ``(previous observation, action)`` goes in the reward."""
        if self._last_obs is None:
            raise RuntimeError("step() before reset()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        value = self.bonus._step(self._last_obs, action, self.update)
        self._last_obs = obs
        info = {**info, "bonus": value}
        reward = value if self.reward_mode == "replace" else float(reward) + value
        return obs, reward, terminated, truncated, info

    def rebuild(
        self, observations: Any = None, actions: Any = None, **kwargs: Any
    ) -> np.ndarray | None:
        """Rebuild ``Lambda^{-1}``; see :meth:`EllipticalBonus.rebuild`."""
        return self.bonus.rebuild(observations, actions, **kwargs)


class EllipticalBonusVecEnv(VecEnvWrapper):
    """SB3 ``VecEnvWrapper`` adding the elliptical bonus to every env's reward.

    One batched bonus evaluation and one batched (Woodbury) update per step.
    Arguments as :class:`EllipticalBonusReward`.

    Example:
        >>> from stable_baselines3.common.env_util import make_vec_env
        >>> venv = EllipticalBonusVecEnv(
        ...     make_vec_env("FrozenLake-v1", n_envs=2),
        ...     state_features=lambda obs: np.eye(16)[obs],
        ... )
        >>> _ = venv.reset()
        >>> _, rewards, _, infos = venv.step(np.array([0, 0]))
        >>> rewards.tolist(), [i["bonus"] for i in infos]
        ([1.0, 1.0], [1.0, 1.0])
    """

    def __init__(
        self,
        venv: VecEnv,
        *,
        features: FeatureFn | None = None,
        state_features: StateFeatureFn | None = None,
        beta: float = 1.0,
        ridge: float = 1.0,
        reward_mode: Literal["replace", "add"] = "replace",
        update: bool = True,
        keep_history: bool = False,
    ) -> None:
        super().__init__(venv)
        self.reward_mode = _check_mode(reward_mode)
        self.update = bool(update)
        self.bonus = _make_bonus(
            venv.action_space, features, state_features, beta, ridge, keep_history
        )
        self._last_obs: Any = None
        self._actions: np.ndarray | None = None

    def reset(self):
        """Reset every env and remember the observations."""
        obs = self.venv.reset()
        self._last_obs = obs
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Remember the actions and pass them on."""
        self._actions = np.asarray(actions)
        self.venv.step_async(actions)

    def step_wait(self):
        """Rewards become bonus (or reward + bonus) for every env."""
        obs, rewards, dones, infos = self.venv.step_wait()
        if self._last_obs is None or self._actions is None:
            raise RuntimeError("step() before reset()")
        values = self.bonus.bonus_and_update(
            self._last_obs, self._actions, update=self.update
        )
        self._last_obs = obs
        for info, value in zip(infos, values, strict=True):
            info["bonus"] = float(value)
        if self.reward_mode == "replace":
            rewards = values.astype(np.float32)
        else:
            rewards = (rewards + values).astype(np.float32)
        return obs, rewards, dones, infos

    def rebuild(
        self, observations: Any = None, actions: Any = None, **kwargs: Any
    ) -> np.ndarray | None:
        """Rebuild ``Lambda^{-1}``; see :meth:`EllipticalBonus.rebuild`."""
        return self.bonus.rebuild(observations, actions, **kwargs)
