"""Tests of TablePolicy (solver tables as batched policies on observations)."""

from __future__ import annotations

import numpy as np
import pytest

from mail_envs.core import TabularMarkovGame
from mail_wrappers.table_policy import TablePolicy


def _game(observations=None, horizon=None) -> TabularMarkovGame:
    # 3 states, one player with 2 actions; action a moves to state a + 1 (capped)
    nxt = np.array([[1, 2], [2, 2], [2, 2]])
    return TabularMarkovGame(
        num_actions=(2,),
        next_states=nxt,
        next_probs=np.ones((3, 2)),
        rewards=np.zeros((1, 3, 2)),
        legal_masks=(np.array([[1, 1], [1, 0], [1, 1]], bool),),
        initial_distribution=np.array([1.0, 0.0, 0.0]),
        gamma=0.9 if horizon is None else 1.0,
        horizon=horizon,
        observations=observations,
    )


TABLE = np.array([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]])


def test_one_hot_observations_pick_rows():
    policy = TablePolicy(_game(), 0, TABLE)
    obs = np.eye(3, dtype=np.float32)[[2, 0, 1, 0]]
    np.testing.assert_array_equal(
        policy(obs, np.ones((4, 2), bool)), TABLE[[2, 0, 1, 0]]
    )
    np.testing.assert_array_equal(policy.states(obs), [2, 0, 1, 0])


def test_custom_observations_are_looked_up():
    obs = np.array([[0, 1], [1, 1], [2, 0]], dtype=np.int8)
    policy = TablePolicy(_game(observations=(obs,)), 0, TABLE)
    np.testing.assert_array_equal(
        policy(obs[[1, 2]], np.ones((2, 2), bool)), TABLE[[1, 2]]
    )
    with pytest.raises(ValueError, match="not a state"):
        policy(np.array([[5, 5]]), np.ones((1, 2), bool))


def test_aliased_observations_with_different_rows_are_rejected():
    obs = np.array([[0], [0], [1]])
    with pytest.raises(ValueError, match="share an observation"):
        TablePolicy(_game(observations=(obs,)), 0, TABLE)
    same = TABLE.copy()
    same[1] = same[0] = [1.0, 0.0]
    TablePolicy(_game(observations=(obs,)), 0, same)  # consistent aliasing is fine


def test_non_stationary_table_follows_the_step():
    step = {"h": 0}
    layers = np.stack([TABLE, TABLE[::-1].copy()])
    layers[1, 1] = [1.0, 0.0]  # keep state 1 legal
    policy = TablePolicy(_game(horizon=2), 0, layers, step_source=lambda: step["h"])
    obs = np.eye(3)[[0]]
    np.testing.assert_array_equal(policy(obs, np.ones((1, 2), bool)), layers[0, [0]])
    step["h"] = 1
    np.testing.assert_array_equal(policy(obs, np.ones((1, 2), bool)), layers[1, [0]])
    step["h"] = 7  # past the horizon: last layer
    np.testing.assert_array_equal(policy(obs, np.ones((1, 2), bool)), layers[1, [0]])
    with pytest.raises(ValueError, match="step_source"):
        TablePolicy(_game(horizon=2), 0, layers)


def test_invalid_tables_are_rejected():
    bad = TABLE.copy()
    bad[0] = [0.5, 0.6]
    with pytest.raises(ValueError, match="sums to"):
        TablePolicy(_game(), 0, bad)
    with pytest.raises(ValueError, match="shape"):
        TablePolicy(_game(), 0, TABLE[:2])
    with pytest.raises(ValueError, match="one-hot"):
        TablePolicy(_game(), 0, TABLE)(np.ones((1, 3)), np.ones((1, 2), bool))
