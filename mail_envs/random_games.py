"""Seeded random Markov games: zero-sum two-player and general-sum n-player.

Generators of unstructured games for solver tests and benchmarks, reproducible
for a seed:

* rewards: i.i.d. uniform in ``[-1, 1]`` for every (player, state, joint
  action); in the zero-sum game player_1's reward is the negative of
  player_0's;
* transitions: every (state, joint action) has ``num_successors`` distinct
  successors, drawn uniformly without replacement from all states and stored
  in increasing order, with probabilities drawn from a flat Dirichlet
  distribution (``Dirichlet(1, ..., 1)``);
* the initial state is uniform over all states; there are no terminal states
  and every action is legal.

The draws happen in this order from ``np.random.default_rng(seed)``: rewards
(``uniform``, shape ``(S, A_joint)`` zero-sum or ``(n, S, A_joint)``), successor
keys (``random``, shape ``(S * A_joint, S)``: the ``K`` smallest keys of a row
pick its successors), successor probabilities (``dirichlet``, none when
``K = 1``), so a game is a pure function of its arguments.

The envs (``env``, ``parallel_env``, ``raw_env``) are
:class:`~mail_envs.tabular_env.TabularAECEnv` /
:class:`~mail_envs.tabular_env.TabularParallelEnv` over the zero-sum game,
truncated after ``max_cycles`` steps (default: ``horizon``, or
:data:`DEFAULT_MAX_CYCLES` = 50 for the discounted game).

### Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mail_envs.core import TabularMarkovGame, check_int, check_seed
from mail_envs.env_factories import env_factories_of, tabular_env_classes

__all__ = [
    "DEFAULT_MAX_CYCLES",
    "RandomZeroSumAECEnv",
    "RandomZeroSumParallelEnv",
    "env",
    "make_random_general_sum_game",
    "make_random_zero_sum_game",
    "parallel_env",
    "raw_env",
]

#: Truncation length of the envs of discounted random games.
DEFAULT_MAX_CYCLES = 50

# Largest number of random keys drawn at once when sampling successor sets.
_KEY_BLOCK = 1 << 22


def _action_counts(num_actions: Any, num_players: int | None) -> tuple[int, ...]:
    try:
        counts = tuple(num_actions)
    except TypeError:
        raise ValueError(
            f"num_actions must be a sequence of action counts, got {num_actions!r}"
        ) from None
    if num_players is not None and len(counts) != num_players:
        raise ValueError(
            f"num_actions must hold {num_players} action counts, got {num_actions!r}"
        )
    if not counts:
        raise ValueError(f"num_actions must not be empty, got {num_actions!r}")
    return tuple(check_int(f"num_actions[{i}]", a, 1) for i, a in enumerate(counts))


def _random_transitions(
    rng: np.random.Generator, num_states: int, num_joint: int, num_successors: int
) -> tuple[np.ndarray, np.ndarray]:
    """Successor sets (sorted, without replacement) and Dirichlet probabilities."""
    rows = num_states * num_joint
    successors = np.empty((rows, num_successors), dtype=np.int64)
    # Uniform k-subsets: the k smallest of S i.i.d. uniform keys, block by block
    # so that memory stays bounded for large games (the stream does not depend
    # on the block size).
    block = max(1, _KEY_BLOCK // num_states)
    for start in range(0, rows, block):
        keys = rng.random((min(block, rows - start), num_states))
        subset = np.argpartition(keys, num_successors - 1, axis=1)[:, :num_successors]
        successors[start : start + len(keys)] = np.sort(subset, axis=1)
    if num_successors == 1:  # no draw: Dirichlet(1) can return 1 - 1e-16
        probs = np.ones((rows, 1))
    else:
        probs = rng.dirichlet(np.ones(num_successors), size=rows)
    return (
        successors.reshape(num_states, num_joint, num_successors),
        probs.reshape(num_states, num_joint, num_successors),
    )


def _random_game(
    num_states: Any,
    num_actions: tuple[int, ...],
    *,
    num_successors: Any,
    gamma: float,
    horizon: int | None,
    seed: int | None,
    zero_sum: bool,
) -> TabularMarkovGame:
    num_states = check_int("num_states", num_states, 1)
    num_successors = check_int("num_successors", num_successors, 1)
    if num_successors > num_states:
        raise ValueError(
            f"num_successors must be <= num_states = {num_states}, got {num_successors}"
        )
    num_joint = int(np.prod(num_actions))
    rng = np.random.default_rng(check_seed("seed", seed, allow_none=True))
    if zero_sum:
        r0 = rng.uniform(-1.0, 1.0, size=(num_states, num_joint))
        rewards = np.stack([r0, -r0])
    else:
        rewards = rng.uniform(-1.0, 1.0, size=(len(num_actions), num_states, num_joint))
    next_states, next_probs = _random_transitions(
        rng, num_states, num_joint, num_successors
    )
    return TabularMarkovGame(
        num_actions=num_actions,
        next_states=next_states,
        next_probs=next_probs,
        rewards=rewards,
        legal_masks=tuple(np.ones((num_states, a), dtype=bool) for a in num_actions),
        initial_distribution=np.full(num_states, 1.0 / num_states),
        gamma=gamma,
        horizon=horizon,
        name="random_zero_sum" if zero_sum else "random_general_sum",
    )


def make_random_zero_sum_game(
    num_states: int = 10,
    num_actions: Sequence[int] = (3, 3),
    *,
    num_successors: int = 3,
    gamma: float = 0.9,
    horizon: int | None = None,
    seed: int | None = 0,
) -> TabularMarkovGame:
    """A seeded random two-player zero-sum Markov game.

    Args:
        num_states: Number of states ``S`` (>= 1).
        num_actions: ``(A_0, A_1)`` action counts.
        num_successors: Successors per (state, joint action), ``1 <= K <= S``.
        gamma: Discount factor.
        horizon: Number of decision steps, or None for the discounted game.
        seed: Seed of the generator (None: fresh entropy, not reproducible).

    Returns:
        The model: rewards ``r_0 ~ U[-1, 1]``, ``r_1 = -r_0``; see the module
        docstring for the transitions.

    Raises:
        ValueError: If a count is out of range or ``gamma``/``horizon`` is
            ill-posed.

    Example:
        >>> game = make_random_zero_sum_game(num_states=4, num_actions=(2, 3), seed=1)
        >>> game.is_zero_sum, game.next_states.shape
        (True, (4, 6, 3))
    """
    return _random_game(
        num_states,
        _action_counts(num_actions, 2),
        num_successors=num_successors,
        gamma=gamma,
        horizon=horizon,
        seed=seed,
        zero_sum=True,
    )


def make_random_general_sum_game(
    num_states: int = 10,
    num_actions: Sequence[int] = (2, 2, 2),
    *,
    num_successors: int = 3,
    gamma: float = 0.9,
    horizon: int | None = None,
    seed: int | None = 0,
) -> TabularMarkovGame:
    """A seeded random general-sum Markov game for ``len(num_actions)`` players.

    Args:
        num_states: Number of states ``S`` (>= 1).
        num_actions: Action count of each player (one entry per player).
        num_successors: Successors per (state, joint action), ``1 <= K <= S``.
        gamma: Discount factor.
        horizon: Number of decision steps, or None for the discounted game.
        seed: Seed of the generator (None: fresh entropy, not reproducible).

    Returns:
        The model: independent rewards ``r_i ~ U[-1, 1]`` per player; see the
        module docstring for the transitions.

    Raises:
        ValueError: If a count is out of range or ``gamma``/``horizon`` is
            ill-posed.

    Example:
        >>> game = make_random_general_sum_game(num_states=5, num_actions=(2, 2, 3))
        >>> game.num_players, game.rewards.shape
        (3, (3, 5, 12))
    """
    return _random_game(
        num_states,
        _action_counts(num_actions, None),
        num_successors=num_successors,
        gamma=gamma,
        horizon=horizon,
        seed=seed,
        zero_sum=False,
    )


_PARALLEL_DOC = """Parallel env of :func:`make_random_zero_sum_game`.

    Args:
        num_states: Passed to :func:`make_random_zero_sum_game`.
        num_actions: Passed to :func:`make_random_zero_sum_game`.
        num_successors: Passed to :func:`make_random_zero_sum_game`.
        gamma: Passed to :func:`make_random_zero_sum_game`.
        horizon: Passed to :func:`make_random_zero_sum_game`.
        seed: Seed of the *game* (the env's stream is seeded by ``reset``).
        max_cycles: Truncation length; default ``horizon`` or
            :data:`DEFAULT_MAX_CYCLES`.
        render_mode: ``"ansi"``, ``"rgb_array"``, ``"human"`` or None.
        illegal_action: As in :class:`~mail_envs.tabular_env.TabularParallelEnv`.
        illegal_reward: As in :class:`~mail_envs.tabular_env.TabularParallelEnv`.
    """

_AEC_DOC = """AEC env of :func:`make_random_zero_sum_game` (PettingZoo's ``raw_env``).

    Takes the arguments of :class:`RandomZeroSumParallelEnv`; :func:`env`
    wraps it in PettingZoo's order enforcement.
    """

_CLASSES = tabular_env_classes(
    make_random_zero_sum_game,
    name="random_zero_sum_v0",
    default_max_cycles=DEFAULT_MAX_CYCLES,
    class_names=("RandomZeroSumAECEnv", "RandomZeroSumParallelEnv"),
    docs=(_AEC_DOC, _PARALLEL_DOC),
)
RandomZeroSumAECEnv, RandomZeroSumParallelEnv = _CLASSES

#: PettingZoo's entry points: ``raw_env`` is :class:`RandomZeroSumAECEnv`,
#: ``env`` wraps it in order enforcement, ``parallel_env`` builds a
#: :class:`RandomZeroSumParallelEnv`; all take its arguments.
raw_env, env, parallel_env = env_factories_of(_CLASSES)
