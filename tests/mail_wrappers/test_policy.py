"""Tests of the shared policy plumbing (mail_wrappers._policy)."""

from __future__ import annotations

import numpy as np
import pytest

from mail_wrappers._policy import act_one, call_policy, sample_actions


def test_one_row_and_batched_sampling_agree_on_the_same_stream():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(7), size=500)
    probs[:, 3] = 0.0
    probs /= probs.sum(axis=1, keepdims=True)
    batched = sample_actions(probs, np.random.default_rng(42))
    one_by_one = np.concatenate(
        [sample_actions(p[None], r) for r in [np.random.default_rng(42)] for p in probs]
    )
    np.testing.assert_array_equal(batched, one_by_one)
    assert not np.any(batched == 3)


def test_sampling_frequencies_match_the_distribution():
    probs = np.array([0.1, 0.0, 0.6, 0.3])
    rng = np.random.default_rng(1)
    draws = np.concatenate([sample_actions(probs[None], rng) for _ in range(20000)])
    freq = np.bincount(draws, minlength=4) / draws.size
    se = np.sqrt(probs * (1 - probs) / draws.size)
    assert np.all(np.abs(freq - probs) <= 5 * se)
    assert freq[1] == 0.0


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([np.nan, 0.5, 0.5], "invalid probabilities"),
        ([-0.1, 0.6, 0.5], "invalid probabilities"),
        ([0.5, 0.0, 0.6], "summing to"),
        ([0.5, 0.5, 0.0], "illegal actions"),
    ],
)
def test_invalid_outputs_are_caught_in_both_paths(rows, bad, match):
    masks = np.tile([True, False, True], (rows, 1))
    good = np.tile([0.5, 0.0, 0.5], (rows, 1))
    out = good.copy()
    out[-1] = bad
    with pytest.raises(ValueError, match=match):
        call_policy(lambda o, m: out, np.zeros((rows, 2)), masks)
    np.testing.assert_array_equal(
        call_policy(lambda o, m: good, np.zeros((rows, 2)), masks), good
    )


def test_round_off_below_zero_is_clipped():
    masks = np.array([[True, True]])
    out = call_policy(lambda o, m: np.array([[-1e-15, 1.0]]), np.zeros((1, 1)), masks)
    np.testing.assert_array_equal(out, [[0.0, 1.0]])


@pytest.mark.parametrize("num_actions", [7, 100])  # plain-float and numpy paths
def test_act_one_equals_call_policy_then_sample_actions(num_actions):
    rng = np.random.default_rng(5)
    table = rng.dirichlet(np.ones(num_actions), size=300)
    masks = rng.random((300, num_actions)) < 0.6
    masks[:, 0] = True
    table = np.where(masks, table, 0.0)
    table[::7, 0] = 0.0
    table /= table.sum(axis=1, keepdims=True)
    table[::7, 0] = -1e-15  # round-off below zero: clipped the same way

    def policy(obs, m):
        return table[obs[:, 0]]

    ours, theirs = np.random.default_rng(9), np.random.default_rng(9)
    for k in range(300):
        obs, mask = np.array([k]), masks[k]
        probs, action = act_one(policy, obs, mask, ours)
        want = call_policy(policy, obs[None], mask[None])
        np.testing.assert_array_equal(probs, want[0])
        assert action == int(sample_actions(want, theirs)[0])
        assert mask[action]
    assert ours.random() == theirs.random()  # one draw per call on both sides


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([np.nan, 0.5, 0.5], "invalid probabilities"),
        ([0.5, 0.0, 0.6], "summing to"),
        ([0.5, 0.5, 0.0], "illegal actions"),
        ([0.5, 0.5], r"shape \(1, 2\)"),
    ],
)
def test_act_one_rejects_what_call_policy_rejects(bad, match):
    mask = np.array([True, False, True])
    with pytest.raises(ValueError, match=match):
        act_one(
            lambda o, m: np.array([bad]), np.zeros(2), mask, np.random.default_rng()
        )
