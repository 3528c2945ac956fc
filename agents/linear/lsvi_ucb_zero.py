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
states at once. Episodes are sampled on the model
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

import dataclasses
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
from mail_wrappers.elliptical import sherman_morrison_update
from mail_wrappers.recorder import ExpertLabelDataset

__all__ = ["LSVIExploration", "LSVIUCBZero", "LSVIUCBZeroBC", "optimistic_q_values"]


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

    Returns:
        ``(H, S, A)`` optimistic Q values, ``-inf`` on illegal actions.
    """
    num_s, num_a, d = features.shape
    big_h = cov_inv.shape[0]
    flat = features.reshape(num_s * num_a, d)
    q = np.empty((big_h, num_s, num_a))
    v_next = np.zeros(num_s)
    for h in range(big_h - 1, -1, -1):
        c = counts[h]
        w = cov_inv[h] @ (data_phi[h, :c].T @ v_next[data_next[h, :c]])
        bonus = beta * np.sqrt(np.maximum(quad[h], 0.0))
        q_h = np.minimum(flat @ w + bonus, float(big_h)).reshape(num_s, num_a)
        q[h] = np.where(legal, q_h, -np.inf)
        v_next = q[h].max(axis=1)
        v_next[terminal] = 0.0
    return q


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

        def optimistic_q() -> np.ndarray:
            """Optimistic Q of every state under the data so far (in place arrays)."""
            return optimistic_q_values(
                phi,
                legal,
                terminal,
                cov_inv=cov_inv,
                quad=quad,
                data_phi=data_phi,
                data_next=data_next,
                counts=counts,
                beta=self.beta,
            )

        for k in range(big_k):
            # Backward pass: optimistic Q for every state at once.
            q = optimistic_q()
            # Forward pass: the explorer is greedy, the others follow the expert.
            s = int(initial[k])
            states[k] = s
            for h in range(big_h):
                if terminal[s]:
                    break
                alive[k, h] = True
                row = q[h, s]
                clipped[k, h] = multi_legal[s] and row[legal[s]].min() >= big_h
                best = np.flatnonzero(row == row.max())
                a_exp = int(best[rng.integers(best.size)] if best.size > 1 else best[0])
                actions[explorer, k, h] = a_exp
                nxt = step_with_experts(
                    game, experts, actions[:, k, h], explorer, s, h, rng
                )
                # Sherman–Morrison update of Lambda_h^-1 and of all quadratic forms.
                x = phi[s, a_exp]
                u = cov_inv[h] @ x
                denom = 1.0 + float(x @ u)
                cov_inv[h] = sherman_morrison_update(cov_inv[h], x)
                proj = flat @ u
                quad[h] -= proj * proj / denom
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

        result = model_imitation(
            setup,
            self.name,
            explore,
            seed=self.seed,
            l2=self.l2,
            info={
                "num_episodes": self.num_episodes,
                "beta": self.beta,
                "ridge": self.ridge,
            },
            monitor=self.monitor,
        )
        return dataclasses.replace(
            result,
            info={
                **result.info,
                "explorer_decisions": tuple(decisions),
                "clipped_fraction": tuple(clipped),
            },
        )
