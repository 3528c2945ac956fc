"""MAIL-WARM: reaching probabilities, the empirical model, budgets, exact NashConv."""

from __future__ import annotations

import numpy as np
import pytest

from agents.deep.baselines import UniformBC
from agents.linear.features import tabular_features
from agents.linear.mail_warm import (
    MailWarmBC,
    empirical_model,
    reach_q_values,
)
from agents.linear.problem import linear_problem
from agents.linear.rollouts import Trajectories
from agents.methods import make_algorithm
from mail_envs.chain import make_chain_game
from mail_envs.gridworld import make_gridworld_game
from mail_envs.solvers import nash_gap, solve_zero_sum


def _problem(game, horizon: int = 10):
    feats = [tabular_features(game, i) for i in range(game.num_players)]
    return linear_problem(game, solve_zero_sum(game).policies, feats, horizon=horizon)


def test_reach_q_values_on_a_coin_flip_chain():
    """States 0 -> 1 -> 2; action 0 advances with probability 1/2 (else stays),
    action 1 always stays. Reaching 2 from 0 within H steps with action 0:
    P(at least two advances in H - 1 moves)."""
    model = np.zeros((3, 2, 3))
    model[0, 0, [0, 1]] = 0.5
    model[1, 0, [1, 2]] = 0.5
    model[2, 0, 2] = 1.0
    model[[0, 1, 2], 1, [0, 1, 2]] = 1.0
    legal = np.ones((3, 2), bool)
    q = reach_q_values(model, legal, np.zeros(3, bool), np.array([2, 0]), horizon=4)
    # target 2 from state 0 at step 0: 3 moves, >= 2 advances: 1 - P(0) - P(1)
    assert q[0, 0, 0, 0] == pytest.approx(1 - 0.125 - 3 * 0.125)
    assert q[0, 0, 0, 1] == pytest.approx(q[1, 0, 0, 0])  # staying loses a step
    assert q[3, 0, 1].tolist() == [0.0, 0.0]  # last step: nothing reachable after it
    assert q[0, 1, 2].tolist() == [0.0, 0.0]  # target 0 is unreachable from 2
    with pytest.raises(ValueError, match="exceeds"):
        reach_q_values(model, legal, np.zeros(3, bool), np.arange(3), 10**7)


def test_empirical_model_counts_the_explorers_transitions():
    traj = Trajectories(
        states=np.array([[0, 1, 1], [0, 0, 0]]),
        actions=np.array([[[1, 0], [0, -1]], [[0, 0], [1, -1]]]),
        alive=np.array([[True, True], [True, False]]),
    )
    model = empirical_model(traj, explorer=1, num_states=2, num_actions=2)
    np.testing.assert_allclose(model[0, 0], [0.0, 1.0])  # (0, 0) -> 1
    np.testing.assert_allclose(model[1, 0], [0.0, 1.0])
    np.testing.assert_allclose(model[0, 1], [1.0, 0.0])  # (0, 1) -> 0
    np.testing.assert_array_equal(model[1, 1], 0.0)  # never tried


def test_chain_mail_warm_finds_the_gate_uniform_does_not():
    """Chain N = 8, 30 labelled episodes per player, seeds 0-2 (exact NashConv):
    MAIL-WARM 0 in every seed; uniform 0.2644 in seeds 0 and 2 (its guard never
    sees the gate)."""
    game = make_chain_game(8)
    problem = _problem(game, horizon=20)
    warm, unif = [], []
    for seed in (0, 1, 2):
        r = MailWarmBC(problem, num_episodes=30, seed=seed).run()
        warm.append(nash_gap(game, list(r.policies)).nash_conv)
        u = UniformBC(problem, num_games=30, seed=seed).run()
        unif.append(nash_gap(game, list(u.policies)).nash_conv)
    assert max(warm) < 1e-6
    assert max(unif) > 0.25


def test_budget_queries_and_seeding():
    game = make_gridworld_game(size=3)
    problem = _problem(game)
    result = make_algorithm(
        "mail-warm", problem, budget=5, seed=1, options={"warmup_episodes": 8}
    ).run()
    assert result.method == "mail-warm"
    assert result.info["warmup_episodes"] == 8 and result.info["num_episodes"] == 5
    assert result.info["warmup_steps"] == (80, 80)  # no terminal within 10 steps
    # Only the labelled phase is queried: 5 episodes of H = 10 decisions.
    assert result.num_queries == (50, 50)
    for data in result.datasets:
        assert data.episodes.max() == 4
    assert all(0 <= x <= 1 for x in result.info["targets_reached"])
    again = MailWarmBC(problem, num_episodes=5, seed=1, warmup_episodes=8).run()
    for a, b in zip(result.policies, again.policies, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="warmup_episodes"):
        MailWarmBC(problem, num_episodes=5, warmup_episodes=0)


def test_gridworld_exact_nashconv():
    """30 episodes (and 30 warm-up episodes): seeds 0-2 gave 0.0101-0.0125,
    LSVI-UCB-ZERO-BC 0.0121-0.0163 with the same labelled budget."""
    game = make_gridworld_game(size=3)
    result = MailWarmBC(_problem(game), num_episodes=30, seed=0).run()
    assert nash_gap(game, list(result.policies)).nash_conv < 0.03
    assert result.info["targets_reached"] == (1.0, 1.0)
