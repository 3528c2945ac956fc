"""The Connect Four expert: perfect play from the BitBully solver.

`BitBully <https://github.com/MarkusThill/BitBully>`_ is a C++ Connect Four
solver (negamax with MTD(f), transposition table, and a 12-ply opening book
with distances from the ``bitbully-databases`` package). It scores every move
of a position exactly, in Pascal Pons' convention, from the point of view of
the player to move:

* ``0``: the move leads to a draw under perfect play;
* ``s > 0``: the mover wins, and ``s = 22 - k`` where ``k`` is the number of
  stones the mover has placed when the winning four is completed (``21``: the
  winning stone is the mover's first; the earlier the win, the higher);
* ``s < 0``: the mover loses, ``-s = 22 - k`` with ``k`` the number of stones
  the *opponent* has placed when it completes four.

So ``max`` over the legal moves is the game-theoretic value of the position,
and the optimal moves are those that reach it: they win as fast as possible,
or lose as slowly as possible.

Here the solver is wrapped for mail-gym:

* :func:`move_scores` scores one position given as bitboards (the layout of
  :mod:`mail_envs.connect4.rules`); results are kept in an LRU cache keyed by
  the bitboard pair ``(stones of the player to move, occupied cells)``;
* :func:`batch_move_scores` scores a batch of PettingZoo observations
  ``(B, 6, 7, 2)`` under masks ``(B, 7)``;
* :class:`Connect4Expert` is a :class:`~mail_envs.core.BatchedPolicy` that
  plays uniformly over the optimal moves (``mode="uniform"``) or picks one of
  them deterministically (``mode="deterministic"``). It drives both
  ``mail/connect4-v0`` and PettingZoo's ``connect_four_v3``.

The opening book (about 21 MB) is loaded once, on first use, into a
module-level solver that every caller shares (:func:`shared_solver`).
Positions 12 to about 16 plies deep are the expensive ones (tens to hundreds
of milliseconds each); everything else takes well under a millisecond.

Example:
    >>> import numpy as np
    >>> from mail_envs.connect4 import rules
    >>> first, second, mask = rules.play_moves("334455")
    >>> move_scores(first, mask)[[2, 6]]  # both complete the bottom row
    array([18., 18.])
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any, Literal

import numpy as np

from mail_envs.connect4 import rules

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "Connect4Expert",
    "batch_move_scores",
    "clear_score_cache",
    "move_scores",
    "optimal_move_mask",
    "position_value",
    "positions_from_observations",
    "shared_solver",
]

#: Positions kept by the LRU score cache.
DEFAULT_CACHE_SIZE = 1 << 18
#: Which ``bitbully-databases`` book the shared solver loads (12-ply, exact
#: distances).
OPENING_BOOK = "default"

_ENGINE_HEIGHT = 9  # BitBully stores a column in 9 bits (bit 9 * c + r).
_COLUMN_CELLS = (1 << rules.ROWS) - 1
# Columns that complete the tie-break order of ``mode="deterministic"``:
# centre first, then the left neighbour before the right one.
_CENTER_ORDER = np.array([3, 2, 4, 1, 5, 0, 6])
_CENTER_RANK = np.argsort(_CENTER_ORDER)


@cache
def shared_solver() -> Any:
    """The process-wide BitBully solver with the opening book loaded.

    Created on the first call (about 0.2 s to read the book) and reused after,
    so that no caller loads the 21 MB book twice.

    Returns:
        A ``bitbully.bitbully_core.BitBullyCore``.
    """
    import bitbully.bitbully_core as bbc
    import bitbully_databases as bbd

    return bbc.BitBullyCore(bbd.BitBullyDatabases.get_database_path(OPENING_BOOK))


def _to_engine(bits: int) -> int:
    """Re-pack a ``7 x (6 + 1)`` bitboard into BitBully's 9-bit columns."""
    out = 0
    for col in range(rules.COLUMNS):
        out |= ((bits >> (rules.HEIGHT * col)) & _COLUMN_CELLS) << (
            _ENGINE_HEIGHT * col
        )
    return out


def _solve(current: int, mask: int) -> tuple[float, ...]:
    import bitbully.bitbully_core as bbc

    moves_left = rules.NUM_CELLS - mask.bit_count()
    board = bbc.BoardCore()
    board.setRawState(_to_engine(mask), _to_engine(current), moves_left)
    raw = shared_solver().scoreMoves(board)
    # BitBully marks full columns with scores below -100.
    return tuple(float(s) if s > -100 else -np.inf for s in raw)


_solve_cached = lru_cache(maxsize=DEFAULT_CACHE_SIZE)(_solve)


def clear_score_cache() -> None:
    """Empty the LRU cache of :func:`move_scores` (the solver is kept)."""
    _solve_cached.cache_clear()


def _check_position(current: int, mask: int) -> None:
    if current & ~mask or mask & ~rules.ALL_CELLS:
        raise ValueError(
            f"not a Connect Four position: current={current:#x} must lie inside "
            f"mask={mask:#x}, which must lie inside the board"
        )
    if rules.has_four(current) or rules.has_four(current ^ mask):
        raise ValueError(
            f"the game is already over (four in a row) in position current={current:#x}, "
            f"mask={mask:#x}"
        )
    if rules.is_full(mask):
        raise ValueError("the board is full: there is no move to score")


def move_scores(current: int, mask: int, *, use_cache: bool = True) -> np.ndarray:
    """Exact scores of the seven moves for the player to move.

    Args:
        current: Bitboard of the stones of the player to move.
        mask: Bitboard of all occupied cells.
        use_cache: Look the position up in (and store it into) the LRU cache.

    Returns:
        ``(7,)`` float64 scores in Pons' convention (see the module docstring);
        ``-inf`` for full columns.

    Raises:
        ValueError: If the bitboards are inconsistent, the game is already
            won, or the board is full.
    """
    current, mask = int(current), int(mask)
    _check_position(current, mask)
    scores = _solve_cached(current, mask) if use_cache else _solve(current, mask)
    return np.array(scores)


def position_value(current: int, mask: int) -> int:
    """Game-theoretic value for the player to move (max of :func:`move_scores`)."""
    return int(move_scores(current, mask).max())


def positions_from_observations(
    observations: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode PettingZoo observations of the player to move into bitboards.

    Args:
        observations: ``(B, 6, 7, 2)`` planes; plane 0 holds the stones of the
            observing player, who is the one to move.

    Returns:
        ``(current, mask)``: ``(B,)`` uint64 bitboards of the mover's stones and
        of all stones.

    Raises:
        ValueError: If a row is not a reachable position: values outside
            {0, 1}, both planes set on one cell, stones floating above empty
            cells, or stone counts that do not make the observer the player
            to move (its opponent has as many stones as it, or one more).
    """
    obs = np.asarray(observations)
    if obs.ndim != 4 or obs.shape[1:] != (rules.ROWS, rules.COLUMNS, 2):
        raise ValueError(f"observations must have shape (B, 6, 7, 2), got {obs.shape}")
    bad = np.flatnonzero(((obs != 0) & (obs != 1)).any(axis=(1, 2, 3)))
    if bad.size:
        raise ValueError(f"observation {bad[0]} has values outside {{0, 1}}")
    current, other = rules.bitboards_from_planes(obs)
    mask = current | other
    bad = np.flatnonzero((current & other) != 0)
    if bad.size:
        raise ValueError(f"observation {bad[0]} has a cell in both planes")
    shifts = (np.arange(rules.COLUMNS) * rules.HEIGHT).astype(np.uint64)
    columns = (mask[:, None] >> shifts) & np.uint64(_COLUMN_CELLS)
    floating = ((columns & (columns + np.uint64(1))) != 0).any(axis=1)
    bad = np.flatnonzero(floating)
    if bad.size:
        raise ValueError(f"observation {bad[0]} has a stone above an empty cell")
    lead = np.bitwise_count(other).astype(np.int64) - np.bitwise_count(current)
    bad = np.flatnonzero((lead != 0) & (lead != 1))
    if bad.size:
        raise ValueError(
            f"observation {bad[0]}: the opponent has {lead[bad[0]]:+d} stones more "
            "than the observer, so the observer is not the player to move"
        )
    return current, mask


def batch_move_scores(
    observations: np.ndarray, action_masks: np.ndarray, *, use_cache: bool = True
) -> np.ndarray:
    """Solver scores for a batch of observations of the player to move.

    Args:
        observations: ``(B, 6, 7, 2)`` PettingZoo planes.
        action_masks: ``(B, 7)`` legal columns (bool or 0/1).
        use_cache: Use the LRU cache of :func:`move_scores`.

    Returns:
        ``(B, 7)`` float64 scores; ``-inf`` where the mask or the board forbids
        the column. Rows whose mask is empty (not this player's turn) are all
        ``-inf``; rows whose game is already won score every legal column 0.

    Raises:
        ValueError: If shapes disagree or an observation is not a position
            (see :func:`positions_from_observations`).
    """
    current, mask = positions_from_observations(observations)
    legal = _as_masks(action_masks, len(current))
    scores = np.full(legal.shape, -np.inf)
    over = rules.batch_has_four(current) | rules.batch_has_four(current ^ mask)
    solve = _solve_cached if use_cache else _solve
    for i in np.flatnonzero(legal.any(axis=1)):
        if over[i]:
            scores[i] = 0.0
        else:
            scores[i] = solve(int(current[i]), int(mask[i]))
    scores[~legal] = -np.inf
    return scores


def optimal_move_mask(scores: np.ndarray) -> np.ndarray:
    """Moves that reach the best score of each row (``(B, 7)`` bool)."""
    scores = np.asarray(scores, dtype=np.float64)
    best = scores.max(axis=-1, keepdims=True)
    return (scores == best) & np.isfinite(scores)


def _as_masks(action_masks: np.ndarray, batch: int) -> np.ndarray:
    masks = np.asarray(action_masks)
    if masks.shape != (batch, rules.COLUMNS):
        raise ValueError(
            f"action_masks must have shape ({batch}, 7) to match the observations, "
            f"got {masks.shape}"
        )
    return masks.astype(bool)


class Connect4Expert:
    """Perfect Connect Four play as a batched policy.

    ``expert(observations (B, 6, 7, 2), action_masks (B, 7)) -> (B, 7)``
    probabilities over the optimal moves of each position (those with the
    highest :func:`move_scores` score).

    Args:
        mode: ``"uniform"``: equal probability on every optimal move (the
            expert's equilibrium strategy). ``"deterministic"``: probability 1
            on one optimal move, the one closest to the centre column, the
            left one first on a tie (``3, 2, 4, 1, 5, 0, 6``).
        use_cache: Use the shared LRU cache of solver scores.

    Raises:
        ValueError: If ``mode`` is unknown.

    Example:
        >>> import numpy as np
        >>> from mail_envs.connect4 import rules
        >>> first, second, _ = rules.play_moves("3344")
        >>> obs = rules.planes_from_bitboards(np.array([first]), np.array([second]))
        >>> Connect4Expert()(obs, np.ones((1, 7), bool)).round(3)
        array([[0. , 0. , 0.5, 0. , 0. , 0.5, 0. ]])
    """

    def __init__(
        self,
        mode: Literal["uniform", "deterministic"] = "uniform",
        *,
        use_cache: bool = True,
    ) -> None:
        if mode not in ("uniform", "deterministic"):
            raise ValueError(f"mode must be 'uniform' or 'deterministic', got {mode!r}")
        self.mode = mode
        self.use_cache = use_cache

    def __repr__(self) -> str:
        return f"Connect4Expert(mode={self.mode!r})"

    def scores(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        """:func:`batch_move_scores` with this expert's cache setting."""
        return batch_move_scores(observations, action_masks, use_cache=self.use_cache)

    def __call__(
        self, observations: np.ndarray, action_masks: np.ndarray
    ) -> np.ndarray:
        """Probabilities ``(B, 7)`` over the optimal moves (rows with an empty
        mask, where the observer is not to move, are all zero)."""
        best = optimal_move_mask(self.scores(observations, action_masks))
        if self.mode == "deterministic":
            ranked = np.where(best, _CENTER_RANK, rules.COLUMNS)
            chosen = np.zeros_like(best)
            chosen[np.arange(len(best)), np.argmin(ranked, axis=1)] = True
            best = chosen & best.any(axis=1, keepdims=True)
        counts = best.sum(axis=1, keepdims=True)
        return np.divide(best, counts, out=np.zeros(best.shape), where=counts > 0)
