"""DQN-Explore-BC: deep reward-free exploration for interactive multi-agent imitation.

Algorithm from Viano, Freihaut et al., "Multi-agent imitation learning with
function approximation: linear Markov games and beyond" (the deep variant of
LSVI-UCB-ZERO-BC). For every player ``i`` whose policy is learned:

1. the learning player ``i`` follows the expert (here the stochastic
   "uniform over optimal moves" expert) and every decision it takes is a
   labelled example ``(observation, action mask, expert action)``;
2. the OTHER seat is played by an *explorer*, a masked SB3 DQN
   (:class:`agents.deep.masked_dqn.MaskedDQN`) whose reward is replaced by the
   elliptical bonus (reward-free exploration)::

       r(s, a) = beta * ||phi(s, a)||_{Lambda^-1},
       phi(s, a) = e_a (x) h(s),

   where ``h(s)`` is the critic's penultimate layer (``Q(s, a) = w_a^T h(s) +
   b_a``), so ``Lambda = ridge * I + sum phi phi^T`` is block diagonal, one
   ``d x d`` block per action, and the bonus is ``beta * sqrt(h^T Lambda_a^-1 h)``
   (the linear-bandit / LSVI-UCB elliptical bonus of Abbasi-Yadkori et al. 2011
   and Jin et al. 2020 on the critic's features). ``Lambda_a^-1`` is updated
   by Sherman--Morrison as transitions arrive, and rebuilt from the replay
   buffer every ``rebuild_every`` explorer steps because the critic (hence
   ``h``) keeps changing (:class:`CriticEllipticalBonus`). As in LSVI-UCB,
   where the bonus is part of ``Q`` at decision time, the explorer's greedy
   action maximizes ``Q(s, a) + bonus(s, a)`` with the current bonus of every
   legal action (``optimistic_actions``; the TD targets are SB3's, on the
   stored bonus rewards). Without this optimism an action never tried keeps
   its untrained Q-value and the greedy explorer revisits what it has seen:
   on Tic-Tac-Toe it then labels fewer distinct states than uniform play;
3. collection stops after ``num_games`` expert-labelled games for player ``i``;
4. behaviour cloning on player ``i``'s labels gives its policy; the learned
   profile is greedy and masked.

The two baselines share the collection code: **uniform exploration** (the
explorer plays uniformly at random among legal moves) and **expert self-play**
(both seats play the expert; every game labels both players).

Everything is written for two-player turn-based PettingZoo AEC games with
``Dict(observation, action_mask)`` observations (PettingZoo classic board
games); :func:`run_tictactoe_comparison` runs the three methods on
Tic-Tac-Toe and measures the exact Nash gap of each learned profile.

Labels are the played expert moves and the expert's distributions (soft
labels, ``bc_targets="probs"``); :func:`dihedral_augment` optionally clones on
the 8 symmetries of each labelled board (no extra queries).

Example:
    >>> algo = DQNExploreBC(env_fn=env_fn, expert=expert, num_games=300, seed=0)  # doctest: +SKIP
    >>> result = algo.run()  # doctest: +SKIP
    >>> nash_gap(game, result.policies).nash_conv  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium
import numpy as np
import torch as th
from pettingzoo.utils.env import AECEnv
from stable_baselines3.common.buffers import DictReplayBuffer
from stable_baselines3.common.callbacks import (
    BaseCallback,
    CallbackList,
    StopTrainingOnMaxEpisodes,
)

from agents.bc import BCMetrics, BCTrainer, deduplicate
from agents.deep.masked_dqn import MaskedDQN, sample_legal_actions
from agents.policies import MLPPolicy, PolicyHead, SmallCNNPolicy, TorchPolicy
from mail_envs.core import BatchedPolicy
from mail_wrappers._policy import call_policy, sample_actions
from mail_wrappers.elliptical import (
    block_elliptical_bonus,
    block_elliptical_bonus_all_actions,
    block_logdet,
    block_logdet_increment,
    block_rebuild_cov_inv,
    block_sherman_morrison_update,
)
from mail_wrappers.frozen_opponent import FrozenOpponentWrapper

__all__ = [
    "METHODS",
    "ComparisonRow",
    "CriticEllipticalBonus",
    "DQNExploreBC",
    "DQNExploreBCResult",
    "ExpertLabels",
    "ExplorationResult",
    "TicTacToeComparison",
    "collect_dqn_explore",
    "collect_expert_self_play",
    "collect_policy_exploration",
    "collect_uniform_exploration",
    "dihedral_augment",
    "fit_bc_profile",
    "run_tictactoe_comparison",
]

EnvFactory = Callable[[], AECEnv]


# --------------------------------------------------------------------- datasets
@dataclass(frozen=True, eq=False)
class ExpertLabels:
    """The expert's labels for one player: a behaviour-cloning dataset.

    Only decisions are labelled: a state where the player has a single legal
    move needs no expert (and is not counted as a query).

    Attributes:
        agent: The labelled agent's name.
        observations: ``(N, *obs_shape)`` the agent's observations.
        action_masks: ``(N, A)`` boolean legal-action masks.
        expert_actions: ``(N,)`` int64 actions the expert played.
        expert_probs: ``(N, A)`` float64 expert distributions they were drawn from.
        games: ``(N,)`` int64 index of the game each label comes from.
        num_games: Number of complete games the labels come from.
    """

    agent: str
    observations: np.ndarray
    action_masks: np.ndarray
    expert_actions: np.ndarray
    expert_probs: np.ndarray
    games: np.ndarray
    num_games: int

    def __post_init__(self) -> None:
        n = len(self.expert_actions)
        for name in ("observations", "action_masks", "expert_probs", "games"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"{name} has {len(getattr(self, name))} rows, expected {n} "
                    "(one per expert action)"
                )

    @property
    def num_queries(self) -> int:
        """Number of expert labels (= expert queries)."""
        return len(self.expert_actions)

    def __len__(self) -> int:
        return self.num_queries

    @property
    def num_distinct_states(self) -> int:
        """Number of distinct labelled observations: how much of the game the data covers."""
        if self.num_queries == 0:
            return 0
        flat = np.ascontiguousarray(self.observations.reshape(self.num_queries, -1))
        return int(np.unique(flat, axis=0).shape[0])


class _LabelRecorder:
    """Collects the expert's moves of one or more agents, tagged by game."""

    def __init__(self, agents: Sequence[str]) -> None:
        self.agents = tuple(agents)
        self.game = -1
        self._rows: dict[
            str, list[tuple[np.ndarray, np.ndarray, int, np.ndarray, int]]
        ] = {a: [] for a in self.agents}

    def start_game(self) -> None:
        self.game += 1

    def add(
        self,
        agent: Any,
        observation: np.ndarray,
        mask: np.ndarray,
        action: int,
        probs: np.ndarray,
    ) -> None:
        if agent in self._rows and int(np.count_nonzero(mask)) > 1:
            self._rows[agent].append(
                (
                    np.array(observation),
                    np.asarray(mask, dtype=bool).copy(),
                    int(action),
                    np.asarray(probs, dtype=np.float64).copy(),
                    self.game,
                )
            )

    def labels(
        self, agent: str, num_games: int, obs_shape: tuple[int, ...], num_actions: int
    ) -> ExpertLabels:
        rows = [r for r in self._rows[agent] if r[4] < num_games]
        if rows:
            obs, masks, acts, probs, games = (
                np.stack([r[k] for r in rows]) for k in range(5)
            )
        else:
            obs = np.zeros((0, *obs_shape), np.float32)
            masks = np.zeros((0, num_actions), bool)
            acts, games = np.zeros(0, np.int64), np.zeros(0, np.int64)
            probs = np.zeros((0, num_actions), np.float64)
        return ExpertLabels(
            agent=agent,
            observations=obs,
            action_masks=masks,
            expert_actions=acts.astype(np.int64),
            expert_probs=probs,
            games=games.astype(np.int64),
            num_games=num_games,
        )


class _GameCounter(gymnasium.Wrapper):
    """Tells the recorder that a new game starts before the opponents' first moves."""

    def __init__(self, env: gymnasium.Env, recorder: _LabelRecorder) -> None:
        super().__init__(env)
        self.recorder = recorder

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.recorder.start_game()
        return self.env.reset(**kwargs)


def _two_seats(env: AECEnv, learner: str | None = None) -> tuple[str, str]:
    agents = list(env.possible_agents)
    if len(agents) != 2:
        raise ValueError(f"DQN-Explore needs a two-player game, got agents {agents!r}")
    if learner is None:
        return agents[0], agents[1]
    if learner not in agents:
        raise ValueError(f"learner {learner!r} is not one of the agents {agents!r}")
    return learner, agents[1 - agents.index(learner)]


def _spaces(env: AECEnv, agent: str) -> tuple[tuple[int, ...], int]:
    space = env.observation_space(agent)
    if (
        not isinstance(space, gymnasium.spaces.Dict)
        or "action_mask" not in space.spaces
    ):
        raise ValueError(
            f"observation space of {agent!r} must be a Dict with 'observation' and "
            f"'action_mask' entries, got {space!r}"
        )
    return tuple(space["observation"].shape or ()), int(env.action_space(agent).n)


@dataclass(frozen=True, eq=False)
class _LearnerSetup:
    """What both single-learner collectors build before playing."""

    probe: AECEnv
    learner: str
    obs_shape: tuple[int, ...]
    num_actions: int
    recorder: _LabelRecorder
    env: _GameCounter


def _learner_setup(
    env_fn: EnvFactory, expert: BatchedPolicy, learner: str, seed: int | None
) -> _LearnerSetup:
    """Seats, spaces, recorder and the explorer's env for one learning player."""
    probe = env_fn()
    learner, explorer = _two_seats(probe, learner)
    obs_shape, num_actions = _spaces(probe, learner)
    recorder = _LabelRecorder([learner])
    env = _explorer_env(env_fn, learner, explorer, expert, recorder, seed)
    return _LearnerSetup(probe, learner, obs_shape, num_actions, recorder, env)


def _moves_per_game(env: AECEnv, obs_shape: tuple[int, ...], num_actions: int) -> int:
    """An upper bound on one seat's moves in a game.

    Board games (``(rows, cols, planes)`` observations) end within half the
    cells (plus one); envs with ``max_cycles`` end within that many cycles.
    Never less than ``num_actions`` (Tic-Tac-Toe's long-standing bound).
    """
    bound = num_actions
    if len(obs_shape) == 3:
        bound = max(bound, obs_shape[0] * obs_shape[1] // 2 + 1)
    cycles = getattr(env.unwrapped, "max_cycles", None)
    if isinstance(cycles, int) and cycles > 0:
        bound = max(bound, cycles)
    return bound


def _check_budget(num_games: int) -> int:
    if int(num_games) != num_games or num_games < 1:
        raise ValueError(f"num_games must be a positive integer, got {num_games!r}")
    return int(num_games)


def _explorer_env(
    env_fn: EnvFactory,
    learner: str,
    explorer: str,
    expert: BatchedPolicy,
    recorder: _LabelRecorder,
    seed: int | None,
) -> _GameCounter:
    frozen = FrozenOpponentWrapper(
        env_fn(),
        explorer,
        opponent={learner: expert},
        on_opponent_action=recorder.add,
        seed=seed,
    )
    return _GameCounter(frozen, recorder)


# ----------------------------------------------------------- elliptical bonus
class CriticEllipticalBonus(BaseCallback):
    """Replace the explorer's reward by the elliptical bonus on the critic's features.

    For a transition ``(s, a)`` of the explorer the reward stored in the replay
    buffer becomes ``beta * sqrt(h(s)^T Lambda_a^-1 h(s))``, with ``h`` the
    online Q-network's penultimate layer and ``Lambda_a = ridge * I + sum h h^T``
    over the transitions that took action ``a`` (the block form of
    ``phi(s, a) = e_a (x) h(s)``). After computing the bonus, ``Lambda_a^-1`` is
    updated by Sherman--Morrison. The critic moves as it trains, so all blocks
    are rebuilt from the replay buffer with the current ``h`` (and, with
    ``relabel_rewards``, the stored rewards are recomputed with the rebuilt
    ``Lambda``, LSVI-UCB style) when one of two rules fires:

    * ``"periodic"``: every ``rebuild_every`` explorer steps;
    * ``"logdet"``: when ``log det Lambda`` has grown by ``logdet_threshold``
      since the last rebuild (``log 2``: the determinant doubled, the "rarely
      switching" rule of Abbasi-Yadkori et al., 2011), but never sooner than
      ``rebuild_every`` steps after it. The growth is tracked exactly by the
      matrix determinant lemma (:func:`~mail_wrappers.elliptical.block_logdet_increment`);
      many rebuilds early, when every state is new, and fewer and fewer later.

    SB3 calls ``on_step`` after ``env.step`` and before storing the transition,
    with ``model._last_obs`` still the observation the action was taken in, so
    the callback writes the bonus into the ``rewards`` array in place.

    Args:
        beta: Bonus scale.
        ridge: Ridge ``lambda`` of ``Lambda = lambda I + sum phi phi^T``.
        rebuild_every: Rebuild ``Lambda`` from the buffer every this many
            explorer steps (None: never, Sherman--Morrison only); with
            ``rebuild_rule="logdet"`` the least number of steps between rebuilds.
        rebuild_rule: ``"periodic"`` or ``"logdet"`` (see above).
        logdet_threshold: Growth of ``log det Lambda`` that triggers a
            ``"logdet"`` rebuild (default ``log 2``).
        relabel_rewards: Recompute the buffer's rewards at each rebuild.
        optimistic_actions: Choose greedy actions by ``Q(s, a) + bonus(s, a)``
            with the CURRENT bonus of every action (sets the explorer's
            ``action_bonus``), as LSVI-UCB adds the bonus to ``Q`` at decision
            time. Without it, an action never tried keeps its untrained
            Q-value while tried ones carry their past bonuses, and the greedy
            explorer keeps returning to what it has seen.
        verbose: SB3 verbosity.

    Raises:
        ValueError: If ``beta`` is negative, ``ridge`` not positive,
            ``rebuild_every`` not a positive integer, ``rebuild_rule`` unknown
            or ``logdet_threshold`` not positive.

    Example:
        >>> bonus = CriticEllipticalBonus(beta=3.0, ridge=1.0, rebuild_every=500)
        >>> explorer = MaskedDQN(env=explorer_env, seed=0)  # doctest: +SKIP
        >>> explorer.learn(5_000, callback=bonus)  # doctest: +SKIP
        >>> bonus.num_rebuilds  # doctest: +SKIP
        10
    """

    def __init__(
        self,
        *,
        beta: float = 3.0,
        ridge: float = 1.0,
        rebuild_every: int | None = 500,
        rebuild_rule: Literal["periodic", "logdet"] = "periodic",
        logdet_threshold: float = float(np.log(2.0)),
        relabel_rewards: bool = True,
        optimistic_actions: bool = True,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if not beta >= 0.0:
            raise ValueError(f"beta must be >= 0, got {beta!r}")
        if not ridge > 0.0:
            raise ValueError(f"ridge must be > 0, got {ridge!r}")
        if rebuild_every is not None and (
            int(rebuild_every) != rebuild_every or rebuild_every < 1
        ):
            raise ValueError(
                f"rebuild_every must be a positive integer or None, got {rebuild_every!r}"
            )
        if rebuild_rule not in ("periodic", "logdet"):
            raise ValueError(
                f"rebuild_rule must be 'periodic' or 'logdet', got {rebuild_rule!r}"
            )
        if rebuild_rule == "logdet" and rebuild_every is None:
            raise ValueError(
                "rebuild_rule='logdet' needs rebuild_every (the least number of "
                "steps between rebuilds), got None"
            )
        if not logdet_threshold > 0.0:
            raise ValueError(f"logdet_threshold must be > 0, got {logdet_threshold!r}")
        self.beta = float(beta)
        self.ridge = float(ridge)
        self.rebuild_every = rebuild_every
        self.rebuild_rule = rebuild_rule
        self.logdet_threshold = float(logdet_threshold)
        #: ``log det Lambda`` now, and at the last rebuild (or the start);
        #: tracked by the ``"logdet"`` rule only.
        self.logdet = 0.0
        self.logdet_at_rebuild = 0.0
        self.rebuild_steps: list[int] = []
        self.relabel_rewards = bool(relabel_rewards)
        self.optimistic_actions = bool(optimistic_actions)
        self.cov_inv: np.ndarray | None = None
        self.bonuses: list[float] = []

    @property
    def num_rebuilds(self) -> int:
        """How often ``Lambda`` was rebuilt from the replay buffer."""
        return len(self.rebuild_steps)

    # -- features ------------------------------------------------------------
    @property
    def dqn(self) -> MaskedDQN:
        """The explorer this callback is attached to."""
        if not isinstance(self.model, MaskedDQN):
            raise TypeError(
                "CriticEllipticalBonus needs a MaskedDQN (its critic gives the "
                f"features), got {type(self.model).__name__}"
            )
        return self.model

    def features(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Critic features ``h(s)`` of a batch of Dict observations, float64 ``(B, d)``."""
        model = self.dqn
        q_net = model.q_net
        obs = {
            k: th.as_tensor(np.asarray(v), device=model.device)
            for k, v in observations.items()
        }
        with th.no_grad():
            return q_net.penultimate_features(obs).double().cpu().numpy()

    def all_action_bonus(self, observations: Mapping[str, np.ndarray]) -> np.ndarray:
        """Current bonus of every action in a batch of states, ``(B, A)``."""
        if self.cov_inv is None:
            raise RuntimeError("the bonus is defined once training has started")
        return block_elliptical_bonus_all_actions(
            self.cov_inv, self.features(observations), self.beta
        )

    def bonus(
        self, observations: Mapping[str, np.ndarray], actions: np.ndarray
    ) -> np.ndarray:
        """Current bonus ``beta * ||e_a (x) h(s)||_{Lambda^-1}`` of a batch, ``(B,)``."""
        if self.cov_inv is None:
            raise RuntimeError("the bonus is defined once training has started")
        return block_elliptical_bonus(
            self.cov_inv,
            self.features(observations),
            np.asarray(actions).reshape(-1),
            self.beta,
        )

    # -- callback hooks --------------------------------------------------------
    def _on_training_start(self) -> None:
        num_actions = int(self.dqn.action_space.n)  # type: ignore[attr-defined]
        d = int(self.dqn.q_net.q_net[-1].in_features)  # type: ignore[arg-type]
        if self.cov_inv is None:
            self.cov_inv = np.tile(np.eye(d) / self.ridge, (num_actions, 1, 1))
            self.logdet = self.logdet_at_rebuild = num_actions * d * np.log(self.ridge)
        if self.optimistic_actions:
            self.dqn.action_bonus = self.all_action_bonus

    def _on_training_end(self) -> None:
        if self.dqn.action_bonus == self.all_action_bonus:
            self.dqn.action_bonus = None

    def _on_step(self) -> bool:
        assert self.cov_inv is not None
        obs = self.dqn._last_obs
        assert isinstance(obs, dict)
        actions = np.asarray(self.locals["actions"]).reshape(-1)
        rewards = self.locals["rewards"]
        h = self.features(obs)
        bonus = block_elliptical_bonus(self.cov_inv, h, actions, self.beta)
        rewards[...] = bonus.astype(rewards.dtype).reshape(rewards.shape)
        self.bonuses.extend(bonus.tolist())
        if self._rebuild_due():
            self.rebuild()
        if self.rebuild_rule == "logdet":
            self.logdet += block_logdet_increment(self.cov_inv, h, actions)
        self.cov_inv = block_sherman_morrison_update(self.cov_inv, h, actions)
        return True

    def _rebuild_due(self) -> bool:
        if self.rebuild_every is None:
            return False
        if self.rebuild_rule == "periodic":
            return self.n_calls % self.rebuild_every == 0
        last = self.rebuild_steps[-1] if self.rebuild_steps else 0
        return (
            self.n_calls - last >= self.rebuild_every
            and self.logdet - self.logdet_at_rebuild >= self.logdet_threshold
        )

    def rebuild(self) -> None:
        """Rebuild every ``Lambda_a^-1`` from the replay buffer with the current critic."""
        assert self.cov_inv is not None
        buffer = self.dqn.replay_buffer
        if not isinstance(buffer, DictReplayBuffer):
            raise TypeError(f"expected a DictReplayBuffer, got {type(buffer).__name__}")
        size = buffer.buffer_size if buffer.full else buffer.pos
        if size == 0:
            return
        obs = {
            k: v[:size].reshape(-1, *v.shape[2:])
            for k, v in buffer.observations.items()
        }
        actions = buffer.actions[:size].reshape(-1).astype(np.int64)
        h = self.features(obs)
        self.cov_inv = block_rebuild_cov_inv(
            h, actions, self.cov_inv.shape[0], self.ridge
        )
        if self.rebuild_rule == "logdet":
            self.logdet = self.logdet_at_rebuild = block_logdet(self.cov_inv)
        self.rebuild_steps.append(int(self.n_calls))
        if self.relabel_rewards:
            bonus = block_elliptical_bonus(self.cov_inv, h, actions, self.beta)
            buffer.rewards[:size] = bonus.reshape(buffer.rewards[:size].shape)


# ------------------------------------------------------------------ collection
@dataclass(frozen=True, eq=False)
class ExplorationResult:
    """What one exploration run for one learning player produced.

    Attributes:
        labels: The learning player's expert labels.
        explorer_steps: Moves the explorer made.
        wall_seconds: Wall time of the collection.
        bonuses: ``(explorer_steps,)`` bonus of each explorer move (DQN-Explore
            only; empty for the baselines).
        num_rebuilds: How often ``Lambda`` was rebuilt from the buffer.
    """

    labels: ExpertLabels
    explorer_steps: int
    wall_seconds: float
    bonuses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    num_rebuilds: int = 0


#: Explorer defaults (SB3 DQN keywords). ``learn`` gets ``num_games * A``
#: steps as its horizon (an upper bound for board games, where every move fills
#: a cell) and stops by games, so epsilon decays over the first
#: ``0.2 * num_games * A`` explorer steps (on Tic-Tac-Toe, ~40% of the run).
#: Wide hidden layers make ``h(s)`` rich enough for the bonus to tell states
#: apart: with 64 units the optimistic explorer labelled fewer distinct states
#: than uniform play, with 256 more (Tic-Tac-Toe, 1,000 games).
_DQN_DEFAULTS: dict[str, Any] = {
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


def collect_dqn_explore(
    env_fn: EnvFactory,
    expert: BatchedPolicy,
    *,
    learner: str,
    num_games: int,
    seed: int | None = None,
    beta: float = 3.0,
    ridge: float = 1.0,
    rebuild_every: int | None = 500,
    rebuild_rule: Literal["periodic", "logdet"] = "periodic",
    logdet_threshold: float = float(np.log(2.0)),
    relabel_rewards: bool = True,
    optimistic_actions: bool = True,
    dqn_kwargs: Mapping[str, Any] | None = None,
    device: str = "auto",
) -> ExplorationResult:
    """Label ``learner``'s decisions while a bonus-driven masked DQN explores the other seat.

    Args:
        env_fn: Builds a fresh two-player AEC env (Dict observations).
        expert: Batched expert policy; ``learner`` plays its sampled moves.
        learner: The agent whose policy is learned (labelled).
        num_games: Budget of complete expert-labelled games.
        seed: Seed of the explorer, the env and the expert's samples.
        beta: Bonus scale.
        ridge: Ridge of the feature covariance.
        rebuild_every: Rebuild period of ``Lambda`` (explorer steps), or None;
            the least gap between rebuilds with ``rebuild_rule="logdet"``.
        rebuild_rule: ``"periodic"`` or ``"logdet"`` (rebuild when
            ``log det Lambda`` grew by ``logdet_threshold``; see
            :class:`CriticEllipticalBonus`).
        logdet_threshold: Log-det growth of a ``"logdet"`` rebuild (``log 2``).
        relabel_rewards: Recompute the buffer's rewards at each rebuild.
        optimistic_actions: Greedy actions by ``Q + bonus`` (see
            :class:`CriticEllipticalBonus`).
        dqn_kwargs: Overrides of the DQN keyword arguments (SB3 names).
        device: Torch device of the DQN (``"auto"``: CUDA when present).

    Returns:
        The labels of exactly ``num_games`` games and the run's statistics.

    Raises:
        ValueError: If the game is not two-player with Dict observations, the
            learner is unknown or the budget is not a positive integer.
    """
    num_games = _check_budget(num_games)
    start = time.perf_counter()
    setup = _learner_setup(env_fn, expert, learner, seed)
    learner, recorder, env = setup.learner, setup.recorder, setup.env
    obs_shape, num_actions = setup.obs_shape, setup.num_actions
    kwargs = {**_DQN_DEFAULTS, **(dict(dqn_kwargs) if dqn_kwargs else {})}
    model = MaskedDQN(env=env, seed=seed, device=device, verbose=0, **kwargs)
    bonus = CriticEllipticalBonus(
        beta=beta,
        ridge=ridge,
        rebuild_every=rebuild_every,
        rebuild_rule=rebuild_rule,
        logdet_threshold=logdet_threshold,
        relabel_rewards=relabel_rewards,
        optimistic_actions=optimistic_actions,
    )
    stop = StopTrainingOnMaxEpisodes(max_episodes=num_games)
    # Training stops by games; the step budget only sets SB3's epsilon schedule.
    max_steps = num_games * _moves_per_game(setup.probe, obs_shape, num_actions)
    model.learn(total_timesteps=max_steps, callback=CallbackList([bonus, stop]))
    if stop.n_episodes < num_games:
        raise RuntimeError(
            f"the explorer finished {stop.n_episodes} games in {max_steps} steps, "
            f"fewer than the budget {num_games}"
        )
    return ExplorationResult(
        labels=recorder.labels(learner, num_games, obs_shape, num_actions),
        explorer_steps=int(model.num_timesteps),
        wall_seconds=time.perf_counter() - start,
        bonuses=np.asarray(bonus.bonuses),
        num_rebuilds=bonus.num_rebuilds,
    )


def _play_games(
    env: _GameCounter,
    choose: Callable[[dict[str, np.ndarray]], int],
    num_games: int,
    seed: int | None,
) -> int:
    """Play ``num_games`` games with ``choose`` in the controlled seat; return its moves."""
    steps = 0
    for game in range(num_games):
        obs, _ = env.reset(seed=None if seed is None or game else seed)
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(choose(obs))
            steps += 1
            done = terminated or truncated
    return steps


def collect_uniform_exploration(
    env_fn: EnvFactory,
    expert: BatchedPolicy,
    *,
    learner: str,
    num_games: int,
    seed: int | None = None,
) -> ExplorationResult:
    """Label ``learner``'s decisions while the other seat plays uniformly among legal moves.

    Args:
        env_fn: Builds a fresh two-player AEC env (Dict observations).
        expert: Batched expert policy; ``learner`` plays its sampled moves.
        learner: The agent whose policy is learned (labelled).
        num_games: Number of games.
        seed: Seed of the env, the expert's samples and the explorer.

    Returns:
        The labels of ``num_games`` games and the run's statistics.

    Raises:
        ValueError: If the game is not two-player with Dict observations, the
            learner is unknown or the budget is not a positive integer.
    """

    def chooser(rng: np.random.Generator) -> Callable[[dict[str, np.ndarray]], int]:
        return lambda obs: int(sample_legal_actions(obs["action_mask"][None], rng)[0])

    return _collect_one_learner(env_fn, expert, learner, num_games, seed, chooser, 1)


def _collect_one_learner(
    env_fn: EnvFactory,
    expert: BatchedPolicy,
    learner: str,
    num_games: int,
    seed: int | None,
    chooser: Callable[[np.random.Generator], Callable[[dict[str, np.ndarray]], int]],
    stream: int,
) -> ExplorationResult:
    """Play ``num_games`` with the explorer's moves from ``chooser(rng)``; label ``learner``."""
    num_games = _check_budget(num_games)
    start = time.perf_counter()
    setup = _learner_setup(env_fn, expert, learner, seed)
    rng = np.random.default_rng(None if seed is None else [seed, stream])
    steps = _play_games(setup.env, chooser(rng), num_games, seed)
    return ExplorationResult(
        labels=setup.recorder.labels(
            setup.learner, num_games, setup.obs_shape, setup.num_actions
        ),
        explorer_steps=steps,
        wall_seconds=time.perf_counter() - start,
    )


def collect_policy_exploration(
    env_fn: EnvFactory,
    expert: BatchedPolicy,
    *,
    learner: str,
    explorer_policy: BatchedPolicy,
    num_games: int,
    seed: int | None = None,
) -> ExplorationResult:
    """Label ``learner``'s decisions while the other seat samples from a fixed policy.

    With ``explorer_policy`` the other seat's expert this is expert self-play
    data for one learning player (the offline BC baseline for games whose two
    seats have different experts, e.g. tabular Nash policies).

    Args:
        env_fn: Builds a fresh two-player AEC env (Dict observations).
        expert: Batched expert policy; ``learner`` plays its sampled moves.
        learner: The agent whose policy is learned (labelled).
        explorer_policy: Batched policy of the other seat.
        num_games: Number of games.
        seed: Seed of the env, the expert's samples and the explorer's.

    Returns:
        The labels of ``num_games`` games and the run's statistics.

    Raises:
        ValueError: If the game is not two-player with Dict observations, the
            learner is unknown or the budget is not a positive integer.
    """

    def chooser(rng: np.random.Generator) -> Callable[[dict[str, np.ndarray]], int]:
        def choose(obs: dict[str, np.ndarray]) -> int:
            observation = np.asarray(obs["observation"])[None]
            mask = np.asarray(obs["action_mask"]).astype(bool)[None]
            probs = call_policy(
                explorer_policy, observation, mask, name="explorer_policy"
            )
            return int(sample_actions(probs, rng)[0])

        return choose

    return _collect_one_learner(env_fn, expert, learner, num_games, seed, chooser, 3)


def collect_expert_self_play(
    env_fn: EnvFactory,
    expert: BatchedPolicy,
    *,
    num_games: int,
    seed: int | None = None,
) -> tuple[ExplorationResult, ExplorationResult]:
    """Both seats play the expert; every game labels both players.

    Args:
        env_fn: Builds a fresh two-player AEC env (Dict observations).
        expert: Batched expert policy for both seats.
        num_games: Number of games (each labels both players).
        seed: Seed of the env and the expert's samples.

    Returns:
        One result per agent, in ``possible_agents`` order (the wall time and
        the move count are the shared run's).

    Raises:
        ValueError: If the game is not two-player with Dict observations or the
            budget is not a positive integer.
    """
    num_games = _check_budget(num_games)
    start = time.perf_counter()
    probe = env_fn()
    first, second = _two_seats(probe)
    shapes = {a: _spaces(probe, a) for a in (first, second)}
    recorder = _LabelRecorder([first, second])
    env = _explorer_env(env_fn, first, second, expert, recorder, seed)
    rng = np.random.default_rng(None if seed is None else [seed, 2])

    def choose(obs: dict[str, np.ndarray]) -> int:
        observation = np.asarray(obs["observation"])[None]
        mask = np.asarray(obs["action_mask"]).astype(bool)[None]
        probs = call_policy(expert, observation, mask, name="expert")
        action = int(sample_actions(probs, rng)[0])
        recorder.add(second, observation[0], mask[0], action, probs[0])
        return action

    steps = _play_games(env, choose, num_games, seed)
    wall = time.perf_counter() - start
    return tuple(  # type: ignore[return-value]
        ExplorationResult(
            labels=recorder.labels(agent, num_games, *shapes[agent]),
            explorer_steps=steps,
            wall_seconds=wall,
        )
        for agent in (first, second)
    )


# ------------------------------------------------------------ behaviour cloning
_BC_DEFAULTS: dict[str, Any] = {
    "batch_size": 128,
    "max_epochs": 60,
    "validation_fraction": 0.0,
    "progress_bar": False,
}


def dihedral_augment(labels: ExpertLabels) -> ExpertLabels:
    """The 8 symmetries of a square board applied to a label dataset (8x the rows).

    For board games on an ``n x n`` grid whose action ``k`` marks cell
    ``(k // n, k % n)`` (Tic-Tac-Toe: PettingZoo's action index is the
    row-major cell of the observation planes), rotating or reflecting the
    board maps the expert's optimal moves to the optimal moves of the image
    board, so every label gives 8 (some coincide on symmetric boards). This is
    behaviour-cloning data augmentation: no extra expert query.

    Args:
        labels: Observations ``(N, n, n, C)`` and ``n * n`` actions.

    Returns:
        A dataset with ``8 N`` rows: the 4 rotations of the boards, then the 4
        rotations of their transposes (the first ``N`` rows are the input).

    Raises:
        ValueError: If the observations are not square boards whose cells are
            the actions.

    Example:
        >>> aug = dihedral_augment(labels)  # doctest: +SKIP
        >>> len(aug) == 8 * len(labels)  # doctest: +SKIP
        True
    """
    obs = labels.observations
    if obs.ndim != 4 or obs.shape[1] != obs.shape[2]:
        raise ValueError(
            "dihedral_augment needs square board observations (N, n, n, C), got "
            f"shape {obs.shape}"
        )
    n = obs.shape[1]
    if labels.action_masks.shape[1] != n * n:
        raise ValueError(
            f"dihedral_augment needs one action per cell ({n * n}), got "
            f"{labels.action_masks.shape[1]} actions"
        )
    grids = (
        labels.action_masks.reshape(-1, n, n),
        labels.expert_probs.reshape(-1, n, n),
        np.eye(n * n, dtype=np.int8)[labels.expert_actions].reshape(-1, n, n),
    )
    out: list[list[np.ndarray]] = [[], [], [], []]
    for transpose in (False, True):
        arrays: tuple[np.ndarray, ...] = (obs, *grids)
        if transpose:
            arrays = (obs.transpose(0, 2, 1, 3), *(g.transpose(0, 2, 1) for g in grids))
        for k in range(4):
            for slot, array in enumerate(arrays):
                out[slot].append(np.rot90(array, k, axes=(1, 2)))
    observations, masks, probs, onehot = (np.concatenate(o) for o in out)
    return ExpertLabels(
        agent=labels.agent,
        observations=np.ascontiguousarray(observations),
        action_masks=masks.reshape(-1, n * n),
        expert_actions=onehot.reshape(-1, n * n).argmax(axis=1).astype(np.int64),
        expert_probs=probs.reshape(-1, n * n),
        games=np.tile(labels.games, 8),
        num_games=labels.num_games,
    )


def _default_head(
    obs_shape: tuple[int, ...], num_actions: int, seed: int
) -> PolicyHead:
    if len(obs_shape) == 3:
        return SmallCNNPolicy(obs_shape, num_actions, seed=seed)
    return MLPPolicy(obs_shape, num_actions, seed=seed)


def fit_bc_profile(
    labels: Sequence[ExpertLabels],
    *,
    seed: int = 0,
    targets: Literal["actions", "probs"] = "actions",
    head_fn: Callable[[tuple[int, ...], int, int], PolicyHead] | None = None,
    bc_kwargs: Mapping[str, Any] | None = None,
    augment: Callable[[ExpertLabels], ExpertLabels] | None = None,
    dedupe: bool = False,
    device: str = "auto",
) -> tuple[tuple[TorchPolicy, ...], tuple[BCMetrics, ...]]:
    """Behaviour cloning per player; the learned profile is greedy and masked.

    Args:
        labels: One dataset per player, in player order.
        seed: Seed of the heads' initialization and the BC shuffling (player
            ``k`` uses ``seed + k``).
        targets: Clone the expert's played ``"actions"`` (hard labels) or its
            distributions ``"probs"`` (soft labels).
        head_fn: ``(obs_shape, num_actions, seed) -> PolicyHead``; default the
            small CNN for ``(H, W, C)`` boards, else an MLP.
        bc_kwargs: Overrides of :class:`~agents.bc.BCTrainer` keywords
            (default: batch 128, 60 epochs, no held-out split, no progress bar).
        augment: Optional data augmentation applied to each dataset before
            cloning (e.g. :func:`dihedral_augment`).
        dedupe: Clone on the distinct ``(observation, mask, target)`` rows,
            each weighted by its count (:func:`agents.bc.deduplicate`): the
            same loss as on all rows, with far fewer minibatches per epoch on
            board games, whose games share their first positions.
        device: Torch device (``"auto"``: CUDA when present).

    Returns:
        The greedy policies and the BC metrics, one per player.

    Raises:
        ValueError: If ``targets`` is unknown or a dataset is empty.
    """
    if targets not in ("actions", "probs"):
        raise ValueError(f"targets must be 'actions' or 'probs', got {targets!r}")
    make_head = head_fn or _default_head
    policies, metrics = [], []
    for k, raw in enumerate(labels):
        if raw.num_queries == 0:
            raise ValueError(f"the dataset of {raw.agent!r} is empty: nothing to clone")
        data = raw if augment is None else augment(raw)
        head = make_head(
            tuple(data.observations.shape[1:]), data.action_masks.shape[1], seed + k
        )
        trainer = BCTrainer(
            policy=head,
            rng=seed + k,
            device=device,
            **{**_BC_DEFAULTS, **(bc_kwargs or {})},
        )
        y = data.expert_actions if targets == "actions" else data.expert_probs
        if dedupe:
            obs, masks, y, counts = deduplicate(data.observations, data.action_masks, y)
            metrics.append(trainer.train(obs, masks, y, sample_weights=counts))
        else:
            metrics.append(trainer.train(data.observations, data.action_masks, y))
        policies.append(trainer.as_policy("greedy"))
    return tuple(policies), tuple(metrics)


@dataclass(frozen=True, eq=False)
class DQNExploreBCResult:
    """Outcome of :meth:`DQNExploreBC.run` (one entry per learning player).

    Attributes:
        explorations: The exploration runs (labels, steps, bonuses).
        policies: The learned greedy masked policies (a profile, player order).
        bc_metrics: The behaviour-cloning metrics.
    """

    explorations: tuple[ExplorationResult, ...]
    policies: tuple[TorchPolicy, ...]
    bc_metrics: tuple[BCMetrics, ...]

    @property
    def num_queries(self) -> tuple[int, ...]:
        """Expert labels per player."""
        return tuple(e.labels.num_queries for e in self.explorations)


def _spawn_seeds(seed: int, n: int) -> list[int]:
    return [
        int(s)
        for s in np.random.SeedSequence(seed).generate_state(n, dtype=np.uint32)
        % (2**31)
    ]


class DQNExploreBC:
    """DQN-Explore-BC (Viano, Freihaut et al.): bonus-driven explorer, expert labels, BC.

    For each player ``i`` (in ``possible_agents`` order) a masked DQN explorer
    plays the other seat with the critic-feature elliptical bonus as its only
    reward while ``i`` plays the expert; ``i``'s decisions in ``num_games``
    games are labelled (:func:`collect_dqn_explore`); BC on each player's
    labels gives the learned greedy masked profile (:func:`fit_bc_profile`).

    Args:
        env_fn: Builds a fresh two-player AEC env with Dict observations.
        expert: The expert, a batched policy (e.g. the stochastic
            "uniform over optimal moves" Tic-Tac-Toe minimax expert).
        num_games: Budget of expert-labelled games per player.
        seed: Master seed (explorer, env, expert samples, BC).
        beta: Bonus scale.
        ridge: Ridge of the feature covariance.
        rebuild_every: Rebuild ``Lambda`` from the replay buffer every this
            many explorer steps (None: never); the least gap between rebuilds
            with ``rebuild_rule="logdet"``.
        rebuild_rule: ``"periodic"`` or ``"logdet"`` (see
            :class:`CriticEllipticalBonus`).
        logdet_threshold: Log-det growth of a ``"logdet"`` rebuild (``log 2``).
        relabel_rewards: Recompute the buffer's rewards at each rebuild.
        optimistic_actions: Greedy explorer actions by ``Q + bonus`` (see
            :class:`CriticEllipticalBonus`).
        dqn_kwargs: Overrides of the explorer's SB3 DQN keywords.
        bc_kwargs: Overrides of the :class:`~agents.bc.BCTrainer` keywords.
        bc_targets: ``"actions"`` or ``"probs"`` (see :func:`fit_bc_profile`).
        augment: Optional BC data augmentation (e.g. :func:`dihedral_augment`).
        device: Torch device of the DQN and BC (``"auto"``: CUDA when present).

    Raises:
        ValueError: If ``num_games`` is not a positive integer.

    Example:
        >>> from mail_envs.tictactoe import env
        >>> from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
        >>> algo = DQNExploreBC(env_fn=env, expert=TicTacToeMinimaxExpert(), num_games=5)
        >>> [len(e.labels.games) > 0 for e in algo.collect()]
        [True, True]
    """

    def __init__(
        self,
        *,
        env_fn: EnvFactory,
        expert: BatchedPolicy,
        num_games: int,
        seed: int = 0,
        beta: float = 3.0,
        ridge: float = 1.0,
        rebuild_every: int | None = 500,
        rebuild_rule: Literal["periodic", "logdet"] = "periodic",
        logdet_threshold: float = float(np.log(2.0)),
        relabel_rewards: bool = True,
        optimistic_actions: bool = True,
        dqn_kwargs: Mapping[str, Any] | None = None,
        bc_kwargs: Mapping[str, Any] | None = None,
        bc_targets: Literal["actions", "probs"] = "actions",
        augment: Callable[[ExpertLabels], ExpertLabels] | None = None,
        device: str = "auto",
    ) -> None:
        self.env_fn = env_fn
        self.expert = expert
        self.num_games = _check_budget(num_games)
        self.seed = int(seed)
        self.beta = beta
        self.ridge = ridge
        self.rebuild_every = rebuild_every
        self.rebuild_rule = rebuild_rule
        self.logdet_threshold = logdet_threshold
        self.relabel_rewards = relabel_rewards
        self.optimistic_actions = optimistic_actions
        self.augment = augment
        self.dqn_kwargs = dict(dqn_kwargs or {})
        self.bc_kwargs = dict(bc_kwargs or {})
        self.bc_targets = bc_targets
        self.device = device

    def collect(self) -> tuple[ExplorationResult, ...]:
        """Run the exploration for every player; labels in player order."""
        agents = _two_seats(self.env_fn())
        seeds = _spawn_seeds(self.seed, len(agents))
        return tuple(
            collect_dqn_explore(
                self.env_fn,
                self.expert,
                learner=agent,
                num_games=self.num_games,
                seed=s,
                beta=self.beta,
                ridge=self.ridge,
                rebuild_every=self.rebuild_every,
                rebuild_rule=self.rebuild_rule,
                logdet_threshold=self.logdet_threshold,
                relabel_rewards=self.relabel_rewards,
                optimistic_actions=self.optimistic_actions,
                dqn_kwargs=self.dqn_kwargs,
                device=self.device,
            )
            for agent, s in zip(agents, seeds, strict=True)
        )

    def run(self) -> DQNExploreBCResult:
        """Collect, then clone: the learned greedy profile and everything behind it."""
        explorations = self.collect()
        policies, metrics = fit_bc_profile(
            [e.labels for e in explorations],
            seed=self.seed,
            targets=self.bc_targets,
            bc_kwargs=self.bc_kwargs,
            augment=self.augment,
            device=self.device,
        )
        return DQNExploreBCResult(explorations, policies, metrics)


# ------------------------------------------------------------- the comparison
METHODS = ("dqn_explore", "uniform", "self_play")


@dataclass(frozen=True)
class ComparisonRow:
    """One learned profile of :func:`run_tictactoe_comparison`.

    Attributes:
        method: ``"dqn_explore"``, ``"uniform"`` or ``"self_play"``.
        num_games: Expert-labelled games per player.
        seed: The run's seed.
        nash_conv: Exact NashConv of the greedy masked BC profile.
        gains: Each player's exact gain from deviating.
        num_queries: Expert labels per player.
        distinct_states: Distinct labelled boards per player (coverage).
        collect_seconds: Wall time of the data collection (both players).
        bc_seconds: Wall time of behaviour cloning (both players).
        augmented: Whether BC used the 8 board symmetries of each label.
    """

    method: str
    num_games: int
    seed: int
    nash_conv: float
    gains: tuple[float, ...]
    num_queries: tuple[int, ...]
    distinct_states: tuple[int, ...]
    collect_seconds: float
    bc_seconds: float
    augmented: bool = False


@dataclass(frozen=True)
class TicTacToeComparison:
    """All rows of :func:`run_tictactoe_comparison`, in run order."""

    rows: tuple[ComparisonRow, ...]

    def table(self) -> str:
        """The rows as a fixed-width text table."""
        lines = [
            f"{'method':<12}{'games':>7}{'seed':>6}{'NashConv':>10}{'gains':>16}"
            f"{'queries':>14}{'distinct':>12}{'collect s':>11}{'bc s':>8}{'aug':>5}"
        ]
        for r in self.rows:
            gains = "/".join(f"{g:.3f}" for g in r.gains)
            queries = "/".join(str(q) for q in r.num_queries)
            distinct = "/".join(str(q) for q in r.distinct_states)
            lines.append(
                f"{r.method:<12}{r.num_games:>7}{r.seed:>6}{r.nash_conv:>10.4f}{gains:>16}"
                f"{queries:>14}{distinct:>12}{r.collect_seconds:>11.1f}{r.bc_seconds:>8.1f}"
                f"{'yes' if r.augmented else 'no':>5}"
            )
        return "\n".join(lines)


def run_tictactoe_comparison(
    budgets: Sequence[int] = (100, 300, 1000),
    seeds: Sequence[int] = (0,),
    *,
    methods: Sequence[str] = METHODS,
    dqn_explore_kwargs: Mapping[str, Any] | None = None,
    bc_kwargs: Mapping[str, Any] | None = None,
    bc_targets: Literal["actions", "probs"] = "actions",
    augment: bool = False,
    device: str = "auto",
    log: Callable[[str], None] | None = None,
) -> TicTacToeComparison:
    """DQN-Explore-BC vs uniform-exploration BC vs expert-self-play BC on Tic-Tac-Toe.

    The expert is the stochastic minimax expert (uniform over optimal moves);
    each method labels ``budget`` games per player, BC (small CNN) is fitted
    per player with the same settings for every method, and the exact NashConv
    of the greedy masked profile is computed on the full game model
    (:func:`mail_envs.solvers.nash_gap`). The baselines run with the same budgets,
    seeds and BC settings as DQN-Explore-BC.

    Args:
        budgets: Expert-labelled games per player.
        seeds: Seeds; each (method, budget, seed) is one independent run.
        methods: A subset of :data:`METHODS`.
        dqn_explore_kwargs: Extra keywords of :class:`DQNExploreBC` (``beta``,
            ``ridge``, ``rebuild_every``, ``dqn_kwargs``...).
        bc_kwargs: Overrides of the BC trainer keywords (all methods).
        bc_targets: ``"actions"`` or ``"probs"`` (all methods).
        augment: Clone on the 8 board symmetries of every label
            (:func:`dihedral_augment`; all methods, no extra queries).
        device: Torch device (``"auto"``: CUDA when present).
        log: Called with each finished row's text line (e.g. ``print``).

    Returns:
        A :class:`TicTacToeComparison` with one row per run.

    Raises:
        ValueError: If a method is unknown or a budget is not positive.

    Example:
        >>> result = run_tictactoe_comparison([5], [0], methods=["uniform"])  # doctest: +SKIP
        >>> print(result.table())  # doctest: +SKIP
    """
    from mail_envs.solvers import nash_gap
    from mail_envs.tictactoe import env as tictactoe_env
    from mail_envs.tictactoe import make_tictactoe_game
    from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown!r}; known: {METHODS!r}")
    for budget in budgets:
        _check_budget(budget)
    game = make_tictactoe_game()
    expert = TicTacToeMinimaxExpert(policy="uniform")
    agents = _two_seats(tictactoe_env())
    rows = []
    for seed in seeds:
        for budget in budgets:
            for method in methods:
                start = time.perf_counter()
                if method == "dqn_explore":
                    algo = DQNExploreBC(
                        env_fn=tictactoe_env,
                        expert=expert,
                        num_games=budget,
                        seed=seed,
                        device=device,
                        **dict(dqn_explore_kwargs or {}),
                    )
                    runs = algo.collect()
                elif method == "uniform":
                    runs = tuple(
                        collect_uniform_exploration(
                            tictactoe_env, expert, learner=a, num_games=budget, seed=s
                        )
                        for a, s in zip(agents, _spawn_seeds(seed, 2), strict=True)
                    )
                else:
                    runs = collect_expert_self_play(
                        tictactoe_env, expert, num_games=budget, seed=seed
                    )
                collected = time.perf_counter()
                policies, _ = fit_bc_profile(
                    [r.labels for r in runs],
                    seed=seed,
                    targets=bc_targets,
                    bc_kwargs=bc_kwargs,
                    augment=dihedral_augment if augment else None,
                    device=device,
                )
                fitted = time.perf_counter()
                gap = nash_gap(game, policies)
                row = ComparisonRow(
                    method=method,
                    num_games=int(budget),
                    seed=int(seed),
                    nash_conv=float(gap.nash_conv),
                    gains=tuple(float(g) for g in gap.gains),
                    num_queries=tuple(r.labels.num_queries for r in runs),
                    distinct_states=tuple(r.labels.num_distinct_states for r in runs),
                    collect_seconds=collected - start,
                    bc_seconds=fitted - collected,
                    augmented=augment,
                )
                rows.append(row)
                if log is not None:
                    log(TicTacToeComparison((row,)).table().splitlines()[1])
    return TicTacToeComparison(tuple(rows))
