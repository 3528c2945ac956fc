"""The Gridworld's image observation (figure 2a): env API, model images, published setup."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test

from mail_envs import gridworld
from mail_envs.gridworld import (
    PUBLISHED_STARTS,
    gridworld_image_observations,
    gridworld_layout,
    make_gridworld_game,
    published_starts,
)
from mail_envs.rendering import gridworld_image, gridworld_images

FIG2A = {"size": 5, "starts": ((3, 0), (4, 1)), "observation": "image"}


def test_published_starts_match_the_public_code() -> None:
    # linear_mail_experiments.py (3x3) and dqnexplore_vs_deepunif.py (5x5).
    assert published_starts(3) == PUBLISHED_STARTS
    assert published_starts(5) == ((3, 0), (4, 1))
    with pytest.raises(ValueError, match="size must be an integer >= 3, got 2"):
        published_starts(2)


def test_image_env_passes_the_pettingzoo_api_tests() -> None:
    kwargs = {**FIG2A, "max_cycles": 16}
    api_test(gridworld.env(**kwargs), num_cycles=40)
    parallel_api_test(gridworld.parallel_env(**kwargs), num_cycles=40)


def test_env_image_of_every_visited_state_is_the_models() -> None:
    env = gridworld.parallel_env(**FIG2A, max_cycles=16)
    game = env.game
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    seen = set()
    for _ in range(200):
        state = env.state_index
        seen.add(state)
        for i, agent in enumerate(env.possible_agents):
            np.testing.assert_array_equal(
                obs[agent]["observation"], game.observe(i, state)
            )
        actions = {a: int(rng.integers(4)) for a in env.agents}
        obs, *_ = env.step(actions)
        if not env.agents:
            obs, _ = env.reset()
    assert len(seen) > 20
    assert env.observation_space("player_0")["observation"].shape == (32, 32, 3)


def test_model_images_are_the_rendered_pictures_of_the_states() -> None:
    layout = gridworld_layout(5, starts=published_starts(5))
    images = gridworld_image_observations(layout)
    assert images.shape == (600, 32, 32, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    # Distinct states, distinct pictures; the same state, the same picture.
    assert len(np.unique(images.reshape(600, -1), axis=0)) == 600
    np.testing.assert_array_equal(images, gridworld_image_observations(layout))
    for state in (0, layout.start_state, 599):
        picture = gridworld_image(5, layout.goal, layout.decode(state), cell_px=6)
        np.testing.assert_array_equal(images[state], picture / np.float32(255.0))
    game = make_gridworld_game(**FIG2A)
    np.testing.assert_array_equal(game.all_observations(0), images)
    np.testing.assert_array_equal(game.all_observations(1), images)


def test_a_player_on_the_goal_keeps_the_goal_square_under_it() -> None:
    pictures = gridworld_images(3, (0, 2), np.array([[[0, 2], [1, 1]]]), cell_px=8)
    picture = gridworld_image(3, (0, 2), [(0, 2), (1, 1)], cell_px=8)
    np.testing.assert_array_equal(pictures[0], picture)
    with pytest.raises(ValueError, match=r"\(B, n, 2\) integer array"):
        gridworld_images(3, (0, 2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="on the 3x3 grid"):
        gridworld_images(3, (0, 2), np.array([[[0, 3], [1, 1]]]))


def test_default_observation_is_unchanged_and_unknown_ones_are_refused() -> None:
    game = make_gridworld_game(5)
    assert game.observations is None
    assert game.observation_shape(0) == (600,)
    with pytest.raises(ValueError, match=r"observation must be one of .* got 'rgb'"):
        make_gridworld_game(3, observation="rgb")


def test_image_game_has_the_same_dynamics_as_the_default() -> None:
    image = make_gridworld_game(**FIG2A)
    plain = make_gridworld_game(5, starts=published_starts(5))
    np.testing.assert_array_equal(image.next_states, plain.next_states)
    np.testing.assert_array_equal(image.rewards, plain.rewards)
    np.testing.assert_array_equal(
        image.initial_distribution, plain.initial_distribution
    )
