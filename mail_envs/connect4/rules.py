"""Pure Connect Four rules on bitboards.

The board is the standard 7 columns by 6 rows grid. A position is stored as
bitboards in the classic ``7 x (6 + 1)`` layout (John Tromp's, also used by
Pascal Pons' solver): the cell in column ``c`` (0 = left) and row ``r``
(0 = bottom) is bit ``7 * c + r``; bit ``7 * c + 6`` is an always-empty
sentinel that stops shifts from wrapping between columns. Two bitboards
describe a position: the stones of one player and ``mask``, every occupied
cell. Everything here is a pure function:

* scalar functions on Python ``int`` bitboards (:func:`drop`, :func:`has_four`,
  :func:`legal_columns` ...), used by the env;
* batched functions on ``numpy.uint64`` arrays (``batch_*``), used to play
  many games at once;
* conversions between bitboards and PettingZoo's ``(6, 7, 2)`` observation
  planes, whose row 0 is the *top* of the board
  (:func:`planes_from_bitboards`, :func:`bitboards_from_planes`).

A move is a column index 0..6, as in PettingZoo's ``connect_four_v3``.

Example:
    >>> mask = mine = 0
    >>> for col in (3, 3, 4, 4, 5, 5):
    ...     mine, mask = mask ^ mine, mask | drop(mask, col)  # swap sides
    >>> has_four(mine | drop(mask, 6)), has_four(mine | drop(mask, 2))
    (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "ALL_CELLS",
    "BOTTOM",
    "COLUMNS",
    "HEIGHT",
    "NUM_CELLS",
    "ROWS",
    "TOP",
    "batch_drop",
    "batch_has_four",
    "batch_legal",
    "batch_winning_columns",
    "bitboards_from_planes",
    "column_mask",
    "drop",
    "has_four",
    "is_full",
    "legal_columns",
    "planes_from_bitboards",
    "play_moves",
    "winning_columns",
]

COLUMNS = 7
ROWS = 6
#: Bits per column: 6 cells and a sentinel.
HEIGHT = ROWS + 1
NUM_CELLS = COLUMNS * ROWS

#: ``BOTTOM[c]``: the bottom cell of column ``c``.
BOTTOM: tuple[int, ...] = tuple(1 << (HEIGHT * c) for c in range(COLUMNS))
#: ``TOP[c]``: the top playable cell of column ``c`` (row 5).
TOP: tuple[int, ...] = tuple(1 << (HEIGHT * c + ROWS - 1) for c in range(COLUMNS))
#: Every playable cell (no sentinels).
ALL_CELLS: int = sum(((1 << ROWS) - 1) << (HEIGHT * c) for c in range(COLUMNS))
_BOTTOM_ALL = sum(BOTTOM)
#: Shifts of the four line directions: vertical, horizontal, both diagonals.
_DIRECTIONS = (1, HEIGHT, HEIGHT - 1, HEIGHT + 1)

#: ``_CELL_BIT[r, c]``: bit index of observation cell (row ``r`` from the top,
#: column ``c``).
_CELL_BIT = np.array(
    [[HEIGHT * c + (ROWS - 1 - r) for c in range(COLUMNS)] for r in range(ROWS)],
    dtype=np.uint64,
)
_CELL_VALUE = np.left_shift(np.uint64(1), _CELL_BIT)
_BOTTOM_U64 = np.array(BOTTOM, dtype=np.uint64)
_TOP_U64 = np.array(TOP, dtype=np.uint64)
_COLUMN_U64 = np.array(
    [((1 << ROWS) - 1) << (HEIGHT * c) for c in range(COLUMNS)], dtype=np.uint64
)


def column_mask(col: int) -> int:
    """All six cells of column ``col``."""
    return ((1 << ROWS) - 1) << (HEIGHT * col)


def drop(mask: int, col: int) -> int:
    """The cell (a one-bit bitboard) where a stone dropped into ``col`` lands.

    Args:
        mask: Occupied cells.
        col: Column 0..6; the caller checks that it is not full.

    Returns:
        The landing cell's bit: the lowest empty cell of the column.
    """
    return (mask + BOTTOM[col]) & column_mask(col)


def has_four(stones: int) -> bool:
    """Whether ``stones`` contain four in a row in any direction.

    ``m = b & (b >> s)`` marks pairs along direction ``s``; ``m & (m >> 2s)``
    marks fours. The empty sentinel row keeps lines from wrapping.
    """
    for shift in _DIRECTIONS:
        pairs = stones & (stones >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


def legal_columns(mask: int) -> list[int]:
    """Columns whose top cell is empty, in increasing order."""
    return [c for c in range(COLUMNS) if not mask & TOP[c]]


def is_full(mask: int) -> bool:
    """Whether all 42 cells are occupied (the game is drawn if nobody won)."""
    return mask == ALL_CELLS


def winning_columns(stones: int, mask: int) -> list[int]:
    """Legal columns where adding one stone to ``stones`` makes four in a row.

    Args:
        stones: The stones of the player about to move.
        mask: Occupied cells.

    Returns:
        The winning columns in increasing order (empty when there is none).
    """
    return [c for c in legal_columns(mask) if has_four(stones | drop(mask, c))]


def play_moves(moves: str | Sequence[int]) -> tuple[int, int, int]:
    """Replay a move sequence from the empty board.

    Args:
        moves: Columns (a digit string such as ``"3344"`` or a sequence).

    Returns:
        ``(first, second, mask)``: the first player's stones, the second
        player's stones and all occupied cells.

    Raises:
        ValueError: If a move is not a column 0..6, is played into a full
            column, or is played after the game was won.
    """
    stones = [0, 0]
    mask = 0
    sequence: Sequence[int | str] = moves
    for ply, raw in enumerate(sequence):
        col = int(raw)
        if not 0 <= col < COLUMNS:
            raise ValueError(
                f"move {ply} of {moves!r} is {raw!r}, expected a column 0..6"
            )
        if mask & TOP[col]:
            raise ValueError(f"move {ply} of {moves!r} plays into full column {col}")
        if has_four(stones[0]) or has_four(stones[1]):
            raise ValueError(
                f"move {ply} of {moves!r} is played after the game was won"
            )
        cell = drop(mask, col)
        stones[ply % 2] |= cell
        mask |= cell
    return stones[0], stones[1], mask


# ----------------------------------------------------------------- batched


def batch_drop(mask: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Landing cells of stones dropped into ``cols`` (``uint64`` per game).

    Args:
        mask: ``(B,)`` uint64 occupied cells.
        cols: ``(B,)`` integer columns (not full; unchecked).

    Returns:
        ``(B,)`` uint64 one-bit bitboards.
    """
    cols = np.asarray(cols, dtype=np.intp)
    return (mask + _BOTTOM_U64[cols]) & _COLUMN_U64[cols]


def batch_has_four(stones: np.ndarray) -> np.ndarray:
    """Vectorized :func:`has_four`: ``(B,)`` uint64 -> ``(B,)`` bool."""
    stones = np.asarray(stones, dtype=np.uint64)
    found = np.zeros(stones.shape, dtype=bool)
    for shift in _DIRECTIONS:
        s = np.uint64(shift)
        pairs = stones & (stones >> s)
        found |= (pairs & (pairs >> (s + s))) != 0
    return found


def batch_legal(mask: np.ndarray) -> np.ndarray:
    """Legal columns: ``(B,)`` uint64 masks -> ``(B, 7)`` bool."""
    mask = np.asarray(mask, dtype=np.uint64)
    return (mask[..., None] & _TOP_U64) == 0


def batch_winning_columns(stones: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Vectorized :func:`winning_columns`: ``(B, 7)`` bool, legal and winning."""
    stones = np.asarray(stones, dtype=np.uint64)
    mask = np.asarray(mask, dtype=np.uint64)
    cells = (mask[:, None] + _BOTTOM_U64) & _COLUMN_U64
    after = stones[:, None] | cells
    return batch_legal(mask) & batch_has_four(after.ravel()).reshape(after.shape)


def planes_from_bitboards(mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """PettingZoo observation planes from bitboards.

    Args:
        mine: ``(B,)`` uint64 stones of the observing player (plane 0).
        theirs: ``(B,)`` uint64 stones of the other player (plane 1).

    Returns:
        ``(B, 6, 7, 2)`` int8 planes; row 0 is the top row of the board.
    """
    mine = np.asarray(mine, dtype=np.uint64)
    theirs = np.asarray(theirs, dtype=np.uint64)
    out = np.empty((*mine.shape, ROWS, COLUMNS, 2), dtype=np.int8)
    out[..., 0] = (mine[..., None, None] >> _CELL_BIT) & np.uint64(1)
    out[..., 1] = (theirs[..., None, None] >> _CELL_BIT) & np.uint64(1)
    return out


def bitboards_from_planes(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bitboards of the two planes of ``(B, 6, 7, 2)`` observations.

    Args:
        planes: Observations with values in {0, 1} (any numeric dtype).

    Returns:
        ``(mine, theirs)``: ``(B,)`` uint64 bitboards of plane 0 and plane 1.

    Raises:
        ValueError: If the trailing shape is not ``(6, 7, 2)``.
    """
    planes = np.asarray(planes)
    if planes.shape[-3:] != (ROWS, COLUMNS, 2):
        raise ValueError(
            f"Connect Four observations must end in shape (6, 7, 2), got {planes.shape}"
        )
    bits = planes != 0
    mine = np.where(bits[..., 0], _CELL_VALUE, np.uint64(0)).sum(
        axis=(-2, -1), dtype=np.uint64
    )
    theirs = np.where(bits[..., 1], _CELL_VALUE, np.uint64(0)).sum(
        axis=(-2, -1), dtype=np.uint64
    )
    return mine, theirs
