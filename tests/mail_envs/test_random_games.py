"""Tests of the seeded random zero-sum and general-sum Markov games."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from mail_envs import random_games
from mail_envs.random_games import (
    make_random_general_sum_game,
    make_random_zero_sum_game,
)


def _assert_same_game(a, b):
    np.testing.assert_array_equal(a.next_states, b.next_states)
    np.testing.assert_array_equal(a.next_probs, b.next_probs)
    np.testing.assert_array_equal(a.rewards, b.rewards)


def test_zero_sum_game_shapes_and_properties():
    game = make_random_zero_sum_game(12, (3, 4), num_successors=5, seed=1)
    assert game.num_states == 12 and game.num_actions == (3, 4)
    assert game.next_states.shape == game.next_probs.shape == (12, 12, 5)
    assert game.is_zero_sum and not game.is_deterministic
    np.testing.assert_array_equal(game.rewards[1], -game.rewards[0])
    assert game.rewards.min() >= -1.0 and game.rewards.max() <= 1.0
    assert game.rewards.min() < -0.9 and game.rewards.max() > 0.9
    # Successors: distinct and sorted in every row; probabilities positive.
    assert np.all(np.diff(game.next_states, axis=2) > 0)
    assert np.all(game.next_probs > 0)
    np.testing.assert_allclose(game.next_probs.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(game.initial_distribution, 1 / 12)
    assert not game.terminal.any() and all(m.all() for m in game.legal_masks)
    assert game.gamma == 0.9 and game.horizon is None


def test_draws_follow_the_documented_order():
    """Rewards, successor keys, Dirichlet weights: rebuilt from one generator."""
    game = make_random_zero_sum_game(6, (2, 3), num_successors=2, seed=42)
    rng = np.random.default_rng(42)
    r0 = rng.uniform(-1.0, 1.0, size=(6, 6))
    keys = rng.random((36, 6))
    probs = rng.dirichlet(np.ones(2), size=36)
    np.testing.assert_array_equal(game.rewards[0], r0)
    expected = np.sort(np.argsort(keys, axis=1)[:, :2], axis=1)
    np.testing.assert_array_equal(game.next_states.reshape(36, 2), expected)
    np.testing.assert_array_equal(game.next_probs.reshape(36, 2), probs)


def test_reproducible_and_seed_dependent():
    _assert_same_game(
        make_random_zero_sum_game(seed=3), make_random_zero_sum_game(seed=3)
    )
    a, b = make_random_zero_sum_game(seed=3), make_random_zero_sum_game(seed=4)
    assert not np.array_equal(a.rewards, b.rewards)
    assert not np.array_equal(a.next_states, b.next_states)


def test_stream_does_not_depend_on_the_key_block(monkeypatch):
    reference = make_random_zero_sum_game(20, (2, 2), num_successors=4, seed=5)
    monkeypatch.setattr(random_games, "_KEY_BLOCK", 7 * 20)  # 7 rows per block
    _assert_same_game(
        reference, make_random_zero_sum_game(20, (2, 2), num_successors=4, seed=5)
    )


def test_successor_sets_are_uniform():
    """Each state is a successor with frequency K / S (binomial, 6 sigma)."""
    num_states, k = 8, 3
    game = make_random_zero_sum_game(num_states, (10, 10), num_successors=k, seed=0)
    counts = np.bincount(game.next_states.ravel(), minlength=num_states)
    rows = num_states * 100
    p = k / num_states
    sigma = np.sqrt(rows * p * (1 - p))
    assert np.all(np.abs(counts - rows * p) < 6 * sigma)


def test_extreme_successor_counts():
    det = make_random_zero_sum_game(5, (2, 2), num_successors=1, seed=0)
    assert det.is_deterministic and det.next_states.shape == (5, 4, 1)
    full = make_random_zero_sum_game(5, (2, 2), num_successors=5, seed=0)
    np.testing.assert_array_equal(
        full.next_states, np.broadcast_to(np.arange(5), (5, 4, 5))
    )


def test_general_sum_game():
    game = make_random_general_sum_game(7, (2, 3, 2), num_successors=2, seed=8)
    assert game.num_players == 3 and game.player_names == (
        "player_0",
        "player_1",
        "player_2",
    )
    assert game.rewards.shape == (3, 7, 12)
    assert not game.is_zero_sum
    assert game.name == "random_general_sum"
    _assert_same_game(
        game, make_random_general_sum_game(7, (2, 3, 2), num_successors=2, seed=8)
    )
    single = make_random_general_sum_game(4, (3,), seed=0)
    assert single.num_players == 1


def test_finite_horizon():
    game = make_random_zero_sum_game(gamma=1.0, horizon=5)
    assert game.horizon == 5
    assert random_games.parallel_env(gamma=1.0, horizon=5).max_cycles == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_states": 0}, "num_states must be an integer >= 1, got 0"),
        ({"num_states": 2.5}, r"got 2\.5"),
        (
            {"num_states": 2, "num_successors": 3},
            "num_successors must be <= num_states = 2, got 3",
        ),
        ({"num_successors": 0}, "num_successors must be an integer >= 1, got 0"),
        ({"num_actions": (3, 3, 3)}, r"must hold 2 action counts, got \(3, 3, 3\)"),
        ({"num_actions": (3, 0)}, r"num_actions\[1\] must be an integer >= 1, got 0"),
        ({"num_actions": 3}, "must be a sequence of action counts, got 3"),
        ({"gamma": 1.5}, r"gamma must be in \(0, 1\], got 1\.5"),
    ],
)
def test_invalid_arguments_raise_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_random_zero_sum_game(**kwargs)


def test_general_sum_rejects_empty_action_list():
    with pytest.raises(ValueError, match=r"must not be empty, got \(\)"):
        make_random_general_sum_game(num_actions=())


def test_env_uses_the_seeded_game():
    par = random_games.parallel_env(num_states=6, seed=2)
    _assert_same_game(par.game, make_random_zero_sum_game(6, seed=2))
    assert par.max_cycles == random_games.DEFAULT_MAX_CYCLES == 50
    assert par.metadata["name"] == "random_zero_sum_v0"
    assert isinstance(random_games.env().unwrapped, random_games.raw_env)


def test_pettingzoo_checkers():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings(
            "ignore", message="Observation space for each agent probably"
        )
        warnings.filterwarnings("ignore", message="Observation is not a NumPy array")
        api_test(random_games.env(), num_cycles=100)
        parallel_api_test(random_games.parallel_env(num_actions=(2, 4)), num_cycles=100)
        seed_test(lambda: random_games.env(num_states=30), num_cycles=30)
        parallel_seed_test(
            lambda: random_games.parallel_env(num_states=30), num_cycles=30
        )
