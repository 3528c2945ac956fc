"""Tests for the TabularMarkovGame model: validation, sizes, observations, tables."""

from __future__ import annotations

import numpy as np
import pytest

from mail_envs import TabularMarkovGame, joint_action_index


def _pennies(**overrides):
    """Repeated matching pennies with one state; player_0 wins on a match."""
    payoff = np.array([[1.0, -1.0], [-1.0, 1.0]]).reshape(1, 4)
    kwargs = {
        "num_actions": (2, 2),
        "next_states": np.zeros((1, 4, 1), dtype=np.int64),
        "next_probs": np.ones((1, 4, 1)),
        "rewards": np.stack([payoff, -payoff]),
        "legal_masks": (np.ones((1, 2), bool), np.ones((1, 2), bool)),
        "initial_distribution": [1.0],
        "gamma": 0.9,
    }
    kwargs.update(overrides)
    return TabularMarkovGame(**kwargs)


def test_sizes_and_flags():
    game = _pennies()
    assert (game.num_players, game.num_states, game.num_joint_actions) == (2, 1, 4)
    assert game.is_zero_sum and game.is_deterministic
    assert game.player_names == ("player_0", "player_1")
    assert game.joint_reshape(game.rewards[0]).shape == (1, 2, 2)
    assert game.joint_reshape(game.rewards[0])[0, 0, 1] == -1.0


def test_joint_action_index_is_row_major():
    assert joint_action_index([1, 2], [2, 3]) == 5
    assert joint_action_index([0, 1, 1], [2, 2, 2]) == 3
    np.testing.assert_array_equal(
        joint_action_index(np.array([[0, 1], [2, 0]]), [2, 3]), [2, 3]
    )


def test_arrays_are_read_only():
    game = _pennies()
    with pytest.raises(ValueError):
        game.rewards[0, 0, 0] = 3.0
    with pytest.raises(ValueError):
        game.legal_masks[0][0, 0] = False


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"next_probs": np.full((1, 4, 1), 0.5)}, r"next_probs\[0, 0, :\] sums to 0.5"),
        ({"next_states": np.full((1, 4, 1), 3)}, r"next_states\[0, 0, 0\] = 3"),
        ({"next_states": np.zeros((1, 3, 1), int)}, r"next_states must have shape"),
        ({"rewards": np.zeros((2, 1, 3))}, r"rewards must have shape"),
        (
            {"legal_masks": (np.zeros((1, 2), bool), np.ones((1, 2), bool))},
            r"legal_masks\[0\]\[0\] has no legal action",
        ),
        ({"legal_masks": (np.ones((1, 2), bool),)}, r"one array per player"),
        (
            {"initial_distribution": [0.5]},
            r"initial_distribution must be a distribution",
        ),
        ({"gamma": 1.0}, r"needs gamma < 1"),
        ({"gamma": 0.0}, r"gamma must be in \(0, 1\]"),
        ({"horizon": 0}, r"horizon must be an integer >= 1, got 0"),
        ({"num_actions": (2, 0)}, r"num_actions must be positive"),
        ({"player_names": ("a",)}, r"player_names must have 2 entries"),
        ({"terminal": [True]}, r"terminal state 0 must be a zero-reward self-loop"),
    ],
)
def test_validation_names_the_offending_value(overrides, message):
    with pytest.raises(ValueError, match=message):
        _pennies(**overrides)


def test_finite_horizon_allows_gamma_one():
    game = _pennies(gamma=1.0, horizon=5)
    assert game.horizon == 5 and game.gamma == 1.0


def test_two_dimensional_transitions_are_promoted():
    game = _pennies(next_states=np.zeros((1, 4), int), next_probs=np.ones((1, 4)))
    assert game.next_states.shape == (1, 4, 1)


def test_default_observations_are_one_hot():
    game = _pennies()
    obs = game.all_observations(1)
    assert obs.dtype == np.float32
    np.testing.assert_array_equal(obs, np.eye(1, dtype=np.float32))
    assert game.observation_shape(0) == (1,)
    with pytest.raises(ValueError, match="states must lie in"):
        game.observe(0, 3)
    with pytest.raises(ValueError, match="player must be in"):
        game.observe(2, 0)


def test_custom_observations_are_returned():
    obs = (np.array([[7, 8]]), np.array([[9, 10]]))
    game = _pennies(observations=obs)
    np.testing.assert_array_equal(game.observe(1, [0, 0]), [[9, 10], [9, 10]])
    assert game.observation_shape(0) == (2,)


def test_policy_table_from_callable_and_forced_rows():
    # Turn-based: player_1 has only the no-op in state 0.
    masks = (np.ones((1, 2), bool), np.array([[True, False]]))
    game = _pennies(legal_masks=masks)
    table = game.policy_table(0, lambda obs, m: m / m.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(table, [[0.5, 0.5]])
    # The forced row ignores whatever the policy says for a turn it does not move in.
    np.testing.assert_array_equal(
        game.policy_table(1, np.array([[0.0, 1.0]])), [[1, 0]]
    )
    np.testing.assert_allclose(game.uniform_policy(1), [[1.0, 0.0]])


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (np.array([[0.5, 0.5, 0.0]]), r"must have shape \(1, 2\)"),
        (np.array([[0.3, 0.3]]), r"row 0 sums to 0.6"),
        (np.array([[1.5, -0.5]]), r"invalid entries in state 0"),
    ],
)
def test_policy_table_rejects_bad_tables(table, message):
    with pytest.raises(ValueError, match=message):
        _pennies().policy_table(0, table)


def test_policy_table_rejects_illegal_mass():
    masks = (np.array([[True, False, True]]), np.ones((1, 2), bool))
    game = _pennies(
        num_actions=(3, 2),
        next_states=np.zeros((1, 6, 1), int),
        next_probs=np.ones((1, 6, 1)),
        rewards=np.zeros((2, 1, 6)),
        legal_masks=masks,
    )
    with pytest.raises(ValueError, match=r"mass 0\.2 on illegal actions in state 0"):
        game.policy_table(0, np.array([[0.4, 0.2, 0.4]]))


def test_non_finite_initial_distribution_and_fractional_actions_are_rejected():
    with pytest.raises(ValueError, match="got sum nan"):
        _pennies(initial_distribution=[np.nan])
    with pytest.raises(
        ValueError, match=r"num_actions must be integers, got \(2, 2.7\)"
    ):
        _pennies(num_actions=(2, 2.7))


def test_policy_table_never_writes_into_the_policy_output():
    masks = (np.ones((1, 2), bool), np.array([[True, False]]))
    game = _pennies(legal_masks=masks)
    constant = np.broadcast_to(np.array([0.0, 1.0]), (1, 2))  # read-only view
    np.testing.assert_array_equal(game.policy_table(1, lambda o, m: constant), [[1, 0]])
    owned = np.array([[0.0, 1.0]])
    game.policy_table(1, lambda o, m: owned)
    np.testing.assert_array_equal(owned, [[0.0, 1.0]])
