"""LSVI-UCB-ZERO exploration and LSVI-UCB-ZERO-BC (linear features, finite horizon).

The interactive MAIL algorithm for linear Markov games of Viano, Freihaut et
al. ("Multi-agent imitation learning with function approximation: linear
Markov games and beyond"): to learn player ``i``'s policy, player ``i`` follows
the expert while another player, the *explorer*, runs reward-free exploration
— LSVI-UCB (Jin, Yang, Wang, Jordan 2020, "Provably efficient reinforcement
learning with linear function approximation", Algorithm 1) with the reward set
to zero, so the exploration bonus is the only signal (as in the reward-free
exploration of Jin, Krishnamurthy, Simchowitz, Yu 2020). Every state the
learning player visits is labelled by the expert; behaviour cloning with the
softmax-linear policy over the feature map gives the learned policy.

For episode ``k`` and step ``h = H-1, ..., 0`` (``V_H = 0``, terminal states
have value 0), with the explorer's features ``phi(s, a)`` in ``R^d``::

    Lambda_h = lambda I + sum_{tau < k} phi_h^tau phi_h^tau^T
    w_h      = Lambda_h^-1 sum_{tau < k} phi_h^tau V_{h+1}(s_{h+1}^tau)
    Q_h(s,a) = min(H, phi(s,a)^T w_h + beta sqrt(phi(s,a)^T Lambda_h^-1 phi(s,a)))
    V_h(s)   = max over the explorer's legal a of Q_h(s, a)

then the explorer plays ``argmax_a Q_h(s_h, a)`` (ties broken uniformly at
random by the seeded generator) and the other players sample the expert.

Implementation: ``Lambda_h^-1`` is updated by Sherman–Morrison after every
step; the quadratic forms ``phi^T Lambda_h^-1 phi`` of ALL (state, action)
pairs are kept up to date by the same rank-one downdate (``O(SAd)`` per step);
the backward pass is three matrix-vector products per step ``h`` over all
states at once. Both skip exact zeros only (:func:`rank_one_downdate`, the
backward pass's gather and diagonal products), so with one-hot (tabular)
features a step costs ``O(SA)`` and every result equals the dense
computation's bit for bit. Episodes are sampled on the model
(:class:`~mail_envs.core.TabularMarkovGame`), not by stepping the env: the
model gives the same transitions and is much faster.

Defaults follow the paper: ``beta = 10``, ``lambda = 0.1``, ``H = 10``.

Example:
    >>> import numpy as np
    >>> from mail_envs.core import TabularMarkovGame, check_real
    >>> game = TabularMarkovGame(
    ...     num_actions=(2, 2),
    ...     next_states=np.array([[[0], [1], [1], [0]], [[1], [1], [1], [1]]]),
    ...     next_probs=np.ones((2, 4, 1)),
    ...     rewards=np.zeros((2, 2, 4)),
    ...     legal_masks=(np.ones((2, 2), bool), np.ones((2, 2), bool)),
    ...     initial_distribution=np.array([1.0, 0.0]),
    ...     gamma=0.9,
    ... )
    >>> expert = (np.full((2, 2), 0.5), np.full((2, 2), 0.5))
    >>> tabular = np.eye(4).reshape(2, 2, 4)
    >>> explorer = LSVIUCBZero(num_episodes=5, horizon=3, seed=0)
    >>> out = explorer.explore(game, expert, tabular, explorer=1)
    >>> out.labels[0].num_queries, out.labels[0].metadata["agents"]
    (15, ['player_0'])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.common import check_positive_int, spawn_seeds
from agents.imitation import ImitationProblem, ImitationResult
from agents.linear.baselines import model_imitation
from agents.linear.problem import model_setup
from agents.linear.rollouts import (
    Trajectories,
    check_expert_policies,
    check_features,
    collect_labels,
    sample_categorical,
    step_with_experts,
    terminal_mask,
)
from agents.monitor import RunMonitor, progress_every, resolve_monitor
from mail_envs.core import TabularMarkovGame, check_real
from mail_wrappers.recorder import ExpertLabelDataset

__all__ = [
    "LSVIExploration",
    "LSVIUCBZero",
    "LSVIUCBZeroBC",
    "optimistic_q_values",
    "rank_one_downdate",
    "single_nonzero_index",
]


@dataclass(frozen=True)
class LSVIExploration:
    """What one LSVI-UCB-ZERO exploration run produced.

    Attributes:
        explorer: The exploring player.
        trajectories: The ``K`` episodes played.
        labels: Expert labels of every non-exploring player, indexed by player
            (``None`` at the explorer's index), as
            :func:`~agents.linear.rollouts.collect_labels` gives them
            (observations are state indices).
        cov_inv: ``(H, d, d)`` final ``Lambda_h^-1`` (Sherman–Morrison).
        bonuses: ``(H, S, A_explorer)`` final bonuses
            ``beta * sqrt(phi^T Lambda_h^-1 phi)``.
        initial_bonuses: ``(S, A_explorer)`` bonuses before any data
            (``beta * ||phi|| / sqrt(lambda)``).
        q_values: ``(H, S, A_explorer)`` optimistic Q values from all ``K``
            episodes' data (what episode ``K + 1`` would act on).
        clipped: ``(K, H)`` True where the explorer had a decision (two or
            more legal actions) and every legal optimistic Q value was at the
            cap ``H``: there the argmax is a uniform tie break, so the
            explorer explores at random.
    """

    explorer: int
    trajectories: Trajectories
    labels: tuple[ExpertLabelDataset | None, ...]
    cov_inv: np.ndarray
    bonuses: np.ndarray
    initial_bonuses: np.ndarray
    q_values: np.ndarray
    clipped: np.ndarray

    @property
    def clipped_fraction(self) -> float:
        """Fraction of the explorer's decisions with every legal Q at the cap ``H``."""
        decisions = int(self.decisions.sum())
        return float(self.clipped.sum() / decisions) if decisions else 0.0

    @property
    def decisions(self) -> np.ndarray:
        """``(K, H)`` True where the explorer played with two or more legal actions."""
        states = self.trajectories.states[:, :-1]
        return self.trajectories.alive & self._multi_legal[states]

    @property
    def _multi_legal(self) -> np.ndarray:
        """``(S,)`` states where the explorer has two or more legal actions."""
        return np.isfinite(self.q_values[0]).sum(axis=1) >= 2


def optimistic_q_values(
    features: np.ndarray,
    legal: np.ndarray,
    terminal: np.ndarray,
    *,
    cov_inv: np.ndarray,
    quad: np.ndarray,
    data_phi: np.ndarray,
    data_next: np.ndarray,
    counts: np.ndarray,
    beta: float,
    diagonal: np.ndarray | None = None,
) -> np.ndarray:
    """The backward pass of LSVI-UCB with zero reward, for all states at once.

    Jin et al. (2020), Algorithm 1, lines 4-7 with ``r = 0``: for
    ``h = H-1, ..., 0``, ``w_h = Lambda_h^-1 sum_tau phi_h^tau V_{h+1}(s')`` and
    ``Q_h = min(H, phi^T w_h + beta sqrt(phi^T Lambda_h^-1 phi))``; ``V_H = 0``
    and terminal states have value 0.

    Args:
        features: ``(S, A, d)`` explorer features.
        legal: ``(S, A)`` the explorer's legal actions.
        terminal: ``(S,)`` terminal states.
        cov_inv: ``(H, d, d)`` ``Lambda_h^-1``.
        quad: ``(H, S * A)`` ``phi^T Lambda_h^-1 phi`` of every (state, action).
        data_phi: ``(H, >= max(counts), d)`` stored features per step.
        data_next: ``(H, >= max(counts))`` stored next states per step.
        counts: ``(H,)`` number of stored transitions per step.
        beta: Bonus scale.
        diagonal: ``(H,)`` True where ``cov_inv[h]`` is known to be diagonal
            (with one-hot features it stays so); there ``Lambda_h^-1 b`` is
            computed as ``diag(Lambda_h^-1) * b``, which is the same product
            (the other terms are exact zeros). Default: no such knowledge.

    Returns:
        ``(H, S, A)`` optimistic Q values, ``-inf`` on illegal actions.
    """
    return _BackwardPass(features, legal, terminal, beta)(
        cov_inv, quad, data_phi, data_next, counts, diagonal
    )


class _BackwardPass:
    """:func:`optimistic_q_values` with the per-problem work done once.

    Every shortcut only drops exact zeros, so the values are those of the plain
    formulas bit for bit: where every feature vector has at most one non-zero
    entry (tabular features), ``flat @ w`` is that entry times one coordinate
    of ``w`` (a gather); on a diagonal ``Lambda_h^-1`` the matrix-vector
    product is a coordinate-wise one; the maximum over a few actions is taken
    column by column (numpy's reduction along a short axis is slow).
    """

    def __init__(
        self, features: np.ndarray, legal: np.ndarray, terminal: np.ndarray, beta: float
    ) -> None:
        num_s, num_a, d = features.shape
        self.shape = (num_s, num_a)
        self.flat = features.reshape(num_s * num_a, d)
        self.terminal = terminal
        self.beta = beta
        nonzero = self.flat != 0.0
        self.gather: tuple[np.ndarray, np.ndarray] | None = None
        if np.all(nonzero.sum(axis=1) <= 1):
            cols = np.argmax(nonzero, axis=1)
            self.gather = (cols, self.flat[np.arange(num_s * num_a), cols])
        self.illegal = ~legal

    def __call__(
        self,
        cov_inv: np.ndarray,
        quad: np.ndarray,
        data_phi: np.ndarray,
        data_next: np.ndarray,
        counts: np.ndarray,
        diagonal: np.ndarray | None = None,
    ) -> np.ndarray:
        num_s, num_a = self.shape
        big_h = cov_inv.shape[0]
        cap = float(big_h)
        q = np.empty((big_h, num_s, num_a))
        v_next = np.zeros(num_s)
        bonuses = self.beta * np.sqrt(np.maximum(quad, 0.0))
        for h in range(big_h - 1, -1, -1):
            c = counts[h]
            b = data_phi[h, :c].T @ v_next[data_next[h, :c]]
            if diagonal is not None and diagonal[h]:
                w = np.diagonal(cov_inv[h]) * b
            else:
                w = cov_inv[h] @ b
            if self.gather is None:
                mean = self.flat @ w
            else:
                mean = self.gather[1] * w[self.gather[0]]
            q_h = np.minimum(mean + bonuses[h], cap).reshape(num_s, num_a)
            np.copyto(q[h], q_h)
            q[h][self.illegal] = -np.inf
            v_next = q[h][:, 0].copy()
            for a in range(1, num_a):
                np.maximum(v_next, q[h][:, a], out=v_next)
            v_next[self.terminal] = 0.0
        return q


def single_nonzero_index(features: np.ndarray) -> np.ndarray:
    """Per feature vector, the index of its only non-zero entry, or ``-1``.

    Args:
        features: ``(..., d)`` feature vectors.

    Returns:
        ``(...)`` int64: the coordinate of the single non-zero entry where a
        vector has exactly one (tabular / one-hot features), else ``-1``.
    """
    nonzero = features != 0.0
    return np.where(nonzero.sum(axis=-1) == 1, np.argmax(nonzero, axis=-1), -1).astype(
        np.int64
    )


def rank_one_downdate(
    cov_inv: np.ndarray,
    quad: np.ndarray,
    x: np.ndarray,
    flat: np.ndarray,
    *,
    flat_t: np.ndarray | None = None,
    x_index: int = -1,
) -> bool:
    """Add ``x x^T`` to ``Lambda``: update ``Lambda^-1`` and all quadratic forms in place.

    The Sherman–Morrison step of LSVI-UCB (Jin et al. 2020, Algorithm 1, with
    ``Lambda_h^-1`` kept up to date): with ``u = Lambda^-1 x`` and
    ``c = 1 + x^T u``, ``Lambda^-1 <- Lambda^-1 - u u^T / c`` and, for every
    row ``f`` of ``flat``, ``f^T Lambda^-1 f <- f^T Lambda^-1 f - (f^T u)^2 / c``.

    The results equal, bit for bit, those of
    :func:`mail_wrappers.elliptical.sherman_morrison_update` followed by
    ``quad -= (flat @ u) ** 2 / c``, at a fraction of the cost: the update
    writes into ``cov_inv`` (no ``d x d`` temporaries, and no symmetrisation,
    which is the identity on an exactly symmetric matrix: ``u_i u_j = u_j u_i``
    keeps it exactly symmetric), and it skips only exact zeros: entries of
    ``u u^T`` with a zero factor leave ``Lambda^-1`` unchanged (it never holds
    ``-0.0``), and where ``x`` or ``u`` has a single non-zero entry the
    matrix-vector products are that one product (the other terms are exact
    zeros), so ``u`` is a scaled column and ``flat @ u`` a scaled column of
    ``flat``. With one-hot (tabular) features every step costs ``O(S A)``
    instead of ``O(d^2 + S A d)``.

    Args:
        cov_inv: ``(d, d)`` exactly symmetric ``Lambda^-1``, updated in place.
        quad: ``(N,)`` ``flat[r]^T Lambda^-1 flat[r]``, updated in place.
        x: ``(d,)`` finite features of the new data point.
        flat: ``(N, d)`` the feature vectors whose quadratic forms ``quad``
            holds.
        flat_t: ``flat.T`` as a C-contiguous array (optional, speeds up the
            single-column case).
        x_index: The coordinate of ``x``'s only non-zero entry, or ``-1`` if
            ``x`` has none or several (see :func:`single_nonzero_index`).

    Returns:
        True if only diagonal entries of ``cov_inv`` changed (``u`` has at
        most one non-zero entry): a diagonal ``Lambda^-1`` stays diagonal.

    Raises:
        ValueError: If ``x^T Lambda^-1 x`` overflows (features far too large).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        if x_index >= 0:
            xj = float(x[x_index])
            u = cov_inv[x_index] * xj  # row = column: Lambda^-1 is symmetric
            denom = 1.0 + xj * float(u[x_index])
        else:
            u = cov_inv @ x
            denom = 1.0 + float(x @ u)
    if not math.isfinite(denom):  # finite x: a non-finite u gives a non-finite x^T u
        raise ValueError(
            "phi is too large: phi^T Lambda^-1 phi overflowed in the "
            "Sherman-Morrison update; rescale the features"
        )
    support = np.flatnonzero(u)
    if support.size == 1:
        i = int(support[0])
        u_i = float(u[i])
        cov_inv[i, i] = cov_inv[i, i] - u_i * u_i / denom
        column = flat_t[i] if flat_t is not None else flat[:, i]
        proj = column * u_i
        quad -= proj * proj / denom
        return True
    if support.size == 0:
        return True  # u = 0: nothing changes
    if 2 * support.size > u.size:
        cov_inv -= np.multiply.outer(u, u) / denom
    else:
        u_s = u[support]
        cov_inv[support[:, None], support] -= np.multiply.outer(u_s, u_s) / denom
    proj = flat @ u
    quad -= proj * proj / denom
    return False


class LSVIUCBZero:
    """Reward-free LSVI-UCB exploration by one player against expert players.

    Args:
        beta: Bonus scale ``beta`` (paper: 10).
        ridge: Ridge ``lambda`` of ``Lambda_h`` (paper: 0.1).
        horizon: Steps per episode ``H`` (paper: 10); also the cap of ``Q``.
        num_episodes: Episodes ``K``.
        seed: Seed of the initial states, expert actions, transitions and tie
            breaks.

    Raises:
        ValueError: If a parameter is out of range.
    """

    def __init__(
        self,
        *,
        beta: float = 10.0,
        ridge: float = 0.1,
        horizon: int = 10,
        num_episodes: int = 50,
        seed: int | np.random.SeedSequence = 0,
    ) -> None:
        beta = check_real("beta", beta, minimum=0.0)
        ridge = check_real("ridge", ridge, minimum=0.0, open_minimum=True)
        horizon = check_positive_int("horizon", horizon)
        num_episodes = check_positive_int("num_episodes", num_episodes)
        self.beta = float(beta)
        self.ridge = float(ridge)
        self.horizon = int(horizon)
        self.num_episodes = int(num_episodes)
        self.seed = seed

    def explore(
        self,
        game: TabularMarkovGame,
        expert_policies: Sequence[np.ndarray],
        features: np.ndarray,
        *,
        explorer: int,
        monitor: RunMonitor | None = None,
        label: str | None = None,
    ) -> LSVIExploration:
        """Run ``K`` episodes of LSVI-UCB-ZERO and label the other players.

        Args:
            game: The game (its model is sampled).
            expert_policies: Expert tables of every player, ``(S, A_j)`` or
                time-indexed ``(T, S, A_j)``; the explorer's is ignored.
            features: ``(S, A_explorer, d)`` explorer features ``phi(s, a)``.
            explorer: The exploring player.
            monitor: Progress and logs (:class:`~agents.monitor.RunMonitor`),
                about every 1% of the episodes and at the last: stage
                ``"episodes <label>"`` and, in ``monitor.logger(f"{label}/lsvi")``,
                ``lsvi/episode``, ``lsvi/steps`` (explorer steps so far),
                ``lsvi/episode_length`` and ``lsvi/optimistic_value`` (the
                optimistic ``V_0`` of the episode's initial state), dumped with
                ``step=episode``. The run does not depend on it.
            label: Names the stage and the logs (default ``player_<explorer>``).

        Returns:
            The :class:`LSVIExploration`.

        Raises:
            ValueError: If a table or the features have the wrong shape, or
                ``explorer`` is not a player.
        """
        n = game.num_players
        if not 0 <= int(explorer) < n:
            raise ValueError(f"explorer must be in [0, {n}), got {explorer!r}")
        if n < 2:
            raise ValueError(f"need at least two players, got {n}")
        experts = check_expert_policies(game, expert_policies)
        phi = check_features(game, explorer, features)
        num_s, num_a, d = phi.shape
        big_h, big_k = self.horizon, self.num_episodes
        rng = np.random.default_rng(self.seed)

        flat = phi.reshape(num_s * num_a, d)
        legal = game.legal_masks[explorer]
        terminal = terminal_mask(game)
        cov_inv = np.broadcast_to(np.eye(d) / self.ridge, (big_h, d, d)).copy()
        quad = np.broadcast_to(
            np.einsum("nd,nd->n", flat, flat) / self.ridge, (big_h, num_s * num_a)
        ).copy()
        initial_bonuses = self.beta * np.sqrt(quad[0]).reshape(num_s, num_a)
        data_phi = np.zeros((big_h, big_k, d))
        data_next = np.zeros((big_h, big_k), dtype=np.int64)
        counts = np.zeros(big_h, dtype=np.int64)

        states = np.empty((big_k, big_h + 1), dtype=np.int64)
        actions = np.full((n, big_k, big_h), -1, dtype=np.int64)
        alive = np.zeros((big_k, big_h), dtype=bool)
        clipped = np.zeros((big_k, big_h), dtype=bool)
        multi_legal = legal.sum(axis=1) >= 2
        initial = sample_categorical(
            np.broadcast_to(game.initial_distribution, (big_k, num_s)), rng
        )

        monitor = resolve_monitor(monitor)
        label = f"player_{int(explorer)}" if label is None else label
        logger = monitor.logger(f"{label}/lsvi")
        report_every = progress_every(big_k)

        backward = _BackwardPass(phi, legal, terminal, self.beta)
        diagonal = np.ones(big_h, dtype=bool)  # Lambda_h^-1 = I / lambda so far

        def optimistic_q() -> np.ndarray:
            """Optimistic Q of every state under the data so far (in place arrays)."""
            return backward(cov_inv, quad, data_phi, data_next, counts, diagonal)

        # Python scalars for the per-step bookkeeping (numpy calls on a single
        # row cost more than the arithmetic).
        terminal_of = terminal.tolist()
        multi_legal_of = multi_legal.tolist()
        legal_of = [np.flatnonzero(m).tolist() for m in legal]
        one_hot = single_nonzero_index(phi).tolist()
        flat_t = np.ascontiguousarray(flat.T)
        for k in range(big_k):
            # Backward pass: optimistic Q for every state at once.
            q = optimistic_q()
            # Forward pass: the explorer is greedy, the others follow the expert.
            s = int(initial[k])
            states[k] = s
            for h in range(big_h):
                if terminal_of[s]:
                    break
                alive[k, h] = True
                row = q[h, s].tolist()
                if multi_legal_of[s]:
                    clipped[k, h] = min(row[a] for a in legal_of[s]) >= big_h
                top = max(row)
                best = [a for a, v in enumerate(row) if v == top]
                a_exp = best[rng.integers(len(best))] if len(best) > 1 else best[0]
                actions[explorer, k, h] = a_exp
                nxt = step_with_experts(
                    game, experts, actions[:, k, h], explorer, s, h, rng
                )
                # Sherman–Morrison update of Lambda_h^-1 and of all quadratic forms.
                x = phi[s, a_exp]
                diagonal[h] &= rank_one_downdate(
                    cov_inv[h],
                    quad[h],
                    x,
                    flat,
                    flat_t=flat_t,
                    x_index=one_hot[s][a_exp],
                )
                data_phi[h, counts[h]] = x
                data_next[h, counts[h]] = nxt
                counts[h] += 1
                states[k, h + 1 :] = nxt
                s = nxt
            if (k + 1) % report_every == 0 or k + 1 == big_k:
                if monitor.enabled:
                    logger.record("lsvi/episode", k + 1)
                    logger.record("lsvi/steps", int(counts.sum()))
                    logger.record("lsvi/episode_length", int(alive[k].sum()))
                    logger.record(
                        "lsvi/optimistic_value", float(q[0, int(initial[k])].max())
                    )
                    logger.dump(step=k + 1)
                monitor.report(f"episodes {label}", k + 1, big_k)
        logger.close()

        trajectories = Trajectories(states=states, actions=actions, alive=alive)
        final_q = optimistic_q()
        labels = tuple(
            None if j == explorer else collect_labels(game, trajectories, experts, j)
            for j in range(n)
        )
        return LSVIExploration(
            explorer=int(explorer),
            trajectories=trajectories,
            labels=labels,
            cov_inv=cov_inv,
            bonuses=self.beta
            * np.sqrt(np.maximum(quad, 0.0)).reshape(big_h, num_s, num_a),
            initial_bonuses=initial_bonuses,
            q_values=final_q,
            clipped=clipped,
        )


class LSVIUCBZeroBC:
    """LSVI-UCB-ZERO-BC: interactive MAIL with linear features.

    For every player ``i``: player ``i`` follows the expert while the explorer
    (player ``(i + 1) % n``) runs :class:`LSVIUCBZero` for ``K`` episodes over
    its feature map; BC with the softmax-linear policy over player ``i``'s
    feature map on ``i``'s expert labels gives ``pi_i``
    (:func:`~agents.linear.softmax.fit_softmax_linear`). The learned profile
    is ``(pi_0, ..., pi_{n-1})``; evaluate it exactly with
    :func:`mail_envs.solvers.nash_gap`.

    Seeding: :func:`agents.common.spawn_seeds` gives one child seed sequence
    per learning player, the seed of that player's :class:`LSVIUCBZero` run.

    Args:
        problem: The problem; it needs a ``model`` and a ``linear`` setup
            (expert tables; features: the explorer's for LSVI and the
            learner's BC policy class; horizon ``H``, paper: 10).
        num_episodes: Episodes ``K`` per learning player.
        seed: Master seed of the run.
        beta: Bonus scale (paper: 10).
        ridge: Ridge ``lambda`` (paper: 0.1).
        l2: Ridge weight of the BC fit.
        monitor: Progress reports and logs (:class:`~agents.monitor.RunMonitor`):
            each learner's exploration as stage ``"episodes <learner>"`` and
            logs ``"<learner>/lsvi"`` (see :meth:`LSVIUCBZero.explore`).

    Raises:
        ValueError: If the problem has no model or linear setup (or they are
            invalid, see :func:`~agents.linear.problem.model_setup`), or a
            parameter is out of range.

    Example:
        >>> from agents.linear.features import tabular_features
        >>> from agents.linear.problem import linear_problem
        >>> from mail_envs.solvers import nash_gap, solve_zero_sum
        >>> from mail_envs.gridworld import make_gridworld_game
        >>> game = make_gridworld_game(size=3)
        >>> feats = [tabular_features(game, i) for i in range(2)]
        >>> problem = linear_problem(game, solve_zero_sum(game).policies, feats)
        >>> result = LSVIUCBZeroBC(problem, num_episodes=50, seed=0).run()
        >>> result.method, result.num_queries, result.explorer_steps
        ('lsvi-ucb-zero', (500, 500), (500, 500))
        >>> bool(nash_gap(game, list(result.policies)).nash_conv < 0.2)
        True
    """

    #: The method's registry name.
    name = "lsvi-ucb-zero"

    def __init__(
        self,
        problem: ImitationProblem,
        *,
        num_episodes: int,
        seed: int = 0,
        beta: float = 10.0,
        ridge: float = 0.1,
        l2: float = 1e-4,
        monitor: RunMonitor | None = None,
    ) -> None:
        self.setup = model_setup(problem)
        self.monitor = resolve_monitor(monitor)
        self.problem = problem
        self.num_episodes = check_positive_int("num_episodes", num_episodes)
        # Validate once through the explorer's constructor.
        LSVIUCBZero(
            beta=beta,
            ridge=ridge,
            horizon=self.setup.horizon,
            num_episodes=self.num_episodes,
        )
        l2 = check_real("l2", l2, minimum=0.0, open_minimum=True)
        self.player_seeds = spawn_seeds(seed, self.setup.num_players)
        self.seed = int(seed)
        self.beta = float(beta)
        self.ridge = float(ridge)
        self.l2 = float(l2)

    @property
    def horizon(self) -> int:
        """Steps per episode ``H`` (the problem's ``linear.horizon``)."""
        return self.setup.horizon

    def run(self) -> ImitationResult:
        """Explore once per learning player, then clone every player.

        Returns:
            The :class:`~agents.imitation.ImitationResult`
            (``method="lsvi-ucb-zero"``): one dataset and one ``(S, A_i)``
            policy table per player; ``explorer_steps`` are the steps the
            explorer played for each learning player; ``info`` holds
            ``thetas``, ``horizon``, ``num_episodes``, ``beta``, ``ridge``,
            ``l2``, ``explorers``, ``explorer_decisions`` and
            ``clipped_fraction`` (per learning player: its explorer's
            decisions, and :attr:`LSVIExploration.clipped_fraction` of its
            run, the share of those decisions where optimism was clipped at
            ``H`` for every legal action, i.e. the explorer played at random).
        """
        setup = self.setup
        clipped: list[float] = []
        decisions: list[int] = []

        def explore(i: int, j: int) -> Trajectories:
            explorer = LSVIUCBZero(
                beta=self.beta,
                ridge=self.ridge,
                horizon=self.horizon,
                num_episodes=self.num_episodes,
                seed=self.player_seeds[i],
            )
            out = explorer.explore(
                setup.game,
                setup.expert_tables,
                setup.features[j],
                explorer=j,
                monitor=self.monitor,
                label=setup.agents[i],
            )
            clipped.append(out.clipped_fraction)
            decisions.append(int(out.decisions.sum()))
            return out.trajectories

        return model_imitation(
            setup,
            self.name,
            explore,
            seed=self.seed,
            l2=self.l2,
            info=lambda: {
                "num_episodes": self.num_episodes,
                "beta": self.beta,
                "ridge": self.ridge,
                "explorer_decisions": tuple(decisions),
                "clipped_fraction": tuple(clipped),
            },
            monitor=self.monitor,
        )
