"""The XOR coordination counterexample: equal state occupancy, large Nash gap.

Source of the construction: Bergerault, Cevher, Mehr, "Matching Multiple
Experts: On the Exploitability of Multi-Agent Imitation Learning".
"""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test

from mail_envs.solvers import nash_gap, occupancy_measure
from mail_envs.xor_coordination import (
    env,
    expert_profile,
    make_xor_coordination_game,
    parallel_env,
    state_matching_profile,
)

GAMMAS = [0.5, 0.9, 0.99, 0.999]


@pytest.mark.parametrize("gamma", GAMMAS)
def test_expert_is_an_equilibrium_with_the_closed_form_value(gamma):
    game = make_xor_coordination_game(gamma=gamma)
    result = nash_gap(game, expert_profile())
    assert result.nash_conv <= 1e-9
    np.testing.assert_allclose(result.values, 0.5 / (1 - gamma), rtol=1e-12)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_state_matching_profile_has_expert_state_occupancy(gamma):
    game = make_xor_coordination_game(gamma=gamma)
    expert = occupancy_measure(game, expert_profile())
    learned = occupancy_measure(game, state_matching_profile())
    np.testing.assert_allclose(learned.state, expert.state, atol=1e-12)
    np.testing.assert_allclose(expert.state, [0.5, 0.5], atol=1e-12)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_player_two_gains_half_over_one_minus_gamma(gamma):
    game = make_xor_coordination_game(gamma=gamma)
    result = nash_gap(game, state_matching_profile())
    # Same values as the expert: matching occupancy matches the reward too.
    np.testing.assert_allclose(result.values, 0.5 / (1 - gamma), rtol=1e-12)
    # player_0 (always 0) cannot gain against a uniform partner; player_1 gains
    # by always playing 0: 1 / (1 - gamma) - 1 / (2 (1 - gamma)).
    assert abs(result.gains[0]) <= 1e-9
    assert result.gains[1] == pytest.approx(0.5 / (1 - gamma), abs=1e-9)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_state_action_occupancy_tells_the_profiles_apart(gamma):
    game = make_xor_coordination_game(gamma=gamma)
    expert = occupancy_measure(game, expert_profile())
    learned = occupancy_measure(game, state_matching_profile())
    np.testing.assert_allclose(expert.player_state_action[0], 0.25, atol=1e-12)
    np.testing.assert_allclose(learned.player_state_action[0], [[0.5, 0], [0.5, 0]])
    tv = (
        0.5
        * np.abs(expert.player_state_action[0] - learned.player_state_action[0]).sum()
    )
    assert tv == pytest.approx(0.5, abs=1e-12)
    np.testing.assert_allclose(
        learned.player_state_action[1], expert.player_state_action[1], atol=1e-12
    )


def test_rules():
    game = make_xor_coordination_game()
    # Joint actions (0,0), (0,1), (1,0), (1,1): next state is the XOR.
    np.testing.assert_array_equal(game.next_states[:, :, 0], [[0, 1, 1, 0]] * 2)
    np.testing.assert_array_equal(game.rewards[1], [[1, 0, 0, 1]] * 2)
    assert not game.is_zero_sum


def test_envs_pass_the_api_checkers():
    api_test(env(), num_cycles=50)
    parallel_api_test(parallel_env(), num_cycles=50)
    assert parallel_env(max_cycles=7).max_cycles == 7
