"""Tests of the pure elliptical-bonus math against direct linear algebra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from mail_wrappers.elliptical import (
    block_elliptical_bonus,
    block_elliptical_bonus_all_actions,
    block_logdet,
    block_logdet_increment,
    block_rebuild_cov_inv,
    block_sherman_morrison_update,
    elliptical_bonus,
    kronecker_features,
    rebuild_cov_inv,
    sherman_morrison_update,
)


def test_incremental_inverse_matches_numpy_inverse_after_thousands_of_updates():
    rng = np.random.default_rng(0)
    d, ridge = 6, 0.5
    phis = rng.normal(size=(5000, d))
    cov_inv = np.eye(d) / ridge
    for phi in phis:  # one Sherman-Morrison step at a time
        cov_inv = sherman_morrison_update(cov_inv, phi)
    expected = np.linalg.inv(ridge * np.eye(d) + phis.T @ phis)
    np.testing.assert_allclose(cov_inv, expected, rtol=0, atol=1e-8)
    # relative to the entries' size (about 1/5000), too
    assert np.max(np.abs(cov_inv - expected)) / np.max(np.abs(expected)) < 1e-8


def test_batch_update_equals_updates_in_order():
    rng = np.random.default_rng(1)
    d = 5
    phis = rng.normal(size=(23, d))  # more than d rows: several Woodbury chunks
    start = rebuild_cov_inv(rng.normal(size=(3, d)), ridge=1.0)
    sequential = start
    for phi in phis:
        sequential = sherman_morrison_update(sequential, phi)
    batched = sherman_morrison_update(start, phis)
    np.testing.assert_allclose(batched, sequential, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(batched, batched.T)


def test_update_is_pure():
    cov_inv = np.eye(3)
    before = cov_inv.copy()
    sherman_morrison_update(cov_inv, np.ones(3))
    sherman_morrison_update(cov_inv, np.ones((4, 3)))
    np.testing.assert_array_equal(cov_inv, before)


def test_rebuild_matches_numpy_inverse():
    rng = np.random.default_rng(2)
    features = rng.normal(size=(200, 7))
    expected = np.linalg.inv(0.1 * np.eye(7) + features.T @ features)
    np.testing.assert_allclose(rebuild_cov_inv(features, 0.1), expected, atol=1e-12)
    np.testing.assert_allclose(rebuild_cov_inv(np.zeros((0, 3)), 2.0), np.eye(3) / 2)


def test_bonus_is_beta_times_mahalanobis_norm():
    rng = np.random.default_rng(3)
    cov_inv = rebuild_cov_inv(rng.normal(size=(10, 4)), 1.0)
    phis = rng.normal(size=(8, 4))
    expected = 0.7 * np.sqrt([p @ cov_inv @ p for p in phis])
    np.testing.assert_allclose(
        elliptical_bonus(cov_inv, phis, 0.7), expected, rtol=1e-13
    )
    assert elliptical_bonus(cov_inv, phis[0], 0.7).shape == ()


def test_bonus_known_value_one_dimension():
    # Lambda = ridge + sum x_t^2 = 1 + 3 * 4 = 13, so bonus(1) = beta / sqrt(13).
    cov_inv = sherman_morrison_update(np.eye(1), np.full((3, 1), 2.0))
    assert elliptical_bonus(cov_inv, np.ones((1, 1)), 2.0)[0] == pytest.approx(
        2.0 / np.sqrt(13.0), rel=1e-14
    )


def test_bonus_shrinks_along_covered_directions_and_stays_on_uncovered_ones():
    rng = np.random.default_rng(4)
    d, ridge, beta = 4, 1.0, 1.0
    # data only in span(e0, e1)
    data = np.zeros((1000, d))
    data[:, :2] = rng.normal(size=(1000, 2))
    cov_inv = sherman_morrison_update(np.eye(d) / ridge, data)
    covered = elliptical_bonus(cov_inv, np.eye(d)[:2], beta)
    uncovered = elliptical_bonus(cov_inv, np.eye(d)[2:], beta)
    assert np.all(covered < 0.05)
    np.testing.assert_allclose(uncovered, beta / np.sqrt(ridge), rtol=1e-12)
    # monotone: more data along e0 never increases its bonus
    before = elliptical_bonus(cov_inv, np.eye(d)[:1], beta)[0]
    after = elliptical_bonus(
        sherman_morrison_update(cov_inv, np.eye(d)[0]), np.eye(d)[:1], beta
    )[0]
    assert after < before


def test_kronecker_features_layout():
    h = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = kronecker_features(h, np.array([2, 0]), 3)
    np.testing.assert_array_equal(out, [[0, 0, 0, 0, 1, 2], [3, 4, 0, 0, 0, 0]])
    # e_a (x) h with numpy's own Kronecker product
    np.testing.assert_array_equal(out[0], np.kron(np.eye(3)[2], h[0]))


def test_block_form_equals_full_kronecker_form():
    rng = np.random.default_rng(5)
    num_actions, d, ridge, beta = 3, 4, 0.3, 1.3
    h = rng.normal(size=(60, d))
    actions = rng.integers(num_actions, size=60)
    full = kronecker_features(h, actions, num_actions)

    blocks = block_rebuild_cov_inv(h, actions, num_actions, ridge)
    full_inv = rebuild_cov_inv(full, ridge)
    np.testing.assert_allclose(scipy.linalg.block_diag(*blocks), full_inv, atol=1e-12)

    # incremental block updates equal the full form's incremental updates
    b_inc = np.repeat(np.eye(d)[None] / ridge, num_actions, axis=0)
    f_inc = np.eye(num_actions * d) / ridge
    b_inc = block_sherman_morrison_update(b_inc, h[:30], actions[:30])
    for k in range(30, 60):  # single-vector form as well
        b_inc = block_sherman_morrison_update(b_inc, h[k], actions[k])
    f_inc = sherman_morrison_update(f_inc, full)
    np.testing.assert_allclose(scipy.linalg.block_diag(*b_inc), f_inc, atol=1e-12)
    np.testing.assert_allclose(b_inc, blocks, atol=1e-12)

    # bonuses agree, for the taken actions and for every action
    h_new = rng.normal(size=(10, d))
    a_new = rng.integers(num_actions, size=10)
    np.testing.assert_allclose(
        block_elliptical_bonus(blocks, h_new, a_new, beta),
        elliptical_bonus(full_inv, kronecker_features(h_new, a_new, num_actions), beta),
        rtol=1e-10,
    )
    all_actions = block_elliptical_bonus_all_actions(blocks, h_new, beta)
    for a in range(num_actions):
        np.testing.assert_allclose(
            all_actions[:, a],
            elliptical_bonus(
                full_inv, kronecker_features(h_new, np.full(10, a), num_actions), beta
            ),
            rtol=1e-10,
        )


def test_logdet_increment_matches_slogdet_of_the_updated_blocks():
    rng = np.random.default_rng(3)
    num_actions, d, ridge = 3, 5, 0.7
    blocks = np.tile(np.eye(d) / ridge, (num_actions, 1, 1))
    logdet = block_logdet(blocks)
    assert logdet == pytest.approx(num_actions * d * np.log(ridge), abs=1e-12)
    for batch in (1, 4, 1, 7):  # single pairs and batches sharing an action
        h = rng.normal(size=(batch, d))
        actions = rng.integers(num_actions, size=batch)
        step = block_logdet_increment(blocks, h, actions)
        blocks = block_sherman_morrison_update(blocks, h, actions)
        logdet += step
        direct = sum(
            np.linalg.slogdet(np.linalg.inv(blocks[a]))[1] for a in range(num_actions)
        )
        assert step >= 0
        assert logdet == pytest.approx(direct, abs=1e-8)
        assert block_logdet(blocks) == pytest.approx(direct, abs=1e-8)


def test_logdet_increment_of_one_pair_is_log_one_plus_the_squared_bonus():
    rng = np.random.default_rng(4)
    blocks = block_rebuild_cov_inv(
        rng.normal(size=(30, 4)), rng.integers(2, size=30), 2, 1.0
    )
    h = rng.normal(size=4)
    bonus = block_elliptical_bonus(blocks, h, 1, beta=1.0)[0]
    assert block_logdet_increment(blocks, h, 1) == pytest.approx(np.log1p(bonus**2))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sherman_morrison_update(np.eye(3), np.ones(2)), "phi must have shape"),
        (lambda: sherman_morrison_update(np.ones((2, 3)), np.ones(3)), "square"),
        (lambda: sherman_morrison_update(np.eye(2), [np.nan, 0.0]), "non-finite"),
        (lambda: elliptical_bonus(np.eye(2), np.ones((1, 2)), -1.0), "beta"),
        (lambda: rebuild_cov_inv(np.ones((2, 2)), 0.0), "ridge"),
        (lambda: rebuild_cov_inv(np.ones(2), 1.0), r"\(N, d\)"),
        (
            lambda: block_sherman_morrison_update(
                np.ones((2, 3, 3)), np.ones((1, 3)), [2]
            ),
            r"\[0, 2\)",
        ),
        (
            lambda: kronecker_features(np.ones((2, 2)), np.array([0.5, 1.0]), 2),
            "integers",
        ),
    ],
)
def test_bad_input_raises_value_error_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call()
