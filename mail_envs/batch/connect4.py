"""Connect Four batch engine on bitboards: three ``int64`` per game.

Each game is the mover's stones, all stones (``mask``) and the seat to move,
in the ``7 x (6 + 1)`` bitboard layout of :mod:`mail_envs.connect4.rules`
(49 bits, so ``int64`` holds them on numpy and on torch alike). A move is the
column-height trick (``(mask + bottom) & column`` is the landing cell, ``0``
for a full column), four in a row is four shift-and tests, and the legal
columns are read from the top row with one multiplication into a 7-bit code
(``code -> mask`` and ``(code, uniform) -> random legal column`` are lookup
tables; the code is computed once per state and shared by
:meth:`~Connect4Batch.action_mask` and :meth:`~Connect4Batch.random_actions`).
Observations are built on demand: the same multiplication gathers each board
row into 7 bits (on numpy, into the top bits, so one unsigned shift extracts
it), and a row's own and opponent codes index a ``(16384, 7, 2)`` plane
table. The games are ``mail/connect4-v0``'s (and PettingZoo
``connect_four_v3``'s), game by game; the API is
:class:`~mail_envs.batch.core.BatchGame`'s.

Memory: 25 bytes a game of state (three ``int64`` and a ``bool``) and 8 of
cached legal codes, 2.2 MB for 65,536 games; an observation call peaks at
about 150 bytes a game while it runs (its 84-byte planes and the row keys),
a step at about 70 (its outputs and the next state); the lookup tables take
about 1 MB, once per process.

Example:
    >>> import numpy as np
    >>> games = Connect4Batch(1, autoreset=False)
    >>> for col in (3, 4, 3, 4, 3, 4):
    ...     _ = games.step(np.array([col]))
    >>> out = games.step(np.array([3]))
    >>> out.rewards.tolist(), out.terminated.tolist()
    ([[1.0, -1.0]], [True])

### Version History

* v0: initial release.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from mail_envs.batch._backend import get_backend
from mail_envs.batch.core import CONTINUE, DRAW, ILLEGAL, WIN, BatchGame
from mail_envs.connect4 import rules

__all__ = ["Connect4Batch", "connect4_tables", "legal_code"]

#: Bit ``7 * c`` of every column ``c`` (the top row shifted down, for instance).
_TOP_SPREAD = sum(1 << (rules.HEIGHT * c) for c in range(rules.COLUMNS))
#: Multiplying ``_TOP_SPREAD``-shaped bits by this moves column ``c``'s bit to
#: bit ``42 + c`` (``7c + 6(7 - c) = 42 + c``); all partial products land on
#: distinct bits, so there are no carries.
_GATHER = sum(1 << (6 * j) for j in range(1, rules.COLUMNS + 1))
_FULL = (1 << rules.COLUMNS) - 1
#: Where :func:`_row_keys` gathers a row: column ``c`` at bit ``47 + c``.
_ROW_BIT = 6 * rules.COLUMNS + rules.ROWS - 1
_DIRECTIONS = (1, rules.HEIGHT, rules.HEIGHT - 1, rules.HEIGHT + 1)
#: ``_GATHER << (r + _TOP_ALIGN)`` gathers row ``r`` into the top 7 bits
#: (``57 + c``); the other partial products stay below bit 57 or wrap away.
_TOP_ALIGN = 64 - rules.COLUMNS - _ROW_BIT
#: lcm(1, ..., 7): every number of legal columns divides it.
_DRAWS = 420


def legal_code(mask: Any) -> Any:
    """7-bit codes of the legal (not full) columns of ``int64`` masks (bit ``c`` = column ``c``).

    Example:
        >>> full_first = np.array([0b111111], dtype=np.int64)  # column 0 full
        >>> int(legal_code(full_first)[0]) == 0b1111110
        True
    """
    top = (mask >> (rules.ROWS - 1)) & _TOP_SPREAD
    # int64 products wrap silently on arrays (numpy and torch); bits 42..48
    # are exact because the partial products never overlap.
    full = ((top * _GATHER) >> (6 * rules.COLUMNS)) & _FULL
    return full ^ _FULL


@lru_cache(maxsize=1)
def connect4_tables() -> dict[str, np.ndarray]:
    """numpy lookup tables of the engine (cached).

    Returns:
        ``bottom``/``top``/``column`` ``(7,)`` bitboards per column,
        ``legal_mask`` ``(128, 7)`` bool and ``num_legal`` ``(128,)`` per
        legal code, ``nth_legal`` ``(128 * 7,)`` the ``k``-th legal column at
        ``7 * code + k``, ``random_column`` ``(128 * 421,)`` the legal column
        ``nth_legal[code, floor(u * n)]`` of a uniform ``u`` at ``421 * code +
        floor(420 * u)`` (``n`` legal columns), ``row_planes`` ``(16384, 7)``
        int16: the ``(7, 2)`` int8 planes of a board row from its code ``own |
        opponent << 7``, and ``row_masks``/``row_gathers``/``row_gathers_top``
        ``(6, 1)``: the cells of each row (top first) and the multipliers that
        gather them to bit 47 (:func:`_row_keys`) or to bit 57
        (:func:`_row_keys_numpy`).
    """
    codes = np.arange(1 << rules.COLUMNS)
    legal = ((codes[:, None] >> np.arange(rules.COLUMNS)) & 1).astype(bool)
    order = np.argsort(~legal, axis=1, kind="stable")
    # A row of the board (7 cells) as two 7-bit codes, own | opponent << 7,
    # and its (7, 2) int8 planes packed as 7 int16 (little-endian pairs).
    keys = np.arange(1 << (2 * rules.COLUMNS))[:, None]
    cols = np.arange(rules.COLUMNS)
    row_planes = np.stack(
        [(keys >> cols) & 1, (keys >> (cols + rules.COLUMNS)) & 1], axis=-1
    ).astype("<i1")
    # k-th legal column for a uniform u with k = floor(u * n): since n divides
    # _DRAWS (= lcm(1..7)), floor(u * n) = floor(floor(u * _DRAWS) * n / _DRAWS)
    # in exact arithmetic, so one lookup at (code, floor(u * _DRAWS)) picks it
    # (float rounding may differ only for u on a slot edge; the last entry
    # repeats, for a product that rounds up to _DRAWS).
    slots = np.minimum(np.arange(_DRAWS + 1), _DRAWS - 1)
    kth = (slots[None, :] * legal.sum(axis=1)[:, None]) // _DRAWS
    random_column = np.take_along_axis(order, kth, axis=1)
    return {
        "bottom": np.array(rules.BOTTOM, dtype=np.int64),
        "top": np.array(rules.TOP, dtype=np.int64),
        "column": np.array(
            [rules.column_mask(c) for c in range(rules.COLUMNS)], dtype=np.int64
        ),
        "legal_mask": legal,
        "num_legal": legal.sum(axis=1),
        "nth_legal": order.reshape(-1),
        "random_column": random_column.reshape(-1),
        "row_planes": np.ascontiguousarray(row_planes).view("<i2")[..., 0],
        "row_masks": np.array(
            [[_TOP_SPREAD << (rules.ROWS - 1 - r)] for r in range(rules.ROWS)],
            dtype=np.int64,
        ),
        "row_gathers": np.array(
            [[_GATHER << r] for r in range(rules.ROWS)], dtype=np.int64
        ),
        "row_gathers_top": np.array(
            [[_GATHER << (r + _TOP_ALIGN)] for r in range(rules.ROWS)],
            dtype=np.int64,
        ),
    }


def _has_four(stones: Any) -> Any:
    """Four in a row in any direction, ``(B,)`` bool (shift-and tests)."""
    found = None
    for shift in _DIRECTIONS:
        pairs = stones & (stones >> shift)
        fours = pairs & (pairs >> (2 * shift))
        found = fours if found is None else found | fours
    return found != 0


def _row_keys(own: Any, opp: Any, row_masks: Any, row_gathers: Any) -> Any:
    """``(6, B)`` codes ``own | opp << 7`` of every board row (top first).

    Row ``r`` of a column is bit ``7c + 5 - r``; masking it and multiplying by
    ``_GATHER << r`` moves column ``c``'s bit to bit ``47 + c`` with no
    carries. Rows are the leading axis so every operation runs over the batch.
    """
    keys = ((own & row_masks) * row_gathers) >> _ROW_BIT  # wraps, as above
    keys &= _FULL
    high = ((opp & row_masks) * row_gathers) >> (_ROW_BIT - rules.COLUMNS)
    high &= _FULL << rules.COLUMNS
    keys |= high
    return keys


def _row_keys_numpy(
    own: np.ndarray, opp: np.ndarray, row_masks: np.ndarray, top_gathers: np.ndarray
) -> np.ndarray:
    """:func:`_row_keys` on numpy, ``(B, 6)``: 8 passes over ``(6, B)`` arrays.

    The gather lands a row in the top 7 bits, so an unsigned shift by 57
    alone extracts the own code; the opponent's goes to bits 7-13 with one
    mask. The last pass writes the keys batch-major.
    """
    top = 64 - rules.COLUMNS
    low = ((own & row_masks) * top_gathers).view(np.uint64)  # wraps
    low >>= np.uint64(top)
    high = ((opp & row_masks) * top_gathers).view(np.uint64)
    high >>= np.uint64(top - rules.COLUMNS)
    high &= np.uint64(_FULL << rules.COLUMNS)
    keys = np.empty((own.shape[0], rules.ROWS), dtype=np.uint64)
    np.bitwise_or(low, high, out=keys.T)
    return keys.view(np.int64)  # below 2**14: take needs no cast


class Connect4Batch(BatchGame):
    """``num_games`` games of Connect Four stepped at once.

    Args:
        num_games: Number of games ``B``.
        device: ``None``/``"numpy"`` (numpy arrays) or a torch device.
        autoreset: Restart finished games in the step that ends them.

    Raises:
        ValueError: If ``num_games`` is not a positive integer.
    """

    num_actions: ClassVar[int] = rules.COLUMNS
    observation_shape: ClassVar[tuple[int, ...]] = (rules.ROWS, rules.COLUMNS, 2)
    agents: ClassVar[tuple[str, str]] = ("player_0", "player_1")

    def __init__(
        self, num_games: int, *, device: Any = None, autoreset: bool = True
    ) -> None:
        backend = get_backend(device)
        self._t = {name: backend.table(a) for name, a in connect4_tables().items()}
        #: ``(B,)`` ``int64`` stones of the player to move.
        self.current: Any = None
        #: ``(B,)`` ``int64`` all stones.
        self.mask: Any = None
        #: ``(B,)`` ``int64`` seat to move.
        self.player: Any = None
        self._code_of: tuple[Any, Any] | None = None
        super().__init__(num_games, device=backend, autoreset=autoreset)

    def _state(self) -> tuple[Any, ...]:
        return (self.current, self.mask, self.player)

    def _set_state(self, state: tuple[Any, ...]) -> None:
        self.current, self.mask, self.player = state

    def _initial(self) -> tuple[int, ...]:
        return (0, 0, 0)

    def _move(self, actions: Any) -> tuple[Any, tuple[Any, ...]]:
        take, t = self.backend.take, self._t
        mask = self.mask
        cell = (mask + take(t["bottom"], actions)) & take(t["column"], actions)
        # A full column has no landing cell (the carry leaves the column), so
        # an illegal move is cell == 0 and adds no stone.
        mine = self.current | cell
        won = _has_four(mine)
        new_mask = mask | cell
        full = new_mask == rules.ALL_CELLS
        where = self.backend.where
        outcome = where(
            won, WIN, where(full, DRAW, where(cell == 0, ILLEGAL, CONTINUE))
        )
        return 2 * outcome + self.player, (mine ^ new_mask, new_mask, 1 - self.player)

    @property
    def current_player(self) -> Any:
        """``(B,)`` ``int64`` seat to move (0 = ``player_0``, the first mover)."""
        return self.player

    def _legal_code(self) -> Any:
        """:func:`legal_code` of the current masks, computed once per state.

        The state arrays are replaced, never written in place, so the mask
        array held with its code identifies the state (and stays alive).
        """
        held = self._code_of
        if held is not None and held[0] is self.mask:
            return held[1]
        code = legal_code(self.mask)
        self._code_of = (self.mask, code)
        return code

    def _mover_mask(self) -> Any:
        return self.backend.take(self._t["legal_mask"], self._legal_code())

    def stones(self) -> tuple[Any, Any]:
        """Bitboards ``(B,)`` of seat 0's and seat 1's stones."""
        other = self.mask ^ self.current
        first = self.backend.where(self.player == 0, self.current, other)
        return first, first ^ self.mask

    def observation(self, player: int | None = None) -> Any:
        """``(B, 6, 7, 2)`` ``int8`` planes: own stones in plane 0; row 0 is the top.

        Args:
            player: Seat 0 or 1 of the observer; None for the player to move.

        Returns:
            The planes of ``mail/connect4-v0``'s ``observe`` for that agent.
        """
        if player is None:
            own = self.current
        else:
            seat = self._check_player(player)
            own = self.stones()[seat]
        opp = own ^ self.mask
        t = self._t
        if not self.backend.is_torch:
            keys = _row_keys_numpy(own, opp, t["row_masks"], t["row_gathers_top"])
            planes = t["row_planes"].take(keys, axis=0)  # (B, 6, 7) int16
            return planes.view(np.int8).reshape(-1, *self.observation_shape)
        keys = _row_keys(own, opp, t["row_masks"], t["row_gathers"]).T
        planes = self.backend.take(t["row_planes"], keys)
        return planes.view(self.backend.torch.int8).reshape(-1, *self.observation_shape)

    def random_actions(self, uniforms: Any) -> Any:
        """A uniformly random legal column per game from ``(B,)`` uniforms in ``[0, 1)``.

        Column ``k`` of the ``n`` legal ones (in column order) with
        ``k = floor(u * n)``; full boards (no legal column) get column 0.
        """
        slot = self.backend.to_int64(uniforms * _DRAWS)
        index = self._legal_code() * (_DRAWS + 1) + slot
        return self.backend.take(self._t["random_column"], index)
