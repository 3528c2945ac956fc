"""State and state-action occupancy measures of a profile.

Normalized (the default) occupancy measures are probability distributions:

* discounted: ``d(s) = (1 - gamma) sum_t gamma^t P(s_t = s)``, so that
  ``V_i(mu0) = sum_{s,a} d(s, a) r_i(s, a) / (1 - gamma)``;
* finite horizon ``H``: ``d(s) = (1 / H) sum_{h<H} P(s_h = s)`` (undiscounted
  visit frequencies, whatever ``gamma``); with ``gamma = 1``,
  ``V_i(mu0) = H sum_{s,a} d(s, a) r_i(s, a)``. The per-step distributions
  ``P(s_h = s)`` are returned too, for discounted finite-horizon sums.

Unnormalized measures drop the factor (``1 - gamma`` or ``1 / H``): expected
discounted visits, summing to ``1 / (1 - gamma)``, or expected visits, summing
to ``H``. Terminal states absorb the mass that reaches them (they are
zero-reward self-loops, so they add nothing to any value). The state-action
measures are ``d_i(s, a_i) = d(s) pi_i(s, a_i)`` for each player and ``d(s, a)
= d(s) prod_i pi_i(s, a_i)`` over joint actions (per step and then averaged when
the policies are non-stationary).

### Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mail_envs.core import TabularMarkovGame
from mail_envs.solvers._tables import (
    PolicyLike,
    game_support,
    joint_policy,
    policy_tables,
    solve_discounted,
    transition_matrix,
)

__all__ = ["OccupancyMeasure", "occupancy_measure"]


@dataclass(frozen=True)
class OccupancyMeasure:
    """Occupancy measures of a profile (see the module docstring).

    Attributes:
        state: ``(S,)`` state occupancy ``d(s)``.
        player_state_action: One ``(S, A_i)`` array ``d_i(s, a_i)`` per player.
        joint_state_action: ``(S, A_joint)`` joint occupancy ``d(s, a)``.
        per_step: ``(H, S)`` distributions ``P(s_h = s)`` for finite-horizon
            games, None for discounted ones.
        normalized: Whether the measures sum to 1.
    """

    state: np.ndarray
    player_state_action: tuple[np.ndarray, ...]
    joint_state_action: np.ndarray
    per_step: np.ndarray | None
    normalized: bool


def occupancy_measure(
    game: TabularMarkovGame,
    policies: Sequence[PolicyLike],
    *,
    normalized: bool = True,
) -> OccupancyMeasure:
    """Occupancy measures of a profile, started from the initial distribution.

    Args:
        game: The game.
        policies: One policy per player (tables or batched callables; see
            :func:`mail_envs.solvers.policy_evaluation`).
        normalized: Return distributions (default) or expected (discounted)
            visit counts.

    Returns:
        An :class:`OccupancyMeasure`.

    Raises:
        ValueError: If a policy is invalid.

    Example:
        >>> from mail_envs.random_games import make_random_zero_sum_game
        >>> game = make_random_zero_sum_game(num_states=5, seed=0)
        >>> occ = occupancy_measure(game, [game.uniform_policy(0), game.uniform_policy(1)])
        >>> round(float(occ.state.sum()), 12), occ.joint_state_action.shape
        (1.0, (5, 9))
    """
    tables = policy_tables(game, policies)
    joint = joint_policy(tables)
    mu0 = game.initial_distribution
    if game.horizon is None:
        chain = transition_matrix(game, joint)
        # d^T (I - gamma P) = mu0^T: the transposed system of policy evaluation.
        state = solve_discounted(chain.T.tocsr(), game.gamma, mu0[None])[0]
        scale = 1.0 - game.gamma if normalized else 1.0
        state = scale * state
        per_player = tuple(state[:, None] * t for t in tables)
        return OccupancyMeasure(
            state=state,
            player_state_action=per_player,
            joint_state_action=state[:, None] * joint,
            per_step=None,
            normalized=normalized,
        )
    horizon = game.horizon
    # Forward over the legal (state, joint action) pairs only: terminal states
    # keep their mass (zero-reward self-loops), the others pass it on.
    layer = game_support(game).full
    flat = [table.reshape(*table.shape[:-2], -1) for table in tables]
    per_step = np.empty((horizon, game.num_states))
    dist = mu0
    for h in range(horizon):
        per_step[h] = dist
        if h + 1 < horizon:
            mass = dist[layer.pair_states]
            for f, key in zip(flat, layer.keys, strict=True):
                mass = mass * (f[h] if f.ndim == 2 else f)[key]
            dist = layer.expect.T @ mass + np.where(game.terminal, dist, 0.0)
    scale = 1.0 / horizon if normalized else 1.0
    visits = per_step.sum(axis=0)

    def weighted(table: np.ndarray) -> np.ndarray:
        """``sum_h P(s_h = s) table_h(s, a)``, stationary or not."""
        if table.ndim == 2:
            return visits[:, None] * table
        return np.einsum("hs,hsa->sa", per_step, table)

    return OccupancyMeasure(
        state=scale * visits,
        player_state_action=tuple(scale * weighted(t) for t in tables),
        joint_state_action=scale * weighted(joint),
        per_step=per_step,
        normalized=normalized,
    )
