"""Saved profiles load as opponents (agents/io.py: save_profile, load_profile, load_opponent).

A learned profile holds neural policies (:class:`TorchPolicy`), ``(S, A_i)``
tables (the model-based methods) or the uniform policy (a player without
labels). Each is saved without pickle and must load back to a batched policy
that gives exactly the same probabilities, plays as the opponent of a
Gymnasium view, and refuses another game configuration.
"""

from __future__ import annotations

import functools
import json

import gymnasium
import numpy as np
import pytest
import torch

import mail_envs  # noqa: F401  (registers the Gymnasium views)
from agents.bc.profile import BCConfig
from agents.imitation import ImitationProblem, ImitationResult
from agents.io import (
    PROFILE_FILE,
    SavedTablePolicy,
    load_opponent,
    load_policy,
    load_profile,
    save_policy,
    save_profile,
)
from agents.methods import make_algorithm
from agents.pipeline.games import GAME_SPECS
from agents.policies import MLPPolicy, TorchPolicy
from mail_envs.tictactoe import env as tictactoe_env
from mail_envs.tictactoe import make_tictactoe_game
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_wrappers.frozen_opponent import uniform_policy
from mail_wrappers.table_policy import TablePolicy

torch.set_num_threads(1)

EXPERT = TicTacToeMinimaxExpert(policy="uniform")
TTT = make_tictactoe_game()
TTT_CONFIG = {"game": "tictactoe", "game_id": "mail/tictactoe-v0", "options": {}}


def grid_config(size: int) -> dict:
    return {
        "game": "gridworld",
        "game_id": "mail/gridworld-v0",
        "options": {"size": size, "policy_class": "linear"},
    }


@functools.cache
def neural_result() -> ImitationResult:
    problem = ImitationProblem("mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT))
    return make_algorithm(
        "bc",
        problem,
        budget=3,
        seed=0,
        bc=BCConfig(min_epochs=1, min_steps=1),
        device="cpu",
    ).run()


@functools.cache
def grid_problem() -> ImitationProblem:
    return GAME_SPECS["gridworld"].problem({"size": 3})


@functools.cache
def table_result() -> ImitationResult:
    return make_algorithm("bc", grid_problem(), budget=20, seed=0).run()


def ttt_batch(player: int) -> tuple[np.ndarray, np.ndarray]:
    """Every Tic-Tac-Toe state where ``player`` has a legal move."""
    masks = TTT.legal_masks[player]
    live = masks.sum(axis=1) > 0
    return TTT.all_observations(player)[live], masks[live]


def play_as_opponent(env: gymnasium.Env, steps: int = 6) -> int:
    """Play random legal moves against the env's opponent; return the moves made."""
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    made = 0
    for _ in range(steps):
        legal = np.flatnonzero(obs["action_mask"])
        obs, _, terminated, truncated, _ = env.step(int(rng.choice(legal)))
        made += 1
        if terminated or truncated:
            obs, _ = env.reset()
    return made


# ------------------------------------------------------------------ round trips


def test_neural_profile_round_trip_and_plays_as_opponent(tmp_path):
    result = neural_result()
    assert all(isinstance(p, TorchPolicy) for p in result.policies)
    files = save_profile(
        result.policies,
        tmp_path / "bc",
        agents=result.agents,
        game_config=TTT_CONFIG,
        metadata={"method": "bc", "seed": 0},
    )
    assert sorted(f.name for f in files) == sorted(
        [f"{a}.{ext}" for a in result.agents for ext in ("safetensors", "json")]
        + [PROFILE_FILE]
    )
    profile = json.loads((tmp_path / "bc" / PROFILE_FILE).read_text())
    assert profile["agents"] == list(result.agents)
    assert profile["game_config"] == TTT_CONFIG
    assert [e["kind"] for e in profile["policies"]] == ["head", "head"]
    loaded = load_profile(tmp_path / "bc", game_config=TTT_CONFIG)
    for player, (saved, back) in enumerate(zip(result.policies, loaded, strict=True)):
        assert isinstance(back, TorchPolicy) and back.mode == saved.mode == "greedy"
        obs, masks = ttt_batch(player)
        np.testing.assert_array_equal(back(obs, masks), saved(obs, masks))
        np.testing.assert_array_equal(back.logits(obs, masks), saved.logits(obs, masks))
    env = gymnasium.make(
        "mail_envs/TicTacToe-vs-expert-v0",
        controlled_agent=result.agents[0],
        opponent=load_opponent(tmp_path / "bc" / result.agents[1]),
    )
    assert play_as_opponent(env) == 6


def test_table_profile_round_trip_and_plays_as_opponent(tmp_path):
    result, problem = table_result(), grid_problem()
    game = problem.model
    assert game is not None
    assert all(isinstance(p, np.ndarray) for p in result.policies)
    save_profile(
        result.policies,
        tmp_path / "grid",
        agents=result.agents,
        game_config=grid_config(3),
        game=game,
    )
    loaded = load_profile(tmp_path / "grid", game_config=grid_config(3))
    for player, (table, back) in enumerate(zip(result.policies, loaded, strict=True)):
        assert isinstance(back, SavedTablePolicy)
        reference = TablePolicy(game, player, table)
        obs = game.all_observations(player)
        masks = game.legal_masks[player]
        np.testing.assert_array_equal(back(obs, masks), reference(obs, masks))
        np.testing.assert_array_equal(back.table, game.policy_table(player, table))
    env = gymnasium.make(
        "mail_envs/Gridworld-vs-expert-v0",
        size=3,
        controlled_agent=result.agents[0],
        opponent=loaded[1],
    )
    assert play_as_opponent(env, steps=8) == 8


def test_table_game_is_rebuilt_from_env_kwargs_or_a_table_policy(tmp_path):
    result, game = table_result(), grid_problem().model
    assert game is not None
    config = {**grid_config(3), "env_kwargs": {"size": 3}}
    save_profile(
        result.policies, tmp_path / "a", agents=result.agents, game_config=config
    )
    policies = [TablePolicy(game, i, t) for i, t in enumerate(result.policies)]
    save_profile(policies, tmp_path / "b", agents=result.agents, game_config=config)
    for a, b in zip(
        load_profile(tmp_path / "a"), load_profile(tmp_path / "b"), strict=True
    ):
        assert isinstance(a, SavedTablePolicy) and isinstance(b, SavedTablePolicy)
        np.testing.assert_array_equal(a.table, b.table)
    # Options the env does not take (the pipeline's policy_class) are left out.
    save_profile(
        result.policies,
        tmp_path / "c",
        agents=result.agents,
        game_config=grid_config(3),
    )
    document = json.loads((tmp_path / "c" / f"{result.agents[0]}.json").read_text())
    assert document["kind"] == "table" and document["env_kwargs"] == {"size": 3}
    for a, c in zip(
        load_profile(tmp_path / "a"), load_profile(tmp_path / "c"), strict=True
    ):
        np.testing.assert_array_equal(a.table, c.table)  # type: ignore[attr-defined]
    # No game and no game id: a clear error, nothing is saved.
    with pytest.raises(ValueError, match=r"needs its tabular game.*game=problem.model"):
        save_profile(
            result.policies, tmp_path / "e", agents=result.agents, game_config={"x": 1}
        )
    assert not (tmp_path / "e" / PROFILE_FILE).exists()
    # A table of another game's shape is refused.
    with pytest.raises(ValueError, match=r"shape .* belongs to another game"):
        save_profile(
            [np.full((4, 4), 0.25), uniform_policy],
            tmp_path / "d",
            agents=result.agents,
            game_config=config,
        )


def test_uniform_seat_round_trip(tmp_path):
    result = neural_result()
    save_profile(
        [result.policies[0], uniform_policy],
        tmp_path / "mixed",
        agents=result.agents,
        game_config=TTT_CONFIG,
    )
    first, second = load_profile(tmp_path / "mixed")
    assert second is uniform_policy
    obs, masks = ttt_batch(0)
    np.testing.assert_array_equal(first(obs, masks), result.policies[0](obs, masks))
    env = gymnasium.make(
        "mail_envs/TicTacToe-vs-expert-v0",
        controlled_agent=result.agents[0],
        opponent=load_opponent(tmp_path / "mixed" / f"{result.agents[1]}.json"),
    )
    assert play_as_opponent(env) == 6


def test_bare_head_loads_as_a_stochastic_policy(tmp_path):
    head = MLPPolicy((4,), 3, seed=0)
    save_profile([head, head], tmp_path, agents=["a", "b"], game_config={"game": "x"})
    policy = load_opponent(tmp_path / "a")
    assert isinstance(policy, TorchPolicy) and policy.mode == "stochastic"
    obs, masks = np.eye(4, dtype=np.float32), np.ones((4, 3), bool)
    np.testing.assert_array_equal(
        policy(obs, masks),
        TorchPolicy(head, mode="stochastic", device="cpu")(obs, masks),
    )


def _saved_grid_profile(folder):
    """The 3x3 Gridworld table profile, saved into ``folder``."""
    result = table_result()
    save_profile(
        result.policies,
        folder,
        agents=result.agents,
        game_config=grid_config(3),
        game=grid_problem().model,
    )
    return result


# ------------------------------------------------------- game configurations


def test_mismatched_game_config_is_refused_naming_both(tmp_path):
    result = _saved_grid_profile(tmp_path)
    with pytest.raises(ValueError, match=r"'size': 3.*'size': 5"):
        load_profile(tmp_path, game_config=grid_config(5))
    with pytest.raises(ValueError, match=r"'size': 3.*'size': 5"):
        load_opponent(tmp_path / result.agents[0], game_config=grid_config(5))
    with pytest.raises(ValueError, match="game_id='mail/gridworld-v0'"):
        load_opponent(tmp_path / result.agents[0], game_id="mail/chain-v0")
    # Tuples and lists are the same JSON: not a mismatch.
    assert len(load_profile(tmp_path, game_config=grid_config(3))) == 2


def test_save_policy_records_the_game_config(tmp_path):
    head = MLPPolicy((4,), 2, seed=0)
    config = {
        "game": "gridworld",
        "game_id": "mail/gridworld-v0",
        "options": {"size": 5},
    }
    save_policy(head, tmp_path / "h", game_config=config)
    document = json.loads((tmp_path / "h.json").read_text())
    assert (
        document["game_config"] == config and document["game_id"] == config["game_id"]
    )
    assert document["kind"] == "head"
    load_policy(tmp_path / "h", game_config=config)
    small = {**config, "options": {"size": 3}}
    with pytest.raises(
        ValueError, match=r"'size': 5.*expected game_config=.*'size': 3"
    ):
        load_policy(tmp_path / "h", game_config=small)
    with pytest.raises(ValueError, match="differs from game_config"):
        save_policy(head, tmp_path / "g", game_id="mail/chain-v0", game_config=config)


def test_files_without_kind_or_game_config_still_load(tmp_path):
    head = MLPPolicy((4,), 2, seed=0)
    save_policy(head, tmp_path / "old", game_id="mail/gridworld-v0")
    path = tmp_path / "old.json"
    document = json.loads(path.read_text())
    del document["kind"], document["game_config"]
    path.write_text(json.dumps(document))
    assert isinstance(load_policy(tmp_path / "old"), MLPPolicy)
    assert isinstance(load_opponent(tmp_path / "old"), TorchPolicy)
    with pytest.raises(ValueError, match="saved for game_config=None"):
        load_policy(tmp_path / "old", game_config={"game": "gridworld"})


# ------------------------------------------------------------------- failures


def test_load_policy_refuses_a_table_file(tmp_path):
    result = _saved_grid_profile(tmp_path)
    with pytest.raises(ValueError, match=r"'table' policy.*load_opponent"):
        load_policy(tmp_path / result.agents[0])


def test_corrupt_and_missing_files_give_clear_errors(tmp_path):
    result = neural_result()
    folder = tmp_path / "p"
    save_profile(result.policies, folder, agents=result.agents, game_config=TTT_CONFIG)
    weights = folder / f"{result.agents[0]}.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="do not match the config's checksum"):
        load_profile(folder)
    weights.unlink()
    with pytest.raises(FileNotFoundError, match=r"policy weights .* do not exist"):
        load_profile(folder)
    (folder / f"{result.agents[1]}.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_opponent(folder / result.agents[1])
    (folder / PROFILE_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=r"profile file .* does not exist"):
        load_profile(folder)
    (folder / PROFILE_FILE).write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="is not a 'mail-gym-profile' file"):
        load_profile(folder)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(TypeError, match=r"unknown policy type .*SwitchablePolicy"):
        from agents.deep.dagger import SwitchablePolicy

        save_profile(
            [SwitchablePolicy(uniform_policy)],
            tmp_path,
            agents=["player_0"],
            game_config=TTT_CONFIG,
        )
    with pytest.raises(ValueError, match="one policy per agent"):
        save_profile([uniform_policy], tmp_path, agents=["a", "b"], game_config={})
    with pytest.raises(ValueError, match="plain file names"):
        save_profile([uniform_policy], tmp_path, agents=["../a"], game_config={})
    with pytest.raises(ValueError, match="distinct"):
        save_profile([uniform_policy] * 2, tmp_path, agents=["a", "a"], game_config={})
    with pytest.raises(TypeError, match="game_config must be JSON-serializable"):
        save_profile(
            [uniform_policy], tmp_path, agents=["a"], game_config={"x": object()}
        )
