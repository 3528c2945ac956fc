"""Drop-in tests: the wrappers under SB3, sb3-contrib and SuperSuit (tiny budgets)."""

from __future__ import annotations

import numpy as np
import pytest
import supersuit as ss
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

from mail_wrappers.elliptical_reward import EllipticalBonusReward, EllipticalBonusVecEnv
from mail_wrappers.expert_query import ParallelExpertQueryWrapper
from mail_wrappers.frozen_opponent import FrozenOpponentWrapper

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

tictactoe = pytest.importorskip("mail_envs.tictactoe")
gridworld = pytest.importorskip("mail_envs.gridworld")


class RecordRewards(BaseCallback):
    """Keeps every step's rewards and infos as SB3 saw them."""

    def __init__(self) -> None:
        super().__init__()
        self.rewards: list[np.ndarray] = []
        self.infos: list[dict] = []

    def _on_step(self) -> bool:
        self.rewards.append(np.array(self.locals["rewards"]))
        self.infos.extend(self.locals["infos"])
        return True


def _flat_tictactoe():
    return FrozenOpponentWrapper(
        tictactoe.env(), "player_1", "uniform", flatten_observation=True
    )


def test_dqn_with_the_vec_bonus_on_the_flattened_view():
    torch.manual_seed(0)
    venv = EllipticalBonusVecEnv(
        make_vec_env(_flat_tictactoe, n_envs=2, seed=0), beta=0.5
    )
    model = DQN(
        "MlpPolicy", venv, learning_starts=50, buffer_size=500, train_freq=4, seed=0
    )
    callback = RecordRewards()
    model.learn(total_timesteps=320, callback=callback)
    assert model.num_timesteps == 320
    assert model.replay_buffer.size() == 160  # rows of 2 envs: 160 steps each
    rewards = np.concatenate(callback.rewards)
    bonuses = np.array([info["bonus"] for info in callback.infos])
    # the bonus replaced the game's reward (which is 0 or -1/+1, never positive
    # non-integer), and it shrinks as Lambda fills
    np.testing.assert_allclose(rewards, bonuses, rtol=1e-6)
    assert np.all(bonuses > 0)
    assert bonuses[-20:].mean() < bonuses[:20].mean()
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (2,) and np.all((action >= 0) & (action < 9))


def test_ppo_with_the_gym_bonus_in_add_mode():
    def make():
        return EllipticalBonusReward(_flat_tictactoe(), reward_mode="add", beta=0.1)

    venv = make_vec_env(make, n_envs=2, seed=1)
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=1)
    callback = RecordRewards()
    model.learn(total_timesteps=256, callback=callback)
    assert model.num_timesteps == 256
    rewards = np.concatenate(callback.rewards)
    bonuses = np.array([info["bonus"] for info in callback.infos])
    game_rewards = rewards - bonuses
    # what is left after removing the bonus is a Tic-Tac-Toe reward
    np.testing.assert_allclose(game_rewards, np.round(game_rewards), atol=1e-6)
    assert set(np.round(game_rewards).tolist()) <= {-1.0, 0.0, 1.0}
    assert np.all(bonuses > 0)


def test_maskable_ppo_on_the_dict_view_never_plays_illegal_moves():
    def make():
        return FrozenOpponentWrapper(tictactoe.env(), "player_2", "uniform")

    venv = make_vec_env(make, n_envs=2, seed=2)
    model = MaskablePPO(
        "MultiInputPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=2
    )
    callback = RecordRewards()
    model.learn(total_timesteps=256, callback=callback)
    assert model.num_timesteps == 256
    # an illegal move would end the game with the classic -1 and the flag
    assert not any(info.get("illegal_action") for info in callback.infos)
    env = make()
    for episode in range(10):
        obs, _ = env.reset(seed=100 + episode)
        done = False
        while not done:
            mask = env.action_masks()
            action, _ = model.predict(obs, action_masks=mask, deterministic=True)
            assert mask[int(action)]
            obs, _, term, trunc, _ = env.step(int(action))
            done = term or trunc


def test_supersuit_vector_env_over_a_labelled_parallel_env():
    def expert(obs, masks):
        return masks / masks.sum(axis=1, keepdims=True)

    env = ParallelExpertQueryWrapper(gridworld.parallel_env(size=3), expert, seed=0)
    venv = ss.pettingzoo_env_to_vec_env_v1(env)
    venv = ss.concat_vec_envs_v1(venv, 2, num_cpus=0, base_class="stable_baselines3")
    assert venv.num_envs == 4  # 2 copies x 2 agents
    venv = EllipticalBonusVecEnv(venv, beta=1.0)
    obs = venv.reset()
    assert obs["observation"].shape == (4, 72)  # one-hot states of the 3x3 race
    rng = np.random.default_rng(0)
    steps = 0
    for _ in range(60):
        actions = rng.integers(4, size=4)
        _obs, rewards, _dones, infos = venv.step(actions)
        steps += 1
        np.testing.assert_allclose(rewards, [i["bonus"] for i in infos], rtol=1e-6)
        for info in infos:
            assert np.isclose(info["expert_probs"].sum(), 1.0)
    assert steps == 60
    assert venv.bonus.num_updates == 240
