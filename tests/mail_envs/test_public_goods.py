"""The repeated public-goods game: keeping is a dominant strategy for every n."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from mail_envs.public_goods import (
    dominant_profile,
    make_public_goods_game,
    parallel_env,
)
from mail_envs.solvers import best_response, nash_gap


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_dominant_profile_has_zero_nash_gap(n):
    game = make_public_goods_game(n, num_stakes=3)
    result = nash_gap(game, dominant_profile(game))
    assert result.nash_conv <= 1e-9
    np.testing.assert_allclose(result.values, 0.0, atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_keeping_is_the_best_response_to_any_profile(n):
    game = make_public_goods_game(n, num_stakes=3)
    rng = np.random.default_rng(n)
    profile = [rng.dirichlet(np.ones(2), size=game.num_states) for _ in range(n)]
    for player in range(n):
        br = best_response(game, profile, player)
        np.testing.assert_array_equal(br.policy[:, 0], 1.0)


def test_rewards_by_hand():
    # n = 2, m = 1.5, stake 1: keep/keep 0; contribute/contribute 0.5 each;
    # a lone contributor pays 1 and gets back 0.75 (-0.25), the keeper gets 0.75.
    game = make_public_goods_game(2, num_stakes=2, multiplier=1.5)
    np.testing.assert_allclose(
        game.rewards[:, 0], [[0, 0.75, -0.25, 0.5], [0, -0.25, 0.75, 0.5]]
    )
    np.testing.assert_allclose(game.rewards[:, 1], 2 * game.rewards[:, 0])
    full_cooperation = [np.tile([0.0, 1.0], (2, 1))] * 2
    result = nash_gap(game, full_cooperation)
    assert result.gains.min() > 0.1  # cooperation is exploitable by keeping


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_players": 1}, "num_players must be an integer >= 2"),
        (
            {"num_players": 3, "multiplier": 3.0},
            r"multiplier must lie in \(1, num_players=3\)",
        ),
        ({"num_stakes": 0}, "num_stakes must be an integer >= 1"),
        ({"drift": 0.7}, r"drift must lie in \[0, 0.5\]"),
    ],
)
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_public_goods_game(**kwargs)


def test_parallel_env_passes_the_api_checker():
    parallel_api_test(parallel_env(num_players=4), num_cycles=30)
