"""The BitBully expert: orientation, known values, cache, batched policy."""

from __future__ import annotations

import numpy as np
import pytest
from bitbully import bitbully_core as bbc
from pettingzoo.classic.connect_four import connect_four as connect_four_v3

from mail_envs.connect4 import expert as expert_module
from mail_envs.connect4 import rules
from mail_envs.connect4.expert import (
    Connect4Expert,
    batch_move_scores,
    move_scores,
    optimal_move_mask,
    position_value,
    positions_from_observations,
    shared_solver,
)


def _pettingzoo_after(moves: str) -> tuple[np.ndarray, np.ndarray]:
    """Observation (1, 6, 7, 2) and mask (1, 7) of the agent to move in PZ."""
    game = connect_four_v3.env()
    game.reset()
    for col in moves:
        game.step(int(col))
    obs = game.observe(game.agent_selection)
    return obs["observation"][None], obs["action_mask"][None].astype(bool)


def test_empty_board_scores_known_values() -> None:
    # Pons' solver convention; values from BitBully's documentation
    # (BitBully.score_all_moves on the empty board): the centre wins with the
    # first player's 21st stone (score 1).
    assert move_scores(0, 0).tolist() == [-2, -1, 0, 1, 0, -1, -2]
    assert position_value(0, 0) == 1


@pytest.mark.parametrize(
    ("moves", "expected"),
    [
        ("334455", {2, 6}),  # complete the bottom row (immediate win)
        ("06162", {3}),  # block the bottom-row threat 0-1-2
        ("01010", {0}),  # block the vertical threat in column 0
        ("2525243234", {3}),  # block a falling diagonal through column 3
    ],
)
def test_expert_on_pettingzoo_observations(moves: str, expected: set[int]) -> None:
    obs, mask = _pettingzoo_after(moves)
    probs = Connect4Expert()(obs, mask)[0]
    assert set(np.flatnonzero(probs).tolist()) == expected
    assert probs.sum() == pytest.approx(1.0)


def test_immediate_win_score_value() -> None:
    obs, mask = _pettingzoo_after("334455")
    scores = batch_move_scores(obs, mask)[0]
    # Winning with the mover's 4th stone: 22 - 4 = 18.
    assert scores[[2, 6]].tolist() == [18.0, 18.0]


def test_scores_agree_with_bitbully_replaying_moves() -> None:
    rng = np.random.default_rng(3)
    checked = 0
    while checked < 25:
        board, moves = bbc.BoardCore.randomBoard(int(rng.integers(18, 34)), True)
        first, second, mask = rules.play_moves(moves)
        if rules.has_four(first) or rules.has_four(second) or rules.is_full(mask):
            continue
        current = first if len(moves) % 2 == 0 else second
        raw = shared_solver().scoreMoves(board)
        ours = move_scores(current, mask, use_cache=False)
        assert ours.tolist() == [float(s) if s > -100 else -np.inf for s in raw]
        checked += 1


def test_solver_is_a_singleton_and_cache_hits() -> None:
    assert shared_solver() is shared_solver()
    expert_module.clear_score_cache()
    first, _, mask = rules.play_moves("332244")
    a = move_scores(first, mask)
    b = move_scores(first, mask)
    info = expert_module._solve_cached.cache_info()
    assert (info.hits, info.misses) == (1, 1)
    assert np.array_equal(a, b)
    assert np.array_equal(a, move_scores(first, mask, use_cache=False))


def test_deterministic_mode_and_empty_masks() -> None:
    obs = rules.planes_from_bitboards(np.zeros(2, np.uint64), np.zeros(2, np.uint64))
    masks = np.array([[1] * 7, [0] * 7], dtype=bool)
    probs = Connect4Expert(mode="deterministic")(obs, masks)
    assert probs.tolist() == [[0, 0, 0, 1, 0, 0, 0], [0] * 7]
    first, second, _ = rules.play_moves("3344")
    obs = rules.planes_from_bitboards(np.array([first]), np.array([second]))
    # Optimal moves are 2 and 5; the left neighbour of the centre comes first.
    assert np.flatnonzero(
        Connect4Expert("deterministic")(obs, np.ones((1, 7), bool))
    ).tolist() == [2]
    with pytest.raises(ValueError, match="mode"):
        Connect4Expert(mode="greedy")  # type: ignore[arg-type]


def test_masked_columns_are_never_chosen() -> None:
    obs, mask = _pettingzoo_after("334455")
    mask[0, 2] = False
    assert np.flatnonzero(Connect4Expert()(obs, mask)[0]).tolist() == [6]
    assert optimal_move_mask(np.array([[-np.inf] * 7])).tolist() == [[False] * 7]


def test_expert_wins_pettingzoo_game_against_random() -> None:
    game = connect_four_v3.env()
    game.reset(seed=0)
    rng = np.random.default_rng(0)
    expert = Connect4Expert()
    for col in "33":  # leave the opening book region quickly
        game.step(int(col))
    for agent in game.agent_iter():
        obs, reward, term, trunc, _ = game.last()
        if term or trunc:
            game.step(None)
            continue
        if agent == "player_0":
            probs = expert(
                obs["observation"][None], obs["action_mask"][None].astype(bool)
            )[0]
            game.step(int(np.argmax(probs)))
        else:
            game.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    assert game.rewards == {} and reward == 1


def test_invalid_observations_raise() -> None:
    with pytest.raises(ValueError, match="shape"):
        positions_from_observations(np.zeros((1, 7, 6, 2)))
    floating = np.zeros((1, 6, 7, 2), dtype=np.int8)
    floating[0, 0, 0, 1] = 1  # a stone in the top row of an empty column
    with pytest.raises(ValueError, match="above an empty cell"):
        positions_from_observations(floating)
    ahead = np.zeros((1, 6, 7, 2), dtype=np.int8)
    ahead[0, 5, 0, 0] = 1  # the observer has one stone more than its opponent
    with pytest.raises(ValueError, match="not the player to move"):
        positions_from_observations(ahead)
    both = np.zeros((1, 6, 7, 2), dtype=np.int8)
    both[0, 5, 0] = 1
    with pytest.raises(ValueError, match="both planes"):
        positions_from_observations(both)
    with pytest.raises(ValueError, match="action_masks"):
        batch_move_scores(np.zeros((2, 6, 7, 2)), np.ones((1, 7)))
    _, second, mask = rules.play_moves("0101010")
    with pytest.raises(ValueError, match="already over"):
        move_scores(second, mask)
