"""Tests of mail_envs.solvers.mixed: the average of the pure equilibria."""

from __future__ import annotations

import numpy as np
import pytest

from mail_envs.gridworld import PUBLISHED_STARTS, make_gridworld_game
from mail_envs.random_games import make_random_zero_sum_game
from mail_envs.solvers import nash_gap, solve_zero_sum
from mail_envs.solvers.mixed import mixed_zero_sum_equilibrium

LEFT, RIGHT, UP, DOWN = range(4)


@pytest.mark.parametrize("starts", [PUBLISHED_STARTS, None])
def test_gridworld_mixture_is_an_exact_mixed_equilibrium(starts) -> None:
    game = make_gridworld_game(3, starts=starts)
    mixed = mixed_zero_sum_equilibrium(game)
    gap = nash_gap(game, list(mixed.policies))
    assert gap.nash_conv == pytest.approx(0.0, abs=1e-9)
    # Not deterministic: many states mix over several optimal moves.
    for policy in mixed.policies:
        np.testing.assert_allclose(policy.sum(axis=1), 1.0)
        assert (policy.max(axis=1) < 1.0).sum() > 10
    # Every pure selection of optimal actions is itself an equilibrium, e.g.
    # the first and the last optimal action of every state.
    for pick in (
        np.argmax,
        lambda m, axis: m.shape[1] - 1 - np.argmax(m[:, ::-1], axis),
    ):
        pure = [np.eye(4)[pick(m, axis=1)] for m in mixed.optimal_actions]
        assert nash_gap(game, pure).nash_conv == pytest.approx(0.0, abs=1e-9)


def test_published_start_mixes_up_and_right() -> None:
    """From (1, 0) / (2, 1) both players may go up or right (2 moves left each).

    The published code's hand-made mixture (linear_bc_experiments.py) puts
    probability p, q = 0.5 on up / right at this state.
    """
    game = make_gridworld_game(3, starts=PUBLISHED_STARTS)
    start = int(game.initial_distribution.argmax())
    mixed = mixed_zero_sum_equilibrium(game)
    for policy in mixed.policies:
        np.testing.assert_array_equal(policy[start], [0.0, 0.5, 0.5, 0.0])
    # the solver's own equilibrium is deterministic there
    assert all(p[start].max() == 1.0 for p in solve_zero_sum(game).policies)


def test_genuinely_mixed_states_keep_the_solver_strategy() -> None:
    game = make_random_zero_sum_game(num_states=5, seed=0)
    mixed = mixed_zero_sum_equilibrium(game)
    assert nash_gap(game, list(mixed.policies)).nash_conv < 1e-8
    for policy, optimal, base in zip(
        mixed.policies, mixed.optimal_actions, mixed.base.policies, strict=True
    ):
        none = ~optimal.any(axis=1)
        np.testing.assert_array_equal(policy[none], base[none])


def test_rejects_bad_arguments() -> None:
    game = make_gridworld_game(3)
    with pytest.raises(ValueError, match="tie_tol"):
        mixed_zero_sum_equilibrium(game, tie_tol=-1.0)
    with pytest.raises(ValueError, match="horizon"):
        mixed_zero_sum_equilibrium(make_gridworld_game(3, horizon=5))
