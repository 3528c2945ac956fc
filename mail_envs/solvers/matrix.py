"""Exact solution of two-player zero-sum matrix games, one or a batch at a time.

The row player maximizes ``x^T A y`` and the column player minimizes it. Illegal
rows and columns (masks) are removed from the game: they get probability 0 and
are ignored when checking optimality.

A batch is solved in three vectorized steps:

1. **Pure saddle points.** ``max_i min_j A_ij == min_j max_i A_ij`` is checked for
   every game at once; where it holds, the maximin row and the minimax column are
   an equilibrium and the value is that entry of ``A``, exactly.
2. **Square-submatrix enumeration** for the remaining small games (Shapley & Snow,
   "Basic solutions of discrete games", 1950): every extreme optimal strategy of
   a matrix game is the equalizing strategy of a square nonsingular submatrix
   ``M``, i.e. the solution of the bordered system ``[[M, -1], [1^T, 0]] (y, v) =
   (0, 1)`` (and of its transpose for ``x``). All submatrices of all games are
   solved in one batched ``numpy.linalg.solve``; the candidate with the best
   guarantee is kept. This is exact up to floating point and much faster than
   one LP per game.
3. **Linear programming** (``scipy.optimize.linprog`` with HiGHS) for the games
   too large to enumerate, or where enumeration failed numerically.

Every returned pair carries a certificate: ``min_j (x^T A)_j`` (what ``x``
guarantees) and ``max_i (A y)_i`` (what ``y`` concedes) agree with the value to
floating-point accuracy.

### Version History

* v0: initial release.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

__all__ = [
    "MatrixGameSolution",
    "MatrixGameSolutions",
    "solve_matrix_game",
    "solve_matrix_games",
]

#: Largest number of square submatrices per game (``C(m + k, m) - 1``) for which
#: enumeration is used instead of an LP (5x5 games have 251, 4x4 games 69).
_MAX_SUBMATRICES = 300
#: Upper bound on ``games x submatrices`` solved in one batched call (memory).
_CHUNK = 20_000
#: Relative tolerance for the optimality certificate of an enumerated solution.
_CERT_RTOL = 1e-11


@dataclass(frozen=True)
class MatrixGameSolution:
    """Value and equilibrium strategies of one zero-sum matrix game.

    Attributes:
        value: Game value ``max_x min_y x^T A y`` (row player's payoff).
        row_strategy: ``(m,)`` optimal mixed strategy of the maximizing row player.
        col_strategy: ``(k,)`` optimal mixed strategy of the minimizing column player.
    """

    value: float
    row_strategy: np.ndarray
    col_strategy: np.ndarray


@dataclass(frozen=True)
class MatrixGameSolutions:
    """Values and equilibrium strategies of a batch of zero-sum matrix games.

    Unpacks as ``values, row_strategies, col_strategies``.

    Attributes:
        values: ``(B,)`` game values.
        row_strategies: ``(B, m)`` optimal strategies of the row (max) player.
        col_strategies: ``(B, k)`` optimal strategies of the column (min) player.
        num_pure: How many games had a pure saddle point.
        num_lp: How many games needed a linear program.
    """

    values: np.ndarray
    row_strategies: np.ndarray
    col_strategies: np.ndarray
    num_pure: int = 0
    num_lp: int = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield ``values``, ``row_strategies`` and ``col_strategies``."""
        return iter((self.values, self.row_strategies, self.col_strategies))


def solve_matrix_game(
    payoff: np.ndarray,
    row_mask: np.ndarray | None = None,
    col_mask: np.ndarray | None = None,
) -> MatrixGameSolution:
    """Solve one two-player zero-sum matrix game exactly.

    Args:
        payoff: ``(m, k)`` payoffs to the row player, who maximizes.
        row_mask: Optional ``(m,)`` boolean mask of the legal rows.
        col_mask: Optional ``(k,)`` boolean mask of the legal columns.

    Returns:
        The value and an optimal strategy for each player (zero on illegal
        actions).

    Raises:
        ValueError: If ``payoff`` is not a finite 2-D array or a mask has the
            wrong shape or no legal entry.

    Example:
        Matching pennies (von Neumann & Morgenstern 1944) has value 0:

        >>> sol = solve_matrix_game(np.array([[1.0, -1.0], [-1.0, 1.0]]))
        >>> float(sol.value), sol.row_strategy.tolist()
        (0.0, [0.5, 0.5])
    """
    a = np.asarray(payoff, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"payoff must be a 2-D (m, k) array, got shape {a.shape}")
    masks = []
    for name, mask, size in (
        ("row_mask", row_mask, a.shape[0]),
        ("col_mask", col_mask, a.shape[1]),
    ):
        if mask is not None and np.shape(mask) != (size,):
            raise ValueError(f"{name} must have shape ({size},), got {np.shape(mask)}")
        masks.append(None if mask is None else np.asarray(mask)[None])
    rm, cm = masks
    batch = solve_matrix_games(a[None], rm, cm)
    return MatrixGameSolution(
        value=float(batch.values[0]),
        row_strategy=batch.row_strategies[0],
        col_strategy=batch.col_strategies[0],
    )


def solve_matrix_games(
    payoffs: np.ndarray,
    row_masks: np.ndarray | None = None,
    col_masks: np.ndarray | None = None,
) -> MatrixGameSolutions:
    """Solve a batch of two-player zero-sum matrix games exactly.

    Pure saddle points are found for the whole batch in one vectorized pass;
    the other games are solved by batched square-submatrix enumeration (small
    games) or by one HiGHS linear program each (large games).

    Args:
        payoffs: ``(B, m, k)`` payoffs to the row player, who maximizes.
        row_masks: Optional ``(B, m)`` boolean masks of the legal rows.
        col_masks: Optional ``(B, k)`` boolean masks of the legal columns.

    Returns:
        A :class:`MatrixGameSolutions` with ``values (B,)``, ``row_strategies
        (B, m)`` and ``col_strategies (B, k)``; it unpacks as that triple.

    Raises:
        ValueError: If the payoffs are not a ``(B, m, k)`` array with finite legal
            entries, or a mask has the wrong shape or a game without a legal row
            or column.

    Example:
        >>> values, x, y = solve_matrix_games(np.array([[[3.0, 1.0], [4.0, 2.0]]]))
        >>> values.tolist(), x.tolist(), y.tolist()
        ([2.0], [[0.0, 1.0]], [[0.0, 1.0]])
    """
    a = np.asarray(payoffs, dtype=np.float64)
    if a.ndim != 3 or 0 in a.shape[1:]:
        raise ValueError(
            f"payoffs must be a (B, m, k) array with m, k >= 1, got {a.shape}"
        )
    batch, m, k = a.shape
    rmask = _check_mask("row_masks", row_masks, (batch, m))
    cmask = _check_mask("col_masks", col_masks, (batch, k))
    legal = rmask[:, :, None] & cmask[:, None, :]
    if not np.all(np.isfinite(a[legal])):
        b, i, j = np.argwhere(legal & ~np.isfinite(a))[0]
        raise ValueError(f"payoffs[{b}, {i}, {j}] = {a[b, i, j]} is not finite")
    a = np.where(legal, a, 0.0)

    values = np.empty(batch)
    x = np.zeros((batch, m))
    y = np.zeros((batch, k))
    if batch == 0:
        return MatrixGameSolutions(values, x, y)

    # 1. Pure saddle points, all games at once.
    row_mins = np.where(
        rmask, np.where(cmask[:, None, :], a, np.inf).min(axis=2), -np.inf
    )
    col_maxs = np.where(
        cmask, np.where(rmask[:, :, None], a, -np.inf).max(axis=1), np.inf
    )
    best_row = row_mins.argmax(axis=1)
    best_col = col_maxs.argmin(axis=1)
    maximin = row_mins[np.arange(batch), best_row]
    minimax = col_maxs[np.arange(batch), best_col]
    pure = maximin == minimax
    idx = np.flatnonzero(pure)
    values[idx] = maximin[idx]
    x[idx, best_row[idx]] = 1.0
    y[idx, best_col[idx]] = 1.0

    # 2. Submatrix enumeration for the small mixed games.
    mixed = np.flatnonzero(~pure)
    todo = mixed
    if mixed.size and math.comb(m + k, m) - 1 <= _MAX_SUBMATRICES:
        ok = _enumerate(a, rmask, cmask, mixed, values, x, y)
        todo = mixed[~ok]

    # 3. Linear programs for whatever is left.
    for b in todo:
        values[b], x[b], y[b] = _solve_lp(a[b], rmask[b], cmask[b])
    return MatrixGameSolutions(
        values, x, y, num_pure=int(idx.size), num_lp=int(todo.size)
    )


def _check_mask(
    name: str, mask: np.ndarray | None, shape: tuple[int, int]
) -> np.ndarray:
    if mask is None:
        return np.ones(shape, dtype=bool)
    arr = np.asarray(mask)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if arr.dtype != np.bool_:
        if not np.all((arr == 0) | (arr == 1)):
            raise ValueError(f"{name} must be boolean, got values {np.unique(arr)[:5]}")
        arr = arr.astype(bool)
    empty = np.flatnonzero(~arr.any(axis=1))
    if empty.size:
        raise ValueError(f"{name}[{empty[0]}] has no legal action")
    return arr


def _lower(a: np.ndarray, cmask: np.ndarray, x: np.ndarray) -> np.ndarray:
    """What ``x`` guarantees the row player: ``min_j (x^T A)_j`` over legal columns.

    ``a``, the mask and the strategy share their leading batch dimensions.
    """
    return np.where(cmask, np.einsum("...i,...ij->...j", x, a), np.inf).min(axis=-1)


def _upper(a: np.ndarray, rmask: np.ndarray, y: np.ndarray) -> np.ndarray:
    """What ``y`` concedes at most: ``max_i (A y)_i`` over legal rows."""
    return np.where(rmask, np.einsum("...ij,...j->...i", a, y), -np.inf).max(axis=-1)


def _enumerate(
    a: np.ndarray,
    rmask: np.ndarray,
    cmask: np.ndarray,
    games: np.ndarray,
    values: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
) -> np.ndarray:
    """Solve ``games`` by square-submatrix enumeration; fill the outputs in place.

    Returns:
        Boolean array over ``games``: True where a certified solution was found.
    """
    _, m, k = a.shape
    ok = np.zeros(games.size, dtype=bool)
    subsets = []
    for t in range(1, min(m, k) + 1):
        rows = np.array(list(itertools.combinations(range(m), t)), dtype=np.int64)
        cols = np.array(list(itertools.combinations(range(k), t)), dtype=np.int64)
        subsets.append(
            (t, np.repeat(rows, len(cols), axis=0), np.tile(cols, (len(rows), 1)))
        )
    per_game = sum(len(r) for _, r, _ in subsets)
    step = max(1, _CHUNK // per_game)
    for start in range(0, games.size, step):
        chunk = games[start : start + step]
        best_x = np.zeros((chunk.size, m))
        best_y = np.zeros((chunk.size, k))
        best_lo = np.full(chunk.size, -np.inf)
        best_hi = np.full(chunk.size, np.inf)
        ac, rc, cc = a[chunk], rmask[chunk], cmask[chunk]
        # Equalizing strategies do not change under A -> (A - c) / d, d > 0: solve
        # the bordered systems on payoffs rescaled to [0, 1] so that the
        # singularity threshold does not depend on the payoffs' magnitude.
        legal = rc[:, :, None] & cc[:, None, :]
        low = np.where(legal, ac, np.inf).min(axis=(1, 2))[:, None, None]
        spread = np.where(legal, ac, -np.inf).max(axis=(1, 2))[:, None, None] - low
        unit = (ac - low) / np.where(spread > 0, spread, 1.0)
        for t, rows, cols in subsets:
            xs, ys, valid = _bordered_solutions(unit, rc, cc, t, rows, cols)
            lo = np.where(valid, _lower(ac[:, None], cc[:, None], xs), -np.inf)
            hi = np.where(valid, _upper(ac[:, None], rc[:, None], ys), np.inf)
            ix, iy = lo.argmax(axis=1), hi.argmin(axis=1)
            g = np.arange(chunk.size)
            better_x = lo[g, ix] > best_lo
            better_y = hi[g, iy] < best_hi
            best_lo = np.where(better_x, lo[g, ix], best_lo)
            best_hi = np.where(better_y, hi[g, iy], best_hi)
            best_x[better_x] = xs[g, ix][better_x]
            best_y[better_y] = ys[g, iy][better_y]
        scale = 1.0 + np.abs(np.where(rc[:, :, None] & cc[:, None, :], ac, 0.0)).max(
            axis=(1, 2)
        )
        good = np.isfinite(best_lo) & np.isfinite(best_hi)
        good &= best_hi - best_lo <= _CERT_RTOL * scale
        sel = chunk[good]
        values[sel] = 0.5 * (best_lo[good] + best_hi[good])
        x[sel] = best_x[good]
        y[sel] = best_y[good]
        ok[start : start + step] = good
    return ok


def _bordered_solutions(
    a: np.ndarray,
    rmask: np.ndarray,
    cmask: np.ndarray,
    t: int,
    rows: np.ndarray,
    cols: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equalizing strategies of every ``t x t`` submatrix of every game.

    Args:
        a: ``(G, m, k)`` payoffs.
        rmask: ``(G, m)`` legal rows.
        cmask: ``(G, k)`` legal columns.
        t: Submatrix size.
        rows: ``(N, t)`` row subsets.
        cols: ``(N, t)`` column subsets (paired with ``rows``).

    Returns:
        ``xs (G, N, m)``, ``ys (G, N, k)`` full-length candidate strategies and
        ``valid (G, N)``: the submatrix is legal, its bordered system is
        nonsingular and both candidates are probability vectors.
    """
    num_games, m, k = a.shape
    n_sub = rows.shape[0]
    sub = a[:, rows[:, :, None], cols[:, None, :]]  # (G, N, t, t)
    border = np.zeros((num_games, n_sub, t + 1, t + 1))
    border[..., :t, t] = -1.0
    border[..., t, :t] = 1.0
    rhs = np.zeros(t + 1)
    rhs[t] = 1.0

    valid = rmask[:, rows].all(axis=2) & cmask[:, cols].all(axis=2)
    xs = np.zeros((num_games, n_sub, m))
    ys = np.zeros((num_games, n_sub, k))
    for transpose, out, subset in ((False, ys, cols), (True, xs, rows)):
        border[..., :t, :t] = np.swapaxes(sub, -1, -2) if transpose else sub
        # Skip (near-)singular bordered systems so that the batched solve
        # cannot fail (payoffs are scaled to [0, 1], so 1e-10 is a fixed bar).
        valid &= np.abs(np.linalg.det(border)) > 1e-10
        sol = np.zeros((num_games, n_sub, t + 1))
        if valid.any():
            sol[valid] = np.linalg.solve(
                border[valid],
                np.broadcast_to(rhs, (int(valid.sum()), t + 1))[..., None],
            )[..., 0]
        probs = sol[..., :t]
        valid &= probs.min(axis=-1, initial=0.0) >= -1e-12
        probs = np.clip(probs, 0.0, None)
        total = probs.sum(axis=-1, keepdims=True)
        valid &= total[..., 0] > 0.5
        probs = probs / np.where(total > 0, total, 1.0)
        out[np.arange(num_games)[:, None, None], np.arange(n_sub)[:, None], subset] = (
            probs
        )
    return xs, ys, np.asarray(valid, dtype=bool)


def _solve_lp(
    a: np.ndarray, rmask: np.ndarray, cmask: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Solve one game by linear programming (HiGHS dual simplex).

    The row player's LP is ``max v`` s.t. ``(x^T A)_j >= v`` for every legal
    column ``j``, ``sum(x) = 1``, ``x >= 0``; the column strategy is read from
    its duals (and re-solved from the column player's LP if the duals are not
    accurate enough).
    """
    rows, cols = np.flatnonzero(rmask), np.flatnonzero(cmask)
    sub = a[np.ix_(rows, cols)]
    x = np.zeros(a.shape[0])
    y = np.zeros(a.shape[1])
    x[rows], y[cols] = _lp_strategy(sub)
    lo, hi = _lower(a, cmask, x), _upper(a, rmask, y)
    if hi - lo > _CERT_RTOL * (1.0 + np.abs(sub).max()):
        # Inaccurate duals: solve the column player's own LP instead.
        y[cols], _ = _lp_strategy(-sub.T)
        hi = _upper(a, rmask, y)
    return 0.5 * (float(lo) + float(hi)), x, y


_HIGHS_OPTIONS = {
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
}


def _lp_strategy(sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row player's optimal strategy of ``sub`` and the column strategy from the duals."""
    m, k = sub.shape
    c = np.zeros(m + 1)
    c[m] = -1.0  # maximize v
    a_ub = np.hstack([-sub.T, np.ones((k, 1))])  # v - (x^T A)_j <= 0
    a_eq = np.zeros((1, m + 1))
    a_eq[0, :m] = 1.0
    bounds = [(0.0, None)] * m + [(None, None)]
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=np.zeros(k),
        A_eq=a_eq,
        b_eq=np.ones(1),
        bounds=bounds,
        method="highs-ds",
        options=_HIGHS_OPTIONS,
    )
    if res.status != 0:  # pragma: no cover - a matrix game LP is always feasible
        raise RuntimeError(f"linprog failed on a matrix game: {res.message}")
    xs = np.clip(res.x[:m], 0.0, None)
    ys = np.clip(-res.ineqlin.marginals, 0.0, None)
    return xs / xs.sum(), ys / max(ys.sum(), 1e-300)
