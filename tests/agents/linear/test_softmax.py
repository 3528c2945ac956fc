"""Tests of agents.linear.softmax: softmax-linear behaviour cloning."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.linear.rollouts import collect_labels, rollout
from agents.linear.softmax import (
    behaviour_clone,
    fit_softmax_linear,
    label_counts,
    softmax_linear_policy,
)


def test_softmax_linear_bc_recovers_empirical_frequencies_with_tabular_features():
    # The unregularized MLE of a categorical distribution is the empirical
    # frequency; with one-hot features each state's logits are free.
    masks = np.array([[True, True, True], [True, False, True], [True, True, True]])
    counts = np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    phi = np.eye(9).reshape(3, 3, 9)
    theta = fit_softmax_linear(phi, masks, counts, l2=1e-9)
    table = softmax_linear_policy(phi, masks, theta)
    np.testing.assert_allclose(table[0], [0.75, 0.25, 0.0], atol=1e-3)
    assert table[1, 1] == 0.0  # illegal: exactly zero
    assert table[1, 2] > 0.999
    np.testing.assert_allclose(table[2], 1 / 3)  # no data: uniform


def test_fit_softmax_linear_gradient_is_exact():
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(5, 3, 4))
    masks = np.ones((5, 3), dtype=bool)
    counts = rng.integers(0, 3, size=(5, 3)).astype(float)
    l2 = 0.3
    theta = fit_softmax_linear(phi, masks, counts, l2=l2, tol=1e-12)
    logp = np.log(softmax_linear_policy(phi, masks, theta))
    grad = np.einsum(
        "sa,sad->d", counts.sum(1, keepdims=True) * np.exp(logp) - counts, phi
    )
    np.testing.assert_allclose(grad + l2 * theta, 0.0, atol=1e-7)


def test_fit_softmax_linear_rejects_labels_on_illegal_actions():
    masks = np.array([[True, False]])
    with pytest.raises(ValueError, match="illegal action 1 in state 0"):
        fit_softmax_linear(np.eye(2)[None], masks, np.array([[0.0, 1.0]]))


def _labels(games, seed: int = 0):
    game = games.random_game(20 + seed)
    expert = games.random_expert(game, 30 + seed)
    traj = rollout(
        game, expert, num_episodes=12, horizon=5, rng=np.random.default_rng(seed)
    )
    return game, collect_labels(game, traj, expert, 1)


def test_label_counts_are_the_labelled_state_action_pairs(games):
    game, labels = _labels(games)
    counts = label_counts(labels, game.num_states, 3)
    expected = np.zeros((game.num_states, 3))
    for s, a in zip(labels.observations, labels.expert_actions, strict=True):
        expected[s, a] += 1
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum() == labels.num_queries
    assert int((counts.sum(axis=1) > 0).sum()) == labels.num_distinct_states


def test_label_counts_rejects_observations_that_are_not_state_indices(games):
    game, labels = _labels(games)
    with pytest.raises(ValueError, match="state indices"):
        label_counts(
            dataclasses.replace(
                labels, observations=labels.observations[:, None] * 1.0
            ),
            game.num_states,
            3,
        )
    with pytest.raises(ValueError, match="integer state indices"):
        label_counts(
            dataclasses.replace(labels, observations=labels.observations * 1.0),
            game.num_states,
            3,
        )
    with pytest.raises(ValueError, match=r"states must lie in \[0, 2\)"):
        label_counts(labels, 2, 3)
    with pytest.raises(ValueError, match=r"actions must lie in \[0, 2\)"):
        label_counts(labels, game.num_states, 2)


def test_behaviour_clone_fits_the_counts_of_the_labels(games):
    game, labels = _labels(games, seed=1)
    phi = games.tabular(game, 1)
    theta, table = behaviour_clone(game, 1, labels, phi, l2=1e-3)
    counts = label_counts(labels, game.num_states, 3)
    np.testing.assert_array_equal(
        theta, fit_softmax_linear(phi, game.legal_masks[1], counts, l2=1e-3)
    )
    np.testing.assert_array_equal(
        table, softmax_linear_policy(phi, game.legal_masks[1], theta)
    )
    with pytest.raises(ValueError, match="features of player 0"):
        behaviour_clone(game, 0, labels, phi)
