"""Matching multiple experts: eps_BC, the dominant-strategy bound, occupancy matching.

Exact numbers, on tabular games, for three results of Bergerault, Cevher, Mehr
("Matching Multiple Experts: On the Exploitability of Multi-Agent Imitation
Learning", arXiv:2602.21020).

**Provenance of the definitions.** The copy of the paper we work from holds
its abstract and a summary, not the body: the abstract states the result as
"for the case of dominant strategy expert equilibria, assuming Behavioral
Cloning error eps_BC, this provides a Nash imitation gap of
O(n eps_BC / (1-gamma)^2)", and the summary adds that the expert is a dominant
strategy equilibrium and that exact state-ACTION occupancy matching recovers the
equilibrium under full state support while state-only matching does not. The
theorem's own definition of ``eps_BC`` could not be quoted. We therefore use
the standard offline-BC quantity, the one under which the abstract's rate
follows (proof below), and flag it: constants, or the per-state divergence
(TV here), may differ from the paper's.

**eps_BC (the expected, on-expert-data BC error).** With ``d_E`` the expert
profile's normalized state occupancy
``d_E(s) = (1 - gamma) sum_t gamma^t P_{pi^E}(s_t = s)``:

    eps_i  = E_{s ~ d_E} [ TV(pi_i(.|s), pi^E_i(.|s)) ]     (player i's BC error)
    eps_BC = max_i eps_i

TV is half the L1 distance, terminal states count 0 (no decision is taken
there). It is what BC on expert demonstrations controls: one supervised
problem per player, each on the expert's state distribution. It is the
``expected`` field of :func:`agents.theory.errors.bc_error` (same numbers,
computed once); :func:`eps_bc` adds the maximum, the sum over players and the
TV of the JOINT action distributions.

**The expected-error bound (dominant-strategy expert).** Let ``pi^E_i`` be a
best response to EVERY ``pi_-i`` (dominant strategies) and ``span`` the range
of the rewards (widened to contain 0 when there are terminal states). Player
``i``'s gain at ``pi`` is then ``V_i(pi^E_i, pi_-i) - V_i(pi)``. Split it at
the expert's value:

    gain_i = [V_i(pi^E_i, pi_-i) - V_i(pi^E)] + [V_i(pi^E) - V_i(pi)].

By the performance-difference lemma with the expectation under the EXPERT's
occupancy (Kakade & Langford 2002), for any profile ``pi'``,
``|V_i(pi^E) - V_i(pi')| <= span / (1-gamma)^2 * E_{d_E}[TV(pi'(.|s),
pi^E(.|s))]`` with the joint policies, and the TV of product distributions is
at most the sum of the players' TVs. Hence

    gain_i    <= span / (1-gamma)^2 * (2 sum_j eps_j - eps_i)
    Nash gap  =  max_i gain_i <= (2n - 1) span eps_BC / (1-gamma)^2
    NashConv  =  sum_i gain_i <= (2n - 1) span sum_j eps_j / (1-gamma)^2,

the abstract's ``O(n eps_BC / (1-gamma)^2)``. It is consistent (zero error,
zero gap) and needs no coverage of the states a deviation reaches, unlike the
worst-state form of :mod:`agents.theory.bounds`. It fails without dominance:
in the chain game a learner that errs only where the expert never goes has
``eps_BC = 0`` and a positive gap. The order is attained:
:mod:`mail_envs.breakdown` (``cost = 0``) has
``gain_i ~ gamma (1 + gamma (n-1)) eps / (1-gamma)^2`` as ``eps -> 0`` for every
player, a ratio to the bound of ``gamma (1 + gamma (n-1)) / (2n - 1)``, which
tends to ``n / (2n - 1)`` (1 for one player, at least 1/2) as ``gamma -> 1``.

**Occupancy matching.** A profile whose per-player state-action occupancies
equal the expert's, ``d^pi_i(s, a_i) = d^E_i(s, a_i)``, plays
``pi_i(a|s) = d^E_i(s, a) / d_E(s)`` wherever ``d_E(s) > 0``
(:func:`policy_from_occupancy`). With full state support that is ``pi^E``
itself, so its Nash gap is the expert's: 0. Matching the state occupancy
alone leaves the actions free, and the XOR coordination game
(:mod:`mail_envs.xor_coordination`) has a state-matching profile with gap
``1 / (2 (1-gamma))``. Without full support, state-action matching fixes nothing
off the support (the chain game again). :func:`occupancy_matching_check`
reports the three TVs beside the gap of each profile.

Example:
    >>> from mail_envs.breakdown import (
    ...     dominant_profile, make_breakdown_game, slip_profile)
    >>> game = make_breakdown_game(2, cost=0.0, gamma=0.9)
    >>> learned = slip_profile(game, 0.1)  # careless 10% of the time, never repairs
    >>> err = eps_bc(game, dominant_profile(game), learned)
    >>> err.per_player.round(12).tolist(), round(err.value, 12)
    ([0.1, 0.1], 0.1)
    >>> check = dominant_bound_check(game, dominant_profile(game), [learned])
    >>> bool(check.nash_gap[0] <= check.bound_nash_gap[0]), round(check.constant, 6)
    (True, 100.0)

### Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.theory.bounds import reward_span
from agents.theory.errors import bc_error, occupancy_errors
from mail_envs.core import TabularMarkovGame
from mail_envs.solvers import nash_gap, occupancy_measure
from mail_envs.solvers._tables import PolicyLike, joint_policy, policy_tables

__all__ = [
    "DominantBoundCheck",
    "EpsBC",
    "OccupancyMatching",
    "dominance_regret",
    "dominant_bound_check",
    "eps_bc",
    "occupancy_matching_check",
    "policy_from_occupancy",
]

#: Occupancy below which a state counts as unvisited by the expert.
SUPPORT_TOL = 1e-12


@dataclass(frozen=True)
class EpsBC:
    """The expected BC error of a learned profile (see the module docstring).

    Attributes:
        per_player: ``(n,)`` ``eps_i = E_{s ~ d_E}[TV(pi_i(.|s), pi^E_i(.|s))]``.
        value: ``eps_BC = max_i eps_i``.
        total: ``sum_i eps_i``.
        joint: ``E_{s ~ d_E}[TV(pi(.|s), pi^E(.|s))]`` over joint actions
            (``<= total``).
    """

    per_player: np.ndarray
    value: float
    total: float
    joint: float


@dataclass(frozen=True)
class DominantBoundCheck:
    """Exact gaps of learned profiles beside the expected-error bound.

    Attributes:
        labels: ``(m,)`` a label per profile (e.g. its perturbation size).
        eps: ``(m, n)`` per-player BC errors ``eps_i``.
        eps_bc: ``(m,)`` ``eps_BC = max_i eps_i``.
        gains: ``(m, n)`` exact per-player gains.
        nash_gap: ``(m,)`` ``max_i gain_i``.
        nash_conv: ``(m,)`` ``sum_i gain_i``.
        constant: ``span / (1 - gamma)^2``.
        bound_gains: ``(m, n)`` ``constant * (2 sum_j eps_j - eps_i)``.
        bound_nash_gap: ``(m,)`` ``(2n - 1) * constant * eps_BC``.
        bound_nash_conv: ``(m,)`` ``(2n - 1) * constant * sum_j eps_j``.
    """

    labels: np.ndarray
    eps: np.ndarray
    eps_bc: np.ndarray
    gains: np.ndarray
    nash_gap: np.ndarray
    nash_conv: np.ndarray
    constant: float
    bound_gains: np.ndarray
    bound_nash_gap: np.ndarray
    bound_nash_conv: np.ndarray


@dataclass(frozen=True)
class OccupancyMatching:
    """How well each profile matches the expert's occupancies, and its gap.

    Attributes:
        state_tv: ``(m,)`` TV of the state occupancies.
        state_action_tv: ``(m, n)`` TV of each player's ``d_i(s, a_i)``.
        joint_tv: ``(m,)`` TV of the joint ``d(s, a)``.
        gains: ``(m, n)`` exact per-player gains.
        nash_conv: ``(m,)`` ``sum_i gain_i``.
        expert_support: ``(S,)`` states with ``d_E(s) > 0``.
        full_support: Whether the expert visits every non-terminal state.
    """

    state_tv: np.ndarray
    state_action_tv: np.ndarray
    joint_tv: np.ndarray
    gains: np.ndarray
    nash_conv: np.ndarray
    expert_support: np.ndarray
    full_support: bool


def _profiles(profiles: Sequence[Sequence[PolicyLike]]) -> list[Sequence[PolicyLike]]:
    if isinstance(profiles, np.ndarray) or not isinstance(profiles, Sequence):
        raise TypeError(
            f"profiles must be a sequence of profiles, got {type(profiles).__name__}"
        )
    if len(profiles) == 0:
        raise ValueError("profiles must hold at least one profile, got none")
    return list(profiles)


def _labels(labels: Sequence[float] | None, count: int) -> np.ndarray:
    if labels is None:
        return np.arange(count, dtype=np.float64)
    out = np.asarray(labels, dtype=np.float64)
    if out.shape != (count,):
        raise ValueError(
            f"labels must have one entry per profile ({count}), got {out.shape}"
        )
    return out


def _weighted_by_expert(
    game: TabularMarkovGame, expert: Sequence[np.ndarray], per_state: np.ndarray
) -> float:
    """``E_{d_E}[f]`` for ``f`` of shape ``(S,)`` or per step ``(H, S)``."""
    occupancy = occupancy_measure(game, expert)
    f = np.where(game.terminal, 0.0, per_state)
    if f.ndim == 2:
        assert occupancy.per_step is not None  # (H, S) tables need a horizon
        return float((occupancy.per_step * f).sum() / f.shape[0])
    return float(occupancy.state @ f)


def eps_bc(
    game: TabularMarkovGame,
    expert: Sequence[PolicyLike],
    learned: Sequence[PolicyLike],
) -> EpsBC:
    """The expected BC error ``eps_BC`` of a learned profile.

    ``eps_i = E_{s ~ d_E}[TV(pi_i(.|s), pi^E_i(.|s))]`` under the expert
    profile's normalized state occupancy ``d_E`` (per step and averaged over
    the horizon for finite-horizon games), and ``eps_BC = max_i eps_i``: the
    behaviour-cloning error of the dominant-strategy bound (module docstring;
    the paper's own definition was not available to quote).

    Args:
        game: The game.
        expert: The expert profile, one policy per player.
        learned: The learned profile, likewise.

    Returns:
        An :class:`EpsBC`.

    Raises:
        TypeError: If a profile is not a sequence of policies.
        ValueError: If a policy is invalid (the message names the player).

    Example:
        >>> from mail_envs.xor_coordination import (
        ...     make_xor_coordination_game, expert_profile, state_matching_profile)
        >>> game = make_xor_coordination_game()
        >>> err = eps_bc(game, expert_profile(), state_matching_profile())
        >>> err.per_player.round(12).tolist(), round(err.value, 12), round(err.joint, 12)
        ([0.5, 0.0], 0.5, 0.5)
    """
    expert_t = policy_tables(game, expert)
    learned_t = policy_tables(game, learned)
    per_player = bc_error(game, learned_t, expert_t).expected
    tv_joint = 0.5 * np.abs(joint_policy(learned_t) - joint_policy(expert_t)).sum(-1)
    return EpsBC(
        per_player=per_player,
        value=float(per_player.max()),
        total=float(per_player.sum()),
        joint=_weighted_by_expert(game, expert_t, tv_joint),
    )


def _check_discounted(game: TabularMarkovGame, what: str) -> None:
    if game.horizon is not None:
        raise ValueError(
            f"{what} needs a discounted game (horizon None), got horizon {game.horizon}"
        )


def dominant_bound_check(
    game: TabularMarkovGame,
    expert: Sequence[PolicyLike],
    profiles: Sequence[Sequence[PolicyLike]],
    labels: Sequence[float] | None = None,
) -> DominantBoundCheck:
    """Exact gains of learned profiles beside the expected-error bound.

    Implements the bound of the module docstring,
    ``max_i gain_i <= (2n - 1) span eps_BC / (1 - gamma)^2``, valid when the
    expert plays dominant strategies (check with :func:`dominance_regret`).

    Args:
        game: A discounted game.
        expert: The expert profile.
        profiles: Learned profiles.
        labels: Optional label per profile (e.g. its perturbation size).

    Returns:
        A :class:`DominantBoundCheck`.

    Raises:
        TypeError: If ``profiles`` is not a sequence.
        ValueError: If the game has a horizon, ``profiles`` is empty, a label
            count is wrong or a policy is invalid.
    """
    _check_discounted(game, "dominant_bound_check")
    items = _profiles(profiles)
    expert_t = policy_tables(game, expert)
    errors = [eps_bc(game, expert_t, p) for p in items]
    gaps = [nash_gap(game, p) for p in items]
    eps = np.stack([e.per_player for e in errors])
    gains = np.stack([g.gains for g in gaps])
    constant = reward_span(game) / (1.0 - game.gamma) ** 2
    total = eps.sum(axis=1)
    n = game.num_players
    return DominantBoundCheck(
        labels=_labels(labels, len(items)),
        eps=eps,
        eps_bc=eps.max(axis=1),
        gains=gains,
        nash_gap=gains.max(axis=1),
        nash_conv=gains.sum(axis=1),
        constant=constant,
        bound_gains=constant * (2.0 * total[:, None] - eps),
        bound_nash_gap=(2 * n - 1) * constant * eps.max(axis=1),
        bound_nash_conv=(2 * n - 1) * constant * total,
    )


def dominance_regret(
    game: TabularMarkovGame,
    expert: Sequence[PolicyLike],
    opponents: Sequence[Sequence[PolicyLike]],
) -> np.ndarray:
    """How much each expert policy loses to a best response, per opponent profile.

    Entry ``[k, i]`` is ``max_{pi'_i} V_i(pi'_i, pi^k_-i) - V_i(pi^E_i, pi^k_-i)``:
    0 for every profile ``pi^k`` when ``pi^E_i`` is a dominant strategy. A
    finite set of opponents can refute dominance, never prove it.

    Args:
        game: The game.
        expert: The expert profile.
        opponents: Profiles whose entries other than ``i`` are the opponents.

    Returns:
        ``(m, n)`` regrets, each ``>= 0``.

    Raises:
        TypeError: If ``opponents`` is not a sequence.
        ValueError: If it is empty or a policy is invalid.
    """
    items = _profiles(opponents)
    expert_t = policy_tables(game, expert)
    out = np.empty((len(items), game.num_players))
    for k, profile in enumerate(items):
        tables = policy_tables(game, profile)
        for i in range(game.num_players):  # players: tiny
            mixed = list(tables)
            mixed[i] = expert_t[i]
            out[k, i] = nash_gap(game, mixed).gains[i]
    return out


def occupancy_matching_check(
    game: TabularMarkovGame,
    expert: Sequence[PolicyLike],
    profiles: Sequence[Sequence[PolicyLike]],
) -> OccupancyMatching:
    """Occupancy-matching errors (TV) and exact gains of learned profiles.

    Args:
        game: The game.
        expert: The expert profile.
        profiles: Learned profiles.

    Returns:
        An :class:`OccupancyMatching`.

    Raises:
        TypeError: If ``profiles`` is not a sequence.
        ValueError: If it is empty or a policy is invalid.

    Example:
        >>> from mail_envs.xor_coordination import (
        ...     make_xor_coordination_game, expert_profile, state_matching_profile)
        >>> game = make_xor_coordination_game(gamma=0.9)
        >>> check = occupancy_matching_check(
        ...     game, expert_profile(), [state_matching_profile(), expert_profile()])
        >>> check.state_tv.round(12).tolist(), check.nash_conv.round(9).tolist()
        ([0.0, 0.0], [5.0, 0.0])
    """
    items = _profiles(profiles)
    expert_t = policy_tables(game, expert)
    errors = [occupancy_errors(game, p, expert_t) for p in items]
    gaps = [nash_gap(game, p) for p in items]
    support = occupancy_measure(game, expert_t).state > SUPPORT_TOL
    return OccupancyMatching(
        state_tv=np.array([e.state for e in errors]),
        state_action_tv=np.stack([e.player_state_action for e in errors]),
        joint_tv=np.array([e.joint_state_action for e in errors]),
        gains=np.stack([g.gains for g in gaps]),
        nash_conv=np.array([g.nash_conv for g in gaps]),
        expert_support=support,
        full_support=bool(np.all(support | game.terminal)),
    )


def policy_from_occupancy(
    game: TabularMarkovGame, player_state_action: Sequence[np.ndarray]
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The policies a set of per-player state-action occupancies pins down.

    ``pi_i(a|s) = d_i(s, a) / sum_b d_i(s, b)`` where the state has mass;
    elsewhere any policy has the same occupancy, and the uniform legal one is
    returned.

    Args:
        game: The game.
        player_state_action: One ``(S, A_i)`` non-negative array per player
            (e.g. :attr:`mail_envs.solvers.OccupancyMeasure.player_state_action`).

    Returns:
        ``(tables, determined)``: one ``(S, A_i)`` table per player and the
        ``(S,)`` mask of states where the occupancy fixes the policy.

    Raises:
        ValueError: If the count, a shape or a sign is wrong, or mass sits on an
            illegal action.

    Example:
        >>> from mail_envs.xor_coordination import (
        ...     make_xor_coordination_game, state_matching_profile)
        >>> game = make_xor_coordination_game()
        >>> occ = occupancy_measure(game, state_matching_profile())
        >>> tables, determined = policy_from_occupancy(game, occ.player_state_action)
        >>> tables[0].tolist(), determined.tolist()
        ([[1.0, 0.0], [1.0, 0.0]], [True, True])
    """
    if len(player_state_action) != game.num_players:
        raise ValueError(
            f"expected {game.num_players} occupancies (one per player), "
            f"got {len(player_state_action)}"
        )
    tables, masses = [], []
    for i, d in enumerate(player_state_action):
        arr = np.asarray(d, dtype=np.float64)
        mask = game.legal_masks[i]
        if arr.shape != mask.shape:
            raise ValueError(
                f"occupancy of player {i} must have shape {mask.shape}, got {arr.shape}"
            )
        if np.any(arr < 0) or np.any(np.where(mask, 0.0, arr) > 0):
            raise ValueError(
                f"occupancy of player {i} must be >= 0 and 0 on illegal actions"
            )
        mass = arr.sum(axis=1)
        uniform = mask / mask.sum(axis=1, keepdims=True)
        safe = np.where(mass > SUPPORT_TOL, mass, 1.0)[:, None]
        tables.append(np.where((mass > SUPPORT_TOL)[:, None], arr / safe, uniform))
        masses.append(mass > SUPPORT_TOL)
    return tuple(tables), np.logical_and.reduce(masses)
