"""When is imitation unexploitable? BC-error bounds, continuity, concentrability.

Numbers for the claims of Bergerault, Cevher, Mehr ("Matching Multiple Experts:
On the Exploitability of Multi-Agent Imitation Learning"), computed exactly on
tabular games.

**BC-error bound for dominant-strategy experts.** Let the expert ``pi^E`` be an
equilibrium in dominant strategies (``pi^E_i`` is a best response to EVERY
``pi_-i``) and ``pi`` a learned profile. Player ``i``'s gain at ``pi`` is then
``V_i(pi^E_i, pi_-i) - V_i(pi_i, pi_-i)``, and the performance-difference
lemma (Kakade & Langford 2002) in player ``i``'s MDP against ``pi_-i`` gives

    gain_i = 1/(1-gamma) E_{s ~ d^{pi^E_i, pi_-i}} [ sum_a (pi^E_i - pi_i)(a|s) Q_i(s, a) ]
           <= span_i * max_s TV(pi_i(.|s), pi^E_i(.|s)) / (1 - gamma)^2,

because ``Q_i`` takes values in an interval of length ``span_i / (1-gamma)``
(``span_i = max r_i - min r_i``). Summing over players:

    NashConv(pi) <= n * span * eps_worst / (1 - gamma)^2,

with ``eps_worst = max_i max_s TV`` — the WORST-STATE form of the BC error and
constant ``span = max_i span_i`` (1 for rewards in ``[0, 1]``). With a horizon
``H`` instead of discounting, ``(1-gamma)^-2`` becomes ``H^2``. Plugging the
EXPECTED error ``E_{s ~ d_E} TV`` into THIS constant is no bound: the
expectation in the lemma is under the deviation's occupancy, not the expert's;
a learner that errs only where the expert never goes (the chain game, whose
expert is not dominant) has expected error 0 and a positive gap.
:func:`bound_check` reports both forms side by side. The expected-error bound
that does hold for dominant-strategy experts, with the constant ``(2n - 1)``
for the largest gain and our reading of the paper's ``eps_BC``, is in
:mod:`agents.theory.matching_experts` (:func:`~agents.theory.matching_experts.eps_bc`,
:func:`~agents.theory.matching_experts.dominant_bound_check`).

**Feature concentrability** (the open question of Viano, Freihaut et al.:
can one tell in advance whether BC will work?). For the learning player ``i``
with features ``phi(s, a_i)``, the expert's feature covariance
``Sigma_E = E_{d_E}[phi phi^T] + ridge I`` and a deviation ``pi'_j`` of another
player (everyone else on the expert), ``C(phi) = max_{j, pi'_j}
||E_{d^{pi'_j, pi^E_-j}}[phi(s, a_i)]||_{Sigma_E^-1}``, with ``a_i`` drawn from
the expert. Since ``||v||_{Sigma^-1} = max_{u^T Sigma u <= 1} u^T v``,
:func:`feature_concentrability` alternates: for a direction ``u``, the best
deviation maximizes the discounted reward ``rho_u(s) = E_{a_i ~ pi^E_i}
[u^T phi(s, a_i)]`` (a dynamic program); for the deviation's mean feature
``v``, the best direction is ``Sigma^-1 v``. Each round can only increase
``||v||_{Sigma^-1}``, so the result is a certified lower bound on ``C(phi)``
(the value of an actual deviation), with the deviation attaining it. One-hot
features give the state-action analogue ``sqrt(sum d'(s,a)^2 / d_E(s,a))``.

**Best-response continuity.** ``delta_i(eps)``: how far the best-response set
of player ``i`` can move away from ``pi^E_i`` when every other player moves by
at most ``eps`` (worst-state TV) from its expert policy. The distance from
``pi^E_i`` to the set of (subgame-perfect) best responses is exactly
``max_s pi^E_i(A \\ A*_s | s)``, the expert's mass on actions that are not
optimal in state ``s`` (moving that mass onto optimal actions is the closest
best response). :func:`best_response_distance` computes it and
:func:`best_response_continuity` estimates ``delta(eps)`` from below by random
perturbations and by a local search that climbs the largest advantage
``max_a Q_i(s, a) - E_{pi^E_i} Q_i(s, .)``.

Example:
    >>> import numpy as np
    >>> from mail_envs.public_goods import dominant_profile, make_public_goods_game
    >>> game = make_public_goods_game(2, num_stakes=1, multiplier=1.5, gamma=0.9)
    >>> round(bound_constant(game), 9)  # n * span / (1 - gamma)^2: n = 2, span = 1
    200.0
    >>> expert = dominant_profile(game)
    >>> rng = np.random.default_rng(0)
    >>> profiles = [perturb_profile(game, expert, e, rng=rng) for e in (0.0, 0.1)]
    >>> check = bound_check(game, expert, profiles, sizes=[0.0, 0.1])
    >>> bool(np.all(check.nash_conv <= check.bound_worst)), float(check.nash_conv[0])
    (True, 0.0)

### Version History

* v0: initial release (as ``agents.theory.imitation_theory``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg

from agents.theory.errors import bc_error
from mail_envs.core import TabularMarkovGame
from mail_envs.solvers import best_response, nash_gap, occupancy_measure
from mail_envs.solvers._tables import (
    action_indicator,
    expected_next,
    others_weights,
    policy_tables,
)

__all__ = [
    "BRContinuity",
    "BoundCheck",
    "Concentrability",
    "best_response_continuity",
    "best_response_distance",
    "bound_check",
    "bound_constant",
    "feature_concentrability",
    "perturb_profile",
    "reward_span",
]

Support = Literal["on", "off", "all"]


@dataclass(frozen=True)
class BoundCheck:
    """Measured NashConv of perturbed profiles against the BC-error bound.

    Attributes:
        sizes: ``(m,)`` perturbation size of each profile.
        nash_conv: ``(m,)`` exact NashConv.
        eps_expected: ``(m,)`` largest per-player expected BC error (under the
            expert's state occupancy).
        eps_worst: ``(m,)`` largest per-player worst-state BC error.
        constant: ``n * span / (1 - gamma)^2`` (or ``n * span * H^2``).
        bound_expected: ``constant * eps_expected``: NOT a valid bound, even
            for dominant-strategy experts (the valid expected-error bound is
            :func:`agents.theory.matching_experts.dominant_bound_check`).
        bound_worst: ``constant * eps_worst``: the bound of the module docstring.
    """

    sizes: np.ndarray
    nash_conv: np.ndarray
    eps_expected: np.ndarray
    eps_worst: np.ndarray
    constant: float
    bound_expected: np.ndarray
    bound_worst: np.ndarray


@dataclass(frozen=True)
class BRContinuity:
    """Lower estimates of ``delta(eps)`` for one player.

    Attributes:
        player: The responding player.
        eps: ``(m,)`` perturbation sizes of the other players.
        delta_random: ``(m,)`` largest distance found by random perturbations.
        delta_adversarial: ``(m,)`` largest found by the local search (at least
            ``delta_random``).
    """

    player: int
    eps: np.ndarray
    delta_random: np.ndarray
    delta_adversarial: np.ndarray


def reward_span(game: TabularMarkovGame) -> float:
    """``span = max_i (max r_i - min r_i)`` over the legal joint actions.

    Only non-terminal states count; with terminal states (which pay 0 forever)
    the interval ``[min r_i, max r_i]`` is widened to contain 0, since a return
    may stop accumulating at any step.
    """
    live = ~game.terminal
    legal = np.ones((game.num_states, *game.num_actions), dtype=bool)
    for i, mask in enumerate(game.legal_masks):
        shape = [game.num_states] + [1] * game.num_players
        shape[1 + i] = game.num_actions[i]
        legal &= mask.reshape(shape)
    pairs = legal.reshape(game.num_states, -1) & live[:, None]
    rewards = game.rewards[:, pairs]  # (n, number of live legal pairs)
    if rewards.size == 0:
        return 0.0
    high, low = rewards.max(axis=1), rewards.min(axis=1)
    if game.terminal.any():
        high, low = np.maximum(high, 0.0), np.minimum(low, 0.0)
    return float((high - low).max())


def bound_constant(game: TabularMarkovGame) -> float:
    """``n * span / (1-gamma)^2`` (discounted) or ``n * span * H^2`` (horizon H).

    ``span`` is :func:`reward_span`.
    """
    span = reward_span(game)
    if game.horizon is not None:
        return game.num_players * span * game.horizon**2
    return game.num_players * span / (1.0 - game.gamma) ** 2


def _support_states(
    game: TabularMarkovGame, expert: Sequence[np.ndarray], support: Support
) -> np.ndarray:
    visited = occupancy_measure(game, expert).state > 0
    chosen = {"on": visited, "off": ~visited, "all": np.ones_like(visited)}
    if support not in chosen:
        raise ValueError(f"support must be 'on', 'off' or 'all', got {support!r}")
    return chosen[support] & ~game.terminal


def perturb_profile(
    game: TabularMarkovGame,
    expert: Sequence[np.ndarray],
    size: float,
    *,
    support: Support = "all",
    players: Sequence[int] | None = None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, ...]:
    """Mix the expert with random legal policies in a chosen set of states.

    In every selected state ``pi_i = (1 - size) pi^E_i + size q`` with ``q`` a
    random (Dirichlet) distribution over the legal actions, so the worst-state
    TV from the expert is at most ``size``.

    Args:
        game: The game.
        expert: The expert's ``(S, A_i)`` tables.
        size: Mixing weight in ``[0, 1]``.
        support: Perturb states the expert visits (``"on"``), never visits
            (``"off"``) or ``"all"`` non-terminal states.
        players: Players to perturb (default all).
        rng: Random generator.

    Returns:
        The perturbed ``(S, A_i)`` tables.

    Raises:
        ValueError: If ``size`` or ``support`` is invalid.
    """
    if not 0.0 <= size <= 1.0:
        raise ValueError(f"size must lie in [0, 1], got {size!r}")
    tables = policy_tables(game, expert)
    states = _support_states(game, tables, support)
    chosen = range(game.num_players) if players is None else players
    bad = [p for p in chosen if not 0 <= p < game.num_players]
    if bad:
        raise ValueError(f"players must lie in [0, {game.num_players}), got {bad}")
    out = list(tables)
    for i in chosen:
        mask = game.legal_masks[i]
        noise = rng.gamma(1.0, size=mask.shape) * mask
        noise /= noise.sum(axis=1, keepdims=True)
        mixed = (1.0 - size) * tables[i] + size * noise
        out[i] = np.where(states[:, None], mixed, tables[i])
    return tuple(out)


def bound_check(
    game: TabularMarkovGame,
    expert: Sequence[np.ndarray],
    profiles: Sequence[Sequence[np.ndarray]],
    sizes: Sequence[float] | None = None,
) -> BoundCheck:
    """NashConv of each profile beside both forms of the BC-error bound.

    Args:
        game: The game.
        expert: The expert profile (the bound is proved for dominant-strategy
            experts; elsewhere the numbers show how it fails).
        profiles: Learned profiles to check.
        sizes: Optional label per profile (e.g. its perturbation size).

    Returns:
        A :class:`BoundCheck`.
    """
    if len(profiles) == 0:
        raise ValueError("bound_check needs at least one profile, got none")
    constant = bound_constant(game)
    rows = []
    for profile in profiles:
        err = bc_error(game, profile, expert)
        gap = nash_gap(game, profile).nash_conv
        rows.append((gap, float(err.expected.max()), float(err.worst.max())))
    gaps, eps_exp, eps_worst = (np.array(c) for c in zip(*rows, strict=True))
    return BoundCheck(
        sizes=np.asarray(sizes if sizes is not None else np.arange(len(rows)), float),
        nash_conv=gaps,
        eps_expected=eps_exp,
        eps_worst=eps_worst,
        constant=constant,
        bound_expected=constant * eps_exp,
        bound_worst=constant * eps_worst,
    )


def _br_q(game: TabularMarkovGame, tables: Sequence[np.ndarray], player: int):
    """Player ``player``'s optimal Q-values ``(S, A_i)`` against the others."""
    br = best_response(game, tables, player)
    weights = others_weights(game, tables, player)
    q = (game.rewards[player] + game.gamma * expected_next(game, br.values)) * weights
    q = q @ action_indicator(game, player)
    return np.where(game.legal_masks[player], q, -np.inf)


def _distance_and_advantage(game, expert_i, tables, player):
    q = _br_q(game, tables, player)
    best = q.max(axis=1, keepdims=True)
    optimal = q >= best - 1e-9 * (1.0 + np.abs(best))
    live = ~game.terminal
    off_mass = np.where(optimal, 0.0, expert_i).sum(axis=1)
    advantage = best[:, 0] - np.where(np.isfinite(q), q * expert_i, 0.0).sum(axis=1)
    return float(off_mass[live].max(initial=0.0)), float(
        advantage[live].max(initial=0.0)
    )


def best_response_distance(
    game: TabularMarkovGame,
    expert: Sequence[np.ndarray],
    others: Sequence[np.ndarray],
    player: int,
) -> float:
    """TV distance from ``pi^E_i`` to player ``i``'s best-response set.

    Args:
        game: A discounted game.
        expert: The expert profile (only ``expert[player]`` is used).
        others: A profile whose entries other than ``player`` are the others'
            policies.
        player: The responding player.

    Returns:
        ``max_s pi^E_i(non-optimal actions | s)`` over non-terminal states.

    Raises:
        ValueError: If the game has a horizon (not supported) or a policy is
            invalid.
    """
    if game.horizon is not None:
        raise ValueError("best_response_distance needs a discounted game")
    tables = list(policy_tables(game, others))
    expert_i = policy_tables(game, expert)[player]
    tables[player] = expert_i
    return _distance_and_advantage(game, expert_i, tables, player)[0]


def best_response_continuity(
    game: TabularMarkovGame,
    expert: Sequence[np.ndarray],
    player: int,
    eps: Sequence[float],
    *,
    num_random: int = 20,
    search_steps: int = 30,
    seed: int = 0,
) -> BRContinuity:
    """Estimate ``delta_i(eps)`` from below, by random and adversarial search.

    Args:
        game: A discounted game.
        expert: The expert's ``(S, A_i)`` tables.
        player: The responding player.
        eps: Perturbation sizes of the other players (worst-state TV).
        num_random: Random perturbations per size.
        search_steps: Local-search steps per size (each tries one random move
            of the perturbation direction and keeps it when the largest
            advantage does not decrease).
        seed: Seed of the random perturbations.

    Returns:
        A :class:`BRContinuity`.
    """
    if game.horizon is not None:
        raise ValueError("best_response_continuity needs a discounted game")
    if num_random < 1 or search_steps < 0:
        raise ValueError(
            f"num_random must be >= 1 and search_steps >= 0, got {num_random!r} "
            f"and {search_steps!r}"
        )
    rng = np.random.default_rng(seed)
    others = [i for i in range(game.num_players) if i != player]
    expert_t = policy_tables(game, expert)
    d_random, d_adv = [], []
    for size in eps:
        best_rand, best_score, best_dist = 0.0, -np.inf, 0.0
        best_profile = expert_t
        for _ in range(num_random):
            profile = perturb_profile(game, expert_t, size, players=others, rng=rng)
            dist, adv = _distance_and_advantage(game, expert_t[player], profile, player)
            best_rand = max(best_rand, dist)
            if adv > best_score:
                best_score, best_profile, best_dist = adv, profile, dist
        found = max(best_rand, best_dist)
        for _ in range(search_steps):
            step = perturb_profile(game, best_profile, 0.3, players=others, rng=rng)
            # Project back into the eps-ball around the expert: mix toward it.
            candidate = list(step)
            for j in others:
                tv = 0.5 * np.abs(step[j] - expert_t[j]).sum(axis=1).max()
                if tv > size:
                    candidate[j] = expert_t[j] + (size / tv) * (step[j] - expert_t[j])
            dist, adv = _distance_and_advantage(
                game, expert_t[player], candidate, player
            )
            found = max(found, dist)
            if adv >= best_score:
                best_score, best_profile = adv, tuple(candidate)
        d_random.append(best_rand)
        d_adv.append(found)
    return BRContinuity(
        player=player,
        eps=np.asarray(eps, dtype=float),
        delta_random=np.array(d_random),
        delta_adversarial=np.array(d_adv),
    )


@dataclass(frozen=True)
class Concentrability:
    """A certified lower bound on the feature concentrability ``C(phi)``.

    Attributes:
        value: ``||E_dev[phi]||_{Sigma_E^-1}`` of the best deviation found.
        deviating_player: The player whose deviation attains it.
        deviation: That player's deviation policy, ``(S, A_j)``.
        mean_feature: ``E_dev[phi]``, ``(d,)``.
        history: Value after each alternation round of the best restart.
    """

    value: float
    deviating_player: int
    deviation: np.ndarray
    mean_feature: np.ndarray
    history: tuple[float, ...]


def _mean_feature(game, tables, features, player):
    occ = occupancy_measure(game, tables)
    return np.einsum("sa,sad->d", occ.player_state_action[player], features)


def feature_concentrability(
    game: TabularMarkovGame,
    expert: Sequence[np.ndarray],
    features: np.ndarray,
    player: int,
    *,
    ridge: float = 1e-3,
    normalize: bool = True,
    restarts: int = 5,
    rounds: int = 20,
    seed: int = 0,
) -> Concentrability:
    """Lower-bound ``C(phi)`` by best responses to linear directions.

    Args:
        game: A discounted game.
        expert: The expert's ``(S, A_i)`` tables.
        features: ``(S, A_player, d)`` features of the learning player.
        player: The learning player ``i``.
        ridge: Added to ``Sigma_E``'s diagonal (one-hot features leave it
            singular where the expert never goes; the bound then grows like
            ``ridge^-1/2``).
        normalize: Scale ``phi`` so that ``max ||phi(s, a)|| = 1`` first, so that
            ``ridge`` means the same for every map (without a ridge, ``C`` does
            not depend on the scale of ``phi``).
        restarts: Random initial directions (plus the all-ones direction).
        rounds: Alternation rounds per restart (stops early at a fixed point).
        seed: Seed of the initial directions.

    Returns:
        A :class:`Concentrability`.

    Raises:
        ValueError: If the game has a horizon, ``features`` has the wrong
            shape, or ``ridge <= 0``.
    """
    if game.horizon is not None:
        raise ValueError("feature_concentrability needs a discounted game")
    expected = (game.num_states, game.num_actions[player])
    if features.ndim != 3 or features.shape[:2] != expected:
        raise ValueError(
            f"features must have shape (S, A_{player}, d) = {expected} + (d,), "
            f"got {features.shape}"
        )
    if not ridge > 0:
        raise ValueError(f"ridge must be > 0, got {ridge!r}")
    phi = np.asarray(features, dtype=np.float64)
    if normalize:
        phi = phi / max(float(np.linalg.norm(phi, axis=2).max()), 1e-300)
    tables = policy_tables(game, expert)
    occ = occupancy_measure(game, tables).player_state_action[player]
    dim = phi.shape[2]
    flat = phi.reshape(-1, dim)
    sigma = (flat * occ.reshape(-1, 1)).T @ flat + ridge * np.eye(dim)
    # One Cholesky factorization; every later step is a matrix-vector product.
    sigma_inv = scipy.linalg.cho_solve(
        scipy.linalg.cho_factor(sigma, lower=True), np.eye(dim)
    )

    def norm(v: np.ndarray) -> float:
        return float(np.sqrt(max(v @ sigma_inv @ v, 0.0)))

    rng = np.random.default_rng(seed)
    best: Concentrability | None = None
    # Per-state feature under the expert's action distribution: (S, d).
    state_phi = np.einsum("sa,sad->sd", tables[player], phi)
    for j in (k for k in range(game.num_players) if k != player):
        starts = [np.ones(dim)] + [rng.standard_normal(dim) for _ in range(restarts)]
        for u in starts:
            history: list[float] = []
            for _ in range(rounds):
                rho = np.where(game.terminal, 0.0, state_phi @ u)
                rewards = np.zeros_like(game.rewards)
                rewards[j] = rho[:, None]
                surrogate = dataclasses.replace(game, rewards=rewards)
                profile = list(tables)
                profile[j] = best_response(surrogate, tables, j).policy
                mean = _mean_feature(game, profile, phi, player)
                value = norm(mean)
                if history and value <= history[-1] * (1 + 1e-12):
                    break  # a fixed point: no direction improves any more
                history.append(value)
                if best is None or value > best.value:
                    best = Concentrability(value, j, profile[j], mean, ())
                u = sigma_inv @ mean  # noqa: PLW2901 - the alternation's next direction
            if best is not None and best.history == () and history:
                best = dataclasses.replace(best, history=tuple(history))
    if best is None:
        raise ValueError("feature_concentrability needs at least two players")
    return best
