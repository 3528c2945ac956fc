"""Tests of agents.linear.problem: the model-based view of an imitation problem."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.imitation import LinearSetup
from agents.linear.problem import linear_problem, model_setup


def test_linear_problem_env_and_experts_match_the_model(games):
    game = games.random_game(1)
    expert = games.random_expert(game, 2)
    problem = games.problem(game, expert, horizon=7)
    assert problem.agents == game.player_names
    assert problem.model is game
    env = problem.env_fn()
    obs, _ = env.reset(seed=0)
    for i, agent in enumerate(problem.agents):
        o = obs[agent]
        probs = problem.experts[i](o["observation"][None], o["action_mask"][None] > 0)
        np.testing.assert_allclose(probs[0], expert[i][env.state_index])
    setup = model_setup(problem)
    assert (setup.horizon, setup.game_id, setup.agents) == (
        7,
        "mail/test-v0",
        game.player_names,
    )
    np.testing.assert_allclose(setup.expert_tables[1], expert[1])


def test_time_indexed_tables_need_the_env_experts(games):
    game = games.random_game(3)
    layers = np.stack([game.uniform_policy(0)] * 3)
    features = [games.tabular(game, i) for i in range(2)]
    with pytest.raises(ValueError, match=r"players \[0\] are time-indexed"):
        linear_problem(game, (layers, game.uniform_policy(1)), features)
    uniform = linear_problem(game, [game.uniform_policy(i) for i in range(2)], features)
    problem = linear_problem(
        game, (layers, game.uniform_policy(1)), features, experts=uniform.experts
    )
    assert model_setup(problem).expert_tables[0].shape == layers.shape


def test_model_setup_names_what_is_wrong(games):
    game = games.random_game(4)
    problem = games.problem(game, games.random_expert(game, 5))
    linear = problem.linear
    assert linear is not None
    with pytest.raises(ValueError, match="one array per player"):
        model_setup(
            dataclasses.replace(
                problem,
                linear=dataclasses.replace(linear, features=linear.features[:1]),
            )
        )
    with pytest.raises(ValueError, match="horizon must be a positive integer, got 0"):
        model_setup(
            dataclasses.replace(problem, linear=dataclasses.replace(linear, horizon=0))
        )
    with pytest.raises(ValueError, match=r"features of player 1 .* got \(7, 2, 14\)"):
        model_setup(
            dataclasses.replace(
                problem,
                linear=LinearSetup(
                    linear.expert_tables, (linear.features[0], linear.features[0])
                ),
            )
        )
