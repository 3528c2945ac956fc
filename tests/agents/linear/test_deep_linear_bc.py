"""Tests of agents.linear.deep_linear_bc: deep-linear BC on expert self-play."""

from __future__ import annotations

import numpy as np
import torch

from agents.linear.baselines import model_bc
from agents.linear.deep_linear_bc import deep_linear_bc
from agents.linear.features import gridworld_board_observations, tabular_features
from agents.linear.problem import linear_problem
from mail_envs.gridworld import PUBLISHED_STARTS, make_gridworld_game
from mail_envs.solvers.mixed import mixed_zero_sum_equilibrium


def test_same_data_as_bc_and_no_leakage() -> None:
    torch.set_num_threads(1)
    game = make_gridworld_game(3, starts=PUBLISHED_STARTS)
    expert = mixed_zero_sum_equilibrium(game).policies
    feats = [tabular_features(game, i) for i in range(2)]
    problem = linear_problem(game, expert, feats, horizon=10)
    kwargs = {
        "num_episodes": 3,
        "seed": 4,
        "observations": gridworld_board_observations(game),
        "trainer_kwargs": {"max_epochs": 10},
    }
    result = deep_linear_bc(problem, **kwargs)
    bc = model_bc(problem, explorer="expert", num_episodes=3, seed=4)
    for ours, theirs in zip(result.datasets, bc.datasets, strict=True):
        np.testing.assert_array_equal(ours.observations, theirs.observations)
        np.testing.assert_array_equal(ours.expert_actions, theirs.expert_actions)
    assert result.num_queries == (30, 30)
    for i, table in enumerate(result.policies):
        np.testing.assert_allclose(table.sum(axis=1), 1.0)
        assert result.info["features"][i].shape == (72, 4, 28)
    # An expert changed only off the data's states gives the same policies.
    # (Every state any episode visited is in some dataset, so the altered
    # experts replay the same episodes.)
    seen = np.unique(np.concatenate([d.observations for d in result.datasets]))
    altered = []
    for table in expert:
        other = np.roll(table, 1, axis=1)
        other[seen] = table[seen]
        altered.append(other)
    again = deep_linear_bc(linear_problem(game, altered, feats, horizon=10), **kwargs)
    for a, b in zip(result.policies, again.policies, strict=True):
        np.testing.assert_array_equal(a, b)
