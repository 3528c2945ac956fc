"""How far a learned profile is from the expert's: occupancy and BC errors.

The quantities of the exploitability analysis of multi-agent imitation
(Bergerault, Cevher, Mehr, "Matching Multiple Experts: On the Exploitability of
Multi-Agent Imitation Learning"), all in total variation (TV, half the L1
distance):

* occupancy-matching errors between two profiles: of the state occupancy, of
  each player's state-action occupancy and of the joint state-action
  occupancy (normalized measures, :func:`mail_envs.solvers.occupancy_measure`);
* the behaviour-cloning error of each player, ``TV(pi_i(.|s), pi^E_i(.|s))``,
  both as its expectation under the EXPERT's state occupancy (what BC on expert
  data controls) and as its worst value over all non-terminal states (what a
  deviating opponent can exploit).

### Version History

* v0: initial release (as ``agents.theory.imitation_error``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mail_envs.core import TabularMarkovGame
from mail_envs.solvers import occupancy_measure
from mail_envs.solvers._tables import PolicyLike, policy_tables

__all__ = ["BCError", "OccupancyErrors", "bc_error", "occupancy_errors"]


@dataclass(frozen=True)
class OccupancyErrors:
    """Total-variation distances between two profiles' occupancy measures.

    Attributes:
        state: TV of the state occupancies ``d(s)``.
        player_state_action: ``(n,)`` TV of each player's ``d_i(s, a_i)``.
        joint_state_action: TV of the joint ``d(s, a)``.
    """

    state: float
    player_state_action: np.ndarray
    joint_state_action: float


@dataclass(frozen=True)
class BCError:
    """Per-player behaviour-cloning error in total variation.

    Attributes:
        expected: ``(n,)`` ``E_{s ~ d_E}[TV(pi_i(.|s), pi^E_i(.|s))]``, with
            ``d_E`` the expert profile's normalized state occupancy (terminal
            states count with TV 0: no decision is taken there).
        worst: ``(n,)`` ``max_s TV(pi_i(.|s), pi^E_i(.|s))`` over non-terminal
            states (every step, for non-stationary policies).
        worst_state: ``(n,)`` a state attaining ``worst``.
    """

    expected: np.ndarray
    worst: np.ndarray
    worst_state: np.ndarray


def _tv(p: np.ndarray, q: np.ndarray) -> float:
    return 0.5 * float(np.abs(p - q).sum())


def occupancy_errors(
    game: TabularMarkovGame,
    learned: Sequence[PolicyLike],
    expert: Sequence[PolicyLike],
) -> OccupancyErrors:
    """TV distances between the occupancy measures of two profiles.

    Args:
        game: The game.
        learned: One policy per player (tables or batched callables).
        expert: The expert profile, likewise.

    Returns:
        An :class:`OccupancyErrors`.

    Example:
        >>> from mail_envs.xor_coordination import (
        ...     make_xor_coordination_game, expert_profile, state_matching_profile)
        >>> game = make_xor_coordination_game()
        >>> err = occupancy_errors(game, state_matching_profile(), expert_profile())
        >>> round(err.state, 12), err.player_state_action.round(12).tolist()
        (0.0, [0.5, 0.0])
    """
    a = occupancy_measure(game, learned)
    b = occupancy_measure(game, expert)
    return OccupancyErrors(
        state=_tv(a.state, b.state),
        player_state_action=np.array(
            [
                _tv(x, y)
                for x, y in zip(
                    a.player_state_action, b.player_state_action, strict=True
                )
            ]
        ),
        joint_state_action=_tv(a.joint_state_action, b.joint_state_action),
    )


def bc_error(
    game: TabularMarkovGame,
    learned: Sequence[PolicyLike],
    expert: Sequence[PolicyLike],
) -> BCError:
    """Per-player TV between learned and expert action distributions.

    Args:
        game: The game.
        learned: One policy per player (tables or batched callables).
        expert: The expert profile, likewise.

    Returns:
        A :class:`BCError` with the expected (under the expert's state
        occupancy) and worst-state errors.

    Raises:
        ValueError: If a policy is invalid.
    """
    learned_tables = policy_tables(game, learned)
    expert_tables = policy_tables(game, expert)
    occupancy = occupancy_measure(game, expert_tables)
    live = ~game.terminal
    expected, worst, worst_state = [], [], []
    for lt, et in zip(learned_tables, expert_tables, strict=True):
        # Terminal states absorb occupancy mass but no decision is taken there.
        tv = np.where(live, 0.5 * np.abs(lt - et).sum(axis=-1), 0.0)  # (S,) or (H, S)
        if tv.ndim == 2:
            per_step = occupancy.per_step
            assert per_step is not None  # non-stationary tables need a horizon
            expected.append(float((per_step * tv).sum() / game.horizon))
            tv = tv.max(axis=0)
        else:
            expected.append(float(occupancy.state @ tv))
        masked = np.where(live, tv, -np.inf)
        worst_state.append(int(np.argmax(masked)))
        worst.append(float(masked[worst_state[-1]]) if live.any() else 0.0)
    return BCError(
        expected=np.array(expected),
        worst=np.array(worst),
        worst_state=np.array(worst_state),
    )
