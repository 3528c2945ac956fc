"""Tic-Tac-Toe: pure rules, a drop-in PettingZoo env and the exact tabular model.

* :mod:`mail_envs.tictactoe.rules` — batched numpy rules on ``(..., 9)`` boards;
* :func:`env` / :func:`parallel_env` / :class:`raw_env` — ``mail/tictactoe-v0``,
  behaving exactly like PettingZoo's ``classic/tictactoe_v3``;
* :func:`make_tictactoe_game` — the 5,478-board :class:`TabularMarkovGame`, with
  :func:`tictactoe_states` for board/observation <-> state lookups.

Example:
    >>> import pettingzoo, mail_envs
    >>> env = pettingzoo.make("aec", "mail/tictactoe-v0")
    >>> make_tictactoe_game().num_states
    5478

### Version History

* v0: initial release (behaviour of PettingZoo ``tictactoe_v3``, 1.27).
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.conversions import turn_based_aec_to_parallel

from mail_envs.tictactoe.env import TicTacToeEnv
from mail_envs.tictactoe.model import (
    TicTacToeStates,
    make_tictactoe_game,
    tictactoe_states,
)

__all__ = [
    "TicTacToeEnv",
    "TicTacToeStates",
    "env",
    "make_tictactoe_game",
    "parallel_env",
    "raw_env",
    "tictactoe_states",
]

#: PettingZoo's conventional name for the env class. It needs no wrappers: the
#: illegal-move, action-bounds and call-order rules are built in.
raw_env = TicTacToeEnv


def env(**kwargs: Any) -> TicTacToeEnv:
    """The AEC env (``render_mode=None | "ansi" | "rgb_array" | "human"``)."""
    return TicTacToeEnv(**kwargs)


def parallel_env(**kwargs: Any) -> Any:
    """The env as a turn-based Parallel env (PettingZoo's conversion)."""
    return turn_based_aec_to_parallel(TicTacToeEnv(**kwargs))
