"""Tests for the pure numpy Tic-Tac-Toe rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mail_envs.tictactoe import rules


def _python_winner(board) -> int:
    """Reference win check, one line at a time (X reported first, as documented)."""
    lines = [[int(board[i]) for i in line] for line in rules.WIN_LINES.tolist()]
    for mark in (rules.X, rules.O):
        if [mark] * 3 in lines:
            return mark
    return 0


def test_win_lines_are_the_eight_lines_of_the_3x3_grid():
    grid = np.arange(9).reshape(3, 3)
    expected = {
        *map(tuple, grid),
        *map(tuple, grid.T),
        tuple(np.diag(grid)),
        tuple(np.diag(grid[:, ::-1])),
    }
    assert {tuple(line) for line in rules.WIN_LINES.tolist()} == expected


def test_winner_matches_a_line_by_line_check_on_random_boards():
    rng = np.random.default_rng(0)
    boards = rng.integers(0, 3, size=(5000, 9)).astype(np.int8)
    expected = [_python_winner(b) for b in boards]
    np.testing.assert_array_equal(rules.winner(boards), expected)
    assert {0, 1, 2} <= set(expected)


def test_every_single_line_wins_for_both_marks():
    for mark in (rules.X, rules.O):
        boards = np.zeros((8, 9), dtype=np.int8)
        np.put_along_axis(boards, rules.WIN_LINES, mark, axis=1)
        assert np.all(rules.winner(boards) == mark)
        assert np.all(rules.is_terminal(boards))


def test_encode_decode_round_trip_over_all_codes():
    codes = np.arange(rules.NUM_CODES)
    boards = rules.decode(codes)
    assert boards.shape == (rules.NUM_CODES, 9) and boards.dtype == np.int8
    np.testing.assert_array_equal(rules.encode(boards), codes)
    assert rules.encode(np.array([1, 0, 2, 0, 0, 0, 0, 0, 0])) == 1 + 2 * 9
    with pytest.raises(ValueError, match="codes"):
        rules.decode(rules.NUM_CODES)


def test_play_alternates_marks_and_rejects_bad_cells():
    board = np.zeros(9, dtype=np.int8)
    board = rules.play(board, 4)
    board = rules.play(board, 0)
    assert board.tolist() == [2, 0, 0, 0, 1, 0, 0, 0, 0]
    assert rules.to_move(board) == 0
    with pytest.raises(ValueError, match="empty"):
        rules.play(board, 4)
    with pytest.raises(ValueError, match="cells"):
        rules.play(board, 9)
    batch = rules.play(np.zeros((3, 9), dtype=np.int8), np.array([0, 1, 2]))
    np.testing.assert_array_equal(batch, np.eye(3, 9, dtype=np.int8))


def test_winning_move_marks_exactly_the_completing_cells():
    # X on 0 and 1, O on 3 and 4, X to move: cell 2 wins (row), nothing else.
    board = np.array([1, 1, 0, 2, 2, 0, 0, 0, 0], dtype=np.int8)
    assert np.flatnonzero(rules.winning_move(board)).tolist() == [2]
    # O to move on the same lines: cell 5 wins for O.
    board = np.array([1, 1, 0, 2, 2, 0, 1, 0, 0], dtype=np.int8)
    assert np.flatnonzero(rules.winning_move(board)).tolist() == [5]


def test_observation_planes_and_back():
    board = np.array([1, 0, 2, 0, 1, 0, 0, 0, 0], dtype=np.int8)  # O to move
    planes_o = rules.observation_planes(board, 1)
    assert planes_o.shape == (3, 3, 2)
    assert planes_o[0, 2].tolist() == [1, 0] and planes_o[0, 0].tolist() == [0, 1]
    np.testing.assert_array_equal(
        rules.observation_planes(board, 0), planes_o[..., ::-1]
    )
    recovered, valid = rules.boards_from_planes(planes_o)
    assert valid and recovered.tolist() == board.tolist()
    # The same planes cannot come from X to move: X would own one mark fewer.
    _, valid_x = rules.boards_from_planes(rules.observation_planes(board, 0))
    assert not valid_x
    with pytest.raises(ValueError, match="player"):
        rules.observation_planes(board, 2)


def test_boards_from_planes_recovers_every_board_seen_by_its_mover():
    boards = np.array(
        [
            b
            for b in itertools.product(range(3), repeat=9)
            if b.count(1) - b.count(2) in (0, 1)
        ],
        dtype=np.int8,
    )
    movers = rules.to_move(boards)
    recovered, valid = rules.boards_from_planes(
        rules.observation_planes(boards, movers)
    )
    assert valid.all()
    np.testing.assert_array_equal(recovered, boards)


def test_render_ansi_uses_pettingzoo_cell_layout():
    text = rules.render_ansi(np.array([1, 0, 0, 2, 0, 0, 0, 0, 0]))
    assert text.splitlines()[0] == " X | O | ."
    with pytest.raises(ValueError, match="shape"):
        rules.render_ansi(np.zeros(8))
