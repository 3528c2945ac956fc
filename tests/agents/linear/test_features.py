"""Tests of agents.linear.features: tabular, relational and deep-linear Gridworld maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.linear.features import (
    COMPASS,
    PAPER_RELATIONAL_CONCEPTS,
    RELATIONAL_FEATURE_NAMES,
    DeepLinearFeatures,
    compass_sector,
    deep_linear_features,
    deep_linear_head,
    fit_deep_linear_features,
    gridworld_board_observations,
    gridworld_layout_of,
    paper_relational_features,
    relational_features,
    tabular_features,
)
from agents.policies import FeatureLinearPolicy, MLPPolicy, SmallCNNPolicy, TorchPolicy
from mail_envs.core import TabularMarkovGame
from mail_envs.gridworld import (
    PUBLISHED_STARTS,
    gridworld_layout,
    make_gridworld_game,
)

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
    expert = rng.integers(0, 4, game.num_states)
    states = np.arange(game.num_states)
    fitted = fit_deep_linear_features(
        game,
        0,
        states,
        expert,
        rng=0,
        head=MLPPolicy((72,), 4, hidden_sizes=(64, 8), seed=0),
        trainer_kwargs={"max_epochs": 150},
    )
    assert isinstance(fitted, DeepLinearFeatures)
    assert fitted.features.shape == (72, 4, 4 * 9)
    assert fitted.metrics.train_accuracy == 1.0
    # theta^T phi is the fitted policy: its greedy action is the expert's.
    np.testing.assert_array_equal(
        np.argmax(fitted.features @ fitted.theta, axis=1), expert
    )
    with pytest.raises(ValueError, match="states must be"):
        fit_deep_linear_features(game, 0, np.array([72]), np.array([0]), rng=0)
    with pytest.raises(ValueError, match="states must be"):
        fit_deep_linear_features(game, 0, states, expert[:5], rng=0)
    with pytest.raises(ValueError, match="legal"):
        fit_deep_linear_features(game, 0, np.array([0]), np.array([4]), rng=0)
    with pytest.raises(ValueError, match="one row per state"):
        fit_deep_linear_features(
            game, 0, states, expert, rng=0, observations=np.zeros((5, 9))
        )


def test_deep_linear_map_sees_only_the_dataset() -> None:
    """The fitted map depends on the (state, action) pairs and nothing else.

    Two experts that agree on the dataset's states and disagree everywhere
    else give bit-identical maps: the expert outside the data cannot leak.
    """
    game = make_gridworld_game(3, starts=PUBLISHED_STARTS)
    board = gridworld_board_observations(game)
    rng = np.random.default_rng(1)
    states = rng.choice(game.num_states, size=30)
    expert_a = rng.integers(0, 4, game.num_states)
    expert_b = (expert_a + 1) % 4  # differs in every state...
    expert_b[states] = expert_a[states]  # ...except those of the dataset
    fits = [
        fit_deep_linear_features(
            game,
            1,
            states,
            expert[states],
            rng=3,
            observations=board,
            trainer_kwargs={"max_epochs": 20},
            device="cpu",
        )
        for expert in (expert_a, expert_b)
    ]
    np.testing.assert_array_equal(fits[0].features, fits[1].features)
    np.testing.assert_array_equal(fits[0].theta, fits[1].theta)
    # The map is the paper's network on the board: 6 hidden units + 1, per action.
    assert fits[0].head.config()["layer_norm"] is True
    assert fits[0].features.shape == (72, 4, 4 * 7)


def test_board_observations_mark_both_players() -> None:
    layout = gridworld_layout(3, starts=PUBLISHED_STARTS)
    board = gridworld_board_observations(layout)
    assert board.shape == (72, 3, 3) and board.dtype == np.float32
    # published start: player_0 at (1, 0) -> 1, player_1 at (2, 1) -> 2
    assert board[layout.start_state].tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    assert np.all(np.sort(board.reshape(72, 9), axis=1)[:, -2:] == [1, 2])
    assert np.all((board > 0).sum(axis=(1, 2)) == 2)


def test_layernorm_linear_policy_has_the_paper_size() -> None:
    head = deep_linear_head((3, 3), 4, seed=0)
    # 9*12+12 + 2*12 + 12*6+6 + 2*6 + 6*4+4 = 262 (Appendix I.1 architecture)
    assert sum(p.numel() for p in head.parameters()) == 262
    assert head.embed(torch.zeros(2, 3, 3)).shape == (2, 6)
    assert head.config()["hidden_sizes"] == [12, 6]
    with pytest.raises(ValueError, match="width"):
        deep_linear_head((3, 3), 4, width=1)


PAPER = {name: k for k, name in enumerate(PAPER_RELATIONAL_CONCEPTS)}


def concepts(phi_sa: np.ndarray, action: int) -> set[str]:
    """Names of the concepts lit in the block of ``action``; other blocks empty."""
    on = np.flatnonzero(phi_sa)
    assert np.all(on // 20 == action)
    return {PAPER_RELATIONAL_CONCEPTS[c] for c in on % 20}


def test_paper_relational_shape_and_tiling() -> None:
    game = make_gridworld_game(3, starts=PUBLISHED_STARTS)
    assert len(PAPER_RELATIONAL_CONCEPTS) == 20
    for player in (0, 1):
        phi = paper_relational_features(game, player)
        assert phi.shape == (72, 4, 80)
        assert set(np.unique(phi)) <= {0.0, 1.0}
        # the same 20 concepts in every action's block
        blocks = np.stack([phi[:, a, 20 * a : 20 * a + 20] for a in range(4)])
        assert np.all(blocks == blocks[0])
        for a in range(4):
            rest = np.delete(phi[:, a], np.s_[20 * a : 20 * a + 20], axis=1)
            assert not rest.any()
    assert paper_relational_features(gridworld_layout(3, allow_stay=True), 0).shape == (
        72,
        5,
        100,
    )


def test_paper_relational_by_hand() -> None:
    """Concepts worked out on the grid (row 0 on top; goal (0, 2))."""
    layout = gridworld_layout(3, starts=PUBLISHED_STARTS)
    start = layout.start_state  # p0 (1, 0), p1 (2, 1)
    pub0 = paper_relational_features(layout, 0)
    com0 = paper_relational_features(layout, 0, sectors="compass")
    pub1 = paper_relational_features(layout, 1)
    # player_0: opponent SE (1, 1), goal NE (-1, 2), opponent diagonally adjacent.
    assert concepts(com0[start, UP], UP) == {
        "opponent_SE",
        "goal_NE",
        "opponent_adjacent",
    }
    # The published sector rule folds SE onto W and NE onto E.
    assert concepts(pub0[start, RIGHT], RIGHT) == {
        "opponent_W",
        "goal_E",
        "opponent_adjacent",
    }
    # player_1 at (2, 1): opponent NW -> W, goal (-2, 1) NE -> E.
    assert concepts(pub1[start, LEFT], LEFT) == {
        "opponent_W",
        "goal_E",
        "opponent_adjacent",
    }
    # p0 on the goal (0, 2), p1 in the corner (2, 0): no goal direction.
    s = int(layout.encode(2, 6))
    assert concepts(pub0[s, DOWN], DOWN) == {"opponent_E", "on_goal", "in_corner"}
    assert concepts(com0[s, DOWN], DOWN) == {"opponent_SW", "on_goal", "in_corner"}
    # p1 next to the goal at (1, 2) (straight S of it), p0 at (1, 1): straight W.
    s = int(layout.encode(4, 5))
    assert concepts(pub1[s, UP], UP) == {
        "opponent_W",
        "goal_N",
        "opponent_adjacent",
        "goal_adjacent",
    }
    # Straight directions are the same under both rules.
    straight = [PAPER[f"opponent_{c}"] for c in "NESW"]
    straight += [PAPER[f"goal_{c}"] for c in "NESW"]
    phi_c = paper_relational_features(layout, 0, sectors="compass")[:, 0, :20]
    phi_p = pub0[:, 0, :20]
    assert np.all(phi_p[:, straight] >= phi_c[:, straight])
    assert not phi_p[:, [PAPER[f"goal_{c}"] for c in ("NE", "SE", "SW", "NW")]].any()
    with pytest.raises(ValueError, match="sectors"):
        paper_relational_features(layout, 0, sectors="octant")  # type: ignore[arg-type]
