"""DQN-Explore-BC as its authors ran it: concatenated-action critic, softmax, frozen bonus.

A second configuration of DQN-Explore-BC (Viano, Freihaut et al.,
"Multi-agent imitation learning with function approximation: linear Markov
games and beyond", Algorithm 5 and Appendix I) beside
:class:`~agents.deep.dqn_explore.DQNExploreBC`, following the authors'
published Tic-Tac-Toe code point by point:

* **critic** (:class:`ConcatActionQNetwork`) — ``h(s)`` from the observation
  (three 3x3 convolutions, 32/64/128 channels, then ``fc1`` for board
  observations; ``fc1`` alone for flat ones), the action concatenated after
  it: ``phi(s, a) = ReLU(fc2([h(s), onehot(a)]))`` (``d = 64``) and
  ``Q(s, a) = fc3(phi(s, a))`` (a scalar head with a bias). The bonus
  features are shared by all actions (one ``d x d`` matrix ``Lambda``), so a
  visit generalises across actions;
* **bonus** — ``r(s, a) = beta * ||phi(s, a)||_{Lambda^-1}`` with
  ``Lambda = ridge * I + sum phi phi^T`` (``ridge = 1.5``, ``beta = 1``), the
  reward itself (reward-free exploration: no game reward, nothing added to
  ``Q``). Within an outer iteration the features come from a frozen copy of
  the critic and the reward's ``Lambda`` stays fixed, while a second
  ``Lambda`` accumulates the iteration's features; when its ``log det`` has
  grown by more than ``log 2`` (the determinant doubled: the rarely switching
  rule) both are rebuilt from the replay buffer with the current critic.
  Both are :class:`~mail_wrappers.elliptical_reward.EllipticalBonus` in the
  full feature form with :class:`ConcatActionFeatures`;
* **actions** — sampled from ``softmax(clip(Q / T, -50, 50))`` over the legal
  actions (temperature ``T = 1``): no epsilon-greedy;
* **learning** — after every round of ``games_per_round`` games, 10 gradient
  steps of DQN (Huber loss, Adam ``1e-3``, batch 64, gradient norm clipped at
  1, ``gamma = 0.9``, the target ``r + gamma * max_a Q_target(s', a)``
  bootstrapped through game ends as in the published code), each followed by
  a soft target update (``tau = 0.005``); the replay buffer keeps the last
  1,000 transitions and the rewards they were stored with.

Everything the explorer does goes through ``session.env``, so the expert
queries are counted by the session's wrappers as for every method. Action and
replay sampling use the session's explorer stream and the critic is
initialised from its seed: a seed gives the same run on CPU.

Example:
    >>> from mail_envs.tictactoe import env
    >>> from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
    >>> from agents.imitation import ImitationProblem
    >>> expert = TicTacToeMinimaxExpert()
    >>> problem = ImitationProblem("mail/tictactoe-v0", env, (expert, expert))
    >>> algo = PaperDQNExploreBC(problem, num_games=3, device="cpu",
    ...                          bc=BCConfig(min_epochs=1, min_steps=1))
    >>> result = algo.run()
    >>> [len(i["bonuses"]) for i in result.info["explorations"]] == list(result.explorer_steps)
    True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch as th
from torch import nn
from torch.nn import functional as F

from agents.bc.profile import BCConfig
from agents.common import check_positive_int, resolve_device
from agents.deep.explorers import game_reporter
from agents.imitation import (
    Exploration,
    Explorer,
    ImitationProblem,
    InteractiveBC,
    LearnerSession,
)
from agents.monitor import RunMonitor
from mail_envs.core import check_real
from mail_wrappers.elliptical_reward import EllipticalBonus

__all__ = [
    "ConcatActionFeatures",
    "ConcatActionQNetwork",
    "PaperDQNConfig",
    "PaperDQNExploreBC",
    "PaperDQNExplorer",
    "ReplayBuffer",
    "masked_softmax",
    "soft_update",
]


@dataclass(frozen=True)
class PaperDQNConfig:
    """Settings of the published DQN-Explore explorer (defaults: its Tic-Tac-Toe run).

    Attributes:
        hidden_dim: Width ``d`` of ``h(s)`` and of the bonus features ``phi``.
        ridge: ``Lambda = ridge * I + sum phi phi^T`` (published: 1.5).
        beta: Bonus scale (published: none, i.e. 1).
        temperature: Softmax temperature of the explorer's actions.
        q_clip: ``Q / temperature`` is clipped to ``[-q_clip, q_clip]``.
        gamma: Discount of the explorer's DQN.
        learning_rate: Adam's step size.
        batch_size: Transitions per gradient step (no step while the buffer
            holds fewer).
        buffer_size: Transitions the replay buffer keeps (the last ones).
        gradient_steps: Gradient steps after every round.
        games_per_round: Games per round (a "trajectory" of the paper; the
            published loop plays its horizon, 10, games per trajectory).
        tau: Soft target update ``target <- (1 - tau) target + tau online``.
        max_grad_norm: Gradient norm clip.
        logdet_threshold: Growth of ``log det Lambda`` within an iteration
            that ends it (``log 2``: the determinant doubled).
        max_rounds: Rounds after which an iteration ends anyway (``t_max``).
        bootstrap_terminal: Bootstrap the target through game ends (as
            published) instead of stopping at them.

    Raises:
        ValueError: If a value is out of range (the message names it).

    Example:
        >>> PaperDQNConfig().hidden_dim, PaperDQNConfig().ridge
        (64, 1.5)
    """

    hidden_dim: int = 64
    ridge: float = 1.5
    beta: float = 1.0
    temperature: float = 1.0
    q_clip: float = 50.0
    gamma: float = 0.9
    learning_rate: float = 1e-3
    batch_size: int = 64
    buffer_size: int = 1000
    gradient_steps: int = 10
    games_per_round: int = 1
    tau: float = 0.005
    max_grad_norm: float = 1.0
    logdet_threshold: float = math.log(2.0)
    max_rounds: int = 1000
    bootstrap_terminal: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "int":
                check_positive_int(f.name, value)
            elif f.type == "float":
                check_real(f.name, value, minimum=0.0, open_minimum=True)
        if not 0.0 < self.gamma < 1.0 or not 0.0 < self.tau <= 1.0:
            raise ValueError(
                f"gamma must lie in (0, 1) and tau in (0, 1], got gamma={self.gamma!r}, "
                f"tau={self.tau!r}"
            )


class ConcatActionQNetwork(nn.Module):
    """``Q(s, a) = fc3(ReLU(fc2([h(s), onehot(a)])))``: the action joins after ``h``.

    Args:
        obs_shape: Shape of one observation: ``(rows, cols, planes)`` boards go
            through three 3x3 convolutions (32, 64, 128 channels, padding 1)
            before ``fc1``; any other shape is flattened into ``fc1``.
        num_actions: ``A``.
        hidden_dim: ``d``, the width of ``h(s)`` and ``phi(s, a)``.

    Example:
        >>> net = ConcatActionQNetwork((3, 3, 2), 9, hidden_dim=8)
        >>> tuple(net.q_values(th.zeros(4, 3, 3, 2)).shape)
        (4, 9)
    """

    def __init__(
        self, obs_shape: Sequence[int], num_actions: int, hidden_dim: int = 64
    ) -> None:
        super().__init__()
        self.obs_shape = tuple(int(n) for n in obs_shape)
        self.num_actions = check_positive_int("num_actions", num_actions)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.is_board = len(self.obs_shape) == 3
        if self.is_board:
            rows, cols, planes = self.obs_shape
            layers: list[nn.Module] = []
            for width in (32, 64, 128):
                layers += [nn.Conv2d(planes, width, 3, padding=1), nn.ReLU()]
                planes = width
            self.trunk: nn.Module = nn.Sequential(*layers, nn.Flatten())
            flat = rows * cols * planes
        else:
            self.trunk = nn.Flatten()
            flat = math.prod(self.obs_shape)
        self.fc1 = nn.Linear(flat, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim + num_actions, hidden_dim)
        self.fc3 = nn.Linear(hidden_dim, 1)

    def state_embedding(self, obs: th.Tensor) -> th.Tensor:
        """``h(s) = ReLU(fc1(trunk(s)))`` of a batch of observations, ``(B, d)``."""
        x = obs.float()
        if self.is_board:
            x = x.permute(0, 3, 1, 2)  # (B, rows, cols, planes) -> channels first
        return F.relu(self.fc1(self.trunk(x)))

    def features(self, obs: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """``phi(s, a)`` of a batch of pairs, ``(B, d)``."""
        h = self.state_embedding(obs)
        onehot = F.one_hot(actions.long(), self.num_actions).to(h.dtype)
        return F.relu(self.fc2(th.cat([h, onehot], dim=1)))

    def all_features(self, obs: th.Tensor) -> th.Tensor:
        """``phi(s, a)`` of every action, ``(B, A, d)`` (``h`` computed once)."""
        h = self.state_embedding(obs)
        eye = th.eye(self.num_actions, dtype=h.dtype, device=h.device)
        pairs = th.cat(
            [
                h.unsqueeze(1).expand(-1, self.num_actions, -1),
                eye.expand(h.shape[0], -1, -1),
            ],
            dim=2,
        )
        return F.relu(self.fc2(pairs))

    def forward(self, obs: th.Tensor, actions: th.Tensor) -> th.Tensor:
        """``Q(s, a)`` of a batch of pairs, ``(B,)``."""
        return self.fc3(self.features(obs, actions)).squeeze(-1)

    def q_values(self, obs: th.Tensor) -> th.Tensor:
        """``Q(s, .)`` of a batch of states, ``(B, A)``."""
        return self.fc3(self.all_features(obs)).squeeze(-1)


class ConcatActionFeatures:
    """``phi(s, a)`` of a frozen copy of a critic: a full feature map for the bonus.

    The feature map of :class:`~mail_wrappers.elliptical_reward.EllipticalBonus`
    (``features=``): ``(observations, actions) -> (B, d)`` float64. It copies
    the critic's weights when made, so the features stay fixed while the
    critic trains (one outer iteration of Algorithm 5).

    Args:
        network: The critic.
        device: Where the copy runs (default: the critic's device).

    Example:
        >>> net = ConcatActionQNetwork((2,), 2, hidden_dim=4)
        >>> ConcatActionFeatures(net)(np.zeros((3, 2)), np.array([0, 1, 1])).shape
        (3, 4)
    """

    def __init__(
        self, network: ConcatActionQNetwork, device: th.device | None = None
    ) -> None:
        self.network = copy.deepcopy(network).requires_grad_(False).eval()
        self.device = device or next(network.parameters()).device

    def __call__(self, observations: Any, actions: np.ndarray) -> np.ndarray:
        """Features of a batch of observation arrays and actions, ``(B, d)``."""
        obs = th.as_tensor(np.asarray(observations), device=self.device)
        acts = th.as_tensor(np.asarray(actions, dtype=np.int64), device=self.device)
        with th.no_grad():
            return self.network.features(obs, acts).double().cpu().numpy()


def masked_softmax(
    q_values: th.Tensor, mask: th.Tensor, temperature: float = 1.0, clip: float = 50.0
) -> th.Tensor:
    """``softmax(clip(Q / T, -clip, clip))`` restricted to the legal actions.

    Equals the published rule (softmax over all actions, times the mask,
    renormalised) without its round trip through illegal actions.

    Args:
        q_values: ``(B, A)`` action values.
        mask: ``(B, A)`` legal actions (nonzero: legal).
        temperature: ``T > 0``.
        clip: Bound of the scaled values (keeps ``exp`` finite).

    Returns:
        ``(B, A)`` probabilities, zero on illegal actions.

    Raises:
        ValueError: If a row has no legal action.

    Example:
        >>> masked_softmax(th.tensor([[0.0, 5.0, 0.0]]), th.tensor([[1, 0, 1]])).tolist()
        [[0.5, 0.0, 0.5]]
    """
    legal = mask.bool()
    if not bool(legal.any(dim=-1).all()):
        row = int((~legal.any(dim=-1)).nonzero()[0, 0])
        raise ValueError(f"row {row} of the action mask has no legal action")
    logits = th.clamp(q_values / temperature, -clip, clip)
    return th.softmax(logits.masked_fill(~legal, -math.inf), dim=-1)


def soft_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """Polyak averaging in place: ``target <- (1 - tau) * target + tau * online``."""
    with th.no_grad():
        for t, o in zip(target.parameters(), online.parameters(), strict=True):
            t.lerp_(o, tau)


class ReplayBuffer:
    """The last ``capacity`` transitions ``(s, a, r, s', end)``, as arrays.

    Args:
        capacity: Transitions kept (older ones are overwritten).
        obs_shape: Shape of one observation.

    Example:
        >>> buffer = ReplayBuffer(2, (1,))
        >>> buffer.add(np.zeros((3, 1)), np.array([0, 1, 0]), np.ones(3), np.ones((3, 1)),
        ...            np.array([False, False, True]))
        >>> len(buffer), buffer.actions.tolist()
        (2, [1, 0])
    """

    def __init__(self, capacity: int, obs_shape: Sequence[int]) -> None:
        self.capacity = check_positive_int("capacity", capacity)
        shape = (self.capacity, *obs_shape)
        self._obs = np.zeros(shape, dtype=np.float32)
        self._next_obs = np.zeros(shape, dtype=np.float32)
        self._actions = np.zeros(self.capacity, dtype=np.int64)
        self._rewards = np.zeros(self.capacity, dtype=np.float32)
        self._ends = np.zeros(self.capacity, dtype=bool)
        self._pos = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        ends: np.ndarray,
    ) -> None:
        """Append a batch of transitions in order."""
        n = len(actions)
        rows = (self._pos + np.arange(n)) % self.capacity
        keep = rows[-self.capacity :], slice(max(n - self.capacity, 0), n)
        self._obs[keep[0]] = obs[keep[1]]
        self._actions[keep[0]] = actions[keep[1]]
        self._rewards[keep[0]] = rewards[keep[1]]
        self._next_obs[keep[0]] = next_obs[keep[1]]
        self._ends[keep[0]] = ends[keep[1]]
        self._pos = int((self._pos + n) % self.capacity)
        self._size = min(self._size + n, self.capacity)

    def _order(self) -> np.ndarray:
        start = self._pos if self._size == self.capacity else 0
        return (start + np.arange(self._size)) % self.capacity

    @property
    def observations(self) -> np.ndarray:
        """Stored observations, oldest first."""
        return self._obs[self._order()]

    @property
    def actions(self) -> np.ndarray:
        """Stored actions, oldest first."""
        return self._actions[self._order()]

    def sample(
        self, rng: np.random.Generator, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``n`` distinct transitions drawn uniformly: ``(s, a, r, s', end)``."""
        rows = rng.choice(self._size, size=n, replace=False)
        return (
            self._obs[rows],
            self._actions[rows],
            self._rewards[rows],
            self._next_obs[rows],
            self._ends[rows],
        )


class _Critic:
    """The explorer's online and target critics, optimiser and DQN update."""

    def __init__(
        self,
        obs_shape: Sequence[int],
        num_actions: int,
        config: PaperDQNConfig,
        seed: int,
        device: th.device,
    ) -> None:
        with th.random.fork_rng(devices=[]):  # seeded init, global stream untouched
            th.manual_seed(seed)
            net = ConcatActionQNetwork(obs_shape, num_actions, config.hidden_dim)
        self.online = net.to(device)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        self.optimizer = th.optim.Adam(self.online.parameters(), config.learning_rate)
        self.config = config
        self.device = device

    def act(
        self, observation: np.ndarray, mask: np.ndarray, rng: np.random.Generator
    ) -> int:
        """An action sampled from the masked softmax of the online ``Q``."""
        obs = th.as_tensor(observation[None], device=self.device)
        with th.no_grad():
            probs = masked_softmax(
                self.online.q_values(obs),
                th.as_tensor(mask[None], device=self.device),
                self.config.temperature,
                self.config.q_clip,
            )[0]
        p = probs.double().cpu().numpy()
        return int(rng.choice(p.shape[0], p=p / p.sum()))

    def train(self, buffer: ReplayBuffer, rng: np.random.Generator) -> list[float]:
        """``gradient_steps`` DQN steps with soft target updates; the losses."""
        cfg = self.config
        if len(buffer) < cfg.batch_size:
            return []
        losses = []
        for _ in range(cfg.gradient_steps):
            obs, actions, rewards, next_obs, ends = (
                th.as_tensor(x, device=self.device)
                for x in buffer.sample(rng, cfg.batch_size)
            )
            with th.no_grad():
                next_q = self.target.q_values(next_obs).max(dim=1).values
                if not cfg.bootstrap_terminal:
                    next_q = next_q * (~ends).float()
                targets = rewards + cfg.gamma * next_q
            loss = F.smooth_l1_loss(self.online(obs, actions), targets)
            self.optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.online.parameters(), cfg.max_grad_norm)
            self.optimizer.step()
            soft_update(self.target, self.online, cfg.tau)
            losses.append(float(loss.detach()))
        return losses


@dataclass(frozen=True)
class PaperDQNExplorer:
    """The published DQN-Explore explorer (see the module docstring).

    Attributes:
        config: Its settings.
        device: Torch device of the critic (``"auto"``: CUDA when present).
        log_interval: Logs ``explore/*`` and ``train/loss`` every this many
            games to ``monitor.logger(f"{session.agent}/dqn")``.
    """

    config: PaperDQNConfig = field(default_factory=PaperDQNConfig)
    device: str = "auto"
    log_interval: int = 10

    def explore(self, session: LearnerSession, num_games: int) -> Exploration:
        """Play exactly ``num_games`` games of ``session.env``, learning as published.

        Returns:
            The explorer's moves, and in ``info``: ``bonuses`` (the reward of
            every move), ``num_rebuilds``, ``rebuild_games`` (games played at
            each rebuild), ``logdets`` (``log det Lambda`` at the end of
            every round) and ``start_logdets`` (its value when the round's
            iteration began).
        """
        num_games = check_positive_int("num_games", num_games)
        cfg = self.config
        device = resolve_device(self.device)
        env = session.env
        obs_shape = env.observation_space["observation"].shape  # type: ignore[index]
        num_actions = int(env.action_space.n)  # type: ignore[attr-defined]
        critic = _Critic(obs_shape, num_actions, cfg, session.explorer_seed, device)
        rng = session.explorer_rng
        buffer = ReplayBuffer(cfg.buffer_size, obs_shape)
        features = ConcatActionFeatures(critic.online, device)
        # Lambda_k of the reward (fixed within an iteration) and the growing
        # Lambda of the iteration whose log det ends it.
        reward = EllipticalBonus(features=features, beta=cfg.beta, ridge=cfg.ridge)
        coverage = EllipticalBonus(features=features, beta=cfg.beta, ridge=cfg.ridge)
        iteration_logdet = cfg.hidden_dim * math.log(cfg.ridge)
        rounds = 0
        bonuses: list[np.ndarray] = []
        losses: list[float] = []
        rebuild_games: list[int] = []
        logdets: list[float] = []
        start_logdets: list[float] = []
        on_game = game_reporter(session.monitor, session.stage, num_games)
        logger = session.monitor.logger(f"{session.agent}/dqn")
        games = steps = 0
        try:
            while games < num_games:
                batch: list[tuple[np.ndarray, int, np.ndarray, bool]] = []
                for _ in range(min(cfg.games_per_round, num_games - games)):
                    batch += self._play_game(session, critic, rng)
                    games += 1
                    if on_game is not None:
                        on_game(games)
                obs = np.stack([t[0] for t in batch])
                actions = np.array([t[1] for t in batch], dtype=np.int64)
                next_obs = np.stack([t[2] for t in batch])
                ends = np.array([t[3] for t in batch])
                rewards = reward.bonus(obs, actions)
                buffer.add(obs, actions, rewards, next_obs, ends)
                bonuses.append(rewards)
                steps += len(batch)
                losses += critic.train(buffer, rng)
                coverage.update(obs, actions)
                logdets.append(coverage.logdet)
                start_logdets.append(iteration_logdet)
                rounds += 1
                if (
                    coverage.logdet - iteration_logdet > cfg.logdet_threshold
                    or rounds >= cfg.max_rounds
                ):
                    features = ConcatActionFeatures(critic.online, device)
                    stored_obs, stored_actions = buffer.observations, buffer.actions
                    reward.rebuild(stored_obs, stored_actions, features=features)
                    coverage.rebuild(stored_obs, stored_actions, features=features)
                    iteration_logdet = coverage.logdet
                    rebuild_games.append(games)
                    rounds = 0
                if games % self.log_interval == 0 or games == num_games:
                    logger.record("explore/bonus_mean", float(np.mean(rewards)))
                    logger.record("explore/num_rebuilds", len(rebuild_games))
                    logger.record("explore/games", games)
                    logger.record("explore/logdet", coverage.logdet)
                    if losses:
                        logger.record("train/loss", losses[-1])
                    logger.dump(step=steps)
        finally:
            logger.close()
        return Exploration(
            steps=steps,
            info={
                "bonuses": np.concatenate(bonuses),
                "num_rebuilds": len(rebuild_games),
                "rebuild_games": rebuild_games,
                "logdets": logdets,
                "start_logdets": start_logdets,
            },
        )

    @staticmethod
    def _play_game(
        session: LearnerSession, critic: _Critic, rng: np.random.Generator
    ) -> list[tuple[np.ndarray, int, np.ndarray, bool]]:
        """One game of ``session.env``: the explorer's ``(s, a, s', end)``."""
        out = []
        obs, _ = session.reset()
        done = False
        while not done:
            observation = np.asarray(obs["observation"], dtype=np.float32)
            action = critic.act(observation, np.asarray(obs["action_mask"]), rng)
            obs, _, terminated, truncated, _ = session.env.step(action)
            done = bool(terminated or truncated)
            next_observation = np.asarray(obs["observation"], dtype=np.float32)
            out.append((observation, action, next_observation, bool(terminated)))
        return out


class PaperDQNExploreBC(InteractiveBC):
    """DQN-Explore-BC with the published explorer (:class:`PaperDQNExplorer`).

    Args:
        problem: The game, its experts (and model).
        num_games: Expert-labelled games per learning player.
        seed: Master seed.
        config: The explorer's settings (:class:`PaperDQNConfig`).
        bc: Behaviour-cloning settings.
        device: Torch device of the critic and BC (``"auto"``: CUDA when present).
        monitor: Progress reports and logs (:class:`~agents.monitor.RunMonitor`):
            each explorer logs to ``"<agent>/dqn"``, BC to ``"<agent>/bc"``.
        log_interval: The explorer logs every this many games.
    """

    name = "dqn-explore-paper"

    def __init__(
        self,
        problem: ImitationProblem,
        *,
        num_games: int,
        seed: int = 0,
        config: PaperDQNConfig | None = None,
        bc: BCConfig | None = None,
        device: str = "auto",
        monitor: RunMonitor | None = None,
        log_interval: int = 10,
    ) -> None:
        super().__init__(
            problem,
            num_games=num_games,
            seed=seed,
            bc=bc,
            device=device,
            monitor=monitor,
        )
        if config is not None and not isinstance(config, PaperDQNConfig):
            raise TypeError(
                f"config must be a PaperDQNConfig, got {type(config).__name__}"
            )
        self.config = config or PaperDQNConfig()
        self.log_interval = check_positive_int("log_interval", log_interval)

    def explorer(self, session: LearnerSession) -> Explorer:
        """The published explorer."""
        return PaperDQNExplorer(self.config, self.device, self.log_interval)
