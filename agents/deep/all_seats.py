"""Algorithm 3 for ``n > 2`` players: every other seat takes its turn as the explorer.

Viano, Freihaut et al. ("Multi-agent imitation learning with function
approximation: linear Markov games and beyond", Appendix F, Algorithm 3) learn
player ``i``'s policy from data in which a *single* other player deviates from
the expert while everyone else (``i`` included) follows it, and they let
*every* non-learning player ``j != i`` take that role in turn: a deviation of
any one opponent is what a Nash gap measures, so the labelled data must cover
the states each one of them can reach alone. The default loop of
:class:`~agents.imitation.InteractiveBC` gives the explorer role to the next
seat only, ``(i + 1) % n``; with three or more players, states that only a
later seat's deviation reaches then stay unlabelled
(``tests/agents/test_alg3_nplayers.py`` builds such a game).

:class:`UniformAllSeatsBC` (``"uniform-all"``) is uniform-exploration BC with
the explorer role rotated over all ``n - 1`` other seats.

Budget: ``num_games`` labelled games (``num_episodes`` on the model) per
learning player, as for every method, split over the ``n - 1`` explorer seats
in seat order starting at the next seat: each seat plays
``num_games // (n - 1)`` games and the first ``num_games % (n - 1)`` seats one
more (:func:`split_budget`; a seat with zero games is skipped). Every labelled
decision of the learner in those games is one expert query, counted by the
recorder (env path) or by :func:`~agents.linear.rollouts.collect_labels`
(model path); the learner's dataset is the concatenation over the seats, with
episode ids numbered on across them. With two players there is a single other
seat and the method is exactly ``"uniform"`` (same seeds, same data).

Seeding: the next seat's session uses the learner's seed sequence (as
``"uniform"`` does); the ``k``-th further seat (``k = 1 .. n - 2``) uses child
``3 + k`` of it (children ``0..2`` are the first session's env, explorer and BC
streams). On the model (a problem with a linear setup), learner ``i``'s
episodes for all seats are drawn in seat order from one generator, that of
:func:`~agents.linear.baselines.model_bc`.

Example:
    >>> import numpy as np
    >>> from agents.linear.features import tabular_features
    >>> from agents.linear.problem import linear_problem
    >>> from mail_envs.public_goods import dominant_profile, make_public_goods_game
    >>> from mail_envs.solvers import nash_gap
    >>> game = make_public_goods_game(3)
    >>> feats = [tabular_features(game, i) for i in range(3)]
    >>> problem = linear_problem(game, dominant_profile(game), feats)
    >>> result = UniformAllSeatsBC(problem, num_games=5, seed=0).run()
    >>> result.method, result.num_queries, result.info["games_per_seat"][0]
    ('uniform-all', (50, 50, 50), (3, 2))
    >>> bool(nash_gap(game, list(result.policies)).nash_conv < 0.1)
    True
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from agents.common import check_positive_int, spawn_seeds
from agents.deep.explorers import PolicyExplorer
from agents.imitation import (
    Exploration,
    Explorer,
    ImitationProblem,
    ImitationResult,
    InteractiveBC,
    LearnerSession,
)
from agents.linear.baselines import model_imitation
from agents.linear.problem import model_setup
from agents.linear.rollouts import Trajectories, rollout
from agents.monitor import RunMonitor, resolve_monitor
from mail_envs.core import check_real
from mail_wrappers.frozen_opponent import uniform_policy
from mail_wrappers.recorder import ExpertLabelDataset

__all__ = [
    "UniformAllSeatsBC",
    "concat_datasets",
    "concat_trajectories",
    "explorer_seats",
    "model_all_seats",
    "split_budget",
]


def explorer_seats(player: int, num_players: int) -> tuple[int, ...]:
    """The explorer seats of a learning player, in turn order: ``i+1, ..., i+n-1`` mod ``n``.

    Example:
        >>> explorer_seats(1, 4)
        (2, 3, 0)
    """
    n = check_positive_int("num_players", num_players)
    if not 0 <= int(player) < n:
        raise ValueError(f"player must be in [0, {n}), got {player!r}")
    return tuple((int(player) + k) % n for k in range(1, n))


def split_budget(total: int, parts: int) -> tuple[int, ...]:
    """Split ``total`` games over ``parts`` seats as evenly as possible, first seats first.

    Example:
        >>> split_budget(5, 2), split_budget(1, 3)
        ((3, 2), (1, 0, 0))
    """
    total = check_positive_int("total", total)
    parts = check_positive_int("parts", parts)
    base, extra = divmod(total, parts)
    return tuple(base + (k < extra) for k in range(parts))


def concat_datasets(
    datasets: Sequence[ExpertLabelDataset], games: Sequence[int]
) -> ExpertLabelDataset:
    """One learner's datasets of consecutive sessions as one dataset.

    Episode ids of the ``k``-th dataset are shifted by the games of the
    datasets before it; the metadata is the first dataset's, with
    ``num_rows`` updated.

    Args:
        datasets: The datasets, in session order (at least one).
        games: Games played in each session.

    Raises:
        ValueError: If ``datasets`` is empty or the lengths differ.
    """
    if not datasets or len(datasets) != len(games):
        raise ValueError(
            f"need one game count per dataset and at least one dataset, got "
            f"{len(datasets)} datasets and {len(games)} counts"
        )
    offsets = np.concatenate([[0], np.cumsum(games)[:-1]]).astype(np.int64)

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(d, name) for d in datasets])

    episodes = np.concatenate(
        [d.episodes + off for d, off in zip(datasets, offsets, strict=True)]
    )
    rows = int(sum(len(d) for d in datasets))
    return ExpertLabelDataset(
        observations=cat("observations"),
        action_masks=cat("action_masks"),
        expert_actions=cat("expert_actions"),
        expert_probs=cat("expert_probs"),
        agents=cat("agents"),
        episodes=episodes.astype(np.int64),
        steps=cat("steps"),
        metadata={**datasets[0].metadata, "num_rows": rows},
    )


def concat_trajectories(parts: Sequence[Trajectories]) -> Trajectories:
    """Episodes of several rollouts (same horizon) as one :class:`Trajectories`."""
    return Trajectories(
        states=np.concatenate([t.states for t in parts], axis=0),
        actions=np.concatenate([t.actions for t in parts], axis=1),
        alive=np.concatenate([t.alive for t in parts], axis=0),
    )


def model_all_seats(
    problem: ImitationProblem,
    *,
    num_episodes: int,
    seed: int,
    l2: float = 1e-4,
    monitor: RunMonitor | None = None,
    method: str = "uniform-all",
) -> ImitationResult:
    """Uniform exploration by every other seat in turn, on the problem's model.

    The model-based path of :class:`UniformAllSeatsBC`: for learner ``i`` and
    each explorer seat ``j`` (:func:`explorer_seats`), ``split_budget``'s
    share of ``num_episodes`` episodes in which ``j`` plays uniformly and
    every other player follows the expert; softmax-linear BC on ``i``'s
    labels of all of them.

    Args:
        problem: An :class:`~agents.imitation.ImitationProblem` with a model
            and a linear setup.
        num_episodes: Episodes per learning player (all seats together).
        seed: Master seed of the run.
        l2: Ridge weight of the BC fit.
        monitor: Progress reports (stage ``"episodes <learner>"``, ``"players"``).
        method: The result's method name.

    Returns:
        The :class:`~agents.imitation.ImitationResult`; ``info["explorers"]``
        holds each learner's tuple of explorer seats and
        ``info["games_per_seat"]`` their episode counts.

    Raises:
        ValueError: As :func:`~agents.linear.baselines.model_bc`.
    """
    num_episodes = check_positive_int("num_episodes", num_episodes)
    l2 = check_real("l2", l2, minimum=0.0, open_minimum=True)
    setup = model_setup(problem)
    monitor = resolve_monitor(monitor)
    n = setup.num_players
    rngs = [np.random.default_rng(s) for s in spawn_seeds(seed, n)]
    budget = split_budget(num_episodes, n - 1)

    def explore(i: int, _next_seat: int) -> Trajectories:
        parts = []
        for j, k in zip(explorer_seats(i, n), budget, strict=True):
            if k == 0:
                continue
            profile = list(setup.expert_tables)
            profile[j] = setup.game.uniform_policy(j)
            parts.append(
                rollout(
                    setup.game,
                    profile,
                    num_episodes=k,
                    horizon=setup.horizon,
                    rng=rngs[i],
                )
            )
        monitor.report(f"episodes {setup.agents[i]}", num_episodes, num_episodes)
        return concat_trajectories(parts)

    seats = tuple(
        tuple(setup.agents[j] for j in explorer_seats(i, n)) for i in range(n)
    )
    return model_imitation(
        setup,
        method,
        explore,
        seed=seed,
        l2=l2,
        info={
            "num_episodes": num_episodes,
            "explorers": seats,  # every other seat, in turn
            "games_per_seat": (budget,) * n,
        },
        monitor=monitor,
    )


class UniformAllSeatsBC(InteractiveBC):
    """Uniform-exploration BC with every other seat exploring in turn (Algorithm 3).

    For each learning player ``i`` and each other seat ``j`` (next seat
    first), a :class:`~agents.imitation.LearnerSession` with explorer ``j``
    plays its share (:func:`split_budget`) of the ``num_games`` games: ``j``
    plays uniformly among its legal actions, ``i`` and the remaining seats
    follow their experts, and ``i``'s turns are labelled. BC on the
    concatenated labels gives ``pi_i``. On a problem with a linear setup the
    model-based path :func:`model_all_seats` runs instead (budget: episodes).

    Args: as :class:`~agents.imitation.InteractiveBC`.
    """

    name = "uniform-all"

    def explorer(self, session: LearnerSession) -> Explorer:
        """The uniform explorer (whatever the seat)."""
        return PolicyExplorer(uniform_policy)

    def _seat_seed(self, player: int, k: int) -> np.random.SeedSequence:
        """Seed of learner ``player``'s ``k``-th explorer seat (see the module docstring)."""
        if k == 0:
            return self.player_seeds[player]
        return spawn_seeds(self.player_seeds[player], 3 + k + 1)[3 + k]

    def run(self) -> ImitationResult:
        """Explore with every other seat in turn, label, clone.

        Returns:
            The :class:`~agents.imitation.ImitationResult`;
            ``explorer_steps`` sums each learner's explorer moves over its
            seats; ``info["explorer_seats"]`` and ``info["games_per_seat"]``
            give, per learner, the seats and their games (zero-game seats
            included).
        """
        if self.problem.linear is not None:
            return model_all_seats(
                self.problem,
                num_episodes=self.num_games,
                seed=self.seed,
                monitor=self.monitor,
                method=self.name,
            )
        start = time.perf_counter()
        n = self.problem.num_players
        agents = self.problem.agents
        budget = split_budget(self.num_games, n - 1)
        first_sessions: list[LearnerSession] = []
        datasets: list[ExpertLabelDataset] = []
        explorations: list[Exploration] = []
        for i in range(n):
            seats = explorer_seats(i, n)
            parts, games, steps = [], [], 0
            for k, (j, num) in enumerate(zip(seats, budget, strict=True)):
                session = LearnerSession(
                    self.problem, i, self._seat_seed(i, k), explorer=j
                )
                session.monitor = self.monitor
                if k == 0:
                    first_sessions.append(session)
                if num == 0:
                    continue
                steps += self.explorer(session).explore(session, num).steps
                parts.append(session.dataset(num))
                games.append(num)
            datasets.append(concat_datasets(parts, games))
            explorations.append(
                Exploration(
                    steps=steps,
                    info={
                        "explorer_seats": [agents[j] for j in seats],
                        "games_per_seat": list(budget),
                    },
                )
            )
        return self._clone(
            first_sessions,
            datasets,
            explorations,
            start,
            info={
                "explorer_seats": tuple(
                    tuple(agents[j] for j in explorer_seats(i, n)) for i in range(n)
                ),
                "games_per_seat": (budget,) * n,
            },
        )
