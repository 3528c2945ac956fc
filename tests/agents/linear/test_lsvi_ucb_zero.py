"""Tests of LSVI-UCB-ZERO, LSVI-UCB-ZERO-BC and the fixed-explorer baselines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from agents.linear.lsvi_ucb_zero import LSVIUCBZero, LSVIUCBZeroBC, optimistic_q_values
from agents.linear.rollouts import (
    expert_self_play_bc,
    fit_softmax_linear,
    rollout,
    sample_categorical,
    softmax_linear_policy,
    uniform_explore_bc,
)
from mail_envs.core import TabularMarkovGame
from mail_wrappers.elliptical import elliptical_bonus


# ------------------------------------------------------------------ helpers
def random_game(
    seed: int,
    num_states: int = 7,
    num_actions: tuple[int, int] = (2, 3),
    num_successors: int = 2,
    terminal: bool = False,
) -> TabularMarkovGame:
    """A seeded random two-player game (optionally with one terminal state)."""
    rng = np.random.default_rng(seed)
    a_joint = int(np.prod(num_actions))
    nxt = rng.integers(num_states, size=(num_states, a_joint, num_successors))
    probs = rng.dirichlet(np.ones(num_successors), size=(num_states, a_joint))
    rewards = rng.uniform(-1, 1, size=(num_states, a_joint))
    rewards = np.stack([rewards, -rewards])
    term = np.zeros(num_states, dtype=bool)
    if terminal:
        last = num_states - 1
        term[last] = True
        nxt[last] = last
        rewards[:, last] = 0.0
    masks = tuple(np.ones((num_states, a), dtype=bool) for a in num_actions)
    return TabularMarkovGame(
        num_actions=num_actions,
        next_states=nxt,
        next_probs=probs,
        rewards=rewards,
        legal_masks=masks,
        initial_distribution=np.eye(num_states)[0],
        gamma=0.9,
        terminal=term,
    )


def random_expert(game: TabularMarkovGame, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return tuple(
        rng.dirichlet(np.ones(a), size=game.num_states) for a in game.num_actions
    )


def tabular(game: TabularMarkovGame, player: int) -> np.ndarray:
    s, a = game.num_states, game.num_actions[player]
    return np.eye(s * a).reshape(s, a, s * a)


def combination_lock(length: int = 5, num_actions: int = 3, seed: int = 0):
    """Player 1 must play a secret sequence; any mistake resets to state 0.

    Player 0's actions do not matter. The end state ``length`` is absorbing.
    """
    secret = np.random.default_rng(seed).integers(num_actions, size=length)
    num_states = length + 1
    nxt = np.zeros((num_states, 2, num_actions), dtype=np.int64)
    for k in range(length):
        nxt[k, :, secret[k]] = k + 1
    nxt[length] = length
    a_joint = 2 * num_actions
    return TabularMarkovGame(
        num_actions=(2, num_actions),
        next_states=nxt.reshape(num_states, a_joint, 1),
        next_probs=np.ones((num_states, a_joint, 1)),
        rewards=np.zeros((2, num_states, a_joint)),
        legal_masks=(
            np.ones((num_states, 2), dtype=bool),
            np.ones((num_states, num_actions), dtype=bool),
        ),
        initial_distribution=np.eye(num_states)[0],
        gamma=0.9,
    )


def explorer_steps(out, h: int) -> tuple[np.ndarray, np.ndarray]:
    """States and explorer actions played at step h."""
    traj = out.trajectories
    live = traj.alive[:, h]
    return traj.states[live, h], traj.actions[out.explorer, live, h]


# ----------------------------------------------------------------- sampling
def test_sample_categorical_never_draws_zero_probability_and_matches_freqs():
    rng = np.random.default_rng(0)
    probs = np.tile([0.0, 0.25, 0.0, 0.75, 0.0], (200_000, 1))
    draws = sample_categorical(probs, rng)
    assert set(np.unique(draws)) == {1, 3}
    assert abs(np.mean(draws == 3) - 0.75) < 0.005


# ---------------------------------------------------------------- LSVI core
def test_cov_inv_matches_direct_inverse_of_gram_matrix():
    game = random_game(1)
    expert = random_expert(game, 2)
    phi = np.random.default_rng(3).normal(size=(game.num_states, 3, 5))
    out = LSVIUCBZero(ridge=0.1, horizon=6, num_episodes=200, seed=4).explore(
        game, expert, phi, explorer=1
    )
    for h in range(6):
        s, a = explorer_steps(out, h)
        x = phi[s, a]
        gram = 0.1 * np.eye(5) + x.T @ x
        np.testing.assert_allclose(out.cov_inv[h], np.linalg.inv(gram), atol=1e-8)
        # the bonuses kept by rank-one downdates equal the direct formula
        direct = elliptical_bonus(np.linalg.inv(gram), phi.reshape(-1, 5), 10.0)
        np.testing.assert_allclose(out.bonuses[h].ravel(), direct, atol=1e-8)


def test_bonus_decreases_exactly_on_visited_state_actions():
    game = random_game(5)
    expert = random_expert(game, 6)
    phi = tabular(game, 1)
    out = LSVIUCBZero(beta=10.0, ridge=0.1, horizon=4, num_episodes=15, seed=0).explore(
        game, expert, phi, explorer=1
    )
    # before any data: beta * ||phi|| / sqrt(lambda) = 10 / sqrt(0.1)
    np.testing.assert_allclose(out.initial_bonuses, 10.0 / np.sqrt(0.1))
    for h in range(4):
        s, a = explorer_steps(out, h)
        visits = np.zeros((game.num_states, 3))
        np.add.at(visits, (s, a), 1.0)
        # tabular features: bonus = beta / sqrt(lambda + n(s, a))
        np.testing.assert_allclose(out.bonuses[h], 10.0 / np.sqrt(0.1 + visits))
        assert np.all(out.bonuses[h][visits > 0] < out.initial_bonuses[visits > 0])


def test_q_values_match_a_per_state_least_squares_loop():
    game = random_game(7, terminal=True)
    expert = random_expert(game, 8)
    rng = np.random.default_rng(9)
    phi = rng.normal(size=(game.num_states, 3, 4))
    beta, ridge, horizon = 0.7, 0.5, 5
    out = LSVIUCBZero(
        beta=beta, ridge=ridge, horizon=horizon, num_episodes=30, seed=1
    ).explore(game, expert, phi, explorer=1)
    traj = out.trajectories
    v_next = np.zeros(game.num_states)
    for h in reversed(range(horizon)):
        s, a = explorer_steps(out, h)
        s_next = traj.states[traj.alive[:, h], h + 1]
        x = phi[s, a]
        gram = ridge * np.eye(4) + x.T @ x
        w = np.linalg.solve(gram, x.T @ v_next[s_next])
        expected = np.empty((game.num_states, 3))
        for state in range(game.num_states):
            for action in range(3):
                f = phi[state, action]
                bonus = beta * np.sqrt(f @ np.linalg.solve(gram, f))
                expected[state, action] = min(horizon, f @ w + bonus)
        np.testing.assert_allclose(out.q_values[h], expected, atol=1e-8)
        v_next = expected.max(axis=1)
        v_next[game.terminal] = 0.0


def test_optimistic_q_values_masks_illegal_actions():
    phi = np.eye(4).reshape(2, 2, 4)
    legal = np.array([[True, False], [True, True]])
    q = optimistic_q_values(
        phi,
        legal,
        np.zeros(2, dtype=bool),
        cov_inv=np.broadcast_to(np.eye(4) * 10, (3, 4, 4)).copy(),
        quad=np.full((3, 4), 10.0),
        data_phi=np.zeros((3, 1, 4)),
        data_next=np.zeros((3, 1), dtype=np.int64),
        counts=np.zeros(3, dtype=np.int64),
        beta=0.5,
    )
    assert np.all(q[:, 0, 1] == -np.inf)
    np.testing.assert_allclose(q[:, legal], 0.5 * np.sqrt(10.0))  # no data: bonus
    big = optimistic_q_values(
        phi,
        legal,
        np.zeros(2, dtype=bool),
        cov_inv=np.broadcast_to(np.eye(4) * 10, (3, 4, 4)).copy(),
        quad=np.full((3, 4), 10.0),
        data_phi=np.zeros((3, 1, 4)),
        data_next=np.zeros((3, 1), dtype=np.int64),
        counts=np.zeros(3, dtype=np.int64),
        beta=10.0,
    )
    np.testing.assert_allclose(big[:, legal], 3.0)  # capped at H


def test_labels_are_only_the_learning_players_expert_actions():
    game = random_game(11, terminal=True)
    # deterministic expert for player 0: its labels must be the argmax
    expert = list(random_expert(game, 12))
    expert[0] = np.eye(2)[np.random.default_rng(13).integers(2, size=game.num_states)]
    out = LSVIUCBZero(horizon=6, num_episodes=40, seed=2).explore(
        game, expert, tabular(game, 1), explorer=1
    )
    assert out.labels[1] is None
    labels = out.labels[0]
    assert labels.player == 0
    traj = out.trajectories
    assert labels.num_queries == traj.num_steps  # every played step, no terminal
    assert not np.any(game.terminal[labels.states])
    np.testing.assert_array_equal(labels.actions, expert[0][labels.states].argmax(1))
    np.testing.assert_array_equal(labels.probs, expert[0][labels.states])
    np.testing.assert_array_equal(
        labels.states, traj.states[labels.episodes, labels.steps]
    )
    np.testing.assert_array_equal(
        labels.actions, traj.actions[0][labels.episodes, labels.steps]
    )
    # the explorer's actions never enter the dataset: they are unrelated to it
    assert labels.probs.shape == (labels.num_queries, 2)


def test_turn_based_non_mover_is_never_queried():
    game = random_game(14)
    masks = [m.copy() for m in game.legal_masks]
    # player 0 moves only in even states; elsewhere it has the single no-op
    masks[0][1::2] = [True, False]
    game = TabularMarkovGame(
        num_actions=game.num_actions,
        next_states=game.next_states,
        next_probs=game.next_probs,
        rewards=game.rewards,
        legal_masks=tuple(masks),
        initial_distribution=game.initial_distribution,
        gamma=0.9,
    )
    # a sloppy expert table: uniform over all actions even where player 0 has
    # only the no-op; it must never make player 0 play an illegal action
    expert = [np.full((game.num_states, 2), 0.5), game.uniform_policy(1)]
    out = LSVIUCBZero(horizon=5, num_episodes=30, seed=0).explore(
        game, expert, tabular(game, 1), explorer=1
    )
    traj = out.trajectories
    played = traj.actions[0][traj.alive]
    odd = traj.states[:, :-1][traj.alive] % 2 == 1
    assert odd.any() and np.all(played[odd] == 0)
    labels = out.labels[0]
    assert labels.num_queries > 0
    assert np.all(labels.states % 2 == 0)
    assert labels.num_queries == int(
        (out.trajectories.states[:, :-1][out.trajectories.alive] % 2 == 0).sum()
    )


def test_every_reachable_state_of_the_learner_gets_labelled():
    game = random_game(21, num_states=6, num_actions=(2, 3), num_successors=1)
    expert = list(random_expert(game, 22))
    expert[0] = np.eye(2)[np.zeros(game.num_states, dtype=int)]
    horizon = 5
    # states reachable within horizon - 1 steps: learner plays action 0, the
    # explorer anything
    frontier = {0}
    reachable = {0}
    joint = game.joint_reshape(game.next_states[:, :, 0])
    for _ in range(horizon - 1):
        frontier = {int(t) for s in frontier for t in joint[s, 0]}
        reachable |= frontier
    out = LSVIUCBZero(horizon=horizon, num_episodes=300, seed=0).explore(
        game, expert, tabular(game, 1), explorer=1
    )
    assert set(np.unique(out.labels[0].states).tolist()) == reachable
    assert len(reachable) > 1


def test_three_players_one_explorer_labels_the_two_others():
    rng = np.random.default_rng(81)
    num_states, num_actions = 5, (2, 2, 3)
    a_joint = 12
    game = TabularMarkovGame(
        num_actions=num_actions,
        next_states=rng.integers(num_states, size=(num_states, a_joint, 1)),
        next_probs=np.ones((num_states, a_joint, 1)),
        rewards=rng.normal(size=(3, num_states, a_joint)),
        legal_masks=tuple(np.ones((num_states, a), dtype=bool) for a in num_actions),
        initial_distribution=np.full(num_states, 1 / num_states),
        gamma=0.9,
    )
    expert = [np.eye(a)[rng.integers(a, size=num_states)] for a in num_actions]
    phi = np.eye(15).reshape(5, 3, 15)
    out = LSVIUCBZero(horizon=4, num_episodes=10, seed=0).explore(
        game, expert, phi, explorer=2
    )
    assert out.labels[2] is None
    for j in (0, 1):
        labels = out.labels[j]
        assert labels.num_queries == 40
        np.testing.assert_array_equal(
            labels.actions, expert[j][labels.states].argmax(axis=1)
        )
    # the explorer's actions drive the transitions: every step's successor is
    # the model's successor of the joint action played
    traj = out.trajectories
    joint = np.ravel_multi_index(tuple(traj.actions), num_actions)
    np.testing.assert_array_equal(
        traj.states[:, 1:], game.next_states[traj.states[:, :-1], joint, 0]
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lsvi_opens_a_combination_lock(seed):
    # 5 secret moves out of 3 actions in a 6-step episode: one uniform episode
    # reaches the end with probability 3**-5; optimism walks it systematically.
    game = combination_lock(length=5, num_actions=3, seed=seed)
    expert = (np.tile([1.0, 0.0], (6, 1)), game.uniform_policy(1))
    out = LSVIUCBZero(beta=1.0, horizon=6, num_episodes=40, seed=seed).explore(
        game, expert, tabular(game, 1), explorer=1
    )
    assert 5 in out.labels[0].states


def _saturated_fraction(beta: float) -> float:
    """Share of the explorer's visited decisions whose legal Q-values all equal H."""
    from agents.linear.features import tabular_features
    from mail_envs.gridworld import make_gridworld_game
    from mail_envs.solvers import solve_zero_sum

    game = make_gridworld_game(size=3)
    expert = solve_zero_sum(game).policies
    out = LSVIUCBZero(beta=beta, num_episodes=50, seed=0).explore(
        game, expert, tabular_features(game, 1), explorer=1
    )
    q, traj, legal = out.q_values, out.trajectories, game.legal_masks[1]
    big_h = q.shape[0]
    saturated = [
        bool(np.all(q[h, s][legal[s]] >= big_h))
        for h in range(big_h)
        for s in np.unique(traj.states[traj.alive[:, h], h])
        if legal[s].sum() > 1
    ]
    return float(np.mean(saturated))


def test_paper_defaults_leave_the_optimistic_values_clipped_at_h():
    # beta = 10, ridge = 0.1, H = 10: an unvisited tabular pair's bonus is
    # 10 / sqrt(0.1) > H, and bonus + next value stays above H for roughly
    # beta^2 visits, so after K = 50 episodes most visited decisions still
    # have every legal Q equal to H and the explorer breaks ties at random:
    # in this regime LSVI-UCB-ZERO explores like uniform play (README, 1b).
    assert _saturated_fraction(10.0) > 0.5
    assert _saturated_fraction(1.0) == 0.0


def test_same_seed_same_run_and_seed_matters():
    game = random_game(31)
    expert = random_expert(game, 32)
    runs = [
        LSVIUCBZero(horizon=5, num_episodes=20, seed=s).explore(
            game, expert, tabular(game, 1), explorer=1
        )
        for s in (7, 7, 8)
    ]
    np.testing.assert_array_equal(
        runs[0].trajectories.states, runs[1].trajectories.states
    )
    np.testing.assert_array_equal(runs[0].labels[0].actions, runs[1].labels[0].actions)
    np.testing.assert_array_equal(runs[0].cov_inv, runs[1].cov_inv)
    assert not np.array_equal(runs[0].trajectories.states, runs[2].trajectories.states)


def test_episodes_stop_in_terminal_states():
    game = random_game(41, terminal=True)
    expert = random_expert(game, 42)
    out = LSVIUCBZero(horizon=8, num_episodes=50, seed=0).explore(
        game, expert, tabular(game, 1), explorer=1
    )
    traj = out.trajectories
    term = game.terminal[traj.states[:, :-1]]
    assert term.any()
    np.testing.assert_array_equal(traj.alive, ~np.maximum.accumulate(term, axis=1))
    assert np.all(traj.actions[:, ~traj.alive] == -1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beta": -1.0}, "beta"),
        ({"ridge": 0.0}, "ridge"),
        ({"horizon": 0}, "horizon"),
        ({"num_episodes": 2.5}, "num_episodes"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LSVIUCBZero(**kwargs)


def test_bad_inputs_raise_with_the_value():
    game = random_game(51)
    expert = random_expert(game, 52)
    explorer = LSVIUCBZero(num_episodes=2)
    with pytest.raises(ValueError, match=r"explorer must be in \[0, 2\), got 5"):
        explorer.explore(game, expert, tabular(game, 1), explorer=5)
    with pytest.raises(ValueError, match=r"features of player 1 .* got \(7, 2, 14\)"):
        explorer.explore(game, expert, tabular(game, 0), explorer=1)
    with pytest.raises(ValueError, match="player 0"):
        explorer.explore(game, (expert[0][:3], expert[1]), tabular(game, 1), explorer=1)


# ---------------------------------------------------------------------- BC
def test_softmax_linear_bc_recovers_empirical_frequencies_with_tabular_features():
    # The unregularized MLE of a categorical distribution is the empirical
    # frequency; with one-hot features each state's logits are free.
    masks = np.array([[True, True, True], [True, False, True], [True, True, True]])
    counts = np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    phi = np.eye(9).reshape(3, 3, 9)
    theta = fit_softmax_linear(phi, masks, counts, l2=1e-9)
    table = softmax_linear_policy(phi, masks, theta)
    np.testing.assert_allclose(table[0], [0.75, 0.25, 0.0], atol=1e-3)
    assert table[1, 1] == 0.0  # illegal: exactly zero
    assert table[1, 2] > 0.999
    np.testing.assert_allclose(table[2], 1 / 3)  # no data: uniform


def test_fit_softmax_linear_gradient_is_exact():
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(5, 3, 4))
    masks = np.ones((5, 3), dtype=bool)
    counts = rng.integers(0, 3, size=(5, 3)).astype(float)
    l2 = 0.3
    theta = fit_softmax_linear(phi, masks, counts, l2=l2, tol=1e-12)
    logp = np.log(softmax_linear_policy(phi, masks, theta))
    grad = np.einsum(
        "sa,sad->d", counts.sum(1, keepdims=True) * np.exp(logp) - counts, phi
    )
    np.testing.assert_allclose(grad + l2 * theta, 0.0, atol=1e-7)


def test_fit_softmax_linear_rejects_labels_on_illegal_actions():
    masks = np.array([[True, False]])
    with pytest.raises(ValueError, match="illegal action 1 in state 0"):
        fit_softmax_linear(np.eye(2)[None], masks, np.array([[0.0, 1.0]]))


# ---------------------------------------------------------------- pipelines
def test_pipelines_label_budgets_and_learned_tables():
    game = random_game(61)
    expert = random_expert(game, 62)
    features = [tabular(game, 0), tabular(game, 1)]
    lsvi = LSVIUCBZeroBC(horizon=4, num_episodes=6, seed=0).run(game, expert, features)
    uni = uniform_explore_bc(game, expert, features, num_episodes=6, horizon=4)
    selfplay = expert_self_play_bc(game, expert, features, num_episodes=6, horizon=4)
    for result in (lsvi, uni, selfplay):
        assert result.num_queries == (24, 24)  # no terminal states: K * H each
        for i, table in enumerate(result.policies):
            np.testing.assert_allclose(game.policy_table(i, table), table)
            assert result.labels[i].player == i
    assert (lsvi.method, uni.method, selfplay.method) == (
        "lsvi-ucb-zero",
        "uniform",
        "expert-self-play",
    )
    again = LSVIUCBZeroBC(horizon=4, num_episodes=6, seed=0).run(game, expert, features)
    for a, b in zip(lsvi.thetas, again.thetas, strict=True):
        np.testing.assert_array_equal(a, b)


def test_uniform_explorer_plays_uniformly():
    game = random_game(71, num_actions=(2, 4))
    expert = random_expert(game, 72)
    rng = np.random.default_rng(0)
    profile = [expert[0], game.uniform_policy(1)]
    traj = rollout(game, profile, num_episodes=4000, horizon=5, rng=rng)
    freqs = np.bincount(traj.actions[1].ravel(), minlength=4) / traj.actions[1].size
    np.testing.assert_allclose(freqs, 0.25, atol=0.01)


# ---------------------------------------------------------------- Gridworld
def _gridworld_setup():
    gridworld = pytest.importorskip("mail_envs.gridworld")
    solvers = pytest.importorskip("mail_envs.solvers")
    game = gridworld.make_gridworld_game(size=3)
    tables = tuple(np.asarray(p) for p in solvers.solve_zero_sum(game).policies)
    return game, tables, solvers.nash_gap


def test_gridworld_acceptance_k50_tabular_beats_expert_self_play_bc():
    # The acceptance target of the Gridworld experiment (paper defaults
    # beta = 10, lambda = 0.1, H = 10): NashConv <= 0.2 at K = 50 in < 30 s.
    game, expert, nash_gap = _gridworld_setup()
    features = [tabular(game, 0), tabular(game, 1)]
    start = time.perf_counter()
    result = LSVIUCBZeroBC(num_episodes=50, seed=0).run(game, expert, features)
    gap = nash_gap(game, list(result.policies)).nash_conv
    elapsed = time.perf_counter() - start
    selfplay = expert_self_play_bc(game, expert, features, num_episodes=50, seed=0)
    gap_bc = nash_gap(game, list(selfplay.policies)).nash_conv
    assert gap <= 0.2 < gap_bc
    assert elapsed < 30.0
    assert result.num_queries == (500, 500)  # no terminal states: K * H


def test_gridworld_relational_features_generalize_from_few_episodes():
    features_module = pytest.importorskip("agents.linear.features")
    game, expert, nash_gap = _gridworld_setup()
    features = [features_module.relational_features(game, i) for i in range(2)]
    result = LSVIUCBZeroBC(num_episodes=5, seed=0).run(game, expert, features)
    assert nash_gap(game, list(result.policies)).nash_conv <= 0.05


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_gridworld_acceptance_k50_every_seed(seed):
    game, expert, nash_gap = _gridworld_setup()
    features = [tabular(game, 0), tabular(game, 1)]
    result = LSVIUCBZeroBC(num_episodes=50, seed=seed).run(game, expert, features)
    assert nash_gap(game, list(result.policies)).nash_conv <= 0.2


@pytest.mark.slow  # a subprocess importing torch: ~5-25 s depending on load
def test_reproduction_script_quick_run_writes_json_and_png(tmp_path):
    pytest.importorskip("agents.linear.features")
    script = Path(__file__).resolve().parents[2] / "scripts" / "gridworld_lsvi.py"
    env = dict(os.environ, MPLBACKEND="Agg")
    cmd = [sys.executable, str(script), "--budgets", "2", "4", "--seeds", "3"]
    cmd += ["--out-dir", str(tmp_path)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    stem = "gridworld3_fig1b_K2-4_seeds3"
    payload = json.loads((tmp_path / f"{stem}.json").read_text())
    assert (tmp_path / f"{stem}.png").stat().st_size > 10_000
    assert payload["config"]["seeds"] == [3]
    rows = payload["results"]
    assert {(r["features"], r["method"], r["episodes"]) for r in rows} == {
        (f, m, k)
        for f in ("tabular", "relational")
        for m in ("lsvi-ucb-zero", "uniform", "expert-self-play")
        for k in (2, 4)
    }
    for r in rows:
        assert r["nash_conv_min"] <= r["nash_conv_mean"] <= r["nash_conv_max"]
        assert r["expert_queries"] == [2 * 10 * r["episodes"]]  # 2 players, H = 10
