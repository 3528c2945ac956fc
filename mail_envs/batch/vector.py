"""Gymnasium ``VectorEnv`` of the single-agent views: one seat against a batched opponent.

:class:`BoardGameVectorEnv` plays ``num_envs`` games of a batch engine
(:class:`~mail_envs.batch.TicTacToeBatch`, :class:`~mail_envs.batch.Connect4Batch`)
in which the learner holds one seat and a batched opponent policy
(``(observations, action_masks) -> probabilities``, e.g. the games' experts)
the other. It is the vectorized twin of the single-agent views of
:mod:`mail_wrappers.single_agent` (``FrozenOpponentWrapper`` on the PettingZoo
env): the same observations (``Dict(observation, action_mask)``, or the planes
only with ``flatten_observation=True`` and the mask in ``info["action_mask"]``),
the learner's reward summed over its move and the opponent's reply, and an
episode that ends when the learner's game ends (an illegal learner move: reward
``-1``, terminated and truncated). Registered as the ``vector_entry_point`` of
the Gymnasium ids::

    import gymnasium as gym
    import mail_envs
    envs = gym.make_vec(
        "mail_envs/TicTacToe-vs-expert-v0",
        num_envs=4096,
        vectorization_mode="vector_entry_point",
    )

Auto-reset follows Gymnasium's default ``AutoresetMode.NEXT_STEP``: the step
that ends a game returns its final observation, and the next ``step`` ignores
that game's action, restarts it (the opponent opens when the learner moves
second) and returns its first observation with reward 0. With
``autoreset_mode=AutoresetMode.SAME_STEP`` (a keyword of ``gym.make_vec``; a
vector entry point takes no ``vector_kwargs``) the step that ends a game
returns the new game's observation and puts the final one in
``info["final_obs"]`` (``info["_final_obs"]`` marks the games), as
``SyncVectorEnv`` does.

Seeding: ``reset(seed=s)`` seeds the opponent's per-game streams (counter-based,
see :class:`~mail_envs.batch.CounterRandom`); game ``g`` of a batch plays the
same game as game ``g`` of any larger batch with the same seed and actions. The
Tic-Tac-Toe minimax expert answers the whole batch with one lookup of its
state table by the engine's state indices.

### Version History

* v0: initial release.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from mail_envs.batch._backend import CounterRandom
from mail_envs.batch.connect4 import Connect4Batch
from mail_envs.batch.core import BatchGame
from mail_envs.batch.tictactoe import TicTacToeBatch
from mail_envs.core import check_int
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

__all__ = [
    "BoardGameVectorEnv",
    "make_connect4_vs_expert_vec",
    "make_tictactoe_vs_expert_vec",
]


class BoardGameVectorEnv(gymnasium.vector.VectorEnv):
    """``num_envs`` games of a two-player board game seen by one seat.

    Args:
        game: The batch engine class (``TicTacToeBatch`` or ``Connect4Batch``).
        num_envs: Number of games.
        controlled_agent: The learner's agent name (``game.agents``).
        opponent: A batched policy ``(obs (n, ...), masks (n, A)) -> (n, A)``
            probabilities (numpy), or ``"uniform"`` over legal moves.
        flatten_observation: Observations are the planes only; the mask goes
            to ``info["action_mask"]``.
        seed: Seed of the opponent's streams until ``reset(seed=...)``.
        device: ``None`` (numpy) or a torch device; with torch, observations,
            masks, rewards and flags are torch tensors on that device.
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` (default) or
            ``AutoresetMode.SAME_STEP`` (or their values ``"NextStep"``,
            ``"SameStep"``).

    Raises:
        ValueError: If ``controlled_agent`` is not an agent of the game,
            ``num_envs`` is not a positive int or ``autoreset_mode`` is not
            one of the two modes.
        TypeError: If ``opponent`` is neither callable nor ``"uniform"``.

    Example:
        >>> envs = BoardGameVectorEnv(TicTacToeBatch, 3, controlled_agent="player_2")
        >>> obs, info = envs.reset(seed=0)
        >>> obs["action_mask"].sum(axis=1).tolist()  # the expert has opened
        [8, 8, 8]
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - Gymnasium reads a class dict
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": [],
    }

    def __init__(
        self,
        game: type[BatchGame],
        num_envs: int,
        *,
        controlled_agent: str,
        opponent: Any = "uniform",
        flatten_observation: bool = False,
        seed: int | None = None,
        device: Any = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ) -> None:
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            mode = None
        if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(
                "autoreset_mode must be AutoresetMode.NEXT_STEP or SAME_STEP, "
                f"got {autoreset_mode!r}"
            )
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.autoreset_mode = mode
        check_int("num_envs", num_envs, 1)
        if controlled_agent not in game.agents:
            raise ValueError(
                f"controlled_agent must be one of {list(game.agents)}, "
                f"got {controlled_agent!r}"
            )
        if not (opponent == "uniform" or callable(opponent)):
            raise TypeError(
                f"opponent must be a batched policy or 'uniform', got {opponent!r}"
            )
        self.engine = game(num_envs, device=device, autoreset=False)
        self.backend = self.engine.backend
        self.num_envs = self.engine.num_games
        self.controlled_agent = controlled_agent
        self.seat = game.agents.index(controlled_agent)
        self.opponent = opponent
        self.flatten_observation = bool(flatten_observation)
        self.render_mode = None
        self._rng = CounterRandom(self.backend, self.num_envs, seed)
        self._expert_table: Any = None
        if isinstance(opponent, TicTacToeMinimaxExpert) and game is TicTacToeBatch:
            self._expert_table = self.backend.table(opponent.state_table)
        self._pending = self.backend.zeros(self.num_envs, "bool")

        planes = spaces.Box(0, 1, shape=game.observation_shape, dtype=np.int8)
        mask = spaces.Box(0, 1, shape=(game.num_actions,), dtype=np.int8)
        self.single_observation_space: spaces.Space = (
            planes
            if self.flatten_observation
            else spaces.Dict({"observation": planes, "action_mask": mask})
        )
        self.single_action_space: spaces.Space = spaces.Discrete(game.num_actions)
        self.observation_space = batch_space(
            self.single_observation_space, self.num_envs
        )
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    # ---------------------------------------------------------------- API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Restart every game (the opponent opens where the learner moves second).

        Args:
            seed: Reseeds the opponent's per-game streams.
            options: Unused.

        Returns:
            ``(observations, info)``.
        """
        if seed is not None:
            self._rng.seed(seed)
        self.engine.reset()
        self._pending = self.backend.zeros(self.num_envs, "bool")
        self._opponent_moves()
        return self._observe()

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """The learner moves in every game, then the opponent replies.

        Args:
            actions: ``(num_envs,)`` integer actions; those of games that ended
                in the previous step are ignored (they restart instead).

        Returns:
            ``(observations, rewards, terminations, truncations, info)``.

        Raises:
            ValueError: If ``actions`` is not a ``(num_envs,)`` integer array
                of actions in the action space.
        """
        bk = self.backend
        pending = self._pending
        any_pending = bk.any(pending)
        if any_pending:
            self.engine.reset(pending)
        out = self.engine.step(actions, active=~pending if any_pending else None)
        rewards = out.rewards[:, self.seat]
        terminated, truncated = out.terminated, out.truncated
        more, t2, tr2 = self._opponent_moves()
        if more is not None:
            rewards = rewards + more
            terminated = terminated | t2
            truncated = truncated | tr2
        done = terminated | truncated
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._pending = done
            obs, info = self._observe()
        else:
            obs, info = self._same_step_reset(done)
        if bk.is_torch:
            return obs, rewards.double(), terminated, truncated, info
        return obs, rewards.astype(np.float64), terminated, truncated, info

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release."""

    # ------------------------------------------------------------- helpers
    def _same_step_reset(self, done: Any) -> tuple[Any, dict[str, Any]]:
        """Restart finished games now; their final observations go to the info."""
        bk = self.backend
        if not bk.any(done):
            return self._observe()
        final_obs, final_info = self._observe()
        self.engine.reset(done)
        self._opponent_moves()  # openings of the new games (they cannot end)
        obs, info = self._observe()
        rows = np.flatnonzero(bk.to_numpy(done))
        finals = np.full(self.num_envs, None, dtype=object)
        infos = np.full(self.num_envs, None, dtype=object)
        for g in rows:  # the finished games only: SyncVectorEnv's info layout
            if isinstance(final_obs, dict):
                finals[g] = {key: value[g] for key, value in final_obs.items()}
            else:
                finals[g] = final_obs[g]
            infos[g] = {key: value[g] for key, value in final_info.items()}
        mask = bk.to_numpy(done).copy()
        info.update(
            {
                "final_obs": finals,
                "_final_obs": mask,
                "final_info": infos,
                "_final_info": mask.copy(),
            }
        )
        return obs, info

    def _observe(self) -> tuple[Any, dict[str, Any]]:
        planes = self.engine.observation(self.seat)
        mask = self.engine.action_mask(self.seat)
        mask = (
            mask.to(self.backend.torch.int8)
            if self.backend.is_torch
            else mask.view(np.int8)
        )
        if self.flatten_observation:
            return planes, {"action_mask": mask}
        return {"observation": planes, "action_mask": mask}, {}

    def _opponent_probs(self, need: Any) -> Any:
        """``(B, A)`` opponent probabilities (rows outside ``need`` unused)."""
        bk, engine = self.backend, self.engine
        if self._expert_table is not None:
            assert isinstance(engine, TicTacToeBatch)
            return engine.expert_probs(self._expert_table)
        masks = engine.action_mask()
        if self.opponent == "uniform":
            return masks.double() if bk.is_torch else masks.astype(np.float64)
        rows = np.flatnonzero(bk.to_numpy(need))
        obs = bk.to_numpy(engine.observation())[rows]
        probs_rows = np.asarray(
            self.opponent(obs, bk.to_numpy(masks)[rows]), dtype=np.float64
        )
        probs = np.zeros((self.num_envs, engine.num_actions))
        probs[rows] = probs_rows
        return bk.torch.as_tensor(probs, device=bk.device) if bk.is_torch else probs

    def _opponent_moves(self) -> tuple[Any, Any, Any]:
        """Opponent moves until the learner is to move or its game is over.

        Returns:
            The learner's summed rewards, terminations and truncations from
            these moves (``None`` each when the opponent did not move).
        """
        bk, engine = self.backend, self.engine
        rewards = terminated = truncated = None
        for _ in range(3):  # a reply, or an opening after a restart
            need = ~engine.finished & (engine.current_player != self.seat)
            if not bk.any(need):
                break
            probs = self._opponent_probs(need)
            actions = bk.sample(probs, self._rng.uniform(need))
            out = engine.step(actions, active=need)
            r = out.rewards[:, self.seat]
            if rewards is None:
                rewards, terminated, truncated = r, out.terminated, out.truncated
            else:
                rewards = rewards + r
                terminated = terminated | out.terminated
                truncated = truncated | out.truncated
        return rewards, terminated, truncated


def _vs_expert_vec(
    batch: type,
    make_expert: Any,
    num_envs: int,
    *,
    controlled_agent: str,
    flatten_observation: bool,
    opponent: Any,
    expert_policy: str,
    seed: int | None,
    device: Any,
    render_mode: str | None,
    autoreset_mode: AutoresetMode | str,
) -> BoardGameVectorEnv:
    """The vector env of a board game's vs-expert view (see the two entry points)."""
    _no_render(render_mode)
    return BoardGameVectorEnv(
        batch,
        num_envs,
        controlled_agent=controlled_agent,
        opponent=make_expert(expert_policy) if opponent is None else opponent,
        flatten_observation=flatten_observation,
        seed=seed,
        device=device,
        autoreset_mode=autoreset_mode,
    )


def make_tictactoe_vs_expert_vec(
    num_envs: int = 1,
    *,
    controlled_agent: str = "player_1",
    flatten_observation: bool = False,
    opponent: Any = None,
    expert_policy: str = "uniform",
    seed: int | None = None,
    device: Any = None,
    render_mode: str | None = None,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
) -> BoardGameVectorEnv:
    """Vector entry point of ``mail_envs/TicTacToe-vs-expert-v0``.

    Args:
        num_envs: Number of games.
        controlled_agent: ``"player_1"`` (moves first) or ``"player_2"``.
        flatten_observation: Observations are the planes only.
        opponent: Replaces the minimax expert when given.
        expert_policy: ``"uniform"`` over optimal moves or ``"deterministic"``.
        seed: Seed of the opponent's sampling.
        device: ``None`` (numpy) or a torch device.
        render_mode: Must be None (the batch view does not render).
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` or ``SAME_STEP``.

    Returns:
        The vector env.

    Raises:
        ValueError: If ``render_mode`` is given.
    """
    return _vs_expert_vec(
        TicTacToeBatch,
        lambda policy: TicTacToeMinimaxExpert(policy=policy),
        num_envs,
        controlled_agent=controlled_agent,
        flatten_observation=flatten_observation,
        opponent=opponent,
        expert_policy=expert_policy,
        seed=seed,
        device=device,
        render_mode=render_mode,
        autoreset_mode=autoreset_mode,
    )


def make_connect4_vs_expert_vec(
    num_envs: int = 1,
    *,
    controlled_agent: str = "player_0",
    flatten_observation: bool = False,
    opponent: Any = None,
    expert_policy: str = "uniform",
    seed: int | None = None,
    device: Any = None,
    render_mode: str | None = None,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
) -> BoardGameVectorEnv:
    """Vector entry point of ``mail_envs/Connect4-vs-expert-v0``.

    The default opponent is the solver expert
    (:class:`~mail_envs.connect4.expert.Connect4Expert`), which answers a
    batch position by position through its LRU cache (about a millisecond a
    new position): pass a cheaper batched ``opponent`` for throughput.

    Args: as :func:`make_tictactoe_vs_expert_vec` (``controlled_agent``
        ``"player_0"``, moving first, or ``"player_1"``; the solver expert's
        ``expert_policy``).

    Returns:
        The vector env.

    Raises:
        ValueError: If ``render_mode`` is given.
    """

    def solver(policy: str) -> Any:
        from mail_envs.connect4.expert import Connect4Expert

        return Connect4Expert(mode=policy)  # type: ignore[arg-type]

    return _vs_expert_vec(
        Connect4Batch,
        solver,
        num_envs,
        controlled_agent=controlled_agent,
        flatten_observation=flatten_observation,
        opponent=opponent,
        expert_policy=expert_policy,
        seed=seed,
        device=device,
        render_mode=render_mode,
        autoreset_mode=autoreset_mode,
    )


def _no_render(render_mode: str | None) -> None:
    if render_mode is not None:
        raise ValueError(
            f"the batch view does not render: render_mode must be None, got {render_mode!r}"
        )
