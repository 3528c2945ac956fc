"""PettingZoo entry points (``raw_env``, ``env``, ``parallel_env``) for any game factory.

Games that need nothing beyond :class:`~mail_envs.tabular_env.TabularAECEnv`
and :class:`~mail_envs.tabular_env.TabularParallelEnv` get their three
PettingZoo entry points from :func:`tabular_env_factories` instead of writing
them again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from pettingzoo.utils import wrappers

from mail_envs.core import TabularMarkovGame
from mail_envs.tabular_env import TabularAECEnv, TabularParallelEnv

__all__ = ["EnvFactories", "tabular_env_factories"]


class EnvFactories(NamedTuple):
    """The three PettingZoo entry points of one game."""

    raw_env: Callable[..., TabularAECEnv]
    env: Callable[..., wrappers.OrderEnforcingWrapper]
    parallel_env: Callable[..., TabularParallelEnv]


def tabular_env_factories(
    make_game: Callable[..., TabularMarkovGame],
    *,
    name: str,
    default_max_cycles: int = 100,
) -> EnvFactories:
    """Build ``raw_env``/``env``/``parallel_env`` for a game factory.

    Each entry point takes ``make_game``'s keyword arguments plus
    ``max_cycles`` (default: the game's horizon, else ``default_max_cycles``),
    ``render_mode``, ``illegal_action`` and ``illegal_reward``.

    Args:
        make_game: Factory of the game's :class:`TabularMarkovGame`.
        name: PettingZoo metadata name, e.g. ``"xor_coordination_v0"``.
        default_max_cycles: Truncation of infinite-horizon games.

    Returns:
        The three entry points.

    Example:
        >>> from mail_envs.xor_coordination import make_xor_coordination_game
        >>> f = tabular_env_factories(make_xor_coordination_game, name="xor_v0")
        >>> f.parallel_env(gamma=0.5).possible_agents
        ['player_0', 'player_1']
    """
    metadata = {
        "render_modes": ["ansi", "human"],
        "name": name,
        "is_parallelizable": True,
        "render_fps": 4,
    }
    env_keys = ("max_cycles", "render_mode", "illegal_action", "illegal_reward")
    aec_class = type(f"{name}_aec", (TabularAECEnv,), {"metadata": metadata})
    parallel_class = type(
        f"{name}_parallel", (TabularParallelEnv,), {"metadata": metadata}
    )

    def split(kwargs: dict[str, Any]) -> tuple[TabularMarkovGame, dict[str, Any]]:
        env_kwargs = {k: kwargs.pop(k) for k in env_keys if k in kwargs}
        game = make_game(**kwargs)
        if env_kwargs.get("max_cycles") is None and game.horizon is None:
            env_kwargs["max_cycles"] = default_max_cycles
        return game, env_kwargs

    def raw_env(**kwargs: Any) -> TabularAECEnv:
        game, env_kwargs = split(kwargs)
        return aec_class(game, **env_kwargs)

    def env(**kwargs: Any) -> wrappers.OrderEnforcingWrapper:
        return wrappers.OrderEnforcingWrapper(raw_env(**kwargs))

    def parallel_env(**kwargs: Any) -> TabularParallelEnv:
        game, env_kwargs = split(kwargs)
        return parallel_class(game, **env_kwargs)

    raw_env.__doc__ = f"Unwrapped AEC env of ``{name}``; kwargs of the game factory."
    env.__doc__ = f"AEC env of ``{name}`` with PettingZoo's order enforcement."
    parallel_env.__doc__ = f"Parallel env of ``{name}``; kwargs of the game factory."
    return EnvFactories(raw_env, env, parallel_env)
