"""Logit (entropy-regularized) equilibria: fixed point, bound, convergence to Nash."""

from __future__ import annotations

import numpy as np
import pytest

from mail_envs.core import TabularMarkovGame
from mail_envs.random_games import make_random_zero_sum_game
from mail_envs.solvers import nash_gap
from mail_envs.solvers.regularized import solve_logit_equilibrium


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _gap_bound(game, tau):
    """2 tau (log|A_0| + log|A_1|) / (1 - gamma): see the module docstring."""
    entropy_range = np.log(game.num_actions[0]) + np.log(game.num_actions[1])
    scale = game.horizon if game.horizon is not None else 1.0 / (1.0 - game.gamma)
    return 2.0 * tau * entropy_range * scale


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nash_gap_decreases_to_zero_with_tau(seed):
    game = make_random_zero_sum_game(seed=seed)
    gaps = []
    for tau in [1.0, 0.1, 0.01]:
        eq = solve_logit_equilibrium(game, tau)
        gap = nash_gap(game, eq.policies).nash_conv
        assert 0.0 <= gap <= _gap_bound(game, tau)
        gaps.append(gap)
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.1


def test_logit_fixed_point_holds_in_every_state():
    game = make_random_zero_sum_game(seed=3, num_states=6, num_actions=(2, 4))
    tau = 0.2
    eq = solve_logit_equilibrium(game, tau)
    x, y = eq.policies
    # Rebuild Q from the returned values with a dense computation.
    next_v = (eq.values[game.next_states] * game.next_probs).sum(-1)
    q = (game.rewards[0] + game.gamma * next_v).reshape(game.num_states, 2, 4)
    np.testing.assert_allclose(
        x, _softmax(np.einsum("sab,sb->sa", q, y) / tau), atol=1e-8
    )
    np.testing.assert_allclose(
        y, _softmax(-np.einsum("sab,sa->sb", q, x) / tau), atol=1e-8
    )
    entropy = lambda p: -(p * np.log(p)).sum(-1)  # noqa: E731
    regularized = np.einsum("sa,sab,sb->s", x, q, y) + tau * (entropy(x) - entropy(y))
    np.testing.assert_allclose(eq.values, regularized, atol=1e-8)


def test_symmetric_game_gives_uniform_policies():
    # Matching pennies repeated: the logit equilibrium is uniform at every tau.
    payoff = np.array([[1.0, -1.0], [-1.0, 1.0]]).reshape(1, 4)
    game = TabularMarkovGame(
        num_actions=(2, 2),
        next_states=np.zeros((1, 4, 1), int),
        next_probs=np.ones((1, 4, 1)),
        rewards=np.stack([payoff, -payoff]),
        legal_masks=(np.ones((1, 2), bool), np.ones((1, 2), bool)),
        initial_distribution=[1.0],
        gamma=0.8,
    )
    eq = solve_logit_equilibrium(game, 0.05)
    np.testing.assert_allclose(eq.policies[0], 0.5, atol=1e-9)
    assert eq.value == pytest.approx(0.0, abs=1e-9)


def test_large_tau_is_nearly_uniform():
    game = make_random_zero_sum_game(seed=4)
    eq = solve_logit_equilibrium(game, 1000.0)
    np.testing.assert_allclose(eq.policies[1], 1.0 / 3.0, atol=1e-2)


def test_finite_horizon():
    game = make_random_zero_sum_game(seed=5, horizon=4, gamma=1.0)
    gaps = []
    for tau in [0.3, 0.03]:
        eq = solve_logit_equilibrium(game, tau)
        assert eq.policies[0].shape == (4, game.num_states, 3)
        gap = nash_gap(game, eq.policies).nash_conv
        assert gap <= _gap_bound(game, tau)
        gaps.append(gap)
    assert gaps[1] < gaps[0]


def test_bad_input():
    game = make_random_zero_sum_game(seed=0)
    with pytest.raises(ValueError, match="tau must be > 0, got 0"):
        solve_logit_equilibrium(game, 0)
    with pytest.raises(ValueError, match="did not reach tol"):
        solve_logit_equilibrium(game, 0.001, max_steps=20)


def test_tolerance_must_be_positive():
    with pytest.raises(ValueError, match="tol must be > 0, got 0"):
        solve_logit_equilibrium(make_random_zero_sum_game(seed=0), 0.1, tol=0)
