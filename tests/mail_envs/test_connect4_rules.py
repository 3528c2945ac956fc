"""Bitboard rules against brute-force checks and PettingZoo's board."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.classic.connect_four import connect_four as connect_four_v3

from mail_envs.connect4 import rules


def _grid(stones: int) -> np.ndarray:
    """(6, 7) bool grid, row 0 at the top, from a bitboard (by bit tests)."""
    grid = np.zeros((6, 7), dtype=bool)
    for col in range(7):
        for row in range(6):
            grid[5 - row, col] = bool(stones >> (7 * col + row) & 1)
    return grid


def _four_brute_force(grid: np.ndarray) -> bool:
    for r in range(6):
        for c in range(7):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + k * dr, c + k * dc) for k in range(4)]
                if all(0 <= i < 6 and 0 <= j < 7 and grid[i, j] for i, j in cells):
                    return True
    return False


def _random_positions(n: int, seed: int) -> list[tuple[int, int, int, list[int]]]:
    """(first, second, mask, moves) of random unfinished games of any length."""
    rng = np.random.default_rng(seed)
    out: list[tuple[int, int, int, list[int]]] = []
    while len(out) < n:
        moves: list[int] = []
        first = second = mask = 0
        for ply in range(int(rng.integers(0, 42))):
            col = int(rng.choice(rules.legal_columns(mask)))
            cell = rules.drop(mask, col)
            if ply % 2 == 0:
                first |= cell
            else:
                second |= cell
            mask |= cell
            moves.append(col)
            if rules.has_four(first) or rules.has_four(second):
                break
        out.append((first, second, mask, moves))
    return out


def test_drop_and_layout_known_values() -> None:
    assert rules.drop(0, 0) == 1
    assert rules.drop(0, 3) == 1 << 21
    assert rules.drop(1 << 21, 3) == 1 << 22
    assert rules.ALL_CELLS.bit_count() == 42
    assert rules.legal_columns(0) == list(range(7))


def test_has_four_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    for _ in range(1500):
        cells = rng.random((6, 7)) < rng.uniform(0.1, 0.6)
        stones = sum(
            1 << (7 * c + (5 - r)) for r in range(6) for c in range(7) if cells[r, c]
        )
        assert np.array_equal(_grid(stones), cells)
        assert rules.has_four(stones) == _four_brute_force(cells)
        assert rules.batch_has_four(np.array([stones], dtype=np.uint64))[0] == (
            rules.has_four(stones)
        )


def test_planes_match_pettingzoo_board() -> None:
    rng = np.random.default_rng(1)
    for _ in range(30):
        game = connect_four_v3.env()
        game.reset()
        moves: list[int] = []
        while not any(game.terminations.values()):
            col = int(
                rng.choice(
                    np.flatnonzero(game.observe(game.agent_selection)["action_mask"])
                )
            )
            game.step(col)
            moves.append(col)
        first, second, mask = rules.play_moves(moves)
        planes = rules.planes_from_bitboards(
            np.array([first, second], dtype=np.uint64),
            np.array([second, first], dtype=np.uint64),
        )
        assert np.array_equal(planes[0], game.observe("player_0")["observation"])
        assert np.array_equal(planes[1], game.observe("player_1")["observation"])
        mine, theirs = rules.bitboards_from_planes(planes)
        assert mine.tolist() == [first, second]
        assert theirs.tolist() == [second, first]
        assert rules.is_full(mask) == all(
            game.observe("player_0")["observation"].sum(-1).ravel()
        )


def test_batched_rules_match_scalar_rules() -> None:
    positions = _random_positions(500, seed=2)
    first = np.array([p[0] for p in positions], dtype=np.uint64)
    mask = np.array([p[2] for p in positions], dtype=np.uint64)
    legal = rules.batch_legal(mask)
    wins = rules.batch_winning_columns(first, mask)
    for i, (f, _, m, _) in enumerate(positions):
        assert np.flatnonzero(legal[i]).tolist() == rules.legal_columns(m)
        assert np.flatnonzero(wins[i]).tolist() == rules.winning_columns(f, m)
        cols = np.array(rules.legal_columns(m))
        if cols.size:
            cells = rules.batch_drop(np.full(cols.size, m, dtype=np.uint64), cols)
            assert cells.tolist() == [rules.drop(m, int(c)) for c in cols]


def test_play_moves_and_errors() -> None:
    first, second, mask = rules.play_moves("3344")
    assert first == (1 << 21) | (1 << 28)
    assert second == (1 << 22) | (1 << 29)
    assert mask == first | second
    with pytest.raises(ValueError, match="full column 0"):
        rules.play_moves("0000000")
    with pytest.raises(ValueError, match=r"column 0\.\.6"):
        rules.play_moves([7])
    with pytest.raises(ValueError, match="after the game was won"):
        rules.play_moves("01010101")
    with pytest.raises(ValueError, match="shape"):
        rules.bitboards_from_planes(np.zeros((7, 6, 2)))
