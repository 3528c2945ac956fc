"""Tests for the minimax Tic-Tac-Toe expert.

Known values (Wikipedia, "Tic-tac-toe", Strategy): perfect play draws; every
opening move draws; a corner opening must be answered in the centre, a centre
opening in a corner, and an edge opening in the centre, a corner next to the X
or the opposite edge. Game values are also recomputed by a plain-Python
memoized negamax on board tuples, independent of the vectorized sweep.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pettingzoo
import pytest

from mail_envs.tictactoe import env, make_tictactoe_game, rules, tictactoe_states
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert, minimax_tables


def _won(board: tuple[int, ...]) -> bool:
    return any(
        board[a] and board[a] == board[b] == board[c]
        for a, b, c in rules.WIN_LINES.tolist()
    )


@cache
def _negamax(board: tuple[int, ...]) -> tuple[int, int]:
    """(value, plies to the end) for the mover: fastest win, slowest loss."""
    mark = 1 if board.count(1) == board.count(2) else 2
    best: tuple[int, int] | None = None
    for cell in range(9):
        if board[cell]:
            continue
        child = (*board[:cell], mark, *board[cell + 1 :])
        if _won(child):
            outcome = (1, 1)
        elif 0 not in child:
            outcome = (0, 1)
        else:
            value, plies = _negamax(child)
            outcome = (-value, plies + 1)
        if best is None or _better(outcome, best):
            best = outcome
    assert best is not None
    return best


def _better(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Higher value first; then quicker wins and slower losses."""
    if a[0] != b[0]:
        return a[0] > b[0]
    return a[1] < b[1] if a[0] > 0 else a[1] > b[1] if a[0] < 0 else False


def _move_outcomes(board: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    mark = 1 if board.count(1) == board.count(2) else 2
    out = {}
    for cell in range(9):
        if board[cell]:
            continue
        child = (*board[:cell], mark, *board[cell + 1 :])
        if _won(child):
            out[cell] = (1, 1)
        elif 0 not in child:
            out[cell] = (0, 1)
        else:
            value, plies = _negamax(child)
            out[cell] = (-value, plies + 1)
    return out


def _state(cells_x=(), cells_o=()) -> int:
    board = np.zeros(9, dtype=np.int8)
    board[list(cells_x)] = 1
    board[list(cells_o)] = 2
    return int(tictactoe_states().state_index(board))


def test_values_and_optimal_moves_match_plain_python_negamax():
    st = tictactoe_states()
    tables = minimax_tables()
    optimal = tables.optimal_moves()
    fastest = tables.optimal_moves(prefer_fastest_win=True)
    for s in np.flatnonzero(~st.terminal):
        board = tuple(st.boards[s].tolist())
        outcomes = _move_outcomes(board)
        value = max(v for v, _ in outcomes.values())
        assert tables.values[s] == value == _negamax(board)[0]
        assert set(np.flatnonzero(optimal[s])) == {
            c for c, o in outcomes.items() if o[0] == value
        }
        best = _negamax(board)
        assert set(np.flatnonzero(fastest[s])) == {
            c for c, o in outcomes.items() if o == best
        }
    assert not optimal[st.terminal].any()


def test_known_opening_theory():
    tables = minimax_tables()
    optimal = tables.optimal_moves()
    assert tables.values[0] == 0.0
    assert optimal[0].all()  # every opening move draws
    assert np.flatnonzero(optimal[_state([0])]).tolist() == [4]  # corner -> centre
    assert np.flatnonzero(optimal[_state([4])]).tolist() == [
        0,
        2,
        6,
        8,
    ]  # centre -> corner
    # edge (cell 1, top middle) -> centre, adjacent corners 0 and 2, opposite edge 7
    assert np.flatnonzero(optimal[_state([1])]).tolist() == [0, 2, 4, 7]


def test_fastest_win_prefers_the_immediate_win():
    st = tictactoe_states()
    fastest = minimax_tables().optimal_moves(prefer_fastest_win=True)
    wins_now = rules.winning_move(st.boards) & ~st.terminal[:, None]
    can_win = wins_now.any(axis=1)
    np.testing.assert_array_equal(fastest[can_win], wins_now[can_win])
    # X: 0, 1; O: 3, 7; X to move. Cell 2 wins at once; 4 and 8 win later (forks).
    s = _state([0, 1], [3, 7])
    assert np.flatnonzero(minimax_tables().q_values[s] == 1.0).tolist() == [2, 4, 8]
    assert np.flatnonzero(fastest[s]).tolist() == [2]


def test_policies_uniform_and_deterministic():
    game = make_tictactoe_game()
    st = tictactoe_states()
    optimal = minimax_tables().optimal_moves()
    uniform = game.policy_table(0, TicTacToeMinimaxExpert())
    det = game.policy_table(0, TicTacToeMinimaxExpert(policy="deterministic"))
    x_moves = st.mover == 0
    counts = optimal[x_moves].sum(axis=1, keepdims=True)
    np.testing.assert_allclose(uniform[x_moves], optimal[x_moves] / counts)
    np.testing.assert_array_equal(
        det[x_moves].argmax(axis=1), optimal[x_moves].argmax(axis=1)
    )
    assert np.all(det[x_moves].max(axis=1) == 1.0)
    with pytest.raises(ValueError, match="policy"):
        TicTacToeMinimaxExpert(policy="greedy")  # type: ignore[arg-type]


def test_rows_that_are_not_the_movers_decision():
    expert = TicTacToeMinimaxExpert()
    e = env()
    e.reset()
    e.step(4)
    waiting = e.observe("player_1")  # X waits: all-zero mask
    assert not expert(waiting["observation"], waiting["action_mask"]).any()
    # The model's no-op row for the waiting player: all mass on action 0.
    noop = np.eye(1, 9, dtype=bool)[0]
    np.testing.assert_array_equal(expert(waiting["observation"], noop), noop)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="no legal action"):
        expert.sample(waiting["observation"][None], waiting["action_mask"][None], rng)
    with pytest.raises(ValueError, match="observations"):
        expert(np.zeros((2, 9)), np.ones((2, 9)))
    with pytest.raises(ValueError, match="action_masks"):
        expert(np.zeros((2, 3, 3, 2)), np.ones((3, 9)))


def test_sample_follows_the_probabilities():
    expert = TicTacToeMinimaxExpert()
    obs = np.repeat(
        rules.observation_planes(tictactoe_states().boards[_state([4])], 1)[None],
        4000,
        0,
    )
    masks = np.tile(np.arange(9) != 4, (4000, 1))
    actions = expert.sample(obs, masks, np.random.default_rng(0))
    counts = np.bincount(actions, minlength=9)
    assert set(np.flatnonzero(counts)) == {0, 2, 6, 8}
    assert counts.min(initial=4000, where=counts > 0) > 850  # ~1000 each


def _play(e, experts: dict, rng: np.random.Generator) -> dict:
    """One game; agents absent from ``experts`` play uniformly random legal moves."""
    e.reset()
    returns = {}
    for agent in e.agent_iter():
        obs, reward, terminated, truncated, _ = e.last()
        if terminated or truncated:
            returns[agent] = reward
            e.step(None)
            continue
        if agent in experts:
            action = int(
                experts[agent].sample(obs["observation"], obs["action_mask"], rng)
            )
        else:
            action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        e.step(action)
    return returns


@pytest.mark.parametrize("seat", ["player_1", "player_2"])
def test_expert_never_loses_to_random_play_in_pettingzoo_tictactoe_v3(seat):
    pz = pettingzoo.make("aec", "classic/tictactoe-v3")
    rng = np.random.default_rng(7)
    experts = {seat: TicTacToeMinimaxExpert(prefer_fastest_win=True)}
    returns = [_play(pz, experts, rng)[seat] for _ in range(300)]
    assert min(returns) == 0
    assert np.mean(returns) > 0.5  # it also wins most games against random play


def test_deterministic_experts_draw_against_each_other():
    e = env()
    rng = np.random.default_rng(0)
    for policy in ("uniform", "deterministic"):
        expert = TicTacToeMinimaxExpert(policy=policy)
        for _ in range(20):
            returns = _play(e, {"player_1": expert, "player_2": expert}, rng)
            assert returns == {"player_1": 0, "player_2": 0}
