"""Tests of the shared policy plumbing (mail_wrappers._policy)."""

from __future__ import annotations

import numpy as np
import pytest

from mail_wrappers._policy import call_policy, sample_actions


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
