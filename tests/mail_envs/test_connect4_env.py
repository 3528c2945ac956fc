"""The Connect Four env against PettingZoo's ``connect_four_v3``, plus API tests."""

from __future__ import annotations

import pickle

import numpy as np
import pettingzoo
import pytest
from pettingzoo.classic.connect_four import connect_four as connect_four_v3
from pettingzoo.test import api_test, parallel_api_test, seed_test
from pettingzoo.utils.env_logger import EnvLogger

import mail_envs  # noqa: F401 - registers mail/connect4-v0
from mail_envs.connect4 import Connect4Env, env, parallel_env, raw_env


def _same_obs(a: dict, b: dict) -> bool:
    return (
        a.keys() == b.keys()
        and all(a[k].dtype == b[k].dtype for k in a)
        and all(np.array_equal(a[k], b[k]) for k in a)
    )


def _play_side_by_side(seed: int, illegal_prob: float) -> tuple[int, bool]:
    """Play one seeded random game in both envs, comparing everything each step.

    With probability ``illegal_prob`` an agent that has a full column to choose
    plays into it (PettingZoo's illegal-move rule then ends the game).

    Returns:
        (number of steps, whether the game ended by an illegal move).
    """
    rng = np.random.default_rng(seed)
    ours, theirs = env(), connect_four_v3.env()
    ours.reset(seed=seed)
    theirs.reset(seed=seed)
    steps, illegal = 0, False
    while theirs.agents:
        assert ours.agents == theirs.agents
        assert ours.agent_selection == theirs.agent_selection
        for other in theirs.agents:
            assert _same_obs(ours.observe(other), theirs.observe(other)), (seed, steps)
        obs, reward, term, trunc, info = theirs.last()
        o_obs, o_reward, o_term, o_trunc, o_info = ours.last()
        assert _same_obs(o_obs, obs)
        assert (o_reward, o_term, o_trunc, o_info) == (reward, term, trunc, info)
        assert type(o_reward) is type(reward)
        assert ours.rewards == theirs.rewards
        assert ours._cumulative_rewards == theirs._cumulative_rewards
        assert ours.terminations == theirs.terminations
        assert ours.truncations == theirs.truncations
        if term or trunc:
            action = None
        else:
            legal = np.flatnonzero(obs["action_mask"])
            full = np.flatnonzero(obs["action_mask"] == 0)
            if full.size and rng.random() < illegal_prob:
                action = int(rng.choice(full))
                illegal = True
            else:
                action = int(rng.choice(legal))
        ours.step(action)
        theirs.step(action)
        steps += 1
    assert ours.agents == theirs.agents == []
    assert ours.agent_selection == theirs.agent_selection
    assert ours.rewards == theirs.rewards == {}
    EnvLogger.flush()
    return steps, illegal


def _check_games(seeds: range, illegal_prob: float) -> int:
    EnvLogger.suppress_output()
    try:
        return sum(_play_side_by_side(s, illegal_prob)[1] for s in seeds)
    finally:
        EnvLogger.unsuppress_output()


def test_matches_pettingzoo_random_games() -> None:
    assert _check_games(range(300), 0.0) == 0


def test_matches_pettingzoo_with_illegal_moves() -> None:
    # Illegal moves exist only once a column is full; 0.3 makes them common.
    assert _check_games(range(10_000, 10_100), 0.3) > 20


@pytest.mark.slow
def test_matches_pettingzoo_2000_games() -> None:
    _check_games(range(20_000, 22_000), 0.0)
    assert _check_games(range(30_000, 30_500), 0.3) > 100


def test_illegal_move_ends_game_like_pettingzoo() -> None:
    game = env()
    game.reset()
    for _ in range(6):
        game.step(0)
    assert game.observe("player_0")["action_mask"].tolist() == [0, 1, 1, 1, 1, 1, 1]
    EnvLogger.suppress_output()
    try:
        game.step(0)  # player_0 plays into the full column 0
    finally:
        EnvLogger.unsuppress_output()
        EnvLogger.flush()
    assert game.rewards == {"player_0": -1.0, "player_1": 0}
    assert game.terminations == game.truncations == {"player_0": True, "player_1": True}
    assert game.agent_selection == "player_0"


def test_win_rewards_and_dead_steps() -> None:
    game = env()
    game.reset()
    for col in (3, 4, 3, 4, 3, 4):
        game.step(col)
    assert not any(game.terminations.values())
    game.step(3)  # four in column 3 for player_0
    assert game.rewards == {"player_0": 1, "player_1": -1}
    assert game.agent_selection == "player_1"
    with pytest.raises(ValueError, match="None"):
        game.step(0)
    game.step(None)
    assert game.agents == ["player_0"]
    assert game.last()[1] == 1
    game.step(None)
    assert game.agents == []


@pytest.mark.parametrize("action", [7, -1, None, 2.5, "3", np.int64(9)])
def test_action_outside_space_raises(action: object) -> None:
    game = env()
    game.reset()
    with pytest.raises(ValueError, match="action space"):
        game.step(action)


def test_numpy_integer_actions_accepted() -> None:
    game = env()
    game.reset()
    game.step(np.int64(3))
    assert game.observe("player_0")["observation"][5, 3, 0] == 1


def test_step_before_reset_is_an_error() -> None:
    with pytest.raises(AssertionError):
        env().step(0)


def test_registered_and_api_tests_pass() -> None:
    made = pettingzoo.make("aec", "mail/connect4-v0")
    assert isinstance(made, Connect4Env)
    assert raw_env is Connect4Env
    api_test(env(), num_cycles=300, verbose_progress=False)
    parallel_api_test(parallel_env(), num_cycles=300)
    seed_test(env, num_cycles=100)


def test_parallel_env_plays_a_game() -> None:
    par = pettingzoo.make("parallel", "mail/connect4-v0")
    observations, _ = par.reset(seed=0)
    assert set(observations) == {"player_0", "player_1"}
    moves = iter([3, 4, 3, 4, 3, 4, 3])
    mover = "player_0"
    while par.agents:
        actions = {a: (next(moves) if a == mover else 0) for a in par.agents}
        _, rewards, terms, _, _ = par.step(actions)
        mover = "player_1" if mover == "player_0" else "player_0"
    assert rewards == {"player_0": 1, "player_1": -1}
    assert all(terms.values())


def test_render_ansi_and_human(capsys: pytest.CaptureFixture[str]) -> None:
    game = env(render_mode="ansi")
    game.reset()
    game.step(3)
    game.step(3)
    text = game.render()
    assert text is not None
    lines = text.splitlines()
    assert lines[-1] == "0 1 2 3 4 5 6"
    assert lines[-2] == ". . . X . . ."
    assert lines[-3] == ". . . O . . ."
    human = env(render_mode="human")
    human.reset()
    human.step(0)
    assert "X . . . . . ." in capsys.readouterr().out
    with pytest.raises(ValueError, match="rgb"):
        env(render_mode="rgb")


def test_pickle_roundtrip() -> None:
    game = pickle.loads(pickle.dumps(env(render_mode="ansi")))
    game.reset()
    assert game.render_mode == "ansi"
