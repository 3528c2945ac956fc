"""Single-agent Gymnasium views of the games: one seat against the expert.

These factories are the entry points of the Gymnasium ids that
:func:`mail_envs.registration.register_gymnasium_envs` registers:

* ``mail_envs/TicTacToe-vs-expert-v0``: Tic-Tac-Toe against the minimax
  expert (uniform over optimal moves); default seat ``player_1`` (X, first).
* ``mail_envs/Connect4-vs-expert-v0``: Connect Four against the bitbully
  solver expert; default seat ``player_0`` (first).
* ``mail_envs/Gridworld-vs-expert-v0``: the Gridworld race against the Nash
  policy of ``mail_envs.solvers.solve_zero_sum``; default seat ``player_0``.
* ``mail_envs/Chain-vs-expert-v0``: the chain game against the Nash guard;
  default seat ``player_1`` (the explorer).

Register them by importing :mod:`mail_envs` first (or use the module-prefixed
id, which imports it for you)::

    import gymnasium as gym
    import mail_envs  # registers the ids
    env = gym.make("mail_envs/TicTacToe-vs-expert-v0", controlled_agent="player_2")
    env = gym.make("mail_envs:mail_envs/Gridworld-vs-expert-v0", size=4)

Every factory takes ``controlled_agent``, ``flatten_observation`` (the
``"observation"`` Box only, for SB3 ``DQN``/``PPO``), ``opponent`` (any
opponent policy of :class:`~mail_wrappers.frozen_opponent.FrozenOpponentWrapper`
to replace the expert), ``seed`` and ``render_mode`` (``"rgb_array"`` too, so
SB3's ``make_vec_env`` and Gymnasium's ``RecordVideo`` work); other keywords go
to the game's env. The experts and solvers are the games' ground truth and live
in :mod:`mail_envs` (imports point downward: ``mail_envs <- mail_wrappers <-
agents``).

### Version History

* v0: initial release. Later: the Connect4 view names its expert option
  ``expert_policy`` like the Tic-Tac-Toe view (``expert_mode`` is a
  deprecated alias).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from mail_envs.chain import parallel_env as chain_parallel_env
from mail_envs.connect4 import env as connect4_env
from mail_envs.connect4.expert import Connect4Expert
from mail_envs.gridworld import parallel_env as gridworld_parallel_env
from mail_envs.solvers import solve_zero_sum
from mail_envs.tictactoe import env as tictactoe_env
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_wrappers.frozen_opponent import FrozenOpponentWrapper, OpponentPolicy
from mail_wrappers.table_policy import TablePolicy

__all__ = [
    "make_chain_vs_expert",
    "make_connect4_vs_expert",
    "make_gridworld_vs_expert",
    "make_tictactoe_vs_expert",
    "nash_opponents",
]


def nash_opponents(env: Any, controlled_agent: str) -> dict[str, TablePolicy]:
    """Nash-equilibrium policies of every other agent of a tabular env.

    Solves ``env.game`` (a zero-sum :class:`~mail_envs.core.TabularMarkovGame`)
    with :func:`mail_envs.solvers.solve_zero_sum` and wraps each opponent's table
    in a :class:`~mail_wrappers.table_policy.TablePolicy` (finite-horizon
    games: the non-stationary policy, indexed by the env's ``num_steps``).

    Args:
        env: A tabular PettingZoo env (it, or its ``unwrapped``, has ``game``).
        controlled_agent: The agent not to solve for.

    Returns:
        ``{agent: policy}`` for every other agent.
    """
    base = env.unwrapped
    game = base.game
    equilibrium = solve_zero_sum(game)
    step_source = None if game.horizon is None else (lambda: base.num_steps)
    return {
        name: TablePolicy(game, i, equilibrium.policies[i], step_source=step_source)
        for i, name in enumerate(game.player_names)
        if name != controlled_agent
    }


def _play_against(
    env: Any,
    controlled_agent: str,
    opponent: OpponentPolicy | Mapping[Any, OpponentPolicy] | None,
    flatten_observation: bool,
    seed: int | None,
) -> FrozenOpponentWrapper:
    """``env`` seen by ``controlled_agent``; ``opponent`` defaults to Nash."""
    if opponent is None:
        opponent = nash_opponents(env, controlled_agent)
    return FrozenOpponentWrapper(
        env,
        controlled_agent,
        opponent,
        flatten_observation=flatten_observation,
        seed=seed,
    )


def make_tictactoe_vs_expert(
    *,
    controlled_agent: str = "player_1",
    flatten_observation: bool = False,
    opponent: OpponentPolicy | None = None,
    expert_policy: str = "uniform",
    seed: int | None = None,
    render_mode: str | None = None,
) -> FrozenOpponentWrapper:
    """Tic-Tac-Toe (``mail/tictactoe-v0``) against the minimax expert.

    Args:
        controlled_agent: ``"player_1"`` (moves first) or ``"player_2"``.
        flatten_observation: Observation ``Box(0, 1, (3, 3, 2), int8)`` only.
        opponent: Replaces the expert when given.
        expert_policy: ``"uniform"`` over optimal moves or ``"deterministic"``.
        seed: Seed of the opponent's sampling.
        render_mode: Passed to the env: None, ``"ansi"``, ``"human"`` or
            ``"rgb_array"`` (``render()`` returns an ``(H, W, 3)`` uint8 array).

    Returns:
        The single-agent env.
    """
    if opponent is None:
        opponent = TicTacToeMinimaxExpert(policy=expert_policy)  # type: ignore[arg-type]
    env = tictactoe_env(render_mode=render_mode)
    return _play_against(env, controlled_agent, opponent, flatten_observation, seed)


def make_connect4_vs_expert(
    *,
    controlled_agent: str = "player_0",
    flatten_observation: bool = False,
    opponent: OpponentPolicy | None = None,
    expert_policy: str = "uniform",
    seed: int | None = None,
    render_mode: str | None = None,
    expert_mode: str | None = None,
) -> FrozenOpponentWrapper:
    """Connect Four (``mail/connect4-v0``) against the bitbully solver expert.

    Args:
        controlled_agent: ``"player_0"`` (moves first) or ``"player_1"``.
        flatten_observation: Observation ``Box(0, 1, (6, 7, 2), int8)`` only.
        opponent: Replaces the expert when given.
        expert_policy: ``"uniform"`` over optimal moves or ``"deterministic"``
            (the same option as the Tic-Tac-Toe view's).
        seed: Seed of the opponent's sampling.
        render_mode: Passed to the env: None, ``"ansi"``, ``"human"`` or
            ``"rgb_array"`` (``render()`` returns an ``(H, W, 3)`` uint8 array).
        expert_mode: Deprecated name of ``expert_policy`` (a
            ``DeprecationWarning``); giving both is an error.

    Returns:
        The single-agent env.

    Raises:
        ValueError: If ``expert_mode`` and a different ``expert_policy`` are both given.
    """
    if expert_mode is not None:
        if expert_policy not in ("uniform", expert_mode):
            raise ValueError(
                f"give expert_policy ({expert_policy!r}) or its deprecated name "
                f"expert_mode ({expert_mode!r}), not both"
            )
        warnings.warn(
            "make_connect4_vs_expert(expert_mode=...) is deprecated; use "
            "expert_policy=... (the Tic-Tac-Toe view's name)",
            DeprecationWarning,
            stacklevel=2,
        )
        expert_policy = expert_mode
    if opponent is None:
        opponent = Connect4Expert(mode=expert_policy)  # type: ignore[arg-type]
    env = connect4_env(render_mode=render_mode)
    return _play_against(env, controlled_agent, opponent, flatten_observation, seed)


def make_gridworld_vs_expert(
    *,
    controlled_agent: str = "player_0",
    flatten_observation: bool = False,
    opponent: OpponentPolicy | None = None,
    seed: int | None = None,
    render_mode: str | None = None,
    **env_kwargs: Any,
) -> FrozenOpponentWrapper:
    """Gridworld race (``mail/gridworld-v0``, Parallel) against its Nash policy.

    Args:
        controlled_agent: ``"player_0"`` or ``"player_1"``.
        flatten_observation: Observation the one-hot state Box only.
        opponent: Replaces the Nash policy when given.
        seed: Seed of the opponent's sampling.
        render_mode: Passed to the env: None, ``"ansi"``, ``"human"`` or
            ``"rgb_array"`` (``render()`` returns an ``(H, W, 3)`` uint8 array).
        **env_kwargs: Passed to :func:`mail_envs.gridworld.parallel_env`
            (``size``, ``gamma``, ``horizon``, ``max_cycles``, ...).

    Returns:
        The single-agent env.
    """
    env = gridworld_parallel_env(render_mode=render_mode, **env_kwargs)
    return _play_against(env, controlled_agent, opponent, flatten_observation, seed)


def make_chain_vs_expert(
    *,
    controlled_agent: str = "player_1",
    flatten_observation: bool = False,
    opponent: OpponentPolicy | None = None,
    seed: int | None = None,
    render_mode: str | None = None,
    **env_kwargs: Any,
) -> FrozenOpponentWrapper:
    """Chain game (``mail/chain-v0``, Parallel) against its Nash policy.

    Args:
        controlled_agent: ``"player_1"`` (the explorer) or ``"player_0"``
            (the guard).
        flatten_observation: Observation the one-hot state Box only.
        opponent: Replaces the Nash policy when given.
        seed: Seed of the opponent's sampling.
        render_mode: Passed to the env: None, ``"ansi"``, ``"human"`` or
            ``"rgb_array"`` (``render()`` returns an ``(H, W, 3)`` uint8 array).
        **env_kwargs: Passed to :func:`mail_envs.chain.parallel_env`
            (``length``, ``num_actions``, ``gamma``, ``cost``, ...). The
            chain's own ``seed`` (which draws its secret sequence) is given
            as ``game_seed``, since ``seed`` seeds the opponent.

    Returns:
        The single-agent env.
    """
    if "game_seed" in env_kwargs:
        env_kwargs["seed"] = env_kwargs.pop("game_seed")
    env = chain_parallel_env(render_mode=render_mode, **env_kwargs)
    return _play_against(env, controlled_agent, opponent, flatten_observation, seed)
