"""MAIL-WARM: a reward-free warm-up without labels, then labels where it can reach.

The interactive algorithm of Freihaut et al. ("Rate optimal learning of
equilibria from data", 2025), on which Viano, Freihaut et al. ("Multi-agent
imitation learning with function approximation: linear Markov games and
beyond") build: for each learning player ``i``, with explorer ``j`` (the next
player) and every other seat following the expert,

1. **Warm-up** (no labels): ``warmup_episodes`` episodes of reward-free
   tabular exploration by ``j`` — LSVI-UCB with zero reward on one-hot
   features, i.e. UCB-ZERO (:class:`~agents.linear.lsvi_ucb_zero.LSVIUCBZero`
   with :func:`~agents.linear.features.tabular_features`). The expert *plays*
   the other seats (their moves drive the dynamics) but nobody is asked for a
   label: no query is recorded or counted. The warm-up's transitions give the
   empirical model ``P_hat(s' | s, a_j)`` of ``j``'s single-agent MDP.
2. **Reaching policies**: for every state ``t`` the warm-up visited where
   ``i`` has a decision, dynamic programming on ``P_hat`` gives the
   time-dependent policy of ``j`` that maximizes the probability of visiting
   ``t`` within the horizon ``H`` (:func:`reach_q_values`): the policy cover
   of MAIL-WARM.
3. **Labelled phase**: ``num_episodes`` episodes of ``H`` steps, episode ``k``
   aiming at target ``k mod T`` (targets ordered from the least visited in the
   warm-up up, ties by state index): ``j`` plays its reaching policy greedily
   (uniform tie breaks) until the target is visited, then uniformly; ``i``'s
   expert labels every visited decision (each one expert query).
4. BC: softmax-linear BC on ``i``'s features
   (:func:`~agents.linear.softmax.behaviour_clone`).

Budget: ``num_episodes`` labelled episodes per learning player (the unit of
every method); the warm-up's ``warmup_episodes`` (default: as many) are
interaction without queries, reported in ``info``. The labelled phase covers
the states that a single deviating opponent can reach, rarest first, instead
of re-sampling what the exploration visited most.

Simplifications: EULER (Zanette and Brunskill 2019) is replaced by UCB-ZERO
for the warm-up, and the per-state episode allocation of the analysis by the
round robin over targets; both phases run on the model.

Example:
    >>> from agents.linear.features import tabular_features
    >>> from agents.linear.problem import linear_problem
    >>> from mail_envs.chain import make_chain_game
    >>> from mail_envs.solvers import nash_gap, solve_zero_sum
    >>> game = make_chain_game(length=6)
    >>> feats = [tabular_features(game, i) for i in range(2)]
    >>> problem = linear_problem(game, solve_zero_sum(game).policies, feats, horizon=20)
    >>> result = MailWarmBC(problem, num_episodes=10, warmup_episodes=30, seed=0).run()
    >>> result.method, result.num_queries[0] > 0
    ('mail-warm', True)
    >>> bool(nash_gap(game, list(result.policies)).nash_conv < 1e-3)
    True
"""

from __future__ import annotations

import numpy as np

from agents.common import check_positive_int, spawn_seeds
from agents.imitation import ImitationProblem, ImitationResult
from agents.linear.baselines import model_imitation
from agents.linear.features import tabular_features
from agents.linear.lsvi_ucb_zero import LSVIUCBZero
from agents.linear.problem import model_setup
from agents.linear.rollouts import (
    Trajectories,
    expert_rows,
    sample_categorical,
    sample_next_states,
    terminal_mask,
)
from agents.monitor import RunMonitor, resolve_monitor
from mail_envs.core import TabularMarkovGame, check_real

__all__ = ["MailWarmBC", "empirical_model", "reach_q_values", "reach_rollout"]

#: Largest ``T * H * S * A`` of the reaching Q table (memory bound, float64).
MAX_REACH_ENTRIES = 50_000_000


def empirical_model(
    trajectories: Trajectories, explorer: int, num_states: int, num_actions: int
) -> np.ndarray:
    """``(S, A, S)`` empirical transition probabilities of the explorer's MDP.

    Rows of unvisited ``(s, a)`` pairs are all zero (nothing is known there).
    """
    s = trajectories.states[:, :-1][trajectories.alive]
    a = trajectories.actions[explorer][trajectories.alive]
    s2 = trajectories.states[:, 1:][trajectories.alive]
    counts = np.zeros((num_states, num_actions, num_states))
    np.add.at(counts, (s, a, s2), 1.0)
    totals = counts.sum(axis=2, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def reach_q_values(
    model: np.ndarray,
    legal: np.ndarray,
    terminal: np.ndarray,
    targets: np.ndarray,
    horizon: int,
) -> np.ndarray:
    """Probabilities of visiting each target within the horizon, by backward induction.

    ``W_h(t, s)`` is the largest probability, under ``model``, of being in
    ``t`` at some step ``h' in [h, H)`` starting in ``s`` at step ``h``:
    ``W_h(t, t) = 1``, ``W_H = 0``, ``W_h(t, s) = max_a Q_h(t, s, a)`` with
    ``Q_h(t, s, a) = sum_s' model(s' | s, a) W_{h+1}(t, s')`` (0 from terminal
    states), all targets and states at once.

    Args:
        model: ``(S, A, S)`` transition probabilities (zero rows: unknown).
        legal: ``(S, A)`` the explorer's legal actions.
        terminal: ``(S,)`` terminal states.
        targets: ``(T,)`` target states.
        horizon: ``H``.

    Returns:
        ``(H, T, S, A)`` reaching Q values, ``-inf`` on illegal actions.

    Raises:
        ValueError: If the table would exceed :data:`MAX_REACH_ENTRIES`.
    """
    num_s, num_a = legal.shape
    big_t = targets.shape[0]
    if horizon * big_t * num_s * num_a > MAX_REACH_ENTRIES:
        raise ValueError(
            f"the reaching table H*T*S*A = {horizon}*{big_t}*{num_s}*{num_a} "
            f"exceeds {MAX_REACH_ENTRIES} entries; MAIL-WARM is for small games"
        )
    hit = np.zeros((big_t, num_s), dtype=bool)
    hit[np.arange(big_t), targets] = True
    q = np.empty((horizon, big_t, num_s, num_a))
    w_next = np.zeros((big_t, num_s))
    for h in range(horizon - 1, -1, -1):
        q_h = np.einsum("sak,tk->tsa", model, w_next)
        q_h[:, terminal] = 0.0
        q[h] = np.where(legal, q_h, -np.inf)
        w_next = np.where(hit, 1.0, q[h].max(axis=2))
    return q


def reach_rollout(
    game: TabularMarkovGame,
    experts: tuple[np.ndarray, ...],
    explorer: int,
    reach_q: np.ndarray,
    targets: np.ndarray,
    episode_targets: np.ndarray,
    rng: np.random.Generator,
) -> Trajectories:
    """Episodes in which the explorer heads for each episode's target, all at once.

    Until its episode's target is visited the explorer plays
    ``argmax_a reach_q[h, target, s, a]`` over its legal actions (uniform tie
    breaks), then uniformly among them; everyone else samples the expert.

    Args:
        game: The game.
        experts: Expert tables of every player (the explorer's is ignored).
        explorer: The exploring player.
        reach_q: ``(H, T, S, A)`` from :func:`reach_q_values`.
        targets: ``(T,)`` target states.
        episode_targets: ``(K,)`` index into ``targets`` of each episode.
        rng: Random generator.

    Returns:
        The :class:`~agents.linear.rollouts.Trajectories` (``H`` steps).
    """
    n = game.num_players
    big_h = reach_q.shape[0]
    big_k = episode_targets.shape[0]
    legal = game.legal_masks[explorer]
    uniform = legal / legal.sum(axis=1, keepdims=True)
    terminal = terminal_mask(game)
    goal = targets[episode_targets]
    states = np.empty((big_k, big_h + 1), dtype=np.int64)
    actions = np.full((n, big_k, big_h), -1, dtype=np.int64)
    alive = np.zeros((big_k, big_h), dtype=bool)
    s = sample_categorical(
        np.broadcast_to(game.initial_distribution, (big_k, game.num_states)), rng
    )
    live = np.ones(big_k, dtype=bool)
    reached = np.zeros(big_k, dtype=bool)
    for h in range(big_h):
        states[:, h] = s
        live &= ~terminal[s]
        alive[:, h] = live
        reached |= s == goal
        rows = reach_q[h, episode_targets, s]
        best = (rows == rows.max(axis=1, keepdims=True)) & legal[s]
        greedy = best / best.sum(axis=1, keepdims=True)
        probs = np.where(reached[:, None], uniform[s], greedy)
        a = [
            sample_categorical(probs, rng)
            if j == explorer
            else sample_categorical(expert_rows(experts[j], h, s), rng)
            for j in range(n)
        ]
        joint = np.ravel_multi_index(tuple(a), game.num_actions)
        nxt = sample_next_states(game, s, joint, rng)
        actions[:, live, h] = np.stack(a)[:, live]
        s = np.where(live, nxt, s)
    states[:, big_h] = s
    return Trajectories(states=states, actions=actions, alive=alive)


class MailWarmBC:
    """MAIL-WARM on the model: warm-up without labels, reaching policies, labels, BC.

    Seeding: one child of ``SeedSequence(seed)`` per learning player
    (:func:`agents.common.spawn_seeds`), split in two: the warm-up's seed and
    the labelled phase's generator.

    Args:
        problem: The problem; it needs a ``model`` and a ``linear`` setup
            (expert tables, the learners' BC features, horizon ``H``).
        num_episodes: Labelled episodes per learning player.
        seed: Master seed of the run.
        warmup_episodes: Unlabelled warm-up episodes per learning player
            (default ``num_episodes``).
        warmup_beta: Bonus scale of the UCB-ZERO warm-up (the paper's LSVI
            default, 10: with 1 the Gridworld warm-up missed states).
        ridge: Ridge ``lambda`` of the warm-up.
        l2: Ridge weight of the BC fit.
        monitor: Progress reports (:class:`~agents.monitor.RunMonitor`): the
            warm-up's stage ``"episodes <learner>"`` and ``"players"``.

    Raises:
        ValueError: If the problem has no model or linear setup, or a
            parameter is out of range.
    """

    #: The method's registry name.
    name = "mail-warm"

    def __init__(
        self,
        problem: ImitationProblem,
        *,
        num_episodes: int,
        seed: int = 0,
        warmup_episodes: int | None = None,
        warmup_beta: float = 10.0,
        ridge: float = 0.1,
        l2: float = 1e-4,
        monitor: RunMonitor | None = None,
    ) -> None:
        self.setup = model_setup(problem)
        self.problem = problem
        self.monitor = resolve_monitor(monitor)
        self.num_episodes = check_positive_int("num_episodes", num_episodes)
        self.warmup_episodes = (
            self.num_episodes
            if warmup_episodes is None
            else check_positive_int("warmup_episodes", warmup_episodes)
        )
        self.warmup_beta = float(check_real("warmup_beta", warmup_beta, minimum=0.0))
        self.ridge = float(check_real("ridge", ridge, minimum=0.0, open_minimum=True))
        self.l2 = float(check_real("l2", l2, minimum=0.0, open_minimum=True))
        self.player_seeds = spawn_seeds(seed, self.setup.num_players)
        self.seed = int(seed)

    def run(self) -> ImitationResult:
        """Warm up, reach and label, clone, for every learning player.

        Returns:
            The :class:`~agents.imitation.ImitationResult`
            (``method="mail-warm"``); ``explorer_steps`` are the labelled
            phase's steps; ``info`` holds ``warmup_episodes``,
            ``warmup_steps`` (per learner: unlabelled steps),
            ``num_targets`` (per learner) and ``targets_reached`` (per
            learner: share of labelled episodes that visited their target),
            besides :func:`~agents.linear.baselines.model_imitation`'s.
        """
        setup = self.setup
        game = setup.game
        terminal = terminal_mask(game)
        warm_steps: list[int] = []
        num_targets: list[int] = []
        reached: list[float] = []

        def explore(i: int, j: int) -> Trajectories:
            warm_seed, label_seed = spawn_seeds(self.player_seeds[i], 2)
            warm = LSVIUCBZero(
                beta=self.warmup_beta,
                ridge=self.ridge,
                horizon=setup.horizon,
                num_episodes=self.warmup_episodes,
                seed=warm_seed,
            ).explore(
                game,
                setup.expert_tables,
                tabular_features(game, j),
                explorer=j,
                monitor=self.monitor,
                label=setup.agents[i],
            )
            traj = warm.trajectories
            warm_steps.append(traj.num_steps)
            visited = traj.states[:, :-1][traj.alive]
            visits = np.bincount(visited, minlength=game.num_states)
            decides = game.legal_masks[i].sum(axis=1) >= 2
            candidates = np.flatnonzero((visits > 0) & decides & ~terminal)
            targets = candidates[np.lexsort((candidates, visits[candidates]))]
            num_targets.append(int(targets.size))
            rng = np.random.default_rng(label_seed)
            if targets.size == 0:  # nothing to aim at: the explorer plays uniformly
                targets = np.array([int(np.argmax(game.initial_distribution))])
            model = empirical_model(traj, j, game.num_states, game.num_actions[j])
            q = reach_q_values(
                model, game.legal_masks[j], terminal, targets, setup.horizon
            )
            episode_targets = np.arange(self.num_episodes) % targets.size
            out = reach_rollout(
                game, setup.expert_tables, j, q, targets, episode_targets, rng
            )
            hit = (out.states[:, :-1] == targets[episode_targets][:, None]) & out.alive
            reached.append(float(hit.any(axis=1).mean()))
            return out

        return model_imitation(
            setup,
            self.name,
            explore,
            seed=self.seed,
            l2=self.l2,
            info=lambda: {
                "num_episodes": self.num_episodes,
                "warmup_episodes": self.warmup_episodes,
                "warmup_beta": self.warmup_beta,
                "ridge": self.ridge,
                "warmup_steps": tuple(warm_steps),
                "num_targets": tuple(num_targets),
                "targets_reached": tuple(reached),
            },
            monitor=self.monitor,
        )
