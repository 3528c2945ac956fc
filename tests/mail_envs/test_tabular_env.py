"""Tests of the PettingZoo envs over TabularMarkovGame: env view == model view."""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from mail_envs.chain import chain_layout, make_chain_game
from mail_envs.core import TabularMarkovGame
from mail_envs.gridworld import make_gridworld_game
from mail_envs.random_games import (
    make_random_general_sum_game,
    make_random_zero_sum_game,
)
from mail_envs.tabular_env import DEFAULT_MAX_CYCLES, TabularAECEnv, TabularParallelEnv


def _custom_game() -> TabularMarkovGame:
    """3 players, random masks, stochastic, a terminal state, own observations.

    Player 0 observes float features, player 1 booleans, player 2 int16 codes.
    """
    base = make_random_general_sum_game(6, (2, 3, 2), num_successors=2, seed=0)
    rng = np.random.default_rng(1)
    num_states, terminal_state = 6, 5
    masks = []
    for a in base.num_actions:
        mask = rng.random((num_states, a)) < 0.6
        mask[np.arange(num_states), rng.integers(a, size=num_states)] = True
        masks.append(mask)
    next_states = base.next_states.copy()
    next_probs = base.next_probs.copy()
    rewards = base.rewards.copy()
    next_states[terminal_state] = terminal_state
    next_probs[terminal_state] = [1.0, 0.0]
    rewards[:, terminal_state] = 0.0
    terminal = np.zeros(num_states, dtype=bool)
    terminal[terminal_state] = True
    mu0 = np.array([0.5, 0.25, 0.25, 0.0, 0.0, 0.0])
    observations = (
        rng.normal(size=(num_states, 3)).astype(np.float32),
        (rng.random((num_states, 2, 2)) < 0.5) | (np.arange(4) == 0).reshape(2, 2),
        rng.integers(-5, 5, size=(num_states, 4)).astype(np.int16),
    )
    return TabularMarkovGame(
        num_actions=base.num_actions,
        next_states=next_states,
        next_probs=next_probs,
        rewards=rewards,
        legal_masks=tuple(masks),
        initial_distribution=mu0,
        gamma=0.9,
        terminal=terminal,
        observations=observations,
        name="custom",
        player_names=("alice_0", "bob_1", "carol_2"),
        state_labels=tuple(f"s{i}" for i in range(num_states)),
    )


def _random_legal_actions(game, state, rng):
    return tuple(
        int(rng.choice(np.flatnonzero(mask[state]))) for mask in game.legal_masks
    )


def _expected_obs(game, player, state):
    obs = game.observe(player, state)
    return obs.astype(np.int8) if obs.dtype == np.bool_ else obs


GAMES = {
    "gridworld": lambda: make_gridworld_game(3, allow_stay=True),
    "chain": lambda: make_chain_game(length=3, num_actions=3, seed=2),
    "random": lambda: make_random_zero_sum_game(5, (2, 3), num_successors=3, seed=4),
    "custom": _custom_game,
}


@pytest.mark.parametrize("name", sorted(GAMES))
def test_parallel_steps_follow_the_model(name):
    """Seeded episodes with random legal actions: every step is a model step."""
    game = GAMES[name]()
    env = TabularParallelEnv(game, max_cycles=15)
    rng = np.random.default_rng(0)
    steps = 0
    for episode in range(40):
        obs, infos = env.reset(seed=episode)
        state = env.state_index
        assert game.initial_distribution[state] > 0
        while env.agents:
            for i, agent in enumerate(env.possible_agents):
                np.testing.assert_array_equal(
                    obs[agent]["observation"], _expected_obs(game, i, state)
                )
                np.testing.assert_array_equal(
                    obs[agent]["action_mask"], game.legal_masks[i][state]
                )
                assert infos[agent] == {"state": state}
            actions = _random_legal_actions(game, state, rng)
            joint = int(np.ravel_multi_index(actions, game.num_actions))
            obs, rewards, terms, truncs, infos = env.step(
                dict(zip(env.possible_agents, actions, strict=True))
            )
            nxt = env.state_index
            support = game.next_states[state, joint][game.next_probs[state, joint] > 0]
            assert nxt in support
            np.testing.assert_array_equal(
                [rewards[a] for a in env.possible_agents], game.rewards[:, state, joint]
            )
            assert all(terms[a] == bool(game.terminal[nxt]) for a in terms)
            assert all(
                t == (not game.terminal[nxt] and env.num_steps == 15)
                for t in truncs.values()
            )
            state = nxt
            steps += 1
    assert steps > 100


def test_stochastic_successor_frequencies_match_next_probs():
    game = make_random_zero_sum_game(3, (2, 2), num_successors=3, seed=7)
    env = TabularParallelEnv(game, max_cycles=30_000)
    rng = np.random.default_rng(1)
    counts = np.zeros((3, 4, 3))
    env.reset(seed=123)
    for _ in range(24_000):
        state = env.state_index
        a0, a1 = rng.integers(2, size=2)
        env.step({"player_0": int(a0), "player_1": int(a1)})
        counts[state, 2 * a0 + a1, env.state_index] += 1
    expected = np.zeros_like(counts)
    np.put_along_axis(expected, game.next_states, game.next_probs, axis=2)
    n = counts.sum(axis=2, keepdims=True)
    assert n.min() > 500
    sigma = np.sqrt(n * expected * (1 - expected))
    assert np.all(np.abs(counts - n * expected) <= 5 * sigma + 1e-9)


def test_initial_state_frequencies_match_initial_distribution():
    game = _custom_game()
    env = TabularParallelEnv(game)
    env.reset(seed=5)
    counts = np.zeros(game.num_states)
    for _ in range(4000):
        env.reset()
        counts[env.state_index] += 1
    mu0 = game.initial_distribution
    sigma = np.sqrt(4000 * mu0 * (1 - mu0))
    assert np.all(np.abs(counts - 4000 * mu0) <= 5 * sigma)


@pytest.mark.parametrize("name", sorted(GAMES))
def test_aec_and_parallel_give_the_same_trajectories(name):
    game = GAMES[name]()
    par = TabularParallelEnv(game, max_cycles=12)
    aec = TabularAECEnv(game, max_cycles=12)
    rng = np.random.default_rng(2)
    for seed in range(10):
        par.reset(seed=seed)
        aec.reset(seed=seed)
        assert aec.state_index == par.state_index
        while par.agents:
            actions = _random_legal_actions(game, par.state_index, rng)
            _, rewards, terms, truncs, infos = par.step(
                dict(zip(par.possible_agents, actions, strict=True))
            )
            for i, agent in enumerate(aec.possible_agents):
                assert aec.agent_selection == agent
                obs, _, _, _, _ = aec.last()
                np.testing.assert_array_equal(
                    obs["action_mask"], game.legal_masks[i][aec.state_index]
                )
                aec.step(actions[i])
            assert aec.state_index == par.state_index
            assert aec.rewards == rewards and aec.infos == infos
            assert aec.terminations == terms and aec.truncations == truncs
            # The cumulative reward that last() reports is the step's reward.
            assert aec.last()[1] == rewards[aec.agent_selection]
        for _agent in aec.agent_iter():
            assert aec.last()[2] or aec.last()[3]
            aec.step(None)
        assert aec.agents == []


def test_aec_rewards_are_zero_until_the_joint_action_is_complete():
    game = make_random_zero_sum_game(4, (2, 2), seed=0)
    aec = TabularAECEnv(game)
    aec.reset(seed=0)
    state = aec.state_index
    aec.step(1)
    assert aec.rewards == {"player_0": 0.0, "player_1": 0.0}
    assert aec.state_index == state and aec.num_steps == 0
    aec.step(0)
    assert aec.num_steps == 1
    assert aec.rewards["player_0"] == game.rewards[0, state, 2]


def _checker_warnings():
    warnings.simplefilter("error")
    warnings.filterwarnings(
        "ignore", message="Observation space for each agent probably"
    )
    warnings.filterwarnings("ignore", message="Observation is not a NumPy array")


def test_pettingzoo_checkers_on_a_three_player_masked_game():
    game = _custom_game()
    with warnings.catch_warnings():
        _checker_warnings()
        # The agents observe different shapes and dtypes by design.
        warnings.filterwarnings(
            "ignore", message="Agents have different observation space sizes"
        )
        warnings.filterwarnings("ignore", message="Observations are different shapes")
        warnings.filterwarnings(
            "ignore", message="Observations have different number of dimensions"
        )
        api_test(TabularAECEnv(game), num_cycles=200)
        parallel_api_test(TabularParallelEnv(game), num_cycles=200)
        seed_test(lambda: TabularAECEnv(game), num_cycles=50)
        parallel_seed_test(lambda: TabularParallelEnv(game), num_cycles=50)


def test_observation_spaces():
    game = _custom_game()
    env = TabularParallelEnv(game)
    obs, _ = env.reset(seed=0)
    for i, agent in enumerate(env.possible_agents):
        space = env.observation_space(agent)
        assert space is env.observation_space(agent)
        assert space.contains(obs[agent])
        box = space["observation"]
        assert box.shape == game.observation_shape(i)
        assert env.action_space(agent).n == game.num_actions[i]
    assert env.observation_space("bob_1")["observation"].dtype == np.int8
    box = env.observation_space("carol_2")["observation"]
    assert box.dtype == np.int16
    assert (
        box.low.min() == game.observations[2].min()
        and box.high.max() == game.observations[2].max()
    )
    # Default: one-hot float32 of the state.
    onehot = TabularParallelEnv(make_random_zero_sum_game(7, seed=0))
    obs, _ = onehot.reset(seed=0)
    o = obs["player_1"]["observation"]
    assert o.dtype == np.float32 and o.shape == (7,) and o.sum() == 1.0
    assert o[onehot.state_index] == 1.0
    np.testing.assert_array_equal(onehot.state(), o)
    with pytest.raises(ValueError, match="unknown agent 'player_9'"):
        onehot.action_space("player_9")


def test_returned_observations_are_copies():
    game = _custom_game()
    env = TabularParallelEnv(game)
    obs, _ = env.reset(seed=0)
    obs["alice_0"]["observation"][:] = 99.0
    obs["alice_0"]["action_mask"][:] = 0
    again = env._observe_state("alice_0")
    np.testing.assert_array_equal(
        again["observation"], game.observations[0][env.state_index]
    )
    assert again["action_mask"].any()


def _chain_env(cls, **kwargs):
    game = make_chain_game(length=3, num_actions=3, seed=0)
    return cls(game, **kwargs), chain_layout(length=3, num_actions=3, seed=0)


def test_illegal_action_loses_in_parallel():
    env, _ = _chain_env(TabularParallelEnv)
    env.reset(seed=0)
    # In chain states the guard (player_0) has only the no-op 0.
    _, rewards, terms, truncs, infos = env.step({"player_0": 2, "player_1": 0})
    assert rewards == {"player_0": -1.0, "player_1": 0.0}
    assert all(terms.values()) and not any(truncs.values())
    assert infos["player_0"] == {"state": 0, "illegal_action": True}
    assert infos["player_1"] == {"state": 0, "illegal_action": False}
    assert env.agents == [] and env.state_index == 0 and env.num_steps == 0
    # At the gate (state 3) the explorer (player_1) has only the no-op 0.
    env2, layout = _chain_env(TabularParallelEnv, illegal_reward=-5.0)
    env2.reset(seed=0)
    for action in layout.secret:
        env2.step({"player_0": 0, "player_1": action})
    assert env2.state_index == layout.gate
    _, rewards, terms, _, _ = env2.step(
        {"player_0": layout.guard_action, "player_1": 2}
    )
    assert rewards == {"player_0": 0.0, "player_1": -5.0}
    assert all(terms.values()) and env2.state_index == layout.gate


def test_illegal_action_loses_in_aec():
    env, _ = _chain_env(TabularAECEnv)
    env.reset(seed=0)
    env.step(0)  # guard: legal no-op
    env.step(0)  # explorer: legal
    env.step(1)  # guard: illegal in a chain state
    assert env.rewards == {"player_0": -1.0, "player_1": 0.0}
    assert all(env.terminations.values())
    assert env.infos["player_0"]["illegal_action"]
    _, reward, terminated, _, _ = env.last()
    assert terminated and reward == (-1.0 if env.agent_selection == "player_0" else 0.0)
    for _ in env.agent_iter():
        env.step(None)
    assert env.agents == []


@pytest.mark.parametrize("cls", [TabularParallelEnv, TabularAECEnv])
def test_illegal_action_raises_when_asked(cls):
    env, _ = _chain_env(cls, illegal_action="raise")
    env.reset(seed=0)
    with pytest.raises(
        ValueError,
        match=r"action 2 of player_0 is illegal in state 0; legal actions are \[0\]",
    ):
        if cls is TabularParallelEnv:
            env.step({"player_0": 2, "player_1": 0})
        else:
            env.step(2)
    assert env.state_index == 0 and env.num_steps == 0


@pytest.mark.parametrize("action", [3, -1, 1.5, True, "1", None, np.array([1])])
def test_action_outside_the_space_raises_naming_it(action):
    par, _ = _chain_env(TabularParallelEnv)
    par.reset(seed=0)
    with pytest.raises(
        ValueError, match=re.escape(f"action {action!r} of player_1 is not")
    ):
        par.step({"player_0": 0, "player_1": action})
    aec, _ = _chain_env(TabularAECEnv)
    aec.reset(seed=0)
    with pytest.raises(
        ValueError, match=re.escape(f"action {action!r} of player_0 is not")
    ):
        aec.step(action)


def test_numpy_integer_actions_are_accepted():
    par, layout = _chain_env(TabularParallelEnv)
    par.reset(seed=0)
    par.step({"player_0": np.int32(0), "player_1": np.int64(layout.secret[0])})
    assert par.state_index == 1


def test_missing_or_unknown_agent_actions_raise():
    env, _ = _chain_env(TabularParallelEnv)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"missing \['player_1'\]"):
        env.step({"player_0": 0})
    with pytest.raises(ValueError, match=r"unknown \['player_7'\]"):
        env.step({"player_0": 0, "player_1": 0, "player_7": 0})


def test_lifecycle_errors():
    env, _ = _chain_env(TabularParallelEnv, max_cycles=1)
    with pytest.raises(RuntimeError, match="before reset"):
        _ = env.state_index
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({"player_0": 0, "player_1": 0})
    env.reset(seed=0)
    _, _, _, truncs, _ = env.step({"player_0": 0, "player_1": 0})
    assert all(truncs.values()) and env.agents == []
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({"player_0": 0, "player_1": 0})


def test_max_cycles_defaults_and_truncation():
    finite = make_random_zero_sum_game(4, gamma=1.0, horizon=6, seed=0)
    assert TabularParallelEnv(finite).max_cycles == 6
    assert TabularAECEnv(finite, max_cycles=3).max_cycles == 3
    discounted = make_random_zero_sum_game(4, seed=0)
    env = TabularParallelEnv(discounted)
    assert env.max_cycles == DEFAULT_MAX_CYCLES
    env.max_cycles = 4  # a plain attribute, as PettingZoo's checkers expect
    env.reset(seed=0)
    for step in range(1, 5):
        _, _, terms, truncs, _ = env.step({"player_0": 0, "player_1": 0})
        assert not any(terms.values())
        assert all(truncs.values()) == (step == 4)
    assert env.agents == []


def test_terminal_state_terminates_not_truncates():
    game = make_chain_game(length=1, num_actions=2, seed=0)
    layout = chain_layout(length=1, num_actions=2, seed=0)
    env = TabularParallelEnv(game, max_cycles=2)
    env.reset(seed=0)
    env.step({"player_0": 0, "player_1": layout.secret[0]})
    _, _, terms, truncs, infos = env.step(
        {"player_0": layout.guard_action, "player_1": 0}
    )
    assert all(terms.values()) and not any(truncs.values())
    assert infos["player_0"]["state"] == layout.done


def test_seeding_reproduces_and_continues_streams():
    game = make_random_zero_sum_game(30, (2, 2), num_successors=5, seed=0)

    def trajectory(env, seed, steps=40):
        env.reset(seed=seed)
        states = [env.state_index]
        for _ in range(steps):
            if not env.agents:
                env.reset()
            env.step({"player_0": 1, "player_1": 0})
            states.append(env.state_index)
        return states

    a, b = (
        TabularParallelEnv(game, max_cycles=15),
        TabularParallelEnv(game, max_cycles=15),
    )
    assert trajectory(a, 3) == trajectory(b, 3)
    assert trajectory(a, 3) != trajectory(a, 4)
    # reset() without a seed continues the stream identically in both envs.
    a.reset(seed=8)
    b.reset(seed=8)
    a.reset()
    b.reset()
    assert a.state_index == b.state_index


def test_pickle_round_trip_continues_identically():
    game = make_random_zero_sum_game(10, seed=1)
    env = TabularParallelEnv(game)
    env.reset(seed=2)
    clone = pickle.loads(pickle.dumps(env))
    for _ in range(20):
        if not env.agents:
            env.reset()
            clone.reset()
        actions = {"player_0": 2, "player_1": 1}
        assert env.step(actions)[1] == clone.step(actions)[1]
        assert env.state_index == clone.state_index


def test_render_modes(capsys):
    game = make_chain_game(length=2, seed=0)
    env = TabularParallelEnv(game, render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "step 0: chain 0"
    human = TabularAECEnv(game, render_mode="human")
    human.reset(seed=0)
    assert human.render() is None
    assert capsys.readouterr().out == "step 0: chain 0\n"
    unlabeled = TabularParallelEnv(
        make_random_zero_sum_game(4, seed=0), render_mode="ansi"
    )
    unlabeled.reset(seed=0)
    assert unlabeled.render() == f"step 0: state {unlabeled.state_index}"
    silent = TabularParallelEnv(game)
    silent.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert silent.render() is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"max_cycles": 0},
            ValueError,
            "max_cycles must be a positive integer or None, got 0",
        ),
        ({"max_cycles": 2.5}, ValueError, r"got 2\.5"),
        ({"max_cycles": True}, ValueError, "got True"),
        ({"render_mode": "rgb"}, ValueError, "got 'rgb'"),
        ({"illegal_action": "ignore"}, ValueError, "got 'ignore'"),
        ({"illegal_reward": float("inf")}, ValueError, "got inf"),
    ],
)
@pytest.mark.parametrize("cls", [TabularParallelEnv, TabularAECEnv])
def test_invalid_constructor_arguments(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(make_random_zero_sum_game(3, seed=0), **kwargs)


def test_invalid_games():
    with pytest.raises(TypeError, match="got dict"):
        TabularParallelEnv({"num_states": 3})
    game = make_chain_game(length=1, seed=0)
    mu0 = np.zeros(game.num_states)
    mu0[[0, 2]] = 0.5  # state 2 is the terminal 'done'
    starts_done = TabularMarkovGame(
        num_actions=game.num_actions,
        next_states=game.next_states,
        next_probs=game.next_probs,
        rewards=game.rewards,
        legal_masks=game.legal_masks,
        initial_distribution=mu0,
        gamma=game.gamma,
        terminal=game.terminal,
    )
    with pytest.raises(ValueError, match="terminal state 2"):
        TabularAECEnv(starts_done)
    strings = TabularMarkovGame(
        num_actions=(2,),
        next_states=np.zeros((1, 2), dtype=int),
        next_probs=np.ones((1, 2)),
        rewards=np.zeros((1, 1, 2)),
        legal_masks=(np.ones((1, 2), dtype=bool),),
        initial_distribution=np.ones(1),
        gamma=0.5,
        observations=(np.array([["a"]]),),
    )
    with pytest.raises(TypeError, match="dtype <U1"):
        TabularParallelEnv(strings)
