"""A mixed Nash equilibrium of a discounted zero-sum game: the average of its pure ones.

Viano, Freihaut et al. ("Multi-agent imitation learning with function
approximation: linear Markov games and beyond", Appendix I.1) train the BC of
their Figure 1a on "a convex combination of Nash equilibrium strategies",
obtained from differently initialised zero-sum value iterations; since the
stationary strategies that are optimal in every state's matrix game form a
convex set (a product over states of convex sets of optimal matrix-game
strategies), the combination is again an equilibrium.

:func:`mixed_zero_sum_equilibrium` builds such an expert deterministically:
it solves the game (:func:`~mail_envs.solvers.markov.solve_zero_sum_discounted`),
forms every state's matrix game ``Q*(s, a_0, a_1) = r_0 + gamma E V*(s')`` and
gives each player, in every state, equal weight to each of its *pure* optimal
actions there (those that guarantee the state's value against every reply).
Each choice of one optimal pure action per state is a stationary equilibrium
(a tie-breaking of value iteration), and the result is their uniform average.
Where a player has no optimal pure action (a genuinely mixed matrix game), it
keeps the solver's optimal mixed strategy.

### Version History

* v0: initial release.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mail_envs.core import TabularMarkovGame
from mail_envs.solvers._tables import expected_next
from mail_envs.solvers.markov import Equilibrium, solve_zero_sum_discounted

__all__ = ["MixedEquilibrium", "mixed_zero_sum_equilibrium"]


@dataclass(frozen=True)
class MixedEquilibrium:
    """A mixed equilibrium and where it came from.

    Attributes:
        policies: ``(pi_0, pi_1)``, each ``(S, A_i)``: uniform over the pure
            optimal actions of every state (the solver's strategy where there
            is none).
        optimal_actions: ``(mask_0, mask_1)``, each ``(S, A_i)`` bool: the pure
            actions optimal in every state's matrix game at ``V*``.
        base: The equilibrium the matrix games were formed from.
    """

    policies: tuple[np.ndarray, np.ndarray]
    optimal_actions: tuple[np.ndarray, np.ndarray]
    base: Equilibrium


def mixed_zero_sum_equilibrium(
    game: TabularMarkovGame, *, tie_tol: float = 1e-9, solver_tol: float = 1e-12
) -> MixedEquilibrium:
    """Average of the pure stationary equilibria of a discounted zero-sum game.

    Args:
        game: Two-player zero-sum game with ``horizon=None`` and ``gamma < 1``.
        tie_tol: A pure action is optimal for player_0 in state ``s`` when
            ``min_b Q*(s, a, b) >= V*(s) - tie_tol`` over legal replies ``b``
            (player_1 alike, with max and ``+``). Keep it far below the gaps
            between distinct values of the game.
        solver_tol: Bellman residual of the underlying solve.

    Returns:
        The :class:`MixedEquilibrium`; its policies are a Nash equilibrium from
        every initial state (NashConv ``O(tie_tol / (1 - gamma))``).

    Raises:
        ValueError: If the game is not two-player zero-sum discounted or
            ``tie_tol`` is negative.

    Example:
        >>> from mail_envs.gridworld import PUBLISHED_STARTS, make_gridworld_game
        >>> from mail_envs.solvers import nash_gap
        >>> game = make_gridworld_game(3, starts=PUBLISHED_STARTS)
        >>> mixed = mixed_zero_sum_equilibrium(game)
        >>> start = int(game.initial_distribution.argmax())
        >>> mixed.policies[0][start].tolist()  # up or right, half and half
        [0.0, 0.5, 0.5, 0.0]
        >>> nash_gap(game, mixed.policies).nash_conv < 1e-9
        True
    """
    if not tie_tol >= 0:
        raise ValueError(f"tie_tol must be >= 0, got {tie_tol!r}")
    base = solve_zero_sum_discounted(game, tol=solver_tol)
    values = base.values[0]
    q = game.rewards[0] + game.gamma * expected_next(game, values)
    q = game.joint_reshape(q)  # (S, A_0, A_1)
    legal0, legal1 = game.legal_masks[0], game.legal_masks[1]
    # Worst reply to each pure action of player_0, best reply for player_1.
    worst0 = np.where(legal1[:, None, :], q, np.inf).min(axis=2)  # (S, A_0)
    worst1 = np.where(legal0[:, :, None], q, -np.inf).max(axis=1)  # (S, A_1)
    optimal0 = legal0 & (worst0 >= values[:, None] - tie_tol)
    optimal1 = legal1 & (worst1 <= values[:, None] + tie_tol)

    def average(optimal: np.ndarray, fallback: np.ndarray) -> np.ndarray:
        count = optimal.sum(axis=1, keepdims=True)
        uniform = optimal / np.maximum(count, 1)
        return np.where(count > 0, uniform, fallback)

    policies = (
        average(optimal0, np.asarray(base.policies[0], dtype=np.float64)),
        average(optimal1, np.asarray(base.policies[1], dtype=np.float64)),
    )
    return MixedEquilibrium(
        policies=policies, optimal_actions=(optimal0, optimal1), base=base
    )
