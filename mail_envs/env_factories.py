"""PettingZoo entry points (``raw_env``, ``env``, ``parallel_env``) for any game factory.

A game whose envs need nothing beyond
:class:`~mail_envs.tabular_env.TabularAECEnv` and
:class:`~mail_envs.tabular_env.TabularParallelEnv` gets its env classes from
:func:`tabular_env_classes` and its three PettingZoo entry points from
:func:`tabular_env_factories`, instead of writing them again: the classes take
the game factory's arguments plus the env's own (``max_cycles``,
``render_mode``, ``illegal_action``, ``illegal_reward``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
from pettingzoo.utils import wrappers

from mail_envs.core import TabularMarkovGame
from mail_envs.tabular_env import TabularAECEnv, TabularParallelEnv

__all__ = [
    "EnvClasses",
    "EnvFactories",
    "env_factories_of",
    "tabular_env_classes",
    "tabular_env_factories",
]

#: Keyword arguments of the env itself; all others go to the game factory.
_ENV_KEYS = ("max_cycles", "render_mode", "illegal_action", "illegal_reward")

#: ``default_max_cycles``: a number, or a function of the (infinite-horizon) game.
DefaultMaxCycles = int | Callable[[TabularMarkovGame], int]

#: ``attributes``: the game factory's bound arguments (defaults applied) ->
#: extra attributes of the env instance, e.g. ``{"layout": ...}``.
Attributes = Callable[[Mapping[str, Any]], Mapping[str, Any]]


class EnvClasses(NamedTuple):
    """The AEC and the Parallel env class of one game."""

    aec: type[TabularAECEnv]
    parallel: type[TabularParallelEnv]


class EnvFactories(NamedTuple):
    """The three PettingZoo entry points of one game."""

    raw_env: Callable[..., TabularAECEnv]
    env: Callable[..., wrappers.OrderEnforcingWrapper]
    parallel_env: Callable[..., TabularParallelEnv]


def tabular_env_classes(
    make_game: Callable[..., TabularMarkovGame],
    *,
    name: str,
    default_max_cycles: DefaultMaxCycles = 100,
    attributes: Attributes | None = None,
    class_names: tuple[str, str] | None = None,
    docs: tuple[str | None, str | None] = (None, None),
    render_rgb: Callable[[Any], np.ndarray] | None = None,
) -> EnvClasses:
    """Build the AEC and the Parallel env class of a game factory.

    An instance is built from ``make_game``'s arguments (positional ones
    included) plus the keywords ``max_cycles`` (default: the game's horizon,
    else ``default_max_cycles``), ``render_mode``, ``illegal_action`` and
    ``illegal_reward`` of :class:`~mail_envs.tabular_env.TabularAECEnv`. The
    classes' ``metadata["name"]`` is ``name``; ``inspect.signature`` shows the
    combined arguments.

    Args:
        make_game: Factory of the game's :class:`TabularMarkovGame`.
        name: PettingZoo metadata name, e.g. ``"gridworld_v0"``.
        default_max_cycles: Truncation of infinite-horizon games: a number,
            or a function of the game.
        attributes: Optional hook: maps ``make_game``'s bound arguments (with
            defaults) to extra attributes set on each instance before the
            game is built, e.g. ``{"layout": ...}``.
        class_names: ``(aec, parallel)`` class names, which the module of
            ``make_game`` should bind to the classes (for pickling and
            doctests); default ``(f"{name}_aec", f"{name}_parallel")``.
        docs: ``(aec, parallel)`` class docstrings.
        render_rgb: Optional picture of the env for ``render_mode="rgb_array"``
            (a function of the env, returning ``(H, W, 3)`` uint8); default
            one cell per state with the current one marked.

    Returns:
        The two classes.

    Example:
        >>> from mail_envs.xor_coordination import make_xor_coordination_game
        >>> aec, par = tabular_env_classes(make_xor_coordination_game, name="xor_v0")
        >>> par(gamma=0.5, max_cycles=3).max_cycles
        3
    """
    metadata = {
        "render_modes": ["ansi", "human", "rgb_array"],
        "name": name,
        "is_parallelizable": True,
        "render_fps": 4,
    }
    game_signature = inspect.signature(make_game)
    aec_name, parallel_name = class_names or (f"{name}_aec", f"{name}_parallel")

    def make_class(base: type[Any], class_name: str, doc: str | None) -> type[Any]:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            env_kwargs = {k: kwargs.pop(k) for k in _ENV_KEYS if k in kwargs}
            if attributes is not None:
                bound = game_signature.bind(*args, **kwargs)
                bound.apply_defaults()
                for key, value in attributes(bound.arguments).items():
                    setattr(self, key, value)
            game = make_game(*args, **kwargs)
            if env_kwargs.get("max_cycles") is None and game.horizon is None:
                env_kwargs["max_cycles"] = (
                    default_max_cycles
                    if isinstance(default_max_cycles, int)
                    else default_max_cycles(game)
                )
            base.__init__(self, game, **env_kwargs)

        base_params = inspect.signature(base.__init__).parameters
        game_params = list(game_signature.parameters.values())
        tail = [p for p in game_params if p.kind is inspect.Parameter.VAR_KEYWORD]
        head = [p for p in game_params if p.kind is not inspect.Parameter.VAR_KEYWORD]
        params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        params += head + [base_params[k] for k in _ENV_KEYS] + tail
        __init__.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        __init__.__qualname__ = f"{class_name}.__init__"
        namespace = {
            "metadata": metadata,
            "__init__": __init__,
            "__doc__": doc,
            "__module__": make_game.__module__,
            "__qualname__": class_name,
        }
        if render_rgb is not None:
            namespace["_render_rgb"] = render_rgb
        return type(class_name, (base,), namespace)

    return EnvClasses(
        make_class(TabularAECEnv, aec_name, docs[0]),
        make_class(TabularParallelEnv, parallel_name, docs[1]),
    )


def tabular_env_factories(
    make_game: Callable[..., TabularMarkovGame],
    *,
    name: str,
    default_max_cycles: DefaultMaxCycles = 100,
) -> EnvFactories:
    """Build ``raw_env``/``env``/``parallel_env`` for a game factory.

    Each entry point takes ``make_game``'s arguments plus ``max_cycles``
    (default: the game's horizon, else ``default_max_cycles``),
    ``render_mode``, ``illegal_action`` and ``illegal_reward``.

    Args:
        make_game: Factory of the game's :class:`TabularMarkovGame`.
        name: PettingZoo metadata name, e.g. ``"xor_coordination_v0"``.
        default_max_cycles: Truncation of infinite-horizon games: a number,
            or a function of the game.

    Returns:
        The three entry points (``raw_env`` is the AEC env class).

    Example:
        >>> from mail_envs.xor_coordination import make_xor_coordination_game
        >>> f = tabular_env_factories(make_xor_coordination_game, name="xor_v0")
        >>> f.parallel_env(gamma=0.5).possible_agents
        ['player_0', 'player_1']
    """
    classes = tabular_env_classes(
        make_game, name=name, default_max_cycles=default_max_cycles
    )
    return env_factories_of(classes)


def env_factories_of(classes: EnvClasses) -> EnvFactories:
    """``raw_env``/``env``/``parallel_env`` of the env classes of a game.

    Args:
        classes: The classes, e.g. from :func:`tabular_env_classes`.

    Returns:
        ``raw_env`` (the AEC class itself, as PettingZoo expects), ``env``
        (the AEC env in PettingZoo's order-enforcing wrapper) and
        ``parallel_env``; all take the classes' arguments.

    Example:
        >>> from mail_envs.xor_coordination import make_xor_coordination_game
        >>> classes = tabular_env_classes(make_xor_coordination_game, name="xor_v0")
        >>> raw_env, env, parallel_env = env_factories_of(classes)
        >>> isinstance(env(gamma=0.5).unwrapped, raw_env)
        True
    """
    aec_class, parallel_class = classes
    label = aec_class.metadata["name"]

    def env(*args: Any, **kwargs: Any) -> wrappers.OrderEnforcingWrapper:
        return wrappers.OrderEnforcingWrapper(aec_class(*args, **kwargs))

    def parallel_env(*args: Any, **kwargs: Any) -> TabularParallelEnv:
        return parallel_class(*args, **kwargs)

    env.__doc__ = f"AEC env of ``{label}`` with PettingZoo's order enforcement."
    parallel_env.__doc__ = f"Parallel env of ``{label}``; arguments of the game."
    return EnvFactories(aec_class, env, parallel_env)
