"""Tests of the action-masked SB3 DQN (agents/masked_dqn.py)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.logger import configure

from agents.deep.masked_dqn import (
    MASKED_Q_VALUE,
    MaskedDQN,
    MaskedQNetwork,
    mask_q_values,
    sample_legal_actions,
)

NUM_ACTIONS = 6


class RandomMaskEnv(gymnasium.Env):
    """Each step draws a fresh random legal set; an illegal action raises."""

    def __init__(self, episode_length: int = 5) -> None:
        self.observation_space = spaces.Dict(
            {
                "observation": spaces.Box(0.0, 1.0, (NUM_ACTIONS,), np.float32),
                "action_mask": spaces.Box(0, 1, (NUM_ACTIONS,), np.int8),
            }
        )
        self.action_space = spaces.Discrete(NUM_ACTIONS)
        self.episode_length = episode_length
        self.actions: list[int] = []

    def _draw(self) -> dict[str, np.ndarray]:
        mask = self.np_random.random(NUM_ACTIONS) < 0.3
        mask[self.np_random.integers(NUM_ACTIONS)] = True
        self.mask = mask
        return {
            "observation": mask.astype(np.float32),
            "action_mask": mask.astype(np.int8),
        }

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._draw(), {}

    def step(self, action):
        action = int(action)
        if not self.mask[action]:
            raise ValueError(
                f"illegal action {action}, legal {np.flatnonzero(self.mask)}"
            )
        self.actions.append(action)
        self.t += 1
        # Reward for the highest legal index: greedy play is learnable.
        reward = float(action == np.flatnonzero(self.mask).max())
        return self._draw(), reward, self.t >= self.episode_length, False, {}


def test_mask_q_values_and_sampler():
    q = th.tensor([[1.0, 5.0, 3.0], [0.0, 0.0, 0.0]])
    masked = mask_q_values(q, th.tensor([[1, 0, 1], [0, 0, 0]]))
    assert masked[0].tolist() == [1.0, MASKED_Q_VALUE, 3.0]
    # An all-illegal (terminal) row stays finite so that (1 - done) * max is 0.
    assert th.isfinite(masked).all() and (0.0 * masked.max(dim=1).values == 0).all()

    rng = np.random.default_rng(0)
    masks = np.array([[1, 0, 1, 0, 1, 0]] * 30_000)
    draws = sample_legal_actions(masks, rng)
    counts = np.bincount(draws, minlength=NUM_ACTIONS)
    assert counts[[1, 3, 5]].sum() == 0
    # Uniform over the 3 legal actions: each count ~ 10,000 (sd ~ 82).
    assert np.all(np.abs(counts[[0, 2, 4]] - 10_000) < 500)
    with pytest.raises(ValueError, match="row 1"):
        sample_legal_actions(np.array([[1, 0], [0, 0]]), rng)


def test_never_illegal_during_learning_and_prediction():
    env = RandomMaskEnv()
    model = MaskedDQN(
        env=env,
        learning_starts=300,  # 300 warm-up (random) steps
        exploration_fraction=0.5,
        exploration_final_eps=0.3,
        train_freq=1,
        target_update_interval=100,
        policy_kwargs={"net_arch": [32]},
        seed=0,
        device="cpu",
    )
    model.learn(3_000)  # RandomMaskEnv raises on any illegal action
    assert len(env.actions) == 3_000
    eval_env = RandomMaskEnv()
    eval_env.reset(seed=1)
    batch = [eval_env._draw() for _ in range(500)]
    obs = {k: np.stack([b[k] for b in batch]) for k in batch[0]}
    for deterministic in (True, False):
        actions, _ = model.predict(obs, deterministic=deterministic)
        assert actions.shape == (500,)
        assert obs["action_mask"][np.arange(500), actions].all()
    single, _ = model.predict(batch[0], deterministic=False)
    assert np.ndim(single) == 0 and batch[0]["action_mask"][int(single)] == 1
    # Greedy play learned the reward: the highest legal index most of the time.
    greedy, _ = model.predict(obs, deterministic=True)
    best = NUM_ACTIONS - 1 - np.argmax(obs["action_mask"][:, ::-1], axis=1)
    assert np.mean(greedy == best) > 0.9


def test_exploration_is_uniform_over_legal_actions():
    model = MaskedDQN(env=RandomMaskEnv(), seed=0, device="cpu")
    model.exploration_rate = 1.0
    mask = np.array([0, 1, 1, 0, 0, 1], dtype=np.int8)
    obs = {
        "observation": np.tile(mask.astype(np.float32), (6_000, 1)),
        "action_mask": np.tile(mask, (6_000, 1)),
    }
    actions, _ = model.predict(obs, deterministic=False)
    counts = np.bincount(actions, minlength=NUM_ACTIONS)
    assert counts[[0, 3, 4]].sum() == 0
    assert np.all(np.abs(counts[[1, 2, 5]] - 2_000) < 200)


def test_td_target_maxes_over_legal_actions_only():
    model = MaskedDQN(
        env=RandomMaskEnv(),
        learning_rate=0.0,
        gamma=0.9,
        seed=0,
        device="cpu",
        batch_size=4,
    )
    model.set_logger(configure(None, []))
    for net in (model.q_net, model.q_net_target):
        assert isinstance(net, MaskedQNetwork)
        last = net.q_net[-1]
        with th.no_grad():
            last.weight.zero_()
            last.bias.copy_(th.tensor([0.0, 100.0, 100.0, 100.0, 100.0, 100.0]))
    # Transitions from and to states where only action 0 is legal, reward 0.
    only0 = np.array([1, 0, 0, 0, 0, 0], dtype=np.int8)
    obs = {"observation": only0.astype(np.float32)[None], "action_mask": only0[None]}
    for _ in range(8):
        model.replay_buffer.add(
            obs, obs, np.array([[0]]), np.array([0.0]), np.array([False]), [{}]
        )
    model.train(gradient_steps=1, batch_size=4)
    # Masked: target = 0 + 0.9 * max_legal Q = 0 = Q(s, 0). Unmasked it would be 90.
    assert model.logger.name_to_value["train/loss"] == 0.0
    q_target = model.q_net_target(model.policy.obs_to_tensor(obs)[0])
    assert q_target.max(dim=1).values.item() == 0.0


def test_penultimate_features_give_the_q_values():
    model = MaskedDQN(
        env=RandomMaskEnv(), seed=0, device="cpu", policy_kwargs={"net_arch": [16, 8]}
    )
    env = RandomMaskEnv()
    env.reset(seed=0)
    batch = [env._draw() for _ in range(20)]
    obs_np = {k: np.stack([b[k] for b in batch]) for k in batch[0]}
    obs = model.policy.obs_to_tensor(obs_np)[0]
    with th.no_grad():
        h = model.q_net.penultimate_features(obs)
        q = model.q_net(obs)
        last = model.q_net.q_net[-1]
        manual = h @ last.weight.T + last.bias
    assert h.shape == (20, 8)
    legal = th.as_tensor(obs_np["action_mask"] == 1)
    assert th.allclose(q[legal], manual[legal], atol=1e-6)
    assert (q[~legal] == MASKED_Q_VALUE).all()


def test_seeded_runs_are_reproducible():
    def run() -> list[int]:
        env = RandomMaskEnv()
        model = MaskedDQN(
            env=env,
            learning_starts=50,
            seed=3,
            device="cpu",
            policy_kwargs={"net_arch": [8]},
        )
        model.learn(200)
        return env.actions

    assert run() == run()


def test_rejects_observations_without_a_mask():
    env = RandomMaskEnv()
    env.observation_space = spaces.Dict(
        {"observation": env.observation_space["observation"]}
    )
    with pytest.raises(ValueError, match="action_mask"):
        MaskedDQN(env=env, device="cpu")
    flat = RandomMaskEnv()
    flat.observation_space = spaces.Box(0.0, 1.0, (NUM_ACTIONS,), np.float32)
    with pytest.raises(ValueError, match="Dict observation space"):
        MaskedDQN(env=flat, device="cpu")
    model = MaskedDQN(env=RandomMaskEnv(), device="cpu")
    with pytest.raises(ValueError, match="action_mask"):
        model.predict(np.zeros(NUM_ACTIONS, np.float32))


def test_action_bonus_adds_optimism_to_greedy_choices_only_among_legal_actions():
    model = MaskedDQN(env=RandomMaskEnv(), seed=0, device="cpu")
    mask = np.array([[1, 0, 1, 0, 1, 1]] * 4, dtype=np.int8)
    obs = {"observation": mask.astype(np.float32), "action_mask": mask}

    def bonus(batch):
        out = np.zeros((len(batch["action_mask"]), NUM_ACTIONS))
        out[:, 1] = 1e12  # illegal: must never win
        out[:, 4] = 1e6  # legal: dominates any Q-value
        return out

    model.action_bonus = bonus
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.tolist() == [4, 4, 4, 4]
    single, _ = model.predict({k: v[0] for k, v in obs.items()}, deterministic=True)
    assert int(single) == 4
    model.action_bonus = lambda batch: np.zeros((1, 2))
    with pytest.raises(ValueError, match="action_bonus returned shape"):
        model.predict(obs, deterministic=True)


def test_save_load_roundtrip(tmp_path):
    model = MaskedDQN(
        env=RandomMaskEnv(), seed=0, device="cpu", policy_kwargs={"net_arch": [8]}
    )
    model.action_bonus = lambda batch: np.zeros(
        (len(batch["action_mask"]), NUM_ACTIONS)
    )
    model.save(tmp_path / "dqn.zip")
    loaded = MaskedDQN.load(tmp_path / "dqn.zip", device="cpu")
    assert isinstance(loaded.q_net, MaskedQNetwork) and loaded.action_bonus is None
    env = RandomMaskEnv()
    env.reset(seed=2)
    batch = [env._draw() for _ in range(50)]
    obs = {k: np.stack([b[k] for b in batch]) for k in batch[0]}
    np.testing.assert_array_equal(
        model.predict(obs, deterministic=True)[0],
        loaded.predict(obs, deterministic=True)[0],
    )


def test_rejects_an_unmasked_policy_class():
    from stable_baselines3.dqn.policies import MultiInputPolicy

    with pytest.raises(TypeError, match="MaskedDQNPolicy"):
        MaskedDQN(MultiInputPolicy, env=RandomMaskEnv(), device="cpu")
