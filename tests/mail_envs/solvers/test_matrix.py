"""Tests of the zero-sum matrix-game solvers against known values and a separate LP."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from mail_envs.solvers.matrix import (
    MatrixGameSolution,
    solve_matrix_game,
    solve_matrix_games,
)


def column_player_lp(
    payoff: np.ndarray, row_mask: np.ndarray, col_mask: np.ndarray
) -> float:
    """The value from the column player's LP: ``min u`` s.t. ``A y <= u``, ``y`` a
    distribution on the legal columns (written here, independently of the solver)."""
    sub = payoff[np.ix_(row_mask, col_mask)]
    m, k = sub.shape
    c = np.r_[np.zeros(k), 1.0]
    res = linprog(
        c,
        A_ub=np.hstack([sub, -np.ones((m, 1))]),
        b_ub=np.zeros(m),
        A_eq=np.r_[np.ones(k), 0.0][None],
        b_eq=[1.0],
        bounds=[(0, None)] * k + [(None, None)],
        method="highs",
    )
    assert res.status == 0
    return float(res.x[-1])


def assert_certified(
    payoff: np.ndarray,
    value: float,
    x: np.ndarray,
    y: np.ndarray,
    row_mask: np.ndarray | None = None,
    col_mask: np.ndarray | None = None,
    atol: float = 1e-8,
) -> None:
    """``x`` guarantees ``value``, ``y`` concedes at most ``value``, legal supports."""
    m, k = payoff.shape
    rm = np.ones(m, bool) if row_mask is None else row_mask
    cm = np.ones(k, bool) if col_mask is None else col_mask
    assert np.all(x >= 0) and np.all(y >= 0)
    assert x.sum() == pytest.approx(1.0, abs=1e-12)
    assert y.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(x[~rm] == 0) and np.all(y[~cm] == 0)
    assert (x @ payoff)[cm].min() >= value - atol
    assert (payoff @ y)[rm].max() <= value + atol


def test_matching_pennies() -> None:
    # von Neumann & Morgenstern (1944): value 0, both players mix (1/2, 1/2).
    sol = solve_matrix_game(np.array([[1.0, -1.0], [-1.0, 1.0]]))
    assert isinstance(sol, MatrixGameSolution)
    assert sol.value == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(sol.row_strategy, [0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(sol.col_strategy, [0.5, 0.5], atol=1e-15)


def test_rock_paper_scissors() -> None:
    # Symmetric game, value 0; the unique equilibrium is uniform.
    a = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
    sol = solve_matrix_game(a)
    assert sol.value == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(sol.row_strategy, np.full(3, 1 / 3), atol=1e-14)
    np.testing.assert_allclose(sol.col_strategy, np.full(3, 1 / 3), atol=1e-14)


def test_two_by_two_closed_form() -> None:
    # Ferguson, "Game Theory", Part II, Sec. 3.2: for [[a, b], [c, d]] without a
    # saddle point, v = (ad - bc) / (a - b - c + d), p = (d - c) / (a - b - c + d).
    a = np.array([[2.0, -1.0], [-1.0, 1.0]])
    sol = solve_matrix_game(a)
    assert sol.value == pytest.approx(1 / 5, abs=1e-15)
    np.testing.assert_allclose(sol.row_strategy, [2 / 5, 3 / 5], atol=1e-15)
    np.testing.assert_allclose(sol.col_strategy, [2 / 5, 3 / 5], atol=1e-15)


def test_pure_saddle_point_is_exact() -> None:
    # Row mins (1, 2) and column maxima (4, 2): saddle at (1, 1) with value 2.
    values, x, y = solve_matrix_games(np.array([[[3.0, 1.0], [4.0, 2.0]]]))
    assert values[0] == 2.0
    np.testing.assert_array_equal(x[0], [0.0, 1.0])
    np.testing.assert_array_equal(y[0], [0.0, 1.0])


def test_mask_removes_actions() -> None:
    # Rock-paper-scissors where the row player cannot play scissors. By hand:
    # x = (p, 1-p, 0) earns (1-p, -p, 2p-1) against R, P, S; max_p min is at
    # p = 1/3, value -1/3; the column player answers with (0, 2/3, 1/3).
    a = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
    row_mask = np.array([True, True, False])
    sol = solve_matrix_game(a, row_mask=row_mask)
    assert sol.value == pytest.approx(-1 / 3, abs=1e-14)
    np.testing.assert_allclose(sol.row_strategy, [1 / 3, 2 / 3, 0.0], atol=1e-14)
    np.testing.assert_allclose(sol.col_strategy, [0.0, 2 / 3, 1 / 3], atol=1e-14)


def test_masked_entries_may_hold_anything() -> None:
    # An illegal column full of huge payoffs must not change the game.
    a = np.array([[1.0, -1.0, 1e300], [-1.0, 1.0, np.nan]])
    sol = solve_matrix_game(a, col_mask=np.array([True, True, False]))
    assert sol.value == pytest.approx(0.0, abs=1e-15)
    assert sol.col_strategy[2] == 0.0


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 5), (5, 1), (2, 2), (3, 4), (4, 4), (5, 5), (2, 9), (8, 7)]
)
def test_random_games_agree_with_column_lp(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    batch = 40
    payoffs = rng.normal(size=(batch, *shape))
    payoffs[: batch // 2] = np.round(payoffs[: batch // 2])  # degenerate ties
    row_masks = rng.random((batch, shape[0])) < 0.7
    col_masks = rng.random((batch, shape[1])) < 0.7
    row_masks[np.arange(batch), rng.integers(0, shape[0], batch)] = True
    col_masks[np.arange(batch), rng.integers(0, shape[1], batch)] = True
    row_masks[::3] = True  # some unmasked games too
    col_masks[::3] = True
    values, x, y = solve_matrix_games(payoffs, row_masks, col_masks)
    for b in range(batch):
        expected = column_player_lp(payoffs[b], row_masks[b], col_masks[b])
        assert values[b] == pytest.approx(expected, abs=1e-8)
        assert_certified(payoffs[b], values[b], x[b], y[b], row_masks[b], col_masks[b])


def test_large_games_use_lp_and_are_certified() -> None:
    rng = np.random.default_rng(7)
    payoffs = rng.normal(size=(5, 12, 10))
    result = solve_matrix_games(payoffs)
    assert result.num_lp + result.num_pure == 5
    for b in range(5):
        assert result.values[b] == pytest.approx(
            column_player_lp(payoffs[b], np.ones(12, bool), np.ones(10, bool)), abs=1e-8
        )
        assert_certified(
            payoffs[b],
            result.values[b],
            result.row_strategies[b],
            result.col_strategies[b],
            atol=1e-9,
        )


def test_enumeration_certificate_is_tight() -> None:
    # Small mixed games are solved without LPs, to floating-point accuracy.
    rng = np.random.default_rng(3)
    payoffs = rng.normal(size=(500, 4, 4))
    result = solve_matrix_games(payoffs)
    assert result.num_lp == 0
    lower = np.einsum("bi,bij->bj", result.row_strategies, payoffs).min(axis=1)
    upper = np.einsum("bij,bj->bi", payoffs, result.col_strategies).max(axis=1)
    assert np.all(upper - lower <= 1e-13)


@pytest.mark.parametrize("scale", [1e-9, 1e9])
def test_payoff_scale_does_not_matter(scale: float) -> None:
    # Values scale with the payoffs and strategies do not change (affine invariance).
    rng = np.random.default_rng(5)
    payoffs = rng.normal(size=(200, 4, 4))
    base = solve_matrix_games(payoffs)
    scaled = solve_matrix_games(scale * payoffs + 3 * scale)
    assert scaled.num_lp == 0
    np.testing.assert_allclose(
        scaled.values, scale * base.values + 3 * scale, rtol=1e-12
    )
    np.testing.assert_allclose(scaled.row_strategies, base.row_strategies, atol=1e-9)


def test_empty_batch() -> None:
    values, x, y = solve_matrix_games(np.zeros((0, 2, 3)))
    assert values.shape == (0,) and x.shape == (0, 2) and y.shape == (0, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"payoffs": np.zeros((2, 3))}, r"\(B, m, k\)"),
        (
            {"payoffs": np.zeros((1, 2, 2)), "row_masks": np.ones((1, 3), bool)},
            "row_masks",
        ),
        (
            {"payoffs": np.zeros((1, 2, 2)), "col_masks": np.zeros((1, 2), bool)},
            r"col_masks\[0\]",
        ),
        ({"payoffs": np.array([[[np.inf, 0.0]]])}, r"payoffs\[0, 0, 0\]"),
    ],
)
def test_bad_input(kwargs: dict[str, np.ndarray], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        solve_matrix_games(**kwargs)


def test_single_game_bad_input() -> None:
    with pytest.raises(ValueError, match="2-D"):
        solve_matrix_game(np.zeros(3))
    with pytest.raises(ValueError, match=r"col_mask must have shape \(3,\)"):
        solve_matrix_game(np.zeros((2, 3)), col_mask=np.ones(2, bool))
