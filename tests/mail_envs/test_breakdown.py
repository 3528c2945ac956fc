"""The breakdown game: action 0 is dominant and imitation errors compound.

Built for the dominant-strategy bound of Bergerault, Cevher, Mehr ("Matching
Multiple Experts: On the Exploitability of Multi-Agent Imitation Learning");
the values below are computed by hand in the comments.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pettingzoo
import pytest
from pettingzoo.test import api_test, parallel_api_test

import mail_envs
from mail_envs.breakdown import (
    BROKEN,
    WORKING,
    dominant_profile,
    env,
    make_breakdown_game,
    parallel_env,
    slip_profile,
)
from mail_envs.solvers import best_response, nash_gap, policy_evaluation


def test_rules_by_hand():
    game = make_breakdown_game(2, cost=0.25, gamma=0.5)
    # Joint actions (0,0), (0,1), (1,0), (1,1), row-major.
    # working: stays up only when both play 0; broken: repaired unless both wait.
    np.testing.assert_array_equal(
        game.next_states[:, :, 0], [[0, 1, 1, 1], [0, 0, 0, 1]]
    )
    # r_0 = 1[working] - 0.25 * a_0: working (1, 1, 0.75, 0.75), broken (0, 0, -.25, -.25).
    np.testing.assert_allclose(
        game.rewards[0], [[1, 1, 0.75, 0.75], [0, 0, -0.25, -0.25]]
    )
    np.testing.assert_allclose(
        game.rewards[1], [[1, 0.75, 1, 0.75], [0, -0.25, 0, -0.25]]
    )
    np.testing.assert_array_equal(game.initial_distribution, [1.0, 0.0])
    assert (WORKING, BROKEN) == (0, 1)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_expert_is_an_equilibrium_worth_one_over_one_minus_gamma(n):
    game = make_breakdown_game(n, gamma=0.9)
    result = nash_gap(game, dominant_profile(game))
    assert result.nash_conv <= 1e-12
    np.testing.assert_allclose(result.values, 10.0, rtol=1e-12)  # 1 / (1 - 0.9)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_slip_gain_closed_form(n):
    # cost 0, everyone careless w.p. e in working, nobody repairs: with q = 1 - e,
    # V(working) = 1 / (1 - g q^n). Player i deviating to the expert repairs at
    # once, and the machine breaks w.p. p' = 1 - q^(n-1):
    # V = 1 + g (1 - p') V + g^2 p' V  =>  V = 1 / ((1 - g)(1 + g p')).
    gamma, e = 0.9, 0.05
    game = make_breakdown_game(n, cost=0.0, gamma=gamma)
    q = 1 - e
    p_other = 1 - q ** (n - 1)
    expected = 1 / ((1 - gamma) * (1 + gamma * p_other)) - 1 / (1 - gamma * q**n)
    result = nash_gap(game, slip_profile(game, e))
    np.testing.assert_allclose(result.gains, expected, rtol=1e-10)
    np.testing.assert_allclose(result.values, 1 / (1 - gamma * q**n), rtol=1e-10)


@pytest.mark.parametrize(("n", "cost"), [(1, 0.1), (2, 0.1), (3, 0.1), (2, 0.0)])
def test_action_zero_is_dominant_against_every_deterministic_opponent(n, cost):
    # Brute force: every deterministic stationary profile of the others (4 per
    # player); the expert's value equals the best response's.
    game = make_breakdown_game(n, cost=cost, gamma=0.8)
    expert = dominant_profile(game)
    deterministic = [np.eye(2)[list(c)] for c in itertools.product(range(2), repeat=2)]
    for others in itertools.product(deterministic, repeat=n - 1):
        for i in range(n):
            profile = [*others[:i], expert[i], *others[i:]]
            br = best_response(game, profile, i)
            value = policy_evaluation(game, profile)[i] @ game.initial_distribution
            assert br.value <= value + 1e-9
            if cost > 0:  # strictly dominant: the best response is action 0
                np.testing.assert_array_equal(br.policy[:, 0], 1.0)


def test_strict_dominance_against_random_mixed_opponents():
    game = make_breakdown_game(3, cost=0.1, gamma=0.95)
    rng = np.random.default_rng(0)
    for _ in range(10):
        profile = [rng.dirichlet(np.ones(2), size=2) for _ in range(3)]
        for i in range(3):
            np.testing.assert_array_equal(
                best_response(game, profile, i).policy[:, 0], 1.0
            )


def test_slip_profile_tables():
    game = make_breakdown_game(2)
    tables = slip_profile(game, 0.2, repair=0.5)
    assert len(tables) == 2
    np.testing.assert_allclose(tables[1], [[0.8, 0.2], [0.5, 0.5]])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: make_breakdown_game(0), ValueError, "num_players"),
        (lambda: make_breakdown_game(2.5), ValueError, "num_players"),
        (lambda: make_breakdown_game(2, cost=1.5), ValueError, "cost"),
        (lambda: make_breakdown_game(2, cost="a"), TypeError, "cost"),
        (lambda: make_breakdown_game(2, gamma=1.5), ValueError, "gamma"),
        (lambda: slip_profile(make_breakdown_game(2), -0.1), ValueError, "slip"),
        (
            lambda: slip_profile(make_breakdown_game(2), 0.1, repair=2),
            ValueError,
            "repair",
        ),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_envs_pass_the_api_checkers_and_are_registered():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Observation")
        api_test(env(num_players=3), num_cycles=30)
        parallel_api_test(parallel_env(), num_cycles=30)
        made = pettingzoo.make("parallel", "mail/breakdown-v0", num_players=3)
        parallel_api_test(made, num_cycles=30)
    assert "mail/breakdown-v0" in [info.id for info in mail_envs.GAMES]
    assert made.possible_agents == ["player_0", "player_1", "player_2"]
