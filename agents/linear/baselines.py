"""Model-based fixed-explorer baselines: uniform-exploration BC and expert BC.

The two baselines of the Gridworld figure of Viano, Freihaut et al.
("Multi-agent imitation learning with function approximation: linear Markov
games and beyond"), run on the game's model
(:class:`~mail_envs.core.TabularMarkovGame`) with softmax-linear BC over the
problem's features (:mod:`agents.linear.softmax`). For each learning player
``i``, ``num_episodes`` episodes of ``horizon`` steps are sampled in which
player ``i`` and every other player follow the expert except the *explorer*,
player ``(i + 1) % n``, which

* ``explorer="uniform"`` — plays uniformly among its legal actions
  (method ``"uniform"``);
* ``explorer="expert"`` — follows the expert too: offline BC on expert
  self-play data (method ``"bc"``).

Player ``i``'s expert labels on those episodes are its BC dataset. (Each
player gets its own ``num_episodes`` episodes, the budget the interactive
methods get.) :class:`~agents.linear.lsvi_ucb_zero.LSVIUCBZeroBC` replaces the
fixed explorer by LSVI-UCB with zero reward.

Seeding: :func:`agents.common.spawn_seeds` gives one child seed sequence per
learning player; player ``i``'s episodes are drawn from
``numpy.random.default_rng(child_i)``.

Example:
    >>> from agents.linear.features import tabular_features
    >>> from agents.linear.problem import linear_problem
    >>> from mail_envs.gridworld import make_gridworld_game
    >>> from mail_envs.solvers import nash_gap, solve_zero_sum
    >>> game = make_gridworld_game(size=3)
    >>> feats = [tabular_features(game, i) for i in range(2)]
    >>> problem = linear_problem(game, solve_zero_sum(game).policies, feats)
    >>> result = model_bc(problem, explorer="uniform", num_episodes=50, seed=0)
    >>> result.method, result.num_queries, result.distinct_states
    ('uniform', (500, 500), (12, 12))
    >>> bool(nash_gap(game, list(result.policies)).nash_conv < 0.05)
    True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np

from agents.common import check_positive_int, spawn_seeds
from agents.imitation import ImitationProblem, ImitationResult
from agents.linear.problem import ModelSetup, model_setup
from agents.linear.rollouts import (
    Trajectories,
    collect_labels,
    default_explorer,
    rollout,
)
from agents.linear.softmax import behaviour_clone
from agents.monitor import RunMonitor, resolve_monitor
from mail_envs.core import check_real
from mail_wrappers.recorder import ExpertLabelDataset

__all__ = ["EXPLORER_METHODS", "model_bc", "model_imitation"]

#: Method name of each fixed explorer, in the package's method vocabulary.
EXPLORER_METHODS: dict[str, str] = {"uniform": "uniform", "expert": "bc"}


def model_bc(
    problem: ImitationProblem,
    *,
    explorer: Literal["uniform", "expert"],
    num_episodes: int,
    seed: int,
    l2: float = 1e-4,
    monitor: RunMonitor | None = None,
    clone: Callable[
        [int, ExpertLabelDataset, np.random.Generator], tuple[np.ndarray, np.ndarray]
    ]
    | None = None,
    method: str | None = None,
    info: Mapping[str, Any] | None = None,
) -> ImitationResult:
    """Fixed-explorer BC on the problem's model (see the module docstring).

    Args:
        problem: The problem; it needs a ``model`` and a ``linear`` setup
            (expert tables, features: the BC policy class, horizon).
        explorer: ``"uniform"`` (uniform-exploration BC, method
            ``"uniform"``) or ``"expert"`` (expert self-play BC, method
            ``"bc"``).
        num_episodes: Episodes per learning player.
        seed: Master seed of the run.
        l2: Ridge weight of the BC fit
            (:func:`~agents.linear.softmax.fit_softmax_linear`).
        monitor: Progress reports (:class:`~agents.monitor.RunMonitor`): stage
            ``"episodes <learner>"`` once a learner's episodes are sampled (all
            at once), and ``"players"`` (see :func:`model_imitation`).
        clone: ``(player, dataset, rng) -> (theta, table)``, another
            behaviour cloning (see :func:`model_imitation`); ``rng`` is the
            player's generator, after its episodes were sampled.
        method: The result's method name (default ``"uniform"``/``"bc"``).
        info: Extra entries of the result's ``info``, or a function that
            returns them, called once every player has explored (for the
            statistics an ``explore`` closure gathers per player).

    Returns:
        The :class:`~agents.imitation.ImitationResult`: one dataset and one
        ``(S, A_i)`` policy table per player; ``explorer_steps`` are the steps
        the explorer played for each learning player; ``info`` holds
        ``thetas`` (the softmax-linear parameters), ``horizon``,
        ``num_episodes``, ``l2`` and ``explorers`` (each learner's explorer).

    Raises:
        ValueError: If the problem has no model or linear setup (or they are
            invalid, see :func:`~agents.linear.problem.model_setup`),
            ``explorer`` is unknown, ``num_episodes`` is not a positive
            integer, ``seed`` is negative or ``l2 <= 0``.
    """
    if explorer not in EXPLORER_METHODS:
        raise ValueError(
            f"explorer must be one of {sorted(EXPLORER_METHODS)}, got {explorer!r}"
        )
    num_episodes = check_positive_int("num_episodes", num_episodes)
    l2 = check_real("l2", l2, minimum=0.0, open_minimum=True)
    setup = model_setup(problem)
    monitor = resolve_monitor(monitor)
    rngs = [np.random.default_rng(s) for s in spawn_seeds(seed, setup.num_players)]

    def explore(i: int, j: int) -> Trajectories:
        profile = list(setup.expert_tables)
        if explorer == "uniform":
            profile[j] = setup.game.uniform_policy(j)
        traj = rollout(
            setup.game,
            profile,
            num_episodes=num_episodes,
            horizon=setup.horizon,
            rng=rngs[i],
        )
        monitor.report(f"episodes {setup.agents[i]}", num_episodes, num_episodes)
        return traj

    return model_imitation(
        setup,
        method or EXPLORER_METHODS[explorer],
        explore,
        seed=seed,
        l2=l2,
        info={"num_episodes": num_episodes, **(info or {})},
        monitor=monitor,
        clone=None if clone is None else lambda i, data: clone(i, data, rngs[i]),
    )


def model_imitation(
    setup: ModelSetup,
    method: str,
    explore: Callable[[int, int], Trajectories],
    *,
    seed: int,
    l2: float,
    info: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    monitor: RunMonitor | None = None,
    clone: Callable[[int, ExpertLabelDataset], tuple[np.ndarray, np.ndarray]]
    | None = None,
) -> ImitationResult:
    """The model-based per-player loop: explore, label, clone (written once).

    For each learning player ``i`` (explorer ``j``, the next player),
    ``explore(i, j)`` samples the episodes; ``i``'s expert labels every visited
    decision (:func:`~agents.linear.rollouts.collect_labels`) and
    softmax-linear BC on the player's features gives its table.

    Args:
        setup: The validated model setup.
        method: The method's registry name.
        explore: ``(learner, explorer) -> Trajectories``.
        seed: The run's master seed (recorded in the datasets).
        l2: Ridge weight of the BC fit.
        info: Extra entries of the result's ``info``, or a function that
            returns them, called once every player has explored (for the
            statistics an ``explore`` closure gathers per player).
        monitor: Progress reports (stage ``"players"``, learners done of all)
            and one CSV row per learner in ``monitor.logger(f"{agent}/bc")``:
            ``explore/steps``, ``explore/seconds``, ``bc/num_queries``,
            ``bc/distinct_states`` and ``bc/seconds``.
        clone: ``(player, dataset) -> (theta, (S, A_i) table)``, another
            behaviour cloning (e.g. deep-linear BC); default softmax-linear BC
            on the setup's features with ridge ``l2``.

    Returns:
        The :class:`~agents.imitation.ImitationResult`; ``info`` holds
        ``thetas``, ``horizon``, ``l2``, ``explorers`` and ``info``'s entries.
    """
    game, n = setup.game, setup.num_players
    monitor = resolve_monitor(monitor)
    labels, steps, thetas, tables, explorers = [], [], [], [], []
    explore_seconds = bc_seconds = 0.0
    for i in range(n):
        start = time.perf_counter()
        j = default_explorer(i, n)
        traj = explore(i, j)
        data = collect_labels(
            game,
            traj,
            setup.expert_tables,
            i,
            agent=setup.agents[i],
            game_id=setup.game_id,
            expert=setup.expert_name,
            seed=int(seed),
            extra={
                "method": method,
                "learner": setup.agents[i],
                "explorer": setup.agents[j],
                "horizon": setup.horizon,
            },
        )
        cloned = time.perf_counter()
        if clone is None:
            theta, table = behaviour_clone(game, i, data, setup.features[i], l2=l2)
        else:
            theta, table = clone(i, data)
        explore_seconds += cloned - start
        bc_seconds += time.perf_counter() - cloned
        labels.append(data)
        steps.append(traj.num_steps)
        thetas.append(theta)
        tables.append(table)
        explorers.append(setup.agents[j])
        if monitor.enabled:
            logger = monitor.logger(f"{setup.agents[i]}/bc")
            logger.record("explore/steps", traj.num_steps)
            logger.record("explore/seconds", cloned - start)
            logger.record("bc/num_queries", data.num_queries)
            logger.record("bc/distinct_states", data.num_distinct_states)
            logger.record("bc/seconds", time.perf_counter() - cloned)
            logger.dump(step=1)
            logger.close()
        monitor.report("players", i + 1, n)
    return ImitationResult(
        method=method,
        agents=setup.agents,
        datasets=tuple(labels),
        policies=tuple(tables),
        explorer_steps=tuple(steps),
        explore_seconds=explore_seconds,
        bc_seconds=bc_seconds,
        info={
            "thetas": tuple(thetas),
            "horizon": setup.horizon,
            "l2": float(l2),
            "explorers": tuple(explorers),
            **((info() if callable(info) else info) or {}),
        },
    )
