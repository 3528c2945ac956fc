"""Registration of the mail-gym games in PettingZoo's (and Gymnasium's) registry.

Entry points are ``"module:attr"`` strings, so registering imports nothing: a
game's module is loaded only when it is made. Importing :mod:`mail_envs` calls
:func:`register_envs` once.

Example:
    >>> import pettingzoo, mail_envs
    >>> env = pettingzoo.make("parallel", "mail/gridworld-v0")
"""

from __future__ import annotations

from dataclasses import dataclass

import pettingzoo

__all__ = ["GAMES", "GameInfo", "register_envs"]


@dataclass(frozen=True)
class GameInfo:
    """One registered game: its id, module and a one-line description."""

    id: str
    module: str
    parallel: bool
    description: str


#: Every game the package registers, in the order ``mail-gym list`` prints them.
GAMES: tuple[GameInfo, ...] = (
    GameInfo(
        "mail/gridworld-v0",
        "mail_envs.gridworld",
        True,
        "zero-sum two-player race to the goal cell (3x3 default, any size)",
    ),
    GameInfo(
        "mail/chain-v0",
        "mail_envs.chain",
        True,
        "chain game: only one long action sequence reaches the exploitable state",
    ),
    GameInfo(
        "mail/tictactoe-v0",
        "mail_envs.tictactoe",
        True,
        "Tic-Tac-Toe, drop-in for PettingZoo classic tictactoe_v3; exact model",
    ),
    GameInfo(
        "mail/connect4-v0",
        "mail_envs.connect4",
        True,
        "Connect Four on bitboards, drop-in for PettingZoo classic connect_four_v3",
    ),
    GameInfo(
        "mail/random-zero-sum-v0",
        "mail_envs.random_games",
        True,
        "seeded random two-player zero-sum Markov game",
    ),
)


def register_envs() -> None:
    """Register every game in :data:`GAMES` with PettingZoo (idempotent)."""
    for game in GAMES:
        if game.id not in pettingzoo.aec_registry:
            pettingzoo.register("aec", game.id, entry_point=f"{game.module}:env")
        if game.parallel and game.id not in pettingzoo.parallel_registry:
            pettingzoo.register(
                "parallel", game.id, entry_point=f"{game.module}:parallel_env"
            )
