"""The interactive-imitation loop, written once and built from the wrappers.

Every imitation algorithm of this package solves an :class:`ImitationProblem`
(a game's env factory, one expert per seat, and optionally its exact model and
a linear feature map) and returns an :class:`ImitationResult` (one
:class:`~mail_wrappers.recorder.ExpertLabelDataset` per player, the learned
profile, queries, distinct states and timings).

The env-based algorithms share :class:`InteractiveBC`, the loop of Viano,
Freihaut et al. (Algorithm 3 and its deep variant). For each learning player
``i`` a :class:`LearnerSession` stacks the wrappers users drop into their own
code::

    recorder <- ExpertQueryWrapper(env, expert_i, agents=[i])   # labels i's turns
             <- FrozenOpponentWrapper(explorer seat, {i: "expert", ...})

so that player ``i`` plays the move its expert was asked for (the labelled
move), the other seats but one follow their experts, and the *explorer* seat
(the next player, cyclically) is the single-agent Gymnasium env an
:class:`Explorer` plays: uniformly, from a fixed policy, or as an SB3 DQN on
the elliptical-bonus reward. After ``num_games`` games per player, behaviour
cloning (:func:`agents.bc.profile.fit_bc_profile`) fits each player's policy.

Seeding: one ``SeedSequence(seed)`` spawns one child per player and each
child one per component (env and wrappers, explorer, BC)
(:func:`agents.common.spawn_seeds`); the env stack is reset with its seed once,
at the first game, and the wrappers draw their own streams from it.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Protocol

import numpy as np
from pettingzoo.utils.env import AECEnv, ParallelEnv

from agents.bc.profile import BCConfig, fit_bc_profile
from agents.common import check_positive_int, int_seed, resolve_device, spawn_seeds
from agents.monitor import NULL_MONITOR, RunMonitor, resolve_monitor
from mail_envs.core import BatchedPolicy, TabularMarkovGame
from mail_wrappers.expert_query import ExpertQueryWrapper, ParallelExpertQueryWrapper
from mail_wrappers.frozen_opponent import FrozenOpponentWrapper, OpponentPolicy
from mail_wrappers.recorder import ExpertLabelDataset, ExpertLabelRecorder

__all__ = [
    "EnvFactory",
    "Exploration",
    "Explorer",
    "ImitationProblem",
    "ImitationResult",
    "InteractiveBC",
    "LearnerSession",
    "LinearSetup",
]

EnvFactory = Callable[[], AECEnv | ParallelEnv]


@dataclass(frozen=True, eq=False)
class LinearSetup:
    """The model-based view of a problem (LSVI-UCB-ZERO, rollouts on the model).

    Attributes:
        expert_tables: One ``(S, A_i)`` (or time-indexed ``(T, S, A_i)``) expert
            table per player.
        features: One ``(S, A_i, d_i)`` feature map per player: the
            softmax-linear policy class of BC.
        horizon: Steps per episode of the model rollouts.
    """

    expert_tables: tuple[np.ndarray, ...]
    features: tuple[np.ndarray, ...]
    horizon: int = 10


@dataclass(frozen=True, eq=False)
class ImitationProblem:
    """What an imitation algorithm is given: the game, its experts, its model.

    Attributes:
        game_id: The game's registered id (``"mail/tictactoe-v0"``), recorded
            in the datasets.
        env_fn: Builds a fresh PettingZoo env of the game (AEC or Parallel,
            ``Dict(observation, action_mask)`` observations).
        experts: One batched expert policy per seat, in ``possible_agents``
            order.
        model: The exact :class:`~mail_envs.core.TabularMarkovGame` of the same
            game, where one exists (exact Nash gap; model-based methods).
        linear: The linear setup of the model-based methods, if any.
        expert_name: Name of the expert, recorded in the datasets.

    Raises:
        ValueError: If there is not one expert per seat.
    """

    game_id: str
    env_fn: EnvFactory
    experts: tuple[BatchedPolicy, ...]
    model: TabularMarkovGame | None = None
    linear: LinearSetup | None = None
    expert_name: str = "expert"

    def __post_init__(self) -> None:
        if len(self.experts) != len(self.agents):
            raise ValueError(
                f"experts must hold one policy per seat {list(self.agents)}, got "
                f"{len(self.experts)}"
            )
        if self.linear is not None and self.model is None:
            raise ValueError("a linear setup needs the game's model (model=...)")

    @cached_property
    def agents(self) -> tuple[str, ...]:
        """The seats, in ``possible_agents`` order."""
        return tuple(self.env_fn().possible_agents)

    @property
    def num_players(self) -> int:
        """Number of seats."""
        return len(self.agents)


@dataclass(frozen=True)
class Exploration:
    """What an explorer reports for one learning player.

    Attributes:
        steps: Moves the explorer made.
        info: Method-specific statistics (e.g. the DQN explorer's bonuses and
            rebuilds), JSON-friendly.
    """

    steps: int
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ImitationResult:
    """A learned profile and everything it came from (one entry per player).

    Attributes:
        method: The method's registry name (``"dqn-explore"``...).
        agents: The players, in ``possible_agents`` order.
        datasets: Each player's expert labels (the BC datasets).
        policies: The learned profile: batched policies or ``(S, A_i)`` tables.
        explorer_steps: Moves of each player's explorer.
        explore_seconds: Wall time of exploring and labelling (all players).
        bc_seconds: Wall time of behaviour cloning (all players).
        info: Method-specific extras, per player where it says so.
    """

    method: str
    agents: tuple[str, ...]
    datasets: tuple[ExpertLabelDataset, ...]
    policies: tuple[Any, ...]
    explorer_steps: tuple[int, ...]
    explore_seconds: float
    bc_seconds: float
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def num_queries(self) -> tuple[int, ...]:
        """Expert queries (labelled decisions) per player."""
        return tuple(d.num_queries for d in self.datasets)

    @property
    def distinct_states(self) -> tuple[int, ...]:
        """Distinct labelled states per player: how much of the game the data covers."""
        return tuple(d.num_distinct_states for d in self.datasets)


class Explorer(Protocol):
    """Plays the explorer seat of a :class:`LearnerSession` for ``num_games`` games."""

    def explore(self, session: LearnerSession, num_games: int) -> Exploration:
        """Play exactly ``num_games`` complete games in ``session.env``."""
        ...


class LearnerSession:
    """One learning player's env stack, recorder and seeds.

    Args:
        problem: The problem.
        player: Index of the learning player.
        seed: The player's seed sequence (see the module docstring).
        learner_policy: What the learning player plays: ``"expert"`` (the
            labelled expert move) or a batched policy (DAgger: its current
            learned policy, still labelled by the expert).
        seat_policies: Policies of the seats that are neither the learner nor
            the explorer (default: their experts).
        explorer: Index of the explorer seat (default: the next player,
            cyclically). Algorithm 3 of Viano, Freihaut et al. (Appendix F)
            gives every other seat its turn
            (:class:`~agents.deep.all_seats.UniformAllSeatsBC`).

    Raises:
        ValueError: If ``player`` or ``explorer`` is not a seat index, or they
            are the same seat.

    Attributes:
        agent: The learning player's name.
        explorer_agent: The explorer seat (default: the next player, cyclically).
        env: The explorer seat's single-agent Gymnasium env
            (:class:`~mail_wrappers.frozen_opponent.FrozenOpponentWrapper`).
        recorder: The :class:`~mail_wrappers.recorder.ExpertLabelRecorder` the
            query wrapper feeds.
        env_seed: The env stack's seed (its first reset).
        explorer_seed: The explorer's integer seed (e.g. an SB3 model's).
        explorer_rng: The explorer's generator.
        bc_seed: The seed of the player's behaviour cloning.
        games: Complete games played so far.
        monitor: Where explorers report progress and log
            (:class:`~agents.monitor.RunMonitor`; set by
            :meth:`InteractiveBC.session`, default the no-op monitor).
        stage: The progress stage of the explorer's games
            (``"explore <agent>"``; DAgger names its rounds).
    """

    def __init__(
        self,
        problem: ImitationProblem,
        player: int,
        seed: np.random.SeedSequence,
        *,
        learner_policy: OpponentPolicy = "expert",
        seat_policies: Mapping[str, OpponentPolicy] | None = None,
        explorer: int | None = None,
    ) -> None:
        agents = problem.agents
        if len(agents) < 2:
            raise ValueError(f"interactive imitation needs two or more seats: {agents}")
        if (
            isinstance(player, bool)
            or not isinstance(player, (int, np.integer))
            or not 0 <= player < len(agents)
        ):
            raise ValueError(
                f"player must be a seat index in [0, {len(agents)}), got {player!r}"
            )
        self.problem = problem
        self.player = int(player)
        self.agent = agents[self.player]
        if explorer is None:
            explorer = (self.player + 1) % len(agents)
        elif (
            isinstance(explorer, bool)
            or not isinstance(explorer, (int, np.integer))
            or not 0 <= explorer < len(agents)
            or explorer == self.player
        ):
            raise ValueError(
                f"explorer must be a seat index in [0, {len(agents)}) other than "
                f"the learner {self.player}, got {explorer!r}"
            )
        self.explorer_agent = agents[int(explorer)]
        env_seed, explorer_seed, bc_seed = spawn_seeds(seed, 3)  # a copy: no state
        self.env_seed = int_seed(env_seed)
        #: The explorer's own seed and stream (one stream per session: it goes
        #: on across DAgger's rounds).
        self.explorer_seed = int_seed(explorer_seed)
        self.explorer_rng = np.random.default_rng(explorer_seed)
        self.bc_seed = int_seed(bc_seed)
        self.recorder = ExpertLabelRecorder(
            game_id=problem.game_id,
            expert=problem.expert_name,
            seed=self.env_seed,
            extra={"learner": self.agent, "explorer": self.explorer_agent},
        )
        base = problem.env_fn()
        query = (
            ParallelExpertQueryWrapper
            if isinstance(base, ParallelEnv)
            else ExpertQueryWrapper
        )
        queried = query(
            base,
            problem.experts[self.player],
            agents=[self.agent],
            recorder=self.recorder,
        )
        opponents: dict[str, OpponentPolicy] = {self.agent: learner_policy}
        for k, name in enumerate(agents):
            if name not in (self.agent, self.explorer_agent):
                opponents[name] = (seat_policies or {}).get(name, problem.experts[k])
        self.env = FrozenOpponentWrapper(
            queried, self.explorer_agent, opponent=opponents
        )
        self.games = 0
        self.monitor: RunMonitor = NULL_MONITOR
        self.stage = f"explore {self.agent}"

    def reset(self) -> tuple[Any, dict[str, Any]]:
        """Start the next game (the first with :attr:`env_seed`)."""
        out = self.env.reset(seed=self.env_seed if self.games == 0 else None)
        self.games += 1
        return out

    def play(
        self,
        choose: Callable[[Any], int],
        num_games: int,
        on_game: Callable[[int], None] | None = None,
    ) -> int:
        """Play ``num_games`` complete games with ``choose(observation)``; return its moves.

        ``on_game(k)`` is called after the ``k``-th game (``k = 1..num_games``).
        """
        steps = 0
        for k in range(check_positive_int("num_games", num_games)):
            obs, _ = self.reset()
            done = False
            while not done:
                obs, _, terminated, truncated, _ = self.env.step(choose(obs))
                steps += 1
                done = terminated or truncated
            if on_game is not None:
                on_game(k + 1)
        return steps

    def dataset(self, num_games: int | None = None) -> ExpertLabelDataset:
        """The learner's labels (of the first ``num_games`` games, if given)."""
        data = self.recorder.dataset()
        if num_games is not None:
            data = data.take(data.episodes < num_games)
        return data


class InteractiveBC(abc.ABC):
    """Explore, label, clone: the per-player loop every env-based method shares.

    Subclasses choose the explorer (:meth:`explorer`); the loop builds one
    :class:`LearnerSession` per player, lets the explorer play ``num_games``
    games in it, and clones each player on its labels.

    Args:
        problem: The game, its experts (and model).
        num_games: Expert-labelled games per learning player.
        seed: Master seed of the run.
        bc: Behaviour-cloning settings (:class:`~agents.bc.profile.BCConfig`).
        device: Torch device of the networks (``"auto"``: CUDA when present).
        monitor: Progress reports and logs (:class:`~agents.monitor.RunMonitor`;
            default the no-op monitor). Results do not depend on it.

    Raises:
        ValueError: If ``num_games`` is not a positive integer, ``seed`` is
            negative or the device is unavailable.
    """

    #: The method's registry name.
    name: ClassVar[str]

    def __init__(
        self,
        problem: ImitationProblem,
        *,
        num_games: int,
        seed: int = 0,
        bc: BCConfig | None = None,
        device: str = "auto",
        monitor: RunMonitor | None = None,
    ) -> None:
        self.problem = problem
        self.num_games = check_positive_int("num_games", num_games)
        self.monitor = resolve_monitor(monitor)
        self.player_seeds = spawn_seeds(seed, problem.num_players)
        self.seed = int(seed)
        self.bc = bc or BCConfig()
        resolve_device(device)
        self.device = device

    @abc.abstractmethod
    def explorer(self, session: LearnerSession) -> Explorer:
        """The explorer of one learning player's session."""

    def session(self, player: int, **kwargs: Any) -> LearnerSession:
        """A fresh session for ``player`` (keywords: see :class:`LearnerSession`)."""
        session = LearnerSession(
            self.problem, player, self.player_seeds[player], **kwargs
        )
        session.monitor = self.monitor
        return session

    def run(self) -> ImitationResult:
        """Explore and label for every player, then clone: the learned profile."""
        start = time.perf_counter()
        sessions = [self.session(i) for i in range(self.problem.num_players)]
        explorations = [self.explorer(s).explore(s, self.num_games) for s in sessions]
        datasets = [s.dataset(self.num_games) for s in sessions]
        return self._clone(sessions, datasets, explorations, start)

    def _clone(
        self,
        sessions: Sequence[LearnerSession],
        datasets: Sequence[ExpertLabelDataset],
        explorations: Sequence[Exploration],
        start: float,
        info: Mapping[str, Any] | None = None,
    ) -> ImitationResult:
        """Fit BC on each player's dataset; the result with its timings."""
        explored = time.perf_counter()
        policies, metrics = fit_bc_profile(
            datasets,
            self.bc,
            seeds=[s.bc_seed for s in sessions],
            device=self.device,
            monitor=self.monitor,
            agents=[s.agent for s in sessions],
        )
        return ImitationResult(
            method=self.name,
            agents=self.problem.agents,
            datasets=tuple(datasets),
            policies=tuple(policies),
            explorer_steps=tuple(e.steps for e in explorations),
            explore_seconds=explored - start,
            bc_seconds=time.perf_counter() - explored,
            info={
                "explorations": [dict(e.info) for e in explorations],
                "bc_metrics": metrics,
                **(info or {}),
            },
        )
