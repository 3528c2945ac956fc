"""Tests of agents.linear.features: tabular, relational and deep-linear Gridworld maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.linear.features import (
    COMPASS,
    RELATIONAL_FEATURE_NAMES,
    DeepLinearFeatures,
    compass_sector,
    deep_linear_features,
    fit_deep_linear_features,
    gridworld_layout_of,
    relational_features,
    tabular_features,
)
from agents.policies import FeatureLinearPolicy, MLPPolicy, SmallCNNPolicy, TorchPolicy
from mail_envs.core import TabularMarkovGame
from mail_envs.gridworld import gridworld_layout, make_gridworld_game

NAME = {name: k for k, name in enumerate(RELATIONAL_FEATURE_NAMES)}
LEFT, RIGHT, UP, DOWN, STAY = range(5)


def block(prefix: str) -> slice:
    start = NAME[f"{prefix}_{COMPASS[0]}"]
    return slice(start, start + 8)


def compass_by_hand(d_row: int, d_col: int) -> str:
    """Compass name of an offset, written out case by case (row 0 = north)."""
    vertical = "N" if d_row < 0 else "S" if d_row > 0 else ""
    horizontal = "E" if d_col > 0 else "W" if d_col < 0 else ""
    return vertical + horizontal


# ------------------------------------------------------------------ tabular


def test_tabular_features_are_one_hot_per_state_action() -> None:
    game = make_gridworld_game(size=3)
    phi = tabular_features(game, player=1)
    assert phi.shape == (72, 4, 288) and phi.dtype == np.float64
    np.testing.assert_array_equal(phi.reshape(288, 288), np.eye(288))
    assert phi[5, 2, 5 * 4 + 2] == 1.0
    assert tabular_features(game, 0, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="player must be in \\[0, 2\\), got 2"):
        tabular_features(game, 2)


# --------------------------------------------------------------- relational


def test_compass_sector_distinguishes_all_eight_directions() -> None:
    offsets = np.array(
        [[dr, dc] for dr in (-3, -1, 0, 1, 2) for dc in (-2, -1, 0, 1, 4)]
    )
    sectors = compass_sector(offsets)
    for (dr, dc), sector in zip(offsets.tolist(), sectors.tolist(), strict=True):
        expected = compass_by_hand(dr, dc)
        assert (COMPASS[sector] if sector >= 0 else "") == expected
    assert set(sectors.tolist()) == {-1, *range(8)}


@pytest.mark.parametrize(("size", "allow_stay"), [(3, False), (5, False), (4, True)])
def test_relational_shapes_and_names(size: int, allow_stay: bool) -> None:
    game = make_gridworld_game(size=size, allow_stay=allow_stay)
    for player in (0, 1):
        phi = relational_features(game, player)
        assert phi.shape == (
            game.num_states,
            game.num_actions[player],
            len(RELATIONAL_FEATURE_NAMES),
        )
        assert phi.dtype == np.float64
        assert set(np.unique(phi).tolist()) <= {0.0, 1.0}
        np.testing.assert_array_equal(phi[..., NAME["bias"]], 1.0)
    assert len(set(RELATIONAL_FEATURE_NAMES)) == len(RELATIONAL_FEATURE_NAMES) == 47


def test_all_eight_opponent_and_goal_directions_are_distinguishable() -> None:
    layout = gridworld_layout(5, goal=(2, 2), starts=((0, 0), (4, 4)))
    phi = relational_features(layout, player=0)
    pos = layout.positions(np.arange(layout.num_states))
    me, opp = pos[:, 0], pos[:, 1]
    for prefix, other in (("opponent", opp), ("goal", np.array([2, 2]))):
        one_hot = phi[:, 0, block(prefix)]
        seen = set()
        for s in range(layout.num_states):
            d_row, d_col = (other[s] if other.ndim == 2 else other) - me[s]
            name = compass_by_hand(int(d_row), int(d_col))
            if not name:  # player on the goal: no goal direction
                assert not one_hot[s].any()
                continue
            assert one_hot[s].sum() == 1.0
            assert COMPASS[int(np.argmax(one_hot[s]))] == name
            seen.add(name)
        assert seen == set(COMPASS)
        # Eight distinct feature patterns, i.e. eight linearly independent directions.
        assert np.linalg.matrix_rank(np.unique(one_hot, axis=0)) == 8


def test_relational_features_by_hand_at_the_start_state() -> None:
    # 3x3, goal (0, 2); player_0 at (2, 2), player_1 at (0, 0).
    game = make_gridworld_game(size=3)
    layout = gridworld_layout_of(game)
    s = layout.start_state
    phi0 = relational_features(game, 0)[s]
    on = {a: {n for n, k in NAME.items() if phi0[a, k] == 1.0} for a in range(4)}
    common = {"bias", "opponent_NW", "goal_N", "in_corner"}
    assert on[LEFT] == common | {
        "moves_away_from_goal",  # (2, 1) is 3 from the goal
        "target_opponent_NW",
        "target_goal_NE",
        "behind_after_move",  # opponent is 2 away
    }
    for blocked in (RIGHT, DOWN):
        assert on[blocked] == common | {
            "blocked_by_wall",
            "target_opponent_NW",
            "target_goal_N",
            "level_after_move",
            "stays_in_place",
        }
    assert on[UP] == common | {
        "moves_closer_to_goal",
        "target_opponent_NW",
        "target_goal_N",
        "ahead_after_move",
    }
    # player_1 at (0, 0): the goal is east, the opponent south-east.
    phi1 = relational_features(game, 1)[s]
    assert phi1[RIGHT, NAME["moves_closer_to_goal"]] == 1.0
    assert phi1[RIGHT, NAME["target_goal_E"]] == 1.0
    assert phi1[UP, NAME["opponent_SE"]] == 1.0 and phi1[UP, NAME["goal_E"]] == 1.0


def test_relational_features_are_symmetric_in_the_players() -> None:
    layout = gridworld_layout(4)
    states = np.arange(layout.num_states)
    c0, c1 = layout.cells(states)
    swapped = layout.encode(c1, c0)
    phi0 = relational_features(layout, 0)
    phi1 = relational_features(layout, 1)
    np.testing.assert_array_equal(phi1, phi0[swapped])


def test_action_effects_agree_with_the_game_transitions() -> None:
    game = make_gridworld_game(size=5)
    layout = gridworld_layout_of(game)
    phi = relational_features(game, 0)
    pos = layout.positions(np.arange(game.num_states))
    next_pos = layout.positions(game.next_states[..., 0])  # (S, A*A, 2, 2)
    next_p0 = next_pos[:, :, 0].reshape(game.num_states, 4, 4, 2)  # (S, a0, a1, 2)
    far = np.abs(pos[:, 0] - pos[:, 1]).sum(axis=1) > 2  # no collision possible
    stays = phi[..., NAME["stays_in_place"]] == 1.0
    for a in range(4):
        moved = np.any(next_p0[:, a] != pos[:, None, 0], axis=2)  # (S, a1)
        # Far from the opponent the move happens for every opponent action.
        assert np.all(moved[far].all(axis=1) == ~stays[far, a])
        assert np.all(moved[far].any(axis=1) == ~stays[far, a])
        # Wherever the player moves, it moves where the target features say.
        goal = np.array(layout.goal)
        dist_next = np.abs(next_p0[:, a] - goal).sum(axis=2)
        dist_now = np.abs(pos[:, 0] - goal).sum(axis=1)[:, None]
        closer = phi[:, a, NAME["moves_closer_to_goal"]] == 1.0
        assert np.all(
            (dist_next < dist_now)[moved]
            == np.broadcast_to(closer[:, None], moved.shape)[moved]
        )
    # On the absorbing goal nothing moves and nothing is "blocked by a wall".
    on_goal = phi[:, 0, NAME["on_goal"]] == 1.0
    assert on_goal.sum() == 24
    assert (
        np.all(stays[on_goal]) and not phi[on_goal][..., NAME["blocked_by_wall"]].any()
    )


def test_gridworld_layout_of_recovers_and_rejects() -> None:
    game = make_gridworld_game(size=4, goal=(3, 0), allow_stay=True)
    layout = gridworld_layout_of(game)
    assert (layout.size, layout.goal, layout.allow_stay) == (4, (3, 0), True)
    assert layout.starts == ((0, 0), (3, 3))
    other = TabularMarkovGame(
        num_actions=(1, 1),
        next_states=np.zeros((1, 1), np.int64),
        next_probs=np.ones((1, 1)),
        rewards=np.zeros((2, 1, 1)),
        legal_masks=(np.ones((1, 1), bool), np.ones((1, 1), bool)),
        initial_distribution=np.ones(1),
        gamma=0.5,
    )
    with pytest.raises(ValueError, match="'tabular' with 1 states is not a Gridworld"):
        relational_features(other, 0)
    with pytest.raises(ValueError, match="player must be in \\[0, 2\\), got -1"):
        relational_features(game, -1)


def test_relational_features_fit_a_softmax_linear_policy() -> None:
    # The "move closer to the goal" policy is softmax-linear in these features.
    game = make_gridworld_game(size=3)
    phi = relational_features(game, 0)
    head = FeatureLinearPolicy(feature_table=phi)
    theta = np.zeros(phi.shape[2])
    theta[NAME["moves_closer_to_goal"]] = 50.0
    with torch.no_grad():
        head.theta.copy_(torch.as_tensor(theta))
    probs = TorchPolicy(head)(game.all_observations(0), game.legal_masks[0])
    closer = phi[..., NAME["moves_closer_to_goal"]] == 1.0
    has_closer = closer.any(axis=1)
    np.testing.assert_allclose(
        probs[has_closer].sum(axis=1, where=closer[has_closer]), 1.0, atol=1e-12
    )


# -------------------------------------------------------------- deep-linear


def test_deep_linear_features_reproduce_the_logits_exactly() -> None:
    head = MLPPolicy((6,), 3, hidden_sizes=(8, 5), seed=0)
    obs = np.random.default_rng(0).normal(size=(10, 6)).astype(np.float32)
    phi = deep_linear_features(head, obs)
    assert phi.shape == (10, 3, 3 * 6)
    # Block structure: e_a (x) [h, 1].
    for a in range(3):
        blk = phi[:, a].reshape(10, 3, 6)
        assert not np.delete(blk, a, axis=1).any()
        np.testing.assert_array_equal(blk[:, a, -1], 1.0)
    theta = np.concatenate(
        [
            head.output.weight.detach().double().numpy(),
            head.output.bias.detach().double().numpy()[:, None],
        ],
        axis=1,
    ).reshape(-1)
    logits = TorchPolicy(head).logits(obs, np.ones((10, 3), bool))
    np.testing.assert_allclose(phi @ theta, logits, rtol=1e-5, atol=1e-5)
    cnn = SmallCNNPolicy(seed=0, hidden_size=4)
    assert deep_linear_features(cnn, np.zeros((2, 3, 3, 2))).shape == (2, 9, 9 * 5)
    with pytest.raises(TypeError, match="embed"):
        deep_linear_features(
            FeatureLinearPolicy(feature_table=np.ones((2, 2, 2))), np.eye(2)
        )


def test_fit_deep_linear_features_learns_a_deterministic_expert() -> None:
    game = make_gridworld_game(size=3)
    rng = np.random.default_rng(0)
    expert = np.eye(4)[rng.integers(0, 4, game.num_states)]
    fitted = fit_deep_linear_features(
        game, 0, expert, rng=0, embedding_size=8, trainer_kwargs={"max_epochs": 150}
    )
    assert isinstance(fitted, DeepLinearFeatures)
    assert fitted.features.shape == (72, 4, 4 * 9)
    assert fitted.metrics.train_accuracy == 1.0
    # theta^T phi is the fitted policy: its greedy action is the expert's.
    np.testing.assert_array_equal(
        np.argmax(fitted.features @ fitted.theta, axis=1), expert.argmax(1)
    )
    # Same seed, same features.
    again = fit_deep_linear_features(
        game, 0, expert, rng=0, embedding_size=8, trainer_kwargs={"max_epochs": 150}
    )
    np.testing.assert_array_equal(again.features, fitted.features)
    with pytest.raises(ValueError, match="states must be"):
        fit_deep_linear_features(game, 0, expert, rng=0, states=np.array([72]))
    with pytest.raises(ValueError, match=r"shape \(72, 4\)"):
        fit_deep_linear_features(game, 0, expert[:5], rng=0)
