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

__all__ = [
    "GAMES",
    "GYMNASIUM_ENVS",
    "VECTOR_ENTRY_POINTS",
    "GameInfo",
    "register_envs",
    "register_gymnasium_envs",
]


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
        "zero-sum two-player race to the goal cell (3x3 default, any size; "
        "observation='image' for CNNs)",
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
        "mail/xor-coordination-v0",
        "mail_envs.xor_coordination",
        True,
        "two-state cooperative game: matching state occupancy is not enough",
    ),
    GameInfo(
        "mail/public-goods-v0",
        "mail_envs.public_goods",
        True,
        "n-player public-goods game with stakes; keeping is a dominant strategy",
    ),
    GameInfo(
        "mail/breakdown-v0",
        "mail_envs.breakdown",
        True,
        "n-player dominant-strategy game whose imitation errors compound",
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
    register_gymnasium_envs()


# --------------------------------------------------------------- Gymnasium
#: Single-agent Gymnasium views (one seat against the game's expert), as
#: ``(id, entry point)``. Entry points are strings: registering imports
#: neither :mod:`mail_wrappers` nor :mod:`agents`.
GYMNASIUM_ENVS: tuple[tuple[str, str], ...] = (
    (
        "mail_envs/TicTacToe-vs-expert-v0",
        "mail_wrappers.single_agent:make_tictactoe_vs_expert",
    ),
    (
        "mail_envs/Connect4-vs-expert-v0",
        "mail_wrappers.single_agent:make_connect4_vs_expert",
    ),
    (
        "mail_envs/Gridworld-vs-expert-v0",
        "mail_wrappers.single_agent:make_gridworld_vs_expert",
    ),
    (
        "mail_envs/Chain-vs-expert-v0",
        "mail_wrappers.single_agent:make_chain_vs_expert",
    ),
)


#: Vector entry points (the batch view, :mod:`mail_envs.batch.vector`) of the
#: single-agent views that have one: ``gym.make_vec(id, num_envs=4096,
#: vectorization_mode="vector_entry_point")`` steps all games in one call.
VECTOR_ENTRY_POINTS: dict[str, str] = {
    "mail_envs/TicTacToe-vs-expert-v0": (
        "mail_envs.batch.vector:make_tictactoe_vs_expert_vec"
    ),
    "mail_envs/Connect4-vs-expert-v0": (
        "mail_envs.batch.vector:make_connect4_vs_expert_vec"
    ),
}


def register_gymnasium_envs() -> None:
    """Register the single-agent views in Gymnasium's registry (idempotent).

    After ``import mail_envs``, ``gymnasium.make("mail_envs/TicTacToe-vs-expert-v0",
    controlled_agent="player_2")`` works; the module-prefixed id
    ``"mail_envs:mail_envs/TicTacToe-vs-expert-v0"`` imports :mod:`mail_envs`
    itself. Keyword arguments of ``gymnasium.make`` go to the factories in
    :mod:`mail_wrappers.single_agent`. The ids in :data:`VECTOR_ENTRY_POINTS`
    also have a ``vector_entry_point`` (``gymnasium.make_vec``).
    """
    import gymnasium

    for env_id, entry_point in GYMNASIUM_ENVS:
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point=entry_point,
                vector_entry_point=VECTOR_ENTRY_POINTS.get(env_id),
            )
