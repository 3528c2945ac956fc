"""Shapley iteration and backward induction: exact Nash gap and minimax Bellman."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from mail_envs.core import TabularMarkovGame
from mail_envs.solvers import (
    backward_induction,
    nash_gap,
    solve_zero_sum,
    solve_zero_sum_discounted,
)


def lp_value(payoff: np.ndarray, row_mask: np.ndarray, col_mask: np.ndarray) -> float:
    """Matrix-game value from the row player's LP (independent of the solver)."""
    sub = payoff[np.ix_(row_mask, col_mask)]
    m, k = sub.shape
    res = linprog(
        np.r_[np.zeros(m), -1.0],
        A_ub=np.hstack([-sub.T, np.ones((k, 1))]),
        b_ub=np.zeros(k),
        A_eq=np.r_[np.ones(m), 0.0][None],
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
    )
    assert res.status == 0
    return float(res.x[-1])


def minimax_backup(game: TabularMarkovGame, values: np.ndarray, s: int) -> float:
    """``val[r_0(s) + gamma sum_k p V(next)]`` of state ``s`` by explicit loops."""
    a0, a1 = game.num_actions
    q = np.zeros((a0, a1))
    for i in range(a0):
        for j in range(a1):
            a = i * a1 + j
            q[i, j] = game.rewards[0, s, a] + game.gamma * sum(
                p * values[t]
                for t, p in zip(
                    game.next_states[s, a], game.next_probs[s, a], strict=True
                )
            )
    return lp_value(q, game.legal_masks[0][s], game.legal_masks[1][s])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("method", ["strategy_iteration", "value_iteration"])
def test_shapley_on_random_games(ref, seed, method) -> None:
    game = ref.random_game(
        seed,
        (3, 3),
        num_states=8,
        num_successors=2,
        zero_sum=True,
        num_terminal=seed % 2,
    )
    eq = solve_zero_sum_discounted(game, method=method)
    result = nash_gap(game, eq.policies)
    assert result.nash_conv <= 1e-6
    assert result.nash_conv <= 1e-9  # in practice far below the required 1e-6
    assert eq.residual <= 1e-10
    v = eq.values[0]
    np.testing.assert_allclose(eq.values[1], -v, atol=1e-12)
    for s in range(game.num_states):
        assert v[s] == pytest.approx(minimax_backup(game, v, s), abs=1e-8)
    assert eq.value[0] == pytest.approx(v @ game.initial_distribution, abs=1e-14)


def test_strategy_and_value_iteration_agree(ref) -> None:
    game = ref.random_game(9, (4, 3), num_states=20, num_successors=3, zero_sum=True)
    si = solve_zero_sum_discounted(game)
    vi = solve_zero_sum_discounted(game, method="value_iteration")
    np.testing.assert_allclose(si.values, vi.values, atol=1e-8)
    assert si.iterations < vi.iterations


@pytest.mark.parametrize("size", [3, 5])
def test_gridworld_equilibrium(size) -> None:
    gridworld = pytest.importorskip("mail_envs.gridworld")
    game = gridworld.make_gridworld_game(size=size, allow_stay=False, gamma=0.9)
    eq = solve_zero_sum(game)
    assert nash_gap(game, eq.policies).nash_conv <= 1e-9
    vi = solve_zero_sum_discounted(game, method="value_iteration")
    np.testing.assert_allclose(eq.values, vi.values, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("gamma", [1.0, 0.7])
def test_backward_induction_on_random_games(ref, seed, gamma) -> None:
    game = ref.random_game(
        seed,
        (3, 2),
        num_states=6,
        zero_sum=True,
        horizon=4,
        gamma=gamma,
        num_terminal=1,
    )
    eq = backward_induction(game)
    assert eq.policies[0].shape == (4, 6, 3) and eq.policies[1].shape == (4, 6, 2)
    assert nash_gap(game, eq.policies).nash_conv <= 1e-9
    # Stage-wise minimax Bellman equation.
    v = np.concatenate([eq.values[0], np.zeros((1, 6))])
    for h in range(4):
        for s in range(6):
            assert v[h, s] == pytest.approx(minimax_backup(game, v[h + 1], s), abs=1e-9)


def turn_based_game() -> TabularMarkovGame:
    """A two-move game tree, solved by hand.

    State 0: player 0 moves, Left (to state 1) or Right (to state 2), reward 0.
    State 1: player 1 picks a payoff to player 0 of +3 or +1. State 2: player 1
    picks -2 or +5. State 3: terminal. Horizon 2, gamma 1. The non-mover's only
    action is the no-op 0.

    By hand: in state 1 player 1 picks +1, in state 2 it picks -2; player 0
    goes Left; the value is +1.
    """
    num_actions = (2, 2)
    next_states = np.full((4, 4, 1), 3)
    next_states[0, [0, 1]] = 1  # (Left, no-op), (Left, 1)
    next_states[0, [2, 3]] = 2
    r0 = np.zeros((4, 4))
    # Joint action a0 * 2 + a1; player 0's no-op is a0 = 0 (joints 2, 3 illegal).
    r0[1, [0, 2]] = 3.0
    r0[1, [1, 3]] = 1.0
    r0[2, [0, 2]] = -2.0
    r0[2, [1, 3]] = 5.0
    masks = (
        np.array([[True, True], [True, False], [True, False], [True, False]]),
        np.array([[True, False], [True, True], [True, True], [True, False]]),
    )
    return TabularMarkovGame(
        num_actions=num_actions,
        next_states=next_states,
        next_probs=np.ones((4, 4, 1)),
        rewards=np.stack([r0, -r0]),
        legal_masks=masks,
        initial_distribution=np.array([1.0, 0.0, 0.0, 0.0]),
        gamma=1.0,
        horizon=2,
        terminal=np.array([False, False, False, True]),
    )


def test_backward_induction_turn_based_by_hand() -> None:
    game = turn_based_game()
    eq = solve_zero_sum(game)
    np.testing.assert_allclose(eq.value, [1.0, -1.0], atol=1e-15)
    pi0, pi1 = eq.policies
    np.testing.assert_array_equal(pi0[0, 0], [1.0, 0.0])  # Left at the root
    np.testing.assert_array_equal(pi1[1, 1], [0.0, 1.0])  # concede +1, not +3
    np.testing.assert_array_equal(pi1[1, 2], [1.0, 0.0])  # concede -2, not +5
    np.testing.assert_allclose(eq.values[0, 1, 1:3], [1.0, -2.0], atol=1e-15)
    np.testing.assert_array_equal(eq.values[:, :, 3], 0.0)
    assert nash_gap(game, eq.policies).nash_conv == 0.0


def test_solver_input_checks(ref) -> None:
    general = ref.random_game(1, (2, 2), num_states=3)
    with pytest.raises(ValueError, match="zero-sum"):
        solve_zero_sum(general)
    three = ref.random_game(1, (2, 2, 2), num_states=3)
    with pytest.raises(ValueError, match="3 players"):
        solve_zero_sum(three)
    finite = ref.random_game(1, (2, 2), num_states=3, zero_sum=True, horizon=2)
    with pytest.raises(ValueError, match="horizon=2"):
        solve_zero_sum_discounted(finite)
    discounted = ref.random_game(1, (2, 2), num_states=3, zero_sum=True)
    with pytest.raises(ValueError, match="horizon=None"):
        backward_induction(discounted)
    with pytest.raises(ValueError, match="method"):
        solve_zero_sum_discounted(discounted, method="lp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tol"):
        solve_zero_sum_discounted(discounted, tol=0.0)
    with pytest.raises(ValueError, match="no options"):
        solve_zero_sum(finite, tol=1e-3)
    with pytest.raises(RuntimeError, match="did not reach"):
        solve_zero_sum_discounted(discounted, method="value_iteration", max_iter=2)


def test_single_state_discounted_value_is_stage_value_over_one_minus_gamma() -> None:
    # Shapley (1953): with one state, V = val(A) + gamma V, so V = val(A) / (1 - gamma);
    # val([[2, -1], [-1, 1]]) = 1/5 (2x2 closed form, Ferguson Part II Sec. 3.2).
    r0 = np.array([[2.0, -1.0, -1.0, 1.0]])
    game = TabularMarkovGame(
        num_actions=(2, 2),
        next_states=np.zeros((1, 4, 1), dtype=int),
        next_probs=np.ones((1, 4, 1)),
        rewards=np.stack([r0, -r0]),
        legal_masks=(np.ones((1, 2), bool), np.ones((1, 2), bool)),
        initial_distribution=np.ones(1),
        gamma=0.9,
    )
    eq = solve_zero_sum(game)
    np.testing.assert_allclose(eq.value, [2.0, -2.0], atol=1e-12)
    np.testing.assert_allclose(eq.policies[0], [[0.4, 0.6]], atol=1e-12)
    np.testing.assert_allclose(eq.policies[1], [[0.4, 0.6]], atol=1e-12)
