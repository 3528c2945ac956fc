"""Tests of ExpertQueryWrapper / ParallelExpertQueryWrapper."""

from __future__ import annotations

import numpy as np
import pytest
from pettingzoo.classic import connect_four_v3, rps_v2, tictactoe_v3
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.utils.conversions import turn_based_aec_to_parallel

from mail_envs.core import TabularMarkovGame
from mail_envs.random_games import (
    make_random_general_sum_game,
    make_random_zero_sum_game,
)
from mail_envs.tabular_env import TabularAECEnv, TabularParallelEnv
from mail_wrappers._policy import split_observation
from mail_wrappers.expert_query import (
    ExpertBudgetExhaustedError,
    ExpertQueryWrapper,
    ParallelExpertQueryWrapper,
)
from mail_wrappers.recorder import ExpertLabelRecorder

LABELS = ("expert_probs", "expert_action")


def uniform(obs, masks):
    masks = np.asarray(masks, dtype=np.float64)
    return masks / masks.sum(axis=1, keepdims=True)


def first_legal(obs, masks):
    out = np.zeros(masks.shape)
    out[np.arange(len(masks)), np.argmax(masks, axis=1)] = 1.0
    return out


def tilted(obs, masks):
    """Stochastic, non-uniform: weight a + 1 on legal action a."""
    w = np.where(masks, np.arange(1, masks.shape[1] + 1), 0.0)
    return w / w.sum(axis=1, keepdims=True)


class CountingExpert:
    def __init__(self, policy):
        self.policy = policy
        self.calls = 0
        self.batch_sizes: list[int] = []

    def __call__(self, obs, masks):
        self.calls += 1
        self.batch_sizes.append(len(obs))
        return self.policy(obs, masks)


def _mail_tictactoe():
    mod = pytest.importorskip("mail_envs.tictactoe")
    return mod.env()


def _mail_connect4():
    mod = pytest.importorskip("mail_envs.connect4")
    return mod.env()


@pytest.mark.parametrize(
    "make_env",
    [tictactoe_v3.env, connect_four_v3.env, _mail_tictactoe, _mail_connect4],
)
def test_api_test_passes_when_wrapped(make_env):
    env = ExpertQueryWrapper(make_env(), tilted, seed=0)
    api_test(env, num_cycles=300)
    assert env.total_queries > 0
    assert env.total_queries == sum(env.query_counts.values())


def test_parallel_api_test_passes_when_wrapped():
    env = ParallelExpertQueryWrapper(rps_v2.parallel_env(), tilted, seed=0)
    parallel_api_test(env, num_cycles=50)
    assert env.query_counts["player_0"] == env.query_counts["player_1"] > 0


def test_parallel_api_test_on_mail_gridworld():
    gridworld = pytest.importorskip("mail_envs.gridworld")
    env = ParallelExpertQueryWrapper(gridworld.parallel_env(size=3), uniform, seed=0)
    parallel_api_test(env, num_cycles=60)
    assert env.total_queries > 0


def test_labels_only_for_the_agent_to_act_and_equal_to_the_expert():
    env = ExpertQueryWrapper(tictactoe_v3.env(), tilted, seed=3)
    env.reset(seed=3)
    labelled_turns = 0
    for agent in env.agent_iter():
        obs, _, term, trunc, info = env.last()
        others = [a for a in env.agents if a != agent]
        for other in others:
            assert not set(LABELS) & set(env.infos[other])
        if term or trunc:
            assert not set(LABELS) & set(info)
            env.step(None)
            continue
        mask = obs["action_mask"].astype(bool)
        if mask.sum() == 1:  # forced move: no decision, no query
            assert "expert_probs" not in info
        else:
            labelled_turns += 1
            expected = tilted(obs["observation"][None], mask[None])[0]
            np.testing.assert_allclose(info["expert_probs"], expected, rtol=1e-15)
            assert mask[info["expert_action"]]
            assert info == env.infos[agent]
        env.step(int(np.flatnonzero(mask)[0]))
    assert labelled_turns == env.total_queries > 0


def test_only_named_agents_are_queried():
    expert = CountingExpert(uniform)
    env = ExpertQueryWrapper(tictactoe_v3.env(), expert, agents=["player_2"])
    env.reset(seed=0)
    for agent in env.agent_iter():
        obs, _, term, trunc, info = env.last()
        if agent == "player_1":
            assert "expert_probs" not in info
        env.step(None if term or trunc else int(np.flatnonzero(obs["action_mask"])[0]))
    assert env.query_counts == {"player_2": expert.calls}
    assert expert.calls > 0


def test_per_agent_experts_mapping():
    env = ExpertQueryWrapper(
        tictactoe_v3.env(), {"player_1": first_legal, "player_2": uniform}
    )
    env.reset(seed=0)
    info = env.last()[4]
    np.testing.assert_array_equal(info["expert_probs"], np.eye(9)[0])
    env.step(4)
    np.testing.assert_allclose(env.last()[4]["expert_probs"].sum(), 1.0)
    assert env.last()[4]["expert_probs"][4] == 0.0


def _expert_actions(seed: int) -> list[int]:
    env = ExpertQueryWrapper(tictactoe_v3.env(), tilted, seed=123)
    env.reset(seed=seed)
    out = []
    for _ in env.agent_iter():
        obs, _, term, trunc, info = env.last()
        if term or trunc:
            env.step(None)
            continue
        if "expert_action" in info:
            out.append(info["expert_action"])
        env.step(int(np.flatnonzero(obs["action_mask"])[-1]))
    return out


def test_reset_seed_reproduces_sampled_labels():
    assert _expert_actions(7) == _expert_actions(7)
    assert len({tuple(_expert_actions(s)) for s in range(6)}) > 1


def test_budget_raise():
    env = ExpertQueryWrapper(tictactoe_v3.env(), uniform, query_budget=3)
    env.reset(seed=0)  # query 1
    env.step(0)  # query 2
    env.step(1)  # query 3
    assert env.total_queries == 3
    assert env.budget_left == 0
    with pytest.raises(ExpertBudgetExhaustedError, match="budget of 3"):
        env.step(2)


def test_budget_flag():
    expert = CountingExpert(uniform)
    env = ExpertQueryWrapper(
        tictactoe_v3.env(), expert, query_budget=2, on_budget_exhausted="flag"
    )
    env.reset(seed=0)
    env.step(0)
    env.step(1)
    info = env.last()[4]
    assert info == {"expert_budget_exhausted": True}
    env.reset(seed=1)
    assert env.last()[4].get("expert_budget_exhausted") is True
    assert env.total_queries == expert.calls == 2


def test_parallel_budget_is_shared_by_a_batch():
    env = ParallelExpertQueryWrapper(
        rps_v2.parallel_env(), uniform, query_budget=3, on_budget_exhausted="flag"
    )
    _, infos = env.reset(seed=0)
    assert all("expert_probs" in infos[a] for a in env.agents)
    _, _, _, _, infos = env.step({"player_0": 0, "player_1": 1})
    flags = [infos[a].get("expert_budget_exhausted", False) for a in env.agents]
    labelled = ["expert_probs" in infos[a] for a in env.agents]
    assert flags == [False, True] and labelled == [True, False]
    assert env.total_queries == 3


def test_parallel_batches_agents_sharing_an_expert():
    expert = CountingExpert(uniform)
    env = ParallelExpertQueryWrapper(rps_v2.parallel_env(), expert)
    env.reset(seed=0)
    env.step({"player_0": 0, "player_1": 1})
    assert expert.batch_sizes == [2, 2]


def test_turn_based_parallel_view_queries_only_the_mover():
    env = ParallelExpertQueryWrapper(
        turn_based_aec_to_parallel(tictactoe_v3.env()), uniform
    )
    _obs, infos = env.reset(seed=0)
    assert "expert_probs" in infos["player_1"]
    assert "expert_probs" not in infos["player_2"]
    _, _, _, _, infos = env.step({"player_1": 4, "player_2": 0})
    assert "expert_probs" in infos["player_2"]
    assert "expert_probs" not in infos["player_1"]


def test_skip_forced_false_labels_single_action_states():
    moves = [0, 1, 2, 4, 3, 5, 7, 6]  # leaves only cell 8, no winner yet
    for skip in (True, False):
        env = ExpertQueryWrapper(tictactoe_v3.env(), uniform, skip_forced=skip)
        env.reset(seed=0)
        for m in moves:
            env.step(m)
        obs, _, term, _, info = env.last()
        assert not term and obs["action_mask"].sum() == 1
        assert ("expert_probs" in info) is (not skip)
        assert env.total_queries == len(moves) + (not skip)


def test_recorder_receives_every_query():
    recorder = ExpertLabelRecorder(game_id="classic/tictactoe-v3", expert="tilted")
    env = ExpertQueryWrapper(tictactoe_v3.env(), tilted, recorder=recorder, seed=0)
    for episode in range(3):
        env.reset(seed=episode)
        for _ in env.agent_iter():
            obs, _, term, trunc, _info = env.last()
            env.step(
                None if term or trunc else int(np.flatnonzero(obs["action_mask"])[0])
            )
    data = recorder.dataset()
    assert len(data) == env.total_queries
    assert sorted(set(data.episodes.tolist())) == [0, 1, 2]
    np.testing.assert_allclose(
        data.expert_probs, tilted(data.observations, data.action_masks)
    )
    assert np.all(data.action_masks[np.arange(len(data)), data.expert_actions])


@pytest.mark.parametrize(
    ("expert", "match"),
    [
        (lambda o, m: np.ones_like(m, dtype=float) / m.shape[1], "illegal actions"),
        (lambda o, m: np.ones((len(m), 3)), "shape"),
        (lambda o, m: 2 * m / m.sum(axis=1, keepdims=True), "summing to"),
    ],
)
def test_bad_expert_output_raises(expert, match):
    env = ExpertQueryWrapper(tictactoe_v3.env(), expert)
    with pytest.raises(ValueError, match=match):
        env.reset(seed=0)  # all cells legal
        env.step(0)


def test_constructor_validation():
    with pytest.raises(ValueError, match="player_9"):
        ExpertQueryWrapper(tictactoe_v3.env(), uniform, agents=["player_9"])
    with pytest.raises(ValueError, match="on_budget_exhausted"):
        ExpertQueryWrapper(tictactoe_v3.env(), uniform, on_budget_exhausted="warn")
    with pytest.raises(ValueError, match="query_budget"):
        ExpertQueryWrapper(tictactoe_v3.env(), uniform, query_budget=-1)
    with pytest.raises(TypeError, match="expert"):
        ExpertQueryWrapper(tictactoe_v3.env(), 3)
    with pytest.raises(ValueError, match="no policy"):
        ExpertQueryWrapper(tictactoe_v3.env(), {"player_1": uniform})
    with pytest.raises(TypeError, match="ParallelExpertQueryWrapper"):
        ExpertQueryWrapper(rps_v2.parallel_env(), uniform)
    with pytest.raises(TypeError, match="ExpertQueryWrapper"):
        ParallelExpertQueryWrapper(tictactoe_v3.env(), uniform)


def test_split_observation_sources_of_the_mask():
    _obs, mask = split_observation(
        {"observation": np.zeros(2), "action_mask": np.array([0, 1, 1], np.int8)},
        None,
        3,
    )
    assert mask.dtype == bool and mask.tolist() == [False, True, True]
    _, mask = split_observation(np.zeros(2), {"action_mask": [1, 0, 0]}, 3)
    assert mask.tolist() == [True, False, False]
    _, mask = split_observation(np.zeros(2), {}, 3)
    assert mask.tolist() == [True, True, True]
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        split_observation(np.zeros(2), {"action_mask": [1, 0]}, 3)
    with pytest.raises(ValueError, match="no legal action"):
        split_observation(np.zeros(2), {"action_mask": [0, 0, 0]}, 3)


class _ShapeLog:
    """A tilted expert that logs the mask shape of every call."""

    def __init__(self):
        self.calls: list[tuple[int, ...]] = []

    def __call__(self, obs, masks):
        self.calls.append(masks.shape)
        return tilted(obs, masks)


@pytest.mark.parametrize(
    ("make_game", "batches"),
    [
        # /tmp/review/eq3.py: a zero-sum game with 3 and 2 actions
        (lambda: make_random_zero_sum_game(4, (3, 2), seed=0), [(1, 3), (1, 2)]),
        # player_0 and player_2 (2 actions) are stacked, player_1 (3) is not
        (
            lambda: make_random_general_sum_game(6, (2, 3, 2), seed=3),
            [(2, 2), (1, 3)],
        ),
    ],
)
def test_parallel_agents_sharing_an_expert_with_different_action_counts(
    make_game, batches
):
    game = make_game()
    expert = _ShapeLog()
    env = ParallelExpertQueryWrapper(TabularParallelEnv(game), expert, seed=0)
    obs, infos = env.reset(seed=0)
    for _ in range(4):
        assert expert.calls == batches
        for k, agent in enumerate(env.possible_agents):
            mask = obs[agent]["action_mask"].astype(bool)
            assert mask.shape == (game.num_actions[k],)
            np.testing.assert_array_equal(
                infos[agent]["expert_probs"], tilted(None, mask[None])[0]
            )
            assert mask[infos[agent]["expert_action"]]
        expert.calls.clear()
        obs, _, _, _, infos = env.step(dict.fromkeys(env.agents, 0))
    assert env.total_queries == 5 * game.num_players  # reset and 4 steps


def test_aec_labels_are_independent_of_the_env_stream():
    # The env draws the initial state (a fair coin) from default_rng(seed) and
    # the wrapper samples a uniform expert action after reset(seed=seed): drawn
    # from one stream they would always agree; independently, about half the
    # time (400 fixed seeds; standard deviation 0.025).
    game = TabularMarkovGame(
        num_actions=(2, 2),
        next_states=np.repeat(np.arange(2)[:, None], 4, axis=1),
        next_probs=np.ones((2, 4)),
        rewards=np.zeros((2, 2, 4)),
        legal_masks=(np.ones((2, 2), bool),) * 2,
        initial_distribution=np.array([0.5, 0.5]),
        gamma=0.9,
    )
    env = ExpertQueryWrapper(TabularAECEnv(game), uniform, agents=["player_0"])
    agree = []
    for seed in range(400):
        env.reset(seed=seed)
        info = env.infos["player_0"]
        agree.append(info["expert_action"] == info["state"])
    assert 0.4 < np.mean(agree) < 0.6
