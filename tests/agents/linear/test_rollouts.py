"""Tests of agents.linear.rollouts: sampling on the model and the labels it gives."""

from __future__ import annotations

import numpy as np
import pytest

from agents.linear.rollouts import (
    check_expert_policies,
    check_features,
    collect_labels,
    label_metadata,
    rollout,
    sample_categorical,
)
from mail_wrappers.recorder import (
    FORMAT_VERSION,
    load_expert_labels,
    save_expert_labels,
)


def test_sample_categorical_never_draws_zero_probability_and_matches_freqs():
    rng = np.random.default_rng(0)
    probs = np.tile([0.0, 0.25, 0.0, 0.75, 0.0], (200_000, 1))
    draws = sample_categorical(probs, rng)
    assert set(np.unique(draws)) == {1, 3}
    assert abs(np.mean(draws == 3) - 0.75) < 0.005


def test_uniform_explorer_plays_uniformly(games):
    game = games.random_game(71, num_actions=(2, 4))
    expert = games.random_expert(game, 72)
    rng = np.random.default_rng(0)
    profile = [expert[0], game.uniform_policy(1)]
    traj = rollout(game, profile, num_episodes=4000, horizon=5, rng=rng)
    freqs = np.bincount(traj.actions[1].ravel(), minlength=4) / traj.actions[1].size
    np.testing.assert_allclose(freqs, 0.25, atol=0.01)


def test_labels_are_an_expert_label_dataset_of_state_indices(games, tmp_path):
    game = games.random_game(3, terminal=True)
    expert = check_expert_policies(game, games.random_expert(game, 4))
    traj = rollout(
        game, expert, num_episodes=20, horizon=6, rng=np.random.default_rng(5)
    )
    labels = collect_labels(
        game, traj, expert, 1, game_id="mail/test-v0", expert="rand", seed=9
    )
    n = labels.num_queries
    assert n == traj.num_steps > 0
    assert labels.observations.dtype == np.int64 and labels.observations.shape == (n,)
    assert labels.action_masks.dtype == np.bool_ and labels.action_masks.shape == (n, 3)
    for key in ("expert_actions", "agents", "episodes", "steps"):
        assert getattr(labels, key).dtype == np.int64
    np.testing.assert_array_equal(labels.agents, 0)
    np.testing.assert_array_equal(
        labels.observations, traj.states[labels.episodes, labels.steps]
    )
    np.testing.assert_array_equal(labels.expert_probs, expert[1][labels.observations])
    meta = labels.metadata
    assert meta["agents"] == [game.player_names[1]]
    assert (meta["game_id"], meta["game_version"], meta["expert"], meta["seed"]) == (
        "mail/test-v0",
        0,
        "rand",
        9,
    )
    assert (meta["num_rows"], meta["format_version"]) == (n, FORMAT_VERSION)
    # the one label type of the package: it saves and loads unchanged
    back = load_expert_labels(save_expert_labels(tmp_path / "labels", labels))
    for key in (
        "observations",
        "action_masks",
        "expert_actions",
        "expert_probs",
        "agents",
        "episodes",
        "steps",
    ):
        np.testing.assert_array_equal(getattr(back, key), getattr(labels, key))
    assert back.metadata == labels.metadata


def test_num_distinct_states_counts_the_distinct_labelled_states(games):
    game = games.random_game(8, num_states=9)
    expert = games.random_expert(game, 9)
    traj = rollout(
        game, expert, num_episodes=7, horizon=5, rng=np.random.default_rng(1)
    )
    labels = collect_labels(game, traj, expert, 0)
    visited = np.unique(traj.states[:, :-1][traj.alive])
    assert 1 < labels.num_distinct_states == visited.size < labels.num_queries
    assert labels.for_agent(game.player_names[0]).num_distinct_states == visited.size


def test_time_indexed_expert_labels_use_the_row_of_their_step(games):
    game = games.random_game(10)
    rng = np.random.default_rng(11)
    # step 0 and 1 have their own layer; later steps reuse the last one
    layers = rng.dirichlet(np.ones(2), size=(2, game.num_states))
    expert = check_expert_policies(game, (layers, game.uniform_policy(1)))
    traj = rollout(game, expert, num_episodes=10, horizon=4, rng=rng)
    labels = collect_labels(game, traj, expert, 0)
    layer = np.minimum(labels.steps, 1)
    np.testing.assert_array_equal(
        labels.expert_probs, expert[0][layer, labels.observations]
    )
    np.testing.assert_allclose(
        labels.expert_probs, layers[layer, labels.observations], rtol=1e-12
    )
    assert np.any(labels.steps >= 2) and not np.allclose(layers[0], layers[1])


def test_a_player_with_one_legal_action_is_never_queried(games):
    game = games.random_game(12, num_actions=(1, 3))
    expert = games.random_expert(game, 13)
    traj = rollout(
        game, expert, num_episodes=3, horizon=4, rng=np.random.default_rng(0)
    )
    labels = collect_labels(game, traj, expert, 0)
    assert labels.num_queries == 0 == labels.num_distinct_states
    assert labels.action_masks.shape == (0, 1)
    assert labels.metadata["num_rows"] == 0


def test_label_metadata_is_the_recorders():
    meta = label_metadata(agent="player_1", num_rows=4, game_id="mail/chain-v2")
    assert meta["agents"] == ["player_1"] and meta["num_rows"] == 4
    assert meta["game_version"] == 2
    with pytest.raises(TypeError, match="JSON"):
        label_metadata(agent="a", num_rows=0, extra={"bad": object()})


def test_checks_name_the_player(games):
    game = games.random_game(14)
    with pytest.raises(ValueError, match="one table per player"):
        check_expert_policies(game, [game.uniform_policy(0)])
    with pytest.raises(ValueError, match="player 1"):
        check_expert_policies(game, [game.uniform_policy(0), np.ones(3)])
    with pytest.raises(ValueError, match=r"features of player 0 .* got \(7, 3, 2\)"):
        check_features(game, 0, np.ones((7, 3, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        check_features(game, 0, np.full((7, 2, 1), np.nan))
