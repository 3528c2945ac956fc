"""Explorers: what plays the explorer seat of a :class:`~agents.imitation.LearnerSession`.

* :class:`PolicyExplorer` — samples every move from a fixed batched policy:
  :func:`~mail_wrappers.frozen_opponent.uniform_policy` (uniform-exploration
  BC), the seat's own expert (expert self-play BC) or a learned policy
  (DAgger);
* :class:`DQNExplorer` — a masked SB3 DQN whose only reward is the elliptical
  bonus of its critic's features
  (:class:`~mail_wrappers.elliptical_reward.EllipticalBonusVecEnv` with
  :class:`~agents.deep.critic_bonus.CriticFeatures`, rebuilt by
  :class:`~agents.deep.critic_bonus.BonusRebuildCallback`): DQN-Explore.

Both step ``num_envs`` env stacks of the session at once
(:meth:`~agents.imitation.LearnerSession.slots`; default one) and play
exactly the number of labelled games asked for, numbered in the order they
start; the session's recorder holds the learner's labels, one per expert
query. Both report the games played to the session's
:class:`~agents.monitor.RunMonitor` (stage ``session.stage``, about every 1%
of the games and at the last one); the DQN explorer also logs SB3's own
``train/``, ``rollout/`` and ``time/`` metrics and its bonus statistics
(``explore/bonus_mean``, ``explore/num_rebuilds``, ``explore/games``) to
``monitor.logger(f"{session.agent}/dqn")`` every ``log_interval`` games.

Example:
    >>> from agents.imitation import ImitationProblem, LearnerSession
    >>> from agents.common import spawn_seeds
    >>> from mail_envs.tictactoe import env
    >>> from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
    >>> expert = TicTacToeMinimaxExpert()
    >>> problem = ImitationProblem("mail/tictactoe-v0", env, (expert, expert))
    >>> session = LearnerSession(problem, 0, spawn_seeds(0, 2)[0])
    >>> PolicyExplorer(uniform_policy).explore(session, 3).steps > 0
    True
    >>> sorted(set(session.dataset().episodes.tolist()))
    [0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import gymnasium
import numpy as np
from stable_baselines3.common.callbacks import (
    BaseCallback,
    CallbackList,
)
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from agents.common import check_positive_int
from agents.deep.critic_bonus import BonusConfig, BonusRebuildCallback, CriticFeatures
from agents.deep.masked_dqn import MaskedDQN
from agents.imitation import Exploration, GameSlot, LearnerSession
from agents.monitor import RunMonitor, progress_every
from mail_envs.core import BatchedPolicy
from mail_wrappers._policy import call_policy, sample_actions
from mail_wrappers.elliptical_reward import EllipticalBonusVecEnv
from mail_wrappers.frozen_opponent import uniform_policy

__all__ = [
    "DQN_DEFAULTS",
    "DQN_VECTOR_DEFAULTS",
    "DQNExplorer",
    "ExplorationLogCallback",
    "PolicyExplorer",
    "StopAtBudget",
    "play_batched",
    "uniform_policy",
]


def game_reporter(
    monitor: RunMonitor, stage: str, num_games: int
) -> Callable[[int], None] | None:
    """``on_game(k)`` reporting ``(stage, k, num_games)`` about every 1% of the games.

    None when the monitor has no progress callback (nothing to call per game).
    """
    if monitor.progress is None:
        return None
    every = progress_every(num_games)

    def on_game(k: int) -> None:
        if k % every == 0 or k == num_games:
            monitor.report(stage, k, num_games)

    return on_game


@dataclass(frozen=True)
class PolicyExplorer:
    """Plays every explorer move from a fixed batched policy.

    With ``num_envs > 1`` the session's first ``num_envs`` env stacks
    (:meth:`~agents.imitation.LearnerSession.slots`) play at once: every call
    of the policy is ONE batched call on the observations of all stacks still
    playing, and the actions are drawn from the session's explorer stream in
    stack order. A stack whose game ends starts the next game of the budget
    (games are numbered in the order they start); once all ``num_games`` have
    started, a stack whose game ends stops. With ``num_envs=1`` one stack plays
    one game after another, as it always did (the same draws, the same
    dataset).

    Attributes:
        policy: The batched policy (``(observations, masks) -> probs``).
        num_envs: Env stacks stepped together.

    Raises:
        ValueError: If ``num_envs`` is not a positive integer.

    Example:
        >>> from agents.common import spawn_seeds
        >>> from agents.imitation import ImitationProblem, LearnerSession
        >>> from mail_envs.tictactoe import env
        >>> from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
        >>> expert = TicTacToeMinimaxExpert()
        >>> problem = ImitationProblem("mail/tictactoe-v0", env, (expert, expert))
        >>> session = LearnerSession(problem, 1, spawn_seeds(0, 2)[1])
        >>> _ = PolicyExplorer(uniform_policy, num_envs=4).explore(session, 6)
        >>> sorted(set(session.dataset().episodes.tolist()))
        [0, 1, 2, 3, 4, 5]
    """

    policy: BatchedPolicy
    num_envs: int = 1

    def __post_init__(self) -> None:
        check_positive_int("num_envs", self.num_envs)

    def explore(self, session: LearnerSession, num_games: int) -> Exploration:
        """Play ``num_games`` games, sampling the policy with the session's explorer stream."""
        num_games = check_positive_int("num_games", num_games)
        on_game = game_reporter(session.monitor, session.stage, num_games)
        steps = play_batched(session, self.policy, num_games, self.num_envs, on_game)
        return Exploration(steps=steps)


def play_batched(
    session: LearnerSession,
    policy: BatchedPolicy,
    num_games: int,
    num_envs: int,
    on_game: Callable[[int], None] | None = None,
) -> int:
    """Play ``num_games`` labelled games on ``num_envs`` stacks at once; return the moves.

    One batched ``policy`` call per step for all stacks still playing; the
    actions are drawn from ``session.explorer_rng`` (one uniform per stack, in
    stack order: with one stack, the draws of the one-at-a-time path).
    ``on_game(k)`` is called as the ``k``-th game ends (in the order games end).

    Raises:
        ValueError: If ``num_games`` or ``num_envs`` is not a positive integer,
            or the policy returns no distribution over the legal actions.
    """
    num_games = check_positive_int("num_games", num_games)
    slots = session.slots(check_positive_int("num_envs", num_envs))
    rng = session.explorer_rng
    session.open_budget(num_games)
    active: list[GameSlot] = []
    observations: list[Mapping[str, np.ndarray]] = []
    for slot in slots:
        out = slot.start()
        if out is None:
            break
        active.append(slot)
        observations.append(out[0])
    steps = finished = 0
    while active:
        obs = np.stack([np.asarray(o["observation"]) for o in observations])
        masks = np.stack([np.asarray(o["action_mask"]) for o in observations])
        masks = masks.astype(bool)
        probs = call_policy(policy, obs, masks, name="explorer")
        actions = sample_actions(probs, rng).tolist()
        playing: list[GameSlot] = []
        observations = []
        for slot, action in zip(active, actions, strict=True):
            o, _, terminated, truncated, _ = slot.step(action)
            steps += 1
            if terminated or truncated:
                finished += 1
                if on_game is not None:
                    on_game(finished)
                out = slot.start()
                if out is None:
                    continue
                o = out[0]
            playing.append(slot)
            observations.append(o)
        active = playing
    return steps


#: Explorer defaults (SB3 DQN keywords). ``learn`` gets an upper bound on the
#: steps of ``num_games`` games as its horizon and stops by games, so epsilon
#: decays over the first ``0.2`` of that bound (on Tic-Tac-Toe, ~40% of the
#: run). Wide hidden layers make ``h(s)`` rich enough for the bonus to tell
#: states apart: with 64 units the optimistic explorer labelled fewer distinct
#: states than uniform play, with 256 more (Tic-Tac-Toe, 1,000 games).
DQN_DEFAULTS: Mapping[str, Any] = {
    "learning_rate": 1e-3,
    "buffer_size": 200_000,
    "learning_starts": 100,
    "batch_size": 64,
    "gamma": 0.9,
    "train_freq": 1,
    "gradient_steps": 1,
    "target_update_interval": 250,
    "exploration_fraction": 0.2,
    "exploration_initial_eps": 1.0,
    "exploration_final_eps": 0.05,
    "policy_kwargs": {"net_arch": [256, 256]},
}


def moves_per_game(env: gymnasium.Env) -> int:
    """An upper bound on one seat's moves in a game.

    Board games (``(rows, cols, planes)`` observations) end within half the
    cells (plus one); envs with ``max_cycles`` end within that many cycles.
    Never less than the number of actions.
    """
    space = env.observation_space
    shape = (
        space["observation"].shape
        if isinstance(space, gymnasium.spaces.Dict)
        else space.shape
    )
    bound = int(env.action_space.n)  # type: ignore[attr-defined]
    if shape is not None and len(shape) == 3:
        bound = max(bound, shape[0] * shape[1] // 2 + 1)
    base = getattr(env, "env", None)
    cycles = getattr(getattr(base, "unwrapped", base), "max_cycles", None)
    if isinstance(cycles, int) and cycles > 0:
        bound = max(bound, cycles)
    return bound


class ExplorationLogCallback(BaseCallback):
    """Logs the explorer's bonus statistics and reports its games (SB3 callback).

    At the end of every ``log_interval``-th labelled game (when SB3's off-policy loop
    dumps its logs) and of the last game it records ``explore/bonus_mean``
    (the mean bonus since the previous record), ``explore/num_rebuilds`` and
    ``explore/games`` in the model's logger; it reports games through
    ``on_game``. It reads only: the run is the same with and without it.

    Args:
        rebuilds: The run's :class:`~agents.deep.critic_bonus.BonusRebuildCallback`
            (its ``bonuses`` and ``rebuild_steps``).
        log_interval: The ``log_interval`` passed to ``learn``.
        num_games: The games the run plays (their last one is recorded too).
        on_game: ``on_game(k)`` after the ``k``-th game, or None.
    """

    def __init__(
        self,
        rebuilds: BonusRebuildCallback,
        log_interval: int,
        num_games: int,
        on_game: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(0)
        self.rebuilds = rebuilds
        self.log_interval = check_positive_int("log_interval", log_interval)
        self.num_games = check_positive_int("num_games", num_games)
        self.on_game = on_game
        self.games = 0
        self._logged_steps = 0

    def _on_step(self) -> bool:
        dones = np.asarray(self.locals["dones"]).reshape(-1)
        for done, info in zip(dones, self.locals["infos"], strict=True):
            if not done or info.get("game", 0) < 0:  # padding games do not count
                continue
            self.games += 1
            if self.games % self.log_interval == 0 or self.games == self.num_games:
                bonuses = self.rebuilds.bonuses[self._logged_steps :]
                self._logged_steps = len(self.rebuilds.bonuses)
                if bonuses:
                    self.logger.record("explore/bonus_mean", float(np.mean(bonuses)))
                self.logger.record("explore/num_rebuilds", self.rebuilds.num_rebuilds)
                self.logger.record("explore/games", self.games)
            if self.on_game is not None:
                self.on_game(self.games)
        return True


#: ``train_freq``/``gradient_steps`` of the explorer on ``num_envs`` env
#: stacks (they replace those of :data:`DQN_DEFAULTS`; ``dqn_kwargs`` override
#: both).
#: SB3 counts ``train_freq`` in vector steps (one move of every env), so one
#: gradient step per vector step trains once per ``num_envs`` moves: the replay
#: ratio falls as ``1 / num_envs`` and that is where the speed comes from.
#: Measured on Tic-Tac-Toe (300 games, seed 0, both learners, one CPU thread,
#: a shared 2-core machine): 105-110 moves/s with 1 env, 190-250 with 4, about
#: 500 with 16, labelling 466/348 distinct states (learner 0/1) with 1 env,
#: 471/393 with 4 and 498/396 with 16; keeping the replay ratio
#: (``gradient_steps=-1``) ran at 100-140 moves/s with 4 and 16 envs (439/365
#: distinct states with 16).
DQN_VECTOR_DEFAULTS: Mapping[str, Any] = {
    "train_freq": (1, "step"),
    "gradient_steps": 1,
}


class StopAtBudget(BaseCallback):
    """Stops SB3 training when every labelled game of the session's budget has ended."""

    def __init__(self, session: LearnerSession, num_games: int) -> None:
        super().__init__(0)
        self.session = session
        self.num_games = check_positive_int("num_games", num_games)

    def _on_step(self) -> bool:
        return self.session.budget_finished < self.num_games


@dataclass(frozen=True)
class DQNExplorer:
    """DQN-Explore: a masked SB3 DQN rewarded only by its critic-feature bonus.

    The DQN plays the session's first ``num_envs`` env stacks
    (:meth:`~agents.imitation.LearnerSession.slots`) as one SB3
    ``DummyVecEnv``, wrapped in
    :class:`~mail_wrappers.elliptical_reward.EllipticalBonusVecEnv`: the
    critic features and bonuses of all envs come from one batched call per
    step, and ``Lambda`` takes one batched (Woodbury) update. SB3 steps every
    env every step, so once the whole budget has started an env that resets
    plays a *padding game* (the learning seat uniform at random, no query
    wrapper: no label and no expert query; its moves are still DQN experience
    and bonus data). Training stops when the last labelled game ends. The
    bonus is rebuilt every ``ceil(bonus.rebuild_every / num_envs)`` vector
    steps (``rebuild_every`` counts explorer moves, as with one env), and
    :data:`DQN_VECTOR_DEFAULTS` replace ``train_freq``/``gradient_steps`` of
    :data:`DQN_DEFAULTS` (``dqn_kwargs`` still override both). With
    ``num_envs=1`` this is the one-env DQN it always was (the same moves,
    bonuses and labels), except that the game SB3's auto-reset opens after the
    last labelled game is a padding game: no expert query past the budget.
    Two further differences with several envs: SB3's step bound (its
    ``total_timesteps``, which also sets the epsilon schedule) is
    ``num_envs * (ceil(num_games / num_envs) + 2)`` games' moves, so epsilon
    decays over slightly more moves than with one env (20% more for 100
    games in 8 envs, under 2% for 1,000); and SB3's episode ``Monitor`` wraps
    each slot, under the bonus, so ``rollout/ep_rew_mean`` logs the explorer
    seat's game outcome (padding games included), not its bonus sum.
    ``info`` reports every move's bonus (``"bonuses"``, padding moves too),
    ``"num_rebuilds"``, ``"rebuild_steps"`` (in explorer moves),
    ``"num_envs"`` and ``"padding_steps"`` (moves in padding games).

    Attributes:
        bonus: The bonus settings (:class:`~agents.deep.critic_bonus.BonusConfig`).
        dqn_kwargs: Overrides of :data:`DQN_DEFAULTS` (SB3 DQN keywords).
        device: Torch device of the DQN (``"auto"``: CUDA when present).
        log_interval: SB3 dumps its logs (and the bonus statistics) every this
            many games.
        num_envs: Env stacks stepped together.

    Raises:
        ValueError: If ``num_envs`` is not a positive integer.
    """

    bonus: BonusConfig = field(default_factory=BonusConfig)
    dqn_kwargs: Mapping[str, Any] = field(default_factory=dict)
    device: str = "auto"
    log_interval: int = 10
    num_envs: int = 1

    def __post_init__(self) -> None:
        check_positive_int("num_envs", self.num_envs)

    def explore(self, session: LearnerSession, num_games: int) -> Exploration:
        """Train the explorer for exactly ``num_games`` labelled games of the session.

        Raises:
            RuntimeError: If the games did not end within the step bound.
        """
        num_games = check_positive_int("num_games", num_games)
        num_envs = self.num_envs
        slots = session.slots(num_envs)
        session.open_budget(num_games, padding=True)
        start_moves = sum(slot.padding_moves for slot in slots)
        venv = DummyVecEnv([_slot_env(slot) for slot in slots])
        features = CriticFeatures()
        env = EllipticalBonusVecEnv(
            venv,
            state_features=features,
            beta=self.bonus.beta,
            ridge=self.bonus.ridge,
        )
        model = MaskedDQN(
            env=env,
            seed=session.explorer_seed,
            device=self.device,
            verbose=0,
            **{**DQN_DEFAULTS, **DQN_VECTOR_DEFAULTS, **self.dqn_kwargs},
        )
        features.attach(model)
        logger = session.monitor.logger(f"{session.agent}/dqn")
        model.set_logger(logger)
        every = self.bonus.rebuild_every
        config = self.bonus
        if every is not None:
            config = replace(config, rebuild_every=-(-every // num_envs))
        rebuilds = BonusRebuildCallback(env.bonus, config)
        logs = ExplorationLogCallback(
            rebuilds,
            self.log_interval,
            num_games,
            game_reporter(session.monitor, session.stage, num_games),
        )
        stop = StopAtBudget(session, num_games)
        # Every labelled game has started within (ceil(n / envs) + 1) games of
        # the env that played the fewest, and ends one game later.
        moves = moves_per_game(slots[0].stack)
        if num_envs == 1:  # one game after another: the one-env schedule
            max_steps = num_games * moves
        else:
            max_steps = num_envs * (-(-num_games // num_envs) + 2) * moves
        try:
            model.learn(
                total_timesteps=max_steps,
                callback=CallbackList([rebuilds, logs, stop]),
                log_interval=self.log_interval,
            )
            logger.dump(step=model.num_timesteps)
        finally:
            logger.close()
        if session.budget_finished < num_games:
            raise RuntimeError(
                f"the explorer finished {session.budget_finished} games in "
                f"{max_steps} steps, fewer than the budget {num_games}"
            )
        return Exploration(
            steps=int(model.num_timesteps),
            info={
                "bonuses": np.asarray(rebuilds.bonuses),
                "num_rebuilds": rebuilds.num_rebuilds,
                "rebuild_steps": [k * num_envs for k in rebuilds.rebuild_steps],
                "num_envs": num_envs,
                "padding_steps": sum(slot.padding_moves for slot in slots)
                - start_moves,
            },
        )


def _slot_env(slot: GameSlot) -> Callable[[], gymnasium.Env]:
    """The ``DummyVecEnv`` factory of one slot (with SB3's episode ``Monitor``)."""
    return lambda: Monitor(slot)
