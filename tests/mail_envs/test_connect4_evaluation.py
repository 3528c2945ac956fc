"""The Connect Four win-rate harness: game play, Wilson intervals, JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from mail_envs.connect4 import env as connect4_env
from mail_envs.connect4 import rules
from mail_envs.connect4.evaluation import (
    Connect4Evaluation,
    evaluate_connect4,
    opponent_entropies,
    play_connect4_games,
    policy_entropy,
    wilson_interval,
)
from mail_envs.connect4.expert import batch_move_scores, optimal_move_mask
from mail_envs.connect4.opponents import (
    SoftmaxSolverOpponent,
    evaluation_opponents,
    perfect_opponent,
    random_positions,
)


def _column_policy(col: int):
    def policy(observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        out = np.zeros(action_masks.shape)
        out[:, col] = 1.0
        return out

    return policy


def _uniform(observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
    m = action_masks.astype(float)
    return m / m.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (57, 200), (1, 1)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    np.testing.assert_allclose(wilson_interval(k, n), (ci.low, ci.high), atol=1e-12)
    ci = binomtest(k, n).proportion_ci(confidence_level=0.8, method="wilson")
    np.testing.assert_allclose(
        wilson_interval(k, n, 0.8), (ci.low, ci.high), atol=1e-12
    )
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(n + 1, n)


def test_scripted_games() -> None:
    rng = np.random.default_rng(0)
    # First stacks column 0, second column 1: four in column 0 on ply 7.
    out = play_connect4_games(_column_policy(0), _column_policy(1), 5, rng)
    assert out.winner.tolist() == [1] * 5 and out.length.tolist() == [7] * 5
    assert not out.illegal.any()
    # Both play column 0: it fills after 6 plies, the first player's 4th
    # stone is illegal and loses.
    out = play_connect4_games(_column_policy(0), _column_policy(0), 3, rng)
    assert out.winner.tolist() == [-1] * 3 and out.length.tolist() == [7] * 3
    assert out.illegal.all()


def _replay_in_env(seed: int, n_games: int) -> np.ndarray:
    """Outcomes of uniform-vs-uniform games in the AEC env with the harness's stream."""
    rng = np.random.default_rng(seed)
    # The harness draws one uniform per unfinished game per ply, in game order.
    games = [connect4_env() for _ in range(n_games)]
    for g in games:
        g.reset()
    winner = np.zeros(n_games, dtype=int)
    live = list(range(n_games))
    while live:
        u = rng.random(len(live))
        still = []
        for j, i in enumerate(live):
            g = games[i]
            mask = g.observe(g.agent_selection)["action_mask"].astype(float)
            cdf = np.cumsum(mask / mask.sum())
            g.step(int(np.argmax(cdf > u[j] * cdf[-1])))
            if any(g.terminations.values()):
                r = g.rewards["player_0"]
                winner[i] = int(np.sign(r))
            else:
                still.append(i)
        live = still
    return winner


def test_batched_games_match_the_aec_env() -> None:
    out = play_connect4_games(_uniform, _uniform, 50, np.random.default_rng(9))
    assert out.winner.tolist() == _replay_in_env(9, 50).tolist()


def test_evaluate_connect4_counts_seeds_and_json(tmp_path: Path) -> None:
    opponents = {"uniform": _uniform, "col0": _column_policy(0)}
    result = evaluate_connect4(_column_policy(1), opponents, 30, seed=3, progress=False)
    assert isinstance(result, Connect4Evaluation)
    # Stacking column 1 against stacking column 0: whoever moves first wins.
    first = result.result("col0", "first")
    second = result.result("col0", "second")
    assert (first.wins, first.losses, second.wins, second.losses) == (30, 0, 0, 30)
    m = result.result("uniform", "first")
    assert m.wins + m.draws + m.losses == m.n_games == 30
    assert m.win_rate == pytest.approx(m.wins / 30)
    assert m.win_ci == wilson_interval(m.wins, 30)
    again = evaluate_connect4(
        _column_policy(1), {"uniform": _uniform}, 30, seed=3, progress=False
    )
    assert again.result("uniform", "first") == m  # streams depend on names, not order
    path = tmp_path / "eval.json"
    result.to_json(path)
    data = json.loads(path.read_text())
    assert data["n_games"] == 30 and len(data["matches"]) == 4
    assert data["matches"][0]["opponent"] == "uniform"
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]
    assert "uniform" in result.summary()
    with pytest.raises(KeyError, match="nobody"):
        result.result("nobody", "first")


def test_evaluate_connect4_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="seats"):
        evaluate_connect4(
            _uniform, {"u": _uniform}, 2, seed=0, seats=("middle",), progress=False
        )
    with pytest.raises(ValueError, match="n_games"):
        evaluate_connect4(_uniform, {"u": _uniform}, 0, seed=0, progress=False)
    with pytest.raises(ValueError, match="opponents"):
        evaluate_connect4(_uniform, {}, 2, seed=0, progress=False)

    def bad(observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        return np.full(action_masks.shape, 0.5)

    with pytest.raises(ValueError, match="sum to"):
        evaluate_connect4(bad, {"u": _uniform}, 2, seed=0, progress=False)


def test_policy_entropy_known_values() -> None:
    probs = np.array(
        [np.full(7, 1 / 7), [0.5, 0.5, 0, 0, 0, 0, 0], [0, 0, 1.0, 0, 0, 0, 0]]
    )
    np.testing.assert_allclose(policy_entropy(probs), [np.log(7), np.log(2), 0.0])


def test_opponent_entropies_increase_with_the_level() -> None:
    obs, masks = random_positions(40, min_ply=10, max_ply=24, seed=3)
    table = opponent_entropies(evaluation_opponents(), obs, masks)
    assert table.names[:5] == tuple(f"softmax-{k}" for k in range(1, 6))
    # Temperature = level (the published convention): level 5 the noisiest.
    assert np.all(np.diff(table.mean_nats[:5]) > 0)
    assert table.mean_nats[4] <= table.uniform_nats
    np.testing.assert_allclose(
        table.mean_bits, np.array(table.mean_nats) / np.log(2), rtol=1e-12
    )
    assert table.entropy("perfect") < table.entropy("softmax-1")
    assert table.to_dict()["n_positions"] == 40
    assert "uniform" in table.summary()
    with pytest.raises(KeyError, match="nobody"):
        table.entropy("nobody")
    with pytest.raises(ValueError, match="no legal move"):
        opponent_entropies({"u": _uniform}, obs[:1], np.zeros((1, 7), bool))


def test_perfect_entropy_is_uniform_over_the_optimal_moves() -> None:
    obs, masks = random_positions(30, min_ply=12, max_ply=30, seed=5)
    table = opponent_entropies({"perfect": perfect_opponent()}, obs, masks)
    n_optimal = optimal_move_mask(batch_move_scores(obs, masks)).sum(axis=1)
    assert table.mean_nats[0] == pytest.approx(np.log(n_optimal).mean())


def test_entropies_on_a_hand_checked_position() -> None:
    # After 334455 the first player completes the bottom row with 2 or 6
    # (score 18, Pons' convention); every other move still wins a move later
    # (score 17). A softmax at temperature T has Z = 2 + 5 exp(-1/T) and
    # entropy log Z + (5 exp(-1/T) / Z) / T.
    first, second, mask = rules.play_moves("334455")
    obs = rules.planes_from_bitboards(
        np.array([first], np.uint64), np.array([second], np.uint64)
    )
    masks = rules.batch_legal(np.array([mask], np.uint64))
    assert batch_move_scores(obs, masks)[0].tolist() == [17, 17, 18, 17, 17, 17, 18]
    opponents = {
        "softmax-1": SoftmaxSolverOpponent.level(1),
        "softmax-5": SoftmaxSolverOpponent.level(5),
        "perfect": perfect_opponent(),
    }
    table = opponent_entropies(opponents, obs, masks)
    # T = 1: Z = 2 + 5/e = 3.83940, H = log Z + 1.83940 / Z = 1.82440
    # T = 5: Z = 2 + 5 e^-0.2 = 6.09365, H = log Z + 0.2 * 4.09365 / Z = 1.94163
    np.testing.assert_allclose(
        table.mean_nats, [1.82440, 1.94163, np.log(2)], atol=5e-5
    )
    assert table.uniform_nats == pytest.approx(np.log(7))


def test_matches_record_the_opponents_entropy() -> None:
    # A uniform opponent has entropy log(number of legal moves) <= log 7 at
    # each decision; a deterministic one has 0.
    result = evaluate_connect4(
        _column_policy(1), {"uniform": _uniform}, 10, seed=1, progress=False
    )
    for seat in ("first", "second"):
        match = result.result("uniform", seat)
        assert 0 < match.opponent_entropy <= np.log(7) + 1e-12
    col0 = evaluate_connect4(
        _uniform, {"col0": _column_policy(0)}, 5, seed=0, progress=False
    )
    assert col0.result("col0", "first").opponent_entropy == 0.0
