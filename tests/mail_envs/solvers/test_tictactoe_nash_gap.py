"""Exact Nash gap of Tic-Tac-Toe profiles, cross-checked with OpenSpiel.

OpenSpiel's ``exploitability.nash_conv`` walks the full game tree of
``tic_tac_toe`` (player 0 = ``x`` = our ``player_1``) with its own best-response
code; ours reads the 5,478-state model. A policy that depends on the board
only is built once per board and handed to both. Known value: the uniform
random profile has NashConv 1.9196593915343914 (OpenSpiel 1.5+,
``exploitability.nash_conv(pyspiel.load_game("tic_tac_toe"),
policy.UniformRandomPolicy(game))``, recomputed in the slow test below).
"""

from __future__ import annotations

import numpy as np
import pytest

from mail_envs.solvers import best_response, nash_gap
from mail_envs.tictactoe import make_tictactoe_game, tictactoe_states
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert, minimax_tables

pyspiel = pytest.importorskip("pyspiel")
op_policy = pytest.importorskip("open_spiel.python.policy")
exploitability = pytest.importorskip("open_spiel.python.algorithms.exploitability")

UNIFORM_NASH_CONV = 1.9196593915343914


class BoardPolicy(op_policy.Policy):
    """An OpenSpiel policy that reads the move distribution off our board table."""

    def __init__(self, game, table: np.ndarray) -> None:
        super().__init__(game, list(range(game.num_players())))
        labels = make_tictactoe_game().state_labels
        self._index = {label: s for s, label in enumerate(labels)}
        self._table = table

    def action_probabilities(self, state, player_id=None):
        # OpenSpiel prints rows of "x"/"o"/"."; cell row * 3 + col = our cell.
        # Moves of probability 0 are left out, so OpenSpiel never walks them.
        s = self._index[str(state).replace("\n", "").upper()]
        return {
            int(a): float(self._table[s, a]) for a in np.flatnonzero(self._table[s])
        }


def _random_board_table(seed: int, support: int = 9) -> np.ndarray:
    """Random move distributions of the mover on every board.

    Each board mixes over at most ``support`` random legal moves; 30% of the
    boards get a single move.
    """
    st = tictactoe_states()
    rng = np.random.default_rng(seed)
    legal = st.action_masks.astype(bool)
    keys = np.where(legal, rng.random(legal.shape), -1.0)
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    pure = rng.random(st.num_states) < 0.3
    keep = legal & (rank < np.where(pure, 1, support)[:, None])
    weights = (0.05 + rng.random(legal.shape)) * keep
    sums = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, sums, out=np.zeros_like(weights), where=sums > 0)


def _profile(board_table: np.ndarray) -> list[np.ndarray]:
    """The per-player (S, 9) tables of a board policy (no-op rows elsewhere)."""
    st = tictactoe_states()
    noop = np.eye(1, 9)[0]
    return [
        np.where((st.mover == player)[:, None], board_table, noop) for player in (0, 1)
    ]


def _openspiel_nash_conv(board_table: np.ndarray) -> float:
    game = pyspiel.load_game("tic_tac_toe")
    return float(exploitability.nash_conv(game, BoardPolicy(game, board_table)))


def test_uniform_profile_matches_the_known_openspiel_value():
    game = make_tictactoe_game()
    result = nash_gap(game, [game.uniform_policy(0), game.uniform_policy(1)])
    assert result.nash_conv == pytest.approx(UNIFORM_NASH_CONV, abs=1e-9)
    assert result.exploitability == pytest.approx(UNIFORM_NASH_CONV / 2, abs=1e-9)
    assert result.gains.sum() == pytest.approx(result.nash_conv, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_sparse_board_policies_match_openspiel(seed):
    """At most two moves per board keep OpenSpiel's tree walk to a second."""
    table = _random_board_table(seed, support=2)
    ours = nash_gap(make_tictactoe_game(), _profile(table))
    assert ours.nash_conv > 0.1
    assert ours.nash_conv == pytest.approx(_openspiel_nash_conv(table), abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [10, 11, 12, 13])
def test_random_full_support_board_policies_match_openspiel(seed):
    table = _random_board_table(seed)
    ours = nash_gap(make_tictactoe_game(), _profile(table))
    assert ours.nash_conv == pytest.approx(_openspiel_nash_conv(table), abs=1e-9)


@pytest.mark.slow
def test_uniform_profile_matches_openspiel_live():
    game = pyspiel.load_game("tic_tac_toe")
    theirs = exploitability.nash_conv(game, op_policy.UniformRandomPolicy(game))
    assert theirs == pytest.approx(UNIFORM_NASH_CONV, abs=1e-12)
    uniform = tictactoe_states().action_masks / np.maximum(
        tictactoe_states().action_masks.sum(axis=1, keepdims=True), 1
    )
    assert _openspiel_nash_conv(uniform) == pytest.approx(UNIFORM_NASH_CONV, abs=1e-12)


@pytest.mark.parametrize("policy", ["uniform", "deterministic"])
@pytest.mark.parametrize("prefer_fastest_win", [False, True])
def test_minimax_expert_is_an_exact_nash_equilibrium(policy, prefer_fastest_win):
    expert = TicTacToeMinimaxExpert(
        policy=policy, prefer_fastest_win=prefer_fastest_win
    )
    result = nash_gap(make_tictactoe_game(), [expert, expert])
    assert np.all(np.abs(result.gains) <= 1e-12)
    assert abs(result.nash_conv) <= 1e-12
    np.testing.assert_array_equal(result.values, [0.0, 0.0])


@pytest.mark.parametrize(
    ("policy", "gains", "value"),
    [
        # X always opens in the corner: the blunder is off the path, only a
        # deviation by X (opening in the centre) reaches and wins it.
        ("deterministic", [1.0, 0.0], 0.0),
        # X opens in the centre with probability 1/9 and then wins: X gains
        # 1 - 1/9, O gains 1/9 by not blundering.
        ("uniform", [8.0 / 9.0, 1.0 / 9.0], 1.0 / 9.0),
    ],
)
def test_a_blunder_in_one_reachable_state_is_exploitable(policy, gains, value):
    game = make_tictactoe_game()
    st = tictactoe_states()
    expert = TicTacToeMinimaxExpert(policy=policy)
    tables = [game.policy_table(p, expert) for p in (0, 1)]
    # O answers the centre opening on an edge (cell 1) instead of a corner.
    centre = int(st.state_index(np.array([0, 0, 0, 0, 1, 0, 0, 0, 0])))
    assert minimax_tables().q_values[centre, 1] == -1.0
    blunder = tables[1].copy()
    blunder[centre] = np.eye(9)[1]
    result = nash_gap(game, [tables[0], blunder])
    np.testing.assert_allclose(result.gains, gains, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.values, [value, -value], rtol=0, atol=1e-12)
    assert best_response(game, [tables[0], blunder], 0).value == pytest.approx(1.0)


def test_a_torch_policy_tabulates_in_one_batched_call():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(18, 32),
        torch.nn.Tanh(),
        torch.nn.Linear(32, 9),
    ).double()
    calls = []

    def policy(obs: np.ndarray, masks: np.ndarray) -> np.ndarray:
        calls.append(obs.shape[0])
        with torch.no_grad():
            logits = net(torch.as_tensor(obs, dtype=torch.float64))
        logits = logits.masked_fill(~torch.from_numpy(np.array(masks)), -torch.inf)
        return torch.softmax(logits, dim=-1).numpy()

    game = make_tictactoe_game()
    result = nash_gap(game, [policy, policy])
    assert calls == [game.num_states, game.num_states]
    board = np.where(
        (tictactoe_states().mover == 1)[:, None],
        game.policy_table(1, policy),
        game.policy_table(0, policy),
    )
    board[tictactoe_states().terminal] = 0.0
    assert result.nash_conv == pytest.approx(
        nash_gap(game, _profile(board)).nash_conv, abs=1e-12
    )
