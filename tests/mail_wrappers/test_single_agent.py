"""Tests of the Gymnasium single-agent views and their registration."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import mail_envs
from mail_envs.registration import GYMNASIUM_ENVS, register_gymnasium_envs
from mail_wrappers.frozen_opponent import FrozenOpponentWrapper
from mail_wrappers.table_policy import TablePolicy

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

IDS = [env_id for env_id, _ in GYMNASIUM_ENVS]


def test_ids_are_registered_with_string_entry_points():
    assert IDS == [
        "mail_envs/TicTacToe-vs-expert-v0",
        "mail_envs/Connect4-vs-expert-v0",
        "mail_envs/Gridworld-vs-expert-v0",
        "mail_envs/Chain-vs-expert-v0",
    ]
    for env_id, entry_point in GYMNASIUM_ENVS:
        assert gym.spec(env_id).entry_point == entry_point
        assert entry_point.startswith("mail_wrappers.single_agent:")
    register_gymnasium_envs()  # idempotent


def test_importing_mail_envs_imports_neither_wrappers_nor_agents():
    code = (
        "import sys, mail_envs, gymnasium;"
        "assert 'mail_envs/TicTacToe-vs-expert-v0' in gymnasium.registry;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('mail_wrappers', 'agents')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("env_id", IDS)
def test_make_and_check_env(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert isinstance(env.unwrapped, FrozenOpponentWrapper)
    mask = env.unwrapped.action_masks()
    obs, reward, _term, _trunc, _info = env.step(int(np.flatnonzero(mask)[0]))
    assert isinstance(reward, float)


def test_module_prefixed_id_and_keyword_overrides():
    env = gym.make(
        "mail_envs:mail_envs/TicTacToe-vs-expert-v0",
        controlled_agent="player_2",
        flatten_observation=True,
    )
    obs, info = env.reset(seed=0)
    assert obs.shape == (3, 3, 2)
    assert obs[..., 1].sum() == 1  # the expert opened
    assert info["action_mask"].sum() == 8
    assert env.unwrapped.controlled_agent == "player_2"


def test_gridworld_keywords_reach_the_game():
    env = gym.make(
        "mail_envs/Gridworld-vs-expert-v0", gamma=0.8, controlled_agent="player_1"
    )
    assert env.unwrapped.env.unwrapped.game.gamma == 0.8
    assert env.observation_space["observation"].shape == (9 * 8,)


def test_make_vec():
    venv = gym.make_vec("mail_envs/TicTacToe-vs-expert-v0", num_envs=3)
    obs, _ = venv.reset(seed=0)
    assert obs["observation"].shape == (3, 3, 3, 2)
    for _ in range(12):
        masks = obs["action_mask"].astype(bool)
        actions = np.argmax(masks, axis=1)
        obs, rewards, _terms, _truncs, _infos = venv.step(actions)
        assert rewards.shape == (3,)
    venv.close()


def test_tictactoe_expert_is_never_beaten():
    rng = np.random.default_rng(0)
    for seat in ("player_1", "player_2"):
        env = gym.make("mail_envs/TicTacToe-vs-expert-v0", controlled_agent=seat)
        returns = []
        for episode in range(25):
            obs, _ = env.reset(seed=episode)
            done, total = False, 0.0
            while not done:
                legal = np.flatnonzero(obs["action_mask"])
                obs, reward, term, trunc, _ = env.step(int(rng.choice(legal)))
                total += reward
                done = term or trunc
            returns.append(total)
        assert max(returns) <= 0.0
        assert min(returns) == -1.0  # a random player loses sometimes


def test_gridworld_opponent_is_the_solver_equilibrium():
    from mail_envs.solvers import solve_zero_sum

    env = gym.make("mail_envs/Gridworld-vs-expert-v0", controlled_agent="player_1")
    opponent = env.unwrapped._policies["player_0"]
    assert isinstance(opponent, TablePolicy)
    game = env.unwrapped.env.unwrapped.game
    np.testing.assert_allclose(
        opponent.table, game.policy_table(0, solve_zero_sum(game).policies[0])
    )
    obs, info = env.reset(seed=1)
    _, _, _, _, info = env.step(0)
    np.testing.assert_allclose(
        info["opponent_probs"]["player_0"][0],
        opponent.table[np.argmax(obs["observation"])],
    )


def test_chain_guard_plays_the_safe_action_at_the_gate():
    from mail_envs.chain import chain_layout

    env = gym.make("mail_envs/Chain-vs-expert-v0", length=2, num_actions=3, game_seed=3)
    game = env.unwrapped.env.unwrapped.game
    layout = chain_layout(length=2, num_actions=3, seed=3)
    guard = env.unwrapped._policies["player_0"]
    gate = np.array([layout.gate])
    probs = guard(game.observe(0, gate), game.legal_masks[0][gate])
    np.testing.assert_array_equal(probs[0], np.eye(3)[layout.guard_action])


def test_mail_envs_version_is_exposed():
    assert isinstance(mail_envs.__version__, str)


def test_both_board_views_name_the_expert_option_the_same():
    from mail_wrappers.single_agent import (
        make_connect4_vs_expert,
        make_tictactoe_vs_expert,
    )

    for make in (make_tictactoe_vs_expert, make_connect4_vs_expert):
        env = make(expert_policy="deterministic")
        assert env.reset(seed=0)[0]["action_mask"].any()


def test_connect4_expert_mode_is_a_deprecated_alias():
    import pytest

    from mail_wrappers.single_agent import make_connect4_vs_expert

    with pytest.warns(DeprecationWarning, match="expert_policy"):
        make_connect4_vs_expert(expert_mode="deterministic")
    with pytest.raises(ValueError, match="not both"):
        make_connect4_vs_expert(expert_policy="deterministic", expert_mode="uniform")
