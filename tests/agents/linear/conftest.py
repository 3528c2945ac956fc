"""Small seeded games and problems for the tests of :mod:`agents.linear`.

Bundled as the ``games`` fixture (``games.random_game(seed)``...), written
independently of the code under test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from agents.imitation import ImitationProblem
from agents.linear.problem import linear_problem
from mail_envs.core import TabularMarkovGame


def random_game(
    seed: int,
    num_states: int = 7,
    num_actions: tuple[int, int] = (2, 3),
    num_successors: int = 2,
    terminal: bool = False,
) -> TabularMarkovGame:
    """A seeded random two-player game (optionally with one terminal state)."""
    rng = np.random.default_rng(seed)
    a_joint = int(np.prod(num_actions))
    nxt = rng.integers(num_states, size=(num_states, a_joint, num_successors))
    probs = rng.dirichlet(np.ones(num_successors), size=(num_states, a_joint))
    rewards = rng.uniform(-1, 1, size=(num_states, a_joint))
    rewards = np.stack([rewards, -rewards])
    term = np.zeros(num_states, dtype=bool)
    if terminal:
        last = num_states - 1
        term[last] = True
        nxt[last] = last
        rewards[:, last] = 0.0
    masks = tuple(np.ones((num_states, a), dtype=bool) for a in num_actions)
    return TabularMarkovGame(
        num_actions=num_actions,
        next_states=nxt,
        next_probs=probs,
        rewards=rewards,
        legal_masks=masks,
        initial_distribution=np.eye(num_states)[0],
        gamma=0.9,
        terminal=term,
    )


def random_expert(game: TabularMarkovGame, seed: int) -> tuple[np.ndarray, ...]:
    """One random (fully mixed) table per player."""
    rng = np.random.default_rng(seed)
    return tuple(
        rng.dirichlet(np.ones(a), size=game.num_states) for a in game.num_actions
    )


def tabular(game: TabularMarkovGame, player: int) -> np.ndarray:
    """One-hot ``(s, a)`` features, ``(S, A_i, S * A_i)``."""
    s, a = game.num_states, game.num_actions[player]
    return np.eye(s * a).reshape(s, a, s * a)


def combination_lock(
    length: int = 5, num_actions: int = 3, seed: int = 0
) -> TabularMarkovGame:
    """Player 1 must play a secret sequence; any mistake resets to state 0.

    Player 0's actions do not matter. The end state ``length`` is absorbing.
    """
    secret = np.random.default_rng(seed).integers(num_actions, size=length)
    num_states = length + 1
    nxt = np.zeros((num_states, 2, num_actions), dtype=np.int64)
    for k in range(length):
        nxt[k, :, secret[k]] = k + 1
    nxt[length] = length
    a_joint = 2 * num_actions
    return TabularMarkovGame(
        num_actions=(2, num_actions),
        next_states=nxt.reshape(num_states, a_joint, 1),
        next_probs=np.ones((num_states, a_joint, 1)),
        rewards=np.zeros((2, num_states, a_joint)),
        legal_masks=(
            np.ones((num_states, 2), dtype=bool),
            np.ones((num_states, num_actions), dtype=bool),
        ),
        initial_distribution=np.eye(num_states)[0],
        gamma=0.9,
    )


def tabular_problem(
    game: TabularMarkovGame,
    expert: Sequence[np.ndarray],
    *,
    horizon: int = 10,
    features: Sequence[np.ndarray] | None = None,
) -> ImitationProblem:
    """The linear problem of ``game`` (tabular features unless given)."""
    if features is None:
        features = [tabular(game, i) for i in range(game.num_players)]
    return linear_problem(
        game, expert, features, horizon=horizon, game_id="mail/test-v0"
    )


class LinearGames:
    """The helpers above, as the ``games`` fixture."""

    random_game = staticmethod(random_game)
    random_expert = staticmethod(random_expert)
    tabular = staticmethod(tabular)
    combination_lock = staticmethod(combination_lock)
    problem = staticmethod(tabular_problem)


@pytest.fixture(scope="session")
def games() -> type[LinearGames]:
    """Seeded games, experts, features and problems (see :class:`LinearGames`)."""
    return LinearGames
