"""Acceptance runs of the Connect Four expert and opponents (slow: minutes)."""

from __future__ import annotations

import numpy as np
import pytest

from mail_envs.connect4.evaluation import evaluate_connect4, play_connect4_games
from mail_envs.connect4.expert import Connect4Expert
from mail_envs.connect4.opponents import (
    estimate_softmax_entropy,
    evaluation_opponents,
)

pytestmark = pytest.mark.slow


def test_expert_never_loses_from_the_first_seat_over_200_games() -> None:
    result = evaluate_connect4(
        Connect4Expert(),
        evaluation_opponents(),
        200,
        seed=2024,
        seats=("first",),
        progress=False,
    )
    print("\n" + result.summary())
    for match in result.matches:
        assert match.losses == 0, match
        assert match.illegal_losses == 0


def test_perfect_play_is_a_first_player_win_on_the_41st_ply() -> None:
    # Connect Four is a first-player win (J. D. Allen 1988, V. Allis 1988);
    # with optimal play the first player's 21st stone wins (solver score 1 on
    # the empty board, Pons' and BitBully's documentation), so games last 41
    # plies whatever optimal moves are chosen.
    outcomes = play_connect4_games(
        Connect4Expert(), Connect4Expert(), 20, np.random.default_rng(7)
    )
    assert np.all(outcomes.winner == 1)
    assert np.all(outcomes.length == 41)


def test_softmax_entropies_increase_with_level_over_many_positions() -> None:
    estimate = estimate_softmax_entropy(n_positions=500, seed=11)
    print("\n", estimate)
    assert np.all(np.diff(estimate.mean_entropy) > 0)  # temperature = level
    assert estimate.mean_entropy[-1] <= estimate.max_entropy
