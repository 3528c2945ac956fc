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
at the first game, and the wrappers draw their own streams from it. Explorers
that play ``num_envs`` games at once use further stacks of the session
(:meth:`LearnerSession.slots`, a :class:`GameSlot` each), seeded from the env
seed (:meth:`LearnerSession.stack_seed`); their games are numbered in the
order they start.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Protocol

import gymnasium
import numpy as np
from pettingzoo.utils.env import AECEnv, ParallelEnv

from agents.bc.profile import BCConfig, fit_bc_profile
from agents.common import check_positive_int, int_seed, resolve_device, spawn_seeds
from agents.monitor import NULL_MONITOR, RunMonitor, resolve_monitor
from mail_envs.core import BatchedPolicy, TabularMarkovGame, check_int
from mail_wrappers.expert_query import ExpertQueryWrapper, ParallelExpertQueryWrapper
from mail_wrappers.frozen_opponent import (
    FrozenOpponentWrapper,
    OpponentPolicy,
    uniform_policy,
)
from mail_wrappers.recorder import ExpertLabelDataset, ExpertLabelRecorder

__all__ = [
    "EnvFactory",
    "Exploration",
    "Explorer",
    "GameSlot",
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
    """One learning player's env stacks, recorder and seeds.

    :attr:`env` is the stack one game at a time is played in (:meth:`reset`,
    :meth:`play`). Explorers that step several games at once take
    :meth:`slots`: ``num_envs`` stacks (slot 0 holds :attr:`env`), each
    seeded on its own (:meth:`stack_seed`) and recording into the one
    :attr:`recorder`; :meth:`open_budget` lets them start exactly
    ``num_games`` more labelled games, numbered in the order they start, so
    that :meth:`dataset` ``(num_games)`` is still the first ``num_games``
    games and every expert query is a labelled decision of one of them.

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
        games: Labelled games started so far (each is played to its end).
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
        self._opponents: dict[str, OpponentPolicy] = {self.agent: learner_policy}
        for k, name in enumerate(agents):
            if name not in (self.agent, self.explorer_agent):
                self._opponents[name] = (seat_policies or {}).get(
                    name, problem.experts[k]
                )
        sink = _GameIndexSink(self.recorder)
        self.env = self._stack(sink)
        self.games = 0
        self.monitor: RunMonitor = NULL_MONITOR
        self.stage = f"explore {self.agent}"
        self._slots: list[GameSlot] = []
        self._sink = sink
        self._budget_end = 0
        self._finished = 0
        self._padding = False
        self._vectorized = False

    def _stack(self, sink: _GameIndexSink | None) -> FrozenOpponentWrapper:
        """A new env stack: env <- query wrapper (into ``sink``) <- frozen opponents.

        Without a sink (a padding stack) there is no query wrapper and the
        learning seat plays uniformly at random: no label, no expert query.
        """
        base = self.problem.env_fn()
        if sink is None:
            return FrozenOpponentWrapper(
                base,
                self.explorer_agent,
                opponent={**self._opponents, self.agent: uniform_policy},
            )
        query = (
            ParallelExpertQueryWrapper
            if isinstance(base, ParallelEnv)
            else ExpertQueryWrapper
        )
        queried = query(
            base,
            self.problem.experts[self.player],
            agents=[self.agent],
            recorder=sink,
        )
        return FrozenOpponentWrapper(
            queried, self.explorer_agent, opponent=self._opponents
        )

    def stack_seed(self, index: int, *, padding: bool = False) -> int:
        """The first-reset seed of env stack ``index`` (or of its padding stack).

        Stack 0 is :attr:`env`, seeded with :attr:`env_seed` as always; stack
        ``k >= 1`` gets ``SeedSequence(env_seed, spawn_key=(k,))`` and the
        padding stack of slot ``k`` ``SeedSequence(env_seed, spawn_key=(k, 1))``,
        as 31-bit integers (:func:`~agents.common.int_seed`).

        Example:
            >>> from agents.common import spawn_seeds
            >>> from mail_envs.tictactoe import env
            >>> from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
            >>> expert = TicTacToeMinimaxExpert()
            >>> problem = ImitationProblem("mail/tictactoe-v0", env, (expert, expert))
            >>> session = LearnerSession(problem, 0, spawn_seeds(0, 2)[0])
            >>> session.stack_seed(0) == session.env_seed != session.stack_seed(1)
            True
        """
        index = check_int("index", index, 0)
        if index == 0 and not padding:
            return self.env_seed
        key = (index, 1) if padding else (index,)
        return int_seed(np.random.SeedSequence(self.env_seed, spawn_key=key))

    def slots(self, num_envs: int) -> list[GameSlot]:
        """The first ``num_envs`` env stacks of the session, as :class:`GameSlot` s.

        Slot 0 holds :attr:`env`; the others are built on first use, each its
        own env stack (env, query wrapper, frozen opponents) seeded by
        :meth:`stack_seed`, all recording into :attr:`recorder`. Games played
        through slots are numbered by the session in the order they start
        (see :meth:`open_budget`), whatever slot plays them.

        Raises:
            ValueError: If ``num_envs`` is not a positive integer.
        """
        num_envs = check_positive_int("num_envs", num_envs)
        while len(self._slots) < num_envs:
            k = len(self._slots)
            if k == 0:
                slot = GameSlot(self, 0, self.env, self._sink, seeded=self.games > 0)
            else:
                sink = _GameIndexSink(self.recorder)
                slot = GameSlot(self, k, self._stack(sink), sink, seeded=False)
            self._slots.append(slot)
        return self._slots[:num_envs]

    def open_budget(self, num_games: int, *, padding: bool = False) -> None:
        """Let the slots start ``num_games`` more labelled games (numbered on).

        The games get the indices ``games, ..., games + num_games - 1`` in the
        order the slots start them; no slot starts a labelled game past the
        budget. With ``padding``, a slot reset after the whole budget has
        started plays a *padding game* instead (what an SB3 ``VecEnv`` needs:
        it steps every env every step): its own stack without the query
        wrapper, where the learning seat plays uniformly at random, so it makes
        no expert query and records no label.

        Raises:
            ValueError: If ``num_games`` is not a positive integer.
        """
        num_games = check_positive_int("num_games", num_games)
        self._budget_end = self.games + num_games
        self._finished = 0
        self._padding = bool(padding)
        self._vectorized = True

    @property
    def budget_left(self) -> int:
        """Labelled games of the open budget not started yet."""
        return max(self._budget_end - self.games, 0)

    @property
    def budget_finished(self) -> int:
        """Labelled games of the open budget that have ended."""
        return self._finished

    def _claim_game(self) -> int | None:
        """The index of the next labelled game, or None when the budget is spent."""
        if self.games >= self._budget_end:
            return None
        self.games += 1
        return self.games - 1

    def reset(self) -> tuple[Any, dict[str, Any]]:
        """Start the next game (the first with :attr:`env_seed`).

        Raises:
            RuntimeError: If games were played through :meth:`slots` already
                (their numbering is the session's, not :attr:`env`'s own).
        """
        self._check_single()
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

    def _check_single(self) -> None:
        """Refuse one-at-a-time play on :attr:`env` after games through slots."""
        if self._vectorized:
            raise RuntimeError(
                "this session played games through slots(); play its next games "
                "through slots() too (env numbers games on its own)"
            )

    def dataset(self, num_games: int | None = None) -> ExpertLabelDataset:
        """The learner's labels (of the first ``num_games`` games, if given).

        Rows are in game order (games played through several slots interleave
        in the recorder; a stable sort by game restores the order of one
        stack, and is skipped when the rows are in order already).
        """
        data = self.recorder.dataset()
        episodes = data.episodes
        if episodes.size > 1 and np.any(episodes[1:] < episodes[:-1]):
            data = data.take(np.argsort(episodes, kind="stable"))
        if num_games is not None:
            data = data.take(data.episodes < num_games)
        return data


class _GameIndexSink:
    """Forwards a query wrapper's labels to the recorder, numbered by the session.

    A stack's query wrapper numbers episodes by its own resets; games played
    through several slots are numbered by the session instead (``game``, set
    when a slot starts a labelled game). With ``game`` None the wrapper's own
    episode id passes through (one stack played one game at a time).
    """

    def __init__(self, recorder: ExpertLabelRecorder) -> None:
        self.recorder = recorder
        self.game: int | None = None

    def add(self, *, episode: int, **row: Any) -> None:
        """Record one label under the session's game index."""
        self.recorder.add(episode=episode if self.game is None else self.game, **row)


class GameSlot(gymnasium.Env):
    """One env stack of a :class:`LearnerSession` playing the session's budgeted games.

    A Gymnasium env (the explorer seat's view, as :attr:`LearnerSession.env`)
    whose games are counted against the budget the session opened
    (:meth:`LearnerSession.open_budget`): :meth:`start` begins the next
    labelled game, numbered by the session in the order games start, or
    returns None once the budget has started in full; :meth:`reset` does the
    same but, when the budget allows padding, plays a *padding game* instead
    (the learning seat uniform at random, no query wrapper: no label and no
    expert query). Every info carries ``"game"``: the labelled game's index,
    or ``-1`` in a padding game. The stack is seeded by the session
    (:meth:`LearnerSession.stack_seed`) at its first game; a ``seed`` passed to
    :meth:`reset` is ignored.

    Attributes:
        index: The slot's position in the session.
        game: The index of the game being played (``-1``: padding or none).
        padding_games: Padding games started.
        padding_moves: Explorer moves in padding games.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        session: LearnerSession,
        index: int,
        stack: FrozenOpponentWrapper,
        sink: _GameIndexSink,
        *,
        seeded: bool,
    ) -> None:
        self.session = session
        self.index = index
        self.stack = stack
        self.sink = sink
        self.observation_space = stack.observation_space
        self.action_space = stack.action_space
        self.game = -1
        self.padding_games = 0
        self.padding_moves = 0
        self._seeded = seeded
        self._padding_stack: FrozenOpponentWrapper | None = None
        self._current: FrozenOpponentWrapper | None = None

    def action_masks(self) -> np.ndarray:
        """The explorer seat's legal-action mask (for maskable learners)."""
        if self._current is None:
            raise RuntimeError("action_masks() before reset()")
        return self._current.action_masks()

    def start(self) -> tuple[Any, dict[str, Any]] | None:
        """Start the next labelled game of the budget; None if it has all started."""
        game = self.session._claim_game()
        if game is None:
            return None
        self.game = self.sink.game = game
        seed = None
        if not self._seeded:
            seed, self._seeded = self.session.stack_seed(self.index), True
        self._current = self.stack
        obs, info = self.stack.reset(seed=seed)
        info["game"] = game
        return obs, info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start a labelled game, or a padding game once the budget has started.

        Raises:
            RuntimeError: If the budget has started in full and the session's
                budget does not allow padding games.
        """
        out = self.start()
        if out is not None:
            return out
        if not self.session._padding:
            raise RuntimeError(
                f"slot {self.index}: the session's budget of labelled games has "
                "started in full and it allows no padding games"
            )
        self.game = -1
        padding_seed = None
        if self._padding_stack is None:
            self._padding_stack = self.session._stack(None)
            padding_seed = self.session.stack_seed(self.index, padding=True)
        self._current = self._padding_stack
        self.padding_games += 1
        obs, info = self._padding_stack.reset(seed=padding_seed)
        info["game"] = -1
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step the current game; a labelled game that ends is counted as finished."""
        current = self._current
        if current is None:
            raise RuntimeError("step() before reset()")
        obs, reward, terminated, truncated, info = current.step(action)
        info["game"] = self.game
        if self.game < 0:
            self.padding_moves += 1
        elif terminated or truncated:
            self.session._finished += 1
            self.game = -1
        return obs, reward, terminated, truncated, info


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
