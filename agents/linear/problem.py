"""The model-based view of an imitation problem: build one, check one.

The model-based methods (:func:`agents.linear.baselines.model_bc`,
:class:`agents.linear.lsvi_ucb_zero.LSVIUCBZeroBC`) sample episodes on a
game's :class:`~mail_envs.core.TabularMarkovGame` and clone over a linear
feature map, so they need the two optional parts of an
:class:`~agents.imitation.ImitationProblem`: its ``model`` and its ``linear``
setup (:class:`~agents.imitation.LinearSetup`: expert tables, features,
horizon).

* :func:`linear_problem` builds such a problem from a model alone: the env is
  :class:`~mail_envs.tabular_env.TabularParallelEnv` on the same model and the
  experts are the tables as :class:`~mail_wrappers.table_policy.TablePolicy`;
* :func:`model_setup` checks a problem and returns its validated
  :class:`ModelSetup` (or raises a :class:`ValueError` saying what is missing).

Example:
    >>> from agents.linear.features import tabular_features
    >>> from mail_envs.gridworld import make_gridworld_game
    >>> from mail_envs.solvers import solve_zero_sum
    >>> game = make_gridworld_game(size=3)
    >>> expert = solve_zero_sum(game).policies
    >>> feats = [tabular_features(game, i) for i in range(2)]
    >>> problem = linear_problem(game, expert, feats, game_id="mail/gridworld-v0")
    >>> setup = model_setup(problem)
    >>> setup.agents, setup.horizon, setup.features[0].shape
    (('player_0', 'player_1'), 10, (72, 4, 288))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.imitation import ImitationProblem, LinearSetup
from agents.linear.rollouts import (
    UNKNOWN_GAME_ID,
    check_expert_policies,
    check_features,
)
from mail_envs.core import BatchedPolicy, TabularMarkovGame
from mail_envs.tabular_env import TabularParallelEnv
from mail_wrappers.table_policy import TablePolicy

__all__ = ["DEFAULT_GAME_ID", "ModelSetup", "linear_problem", "model_setup"]

#: Game id recorded in the datasets of a problem built from a bare model.
DEFAULT_GAME_ID = UNKNOWN_GAME_ID


@dataclass(frozen=True, eq=False)
class ModelSetup:
    """A model-based problem, validated.

    Attributes:
        game: The model.
        agents: The players' names, in player order.
        expert_tables: One validated float64 expert table per player,
            ``(S, A_i)`` or ``(T, S, A_i)``.
        features: One validated float64 ``(S, A_i, d_i)`` feature map per
            player.
        horizon: Steps per episode.
        game_id: The game's id (recorded in the datasets).
        expert_name: The expert's name (recorded in the datasets).
    """

    game: TabularMarkovGame
    agents: tuple[str, ...]
    expert_tables: tuple[np.ndarray, ...]
    features: tuple[np.ndarray, ...]
    horizon: int
    game_id: str
    expert_name: str

    @property
    def num_players(self) -> int:
        """Number of players."""
        return self.game.num_players


def linear_problem(
    game: TabularMarkovGame,
    expert_tables: Sequence[np.ndarray],
    features: Sequence[np.ndarray],
    *,
    horizon: int = 10,
    game_id: str = DEFAULT_GAME_ID,
    expert_name: str = "expert",
    experts: Sequence[BatchedPolicy] | None = None,
) -> ImitationProblem:
    """An :class:`~agents.imitation.ImitationProblem` with a model and features.

    Args:
        game: The model.
        expert_tables: One expert table per player, ``(S, A_i)`` or
            ``(T, S, A_i)``.
        features: One ``(S, A_i, d_i)`` feature map per player.
        horizon: Steps per episode of the model rollouts.
        game_id: The game's registered id, recorded in the datasets.
        expert_name: The expert's name, recorded in the datasets.
        experts: The experts of the env view; default: the (stationary)
            tables as :class:`~mail_wrappers.table_policy.TablePolicy`.

    Returns:
        The problem; its env is a
        :class:`~mail_envs.tabular_env.TabularParallelEnv` of ``game``.

    Raises:
        ValueError: If a table is invalid, or is time-indexed and ``experts``
            is not given.
    """
    tables = check_expert_policies(game, expert_tables)
    if experts is None:
        time_indexed = [i for i, t in enumerate(tables) if t.ndim == 3]
        if time_indexed:
            raise ValueError(
                f"the expert tables of players {time_indexed} are time-indexed; "
                "pass experts=... (batched policies of the env view)"
            )
        experts = [TablePolicy(game, i, t) for i, t in enumerate(tables)]

    def env_fn() -> TabularParallelEnv:
        return TabularParallelEnv(game)

    return ImitationProblem(
        game_id=game_id,
        env_fn=env_fn,
        experts=tuple(experts),
        model=game,
        linear=LinearSetup(
            expert_tables=tables,
            features=tuple(np.asarray(f) for f in features),
            horizon=horizon,
        ),
        expert_name=expert_name,
    )


def model_setup(problem: ImitationProblem) -> ModelSetup:
    """Check that ``problem`` can be solved on its model, and validate its parts.

    Args:
        problem: The problem.

    Returns:
        The :class:`ModelSetup`.

    Raises:
        ValueError: If the problem has no model or no linear setup, has fewer
            than two players, its seats do not match the model's players, the
            horizon is not a positive integer, or an expert table or feature
            map is invalid (naming the player).
    """
    game, linear = problem.model, problem.linear
    if game is None:
        raise ValueError(
            f"problem {problem.game_id!r} has no model (model=None); the "
            "model-based methods sample episodes on a TabularMarkovGame"
        )
    if linear is None:
        raise ValueError(
            f"problem {problem.game_id!r} has no linear setup (linear=None); the "
            "model-based methods need LinearSetup(expert_tables, features, horizon)"
        )
    if game.num_players < 2:
        raise ValueError(f"need at least two players, got {game.num_players}")
    agents = problem.agents
    if len(agents) != game.num_players:
        raise ValueError(
            f"the problem's seats {list(agents)} do not match the model's "
            f"{game.num_players} players"
        )
    horizon = linear.horizon
    if isinstance(horizon, bool) or int(horizon) != horizon or horizon < 1:
        raise ValueError(f"horizon must be a positive integer, got {horizon!r}")
    if len(linear.features) != game.num_players:
        raise ValueError(
            f"features must hold one array per player ({game.num_players}), "
            f"got {len(linear.features)}"
        )
    return ModelSetup(
        game=game,
        agents=tuple(agents),
        expert_tables=check_expert_policies(game, linear.expert_tables),
        features=tuple(
            check_features(game, i, f) for i, f in enumerate(linear.features)
        ),
        horizon=int(horizon),
        game_id=problem.game_id,
        expert_name=problem.expert_name,
    )
