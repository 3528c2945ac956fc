"""The Gymnasium ids render ``rgb_array``: SB3's ``make_vec_env`` and video work."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_util import make_vec_env

import mail_envs  # noqa: F401 - registers the mail_envs/ ids

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

IDS = sorted(k for k in gym.registry if k.startswith("mail_envs/"))


def _assert_picture(frame: object) -> None:
    assert isinstance(frame, np.ndarray)
    assert frame.dtype == np.uint8
    assert frame.ndim == 3 and frame.shape[2] == 3


def test_every_id_is_covered() -> None:
    assert len(IDS) >= 4


@pytest.mark.parametrize("env_id", IDS)
def test_rgb_array_after_reset_and_a_step(env_id: str) -> None:
    env = gym.make(env_id, render_mode="rgb_array")
    assert env.render_mode == "rgb_array"
    assert "rgb_array" in env.metadata["render_modes"]
    assert env.metadata["render_fps"] > 0
    env.reset(seed=0)
    _assert_picture(env.render())
    mask = env.unwrapped.action_masks()
    env.step(int(np.flatnonzero(mask)[0]))
    _assert_picture(env.render())
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_make_vec_env(env_id: str) -> None:
    # make_vec_env asks gym.make for render_mode="rgb_array" first.
    venv = make_vec_env(env_id, n_envs=4, seed=0)
    try:
        assert venv.render_mode == "rgb_array"
        venv.reset()
        masks = np.stack(venv.env_method("action_masks"))
        rng = np.random.default_rng(0)
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        venv.step(actions)
        frames = venv.get_images()
        assert len(frames) == 4
        for frame in frames:
            _assert_picture(frame)
    finally:
        venv.close()


def test_record_video(tmp_path) -> None:
    pytest.importorskip("moviepy")
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(
        gym.make("mail_envs/TicTacToe-vs-expert-v0", render_mode="rgb_array"),
        video_folder=str(tmp_path),
        episode_trigger=lambda _: True,
        disable_logger=True,
    )
    env.reset(seed=0)
    done = False
    while not done:
        mask = env.unwrapped.action_masks()
        _, _, terminated, truncated, _ = env.step(int(np.flatnonzero(mask)[0]))
        done = terminated or truncated
    env.close()
    assert list(tmp_path.glob("*.mp4"))
