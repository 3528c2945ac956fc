"""Connect Four: bitboard rules and a drop-in for PettingZoo's ``connect_four_v3``.

``env()`` / ``raw_env`` give the AEC env registered as ``mail/connect4-v0``;
``parallel_env()`` the same game through PettingZoo's turn-based conversion.

Example:
    >>> import pettingzoo, mail_envs
    >>> env = pettingzoo.make("aec", "mail/connect4-v0")
    >>> env.reset(seed=0)
    >>> env.agent_selection
    'player_0'
"""

from __future__ import annotations

from pettingzoo.utils.conversions import turn_based_aec_to_parallel
from pettingzoo.utils.env import ParallelEnv

from mail_envs.connect4.connect4 import Connect4Env

__all__ = ["Connect4Env", "env", "parallel_env", "raw_env"]

raw_env = Connect4Env


def env(render_mode: str | None = None) -> Connect4Env:
    """The AEC env; no wrapper chain is needed (see :class:`Connect4Env`).

    Args:
        render_mode: ``None``, ``"ansi"``, ``"rgb_array"`` or ``"human"``.

    Returns:
        A new :class:`Connect4Env`; call ``reset()`` before use.
    """
    return Connect4Env(render_mode=render_mode)


def parallel_env(render_mode: str | None = None) -> ParallelEnv:
    """The game as a PettingZoo Parallel env (only the agent to move acts).

    Args:
        render_mode: ``None``, ``"ansi"``, ``"rgb_array"`` or ``"human"``.

    Returns:
        ``turn_based_aec_to_parallel(env(render_mode))``.
    """
    return turn_based_aec_to_parallel(env(render_mode=render_mode))
