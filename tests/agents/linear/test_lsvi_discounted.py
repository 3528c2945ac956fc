"""Discounted LSVI-UCB-ZERO-BC (Algorithm 4): values, switching, budgets, exact NashConv."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.linear.features import tabular_features
from agents.linear.lsvi_discounted import (
    DiscountedLSVIUCBZero,
    LSVIUCBDiscountedBC,
    soft_optimistic_values,
)
from agents.linear.lsvi_ucb_zero import LSVIUCBZeroBC
from agents.linear.problem import linear_problem
from agents.methods import make_algorithm
from mail_envs.chain import make_chain_game
from mail_envs.gridworld import make_gridworld_game
from mail_envs.solvers import nash_gap, solve_zero_sum


def _problem(game, horizon: int = 10):
    feats = [tabular_features(game, i) for i in range(game.num_players)]
    return linear_problem(game, solve_zero_sum(game).policies, feats, horizon=horizon)


def test_soft_values_without_data_are_optimistic_and_zero_without_bonus(games):
    game = games.random_game(0)
    phi = tabular_features(game, 1)
    num_s, num_a, d = phi.shape
    legal = game.legal_masks[1]
    terminal = np.zeros(num_s, dtype=bool)
    flat = phi.reshape(num_s * num_a, d)
    common = {
        "cov_inv": np.eye(d) / 0.1,
        "quad": np.einsum("nd,nd->n", flat, flat) / 0.1,
        "next_sum": np.zeros((d, num_s)),
        "gamma": 0.9,
        "eta": 10.0,
        "iterations": 50,
    }
    q = soft_optimistic_values(phi, legal, terminal, beta=100.0, **common)
    np.testing.assert_allclose(q, 10.0)  # every pair unknown: V_max = 1 / (1 - gamma)
    q0 = soft_optimistic_values(phi, legal, terminal, beta=0.0, **common)
    np.testing.assert_array_equal(q0, 0.0)  # no bonus, no reward


def test_soft_values_match_soft_value_iteration_on_a_known_chain():
    """Tabular data of every pair once: P_hat is the true (deterministic) model
    shrunk by 1 / (1 + ridge); the values solve the soft Bellman equation."""
    num_s, num_a, gamma, eta, ridge, beta = 3, 2, 0.5, 5.0, 1e-9, 0.2
    nxt = np.array([[1, 0], [2, 0], [2, 2]])  # action 0 advances
    phi = np.eye(num_s * num_a).reshape(num_s, num_a, -1)
    flat = phi.reshape(num_s * num_a, -1)
    lam = ridge * np.eye(6) + flat.T @ flat
    next_sum = np.zeros((6, num_s))
    next_sum[np.arange(6), nxt.ravel()] = 1.0
    cov_inv = np.linalg.inv(lam)
    quad = np.einsum("nd,de,ne->n", flat, cov_inv, flat)
    legal = np.ones((num_s, num_a), bool)
    q = soft_optimistic_values(
        phi,
        legal,
        np.zeros(num_s, bool),
        cov_inv=cov_inv,
        quad=quad,
        next_sum=next_sum,
        gamma=gamma,
        beta=beta,
        eta=eta,
        iterations=200,
    )
    bonus = beta * np.sqrt(quad).reshape(num_s, num_a)
    v = (np.log(np.exp(eta * q).mean(axis=1))) / eta
    np.testing.assert_allclose(q, bonus + gamma * v[nxt], atol=1e-6)


def test_explorer_rare_switching_lengths_and_determinism():
    game = make_gridworld_game(size=3)
    expert = solve_zero_sum(game).policies
    explorer = DiscountedLSVIUCBZero(gamma=0.9, num_episodes=40, seed=4)
    out = explorer.explore(game, expert, tabular_features(game, 1), explorer=1)
    assert out.switches[0] == 0
    assert len(out.switches) < 40  # the policy does not change every episode
    assert np.all(out.lengths <= explorer.max_length) and out.lengths.min() >= 1
    assert explorer.max_length == 30 and explorer.iterations == 88
    np.testing.assert_array_equal(out.lengths, out.trajectories.alive.sum(axis=1))
    again = DiscountedLSVIUCBZero(gamma=0.9, num_episodes=40, seed=4).explore(
        game, expert, tabular_features(game, 1), explorer=1
    )
    np.testing.assert_array_equal(out.trajectories.states, again.trajectories.states)


def test_bad_parameters_are_refused(games):
    game = games.random_game(0)
    with pytest.raises(ValueError, match="gamma"):
        DiscountedLSVIUCBZero(gamma=1.0)
    with pytest.raises(ValueError, match="eta"):
        DiscountedLSVIUCBZero(gamma=0.9, eta=0.0)
    finite = dataclasses.replace(game, gamma=1.0, horizon=5)
    tables = [finite.uniform_policy(i) for i in range(2)]
    feats = [tabular_features(finite, i) for i in range(2)]
    problem = linear_problem(finite, tables, feats)
    with pytest.raises(ValueError, match="gamma"):
        LSVIUCBDiscountedBC(problem, num_episodes=3)
    LSVIUCBDiscountedBC(problem, num_episodes=2, gamma=0.8)  # explicit gamma


def test_result_budgets_queries_and_seeding():
    game = make_gridworld_game(size=3)
    problem = _problem(game)
    result = make_algorithm("lsvi-ucb-discounted", problem, budget=6, seed=2).run()
    assert result.method == "lsvi-ucb-discounted"
    assert result.info["gamma"] == 0.9 and result.info["num_episodes"] == 6
    # simultaneous moves: the learner labels every step its explorer played
    assert result.num_queries == result.explorer_steps
    for data in result.datasets:
        assert data.episodes.max() < 6
    again = LSVIUCBDiscountedBC(problem, num_episodes=6, seed=2).run()
    for a, b in zip(result.policies, again.policies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_gridworld_exact_nashconv_matches_the_finite_horizon_method():
    """30 episodes: both near-equilibrium (seeds 0-2 gave 0.011-0.022 vs 0.012-0.016)."""
    game = make_gridworld_game(size=3)
    problem = _problem(game)
    for seed in (0,):
        disc = LSVIUCBDiscountedBC(problem, num_episodes=30, seed=seed).run()
        fin = LSVIUCBZeroBC(problem, num_episodes=30, seed=seed).run()
        gap_d = nash_gap(game, list(disc.policies)).nash_conv
        gap_f = nash_gap(game, list(fin.policies)).nash_conv
        assert gap_d < 0.05 and gap_f < 0.05
        assert abs(gap_d - gap_f) < 0.02


def test_chain_exact_nashconv_is_zero():
    """Chain N = 6, gamma = 0.95: the explorer walks the secret to the gate and
    the guard is labelled there in every seed (the finite-horizon method with
    the same 30 episodes leaves seed 1 at 0.3146)."""
    game = make_chain_game(6)
    problem = _problem(game, horizon=20)
    for seed in (0, 1, 2):
        result = LSVIUCBDiscountedBC(problem, num_episodes=30, seed=seed).run()
        assert nash_gap(game, list(result.policies)).nash_conv < 1e-6
        assert game.num_states - 2 in result.datasets[0].observations  # the gate
