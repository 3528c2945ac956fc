"""Occupancy measures against dense computations and against the values."""

from __future__ import annotations

import numpy as np
import pytest

from mail_envs.solvers import occupancy_measure, policy_evaluation


@pytest.mark.parametrize("num_actions", [(2, 3), (2, 2, 2)])
@pytest.mark.parametrize("num_terminal", [0, 1])
def test_discounted_occupancy(ref, num_actions, num_terminal) -> None:
    game = ref.random_game(13, num_actions, num_states=6, num_terminal=num_terminal)
    tables = [ref.random_policy(game, i, seed=i) for i in range(game.num_players)]
    occ = occupancy_measure(game, tables)
    assert occ.normalized and occ.per_step is None
    # Dense: d^T = (1 - gamma) mu0^T (I - gamma P)^-1.
    joint = ref.joint(game, tables)
    p = ref.chain(game, joint)
    inv = np.linalg.inv(np.eye(game.num_states) - game.gamma * p)
    expected = (1 - game.gamma) * game.initial_distribution @ inv
    np.testing.assert_allclose(occ.state, expected, atol=1e-13)
    assert occ.state.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(
        occ.joint_state_action, expected[:, None] * joint, atol=1e-13
    )
    for i, d_i in enumerate(occ.player_state_action):
        assert d_i.shape == (game.num_states, game.num_actions[i])
        np.testing.assert_allclose(d_i.sum(axis=1), occ.state, atol=1e-13)
        assert np.all(d_i[~game.legal_masks[i]] == 0)
    # Values: V_i(mu0) = sum_{s,a} d(s, a) r_i(s, a) / (1 - gamma).
    values = policy_evaluation(game, tables) @ game.initial_distribution
    from_occ = (occ.joint_state_action * game.rewards).sum(axis=(1, 2)) / (
        1 - game.gamma
    )
    np.testing.assert_allclose(from_occ, values, atol=1e-12)
    raw = occupancy_measure(game, tables, normalized=False)
    assert raw.state.sum() == pytest.approx(1 / (1 - game.gamma), abs=1e-11)
    np.testing.assert_allclose(raw.state * (1 - game.gamma), occ.state, atol=1e-14)


def test_finite_horizon_occupancy(ref) -> None:
    horizon = 3
    game = ref.random_game(
        17, (2, 3), num_states=5, horizon=horizon, gamma=1.0, num_terminal=1
    )
    tables = [
        ref.random_policy(game, 0, seed=3, steps=horizon),
        ref.random_policy(game, 1, seed=4),
    ]
    occ = occupancy_measure(game, tables)
    # Dense per-step distributions: P(s_{h+1}) = P(s_h) P_h.
    dist = game.initial_distribution
    joints = []
    for h in range(horizon):
        joint = ref.joint(game, [tables[0][h], tables[1]])
        joints.append(joint)
        np.testing.assert_allclose(occ.per_step[h], dist, atol=1e-14)
        dist = dist @ ref.chain(game, joint)
    expected = occ.per_step.mean(axis=0)
    np.testing.assert_allclose(occ.state, expected, atol=1e-14)
    assert occ.state.sum() == pytest.approx(1.0, abs=1e-12)
    expected_joint = np.mean(
        [occ.per_step[h][:, None] * joints[h] for h in range(horizon)], 0
    )
    np.testing.assert_allclose(occ.joint_state_action, expected_joint, atol=1e-14)
    np.testing.assert_allclose(
        occ.player_state_action[0].sum(axis=1), occ.state, atol=1e-14
    )
    # gamma = 1: V_i(mu0) = H * sum_{s,a} d(s, a) r_i(s, a).
    values = policy_evaluation(game, tables)[:, 0] @ game.initial_distribution
    from_occ = horizon * (occ.joint_state_action * game.rewards).sum(axis=(1, 2))
    np.testing.assert_allclose(from_occ, values, atol=1e-12)
    raw = occupancy_measure(game, tables, normalized=False)
    assert raw.state.sum() == pytest.approx(horizon, abs=1e-12)


def test_occupancy_rejects_bad_policy(ref) -> None:
    game = ref.random_game(1, (2, 2), num_states=3)
    with pytest.raises(ValueError, match=r"player 0 must have shape \(3, 2\)"):
        occupancy_measure(game, [np.ones((3, 3)) / 3, game.uniform_policy(1)])
