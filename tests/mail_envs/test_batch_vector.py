"""The Gymnasium VectorEnv of the single-agent views plays the single-agent envs' games.

Every game of a ``gym.make_vec(..., vectorization_mode="vector_entry_point")``
batch is replayed in its own single-agent env (``FrozenOpponentWrapper`` on the
PettingZoo env, :mod:`mail_wrappers.single_agent`) with the same deterministic
opponent, and observations, masks, rewards and flags are compared step by step
across Gymnasium's NEXT_STEP auto-reset.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from pettingzoo.utils.env_logger import EnvLogger

import mail_envs
from mail_envs.batch.vector import BoardGameVectorEnv
from mail_wrappers.single_agent import make_connect4_vs_expert, make_tictactoe_vs_expert

IDS = {
    "tictactoe": "mail_envs/TicTacToe-vs-expert-v0",
    "connect4": "mail_envs/Connect4-vs-expert-v0",
}


def first_legal(observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
    """A deterministic batched policy: the lowest legal action."""
    masks = np.asarray(action_masks, dtype=bool)
    probs = np.zeros(masks.shape)
    probs[np.arange(len(masks)), masks.argmax(axis=1)] = 1.0
    return probs


@pytest.fixture(autouse=True)
def _quiet():
    EnvLogger.suppress_output()
    yield
    EnvLogger.unsuppress_output()


def _singles(game: str, agent: str, n: int) -> list:
    if game == "tictactoe":
        return [
            make_tictactoe_vs_expert(
                controlled_agent=agent, expert_policy="deterministic"
            )
            for _ in range(n)
        ]
    return [
        make_connect4_vs_expert(controlled_agent=agent, opponent=first_legal)
        for _ in range(n)
    ]


@pytest.mark.parametrize(
    ("game", "agent"),
    [
        ("tictactoe", "player_1"),
        ("tictactoe", "player_2"),
        ("connect4", "player_0"),
        ("connect4", "player_1"),
    ],
)
def test_vector_env_matches_single_agent_envs_game_by_game(game, agent):
    n = 12
    kwargs = (
        {"expert_policy": "deterministic"}
        if game == "tictactoe"
        else {"opponent": first_legal}
    )
    vec = gym.make_vec(
        IDS[game],
        num_envs=n,
        vectorization_mode="vector_entry_point",
        controlled_agent=agent,
        **kwargs,
    )
    assert vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    singles = _singles(game, agent, n)
    obs, _ = vec.reset(seed=0)
    assert vec.observation_space.contains(obs)
    single_obs = [env.reset(seed=0)[0] for env in singles]
    pending = np.zeros(n, dtype=bool)
    rng = np.random.default_rng(5)
    endings = 0
    for _ in range(60):
        for g in range(n):
            np.testing.assert_array_equal(
                obs["observation"][g], single_obs[g]["observation"]
            )
            if not pending[g]:
                np.testing.assert_array_equal(
                    obs["action_mask"][g], single_obs[g]["action_mask"]
                )
        masks = obs["action_mask"].astype(bool)
        legal = (rng.random(masks.shape) * masks).argmax(axis=1)
        anything = rng.integers(0, masks.shape[1], n)
        actions = np.where(rng.random(n) < 0.05, anything, legal)
        obs, rewards, terminated, truncated, _ = vec.step(actions)
        assert vec.observation_space.contains(obs)
        for g, env in enumerate(singles):
            if pending[g]:
                single_obs[g], _ = env.reset()
                assert (rewards[g], terminated[g], truncated[g]) == (0, False, False)
                continue
            single_obs[g], r, t, tr, _ = env.step(int(actions[g]))
            assert (rewards[g], terminated[g], truncated[g]) == (r, t, tr)
        pending = terminated | truncated
        endings += int(pending.sum())
    assert endings > n


def test_seeded_games_do_not_depend_on_the_batch_size():
    def run(num_envs: int, device=None):
        envs = BoardGameVectorEnv(
            mail_envs.batch.TicTacToeBatch,
            num_envs,
            controlled_agent="player_2",
            opponent="uniform",
            device=device,
        )
        obs, _ = envs.reset(seed=42)
        frames = [np.asarray(obs["observation"][:3])]
        for step in range(12):
            actions = np.full(num_envs, step % 9)
            obs, *_ = envs.step(actions)
            planes = obs["observation"]
            frames.append(planes[:3].numpy() if device else planes[:3])
        return np.stack(frames)

    small = run(3)
    np.testing.assert_array_equal(small, run(40))
    np.testing.assert_array_equal(small, run(3, device="cpu"))


def test_flatten_observation_puts_the_mask_in_info():
    vec = gym.make_vec(
        IDS["tictactoe"],
        num_envs=2,
        vectorization_mode="vector_entry_point",
        flatten_observation=True,
    )
    obs, info = vec.reset(seed=0)
    assert obs.shape == (2, 3, 3, 2) and obs.dtype == np.int8
    assert info["action_mask"].tolist() == [[1] * 9, [1] * 9]
    assert vec.single_observation_space.shape == (3, 3, 2)


def test_default_connect4_opponent_is_the_solver_expert():
    vec = gym.make_vec(
        IDS["connect4"],
        num_envs=2,
        vectorization_mode="vector_entry_point",
        controlled_agent="player_1",
        expert_policy="deterministic",
    )
    obs, _ = vec.reset(seed=0)
    # The solver opens in the centre column (row 5 is the bottom, seen as plane 1).
    assert obs["observation"][:, 5, 3, 1].tolist() == [1, 1]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="controlled_agent"):
        gym.make_vec(
            IDS["tictactoe"],
            num_envs=2,
            controlled_agent="player_0",
            vectorization_mode="vector_entry_point",
        )
    with pytest.raises(ValueError, match="render"):
        gym.make_vec(
            IDS["tictactoe"],
            num_envs=2,
            render_mode="human",
            vectorization_mode="vector_entry_point",
        )
    vec = gym.make_vec(
        IDS["tictactoe"], num_envs=2, vectorization_mode="vector_entry_point"
    )
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="game 1"):
        vec.step(np.array([0, 9]))
    for bad in (0, -1, 2.5, "3", True, None):
        with pytest.raises(ValueError, match="num_envs"):
            BoardGameVectorEnv(
                mail_envs.batch.TicTacToeBatch, bad, controlled_agent="player_1"
            )
    for bad in (-1, 2.5, "3", True):
        with pytest.raises(ValueError, match="seed"):
            BoardGameVectorEnv(
                mail_envs.batch.TicTacToeBatch, 2, controlled_agent="player_1", seed=bad
            )
    with pytest.raises(TypeError, match="opponent"):
        BoardGameVectorEnv(
            mail_envs.batch.TicTacToeBatch, 2, controlled_agent="player_1", opponent=3
        )


def test_torch_device_returns_tensors():
    vec = gym.make_vec(
        IDS["tictactoe"],
        num_envs=4,
        vectorization_mode="vector_entry_point",
        device="cpu",
    )
    obs, _ = vec.reset(seed=0)
    assert isinstance(obs["observation"], torch.Tensor)
    obs, rewards, terminated, _, _ = vec.step(torch.zeros(4, dtype=torch.int64))
    assert rewards.dtype == torch.float64 and terminated.dtype == torch.bool


def test_same_step_autoreset_moves_the_final_observation_to_info():
    from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

    envs = gym.make_vec(
        IDS["tictactoe"],
        num_envs=2,
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
        expert_policy="deterministic",
    )
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    expert = TicTacToeMinimaxExpert(policy="deterministic")
    obs, _ = envs.reset(seed=0)
    for _ in range(5):  # X's five moves against the expert: a draw
        action = expert(obs["observation"], obs["action_mask"]).argmax(axis=1)
        obs, reward, terminated, _, info = envs.step(action)
    assert terminated.tolist() == [True, True] and reward.tolist() == [0.0, 0.0]
    assert obs["action_mask"].all()  # already the new game
    assert info["_final_obs"].tolist() == [True, True]
    final = info["final_obs"][0]
    assert not final["action_mask"].any()
    assert final["observation"].sum() == 9  # the full board


def test_same_step_games_restart_with_fresh_boards():
    envs = BoardGameVectorEnv(
        mail_envs.batch.Connect4Batch,
        32,
        controlled_agent="player_1",
        opponent=first_legal,
        autoreset_mode="SameStep",
    )
    obs, _ = envs.reset(seed=0)
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(40):
        masks = obs["action_mask"].astype(bool)
        actions = (rng.random(masks.shape) * masks).argmax(axis=1)
        obs, _, terminated, truncated, info = envs.step(actions)
        done = terminated | truncated
        assert masks.any(axis=1).all()  # every returned observation is playable
        for g in np.flatnonzero(done):
            assert obs["observation"][g].sum() == 1  # the opponent's opening
            assert not info["final_obs"][g]["action_mask"].any()
        finished += int(done.sum())
    assert finished > 0
    with pytest.raises(ValueError, match="autoreset_mode"):
        BoardGameVectorEnv(
            mail_envs.batch.TicTacToeBatch,
            2,
            controlled_agent="player_1",
            autoreset_mode=AutoresetMode.DISABLED,
        )
