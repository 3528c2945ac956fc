"""Tests for the exact Tic-Tac-Toe tabular model.

Known values: 5,478 legal positions (reachable boards) and 958 terminal ones,
of which 626 are won by X, 316 by O and 16 drawn (UCI "Tic-Tac-Toe Endgame"
data set: 958 boards, 626 X wins); 255,168 possible games, of which X wins
131,184, O wins 77,904 and 46,080 are drawn (Wikipedia, "Tic-tac-toe",
Combinatorics, after H. Bottomley). Every count is also recomputed here by an
independent plain-Python search.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from mail_envs.tictactoe import env, make_tictactoe_game, rules, tictactoe_states


def _python_reachable() -> dict[tuple[int, ...], int]:
    """Every reachable board -> its winner (0/1/2, or 3 for a draw), by DFS."""
    seen: dict[tuple[int, ...], int] = {}

    def visit(board: tuple[int, ...], mark: int) -> None:
        if board in seen:
            return
        won = 0
        for a, b, c in rules.WIN_LINES.tolist():
            if board[a] and board[a] == board[b] == board[c]:
                won = board[a]
        seen[board] = won if won else (3 if 0 not in board else 0)
        if seen[board]:
            return
        for cell in range(9):
            if board[cell] == 0:
                visit((*board[:cell], mark, *board[cell + 1 :]), 3 - mark)

    visit((0,) * 9, 1)
    return seen


def test_state_counts_match_known_values_and_an_independent_search():
    st = tictactoe_states()
    reference = _python_reachable()
    assert st.num_states == len(reference) == 5478
    assert int((~st.terminal).sum()) == 4520
    assert int(st.terminal.sum()) == 958
    assert int((st.winner == rules.X).sum()) == 626
    assert int((st.winner == rules.O).sum()) == 316
    assert int((st.terminal & (st.winner == rules.EMPTY)).sum()) == 16
    assert {tuple(b) for b in st.boards.tolist()} == set(reference)
    outcome = np.array([reference[tuple(b)] for b in st.boards.tolist()])
    np.testing.assert_array_equal(outcome == 1, st.winner == rules.X)
    np.testing.assert_array_equal(outcome != 0, st.terminal)


def test_number_of_games_by_path_counting_on_the_model():
    game = make_tictactoe_game()
    st = tictactoe_states()
    paths = np.zeros(game.num_states)
    paths[0] = 1.0
    ended = np.zeros(3)  # X wins, O wins, draws
    for depth in range(9):
        layer = np.flatnonzero((st.depth == depth) & ~st.terminal)
        mover = st.mover[layer]
        for player in (0, 1):
            rows = layer[mover == player]
            mask = game.legal_masks[player][rows]
            r, a = np.nonzero(mask)
            joint = a * 9 if player == 0 else a
            np.add.at(paths, game.next_states[rows[r], joint, 0], paths[rows[r]])
    final = st.terminal
    ended[0] = paths[final & (st.winner == rules.X)].sum()
    ended[1] = paths[final & (st.winner == rules.O)].sum()
    ended[2] = paths[final & (st.winner == rules.EMPTY)].sum()
    assert ended.tolist() == [131184, 77904, 46080]
    assert ended.sum() == 255168


def test_game_arrays_follow_the_conventions():
    game = make_tictactoe_game()
    st = tictactoe_states()
    assert game.num_actions == (9, 9) and game.num_states == 5478
    assert game.gamma == 1.0 and game.horizon == 9
    assert game.is_zero_sum and game.is_deterministic
    assert game.player_names == ("player_1", "player_2")
    assert game.initial_distribution[0] == 1.0 and st.boards[0].tolist() == [0] * 9
    np.testing.assert_array_equal(game.terminal, st.terminal)
    noop = np.eye(1, 9, dtype=bool)[0]
    for player in (0, 1):
        mask = game.legal_masks[player]
        moving = st.mover == player
        np.testing.assert_array_equal(mask[moving], st.boards[moving] == 0)
        assert np.all(mask[~moving] == noop)
        np.testing.assert_array_equal(
            game.observations[player], rules.observation_planes(st.boards, player)
        )
        assert game.observations[player].dtype == np.int8
    # Rewards: +1/-1 exactly on winning moves, so every game pays out once.
    assert set(np.unique(game.rewards)) == {-1.0, 0.0, 1.0}
    assert np.all(game.rewards[:, game.terminal] == 0)
    assert game.state_labels[1] == "X........"


def test_env_and_model_agree_along_random_games():
    game = make_tictactoe_game()
    st = tictactoe_states()
    rng = np.random.default_rng(1)
    e = env()
    for _ in range(200):
        e.reset()
        s = 0
        while not any(e.terminations.values()):
            agent = e.agent_selection
            player = e.possible_agents.index(agent)
            assert st.state_index(e.board) == s
            obs = e.observe(agent)
            np.testing.assert_array_equal(
                obs["observation"], game.observations[player][s]
            )
            np.testing.assert_array_equal(obs["action_mask"], st.action_masks[s])
            assert st.mover_states(obs["observation"]) == s
            action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            joint = action * 9 if player == 0 else action
            e.step(action)
            s_next = int(game.next_states[s, joint, 0])
            assert st.state_index(e.board) == s_next == st.children[s, action]
            assert [game.rewards[i, s, joint] for i in (0, 1)] == [
                e.rewards[a] for a in e.possible_agents
            ]
            s = s_next
        assert game.terminal[s]


def test_lookups_reject_unreachable_boards():
    st = tictactoe_states()
    with pytest.raises(ValueError, match="not reachable"):
        st.state_index(np.array([1, 1, 1, 1, 0, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match="0, 1, 2"):
        st.state_index(np.array([3, 0, 0, 0, 0, 0, 0, 0, 0]))
    assert st.index_of_code[rules.encode(np.array([2] + [0] * 8))] == -1
    # A terminal board seen by "the mover" is no decision state.
    won = np.array([1, 1, 1, 2, 2, 0, 0, 0, 0], dtype=np.int8)
    assert st.mover_states(rules.observation_planes(won, 1)) == -1


def test_model_is_cached_and_fast_to_build():
    assert make_tictactoe_game() is make_tictactoe_game()
    start = time.perf_counter()
    tictactoe_states.__wrapped__()
    make_tictactoe_game.__wrapped__()
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"building the model took {elapsed:.3f} s (target < 0.2 s)"
