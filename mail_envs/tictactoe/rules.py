"""Tic-Tac-Toe rules as pure, batched numpy functions.

A board is an ``int8`` array of 9 cells indexed exactly like PettingZoo's
``tictactoe_v3`` actions: cell ``k`` is row ``k // 3``, column ``k % 3`` of the
``(3, 3)`` observation planes. A cell holds ``EMPTY`` (0), ``X`` (1, the first
mover, ``player_1``) or ``O`` (2, ``player_2``). Every function takes a batch
``(..., 9)`` of boards and works on all of them at once.

A board is encoded as the base-3 integer ``sum_k board[k] * 3**k`` (the empty
board is 0); :func:`encode` and :func:`decode` convert, so ``3**9 = 19683``
dense lookup tables can index per-board quantities.

### Version History

* v0: initial release.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EMPTY",
    "NUM_CELLS",
    "NUM_CODES",
    "POWERS",
    "WIN_LINES",
    "O",
    "X",
    "boards_from_planes",
    "decode",
    "encode",
    "is_full",
    "is_terminal",
    "legal_mask",
    "observation_planes",
    "play",
    "render_ansi",
    "to_move",
    "winner",
    "winning_move",
]

EMPTY, X, O = 0, 1, 2  # noqa: E741 - the marks of the game
NUM_CELLS = 9
#: Number of base-3 codes, the size of dense per-board lookup tables.
NUM_CODES = 3**NUM_CELLS
#: ``POWERS[k] = 3**k``, the weight of cell ``k`` in a board code.
POWERS = 3 ** np.arange(NUM_CELLS, dtype=np.int64)
#: The 8 winning lines as cell indices: rows, columns, diagonals.
WIN_LINES = np.array(
    [
        [0, 1, 2],
        [3, 4, 5],
        [6, 7, 8],
        [0, 3, 6],
        [1, 4, 7],
        [2, 5, 8],
        [0, 4, 8],
        [2, 4, 6],
    ],
    dtype=np.intp,
)


def _boards(boards: np.ndarray) -> np.ndarray:
    arr = np.asarray(boards)
    if arr.shape[-1:] != (NUM_CELLS,):
        raise ValueError(f"boards must have shape (..., 9), got {arr.shape}")
    return arr


def winner(boards: np.ndarray) -> np.ndarray:
    """Mark (``X``, ``O``) that owns a full line, or ``EMPTY`` if none.

    Boards reached by play never hold lines of both marks; if one does, ``X``
    is reported.

    Args:
        boards: ``(..., 9)`` boards.

    Returns:
        ``(...)`` ``int8`` array of ``EMPTY``, ``X`` or ``O``.

    Example:
        >>> winner(np.array([1, 1, 1, 2, 2, 0, 0, 0, 0]))
        array(1, dtype=int8)
    """
    b = _boards(boards)
    lines = b[..., WIN_LINES]  # (..., 8, 3)
    x_wins = np.all(lines == X, axis=-1).any(axis=-1)
    o_wins = np.all(lines == O, axis=-1).any(axis=-1)
    return np.where(x_wins, X, np.where(o_wins, O, EMPTY)).astype(np.int8)


def is_full(boards: np.ndarray) -> np.ndarray:
    """Whether every cell is marked, ``(...)`` bool."""
    return np.all(_boards(boards) != EMPTY, axis=-1)


def is_terminal(boards: np.ndarray) -> np.ndarray:
    """Whether the game is over (a line is complete or the board is full)."""
    return (winner(boards) != EMPTY) | is_full(boards)


def legal_mask(boards: np.ndarray) -> np.ndarray:
    """Empty cells, ``(..., 9)`` bool (also on terminal boards)."""
    return _boards(boards) == EMPTY


def to_move(boards: np.ndarray) -> np.ndarray:
    """Index of the player to move: 0 (``X``) if the mark counts are equal, else 1.

    Args:
        boards: ``(..., 9)`` boards reached by play (``X`` moves first).

    Returns:
        ``(...)`` ``int8`` player indices.
    """
    b = _boards(boards)
    n_x = np.count_nonzero(b == X, axis=-1)
    n_o = np.count_nonzero(b == O, axis=-1)
    return (n_x > n_o).astype(np.int8)


def play(boards: np.ndarray, cells: np.ndarray | int) -> np.ndarray:
    """Boards after the player to move marks ``cells`` (a new array).

    Args:
        boards: ``(..., 9)`` boards.
        cells: Cell index per board, broadcastable to ``boards.shape[:-1]``.

    Returns:
        The ``(..., 9)`` ``int8`` successor boards.

    Raises:
        ValueError: If a cell is out of ``[0, 9)`` or already marked.
    """
    b = np.array(_boards(boards), dtype=np.int8)
    c = np.broadcast_to(np.asarray(cells, dtype=np.int64), b.shape[:-1])
    if np.any((c < 0) | (c >= NUM_CELLS)):
        raise ValueError(f"cells must lie in [0, 9), got {cells!r}")
    target = np.take_along_axis(b, c[..., None], axis=-1)
    if np.any(target != EMPTY):
        raise ValueError(f"cells {cells!r} must be empty on every board")
    mark = (to_move(b) + 1).astype(np.int8)
    np.put_along_axis(b, c[..., None], mark[..., None], axis=-1)
    return b


def winning_move(boards: np.ndarray) -> np.ndarray:
    """Which empty cells win on the spot for the player to move, ``(..., 9)`` bool."""
    b = _boards(boards).astype(np.int8)
    mark = (to_move(b) + 1).astype(np.int8)
    out = np.zeros(b.shape, dtype=bool)
    for cell in range(NUM_CELLS):  # 9 cells: a tiny loop, each step batched
        trial = b.copy()
        trial[..., cell] = mark
        out[..., cell] = (b[..., cell] == EMPTY) & (winner(trial) == mark)
    return out


def encode(boards: np.ndarray) -> np.ndarray:
    """Base-3 codes ``sum_k board[k] * 3**k`` of ``(..., 9)`` boards, ``int64``."""
    return _boards(boards).astype(np.int64) @ POWERS


def decode(codes: np.ndarray | int) -> np.ndarray:
    """Boards ``(..., 9)`` ``int8`` from base-3 codes (inverse of :func:`encode`).

    Raises:
        ValueError: If a code is outside ``[0, 3**9)``.
    """
    c = np.asarray(codes, dtype=np.int64)
    if np.any((c < 0) | (c >= NUM_CODES)):
        raise ValueError(f"codes must lie in [0, {NUM_CODES}), got {codes!r}")
    return ((c[..., None] // POWERS) % 3).astype(np.int8)


def observation_planes(boards: np.ndarray, player: np.ndarray | int) -> np.ndarray:
    """PettingZoo ``tictactoe_v3`` observation planes as ``player`` sees them.

    Plane 0 marks ``player``'s own marks, plane 1 the opponent's.

    Args:
        boards: ``(..., 9)`` boards.
        player: 0 (``player_1``, ``X``) or 1 (``player_2``, ``O``), broadcastable
            to ``boards.shape[:-1]``.

    Returns:
        ``(..., 3, 3, 2)`` ``int8`` planes.
    """
    b = _boards(boards)
    p = np.asarray(player)
    if np.any((p != 0) & (p != 1)):
        raise ValueError(f"player must be 0 or 1, got {player!r}")
    own = (p + 1)[..., None]
    opp = (2 - p)[..., None]
    planes = np.stack([b == own, b == opp], axis=-1).astype(np.int8)
    return planes.reshape(*b.shape[:-1], 3, 3, 2)


def boards_from_planes(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boards seen by the player to move, recovered from its observation planes.

    The observer is ``X`` when it holds as many marks as the opponent and ``O``
    when it holds one fewer; any other count cannot belong to the player to
    move and gives ``valid = False`` (and an unspecified board).

    Args:
        observations: ``(..., 3, 3, 2)`` planes (any integer or float dtype).

    Returns:
        ``(boards, valid)``: ``(..., 9)`` ``int8`` boards and ``(...)`` bool.

    Raises:
        ValueError: If the trailing shape is not ``(3, 3, 2)``.
    """
    obs = np.asarray(observations)
    if obs.shape[-3:] != (3, 3, 2):
        raise ValueError(
            f"observations must have shape (..., 3, 3, 2), got {obs.shape}"
        )
    planes = obs.reshape(*obs.shape[:-3], NUM_CELLS, 2) > 0.5
    own, opp = planes[..., 0], planes[..., 1]
    n_own = own.sum(axis=-1)
    n_opp = opp.sum(axis=-1)
    observer_is_x = n_own == n_opp
    valid = (observer_is_x | (n_own + 1 == n_opp)) & ~np.any(own & opp, axis=-1)
    own_mark = np.where(observer_is_x, X, O)[..., None]
    opp_mark = np.where(observer_is_x, O, X)[..., None]
    boards = np.where(own, own_mark, np.where(opp, opp_mark, EMPTY)).astype(np.int8)
    return boards, valid


def render_ansi(board: np.ndarray) -> str:
    """Text picture of one board in PettingZoo's documented cell layout.

    Cell ``k`` is drawn in column ``k // 3`` and row ``k % 3`` (top row: cells
    0, 3, 6), as in the ``tictactoe_v3`` docs and its rendered image.

    Example:
        >>> print(render_ansi(np.array([1, 0, 0, 0, 2, 0, 0, 0, 0])))
         X | . | .
        ---+---+---
         . | O | .
        ---+---+---
         . | . | .
    """
    b = _boards(board).reshape(NUM_CELLS)
    symbols = np.array([".", "X", "O"])[b]
    rows = [" " + " | ".join(symbols[r::3]) for r in range(3)]
    return "\n---+---+---\n".join(rows)
