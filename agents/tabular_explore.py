"""Exploration on tabular games through their envs, one learning player at a time.

The deep-exploration comparison of Viano, Freihaut et al. (figures 2a and 2b)
on games with an exact model (the Gridworld race, the chain game): for every
player ``i``, ``i`` plays its expert (e.g. the exact Nash policy through
:class:`~mail_wrappers.table_policy.TablePolicy`) and every real decision it
takes is labelled, while the other seat is played by

* ``"dqn-explore"``: the bonus-driven masked DQN explorer
  (:func:`agents.dqn_explore.collect_dqn_explore`);
* ``"uniform"``: uniform play among legal actions
  (:func:`agents.dqn_explore.collect_uniform_exploration`);
* ``"self-play"``: the other seat's own expert
  (:func:`agents.dqn_explore.collect_policy_exploration`): the offline BC data.

Then :func:`fit_bc_or_uniform` clones each player (an MLP on the one-hot
observations, enough gradient steps for small datasets). A player without a
single labelled decision gets the uniform policy over its legal actions: BC
has nothing to fit (on the chain, the guard whenever the explorer never reached
the gate).

Example:
    >>> import functools
    >>> from mail_envs.chain import env, make_chain_game
    >>> from mail_envs.solvers import nash_gap, solve_zero_sum
    >>> from mail_wrappers.table_policy import TablePolicy
    >>> game = make_chain_game(length=3)  # the env must be the same game
    >>> env_fn = functools.partial(env, length=3)
    >>> experts = [TablePolicy(game, i, p) for i, p in enumerate(solve_zero_sum(game).policies)]
    >>> runs = collect_per_player(env_fn, experts, "uniform", num_games=20, seed=0)
    >>> policies, uniform_players = fit_bc_or_uniform(runs, seed=0, device="cpu")
    >>> nash_gap(game, policies).nash_conv >= 0.0
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from agents.dqn_explore import (
    EnvFactory,
    ExplorationResult,
    _spawn_seeds,
    _two_seats,
    collect_dqn_explore,
    collect_policy_exploration,
    collect_uniform_exploration,
    fit_bc_profile,
)
from mail_envs.core import BatchedPolicy

__all__ = [
    "TABULAR_METHODS",
    "collect_per_player",
    "fit_bc_or_uniform",
    "uniform_legal",
]

#: The exploration methods of :func:`collect_per_player`.
TABULAR_METHODS = ("self-play", "uniform", "dqn-explore")


def uniform_legal(observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
    """The uniform policy over legal actions (a player with no labelled decision)."""
    masks = np.asarray(action_masks, dtype=np.float64)
    return masks / masks.sum(axis=1, keepdims=True)


def collect_per_player(
    env_fn: EnvFactory,
    experts: Sequence[BatchedPolicy],
    method: Literal["self-play", "uniform", "dqn-explore"],
    *,
    num_games: int,
    seed: int,
    dqn_kwargs: dict[str, Any] | None = None,
    device: str = "auto",
) -> tuple[ExplorationResult, ...]:
    """One exploration run per learning player, in ``possible_agents`` order.

    Args:
        env_fn: Builds a fresh two-player AEC env (Dict observations).
        experts: The experts of the two seats, in ``possible_agents`` order.
        method: ``"self-play"``, ``"uniform"`` or ``"dqn-explore"``.
        num_games: Expert-labelled games per learning player.
        seed: Run seed; the players' collection seeds are drawn from it
            (``SeedSequence``), identically for every method.
        dqn_kwargs: Keywords of :func:`agents.dqn_explore.collect_dqn_explore`
            (``beta``, ``rebuild_rule``, ``dqn_kwargs``...).
        device: Torch device of the DQN explorer.

    Returns:
        One :class:`~agents.dqn_explore.ExplorationResult` per player.

    Raises:
        ValueError: If the method is unknown or there are not two experts.
    """
    if method not in TABULAR_METHODS:
        raise ValueError(f"method must be one of {TABULAR_METHODS}, got {method!r}")
    agents = _two_seats(env_fn())
    if len(experts) != len(agents):
        raise ValueError(f"need one expert per seat {agents}, got {len(experts)}")
    runs = []
    for i, (agent, s) in enumerate(zip(agents, _spawn_seeds(seed, 2), strict=True)):
        common: dict[str, Any] = {"learner": agent, "num_games": num_games, "seed": s}
        if method == "dqn-explore":
            run = collect_dqn_explore(
                env_fn, experts[i], device=device, **common, **(dqn_kwargs or {})
            )
        elif method == "uniform":
            run = collect_uniform_exploration(env_fn, experts[i], **common)
        else:
            run = collect_policy_exploration(
                env_fn, experts[i], explorer_policy=experts[1 - i], **common
            )
        runs.append(run)
    return tuple(runs)


def fit_bc_or_uniform(
    runs: Sequence[ExplorationResult],
    *,
    seed: int,
    batch_size: int = 128,
    min_epochs: int = 60,
    min_steps: int = 1000,
    device: str = "auto",
) -> tuple[list[BatchedPolicy], tuple[int, ...]]:
    """BC per player (MLP, greedy, masked); uniform for a player without labels.

    Player ``k`` is cloned with seed ``seed + k`` for at least ``min_epochs``
    epochs and ``min_steps`` gradient steps (60 epochs of 250 labels are only
    120 steps: too few to fit them, and NashConv would measure the optimizer).

    Args:
        runs: One exploration run per player.
        seed: BC seed.
        batch_size: BC minibatch size.
        min_epochs: Least number of epochs.
        min_steps: Least number of gradient steps.
        device: Torch device.

    Returns:
        The profile and the players that got the uniform policy.
    """
    policies: list[BatchedPolicy] = []
    uniform_players = []
    for k, run in enumerate(runs):
        if run.labels.num_queries == 0:
            policies.append(uniform_legal)
            uniform_players.append(k)
            continue
        batches = math.ceil(run.labels.num_queries / batch_size)
        bc_kwargs = {
            "batch_size": batch_size,
            "max_epochs": max(min_epochs, math.ceil(min_steps / batches)),
        }
        (policy,), _ = fit_bc_profile(
            [run.labels], seed=seed + k, bc_kwargs=bc_kwargs, device=device
        )
        policies.append(policy)
    return policies, tuple(uniform_players)
