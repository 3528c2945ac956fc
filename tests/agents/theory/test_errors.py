"""Occupancy-matching and BC errors, checked by hand and against dense formulas."""

from __future__ import annotations

import numpy as np
import pytest

from agents.theory.errors import bc_error, occupancy_errors
from mail_envs.random_games import make_random_zero_sum_game
from mail_envs.solvers import occupancy_measure, solve_zero_sum
from mail_envs.xor_coordination import (
    expert_profile,
    make_xor_coordination_game,
    state_matching_profile,
)


def test_xor_counterexample_by_hand():
    game = make_xor_coordination_game(gamma=0.9)
    err = occupancy_errors(game, state_matching_profile(), expert_profile())
    assert err.state == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(err.player_state_action, [0.5, 0.0], atol=1e-12)
    # Joint: learned puts 1/4 on (s, (0,0)) and (s, (0,1)); expert 1/8 on all 8.
    assert err.joint_state_action == pytest.approx(0.5, abs=1e-12)
    bc = bc_error(game, state_matching_profile(), expert_profile())
    # TV([1, 0], [1/2, 1/2]) = 1/2 in both states for player_0, 0 for player_1.
    np.testing.assert_allclose(bc.expected, [0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(bc.worst, [0.5, 0.0], atol=1e-12)


def test_identical_profiles_have_zero_errors():
    game = make_random_zero_sum_game(seed=0)
    eq = solve_zero_sum(game)
    err = occupancy_errors(game, eq.policies, eq.policies)
    assert err.state == 0.0 and err.joint_state_action == 0.0
    bc = bc_error(game, eq.policies, eq.policies)
    np.testing.assert_array_equal(bc.expected, 0.0)
    np.testing.assert_array_equal(bc.worst, 0.0)


@pytest.mark.parametrize("horizon", [None, 4])
def test_bc_error_matches_a_dense_computation(horizon):
    game = make_random_zero_sum_game(
        seed=1, horizon=horizon, gamma=1.0 if horizon else 0.9
    )
    rng = np.random.default_rng(0)
    expert = [rng.dirichlet(np.ones(3), size=game.num_states) for _ in range(2)]
    learned = [rng.dirichlet(np.ones(3), size=game.num_states) for _ in range(2)]
    bc = bc_error(game, learned, expert)
    d_expert = occupancy_measure(game, expert).state
    for i in range(2):
        tv = 0.5 * np.abs(learned[i] - expert[i]).sum(axis=1)
        assert bc.expected[i] == pytest.approx(float(d_expert @ tv), abs=1e-12)
        assert bc.worst[i] == pytest.approx(tv.max(), abs=1e-12)
        assert bc.worst_state[i] == int(np.argmax(tv))
        assert bc.expected[i] <= bc.worst[i] + 1e-12


def test_bad_profile_is_rejected():
    game = make_xor_coordination_game()
    with pytest.raises(ValueError, match="expected 2 policies"):
        bc_error(game, [np.full((2, 2), 0.5)], expert_profile())


def test_terminal_states_carry_no_bc_error():
    from mail_envs.core import TabularMarkovGame

    # A live state leading to a terminal one; the profiles differ only there.
    game = TabularMarkovGame(
        num_actions=(2,),
        next_states=np.array([[1, 1], [1, 1]]),
        next_probs=np.ones((2, 2)),
        rewards=np.array([[[1.0, 0.0], [0.0, 0.0]]]),
        legal_masks=(np.ones((2, 2), bool),),
        initial_distribution=np.array([1.0, 0.0]),
        gamma=0.9,
        terminal=np.array([False, True]),
    )
    bc = bc_error(game, [np.array([[1.0, 0], [0, 1]])], [np.array([[1.0, 0], [1, 0]])])
    np.testing.assert_array_equal(bc.expected, [0.0])
    np.testing.assert_array_equal(bc.worst, [0.0])
