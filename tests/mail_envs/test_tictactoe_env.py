"""Tests for the mail/tictactoe-v0 AEC and Parallel envs.

The reference for every behaviour is PettingZoo's own ``classic/tictactoe-v3``
(with its default wrappers), played side by side with ours.
"""

from __future__ import annotations

import pickle

import numpy as np
import pettingzoo
import pytest
from pettingzoo.test import api_test, parallel_api_test, seed_test
from pettingzoo.utils.env_logger import EnvLogger

import mail_envs  # noqa: F401 - registers mail/tictactoe-v0
from mail_envs.tictactoe import TicTacToeEnv, env, parallel_env, raw_env


@pytest.fixture
def quiet_illegal_moves():
    """Silence PettingZoo's illegal-move warning (both envs log it)."""
    EnvLogger.suppress_output()
    yield
    EnvLogger.unsuppress_output()


def _pz_env():
    return pettingzoo.make("aec", "classic/tictactoe-v3")


def _snapshot(e) -> dict:
    """Everything an agent or a wrapper can read from an AEC env."""
    snap = {
        "agents": list(e.agents),
        "agent_selection": e.agent_selection,
        "rewards": dict(e.rewards),
        "terminations": dict(e.terminations),
        "truncations": dict(e.truncations),
        "infos": {a: dict(i) for a, i in e.infos.items()},
        "cumulative": dict(e._cumulative_rewards),
        "observations": {a: e.observe(a) for a in e.possible_agents},
    }
    if e.agents:
        snap["last"] = e.last()
    return snap


def _same(a, b) -> bool:
    """Strict equality: same types, dtypes, shapes, values and key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


def _assert_same(ours: dict, theirs: dict, where: str) -> None:
    assert ours.keys() == theirs.keys(), where
    for key in ours:
        assert _same(ours[key], theirs[key]), (
            f"{where}: {key} differs:\nours   {ours[key]}\ntheirs {theirs[key]}"
        )


def _play_side_by_side(ours, theirs, seed: int, illegal_share: float) -> int:
    """Play one seeded random game in both envs, comparing after every call."""
    rng = np.random.default_rng(seed)
    ours.reset(seed=seed)
    theirs.reset(seed=seed)
    illegal_at = int(rng.integers(1, 9)) if rng.random() < illegal_share else -1
    _assert_same(_snapshot(ours), _snapshot(theirs), f"seed {seed} reset")
    steps = 0
    while ours.agents:
        obs, _, terminated, truncated, _ = ours.last()
        if terminated or truncated:
            action = None
        elif steps == illegal_at:
            action = int(rng.choice(np.flatnonzero(obs["action_mask"] == 0)))
        else:
            action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        ours.step(action)
        theirs.step(action)
        steps += 1
        _assert_same(_snapshot(ours), _snapshot(theirs), f"seed {seed} step {steps}")
    assert not theirs.agents
    return steps


def test_side_by_side_with_pettingzoo_tictactoe_v3(quiet_illegal_moves):
    """2,000 seeded random games, a fifth of them ending in an illegal move."""
    ours, theirs = env(), _pz_env()
    steps = sum(
        _play_side_by_side(ours, theirs, seed, illegal_share=0.2)
        for seed in range(2000)
    )
    assert steps > 2000 * 6


def test_every_illegal_move_position_matches(quiet_illegal_moves):
    """An illegal move by either player, at every depth it can happen."""
    for seed in range(2000, 2100):  # fresh envs: the first game after creation
        _play_side_by_side(env(), _pz_env(), seed, illegal_share=1.0)


def test_api_test():
    api_test(env(), num_cycles=300)


def test_parallel_api_test():
    parallel_api_test(parallel_env(), num_cycles=300)


def test_seed_test():
    seed_test(env, num_cycles=10)


def test_registered_in_pettingzoo():
    assert isinstance(pettingzoo.make("aec", "mail/tictactoe-v0"), TicTacToeEnv)
    par = pettingzoo.make("parallel", "mail/tictactoe-v0")
    observations, _ = par.reset(seed=0)
    assert set(observations) == {"player_1", "player_2"}
    assert raw_env is TicTacToeEnv


def test_parallel_env_plays_a_game_like_the_aec_env():
    par = parallel_env()
    observations, _ = par.reset()
    moves = [0, 3, 1, 4, 2]  # player_1 completes cells 0, 1, 2
    for move in moves:
        mover = (
            "player_1" if observations["player_1"]["action_mask"].any() else "player_2"
        )
        observations, rewards, terminations, _, _ = par.step(
            {a: (move if a == mover else 0) for a in par.agents}
        )
    assert rewards == {"player_1": 1, "player_2": -1}
    assert all(terminations.values())
    assert par.agents == []


def test_out_of_bounds_actions_raise_value_error():
    e = env()
    e.reset()
    for action in (-1, 9, 2.0, None, "3", np.array([1])):
        with pytest.raises(ValueError, match="not in the action space"):
            e.step(action)
    e.step(np.int64(4))
    e.step(np.array(0, dtype=np.int32))
    assert e.board.tolist() == [2, 0, 0, 0, 1, 0, 0, 0, 0]


def test_finished_agent_must_pass_none():
    e = env()
    e.reset()
    for move in (0, 3, 1, 4, 2):
        e.step(move)
    with pytest.raises(ValueError, match="only valid action is None"):
        e.step(5)


def test_call_order_is_enforced_before_reset():
    e = env()
    with pytest.raises(AttributeError):
        _ = e.agents
    with pytest.raises(AttributeError):
        _ = e.rewards
    for call in (lambda: e.step(0), lambda: e.observe("player_1"), e.render):
        with pytest.raises(AssertionError, match="reset"):
            call()


def test_observe_unknown_agent_raises():
    e = env()
    e.reset()
    with pytest.raises(ValueError, match="player_3"):
        e.observe("player_3")


def test_observation_planes_are_from_the_observer_perspective():
    e = env()
    e.reset()
    e.step(0)  # X at cell 0 = planes[0, 0]
    e.step(5)  # O at cell 5 = planes[1, 2]
    p1 = e.observe("player_1")
    p2 = e.observe("player_2")
    assert p1["observation"][0, 0].tolist() == [1, 0]
    assert p1["observation"][1, 2].tolist() == [0, 1]
    np.testing.assert_array_equal(p2["observation"], p1["observation"][..., ::-1])
    assert p1["action_mask"].tolist() == [0, 1, 1, 1, 1, 0, 1, 1, 1]
    assert not p2["action_mask"].any()


def test_render_modes():
    e = env(render_mode="ansi")
    e.reset()
    e.step(0)
    e.step(4)
    e.step(3)
    assert e.render() == (
        " X | X | .\n---+---+---\n . | O | .\n---+---+---\n . | . | ."
    )
    with pytest.raises(ValueError, match="rgb"):
        env(render_mode="rgb")


def test_human_render_prints_every_move(capsys):
    e = env(render_mode="human")
    e.reset()
    e.step(4)
    assert " . | X | ." in capsys.readouterr().out


def test_no_render_mode_warns_and_returns_none():
    e = env()
    e.reset()
    with pytest.warns(UserWarning, match="render"):
        assert e.render() is None


def test_pickle_round_trip():
    e = env(render_mode="ansi")
    clone = pickle.loads(pickle.dumps(e))
    assert clone.render_mode == "ansi"
    clone.reset()
    clone.step(4)
    assert clone.board[4] == 1
