"""The tabular batch engine plays the tabular Parallel env's games, game by game.

Deterministic games (the grid world race and the chain game start in one state
and move deterministically) are replayed in ``TabularParallelEnv`` for seeded
random joint actions, some illegal, and the observations, masks, rewards,
terminations and truncations compared step by step across auto-resets.
"""

from __future__ import annotations

import numpy as np
import pytest

from mail_envs.batch import TabularBatch
from mail_envs.chain import make_chain_game
from mail_envs.gridworld import make_gridworld_game
from mail_envs.random_games import make_random_zero_sum_game
from mail_envs.tabular_env import TabularParallelEnv

GAMES = {"gridworld": make_gridworld_game, "chain": make_chain_game}


@pytest.mark.parametrize("name", sorted(GAMES))
@pytest.mark.parametrize("device", [None, "cpu"])
def test_tabular_batch_matches_the_parallel_env(name, device):
    game = GAMES[name]()
    n, steps = 16, 60
    batch = TabularBatch(game, n, max_cycles=7, seed=0, device=device)
    envs = [TabularParallelEnv(game, max_cycles=7) for _ in range(n)]
    env_obs = [env.reset(seed=0)[0] for env in envs]
    rng = np.random.default_rng(3)
    ended = 0

    def as_np(x):
        return x.numpy() if hasattr(x, "numpy") else np.asarray(x)

    for _ in range(steps):
        masks = [as_np(batch.action_mask(i)) for i in range(batch.num_players)]
        observations = [as_np(batch.observation(i)) for i in range(batch.num_players)]
        columns = []
        for i, mask in enumerate(masks):
            legal = (rng.random(mask.shape) * mask).argmax(axis=1)
            anything = rng.integers(0, game.num_actions[i], n)
            columns.append(np.where(rng.random(n) < 0.05, anything, legal))
        actions = np.stack(columns, axis=1)
        for g, env in enumerate(envs):
            for i, agent in enumerate(env.possible_agents):
                obs = env_obs[g][agent]
                np.testing.assert_array_equal(observations[i][g], obs["observation"])
                np.testing.assert_array_equal(masks[i][g], obs["action_mask"])
        out = batch.step(actions)
        rewards, terminated, truncated = (
            as_np(out.rewards),
            as_np(out.terminated),
            as_np(out.truncated),
        )
        for g, env in enumerate(envs):
            joint = {a: int(actions[g, i]) for i, a in enumerate(env.possible_agents)}
            env_obs[g], r, t, tr, _ = env.step(joint)
            for i, agent in enumerate(env.possible_agents):
                assert rewards[g, i] == pytest.approx(r[agent])
                assert terminated[g] == t[agent]
                assert truncated[g] == tr[agent]
            if terminated[g] or truncated[g]:
                env_obs[g] = env.reset()[0]
                ended += 1
    assert ended > n


def test_stochastic_games_are_seeded_per_game_and_stay_in_the_support():
    game = make_random_zero_sum_game()
    small = TabularBatch(game, 3, seed=5)
    large = TabularBatch(game, 50, seed=5)
    torch_batch = TabularBatch(game, 3, seed=5, device="cpu")
    for _ in range(30):
        before = small.states.copy()
        small.step(np.zeros((3, 2), dtype=np.int64))
        large.step(np.zeros((50, 2), dtype=np.int64))
        torch_batch.step(np.zeros((3, 2), dtype=np.int64))
        np.testing.assert_array_equal(small.states, large.states[:3])
        np.testing.assert_array_equal(small.states, torch_batch.states.numpy())
        fresh = small.steps == 0
        support = game.next_states[before, 0][~fresh]
        probs = game.next_probs[before, 0][~fresh]
        hit = support == small.states[~fresh][:, None]
        assert (hit & (probs > 0)).any(axis=1).all()


def test_bad_arguments_raise():
    game = make_chain_game()
    for bad in (0, -1, 2.5, "3", True, None):
        with pytest.raises(ValueError, match="num_games"):
            TabularBatch(game, bad)
    with pytest.raises(ValueError, match="max_cycles"):
        TabularBatch(game, 2, max_cycles=0)
    with pytest.raises(TypeError, match="game"):
        TabularBatch("chain", 2)
    batch = TabularBatch(game, 2, seed=0)
    with pytest.raises(ValueError, match="game 1"):
        batch.step(np.array([[0, 0], [0, 5]]))
    with pytest.raises(ValueError, match="integer array"):
        batch.step(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="player"):
        batch.observation(2)
