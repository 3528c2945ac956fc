"""The batch view of the games: many games stepped per call, on numpy or torch.

* :class:`~mail_envs.batch.tictactoe.TicTacToeBatch` and
  :class:`~mail_envs.batch.connect4.Connect4Batch` — the two-player batch API
  (:class:`~mail_envs.batch.core.BatchGame`): ``step(actions)`` plays one move
  in each of ``B`` games, with per-game auto-reset; the games are those of
  ``mail/tictactoe-v0`` and ``mail/connect4-v0``, game by game.
* :class:`~mail_envs.batch.tabular.TabularBatch` — any
  :class:`~mail_envs.core.TabularMarkovGame` (grid world, chain game, ...)
  by index arithmetic on the model's arrays.
* :mod:`mail_envs.batch.vector` — Gymnasium ``VectorEnv`` of the single-agent
  views (``gym.make_vec("mail_envs/TicTacToe-vs-expert-v0", num_envs=4096,
  vectorization_mode="vector_entry_point")``).

Example:
    >>> import numpy as np
    >>> from mail_envs.batch import TicTacToeBatch
    >>> games = TicTacToeBatch(3)
    >>> out = games.step(np.array([0, 4, 8]))
    >>> out.rewards.shape, games.current_player.tolist()
    ((3, 2), [1, 1, 1])

### Version History

* v0: initial release.
"""

from __future__ import annotations

from mail_envs.batch._backend import Backend, CounterRandom
from mail_envs.batch.connect4 import Connect4Batch
from mail_envs.batch.core import BatchGame, BatchStep
from mail_envs.batch.tabular import TabularBatch, TabularStep
from mail_envs.batch.tictactoe import TicTacToeBatch

__all__ = [
    "Backend",
    "BatchGame",
    "BatchStep",
    "Connect4Batch",
    "CounterRandom",
    "TabularBatch",
    "TabularStep",
    "TicTacToeBatch",
]
