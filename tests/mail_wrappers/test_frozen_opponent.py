"""Tests of FrozenOpponentWrapper (PettingZoo AEC/Parallel -> Gymnasium)."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.classic import connect_four_v3, rps_v2, tictactoe_v3
from pettingzoo.utils.conversions import turn_based_aec_to_parallel
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from mail_envs.core import TabularMarkovGame, joint_action_index
from mail_envs.random_games import make_random_general_sum_game
from mail_envs.tabular_env import TabularParallelEnv
from mail_wrappers.expert_query import ExpertQueryWrapper, ParallelExpertQueryWrapper
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


def tilted(obs, masks):
    """Stochastic, non-uniform: weight a + 1 on legal action a."""
    w = np.where(masks, np.arange(1, masks.shape[1] + 1), 0.0)
    return w / w.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("with_callback", [False, True])
def test_opponent_replays_the_expert_labels_underneath(with_callback):
    # A stochastic expert: a wrapper that drew its own action from
    # expert_probs would differ from the recorded label at some of the ~30
    # moves below (each agrees by chance with probability sum_a p_a^2 <= 0.4).
    recorder = ExpertLabelRecorder(game_id="classic/tictactoe-v3", expert="tilted")
    query = ExpertQueryWrapper(
        tictactoe_v3.env(), tilted, agents=["player_1"], recorder=recorder
    )
    seen = []
    env = FrozenOpponentWrapper(
        query,
        "player_2",
        "expert",
        on_opponent_action=(lambda *args: seen.append(args)) if with_callback else None,
    )
    played, played_probs = [], []
    for seed in range(8):
        obs, info = env.reset(seed=seed)
        done = False
        while True:
            played += info["opponent_actions"].get("player_1", [])
            played_probs += info["opponent_probs"].get("player_1", [])
            if done:
                break
            obs, _, term, trunc, info = env.step(
                int(np.flatnonzero(obs["action_mask"])[-1])
            )
            done = term or trunc
    # forced moves (one legal cell) are played but not queried
    queried = [k for k, p in enumerate(played_probs) if np.count_nonzero(p) > 1]
    data = recorder.dataset()
    assert len(data) == len(queried) == query.total_queries > 20
    assert data.expert_actions.tolist() == [played[k] for k in queried]
    np.testing.assert_array_equal(
        data.expert_probs, np.array([played_probs[k] for k in queried])
    )
    assert len(set(data.expert_actions.tolist())) > 2  # the expert does randomize
    if with_callback:
        assert [s[3] for s in seen] == played
    assert "expert_probs" not in info  # player_2 is not queried


def test_parallel_opponent_replays_the_expert_labels_underneath():
    recorder = ExpertLabelRecorder(game_id="classic/rps-v2", expert="tilted")
    query = ParallelExpertQueryWrapper(
        rps_v2.parallel_env(max_cycles=40),
        tilted,
        agents=["player_0"],
        recorder=recorder,
    )
    env = FrozenOpponentWrapper(query, "player_1", "expert")
    env.reset(seed=3)
    played, done = [], False
    while not done:
        _, _, term, trunc, info = env.step(0)
        played += info["opponent_actions"]["player_0"]
        done = term or trunc
    data = recorder.dataset()
    # the last label (after the final step) is never played
    assert data.expert_actions.tolist()[: len(played)] == played
    assert len(played) == 40 and len(set(played)) == 3


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


def _two_state_coin() -> TabularMarkovGame:
    """Two absorbing states, uniform start, two actions each, no rewards."""
    return TabularMarkovGame(
        num_actions=(2, 2),
        next_states=np.repeat(np.arange(2)[:, None], 4, axis=1),
        next_probs=np.ones((2, 4)),
        rewards=np.zeros((2, 2, 4)),
        legal_masks=(np.ones((2, 2), bool),) * 2,
        initial_distribution=np.array([0.5, 0.5]),
        gamma=0.9,
    )


def test_wrappers_and_env_draw_independent_streams_from_one_seed():
    # reset(seed=s) reaches the env (initial state), the expert-query wrapper
    # (expert_action of player_1) and the frozen opponent (uniform action of
    # player_0). Each is a fair coin; drawn from the same uniform stream they
    # would always agree, drawn independently each pair agrees about half the
    # time (400 seeds: standard deviation 0.025; the seeds are fixed, so the
    # test is deterministic).
    env = FrozenOpponentWrapper(
        ParallelExpertQueryWrapper(
            TabularParallelEnv(_two_state_coin()), uniform_policy, agents=["player_1"]
        ),
        "player_1",
        opponent="uniform",
    )
    num_seeds = 400
    draws = np.empty((num_seeds, 3), dtype=np.int64)
    for seed in range(num_seeds):
        _, info = env.reset(seed=seed)
        _, _, _, _, step_info = env.step(0)
        (opponent,) = step_info["opponent_actions"]["player_0"]
        draws[seed] = info["state"], info["expert_action"], opponent
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        agree = np.mean(draws[:, i] == draws[:, j])
        assert 0.4 < agree < 0.6, (i, j, agree)
    # the env's own stream is the plain seed's, as in PettingZoo's envs
    initial = [int(np.random.default_rng(s).random() >= 0.5) for s in range(num_seeds)]
    assert draws[:, 0].tolist() == initial
    # and seeded runs stay reproducible
    for seed in (0, 7):
        _, info = env.reset(seed=seed)
        _, _, _, _, step_info = env.step(0)
        assert (
            info["state"],
            info["expert_action"],
            step_info["opponent_actions"]["player_0"][0],
        ) == tuple(draws[seed])


def test_expert_opponent_is_independent_of_the_env():
    # /tmp/review/corr.py: the frozen opponent replays player_0's label
    env = FrozenOpponentWrapper(
        ParallelExpertQueryWrapper(
            TabularParallelEnv(_two_state_coin()), uniform_policy, agents=["player_0"]
        ),
        "player_1",
        opponent="expert",
    )
    agree = []
    for seed in range(400):
        _, info = env.reset(seed=seed)
        _, _, _, _, step_info = env.step(0)
        agree.append(step_info["opponent_actions"]["player_0"][0] == info["state"])
    assert 0.4 < np.mean(agree) < 0.6


class _ShapeLog:
    """A tilted batched policy that logs the mask shape of every call."""

    def __init__(self):
        self.calls: list[tuple[int, ...]] = []

    def __call__(self, obs, masks):
        self.calls.append(masks.shape)
        return tilted(obs, masks)


@pytest.mark.parametrize(
    ("controlled", "batches"),
    [("player_0", [(1, 3), (1, 2)]), ("player_1", [(2, 2)])],
)
def test_parallel_opponents_sharing_a_policy_with_different_action_counts(
    controlled, batches
):
    # /tmp/review/frozen2.py: player_1 has 3 actions, the others 2; agents
    # sharing the policy are stacked only when their masks have equal shapes.
    game = make_random_general_sum_game(num_states=6, num_actions=(2, 3, 2), seed=3)
    policy = _ShapeLog()
    seen = []
    env = FrozenOpponentWrapper(
        TabularParallelEnv(game),
        controlled,
        policy,
        on_opponent_action=lambda *args: seen.append(args),
        seed=0,
    )
    env.reset(seed=0)
    for _ in range(5):
        policy.calls.clear()
        _, _, _, _, info = env.step(0)
        assert policy.calls == batches
        assert sorted(info["opponent_actions"]) == sorted(
            a for a in env.env.possible_agents if a != controlled
        )
    for agent, _obs, mask, action, probs in seen:
        num_actions = game.num_actions[int(agent[-1])]
        assert mask.shape == probs.shape == (num_actions,) and mask[action]
        np.testing.assert_array_equal(probs, tilted(None, mask[None])[0])
