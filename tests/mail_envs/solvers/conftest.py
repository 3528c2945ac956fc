"""Random tabular games and dense reference computations for the solver tests.

Everything here is written independently of :mod:`mail_envs.solvers`: dense
matrices built with explicit loops over tiny games, so that the vectorized
solvers are checked against plain textbook formulas.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pytest

from mail_envs.core import TabularMarkovGame


def make_random_game(
    seed: int,
    num_actions: Sequence[int] = (2, 3),
    num_states: int = 5,
    num_successors: int = 2,
    *,
    gamma: float = 0.9,
    horizon: int | None = None,
    zero_sum: bool = False,
    num_terminal: int = 0,
    illegal_prob: float = 0.3,
) -> TabularMarkovGame:
    """A seeded random game: ``K`` random successors, rewards in ``[-1, 1]``.

    The last ``num_terminal`` states are terminal (zero-reward self-loops); the
    initial distribution is spread over the other states.
    """
    rng = np.random.default_rng(seed)
    n = len(num_actions)
    a_joint = int(np.prod(num_actions))
    s, k = num_states, num_successors
    next_states = rng.integers(0, s, size=(s, a_joint, k))
    next_probs = rng.dirichlet(np.ones(k), size=(s, a_joint))
    rewards = rng.uniform(-1.0, 1.0, size=(n, s, a_joint))
    if zero_sum:
        rewards[1] = -rewards[0]
    masks = []
    for a_i in num_actions:
        mask = rng.random((s, a_i)) >= illegal_prob
        mask[np.arange(s), rng.integers(0, a_i, size=s)] = True
        masks.append(mask)
    terminal = np.zeros(s, dtype=bool)
    if num_terminal:
        terminal[s - num_terminal :] = True
        next_states[terminal] = np.flatnonzero(terminal)[:, None, None]
        rewards[:, terminal] = 0.0
    mu0 = np.where(terminal, 0.0, rng.random(s) + 0.1)
    return TabularMarkovGame(
        num_actions=tuple(num_actions),
        next_states=next_states,
        next_probs=next_probs,
        rewards=rewards,
        legal_masks=tuple(masks),
        initial_distribution=mu0 / mu0.sum(),
        gamma=gamma,
        horizon=horizon,
        terminal=terminal,
    )


def random_policy(
    game: TabularMarkovGame, player: int, seed: int, steps: int | None = None
) -> np.ndarray:
    """A random legal policy table, ``(S, A_i)`` or ``(steps, S, A_i)``."""
    rng = np.random.default_rng(seed)
    shape = (game.num_states, game.num_actions[player])
    if steps is not None:
        shape = (steps, *shape)
    table = rng.random(shape) * game.legal_masks[player]
    return table / table.sum(axis=-1, keepdims=True)


def dense_joint_policy(
    game: TabularMarkovGame, tables: Sequence[np.ndarray]
) -> np.ndarray:
    """``pi(s, a) = prod_i pi_i(s, a_i)`` by explicit enumeration of joint actions."""
    out = np.ones((game.num_states, game.num_joint_actions))
    for joint, actions in enumerate(itertools.product(*map(range, game.num_actions))):
        for i, a_i in enumerate(actions):
            out[:, joint] *= tables[i][:, a_i]
    return out


def dense_chain(game: TabularMarkovGame, joint: np.ndarray) -> np.ndarray:
    """Dense ``P_pi[s, s']`` by loops over states, joint actions and successors."""
    s_count = game.num_states
    p = np.zeros((s_count, s_count))
    for s in range(s_count):
        for a in range(game.num_joint_actions):
            for k in range(game.next_states.shape[2]):
                p[s, game.next_states[s, a, k]] += (
                    joint[s, a] * game.next_probs[s, a, k]
                )
    return p


def dense_values(game: TabularMarkovGame, tables: Sequence[np.ndarray]) -> np.ndarray:
    """Values of a profile: ``(I - gamma P)^-1 r`` or a backward loop over steps.

    Stationary ``(S, A_i)`` tables only for discounted games; finite-horizon
    games accept ``(H, S, A_i)`` tables. Returns ``(n, S)`` or ``(n, H, S)``.
    """
    n = game.num_players
    if game.horizon is None:
        joint = dense_joint_policy(game, tables)
        p = dense_chain(game, joint)
        inv = np.linalg.inv(np.eye(game.num_states) - game.gamma * p)
        return np.stack([inv @ (game.rewards[i] * joint).sum(axis=1) for i in range(n)])
    horizon = game.horizon
    steps = [np.broadcast_to(t, (horizon, *t.shape[-2:])) for t in tables]
    out = np.zeros((n, horizon + 1, game.num_states))
    for h in reversed(range(horizon)):
        joint = dense_joint_policy(game, [t[h] for t in steps])
        p = dense_chain(game, joint)
        for i in range(n):
            out[i, h] = (game.rewards[i] * joint).sum(axis=1) + game.gamma * p @ out[
                i, h + 1
            ]
    return out[:, :horizon]


def deterministic_policies(
    game: TabularMarkovGame, player: int, steps: int | None = None
) -> list[np.ndarray]:
    """Every deterministic legal policy of ``player`` (stationary, or per step)."""
    eye = np.eye(game.num_actions[player])
    legal = [np.flatnonzero(row) for row in game.legal_masks[player]]
    stationary = [eye[list(choice)] for choice in itertools.product(*legal)]
    if steps is None:
        return stationary
    return [np.stack(c) for c in itertools.product(stationary, repeat=steps)]


def brute_force_best_value(
    game: TabularMarkovGame, tables: Sequence[np.ndarray], player: int
) -> float:
    """``max`` over deterministic policies of ``player`` of its value at ``mu0``."""
    best = -np.inf
    for policy in deterministic_policies(game, player, game.horizon):
        profile = list(tables)
        profile[player] = policy
        values = dense_values(game, profile)[player]
        first = values if game.horizon is None else values[0]
        best = max(best, float(first @ game.initial_distribution))
    return best


class DenseReference:
    """The reference computations above, bundled for the ``ref`` fixture."""

    random_game = staticmethod(make_random_game)
    random_policy = staticmethod(random_policy)
    joint = staticmethod(dense_joint_policy)
    chain = staticmethod(dense_chain)
    values = staticmethod(dense_values)
    deterministic_policies = staticmethod(deterministic_policies)
    best_value = staticmethod(brute_force_best_value)


@pytest.fixture(scope="session")
def ref() -> type[DenseReference]:
    """Random games and dense reference computations (independent of the solvers)."""
    return DenseReference
