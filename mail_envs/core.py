"""The tabular Markov-game model: one set of arrays that every solver reads.

A :class:`TabularMarkovGame` is an ``n``-player, general-sum Markov game whose
state space can be enumerated. It is stored as arrays, never as objects:

* joint actions are flattened row-major over players
  (``joint = np.ravel_multi_index((a_0, ..., a_{n-1}), num_actions)``);
* transitions are sparse: ``next_states[s, a, k]`` with probability
  ``next_probs[s, a, k]``, where ``k`` runs over at most ``K`` successors
  (deterministic games have ``K = 1``), so no dense ``S x A x S`` tensor exists;
* ``rewards[i, s, a]`` is player ``i``'s reward for joint action ``a`` in ``s``;
* ``legal_masks[i][s]`` marks player ``i``'s legal actions in ``s``. In
  turn-based games the player not to move has exactly one legal action, the
  no-op ``0``;
* ``terminal[s]`` marks states in which the game is over: their value is 0 and
  their outgoing transitions and rewards are ignored (they must be zero-reward
  self-loops);
* the objective is discounted (``gamma < 1``, infinite horizon, ``horizon is
  None``) or finite-horizon (``horizon = H`` decision steps, any ``gamma`` in
  ``(0, 1]``).

### Version History

* v0: initial release.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

__all__ = [
    "BatchedPolicy",
    "TabularMarkovGame",
    "check_int",
    "check_real",
    "check_seed",
    "joint_action_index",
]


class BatchedPolicy(Protocol):
    """Anything that maps a batch of observations and masks to probabilities.

    ``policy(observations, action_masks)`` takes ``observations`` of shape
    ``(B, *obs_shape)`` and boolean ``action_masks`` of shape ``(B, A)`` and
    returns action probabilities of shape ``(B, A)`` that put no mass on
    illegal actions. Experts, learned policies and best responses all follow it.
    """

    def __call__(
        self, observations: np.ndarray, action_masks: np.ndarray
    ) -> np.ndarray: ...


def joint_action_index(
    actions: Sequence[int] | np.ndarray, num_actions: Sequence[int]
) -> np.ndarray | int:
    """Flatten per-player actions into joint-action indices (row-major).

    Args:
        actions: ``(n,)`` actions, or ``(n, B)`` batches of actions.
        num_actions: Action count of each player.

    Returns:
        The joint-action index (an ``int`` for one joint action).

    Example:
        >>> joint_action_index([1, 2], [2, 3])
        5
    """
    out = np.ravel_multi_index(tuple(np.asarray(actions)), tuple(num_actions))
    return int(out) if np.ndim(out) == 0 else out


def check_int(name: str, value: object, minimum: int) -> int:
    """Validate an integer parameter of a game factory.

    Args:
        name: The parameter's name, for the message.
        value: The value given (Python or numpy integer; no bools or floats).
        minimum: The smallest allowed value.

    Returns:
        ``value`` as an ``int``.

    Raises:
        ValueError: ``"<name> must be an integer >= <minimum>, got <value>"``.

    Example:
        >>> check_int("length", 8, 1)
        8
    """
    message = f"{name} must be an integer >= {minimum}, got {value!r}"
    if isinstance(value, bool | np.bool_):
        raise ValueError(message)
    try:
        out = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(message) from None
    if out < minimum:
        raise ValueError(message)
    return out


def check_real(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    open_minimum: bool = False,
    open_maximum: bool = False,
    finite: bool = True,
) -> float:
    """Validate a real-valued parameter: a number (not a bool or a string) in range.

    Args:
        name: The parameter's name, for the message.
        value: The value given.
        minimum: The least allowed value (None: unbounded).
        maximum: The largest allowed value (None: unbounded).
        open_minimum: ``minimum`` itself is not allowed.
        open_maximum: ``maximum`` itself is not allowed.
        finite: Refuse infinities (NaN is always refused).

    Returns:
        ``value`` as a ``float``.

    Raises:
        TypeError: If ``value`` is not a real number, naming ``name``.
        ValueError: If it is NaN, infinite (with ``finite``) or out of range,
            naming ``name`` and the value.

    Example:
        >>> check_real("gamma", 0.9, minimum=0.0, open_minimum=True, maximum=1.0)
        0.9
    """
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if math.isnan(out) or (finite and math.isinf(out)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    low_ok = minimum is None or (out > minimum if open_minimum else out >= minimum)
    high_ok = maximum is None or (out < maximum if open_maximum else out <= maximum)
    if not (low_ok and high_ok):
        low = "" if minimum is None else ("(" if open_minimum else "[") + f"{minimum:g}"
        high = (
            "" if maximum is None else f"{maximum:g}" + (")" if open_maximum else "]")
        )
        if minimum is None:
            bound = f"<{'' if open_maximum else '='} {maximum:g}"
        elif maximum is None:
            bound = f">{'' if open_minimum else '='} {minimum:g}"
        else:
            bound = f"in {low}, {high}"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return out


def check_seed(name: str, value: object, *, allow_none: bool = False) -> int | None:
    """Validate a seed: a non-negative integer (or None when ``allow_none``).

    Raises:
        ValueError: Naming ``name`` and the value.

    Example:
        >>> check_seed("seed", 7), check_seed("seed", None, allow_none=True)
        (7, None)
    """
    if value is None and allow_none:
        return None
    return check_int(name, value, 0)


def _as_array(name: str, value: object, dtype: type) -> np.ndarray:
    try:
        return np.ascontiguousarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be array-like of {dtype.__name__}: {exc}"
        ) from exc


@dataclass(frozen=True, eq=False)
class TabularMarkovGame:
    """An enumerable ``n``-player Markov game stored as arrays.

    Args:
        num_actions: Action count per player, ``(A_0, ..., A_{n-1})``.
        next_states: ``(S, A_joint, K)`` integer successor states.
        next_probs: ``(S, A_joint, K)`` successor probabilities (rows sum to 1).
        rewards: ``(n, S, A_joint)`` rewards per player.
        legal_masks: One ``(S, A_i)`` boolean array per player.
        initial_distribution: ``(S,)`` distribution of the first state.
        gamma: Discount factor in ``(0, 1]``; ``< 1`` when ``horizon`` is None.
        horizon: Number of decision steps, or None for an infinite horizon.
        terminal: ``(S,)`` boolean; defaults to no terminal states.
        observations: Optional per-player arrays ``(S, *obs_shape)`` with the
            observation of every state; default: the one-hot state index.
        name: Short game name (``"gridworld"``).
        player_names: Agent names, default ``player_0 ... player_{n-1}``.
        state_labels: Optional human-readable label per state.

    Raises:
        ValueError: If shapes disagree, probabilities do not sum to 1, a mask
            row has no legal action, an index is out of range, or the
            objective is ill-posed; the message names the array and index.
    """

    num_actions: tuple[int, ...]
    next_states: np.ndarray
    next_probs: np.ndarray
    rewards: np.ndarray
    legal_masks: tuple[np.ndarray, ...]
    initial_distribution: np.ndarray
    gamma: float = 1.0
    horizon: int | None = None
    terminal: np.ndarray = None  # type: ignore[assignment]  # None: no terminal states
    observations: tuple[np.ndarray, ...] | None = None
    name: str = "tabular"
    player_names: tuple[str, ...] = ()
    state_labels: tuple[str, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if any(int(a) != a for a in self.num_actions):
            raise ValueError(f"num_actions must be integers, got {self.num_actions}")
        num_actions = tuple(int(a) for a in self.num_actions)
        if len(num_actions) < 1 or min(num_actions) < 1:
            raise ValueError(
                f"num_actions must be positive per player, got {num_actions}"
            )
        set_(self, "num_actions", num_actions)
        n = len(num_actions)
        a_joint = int(np.prod(num_actions))

        next_states = _as_array("next_states", self.next_states, np.int64)
        next_probs = _as_array("next_probs", self.next_probs, np.float64)
        if next_states.ndim == 2:
            next_states = next_states[:, :, None]
        if next_probs.ndim == 2:
            next_probs = next_probs[:, :, None]
        if next_states.ndim != 3 or next_states.shape[1] != a_joint:
            raise ValueError(
                f"next_states must have shape (S, {a_joint}, K) for num_actions="
                f"{num_actions}, got {next_states.shape}"
            )
        num_states = next_states.shape[0]
        if next_probs.shape != next_states.shape:
            raise ValueError(
                f"next_probs shape {next_probs.shape} != next_states shape "
                f"{next_states.shape}"
            )
        bad = np.argwhere((next_states < 0) | (next_states >= num_states))
        if bad.size:
            s, a, k = bad[0]
            raise ValueError(
                f"next_states[{s}, {a}, {k}] = {next_states[s, a, k]} is not a state "
                f"index in [0, {num_states})"
            )
        if np.any(next_probs < 0) or not np.all(np.isfinite(next_probs)):
            s, a, k = np.argwhere((next_probs < 0) | ~np.isfinite(next_probs))[0]
            raise ValueError(
                f"next_probs[{s}, {a}, {k}] = {float(next_probs[s, a, k])} is not a probability"
            )
        sums = next_probs.sum(axis=2)
        bad = np.argwhere(np.abs(sums - 1.0) > 1e-9)
        if bad.size:
            s, a = bad[0]
            raise ValueError(
                f"next_probs[{s}, {a}, :] sums to {float(sums[s, a])!r}, expected 1"
            )

        rewards = _as_array("rewards", self.rewards, np.float64)
        if rewards.shape != (n, num_states, a_joint):
            raise ValueError(
                f"rewards must have shape (n, S, A_joint) = {(n, num_states, a_joint)}, "
                f"got {rewards.shape}"
            )
        if not np.all(np.isfinite(rewards)):
            i, s, a = np.argwhere(~np.isfinite(rewards))[0]
            raise ValueError(
                f"rewards[{i}, {s}, {a}] = {rewards[i, s, a]} is not finite"
            )

        if len(self.legal_masks) != n:
            raise ValueError(
                f"legal_masks must hold one array per player ({n}), got "
                f"{len(self.legal_masks)}"
            )
        masks = []
        for i, mask in enumerate(self.legal_masks):
            m = np.ascontiguousarray(mask, dtype=bool)
            if m.shape != (num_states, num_actions[i]):
                raise ValueError(
                    f"legal_masks[{i}] must have shape {(num_states, num_actions[i])}, "
                    f"got {m.shape}"
                )
            empty = np.flatnonzero(~m.any(axis=1))
            if empty.size:
                raise ValueError(
                    f"legal_masks[{i}][{empty[0]}] has no legal action; every state "
                    "needs at least one (turn-based games: the no-op 0)"
                )
            m.setflags(write=False)
            masks.append(m)

        mu0 = _as_array("initial_distribution", self.initial_distribution, np.float64)
        if mu0.shape != (num_states,):
            raise ValueError(
                f"initial_distribution must have shape ({num_states},), got {mu0.shape}"
            )
        if (
            not np.all(np.isfinite(mu0))
            or np.any(mu0 < 0)
            or abs(mu0.sum() - 1.0) > 1e-9
        ):
            raise ValueError(
                f"initial_distribution must be a distribution, got sum {float(mu0.sum())!r} "
                f"and min {float(mu0.min())!r}"
            )

        terminal = (
            np.zeros(num_states, dtype=bool)
            if self.terminal is None
            else np.ascontiguousarray(self.terminal, dtype=bool)
        )
        if terminal.shape != (num_states,):
            raise ValueError(
                f"terminal must have shape ({num_states},), got {terminal.shape}"
            )

        term_idx = np.flatnonzero(terminal)
        if term_idx.size:
            moves = (next_states[term_idx] != term_idx[:, None, None]) & (
                next_probs[term_idx] > 0
            )
            paid = np.any(rewards[:, term_idx] != 0.0, axis=(0, 2))
            bad_terminal = term_idx[moves.any(axis=(1, 2)) | paid]
            if bad_terminal.size:
                raise ValueError(
                    f"terminal state {bad_terminal[0]} must be a zero-reward self-loop"
                )

        gamma = check_real(
            "gamma", self.gamma, minimum=0.0, open_minimum=True, maximum=1.0
        )
        horizon = self.horizon
        if horizon is not None:
            horizon = check_int("horizon", horizon, 1)
        elif gamma >= 1.0:
            raise ValueError(
                "an infinite-horizon game (horizon=None) needs gamma < 1, got gamma=1.0"
            )

        observations = self.observations
        if observations is not None:
            if len(observations) != n:
                raise ValueError(
                    f"observations must hold one array per player ({n}), got "
                    f"{len(observations)}"
                )
            checked = []
            for i, obs in enumerate(observations):
                o = np.ascontiguousarray(obs)
                if o.shape[:1] != (num_states,):
                    raise ValueError(
                        f"observations[{i}] must have {num_states} rows, got shape {o.shape}"
                    )
                o.setflags(write=False)
                checked.append(o)
            observations = tuple(checked)

        player_names = tuple(self.player_names) or tuple(
            f"player_{i}" for i in range(n)
        )
        if len(player_names) != n:
            raise ValueError(f"player_names must have {n} entries, got {player_names}")
        if self.state_labels is not None and len(self.state_labels) != num_states:
            raise ValueError(
                f"state_labels must have {num_states} entries, got {len(self.state_labels)}"
            )

        for arr in (next_states, next_probs, rewards, mu0, terminal):
            arr.setflags(write=False)
        set_(self, "next_states", next_states)
        set_(self, "next_probs", next_probs)
        set_(self, "rewards", rewards)
        set_(self, "legal_masks", tuple(masks))
        set_(self, "initial_distribution", mu0)
        set_(self, "terminal", terminal)
        set_(self, "gamma", gamma)
        set_(self, "horizon", horizon)
        set_(self, "observations", observations)
        set_(self, "player_names", player_names)

    # ------------------------------------------------------------------ sizes
    @property
    def num_players(self) -> int:
        """Number of players ``n``."""
        return len(self.num_actions)

    @property
    def num_states(self) -> int:
        """Number of states ``S``."""
        return int(self.next_states.shape[0])

    @property
    def num_joint_actions(self) -> int:
        """Number of joint actions ``prod(num_actions)``."""
        return int(self.next_states.shape[1])

    @functools.cached_property
    def is_zero_sum(self) -> bool:
        """Whether rewards sum to zero over players in every (state, joint action)."""
        return bool(np.allclose(self.rewards.sum(axis=0), 0.0, atol=1e-12))

    @property
    def is_deterministic(self) -> bool:
        """Whether every joint action has a single successor with probability 1."""
        return bool(np.all(self.next_probs.max(axis=2) == 1.0))

    def joint_reshape(self, array: np.ndarray) -> np.ndarray:
        """View ``(..., A_joint)`` as ``(..., A_0, ..., A_{n-1})``."""
        return array.reshape(*array.shape[:-1], *self.num_actions)

    # ----------------------------------------------------------- observations
    def observation_shape(self, player: int) -> tuple[int, ...]:
        """Shape of one observation of ``player``."""
        self._check_player(player)
        if self.observations is None:
            return (self.num_states,)
        return tuple(self.observations[player].shape[1:])

    def observe(self, player: int, states: np.ndarray | int) -> np.ndarray:
        """Observations of ``player`` in ``states`` (default: one-hot float32).

        Args:
            player: Player index.
            states: A state index or an integer array of them.

        Returns:
            ``(*states.shape, *obs_shape)`` observations.
        """
        self._check_player(player)
        idx = np.asarray(states, dtype=np.int64)
        if np.any((idx < 0) | (idx >= self.num_states)):
            raise ValueError(
                f"states must lie in [0, {self.num_states}), got {states!r}"
            )
        if self.observations is not None:
            return self.observations[player][idx]
        out = np.zeros((*idx.shape, self.num_states), dtype=np.float32)
        np.put_along_axis(out, idx[..., None], 1.0, axis=-1)
        return out

    def all_observations(self, player: int) -> np.ndarray:
        """Observation of every state for ``player``: ``(S, *obs_shape)``."""
        return self.observe(player, np.arange(self.num_states))

    def policy_table(
        self, player: int, policy: BatchedPolicy | np.ndarray
    ) -> np.ndarray:
        """Turn a batched policy (or a table) into a validated ``(S, A_i)`` table.

        One batched call over every state's observation; rows of states where
        ``player`` has a single legal action are set to that action, so policies
        need not care about turns they do not move in.

        Args:
            player: Player index.
            policy: A :class:`BatchedPolicy` or an ``(S, A_i)`` array.

        Returns:
            A float64 ``(S, A_i)`` table whose rows are distributions over legal
            actions.

        Raises:
            ValueError: If the table has the wrong shape, negative entries, rows
                that do not sum to 1, or mass on illegal actions.
        """
        self._check_player(player)
        mask = self.legal_masks[player]
        if callable(policy):
            # A copy: the forced rows below must not write into the policy's array.
            table = np.array(
                policy(self.all_observations(player), mask), dtype=np.float64
            )
        else:
            table = np.array(policy, dtype=np.float64)
        expected = (self.num_states, self.num_actions[player])
        if table.shape != expected:
            raise ValueError(
                f"policy of player {player} must have shape {expected}, got {table.shape}"
            )
        forced = mask.sum(axis=1) == 1
        table[forced] = mask[forced]
        if np.any(table < -1e-12) or not np.all(np.isfinite(table)):
            s = int(np.argwhere((table < -1e-12) | ~np.isfinite(table))[0, 0])
            raise ValueError(
                f"policy of player {player} has invalid entries in state {s}: {table[s]}"
            )
        illegal = np.where(mask, 0.0, table).sum(axis=1)
        if np.any(illegal > 1e-9):
            s = int(np.argmax(illegal))
            raise ValueError(
                f"policy of player {player} puts mass {illegal[s]:.3g} on illegal actions "
                f"in state {s}"
            )
        sums = table.sum(axis=1)
        if np.any(np.abs(sums - 1.0) > 1e-6):
            s = int(np.argmax(np.abs(sums - 1.0)))
            raise ValueError(
                f"policy of player {player} row {s} sums to {float(sums[s])!r}, expected 1"
            )
        return np.clip(table, 0.0, None) / sums[:, None]

    def uniform_policy(self, player: int) -> np.ndarray:
        """Uniform distribution over legal actions, ``(S, A_i)``."""
        self._check_player(player)
        mask = self.legal_masks[player].astype(np.float64)
        return mask / mask.sum(axis=1, keepdims=True)

    def _check_player(self, player: int) -> None:
        if not 0 <= int(player) < self.num_players:
            raise ValueError(
                f"player must be in [0, {self.num_players}), got {player!r}"
            )


#: Factory signature shared by the game modules (``make_gridworld_game`` ...).
GameFactory = Callable[..., TabularMarkovGame]
