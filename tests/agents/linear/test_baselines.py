"""Tests of the model-based baselines and of the model-based results' datasets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.imitation import ImitationResult
from agents.linear.baselines import model_bc
from agents.linear.lsvi_ucb_zero import LSVIUCBZeroBC
from agents.linear.rollouts import collect_labels, rollout
from agents.linear.softmax import behaviour_clone
from mail_wrappers.recorder import load_expert_labels, save_expert_labels

METHODS = ("bc", "uniform", "lsvi-ucb-zero")


def run_method(problem, method: str, *, num_episodes: int, seed: int = 0):
    if method == "lsvi-ucb-zero":
        return LSVIUCBZeroBC(problem, num_episodes=num_episodes, seed=seed).run()
    explorer = "uniform" if method == "uniform" else "expert"
    return model_bc(problem, explorer=explorer, num_episodes=num_episodes, seed=seed)


def test_pipelines_label_budgets_and_learned_tables(games):
    game = games.random_game(61)
    expert = games.random_expert(game, 62)
    problem = games.problem(game, expert, horizon=4)
    results = {m: run_method(problem, m, num_episodes=6) for m in METHODS}
    for method, result in results.items():
        assert isinstance(result, ImitationResult)
        assert result.method == method
        assert result.num_queries == (24, 24)  # no terminal states: K * H each
        assert result.explorer_steps == (24, 24)
        assert result.agents == game.player_names
        assert (result.info["horizon"], result.info["num_episodes"]) == (4, 6)
        assert len(result.info["thetas"]) == 2
        for i, table in enumerate(result.policies):
            np.testing.assert_allclose(game.policy_table(i, table), table)
            assert result.datasets[i].agent_names == (game.player_names[i],)
            assert result.datasets[i].metadata["extra"]["method"] == method
    again = run_method(problem, "lsvi-ucb-zero", num_episodes=6)
    for a, b in zip(
        results["lsvi-ucb-zero"].info["thetas"], again.info["thetas"], strict=True
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("method", METHODS)
def test_model_based_datasets_roundtrip_through_save_and_load(games, method, tmp_path):
    game = games.random_game(5, terminal=True)
    problem = games.problem(game, games.random_expert(game, 6), horizon=5)
    result = run_method(problem, method, num_episodes=4, seed=2)
    for i, data in enumerate(result.datasets):
        path = save_expert_labels(tmp_path / f"{method}_{i}", data)
        back = load_expert_labels(path)
        assert back.metadata == data.metadata
        assert back.metadata["game_id"] == "mail/test-v0"
        assert back.metadata["seed"] == 2
        assert back.agent_names == (result.agents[i],)
        for key in ("observations", "action_masks", "expert_actions", "expert_probs"):
            np.testing.assert_array_equal(getattr(back, key), getattr(data, key))
        for key in ("agents", "episodes", "steps"):
            np.testing.assert_array_equal(getattr(back, key), getattr(data, key))
        assert back.num_distinct_states == data.num_distinct_states


@pytest.mark.parametrize("method", METHODS)
def test_distinct_states_are_the_distinct_labelled_states(games, method):
    game = games.random_game(7, num_states=12)
    problem = games.problem(game, games.random_expert(game, 8), horizon=3)
    result = run_method(problem, method, num_episodes=5, seed=1)
    for i, data in enumerate(result.datasets):
        # the queries are the (episode, step) visits; their states are rows of
        # the observations
        expected = np.unique(data.observations).size
        assert data.num_distinct_states == expected == result.distinct_states[i]
        assert 1 < expected < data.num_queries
        visits = set(zip(data.episodes.tolist(), data.steps.tolist(), strict=True))
        assert len(visits) == data.num_queries


@pytest.mark.parametrize("explorer", ["uniform", "expert"])
def test_model_bc_is_rollout_label_clone_with_one_child_seed_per_player(
    games, explorer
):
    from agents.common import spawn_seeds

    game = games.random_game(9, terminal=True)
    expert = games.random_expert(game, 10)
    problem = games.problem(game, expert, horizon=6)
    result = model_bc(problem, explorer=explorer, num_episodes=7, seed=4, l2=1e-3)
    assert result.method == {"uniform": "uniform", "expert": "bc"}[explorer]
    for i, child in enumerate(spawn_seeds(4, 2)):
        profile = list(expert)
        if explorer == "uniform":
            profile[1 - i] = game.uniform_policy(1 - i)
        traj = rollout(
            game, profile, num_episodes=7, horizon=6, rng=np.random.default_rng(child)
        )
        labels = collect_labels(game, traj, expert, i)
        np.testing.assert_array_equal(
            result.datasets[i].observations, labels.observations
        )
        np.testing.assert_array_equal(
            result.datasets[i].expert_actions, labels.expert_actions
        )
        assert result.explorer_steps[i] == traj.num_steps
        theta, table = behaviour_clone(game, i, labels, games.tabular(game, i), l2=1e-3)
        np.testing.assert_array_equal(result.info["thetas"][i], theta)
        np.testing.assert_array_equal(result.policies[i], table)


def test_model_bc_raises_on_a_problem_without_model_or_features(games):
    game = games.random_game(11)
    problem = games.problem(game, games.random_expert(game, 12))
    bare = dataclasses.replace(problem, linear=None)
    with pytest.raises(ValueError, match="no linear setup"):
        model_bc(bare, explorer="uniform", num_episodes=2, seed=0)
    with pytest.raises(ValueError, match="no model"):
        model_bc(
            dataclasses.replace(bare, model=None),
            explorer="uniform",
            num_episodes=2,
            seed=0,
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"explorer": "dqn"}, "explorer must be one of .* got 'dqn'"),
        ({"num_episodes": 0}, "num_episodes must be a positive integer, got 0"),
        ({"num_episodes": 2.5}, "num_episodes"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"l2": 0.0}, "l2 must be > 0, got 0.0"),
    ],
)
def test_model_bc_bad_arguments_raise_with_the_value(games, kwargs, match):
    game = games.random_game(13)
    problem = games.problem(game, games.random_expert(game, 14))
    args = {"explorer": "uniform", "num_episodes": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        model_bc(problem, **args)
