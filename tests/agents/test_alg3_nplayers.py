"""Algorithm 3 (every other seat explores in turn) against the next-seat-only loop.

The trap game below is built so that only player_2's deviation reaches the
state where player_0 must act: exploring with the next seat only (player_1
for learner player_0) never labels it, and the exact NashConv shows it.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.bc.profile import BCConfig
from agents.deep.all_seats import (
    UniformAllSeatsBC,
    concat_datasets,
    explorer_seats,
    split_budget,
)
from agents.deep.baselines import UniformBC
from agents.imitation import ImitationProblem, LearnerSession
from agents.linear.features import tabular_features
from agents.linear.problem import linear_problem
from agents.methods import METHODS, make_algorithm
from agents.pipeline.games import GAME_SPECS
from mail_envs.core import TabularMarkovGame
from mail_envs.solvers import nash_gap
from mail_envs.tabular_env import TabularParallelEnv
from mail_wrappers.table_policy import TablePolicy

TINY_BC = BCConfig(min_epochs=2, min_steps=50)
COST, GAMMA = 0.1, 0.9


def trap_game() -> TabularMarkovGame:
    """Three players, two actions each; states start (0), trap (1), done (2).

    From the start, player_2's action 1 (cost ``COST``) leads to the trap,
    anything else to done. In the trap player_0 must play 1 (the guard);
    playing 0 pays player_2 ``+1`` and player_0 ``-1``. Player_1 never
    matters. The expert (player_2 never springs the trap, player_0 guards) is
    an equilibrium; player_2's gain against a player_0 who errs in the trap
    with probability ``q`` is ``max(0, GAMMA * q - COST)``.
    """
    joint = np.array(np.unravel_index(np.arange(8), (2, 2, 2)))  # (3, 8)
    a0, a2 = joint[0], joint[2]
    nxt = np.full((3, 8, 1), 2)
    nxt[0, :, 0] = np.where(a2 == 1, 1, 2)
    rewards = np.zeros((3, 3, 8))
    rewards[2, 0] = -COST * (a2 == 1)
    rewards[0, 1] = -1.0 * (a0 == 0)
    rewards[2, 1] = 1.0 * (a0 == 0)
    return TabularMarkovGame(
        num_actions=(2, 2, 2),
        next_states=nxt,
        next_probs=np.ones((3, 8, 1)),
        rewards=rewards,
        legal_masks=tuple(np.ones((3, 2), bool) for _ in range(3)),
        initial_distribution=np.array([1.0, 0.0, 0.0]),
        gamma=GAMMA,
        terminal=np.array([False, False, True]),
    )


def trap_expert() -> tuple[np.ndarray, ...]:
    guard = np.array([[0.5, 0.5], [0.0, 1.0], [0.5, 0.5]])
    idle = np.full((3, 2), 0.5)
    quiet = np.array([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])
    return guard, idle, quiet


def trap_problem() -> ImitationProblem:
    game = trap_game()
    feats = [tabular_features(game, i) for i in range(3)]
    return linear_problem(game, trap_expert(), feats, game_id="trap")


def test_trap_expert_is_an_equilibrium() -> None:
    assert nash_gap(trap_game(), list(trap_expert())).nash_conv == pytest.approx(0.0)


def test_seats_and_budget_split() -> None:
    assert explorer_seats(0, 3) == (1, 2)
    assert explorer_seats(2, 3) == (0, 1)
    assert split_budget(7, 2) == (4, 3)
    assert split_budget(2, 3) == (1, 1, 0)
    with pytest.raises(ValueError, match="player"):
        explorer_seats(3, 3)
    with pytest.raises(ValueError, match="total"):
        split_budget(0, 2)


def test_next_seat_misses_the_trap_all_seats_finds_it() -> None:
    """Exact NashConv: next-seat-only ~0.35 (player_2 exploits), all seats ~0."""
    problem = trap_problem()
    game = problem.model
    assert game is not None
    nxt = UniformBC(problem, num_games=20, seed=0).run()
    every = UniformAllSeatsBC(problem, num_games=20, seed=0).run()
    # Learner player_0 never sees the trap with its next seat exploring ...
    trap_labels = [int(np.sum(r.datasets[0].observations == 1)) for r in (nxt, every)]
    assert trap_labels[0] == 0 and trap_labels[1] > 0
    gap_next = nash_gap(game, list(nxt.policies))
    gap_every = nash_gap(game, list(every.policies))
    # ... so BC leaves it uniform there and player_2 gains GAMMA / 2 - COST.
    assert gap_next.gains[2] == pytest.approx(GAMMA * 0.5 - COST, abs=1e-2)
    assert gap_next.nash_conv > 0.3
    assert gap_every.gains[2] < 1e-3
    assert gap_every.nash_conv < 1e-2
    # Budget: 20 episodes per learner, split 10/10; every decision is a query.
    assert every.info["games_per_seat"] == ((10, 10),) * 3
    assert every.info["explorers"][0] == ("player_1", "player_2")
    steps = [int(d.episodes.max()) + 1 for d in every.datasets]
    assert steps == [20, 20, 20]
    # Each episode has 1 (start -> done) or 2 (start -> trap -> done) steps.
    lengths = np.bincount(every.datasets[0].episodes, minlength=20)
    assert set(lengths.tolist()) <= {1, 2}
    assert every.num_queries[0] == int(lengths.sum())


def test_all_seats_is_seeded() -> None:
    problem = trap_problem()
    a = UniformAllSeatsBC(problem, num_games=9, seed=3).run()
    b = UniformAllSeatsBC(problem, num_games=9, seed=3).run()
    for x, y in zip(a.policies, b.policies, strict=True):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a.datasets, b.datasets, strict=True):
        np.testing.assert_array_equal(x.observations, y.observations)


def test_two_players_all_seats_equals_uniform() -> None:
    """With one other seat the method is exactly uniform exploration (model path)."""
    problem = GAME_SPECS["gridworld"].problem()
    a = UniformAllSeatsBC(problem, num_games=7, seed=1).run()
    b = UniformBC(problem, num_games=7, seed=1).run()
    for x, y in zip(a.policies, b.policies, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.num_queries == b.num_queries


def _env_trap_problem() -> ImitationProblem:
    """The trap game through its env (neural BC), without the linear setup."""
    game = trap_game()
    experts = tuple(TablePolicy(game, i, t) for i, t in enumerate(trap_expert()))
    return ImitationProblem(
        "trap", lambda: TabularParallelEnv(game), experts, model=game
    )


def test_env_path_explores_with_every_seat() -> None:
    problem = _env_trap_problem()
    result = UniformAllSeatsBC(
        problem, num_games=8, seed=0, bc=TINY_BC, device="cpu"
    ).run()
    assert result.info["games_per_seat"] == ((4, 4),) * 3
    assert result.info["explorer_seats"][0] == ("player_1", "player_2")
    for data in result.datasets:
        assert sorted(set(data.episodes.tolist())) == list(range(8))
    # Simultaneous moves: the learner is queried at every explorer move.
    assert result.num_queries == result.explorer_steps
    states = np.argmax(result.datasets[0].observations, axis=1)
    assert np.any(states == 1)  # player_2's turn reached the trap


def test_learner_session_explorer_seat() -> None:
    problem = _env_trap_problem()
    assert LearnerSession(problem, 0, np.random.SeedSequence(0)).explorer_agent == (
        "player_1"
    )
    session = LearnerSession(problem, 0, np.random.SeedSequence(0), explorer=2)
    assert session.explorer_agent == "player_2"
    with pytest.raises(ValueError, match="explorer"):
        LearnerSession(problem, 0, np.random.SeedSequence(0), explorer=0)


def test_concat_datasets_rejects_mismatch() -> None:
    with pytest.raises(ValueError, match="one game count"):
        concat_datasets([], [1])


def test_public_goods_three_players_registered_method() -> None:
    """``uniform-all`` through the registry on public-goods, n = 3 (env path)."""
    assert "uniform-all" in METHODS
    spec = GAME_SPECS["public-goods"]
    problem = spec.problem({"num_players": 3})
    algo = make_algorithm(
        "uniform-all", problem, budget=4, seed=0, bc=TINY_BC, device="cpu"
    )
    result = algo.run()
    assert result.method == "uniform-all"
    assert result.info["games_per_seat"] == ((2, 2),) * 3
    assert result.num_queries == result.explorer_steps
    assert problem.model is not None
    gap = nash_gap(problem.model, list(result.policies))
    assert gap.nash_conv < 0.5
