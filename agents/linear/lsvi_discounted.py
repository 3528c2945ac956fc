"""Discounted LSVI-UCB-ZERO-BC: interactive MAIL in the infinite-horizon setting.

Algorithm 4 of Viano, Freihaut et al. ("Multi-agent imitation learning with
function approximation: linear Markov games and beyond", Appendix G): the
finite-horizon LSVI-UCB-ZERO-BC (:mod:`agents.linear.lsvi_ucb_zero`) with the
reward-free explorer replaced by a discounted no-regret learner in the style of
RMAX-RAVI-LSVI-UCB (Moulin et al. 2025), run on the bonus reward alone. What
this module implements, for the explorer ``j`` of learning player ``i``
(player ``i`` and every other seat follow the expert):

* **Slow-changing bonus reward** (the paper's remedy for the discounted
  analysis): ``Lambda = lambda I + sum_tau phi_tau phi_tau^T`` is updated
  after every step (Sherman–Morrison) but the reward
  ``b(s, a) = beta ||phi(s, a)||_{Lambda_k^-1}``, the regression target and
  the policy only change at a *switch*: at the start of an episode in which
  ``det Lambda`` has at least doubled since the last switch (rare switching,
  as in RMAX-RAVI-LSVI-UCB).
* **Regularized approximate value iteration** at each switch, on the
  least-squares model ``P_hat V(s, a) = phi(s, a)^T Lambda^-1 sum_tau phi_tau
  V(s'_tau)``::

      Q(s, a) = clip(b(s, a) + gamma P_hat V(s, a), 0, V_max),  V_max = 1 / (1 - gamma)
      V(s)    = (1 / eta) log mean_{a legal} exp(eta Q(s, a))   (0 at terminal states)

  for ``iterations`` sweeps over all states at once. Pairs whose bonus
  exceeds ``V_max`` are valued at ``V_max`` (the RMAX-style optimism of an
  unknown pair); the explorer plays the softmax policy
  ``pi(a | s) ∝ exp(eta Q(s, a))`` over its legal actions (RAVI's softmax
  update instead of LSVI-UCB's greedy one).
* **Episodes of the effective horizon**: each of the ``K`` episodes starts
  from the initial distribution and lasts ``L_k ~ Geometric(1 - gamma)``
  steps (mean ``1 / (1 - gamma)``, so its last state is a draw of the
  discounted occupancy measure), truncated at ``max_length``, or ends in a
  terminal state.

Player ``i``'s expert labels every visited decision; softmax-linear BC over
``i``'s features gives a stationary policy
(:func:`~agents.linear.softmax.behaviour_clone`). Budget: ``K`` episodes per
learning player, the expert queries are the labelled decisions (random,
reported exactly in the result). Episodes are sampled on the model, like
:class:`~agents.linear.lsvi_ucb_zero.LSVIUCBZeroBC`.

Not implemented from Moulin et al.: their single non-resetting trajectory and
the exact optimistic augmentation of the MDP; the analysis's constants.

Example:
    >>> from agents.linear.features import tabular_features
    >>> from agents.linear.problem import linear_problem
    >>> from mail_envs.gridworld import make_gridworld_game
    >>> from mail_envs.solvers import nash_gap, solve_zero_sum
    >>> game = make_gridworld_game(size=3)
    >>> feats = [tabular_features(game, i) for i in range(2)]
    >>> problem = linear_problem(game, solve_zero_sum(game).policies, feats)
    >>> result = LSVIUCBDiscountedBC(problem, num_episodes=30, seed=0).run()
    >>> result.method, result.info["gamma"]
    ('lsvi-ucb-discounted', 0.9)
    >>> bool(nash_gap(game, list(result.policies)).nash_conv < 0.2)
    True
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
    sample_categorical,
    step_with_experts,
    terminal_mask,
)
from agents.monitor import RunMonitor, progress_every, resolve_monitor
from mail_envs.core import TabularMarkovGame, check_real

__all__ = [
    "DiscountedLSVIExploration",
    "DiscountedLSVIUCBZero",
    "LSVIUCBDiscountedBC",
    "soft_optimistic_values",
]


@dataclass(frozen=True)
class DiscountedLSVIExploration:
    """What one discounted LSVI-UCB-ZERO exploration run produced.

    Attributes:
        explorer: The exploring player.
        trajectories: The ``K`` episodes (``max_length`` columns; ``alive`` is
            False after an episode's end).
        lengths: ``(K,)`` steps played in each episode.
        cov_inv: ``(d, d)`` final ``Lambda^-1``.
        q_values: ``(S, A_explorer)`` Q of the last switch (``-inf`` on illegal
            actions).
        switches: Episodes at which the policy was recomputed (the first is 0).
    """

    explorer: int
    trajectories: Trajectories
    lengths: np.ndarray
    cov_inv: np.ndarray
    q_values: np.ndarray
    switches: tuple[int, ...]


def soft_optimistic_values(
    features: np.ndarray,
    legal: np.ndarray,
    terminal: np.ndarray,
    *,
    cov_inv: np.ndarray,
    quad: np.ndarray,
    next_sum: np.ndarray,
    gamma: float,
    beta: float,
    eta: float,
    iterations: int,
) -> np.ndarray:
    """Regularized optimistic value iteration on the least-squares model.

    ``Q = clip(beta sqrt(quad) + gamma Phi Lambda^-1 M V, 0, 1 / (1 - gamma))``
    and ``V(s) = (1/eta) log mean_{a legal} exp(eta Q(s, a))`` (0 at terminal
    states), ``iterations`` sweeps from ``V = 0`` (module docstring).

    Args:
        features: ``(S, A, d)`` explorer features.
        legal: ``(S, A)`` the explorer's legal actions.
        terminal: ``(S,)`` terminal states.
        cov_inv: ``(d, d)`` ``Lambda^-1``.
        quad: ``(S * A,)`` ``phi^T Lambda^-1 phi`` of every (state, action).
        next_sum: ``(d, S)`` ``M = sum_tau phi_tau e_{s'_tau}^T``.
        gamma: Discount factor in ``(0, 1)``.
        beta: Bonus scale.
        eta: Inverse temperature of the soft maximum.
        iterations: Value-iteration sweeps.

    Returns:
        ``(S, A)`` Q values, ``-inf`` on illegal actions.
    """
    num_s, num_a, d = features.shape
    v_max = 1.0 / (1.0 - gamma)
    flat = features.reshape(num_s * num_a, d)
    model = (flat @ cov_inv) @ next_sum  # (S*A, S): P_hat
    bonus = beta * np.sqrt(np.maximum(quad, 0.0))
    count = legal.sum(axis=1)
    v = np.zeros(num_s)
    q = np.zeros((num_s, num_a))
    for _ in range(iterations):
        q = np.clip(bonus + gamma * (model @ v), 0.0, v_max).reshape(num_s, num_a)
        z = np.where(legal, eta * q, -np.inf)
        top = z.max(axis=1)
        v = (top + np.log(np.exp(z - top[:, None]).sum(axis=1) / count)) / eta
        v[terminal] = 0.0
    return np.where(legal, q, -np.inf)


def _softmax_rows(q: np.ndarray, eta: float) -> np.ndarray:
    """``(S, A)`` softmax of ``eta * q`` over the finite (legal) entries."""
    z = eta * q
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


class DiscountedLSVIUCBZero:
    """Reward-free discounted LSVI exploration by one player against expert players.

    Args:
        gamma: Discount factor in ``(0, 1)``.
        beta: Bonus scale ``beta``.
        ridge: Ridge ``lambda`` of ``Lambda``.
        eta: Inverse temperature of the explorer's softmax policy.
        num_episodes: Episodes ``K``.
        max_length: Truncation of the geometric episode lengths (default
            ``ceil(3 / (1 - gamma))``).
        iterations: Value-iteration sweeps per switch (default
            ``ceil(log(1e-3 (1 - gamma)) / log(gamma))``, the effective
            horizon for accuracy ``1e-3``).
        seed: Seed of the lengths, initial states, actions and transitions.

    Raises:
        ValueError: If a parameter is out of range.
    """

    def __init__(
        self,
        *,
        gamma: float,
        beta: float = 1.0,
        ridge: float = 0.1,
        eta: float = 10.0,
        num_episodes: int = 50,
        max_length: int | None = None,
        iterations: int | None = None,
        seed: int | np.random.SeedSequence = 0,
    ) -> None:
        gamma = check_real("gamma", gamma, minimum=0.0, open_minimum=True, maximum=1.0)
        if gamma >= 1.0:
            raise ValueError(f"gamma must lie in (0, 1), got {gamma!r}")
        self.gamma = float(gamma)
        self.beta = float(check_real("beta", beta, minimum=0.0))
        self.ridge = float(check_real("ridge", ridge, minimum=0.0, open_minimum=True))
        self.eta = float(check_real("eta", eta, minimum=0.0, open_minimum=True))
        self.num_episodes = check_positive_int("num_episodes", num_episodes)
        self.max_length = (
            math.ceil(3.0 / (1.0 - self.gamma) - 1e-9)
            if max_length is None
            else check_positive_int("max_length", max_length)
        )
        self.iterations = (
            max(
                1, math.ceil(math.log(1e-3 * (1.0 - self.gamma)) / math.log(self.gamma))
            )
            if iterations is None
            else check_positive_int("iterations", iterations)
        )
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
    ) -> DiscountedLSVIExploration:
        """Run ``K`` episodes of discounted LSVI-UCB-ZERO (module docstring).

        Args:
            game: The game (its model is sampled).
            expert_policies: Stationary ``(S, A_j)`` expert tables of every
                player (time-indexed ones use their first step); the
                explorer's is ignored.
            features: ``(S, A_explorer, d)`` explorer features.
            explorer: The exploring player.
            monitor: Progress (stage ``"episodes <label>"``).
            label: Names the stage (default ``player_<explorer>``).

        Returns:
            The :class:`DiscountedLSVIExploration`.

        Raises:
            ValueError: If a table or the features have the wrong shape, or
                ``explorer`` is not a player.
        """
        n = game.num_players
        if not 0 <= int(explorer) < n or n < 2:
            raise ValueError(f"explorer must be in [0, {n}) (n >= 2), got {explorer!r}")
        experts = check_expert_policies(game, expert_policies)
        phi = check_features(game, explorer, features)
        num_s, num_a, d = phi.shape
        big_k, big_l = self.num_episodes, self.max_length
        rng = np.random.default_rng(self.seed)
        monitor = resolve_monitor(monitor)
        label = f"player_{int(explorer)}" if label is None else label
        report_every = progress_every(big_k)

        flat = phi.reshape(num_s * num_a, d)
        legal = game.legal_masks[explorer]
        terminal = terminal_mask(game)
        cov_inv = np.eye(d) / self.ridge
        quad = np.einsum("nd,nd->n", flat, flat) / self.ridge
        next_sum = np.zeros((d, num_s))
        logdet = logdet_at_switch = 0.0  # log det(Lambda / (lambda I))
        lengths = np.minimum(rng.geometric(1.0 - self.gamma, size=big_k), big_l)
        initial = sample_categorical(
            np.broadcast_to(game.initial_distribution, (big_k, num_s)), rng
        )
        states = np.empty((big_k, big_l + 1), dtype=np.int64)
        actions = np.full((n, big_k, big_l), -1, dtype=np.int64)
        alive = np.zeros((big_k, big_l), dtype=bool)
        switches: list[int] = []
        q = policy = np.empty(0)
        for k in range(big_k):
            if not switches or logdet >= logdet_at_switch + math.log(2.0):
                q = soft_optimistic_values(
                    phi,
                    legal,
                    terminal,
                    cov_inv=cov_inv,
                    quad=quad,
                    next_sum=next_sum,
                    gamma=self.gamma,
                    beta=self.beta,
                    eta=self.eta,
                    iterations=self.iterations,
                )
                policy = _softmax_rows(q, self.eta)
                logdet_at_switch = logdet
                switches.append(k)
            s = int(initial[k])
            states[k] = s
            for h in range(int(lengths[k])):
                if terminal[s]:
                    break
                alive[k, h] = True
                a_exp = int(sample_categorical(policy[s][None], rng)[0])
                actions[explorer, k, h] = a_exp
                nxt = step_with_experts(
                    game, experts, actions[:, k, h], explorer, s, 0, rng
                )
                x = phi[s, a_exp]
                u = cov_inv @ x
                denom = 1.0 + float(x @ u)
                cov_inv -= np.outer(u, u / denom)  # Sherman–Morrison, in place
                proj = flat @ u
                quad -= proj * proj / denom
                logdet += math.log(denom)
                next_sum[:, nxt] += x
                states[k, h + 1 :] = nxt
                s = nxt
            if (k + 1) % report_every == 0 or k + 1 == big_k:
                monitor.report(f"episodes {label}", k + 1, big_k)
        return DiscountedLSVIExploration(
            explorer=int(explorer),
            trajectories=Trajectories(states=states, actions=actions, alive=alive),
            lengths=alive.sum(axis=1),
            cov_inv=cov_inv,
            q_values=q,
            switches=tuple(switches),
        )


class LSVIUCBDiscountedBC:
    """Discounted LSVI-UCB-ZERO-BC (Algorithm 4): explore, label, clone on the model.

    For every player ``i``: the explorer (player ``(i + 1) % n``) runs
    :class:`DiscountedLSVIUCBZero` for ``K`` episodes while everyone else
    follows the expert; softmax-linear BC on ``i``'s labels gives ``pi_i``.

    Seeding: one child of ``SeedSequence(seed)`` per learning player
    (:func:`agents.common.spawn_seeds`), the seed of its explorer's run.

    Args:
        problem: The problem; it needs a ``model`` and a ``linear`` setup with
            stationary ``(S, A_i)`` expert tables.
        num_episodes: Episodes ``K`` per learning player.
        seed: Master seed of the run.
        gamma: Discount of the exploration (default: the game's ``gamma``,
            which must then be below 1).
        beta: Bonus scale.
        ridge: Ridge ``lambda``.
        eta: Inverse temperature of the explorer's softmax policy.
        max_length: Truncation of the geometric episode lengths.
        iterations: Value-iteration sweeps per switch.
        l2: Ridge weight of the BC fit.
        monitor: Progress reports (:class:`~agents.monitor.RunMonitor`).

    Raises:
        ValueError: If the problem has no model or linear setup, an expert
            table is time-indexed, the discount is not in ``(0, 1)`` or a
            parameter is out of range.
    """

    #: The method's registry name.
    name = "lsvi-ucb-discounted"

    def __init__(
        self,
        problem: ImitationProblem,
        *,
        num_episodes: int,
        seed: int = 0,
        gamma: float | None = None,
        beta: float = 1.0,
        ridge: float = 0.1,
        eta: float = 10.0,
        max_length: int | None = None,
        iterations: int | None = None,
        l2: float = 1e-4,
        monitor: RunMonitor | None = None,
    ) -> None:
        self.setup = model_setup(problem)
        time_indexed = [
            i for i, t in enumerate(self.setup.expert_tables) if t.ndim != 2
        ]
        if time_indexed:
            raise ValueError(
                f"the discounted method needs stationary (S, A_i) expert tables; "
                f"players {time_indexed} have time-indexed ones"
            )
        gamma = self.setup.game.gamma if gamma is None else gamma
        self.problem = problem
        self.monitor = resolve_monitor(monitor)
        self.num_episodes = check_positive_int("num_episodes", num_episodes)
        probe = DiscountedLSVIUCBZero(  # validates the parameters once
            gamma=gamma,
            beta=beta,
            ridge=ridge,
            eta=eta,
            num_episodes=self.num_episodes,
            max_length=max_length,
            iterations=iterations,
        )
        self.gamma, self.beta, self.ridge, self.eta = (
            probe.gamma,
            probe.beta,
            probe.ridge,
            probe.eta,
        )
        self.max_length, self.iterations = probe.max_length, probe.iterations
        self.l2 = float(check_real("l2", l2, minimum=0.0, open_minimum=True))
        self.player_seeds = spawn_seeds(seed, self.setup.num_players)
        self.seed = int(seed)

    def run(self) -> ImitationResult:
        """Explore once per learning player, then clone every player.

        Returns:
            The :class:`~agents.imitation.ImitationResult`
            (``method="lsvi-ucb-discounted"``); ``info`` holds ``gamma``,
            ``beta``, ``ridge``, ``eta``, ``max_length``, ``iterations``,
            ``num_episodes``, ``switches`` (per learner: the number of policy
            recomputations) and ``episode_steps`` (per learner: steps
            played), besides :func:`~agents.linear.baselines.model_imitation`'s.
        """
        setup = self.setup
        switches: list[int] = []
        episode_steps: list[int] = []

        def explore(i: int, j: int) -> Trajectories:
            out = DiscountedLSVIUCBZero(
                gamma=self.gamma,
                beta=self.beta,
                ridge=self.ridge,
                eta=self.eta,
                num_episodes=self.num_episodes,
                max_length=self.max_length,
                iterations=self.iterations,
                seed=self.player_seeds[i],
            ).explore(
                setup.game,
                setup.expert_tables,
                setup.features[j],
                explorer=j,
                monitor=self.monitor,
                label=setup.agents[i],
            )
            switches.append(len(out.switches))
            episode_steps.append(out.trajectories.num_steps)
            return out.trajectories

        return model_imitation(
            setup,
            self.name,
            explore,
            seed=self.seed,
            l2=self.l2,
            info=lambda: {
                "num_episodes": self.num_episodes,
                "gamma": self.gamma,
                "beta": self.beta,
                "ridge": self.ridge,
                "eta": self.eta,
                "max_length": self.max_length,
                "iterations": self.iterations,
                "switches": tuple(switches),
                "episode_steps": tuple(episode_steps),
            },
            monitor=self.monitor,
        )
