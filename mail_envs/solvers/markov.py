"""Equilibria of two-player zero-sum Markov games.

* Discounted games: Shapley's operator (Shapley 1953, "Stochastic games", PNAS
  39) ``(T V)(s) = val[r_0(s, ., .) + gamma sum_s' P(s' | s, ., .) V(s')]``,
  where ``val`` is the value of the matrix game of state ``s``. Its fixed point
  is the value of the game, and strategies that are optimal in every state's
  matrix game at that fixed point are a Nash equilibrium. Two iterations are
  offered:

  - ``"strategy_iteration"`` (default), Hoffman & Karp (1966, "On nonterminating
    stochastic games", Management Science 12): take the maximizer's optimal
    strategies of the matrix games at ``V``, then set ``V`` to the exact value of
    the minimizer's best response to them (an MDP, solved by policy
    iteration). ``V`` increases monotonically to the value and the loop stops
    after a handful of iterations.
  - ``"value_iteration"``: Shapley's ``V <- T V`` until ``|T V - V| <= tol``.

  Every state's matrix game is solved in one batched call
  (:func:`~mail_envs.solvers.matrix.solve_matrix_games`).
* Finite-horizon games: backward induction over the steps, one batch of matrix
  games per step; the equilibrium is non-stationary, ``(H, S, A_i)``. Turn-based
  games need nothing special: the non-mover's single no-op makes each matrix
  game a single row or column.

### Version History

* v0: initial release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from mail_envs.core import TabularMarkovGame
from mail_envs.solvers._tables import expected_next
from mail_envs.solvers.evaluation import _best_response, _evaluate
from mail_envs.solvers.matrix import MatrixGameSolutions, solve_matrix_games

__all__ = [
    "Equilibrium",
    "backward_induction",
    "solve_zero_sum",
    "solve_zero_sum_discounted",
]


@dataclass(frozen=True)
class Equilibrium:
    """A Nash equilibrium of a two-player zero-sum Markov game.

    Attributes:
        policies: ``(pi_0, pi_1)``, each ``(S, A_i)`` (discounted) or
            ``(H, S, A_i)`` (finite horizon).
        values: Values of the profile for both players, ``(2, S)`` or
            ``(2, H, S)`` (``values[1] = -values[0]`` up to float error).
        value: ``(2,)`` values at the initial distribution.
        iterations: Outer iterations (discounted) or ``H`` (finite horizon).
        residual: Bellman residual ``max_s |T V - V|`` at the returned values
            (0 for backward induction, which is exact by construction).
    """

    policies: tuple[np.ndarray, np.ndarray]
    values: np.ndarray
    value: np.ndarray
    iterations: int
    residual: float


def solve_zero_sum(game: TabularMarkovGame, **kwargs: object) -> Equilibrium:
    """Solve a two-player zero-sum game with the method its objective calls for.

    Args:
        game: A two-player zero-sum game.
        **kwargs: Passed to :func:`solve_zero_sum_discounted` (discounted games).

    Returns:
        :func:`backward_induction` of a finite-horizon game, else
        :func:`solve_zero_sum_discounted`.

    Raises:
        ValueError: If the game is not two-player zero-sum.
    """
    if game.horizon is not None:
        if kwargs:
            raise ValueError(
                f"backward induction takes no options, got {sorted(kwargs)}"
            )
        return backward_induction(game)
    return solve_zero_sum_discounted(game, **kwargs)  # type: ignore[arg-type]


def solve_zero_sum_discounted(
    game: TabularMarkovGame,
    tol: float = 1e-10,
    max_iter: int = 10_000,
    method: Literal["strategy_iteration", "value_iteration"] = "strategy_iteration",
) -> Equilibrium:
    """Equilibrium of a discounted two-player zero-sum game (Shapley operator).

    Args:
        game: Two-player zero-sum game with ``horizon=None`` and ``gamma < 1``.
        tol: Stop when the Bellman residual ``max_s |T V - V|`` is at most this.
            The returned strategies are optimal in the matrix games at ``V``, so
            their NashConv is ``O(tol / (1 - gamma))``.
        max_iter: Most outer iterations before giving up.
        method: ``"strategy_iteration"`` (Hoffman–Karp, default) or
            ``"value_iteration"`` (Shapley).

    Returns:
        The equilibrium: both players' ``(S, A_i)`` policies and their exact values.

    Raises:
        ValueError: If the game is not two-player zero-sum discounted, or an
            argument is out of range.
        RuntimeError: If the residual is still above ``tol`` after ``max_iter``
            iterations.

    Example:
        >>> from mail_envs.solvers import nash_gap
        >>> from mail_envs.random_games import make_random_zero_sum_game
        >>> game = make_random_zero_sum_game(num_states=6, seed=0)
        >>> eq = solve_zero_sum_discounted(game)
        >>> nash_gap(game, eq.policies).nash_conv < 1e-9
        True
    """
    _check_zero_sum(game)
    if game.horizon is not None:
        raise ValueError(
            f"solve_zero_sum_discounted needs horizon=None, got horizon={game.horizon}; "
            "use backward_induction"
        )
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if method not in ("strategy_iteration", "value_iteration"):
        raise ValueError(
            f"method must be 'strategy_iteration' or 'value_iteration', got {method!r}"
        )
    values = np.zeros(game.num_states)
    residual = np.inf
    iterations = 0
    for iterations in range(1, int(max_iter) + 1):  # noqa: B007 - returned
        sol = _stage_games(game, values)
        residual = float(np.abs(sol.values - values).max())
        if residual <= tol:
            break
        if method == "value_iteration":
            values = sol.values
            continue
        # Hoffman–Karp: exact value of the minimizer's best response to the
        # maximizer's stage strategies. Player 1 maximizes its own reward
        # rewards[1] = -rewards[0], so player 0's values are minus its values.
        tables = (sol.row_strategies, sol.col_strategies)
        br = _best_response(game, tables, 1, -sol.values)
        values = -br.values
    else:
        raise RuntimeError(
            f"Shapley iteration did not reach tol={tol:g} in {max_iter} iterations "
            f"(residual {residual:.3e})"
        )
    policies = (sol.row_strategies, sol.col_strategies)
    profile_values = _evaluate(game, policies)
    return Equilibrium(
        policies=policies,
        values=profile_values,
        value=profile_values @ game.initial_distribution,
        iterations=iterations,
        residual=residual,
    )


def backward_induction(game: TabularMarkovGame) -> Equilibrium:
    """Equilibrium of a finite-horizon two-player zero-sum game.

    For ``h = H-1, ..., 0`` every state's matrix game
    ``r_0(s, ., .) + gamma sum_s' P(s' | s, ., .) V_{h+1}(s')`` is solved (all
    states in one batch), giving non-stationary equilibrium policies.

    Args:
        game: Two-player zero-sum game with a finite ``horizon``.

    Returns:
        The equilibrium: ``(H, S, A_i)`` policies and ``(2, H, S)`` values.

    Raises:
        ValueError: If the game is not two-player zero-sum or has no horizon.

    Example:
        >>> from mail_envs.random_games import make_random_zero_sum_game
        >>> game = make_random_zero_sum_game(num_states=6, num_actions=(3, 2), horizon=4)
        >>> eq = backward_induction(game)
        >>> eq.policies[0].shape, eq.values.shape
        ((4, 6, 3), (2, 4, 6))
    """
    _check_zero_sum(game)
    if game.horizon is None:
        raise ValueError("backward_induction needs a finite horizon, got horizon=None")
    horizon, num_states = game.horizon, game.num_states
    policies = (
        np.zeros((horizon, num_states, game.num_actions[0])),
        np.zeros((horizon, num_states, game.num_actions[1])),
    )
    values = np.zeros(num_states)
    for h in range(horizon - 1, -1, -1):
        sol = _stage_games(game, values)
        policies[0][h], policies[1][h] = sol.row_strategies, sol.col_strategies
        values = sol.values
    profile_values = _evaluate(game, policies)
    return Equilibrium(
        policies=policies,
        values=profile_values,
        value=profile_values[:, 0] @ game.initial_distribution,
        iterations=horizon,
        residual=0.0,
    )


def _check_zero_sum(game: TabularMarkovGame) -> None:
    if game.num_players != 2:
        raise ValueError(f"need a two-player game, got {game.num_players} players")
    if not game.is_zero_sum:
        worst = float(np.abs(game.rewards.sum(axis=0)).max())
        raise ValueError(
            f"need a zero-sum game: rewards[0] + rewards[1] is {worst:.3g} somewhere"
        )


def _stage_games(game: TabularMarkovGame, values: np.ndarray) -> MatrixGameSolutions:
    """Solve ``r_0 + gamma E[V(s')]`` in every state, all states in one batch."""
    q = game.rewards[0] + game.gamma * expected_next(game, values)
    if game.terminal is not None:  # always an array once the game is built
        q = np.where(game.terminal[:, None], 0.0, q)
    return solve_matrix_games(
        game.joint_reshape(q), game.legal_masks[0], game.legal_masks[1]
    )
