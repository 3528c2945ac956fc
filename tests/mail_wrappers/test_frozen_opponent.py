"""Tests of FrozenOpponentWrapper (PettingZoo AEC/Parallel -> Gymnasium)."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.classic import connect_four_v3, rps_v2, tictactoe_v3
from pettingzoo.utils.conversions import turn_based_aec_to_parallel
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from mail_envs.core import joint_action_index
from mail_wrappers.expert_query import ExpertQueryWrapper
from mail_wrappers.frozen_opponent import FrozenOpponentWrapper, uniform_policy
from mail_wrappers.recorder import ExpertLabelRecorder

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def first_legal(obs, masks):
    out = np.zeros(masks.shape)
    out[np.arange(len(masks)), np.argmax(masks, axis=1)] = 1.0
    return out


def _first_legal_action(obs) -> int:
    return int(np.flatnonzero(obs["action_mask"])[0])


@pytest.mark.parametrize("controlled", ["player_1", "player_2"])
@pytest.mark.parametrize("flatten", [False, True])
def test_checkers_pass_on_tictactoe(controlled, flatten):
    env = FrozenOpponentWrapper(
        tictactoe_v3.env(), controlled, "uniform", flatten_observation=flatten
    )
    check_env(env, skip_render_check=True)
    sb3_check_env(env)


def test_checkers_pass_on_connect4_and_parallel_envs():
    check_env(
        FrozenOpponentWrapper(connect_four_v3.env(), "player_1"), skip_render_check=True
    )
    env = FrozenOpponentWrapper(rps_v2.parallel_env(), "player_0")
    check_env(env, skip_render_check=True)
    sb3_check_env(env)


def test_checkers_pass_on_mail_envs():
    tictactoe = pytest.importorskip("mail_envs.tictactoe")
    gridworld = pytest.importorskip("mail_envs.gridworld")
    for env in (
        FrozenOpponentWrapper(tictactoe.env(), "player_2"),
        FrozenOpponentWrapper(gridworld.parallel_env(size=3), "player_1"),
        FrozenOpponentWrapper(
            gridworld.parallel_env(size=3), "player_0", flatten_observation=True
        ),
    ):
        check_env(env, skip_render_check=True)
        sb3_check_env(env)


def test_second_seat_sees_the_opening_move_after_reset():
    env = FrozenOpponentWrapper(tictactoe_v3.env(), "player_2", first_legal)
    obs, info = env.reset(seed=0)
    # PettingZoo plane 1 holds the opponent's marks; the opponent opened in cell 0
    board = obs["observation"].reshape(9, 2)  # cells are column-major in classic
    assert board[:, 1].sum() == 1 and board[:, 0].sum() == 0
    assert info["opponent_actions"] == {"player_1": [0]}
    np.testing.assert_array_equal(info["opponent_probs"]["player_1"][0], np.eye(9)[0])
    assert obs["action_mask"].tolist() == [0] + [1] * 8
    np.testing.assert_array_equal(env.action_masks(), obs["action_mask"].astype(bool))


def test_controlled_agent_loses_when_the_frozen_opponent_wins():
    # X (opponent, first legal cell) plays 0, 1, 2 and wins the first column
    # of PettingZoo's board while O plays 3 and 4.
    env = FrozenOpponentWrapper(tictactoe_v3.env(), "player_2", first_legal)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(3)
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["opponent_actions"] == {"player_1": [1]}
    _, reward, terminated, truncated, _ = env.step(4)
    assert (reward, terminated, truncated) == (-1.0, True, False)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(5)


def test_controlled_agent_wins():
    env = FrozenOpponentWrapper(tictactoe_v3.env(), "player_1", first_legal)
    env.reset(seed=0)
    assert env.step(3)[1:3] == (0.0, False)  # opponent plays 0
    assert env.step(4)[1:3] == (0.0, False)  # opponent plays 1
    _obs, reward, terminated, _, info = env.step(5)  # 3, 4, 5: a line
    assert (reward, terminated) == (1.0, True)
    assert info["opponent_actions"] == {}


def test_illegal_move_follows_the_classic_rule():
    env = FrozenOpponentWrapper(tictactoe_v3.env(), "player_2", first_legal)
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(0)  # cell 0 is taken
    assert (reward, terminated) == (-1.0, True)


def _episode(env, seed: int) -> list:
    obs, _ = env.reset(seed=seed)
    trace = [obs["observation"].tobytes()]
    done = False
    while not done:
        obs, reward, term, trunc, _info = env.step(_first_legal_action(obs))
        trace.append((obs["observation"].tobytes(), reward))
        done = term or trunc
    return trace


def test_reset_seed_reproduces_episodes_including_opponent_randomness():
    env = FrozenOpponentWrapper(tictactoe_v3.env(), "player_2", "uniform")
    assert _episode(env, 11) == _episode(env, 11)
    assert len({str(_episode(env, s)) for s in range(8)}) > 1
    other = FrozenOpponentWrapper(tictactoe_v3.env(), "player_2", "uniform", seed=99)
    assert _episode(other, 11) == _episode(env, 11)


def test_expert_query_underneath_labels_the_controlled_agent():
    env = FrozenOpponentWrapper(
        ExpertQueryWrapper(tictactoe_v3.env(), uniform_policy, seed=0),
        "player_2",
        first_legal,
    )
    obs, info = env.reset(seed=0)
    assert obs["action_mask"].sum() == 8
    np.testing.assert_allclose(info["expert_probs"], obs["action_mask"] / 8.0)
    assert obs["action_mask"][info["expert_action"]] == 1


def test_opponent_replays_the_expert_labels_underneath():
    recorder = ExpertLabelRecorder(game_id="classic/tictactoe-v3", expert="first")
    query = ExpertQueryWrapper(
        tictactoe_v3.env(), first_legal, agents=["player_1"], recorder=recorder
    )
    env = FrozenOpponentWrapper(query, "player_2", "expert")
    obs, info = env.reset(seed=0)
    played = list(info["opponent_actions"]["player_1"])
    done = False
    while not done:
        obs, _, term, trunc, info = env.step(
            int(np.flatnonzero(obs["action_mask"])[-1])
        )
        played += info["opponent_actions"].get("player_1", [])
        done = term or trunc
    data = recorder.dataset()
    assert data.expert_actions.tolist() == played[: len(data)]
    assert len(data) == query.total_queries > 0
    assert "expert_probs" not in info  # player_2 is not queried


def test_expert_opponent_without_labels_raises():
    env = FrozenOpponentWrapper(tictactoe_v3.env(), "player_2", "expert")
    with pytest.raises(RuntimeError, match="ExpertQueryWrapper"):
        env.reset(seed=0)


def test_callback_sees_every_opponent_move():
    seen = []
    env = FrozenOpponentWrapper(
        tictactoe_v3.env(),
        "player_2",
        "uniform",
        on_opponent_action=lambda *args: seen.append(args),
    )
    obs, _info = env.reset(seed=2)
    env.step(_first_legal_action(obs))
    assert [s[0] for s in seen] == ["player_1", "player_1"]
    _agent, observation, mask, action, probs = seen[0]
    assert observation.shape == (3, 3, 2) and mask.dtype == bool and mask[action]
    np.testing.assert_allclose(probs, mask / mask.sum())


def test_flattened_view_moves_the_mask_to_info():
    env = FrozenOpponentWrapper(
        tictactoe_v3.env(), "player_1", "uniform", flatten_observation=True
    )
    obs, info = env.reset(seed=0)
    assert obs.shape == (3, 3, 2) and obs.dtype == np.int8
    assert info["action_mask"].tolist() == [True] * 9


def test_parallel_steps_follow_the_model():
    gridworld = pytest.importorskip("mail_envs.gridworld")
    env = FrozenOpponentWrapper(gridworld.parallel_env(size=3), "player_1", "uniform")
    game = env.env.unwrapped.game
    _, info = env.reset(seed=4)
    state = info["state"]
    rng = np.random.default_rng(0)
    for _ in range(30):
        action = int(rng.integers(4))
        _, reward, term, trunc, info = env.step(action)
        (opp_action,) = info["opponent_actions"]["player_0"]
        joint = joint_action_index([opp_action, action], game.num_actions)
        assert info["state"] == game.next_states[state, joint, 0]
        assert reward == game.rewards[1, state, joint]
        state = info["state"]
        if term or trunc:
            _obs, info = env.reset()
            state = info["state"]


def test_turn_based_parallel_view():
    env = FrozenOpponentWrapper(
        turn_based_aec_to_parallel(tictactoe_v3.env()), "player_1", first_legal
    )
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert obs["action_mask"].sum() == 9
    obs, *_, info = env.step(4)  # X moves; O's all-zero mask: no move
    assert info["opponent_actions"] == {"player_2": [0]}
    np.testing.assert_array_equal(info["opponent_probs"]["player_2"][0], np.zeros(9))
    assert obs["action_mask"].sum() == 0  # O is to move now
    obs, *_, info = env.step(0)  # ignored: it is O's turn, O plays cell 0
    assert info["opponent_actions"] == {"player_2": [0]}
    np.testing.assert_array_equal(info["opponent_probs"]["player_2"][0], np.eye(9)[0])
    assert obs["action_mask"].sum() == 7


def test_constructor_validation():
    with pytest.raises(ValueError, match="player_3"):
        FrozenOpponentWrapper(tictactoe_v3.env(), "player_3")
    with pytest.raises(TypeError, match="policy of opponent"):
        FrozenOpponentWrapper(tictactoe_v3.env(), "player_1", "minimax")
    with pytest.raises(ValueError, match="no policy"):
        FrozenOpponentWrapper(tictactoe_v3.env(), "player_1", {"player_3": first_legal})
    with pytest.raises(ValueError, match="flatten_observation"):
        FrozenOpponentWrapper(
            rps_v2.parallel_env(), "player_0", flatten_observation=True
        )
    with pytest.raises(TypeError, match="PettingZoo"):
        FrozenOpponentWrapper(object(), "player_0")
