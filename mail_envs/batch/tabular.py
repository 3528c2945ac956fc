"""Batch view of any :class:`~mail_envs.core.TabularMarkovGame`: index arithmetic on the model.

:class:`TabularBatch` steps ``B`` games of a tabular game at once, each game's
state one ``int64``: a joint step is ``s * A_joint + joint_action`` into the
model's flattened arrays (successors, cumulative successor probabilities,
rewards), legality and observations are table lookups, and stochastic
successors and initial states are drawn with per-game counter-based streams
(:class:`~mail_envs.batch.CounterRandom`). The games follow the conventions of
:class:`~mail_envs.tabular_env.TabularParallelEnv` with ``illegal_action="lose"``:
an illegal action ends that game at once, its state unchanged, every
offender gets ``illegal_reward`` and the others 0 (terminated, not truncated);
a terminal state terminates; ``max_cycles`` joint steps truncate. Finished
games restart in the same call (auto-reset, as
:class:`~mail_envs.batch.core.BatchGame`).

Example:
    >>> import numpy as np
    >>> from mail_envs.chain import make_chain_game
    >>> games = TabularBatch(make_chain_game(), 3, seed=0)
    >>> out = games.step(np.zeros((3, 2), dtype=np.int64))
    >>> out.rewards.shape, games.action_mask(0).shape
    ((3, 2), (3, 2))

### Version History

* v0: initial release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mail_envs.batch._backend import CounterRandom, get_backend
from mail_envs.core import TabularMarkovGame, check_int
from mail_envs.tabular_env import DEFAULT_MAX_CYCLES

__all__ = ["TabularBatch", "TabularStep"]


@dataclass(frozen=True)
class TabularStep:
    """What one :meth:`TabularBatch.step` returns (arrays of the backend).

    Attributes:
        rewards: ``(B, n)`` float64 rewards of every player.
        terminated: ``(B,)`` bool (a terminal state or an illegal action).
        truncated: ``(B,)`` bool (``max_cycles`` joint steps reached).
        illegal: ``(B, n)`` bool, the players whose action was illegal.
    """

    rewards: Any
    terminated: Any
    truncated: Any
    illegal: Any


class TabularBatch:
    """``num_games`` games of a tabular Markov game stepped at once.

    Args:
        game: The model.
        num_games: Number of games ``B``.
        max_cycles: Joint steps before truncation; default ``game.horizon`` or
            :data:`~mail_envs.tabular_env.DEFAULT_MAX_CYCLES`.
        illegal_reward: Reward of a player whose action is illegal.
        seed: Seed of the initial states and stochastic successors (None:
            fresh entropy); game ``g``'s draws do not depend on ``B``.
        device: ``None``/``"numpy"`` or a torch device.

    Raises:
        ValueError: If ``num_games`` or ``max_cycles`` is not a positive int.
        TypeError: If ``game`` is not a :class:`TabularMarkovGame`.
    """

    def __init__(
        self,
        game: TabularMarkovGame,
        num_games: int,
        *,
        max_cycles: int | None = None,
        illegal_reward: float = -1.0,
        seed: int | None = None,
        device: Any = None,
    ) -> None:
        if not isinstance(game, TabularMarkovGame):
            raise TypeError(f"game must be a TabularMarkovGame, got {game!r}")
        check_int("num_games", num_games, 1)
        if max_cycles is not None:
            check_int("max_cycles", max_cycles, 1)
        self.game = game
        self.num_games = int(num_games)
        if max_cycles is None:
            max_cycles = (
                game.horizon if game.horizon is not None else DEFAULT_MAX_CYCLES
            )
        self.max_cycles = int(max_cycles)
        self.illegal_reward = float(illegal_reward)
        self.backend = bk = get_backend(device)
        self.num_players = len(game.num_actions)
        self._num_joint = int(np.prod(game.num_actions))
        self._strides = tuple(
            int(np.prod(game.num_actions[i + 1 :])) for i in range(self.num_players)
        )
        num_states, _, k = game.next_states.shape
        self._k = k
        self._next = bk.table(game.next_states.reshape(-1))
        self._cum = bk.table(np.cumsum(game.next_probs, axis=-1).reshape(-1, k))
        self._rewards = bk.table(
            np.ascontiguousarray(game.rewards.reshape(self.num_players, -1).T)
        )
        terminal = (
            np.zeros(num_states, dtype=bool) if game.terminal is None else game.terminal
        )
        self._terminal = bk.table(np.asarray(terminal, dtype=bool))
        self._legal = [bk.table(np.asarray(m, dtype=bool)) for m in game.legal_masks]
        self._legal_flat = [
            bk.table(np.asarray(m, dtype=bool).reshape(-1)) for m in game.legal_masks
        ]
        if game.observations is None:
            eye = np.eye(num_states, dtype=np.float32)
            self._obs = [bk.table(eye)] * self.num_players
        else:
            self._obs = [
                bk.table(o.astype(np.int8) if o.dtype == np.bool_ else o)
                for o in game.observations
            ]
        self._init_cum = bk.table(np.cumsum(game.initial_distribution))
        self._rng = CounterRandom(bk, self.num_games, seed)
        #: ``(B,)`` ``int64`` state of every game.
        self.states: Any = bk.zeros(self.num_games)
        #: ``(B,)`` ``int64`` joint steps taken in every game's episode.
        self.steps: Any = bk.zeros(self.num_games)
        self.reset()

    def __repr__(self) -> str:
        return (
            f"TabularBatch({self.game.name!r}, num_games={self.num_games}, "
            f"max_cycles={self.max_cycles}, backend={self.backend})"
        )

    def reset(self, games: Any = None) -> None:
        """Draw new initial states for the games in ``games`` (``(B,)`` bool; all if None)."""
        bk = self.backend
        u = self._rng.uniform(games)
        cum = self._init_cum
        if bk.is_torch:
            first = bk.torch.searchsorted(cum, u.to(cum.dtype), right=True)
            first = bk.torch.clamp(first, max=cum.shape[0] - 1)
        else:
            first = np.minimum(np.searchsorted(cum, u, side="right"), cum.shape[0] - 1)
        if games is None:
            self.states, self.steps = first, bk.zeros(self.num_games)
        else:
            self.states = bk.where(games, first, self.states)
            self.steps = bk.where(games, 0, self.steps)

    def observation(self, player: int) -> Any:
        """``(B, *obs_shape)`` observations of ``player`` (the env's ``"observation"``)."""
        return self.backend.take(self._obs[self._check_player(player)], self.states)

    def action_mask(self, player: int) -> Any:
        """``(B, A_player)`` bool legal actions of ``player``."""
        return self.backend.take(self._legal[self._check_player(player)], self.states)

    def step(self, actions: Any) -> TabularStep:
        """One joint step in every game; finished games restart.

        Args:
            actions: ``(B, n)`` integer actions, column ``i`` player ``i``'s.

        Returns:
            The :class:`TabularStep`.

        Raises:
            ValueError: If ``actions`` is not a ``(B, n)`` integer array of
                actions in the players' spaces (naming the first bad game).
        """
        bk = self.backend
        acts = self._check_actions(actions)
        s = self.states
        joint = acts[:, 0] * self._strides[0]
        illegal_cols = []
        for i in range(self.num_players):
            a = acts[:, i]
            if i:
                joint = joint + a * self._strides[i]
            n_i = self.game.num_actions[i]
            illegal_cols.append(~bk.take(self._legal_flat[i], s * n_i + a))
        illegal: Any = (
            bk.torch.stack(illegal_cols, 1)
            if bk.is_torch
            else np.stack(illegal_cols, 1)
        )
        any_illegal: Any = illegal.any(1)
        idx = s * self._num_joint + joint
        if self._k > 1:
            probs = bk.take(self._cum, idx)
            probs[:, 1:] = probs[:, 1:] - probs[:, :-1]
            k = bk.sample(probs, self._rng.uniform())
        else:
            k = 0
        nxt = bk.take(self._next, idx * self._k + k)
        rewards = bk.take(self._rewards, idx)
        penalty: Any = illegal * self.illegal_reward
        rewards = bk.where(any_illegal[:, None], penalty, rewards)
        nxt = bk.where(any_illegal, s, nxt)
        steps = bk.where(any_illegal, self.steps, self.steps + 1)
        terminated = any_illegal | bk.take(self._terminal, nxt)
        truncated = ~terminated & (steps >= self.max_cycles)
        self.states, self.steps = nxt, steps
        done = terminated | truncated
        if bk.any(done):
            self.reset(done)
        return TabularStep(rewards, terminated, truncated, illegal)

    # ---------------------------------------------------------------- checks
    def _check_player(self, player: Any) -> int:
        if isinstance(player, bool) or player not in range(self.num_players):
            raise ValueError(
                f"player must be in [0, {self.num_players}), got {player!r}"
            )
        return int(player)

    def _check_actions(self, actions: Any) -> Any:
        bk = self.backend
        arr: Any = (
            bk.torch.as_tensor(actions, device=bk.device)
            if bk.is_torch
            else np.asarray(actions)
        )
        kind_ok = (
            not (arr.is_floating_point() or arr.dtype == bk.torch.bool)
            if bk.is_torch
            else arr.dtype.kind in "iu"
        )
        shape = (self.num_games, self.num_players)
        if not kind_ok or tuple(arr.shape) != shape:
            raise ValueError(
                f"actions must be a {shape} integer array, got shape "
                f"{tuple(arr.shape)} and dtype {arr.dtype}"
            )
        arr = bk.to_int64(arr)
        limits = bk.int64(list(self.game.num_actions))
        bad = ((arr < 0) | (arr >= limits)).any(1)
        if bk.any(bad):
            g = int(bk.to_numpy(bad).argmax())
            raise ValueError(
                f"actions {bk.to_numpy(arr[g]).tolist()} of game {g} are not in the "
                f"action spaces {list(self.game.num_actions)}"
            )
        return arr
