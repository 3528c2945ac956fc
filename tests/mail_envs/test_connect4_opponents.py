"""Softmax-level opponents, the approximate best response, entropy estimates."""

from __future__ import annotations

import numpy as np
import pytest

from mail_envs.connect4 import rules
from mail_envs.connect4.expert import batch_move_scores, positions_from_observations
from mail_envs.connect4.opponents import (
    SOFTMAX_LEVEL_TEMPERATURES,
    ApproximateBestResponse,
    SoftmaxSolverOpponent,
    estimate_softmax_entropy,
    evaluation_opponents,
    immediately_losing_moves,
    random_positions,
)


def _obs(moves: str) -> tuple[np.ndarray, np.ndarray]:
    first, second, mask = rules.play_moves(moves)
    me, them = (first, second) if len(moves) % 2 == 0 else (second, first)
    obs = rules.planes_from_bitboards(
        np.array([me], np.uint64), np.array([them], np.uint64)
    )
    return obs, rules.batch_legal(np.array([mask], np.uint64))


def test_softmax_matches_formula() -> None:
    scores = np.array([[3.0, -np.inf, 1.0, -2.0, 0.0, 0.0, -np.inf]])
    for temperature in (0.5, 2.0, 8.0):
        weights = [
            np.exp(s / temperature) if np.isfinite(s) else 0.0 for s in scores[0]
        ]
        expected = np.array(weights) / sum(weights)
        got = SoftmaxSolverOpponent(temperature).probabilities(scores)[0]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert SoftmaxSolverOpponent(1.0).probabilities(np.full((1, 7), -np.inf)).sum() == 0
    with pytest.raises(ValueError, match="temperature"):
        SoftmaxSolverOpponent(0.0)
    with pytest.raises(ValueError, match="level"):
        SoftmaxSolverOpponent.level(6)
    # The published code's convention (connect4/evaluate_policy.py of
    # tfreihaut/Multi-agent-imitation-learning-...: scores / suboptimal, with
    # suboptimal in 1..5): the temperature is the level, 5 the noisiest.
    assert [SOFTMAX_LEVEL_TEMPERATURES[k] for k in range(1, 6)] == [1, 2, 3, 4, 5]
    assert [SoftmaxSolverOpponent.level(k).temperature for k in range(1, 6)] == [
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
    ]


def test_softmax_opponent_on_a_position() -> None:
    obs, mask = _obs("334455")
    scores = batch_move_scores(obs, mask)[0]
    for level in (1, 5):
        probs = SoftmaxSolverOpponent.level(level)(obs, mask)[0]
        weights = np.exp((scores - scores.max()) / level)
        np.testing.assert_allclose(probs, weights / weights.sum())
        assert probs[[2, 6]].min() > probs[[0, 1, 3, 4, 5]].max()


def test_entropy_increases_with_level_and_is_bounded() -> None:
    estimate = estimate_softmax_entropy(n_positions=60, min_ply=18, max_ply=30, seed=4)
    assert estimate.levels == (1, 2, 3, 4, 5)
    assert estimate.temperatures == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert np.all(np.diff(estimate.mean_entropy) > 0)  # level 5 the noisiest
    assert estimate.mean_entropy[-1] <= estimate.max_entropy + 1e-12
    assert all(e >= 0 for e in estimate.standard_error)


def _losing_moves_brute_force(current: int, mask: int) -> list[int]:
    opponent = current ^ mask
    out = []
    for col in rules.legal_columns(mask):
        child = mask | rules.drop(mask, col)
        if rules.winning_columns(opponent, child):
            out.append(col)
    return out


def test_immediately_losing_moves_match_brute_force() -> None:
    obs, _ = random_positions(300, min_ply=6, max_ply=36, seed=5)
    current, mask = positions_from_observations(obs)
    losing = immediately_losing_moves(current, mask)
    for i in range(len(current)):
        assert np.flatnonzero(losing[i]).tolist() == _losing_moves_brute_force(
            int(current[i]), int(mask[i])
        )


def test_random_positions_are_unfinished_and_in_range() -> None:
    obs, masks = random_positions(200, min_ply=10, max_ply=20, seed=6)
    current, mask = positions_from_observations(obs)
    plies = np.bitwise_count(mask)
    assert plies.min() >= 10 and plies.max() <= 20
    assert not rules.batch_has_four(current).any()
    assert not rules.batch_has_four(current ^ mask).any()
    assert masks.any(axis=1).all()


def test_abr_explores_safe_moves_while_lost() -> None:
    # Second player to move after 3: lost (the first player wins), no threat.
    obs, mask = _obs("3")
    np.testing.assert_allclose(
        ApproximateBestResponse()(obs, mask)[0], np.full(7, 1 / 7)
    )
    # A threat on the bottom row: the block is the only non-losing move (and
    # here also optimal, as it turns the game into a win).
    obs, mask = _obs("06162")
    assert ApproximateBestResponse()(obs, mask)[0].tolist() == [0, 0, 0, 1, 0, 0, 0]


def test_abr_plays_perfectly_once_not_lost() -> None:
    # The first player is to move and wins: play the optimal moves only.
    obs, mask = _obs("334455")
    assert np.flatnonzero(ApproximateBestResponse()(obs, mask)[0]).tolist() == [2, 6]
    obs, mask = _obs("")
    assert ApproximateBestResponse()(obs, mask)[0].tolist() == [0, 0, 0, 1, 0, 0, 0]


def test_abr_random_positions_rule() -> None:
    obs, masks = random_positions(80, min_ply=20, max_ply=34, seed=8)
    probs = ApproximateBestResponse()(obs, masks)
    scores = batch_move_scores(obs, masks)
    current, mask = positions_from_observations(obs)
    for i in range(len(obs)):
        support = set(np.flatnonzero(probs[i]).tolist())
        best = scores[i].max()
        optimal = set(np.flatnonzero(scores[i] == best).tolist())
        safe = set(rules.legal_columns(int(mask[i]))) - set(
            _losing_moves_brute_force(int(current[i]), int(mask[i]))
        )
        if best < 0 and safe:
            assert support == safe
        else:
            assert support == optimal
        assert probs[i].sum() == pytest.approx(1.0)


def test_evaluation_opponents_names() -> None:
    assert list(evaluation_opponents()) == [
        "softmax-1",
        "softmax-2",
        "softmax-3",
        "softmax-4",
        "softmax-5",
        "abr",
        "perfect",
    ]
