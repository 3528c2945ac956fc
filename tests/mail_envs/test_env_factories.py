"""Tests of the shared env classes and entry points of the tabular games."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

from mail_envs import chain, gridworld, random_games
from mail_envs.env_factories import (
    env_factories_of,
    tabular_env_classes,
    tabular_env_factories,
)
from mail_envs.tabular_env import TabularAECEnv, TabularParallelEnv
from mail_envs.xor_coordination import make_xor_coordination_game


def test_classes_take_the_game_arguments_and_the_env_arguments():
    aec, par = tabular_env_classes(
        make_xor_coordination_game, name="xor_test_v0", default_max_cycles=7
    )
    assert issubclass(aec, TabularAECEnv) and issubclass(par, TabularParallelEnv)
    env = par(gamma=0.5, render_mode="ansi", illegal_action="raise")
    assert env.max_cycles == 7 and env.game.gamma == 0.5
    assert env.render_mode == "ansi" and env.illegal_action == "raise"
    assert env.metadata["name"] == aec.metadata["name"] == "xor_test_v0"
    assert par(max_cycles=3).max_cycles == 3
    names = list(inspect.signature(par).parameters)
    game_names = list(inspect.signature(make_xor_coordination_game).parameters)
    env_names = ["max_cycles", "render_mode", "illegal_action", "illegal_reward"]
    assert names == [*game_names, *env_names]
    with pytest.raises(TypeError, match="no_such_argument"):
        par(no_such_argument=1)


def test_attributes_hook_and_callable_default_max_cycles():
    seen = []

    def attributes(args):
        seen.append(dict(args))
        return {"tag": args["gamma"]}

    _, par = tabular_env_classes(
        make_xor_coordination_game,
        name="xor_test_v0",
        default_max_cycles=lambda game: 2 * game.num_states,
        attributes=attributes,
    )
    env = par(gamma=0.25)
    assert env.tag == 0.25
    assert env.max_cycles == 2 * env.game.num_states
    # The hook sees every argument of the game factory, defaults included.
    assert set(seen[0]) == set(inspect.signature(make_xor_coordination_game).parameters)


def test_entry_points_of_classes():
    classes = tabular_env_classes(make_xor_coordination_game, name="xor_test_v0")
    raw_env, env, parallel_env = env_factories_of(classes)
    assert raw_env is classes.aec
    aec = env(gamma=0.5)
    assert isinstance(aec, OrderEnforcingWrapper) and isinstance(aec.unwrapped, raw_env)
    assert isinstance(parallel_env(gamma=0.5), classes.parallel)
    f = tabular_env_factories(make_xor_coordination_game, name="xor_test_v0")
    assert f.parallel_env(gamma=0.5).max_cycles == 100


@pytest.mark.parametrize(
    ("module", "aec_name", "parallel_name", "kwargs"),
    [
        (gridworld, "GridworldAECEnv", "GridworldParallelEnv", {"size": 4}),
        (chain, "ChainAECEnv", "ChainParallelEnv", {"length": 3, "seed": 2}),
        (random_games, "RandomZeroSumAECEnv", "RandomZeroSumParallelEnv", {}),
    ],
)
def test_game_modules_bind_their_named_classes(module, aec_name, parallel_name, kwargs):
    aec_class, parallel_class = (
        getattr(module, aec_name),
        getattr(module, parallel_name),
    )
    assert module.raw_env is aec_class
    assert aec_class.__name__ == aec_name and aec_class.__module__ == module.__name__
    assert parallel_class.__qualname__ == parallel_name
    par = module.parallel_env(**kwargs)
    assert type(par) is parallel_class
    par.reset(seed=1)
    # Picklable (e.g. for subprocess vector envs): same state and attributes.
    copy = pickle.loads(pickle.dumps(par))
    assert copy.state_index == par.state_index
    np.testing.assert_array_equal(
        copy.game.rewards, module.parallel_env(**kwargs).game.rewards
    )
    assert type(module.env(**kwargs).unwrapped) is aec_class


def test_layouts_follow_positional_and_keyword_arguments():
    assert gridworld.GridworldParallelEnv(4).layout == gridworld.gridworld_layout(4)
    layout = gridworld.raw_env(size=3, goal=(0, 0), starts=((2, 0), (0, 2))).layout
    assert layout == gridworld.gridworld_layout(3, goal=(0, 0), starts=((2, 0), (0, 2)))
    assert chain.ChainAECEnv(5, 3, seed=4).layout == chain.chain_layout(5, 3, seed=4)
    assert chain.parallel_env(length=5, cost=0.5).layout.cost == 0.5
