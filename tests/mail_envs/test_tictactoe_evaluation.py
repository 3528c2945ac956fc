"""Tests for the paper's Tic-Tac-Toe protocol (mail_envs.tictactoe.evaluation).

Known values: under uniformly random play by both sides the first mover wins
737 of 1260, loses 363 of 1260 and draws 160 of 1260 of the probability mass
(the classic count, e.g. Schaefer's "Tic-Tac-Toe (Naughts and Crosses,
Cheese and Crackers, etc.)", 2002; recomputed here by a plain recursion).
A minimax player never loses, whoever the opponent. The noise rule and the
canonical tie-break are those of the paper's public code
(``tictactoe/evaluate_policy.py``, ``tictactoe/generate_perfect_policy.py``),
recomputed here by plain Python recursions independent of the vectorized code.
Exact outcome probabilities are cross-checked by sampling games on the batch
engine (:class:`mail_envs.batch.TicTacToeBatch`), which never reads the model.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import numpy as np
import pytest

from mail_envs.batch import TicTacToeBatch
from mail_envs.solvers import policy_evaluation
from mail_envs.tictactoe import make_tictactoe_game, rules, tictactoe_states
from mail_envs.tictactoe.evaluation import (
    SYMMETRIES,
    CanonicalMinimaxExpert,
    NoisyExpert,
    SeatOutcomes,
    noisy_expert_outcomes,
    seat_outcomes,
)
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

LINES = rules.WIN_LINES.tolist()


def first_legal(observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
    """The learner that always plays its lowest legal cell."""
    masks = np.asarray(action_masks).astype(bool)
    return np.eye(9)[np.argmax(masks, axis=1)] * masks.any(axis=1, keepdims=True)


def _winner(board: tuple[int, ...]) -> int:
    for a, b, c in LINES:
        if board[a] and board[a] == board[b] == board[c]:
            return board[a]
    return 0


@cache
def _random_play(board: tuple[int, ...]) -> tuple[Fraction, Fraction]:
    """(P(X wins), P(O wins)) when both play uniformly at random from ``board``."""
    winner = _winner(board)
    if winner or 0 not in board:
        return Fraction(winner == 1), Fraction(winner == 2)
    mark = 1 if board.count(1) == board.count(2) else 2
    empty = [k for k in range(9) if board[k] == 0]
    x = o = Fraction(0)
    for k in empty:
        child = list(board)
        child[k] = mark
        cx, co = _random_play(tuple(child))
        x, o = x + cx / len(empty), o + co / len(empty)
    return x, o


# ------------------------------------------------------------- seat_outcomes
def test_uniform_play_matches_the_classic_count() -> None:
    game = make_tictactoe_game()
    uniform = [game.uniform_policy(0), game.uniform_policy(1)]
    x_wins, o_wins = _random_play((0,) * 9)
    assert (x_wins, o_wins) == (Fraction(737, 1260), Fraction(363, 1260))
    first = seat_outcomes(game, uniform, 0)
    second = seat_outcomes(game, uniform, 1)
    assert first.win == pytest.approx(737 / 1260, abs=1e-12)
    assert first.loss == pytest.approx(363 / 1260, abs=1e-12)
    assert first.draw == pytest.approx(160 / 1260, abs=1e-12)
    assert (second.win, second.loss) == pytest.approx((first.loss, first.win))


def test_win_minus_loss_is_the_exact_value() -> None:
    game = make_tictactoe_game()
    rng = np.random.default_rng(0)
    tables = []
    for mask in game.legal_masks:
        raw = rng.random(mask.shape) * mask
        tables.append(raw / raw.sum(axis=1, keepdims=True))
    values = policy_evaluation(game, tables)[:, 0] @ game.initial_distribution
    for player in (0, 1):
        outcomes = seat_outcomes(game, tables, player)
        assert outcomes.value == pytest.approx(values[player], abs=1e-12)
        assert outcomes.win + outcomes.draw + outcomes.loss == pytest.approx(1.0)


def test_seat_outcomes_refuses_discounted_games_and_bad_players() -> None:
    from mail_envs.random_games import make_random_zero_sum_game

    game = make_random_zero_sum_game(num_states=4, num_actions=(2, 2), seed=0)
    uniform = [game.uniform_policy(0), game.uniform_policy(1)]
    with pytest.raises(ValueError, match="finite-horizon game, got horizon=None"):
        seat_outcomes(game, uniform, 0)
    ttt = make_tictactoe_game()
    with pytest.raises(ValueError, match="player must be in"):
        seat_outcomes(ttt, [ttt.uniform_policy(0), ttt.uniform_policy(1)], 2)


def test_a_rewarded_transition_that_continues_is_refused() -> None:
    from mail_envs.core import TabularMarkovGame

    # One player, two states; the move out of state 0 pays 1 and lands in the
    # non-terminal state 1.
    game = TabularMarkovGame(
        num_actions=(1,),
        next_states=np.array([[1], [1]]),
        next_probs=np.ones((2, 1)),
        rewards=np.array([[[1.0], [0.0]]]),
        legal_masks=(np.ones((2, 1), dtype=bool),),
        initial_distribution=np.array([1.0, 0.0]),
        horizon=2,
    )
    with pytest.raises(ValueError, match="state 0 on a transition"):
        seat_outcomes(game, [np.ones((2, 1))], 0)


# ---------------------------------------------------------------- the expert
@cache
def _paper_minimax(board: tuple[int, ...], player: int) -> tuple[int, int | None]:
    """Fastest-win negamax on +1/-1 boards, first maximal cell (strict ``>``)."""
    winner = 1 if _winner(board) == 1 else -1 if _winner(board) == -1 else 0
    if winner:
        return winner * player * (1 + board.count(0)), None
    if 0 not in board:
        return 0, None
    best, move = -100, None
    for cell in range(9):
        if board[cell] == 0:
            child = list(board)
            child[cell] = player
            score = -_paper_minimax(tuple(child), -player)[0]
            if score > best:
                best, move = score, cell
    return best, move


def _paper_move(board: tuple[int, ...]) -> int:
    """The published expert's move on a 0/1/2 board, via its canonical form."""
    signed = tuple({0: 0, 1: 1, 2: -1}[v] for v in board)
    images = [tuple(signed[i] for i in sym) for sym in SYMMETRIES.tolist()]
    canon = min(images)
    sym = SYMMETRIES.tolist()[images.index(canon)]
    player = 1 if canon.count(1) == canon.count(-1) else -1
    move = _paper_minimax(canon, player)[1]
    assert move is not None
    return sym[move]


def test_canonical_expert_is_the_published_rule_on_every_board() -> None:
    st = tictactoe_states()
    expert = CanonicalMinimaxExpert()
    live = np.flatnonzero(~st.terminal)
    moves = expert.state_table[live].argmax(axis=1)
    expected = [_paper_move(tuple(int(v) for v in st.boards[s])) for s in live]
    assert moves.tolist() == expected
    assert np.all(expert.state_table[live].max(axis=1) == 1.0)
    lowest = TicTacToeMinimaxExpert(policy="deterministic", prefer_fastest_win=True)
    assert int((lowest.state_table[live].argmax(axis=1) != moves).sum()) == 821


# ------------------------------------------------------------- noisy expert
def test_noisy_expert_follows_the_published_formula() -> None:
    obs = np.zeros((1, 3, 3, 2), dtype=np.int8)
    mask = np.ones((1, 9), dtype=bool)
    probs = NoisyExpert()(obs, mask)[0]
    # Expert move 0 (empty board): 0.9 + 0.1 * 1 / (0.6 + 0.4 * 9).
    assert probs[0] == pytest.approx(0.9 + 0.1 / 4.2)
    assert probs[1:] == pytest.approx(np.full(8, 0.1 * 0.4 / 4.2))
    mixed = NoisyExpert(normalize_uniform=True)(obs, mask)[0]
    assert mixed[0] == pytest.approx(0.9 + 0.1 * (0.6 + 0.4 / 9))
    assert mixed[1:] == pytest.approx(np.full(8, 0.1 * 0.4 / 9))
    pure = NoisyExpert(noise_prob=1.0, uniform_weight=1.0)(obs, mask)[0]
    assert pure == pytest.approx(np.full(9, 1 / 9))
    assert NoisyExpert(noise_prob=0.0)(obs[0], mask[0]) == pytest.approx(np.eye(9)[0])


def test_noisy_expert_never_spoils_a_winning_move() -> None:
    # X to move with X on 0, 1 and O on 3, 4: cell 2 wins for X.
    board = np.array([[1, 1, 0, 2, 2, 0, 0, 0, 0]], dtype=np.int8)
    obs = rules.observation_planes(board, 0)
    mask = rules.legal_mask(board)
    probs = NoisyExpert(noise_prob=1.0, uniform_weight=1.0)(obs, mask)
    assert probs[0] == pytest.approx(np.eye(9)[2])
    spoiled = NoisyExpert(noise_prob=1.0, uniform_weight=1.0, keep_winning_moves=False)
    assert spoiled(obs, mask)[0] == pytest.approx(mask[0] / mask[0].sum())


@pytest.mark.parametrize(
    ("kwargs", "name", "value"),
    [
        ({"noise_prob": -0.1}, "noise_prob", "-0.1"),
        ({"noise_prob": 1.5}, "noise_prob", "1.5"),
        ({"uniform_weight": 2.0}, "uniform_weight", "2.0"),
        ({"uniform_weight": float("nan")}, "uniform_weight", "nan"),
    ],
)
def test_noise_outside_the_unit_interval_is_refused(
    kwargs: dict[str, float], name: str, value: str
) -> None:
    with pytest.raises(ValueError, match=rf"{name} must .*{value}"):
        NoisyExpert(**kwargs)
    with pytest.raises(ValueError, match=rf"{name} must .*{value}"):
        noisy_expert_outcomes(first_legal, **kwargs)  # type: ignore[arg-type]


def test_bad_types_and_seats_are_refused() -> None:
    with pytest.raises(TypeError, match="noise_prob must be a real number"):
        NoisyExpert(noise_prob="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expert must be a batched policy"):
        NoisyExpert(expert=3)  # type: ignore[arg-type]
    for seat in (2, -1, True):
        with pytest.raises(ValueError, match=f"seat must be 0 or 1, got {seat!r}"):
            noisy_expert_outcomes(first_legal, seat=seat)  # type: ignore[arg-type]


# ------------------------------------------------------------- the protocol
@pytest.mark.parametrize("seat", [0, 1])
@pytest.mark.parametrize(
    "expert",
    [
        CanonicalMinimaxExpert(),
        TicTacToeMinimaxExpert(policy="uniform"),
        TicTacToeMinimaxExpert(policy="deterministic"),
    ],
    ids=["canonical", "uniform", "lowest-index"],
)
@pytest.mark.parametrize(
    "noise", [(0.1, 0.4, False), (1.0, 1.0, False), (0.5, 0.3, True)]
)
def test_a_minimax_learner_never_loses(
    seat: int, expert: TicTacToeMinimaxExpert, noise: tuple[float, float, bool]
) -> None:
    noise_prob, weight, normalize = noise
    outcomes = noisy_expert_outcomes(
        expert,
        seat=seat,
        noise_prob=noise_prob,
        uniform_weight=weight,
        normalize_uniform=normalize,
    )
    assert outcomes.player == seat
    assert outcomes.loss == 0.0
    assert outcomes.win + outcomes.draw == pytest.approx(1.0)


def test_first_legal_learner_loses_for_sure_to_the_noiseless_expert() -> None:
    # X0, O4 (the only drawing reply), X1, O2 (forced block, threatening 6),
    # X3 (first legal), O6 completes 2-4-6: O wins in every game.
    outcomes = noisy_expert_outcomes(first_legal, noise_prob=0.0)
    assert outcomes == SeatOutcomes(player=0, win=0.0, loss=1.0, draw=0.0)


@cache
def _first_legal_vs_greedy_random(board: tuple[int, ...]) -> Fraction:
    """P(O wins): X plays its lowest empty cell; O wins at once when it can,
    else plays uniformly at random (the noisy expert with ``noise_prob = 1``,
    ``uniform_weight = 1``: only its immediate wins are kept)."""
    if _winner(board) or 0 not in board:
        return Fraction(_winner(board) == 2)
    empty = [k for k in range(9) if board[k] == 0]
    if board.count(1) == board.count(2):  # X to move
        child = list(board)
        child[empty[0]] = 1
        return _first_legal_vs_greedy_random(tuple(child))
    children = []
    for k in empty:
        child = list(board)
        child[k] = 2
        children.append(tuple(child))
    if any(_winner(c) == 2 for c in children):
        return Fraction(1)
    return sum(map(_first_legal_vs_greedy_random, children), Fraction(0)) / len(empty)


def test_first_legal_learner_against_the_all_noise_expert() -> None:
    loss = _first_legal_vs_greedy_random((0,) * 9)
    outcomes = noisy_expert_outcomes(first_legal, noise_prob=1.0, uniform_weight=1.0)
    assert outcomes.loss == pytest.approx(float(loss), abs=1e-12)
    assert 0.0 < outcomes.loss < 1.0


def _play(policies: list, num_games: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``num_games`` games on the batch engine: (seat-0 rewards, moves)."""
    rng = np.random.default_rng(seed)
    games = TicTacToeBatch(num_games, autoreset=False)
    total = np.zeros(num_games)
    moves = 0
    while not np.all(games.finished):
        obs, mask = games.observation(), games.action_mask()
        mover = games.current_player
        actions = np.zeros(num_games, dtype=np.int64)
        for seat, policy in enumerate(policies):
            rows = np.flatnonzero((mover == seat) & ~games.finished)
            if rows.size:
                probs = policy(obs[rows], mask[rows])
                cum = np.cumsum(probs, axis=1)
                u = rng.random(rows.size) * cum[:, -1]
                actions[rows] = (cum <= u[:, None]).sum(axis=1)
        total += games.step(actions).rewards[:, 0]
        moves += 1
    return total, np.array(moves)


@pytest.mark.parametrize(
    "learner",
    [first_legal, TicTacToeMinimaxExpert(policy="uniform"), "uniform"],
    ids=["first-legal", "minimax", "uniform"],
)
def test_exact_outcomes_match_sampled_games(learner: object) -> None:
    if learner == "uniform":

        def learner(obs: np.ndarray, masks: np.ndarray) -> np.ndarray:
            m = masks.astype(float)
            return m / m.sum(axis=1, keepdims=True)

    noisy = NoisyExpert(noise_prob=0.3)  # more noise: more distinct games
    exact = noisy_expert_outcomes(learner, noise_prob=0.3)  # type: ignore[arg-type]
    n = 20_000
    rewards, _ = _play([learner, noisy], n, seed=1)
    for rate, outcome in ((exact.win, 1.0), (exact.loss, -1.0)):
        sampled = float(np.mean(rewards == outcome))
        sigma = max(np.sqrt(rate * (1 - rate) / n), 1 / n)
        assert abs(sampled - rate) <= 5 * sigma, (outcome, sampled, rate)
