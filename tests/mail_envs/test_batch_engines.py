"""The batch engines play the PettingZoo envs' games, game by game.

For seeded random action sequences (mostly legal moves, some illegal ones),
every game of a batch is replayed in its own ``mail/tictactoe-v0`` or
``mail/connect4-v0`` env and the observations of both agents, the mover's
mask, the rewards, terminations and truncations are compared step by step,
with and without auto-reset, on numpy and on torch (CPU).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pettingzoo.utils.env_logger import EnvLogger

from mail_envs.batch import Connect4Batch, CounterRandom, TicTacToeBatch
from mail_envs.batch.connect4 import legal_code
from mail_envs.batch.core import BatchGame
from mail_envs.connect4 import Connect4Env, rules
from mail_envs.tictactoe import TicTacToeEnv

GAMES = {
    "tictactoe": (TicTacToeBatch, TicTacToeEnv),
    "connect4": (Connect4Batch, Connect4Env),
}


def _np(x):
    return x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _compare_before_move(batch: BatchGame, envs: list) -> None:
    planes = [_np(batch.observation(seat)) for seat in (0, 1)]
    masks = [_np(batch.action_mask(seat)) for seat in (0, 1)]
    mover_planes = _np(batch.observation())
    mover_mask = _np(batch.action_mask())
    players = _np(batch.current_player)
    for g, env in enumerate(envs):
        seat = env.possible_agents.index(env.agent_selection)
        assert players[g] == seat
        for s, agent in enumerate(env.possible_agents):
            obs = env.observe(agent)
            np.testing.assert_array_equal(planes[s][g], obs["observation"])
            np.testing.assert_array_equal(masks[s][g], obs["action_mask"])
        np.testing.assert_array_equal(mover_planes[g], planes[seat][g])
        np.testing.assert_array_equal(mover_mask[g], masks[seat][g])


def _play(game: str, device, autoreset: bool, num_games: int, steps: int, seed: int):
    batch_cls, env_cls = GAMES[game]
    batch = batch_cls(num_games, device=device, autoreset=autoreset)
    envs = [env_cls() for _ in range(num_games)]
    for env in envs:
        env.reset()
    rng = np.random.default_rng(seed)
    num_ended = 0
    for _ in range(steps):
        _compare_before_move(batch, envs)
        legal = _np(batch.action_mask())
        random_legal = (rng.random(legal.shape) * legal).argmax(axis=1)
        anything = rng.integers(0, batch.num_actions, num_games)
        actions = np.where(rng.random(num_games) < 0.05, anything, random_legal)
        out = batch.step(actions)
        rewards, terminated, truncated = (
            _np(out.rewards),
            _np(out.terminated),
            _np(out.truncated),
        )
        for g, env in enumerate(envs):
            env.step(int(actions[g]))
            for s, agent in enumerate(env.possible_agents):
                assert rewards[g, s] == env.rewards[agent]
                assert terminated[g] == env.terminations[agent]
                assert truncated[g] == env.truncations[agent]
        done = terminated
        num_ended += int(done.sum())
        if not autoreset and done.any():
            # Finished games keep their final board: both agents' planes agree.
            final = [_np(batch.observation(seat)) for seat in (0, 1)]
            for g in np.flatnonzero(done):
                for s, agent in enumerate(envs[g].possible_agents):
                    np.testing.assert_array_equal(
                        final[s][g], envs[g].observe(agent)["observation"]
                    )
            assert not _np(batch.action_mask())[done].any()
            batch.reset(torch.as_tensor(done) if device else done)
        for g in np.flatnonzero(done):
            envs[g].reset()
    return num_ended


@pytest.fixture(autouse=True)
def _quiet():
    EnvLogger.suppress_output()
    yield
    EnvLogger.unsuppress_output()


@pytest.mark.parametrize("game", sorted(GAMES))
@pytest.mark.parametrize("device", [None, "cpu"])
@pytest.mark.parametrize("autoreset", [True, False])
def test_batch_matches_pettingzoo_env_game_by_game(game, device, autoreset):
    steps = 120 if game == "tictactoe" else 200
    ended = _play(game, device, autoreset, num_games=24, steps=steps, seed=1)
    assert ended > 24  # many games ended (and restarted) along the way


@pytest.mark.parametrize("game", sorted(GAMES))
def test_torch_and_numpy_give_identical_games(game):
    batch_cls, _ = GAMES[game]
    a, b = batch_cls(64), batch_cls(64, device="cpu")
    ra, rb = CounterRandom(a.backend, 64, 3), CounterRandom(b.backend, 64, 3)
    for _ in range(60):
        acts_a = a.random_actions(ra.uniform())
        acts_b = b.random_actions(rb.uniform())
        np.testing.assert_array_equal(acts_a, acts_b.numpy())
        oa, ob = a.step(acts_a), b.step(acts_b)
        np.testing.assert_array_equal(oa.rewards, ob.rewards.numpy())
        np.testing.assert_array_equal(oa.terminated, ob.terminated.numpy())
        np.testing.assert_array_equal(a.observation(), b.observation().numpy())
        np.testing.assert_array_equal(a.action_mask(), b.action_mask().numpy())


@pytest.mark.parametrize("game", sorted(GAMES))
def test_random_actions_are_legal_and_cover_every_legal_move(game):
    batch_cls, _ = GAMES[game]
    batch = batch_cls(2000)
    rng = CounterRandom(batch.backend, 2000, 0)
    for _ in range(3):  # a few plies into the games
        batch.step(batch.random_actions(rng.uniform()))
    mask = batch.action_mask()
    seen = np.zeros_like(mask)
    for _ in range(150):  # a legal move is missed with probability < 1e-9
        actions = batch.random_actions(rng.uniform())
        assert mask[np.arange(2000), actions].all()
        seen[np.arange(2000), actions] = True
    np.testing.assert_array_equal(seen, mask)


@pytest.mark.parametrize("game", sorted(GAMES))
def test_bad_actions_raise_naming_the_game(game):
    batch_cls, _ = GAMES[game]
    batch = batch_cls(3)
    with pytest.raises(ValueError, match="game 1"):
        batch.step(np.array([0, batch.num_actions, -1]))
    with pytest.raises(ValueError, match="integer array"):
        batch.step(np.zeros(3))
    with pytest.raises(ValueError, match=r"\(3,\)"):
        batch.step(np.zeros(4, dtype=np.int64))
    for bad in (0, -1, 2.5, float("nan"), "3", True, None):
        with pytest.raises(ValueError, match="num_games"):
            batch_cls(bad)
    with pytest.raises(ValueError, match="device"):
        batch_cls(2, device="not-a-device")
    with pytest.raises(ValueError, match="seat"):
        batch.observation(2)


@pytest.mark.parametrize("game", sorted(GAMES))
def test_illegal_move_ends_only_its_game(game):
    batch_cls, _ = GAMES[game]
    batch = batch_cls(2, autoreset=False)
    if game == "connect4":  # fill column 0 in both games
        for _ in range(6):
            batch.step(np.array([0, 0]))
        batch.step(np.array([3, 3]))
    else:
        batch.step(np.array([0, 0]))
    # The second mover plays a legal move in game 0, the taken cell or full
    # column 0 in game 1: that game alone ends, its mover loses.
    out = batch.step(np.array([1, 0]))
    assert out.terminated.tolist() == [False, True]
    assert out.truncated.tolist() == [False, True]
    assert out.rewards.tolist() == [[0, 0], [0, -1]]
    assert batch.finished.tolist() == [False, True]
    out = batch.step(np.array([2, 2]))  # the finished game ignores its action
    assert out.outcome.tolist()[1] == 0
    assert batch.current_player.tolist() == [1, 1]


def test_active_mask_moves_only_those_games():
    batch = TicTacToeBatch(3)
    out = batch.step(np.array([4, 4, 4]), active=np.array([True, False, True]))
    assert batch.states.tolist()[1] == 0
    assert out.outcome.tolist() == [0, 0, 0]
    assert batch.current_player.tolist() == [1, 0, 1]


def test_counter_random_is_per_game_whatever_the_batch_size():
    small = CounterRandom(TicTacToeBatch(1).backend, 4, seed=11)
    large = CounterRandom(TicTacToeBatch(1).backend, 64, seed=11)
    active = np.zeros(64, dtype=bool)
    active[:4] = True
    for _ in range(5):
        np.testing.assert_array_equal(small.uniform(), large.uniform(active)[:4])
    torch_rng = CounterRandom(TicTacToeBatch(1, device="cpu").backend, 4, seed=11)
    for _ in range(5):
        torch_rng.uniform()
    np.testing.assert_array_equal(small.uniform(), torch_rng.uniform().numpy())


def test_legal_code_of_every_top_row():
    for code in range(128):
        mask = sum(rules.column_mask(c) for c in range(7) if code >> c & 1)
        assert int(legal_code(np.array([mask], dtype=np.int64))[0]) == 127 ^ code


def test_connect4_batch_memory_is_small():
    batch = Connect4Batch(65_536)
    nbytes = sum(a.nbytes for a in (batch.current, batch.mask, batch.player))
    nbytes += batch.finished.nbytes
    assert nbytes < 2_000_000


def test_connect4_random_column_table_is_floor_u_times_n():
    # One lookup at (code, floor(420 u)) is the k = floor(u n)-th legal column,
    # for every legal code, on a grid finer than the slots and random uniforms
    # (exactly on a slot edge k / 420 the two roundings may differ).
    games = Connect4Batch(1)
    u = (np.arange(4200) + 0.5) / 4200
    u = np.concatenate([u, np.random.default_rng(0).random(2000), [0.0]])
    for code in range(128):
        legal = [c for c in range(7) if code >> c & 1]
        games.mask = sum(
            (rules.column_mask(c) for c in range(7) if not code >> c & 1),
            np.zeros(len(u), dtype=np.int64),
        )
        games._code_of = None
        got = games.random_actions(u)
        want = np.array([legal[int(x * len(legal))] for x in u]) if legal else 0
        np.testing.assert_array_equal(got, want)


def test_connect4_numpy_row_keys_match_the_generic_ones():
    from mail_envs.batch.connect4 import _row_keys, _row_keys_numpy, connect4_tables

    t = connect4_tables()
    batch = Connect4Batch(256)
    rng = CounterRandom(batch.backend, 256, 5)
    for _ in range(30):
        batch.step(batch.random_actions(rng.uniform()))
        own, opp = batch.current, batch.current ^ batch.mask
        np.testing.assert_array_equal(
            _row_keys_numpy(own, opp, t["row_masks"], t["row_gathers_top"]),
            _row_keys(own, opp, t["row_masks"], t["row_gathers"]).T,
        )
