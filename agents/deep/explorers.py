"""Explorers: what plays the explorer seat of a :class:`~agents.imitation.LearnerSession`.

* :class:`PolicyExplorer` — samples every move from a fixed batched policy:
  :func:`~mail_wrappers.frozen_opponent.uniform_policy` (uniform-exploration
  BC), the seat's own expert (expert self-play BC) or a learned policy
  (DAgger);
* :class:`DQNExplorer` — a masked SB3 DQN whose only reward is the elliptical
  bonus of its critic's features
  (:class:`~mail_wrappers.elliptical_reward.EllipticalBonusReward` with
  :class:`~agents.deep.critic_bonus.CriticFeatures`, rebuilt by
  :class:`~agents.deep.critic_bonus.BonusRebuildCallback`): DQN-Explore.

Both play exactly the number of games asked for; the session's recorder holds
the learner's labels. Both report the games played to the session's
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
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np
from stable_baselines3.common.callbacks import (
    BaseCallback,
    CallbackList,
    StopTrainingOnMaxEpisodes,
)

from agents.common import check_positive_int
from agents.deep.critic_bonus import BonusConfig, BonusRebuildCallback, CriticFeatures
from agents.deep.masked_dqn import MaskedDQN
from agents.imitation import Exploration, LearnerSession
from agents.monitor import RunMonitor, progress_every
from mail_envs.core import BatchedPolicy
from mail_wrappers._policy import act_one
from mail_wrappers.elliptical_reward import EllipticalBonusReward
from mail_wrappers.frozen_opponent import uniform_policy

__all__ = [
    "DQN_DEFAULTS",
    "DQNExplorer",
    "ExplorationLogCallback",
    "PolicyExplorer",
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

    Attributes:
        policy: The batched policy (``(observations, masks) -> probs``).
    """

    policy: BatchedPolicy

    def explore(self, session: LearnerSession, num_games: int) -> Exploration:
        """Play ``num_games`` games, sampling the policy with the session's explorer stream."""
        rng = session.explorer_rng

        def choose(obs: Mapping[str, np.ndarray]) -> int:
            observation = np.asarray(obs["observation"])
            mask = np.asarray(obs["action_mask"]).astype(bool)
            return act_one(self.policy, observation, mask, rng, name="explorer")[1]

        on_game = game_reporter(session.monitor, session.stage, num_games)
        return Exploration(steps=session.play(choose, num_games, on_game))


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

    At the end of every ``log_interval``-th game (when SB3's off-policy loop
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
        for done in np.asarray(self.locals["dones"]).reshape(-1):
            if not done:
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


@dataclass(frozen=True)
class DQNExplorer:
    """DQN-Explore: a masked SB3 DQN rewarded only by its critic-feature bonus.

    Attributes:
        bonus: The bonus settings (:class:`~agents.deep.critic_bonus.BonusConfig`).
        dqn_kwargs: Overrides of :data:`DQN_DEFAULTS` (SB3 DQN keywords).
        device: Torch device of the DQN (``"auto"``: CUDA when present).
        log_interval: SB3 dumps its logs (and the bonus statistics) every this
            many games.
    """

    bonus: BonusConfig = field(default_factory=BonusConfig)
    dqn_kwargs: Mapping[str, Any] = field(default_factory=dict)
    device: str = "auto"
    log_interval: int = 10

    def explore(self, session: LearnerSession, num_games: int) -> Exploration:
        """Train the explorer for exactly ``num_games`` games of the session's env.

        Raises:
            RuntimeError: If the games did not end within the step bound.
        """
        num_games = check_positive_int("num_games", num_games)
        features = CriticFeatures()
        env = EllipticalBonusReward(
            session.env,
            state_features=features,
            beta=self.bonus.beta,
            ridge=self.bonus.ridge,
        )
        model = MaskedDQN(
            env=env,
            seed=session.explorer_seed,
            device=self.device,
            verbose=0,
            **{**DQN_DEFAULTS, **self.dqn_kwargs},
        )
        model.get_env().seed(session.env_seed)  # type: ignore[union-attr]  # first reset
        features.attach(model)
        logger = session.monitor.logger(f"{session.agent}/dqn")
        model.set_logger(logger)
        rebuilds = BonusRebuildCallback(env.bonus, self.bonus)
        stop = StopTrainingOnMaxEpisodes(max_episodes=num_games)
        logs = ExplorationLogCallback(
            rebuilds,
            self.log_interval,
            num_games,
            game_reporter(session.monitor, session.stage, num_games),
        )
        # Training stops by games; the step bound only sets SB3's epsilon schedule.
        max_steps = num_games * moves_per_game(session.env)
        try:
            model.learn(
                total_timesteps=max_steps,
                callback=CallbackList([rebuilds, logs, stop]),
                log_interval=self.log_interval,
            )
            logger.dump(step=model.num_timesteps)  # what the last games recorded
        finally:
            logger.close()
        if stop.n_episodes < num_games:
            raise RuntimeError(
                f"the explorer finished {stop.n_episodes} games in {max_steps} steps, "
                f"fewer than the budget {num_games}"
            )
        session.games += num_games
        return Exploration(
            steps=int(model.num_timesteps),
            info={
                "bonuses": np.asarray(rebuilds.bonuses),
                "num_rebuilds": rebuilds.num_rebuilds,
                "rebuild_steps": list(rebuilds.rebuild_steps),
            },
        )
