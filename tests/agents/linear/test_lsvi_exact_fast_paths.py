"""The fast paths of LSVI-UCB-ZERO give the plain formulas' results bit for bit.

Each optimized piece (the in-place, zero-skipping Sherman–Morrison update, the
backward pass with its gather and diagonal shortcuts, the scalar expert and
model draws, the whole episode loop) is compared with ``np.array_equal``
against a plain reference written here with the formulas as the previous
implementation computed them (dense ``sherman_morrison_update``, dense
``flat @ u``, ``sample_categorical`` on one-row arrays...).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from agents.linear.lsvi_ucb_zero import (
    LSVIUCBZero,
    _BackwardPass,
    optimistic_q_values,
    rank_one_downdate,
    single_nonzero_index,
)
from agents.linear.rollouts import (
    check_expert_policies,
    draw_from_row,
    expert_rows,
    sample_categorical,
    sample_next_states,
    step_with_experts,
    terminal_mask,
)
from mail_envs.core import TabularMarkovGame
from mail_wrappers.elliptical import sherman_morrison_update


# --------------------------------------------------------------- references
def plain_downdate(
    cov_inv: np.ndarray, quad: np.ndarray, x: np.ndarray, flat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The previous update: dense Sherman–Morrison, dense quadratic forms."""
    u = cov_inv @ x
    denom = 1.0 + float(x @ u)
    proj = flat @ u
    return sherman_morrison_update(cov_inv, x), quad - proj * proj / denom


def plain_q_values(
    features: np.ndarray,
    legal: np.ndarray,
    terminal: np.ndarray,
    cov_inv: np.ndarray,
    quad: np.ndarray,
    data_phi: np.ndarray,
    data_next: np.ndarray,
    counts: np.ndarray,
    beta: float,
) -> np.ndarray:
    """The previous backward pass: dense products, ``np.where``, ``max(axis=1)``."""
    num_s, num_a, d = features.shape
    big_h = cov_inv.shape[0]
    flat = features.reshape(num_s * num_a, d)
    q = np.empty((big_h, num_s, num_a))
    v_next = np.zeros(num_s)
    for h in range(big_h - 1, -1, -1):
        c = counts[h]
        w = cov_inv[h] @ (data_phi[h, :c].T @ v_next[data_next[h, :c]])
        bonus = beta * np.sqrt(np.maximum(quad[h], 0.0))
        q_h = np.minimum(flat @ w + bonus, float(big_h)).reshape(num_s, num_a)
        q[h] = np.where(legal, q_h, -np.inf)
        v_next = q[h].max(axis=1)
        v_next[terminal] = 0.0
    return q


def plain_step(
    game: TabularMarkovGame,
    experts: Sequence[np.ndarray],
    actions: np.ndarray,
    explorer: int,
    state: int,
    step: int,
    rng: np.random.Generator,
) -> int:
    """The previous expert-and-model step: numpy draws on one-row arrays."""
    for j in range(game.num_players):
        if j != explorer:
            probs = expert_rows(experts[j], step, np.array([state]))
            actions[j] = sample_categorical(probs, rng)[0]
    joint = np.ravel_multi_index(tuple(actions), game.num_actions)
    return int(sample_next_states(game, np.array([state]), joint[None], rng)[0])


def plain_explore(
    game: TabularMarkovGame,
    expert_policies: Sequence[np.ndarray],
    phi: np.ndarray,
    explorer: int,
    *,
    beta: float,
    ridge: float,
    horizon: int,
    num_episodes: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """The previous LSVI-UCB-ZERO episode loop, every piece in its plain form."""
    experts = check_expert_policies(game, expert_policies)
    rng = np.random.default_rng(seed)
    num_s, num_a, d = phi.shape
    flat = phi.reshape(num_s * num_a, d)
    legal = game.legal_masks[explorer]
    terminal = terminal_mask(game)
    cov_inv = np.broadcast_to(np.eye(d) / ridge, (horizon, d, d)).copy()
    quad = np.broadcast_to(
        np.einsum("nd,nd->n", flat, flat) / ridge, (horizon, num_s * num_a)
    ).copy()
    data_phi = np.zeros((horizon, num_episodes, d))
    data_next = np.zeros((horizon, num_episodes), dtype=np.int64)
    counts = np.zeros(horizon, dtype=np.int64)
    states = np.empty((num_episodes, horizon + 1), dtype=np.int64)
    actions = np.full((game.num_players, num_episodes, horizon), -1, dtype=np.int64)
    clipped = np.zeros((num_episodes, horizon), dtype=bool)
    multi_legal = legal.sum(axis=1) >= 2
    initial = sample_categorical(
        np.broadcast_to(game.initial_distribution, (num_episodes, num_s)), rng
    )
    args = (phi, legal, terminal)
    for k in range(num_episodes):
        q = plain_q_values(*args, cov_inv, quad, data_phi, data_next, counts, beta)
        s = int(initial[k])
        states[k] = s
        for h in range(horizon):
            if terminal[s]:
                break
            row = q[h, s]
            clipped[k, h] = multi_legal[s] and row[legal[s]].min() >= horizon
            best = np.flatnonzero(row == row.max())
            a = int(best[rng.integers(best.size)] if best.size > 1 else best[0])
            actions[explorer, k, h] = a
            nxt = plain_step(game, experts, actions[:, k, h], explorer, s, h, rng)
            x = phi[s, a]
            cov_inv[h], quad[h] = plain_downdate(cov_inv[h], quad[h], x, flat)
            data_phi[h, counts[h]] = x
            data_next[h, counts[h]] = nxt
            counts[h] += 1
            states[k, h + 1 :] = nxt
            s = nxt
    final_q = plain_q_values(*args, cov_inv, quad, data_phi, data_next, counts, beta)
    return {
        "states": states,
        "actions": actions,
        "clipped": clipped,
        "cov_inv": cov_inv,
        "bonuses": beta * np.sqrt(np.maximum(quad, 0.0)).reshape(-1, num_s, num_a),
        "q_values": final_q,
    }


def feature_maps(num_s: int, num_a: int, rng: np.random.Generator) -> dict:
    """Tabular, block-sparse (tiled over actions) and dense feature maps."""
    tiled = np.zeros((num_s, num_a, 3 * num_a))
    concepts = rng.normal(size=(num_s, 3))
    for a in range(num_a):
        tiled[:, a, 3 * a : 3 * a + 3] = concepts
    tiled[rng.random((num_s, num_a, 3 * num_a)) < 0.3] = 0.0  # some zero entries
    return {
        "tabular": np.eye(num_s * num_a).reshape(num_s, num_a, num_s * num_a),
        "tiled": tiled,
        "dense": rng.normal(size=(num_s, num_a, 5)),
    }


# ------------------------------------------------------------ rank-one steps
@pytest.mark.parametrize("kind", ["tabular", "tiled", "dense"])
def test_rank_one_downdate_equals_dense_sherman_morrison_bitwise(kind):
    rng = np.random.default_rng(0)
    phi = feature_maps(6, 3, rng)[kind]
    num_s, num_a, d = phi.shape
    flat = phi.reshape(-1, d)
    one_hot = single_nonzero_index(phi)
    cov, quad = np.eye(d) / 0.1, np.einsum("nd,nd->n", flat, flat) / 0.1
    ref_cov, ref_quad = cov.copy(), quad.copy()
    flat_t = np.ascontiguousarray(flat.T)
    diagonal = True
    for _ in range(40):
        s, a = rng.integers(num_s), rng.integers(num_a)
        x = phi[s, a]
        diagonal &= rank_one_downdate(
            cov, quad, x, flat, flat_t=flat_t, x_index=int(one_hot[s, a])
        )
        ref_cov, ref_quad = plain_downdate(ref_cov, ref_quad, x, flat)
        assert np.array_equal(cov, ref_cov)
        assert np.array_equal(quad, ref_quad)
        assert np.array_equal(cov, cov.T)  # stays exactly symmetric
        assert not np.any(np.signbit(cov) & (cov == 0.0))  # never -0.0
    # tabular data keep Lambda^-1 diagonal, and the flag says so
    assert diagonal == (kind == "tabular")
    assert diagonal == np.array_equal(cov, np.diag(np.diagonal(cov)))


def test_rank_one_downdate_zero_vector_and_overflow():
    flat = np.eye(3)
    cov, quad = np.eye(3), np.ones(3)
    assert rank_one_downdate(cov, quad, np.zeros(3), flat)
    assert np.array_equal(cov, np.eye(3)) and np.array_equal(quad, np.ones(3))
    with pytest.raises(ValueError, match="overflowed"):
        rank_one_downdate(cov, quad, np.array([1e200, 1e200, 0.0]), flat)


def test_single_nonzero_index():
    phi = np.array([[[0.0, 2.0, 0.0], [0.0, 0.0, 0.0]], [[1.0, 1.0, 0.0], [0, 0, -3]]])
    assert single_nonzero_index(phi).tolist() == [[1, -1], [-1, 2]]


# ------------------------------------------------------------ backward pass
@pytest.mark.parametrize("kind", ["tabular", "tiled", "dense"])
def test_backward_pass_equals_the_plain_formulas_bitwise(kind):
    rng = np.random.default_rng(1)
    num_s, num_a, horizon = 7, 3, 4
    phi = feature_maps(num_s, num_a, rng)[kind]
    d = phi.shape[2]
    flat = phi.reshape(-1, d)
    legal = rng.random((num_s, num_a)) < 0.8
    legal[:, 0] = True
    terminal = np.zeros(num_s, dtype=bool)
    terminal[-1] = True
    cov = np.broadcast_to(np.eye(d) / 0.1, (horizon, d, d)).copy()
    quad = np.broadcast_to(
        np.einsum("nd,nd->n", flat, flat) / 0.1, (horizon, len(flat))
    )
    quad = quad.copy()
    data_phi = np.zeros((horizon, 20, d))
    data_next = np.zeros((horizon, 20), dtype=np.int64)
    counts = rng.integers(0, 21, size=horizon)
    diagonal = np.ones(horizon, dtype=bool)
    for h in range(horizon):
        for t in range(counts[h]):
            s, a = rng.integers(num_s), rng.integers(num_a)
            data_phi[h, t] = phi[s, a]
            data_next[h, t] = rng.integers(num_s)
            diagonal[h] &= rank_one_downdate(
                cov[h],
                quad[h],
                phi[s, a],
                flat,
                x_index=single_nonzero_index(phi[s, a]),
            )
    arrays = (cov, quad, data_phi, data_next, counts)
    for beta in (0.3, 10.0):  # few values clipped, most clipped at H
        expected = plain_q_values(phi, legal, terminal, *arrays, beta)
        fast = _BackwardPass(phi, legal, terminal, beta)
        assert (fast.gather is not None) == (kind == "tabular")
        assert np.array_equal(fast(*arrays, diagonal), expected)
        assert np.array_equal(fast(*arrays), expected)
        public = optimistic_q_values(
            phi,
            legal,
            terminal,
            cov_inv=cov,
            quad=quad,
            data_phi=data_phi,
            data_next=data_next,
            counts=counts,
            beta=beta,
            diagonal=diagonal,
        )
        assert np.array_equal(public, expected)


# ------------------------------------------------------------------ draws
def test_draw_from_row_equals_sample_categorical_bitwise():
    rng = np.random.default_rng(2)
    rows = rng.dirichlet(np.ones(5), size=300)
    rows[rng.random(rows.shape) < 0.3] = 0.0  # zero-probability entries
    rows[rows.sum(axis=1) == 0, 2] = 1.0
    rows[:50] = np.round(rows[:50] * 7) / 7 + (rows[:50] == 0)  # ties, non-normalized
    first, second = np.random.default_rng(3), np.random.default_rng(3)
    for row in rows:
        expected = int(sample_categorical(row[None], first)[0])
        assert draw_from_row(row.tolist(), 1.0 - second.random()) == expected
    assert draw_from_row([0.0, 0.0], 0.5) == 0  # empty row: numpy's NaN CDF gives 0
    # uniforms exactly on the CDF's steps: the same count of entries below u
    for row in rows[:50]:
        cdf = np.cumsum(row)
        cdf /= cdf[-1]
        for u in cdf:
            assert draw_from_row(row.tolist(), float(u)) == int((cdf < u).sum())
    assert draw_from_row([0.5, 0.5], 0.5) == 0


def three_player_game(seed: int) -> TabularMarkovGame:
    """Three players, stochastic transitions, one terminal state."""
    rng = np.random.default_rng(seed)
    num_s, num_actions = 6, (2, 3, 2)
    joint = int(np.prod(num_actions))
    nxt = rng.integers(num_s, size=(num_s, joint, 3))
    probs = rng.dirichlet(np.ones(3), size=(num_s, joint))
    probs[0, 0] = [0.0, 1.0, 0.0]
    terminal = np.zeros(num_s, dtype=bool)
    terminal[-1] = True
    nxt[-1] = num_s - 1
    return TabularMarkovGame(
        num_actions=num_actions,
        next_states=nxt,
        next_probs=probs,
        rewards=np.zeros((3, num_s, joint)),
        legal_masks=tuple(np.ones((num_s, a), dtype=bool) for a in num_actions),
        initial_distribution=np.full(num_s, 1.0 / num_s),
        gamma=0.9,
        terminal=terminal,
    )


def random_experts(game: TabularMarkovGame, seed: int, timed: bool) -> tuple:
    rng = np.random.default_rng(seed)
    shape = (4, game.num_states) if timed else (game.num_states,)
    return tuple(rng.dirichlet(np.ones(a), size=shape) for a in game.num_actions)


@pytest.mark.parametrize("timed", [False, True])
def test_step_with_experts_equals_the_numpy_draws(timed):
    game = three_player_game(4)
    experts = random_experts(game, 5, timed)
    first, second = np.random.default_rng(6), np.random.default_rng(6)
    for t in range(300):
        explorer, state, step = t % 3, t % game.num_states, t % 7
        a1 = np.full(3, -1, dtype=np.int64)
        a2 = a1.copy()
        a1[explorer] = a2[explorer] = t % game.num_actions[explorer]
        nxt = step_with_experts(game, experts, a1, explorer, state, step, first)
        assert nxt == plain_step(game, experts, a2, explorer, state, step, second)
        assert np.array_equal(a1, a2)
    assert first.random() == second.random()  # the same number of draws


def test_step_with_experts_rejects_an_out_of_range_action():
    game = three_player_game(4)
    actions = np.array([5, -1, -1])
    with pytest.raises(ValueError, match="action 5 of player 0"):
        step_with_experts(
            game,
            random_experts(game, 5, False),
            actions,
            0,
            0,
            0,
            np.random.default_rng(0),
        )


# ----------------------------------------------------------- whole explorer
@pytest.mark.parametrize("kind", ["tabular", "tiled", "dense"])
@pytest.mark.parametrize("timed", [False, True])
def test_explore_equals_the_plain_episode_loop_bitwise(kind, timed):
    game = three_player_game(7)
    experts = random_experts(game, 8, timed)
    phi = feature_maps(game.num_states, game.num_actions[1], np.random.default_rng(9))[
        kind
    ]
    settings = {"beta": 2.0, "ridge": 0.5, "horizon": 5, "num_episodes": 25}
    out = LSVIUCBZero(**settings, seed=10).explore(game, experts, phi, explorer=1)
    ref = plain_explore(game, experts, phi, 1, **settings, seed=10)
    assert np.array_equal(out.trajectories.states, ref["states"])
    assert np.array_equal(out.trajectories.actions, ref["actions"])
    for name in ("clipped", "cov_inv", "bonuses", "q_values"):
        assert np.array_equal(getattr(out, name), ref[name]), name
