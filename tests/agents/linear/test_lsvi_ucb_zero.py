"""Tests of LSVI-UCB-ZERO (the explorer) and LSVI-UCB-ZERO-BC."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from agents.linear.baselines import model_bc
from agents.linear.lsvi_ucb_zero import LSVIUCBZero, LSVIUCBZeroBC, optimistic_q_values
from agents.linear.problem import linear_problem
from mail_envs.core import TabularMarkovGame
from mail_wrappers.elliptical import elliptical_bonus


# ------------------------------------------------------------------ helpers
def explorer_steps(out, h: int) -> tuple[np.ndarray, np.ndarray]:
    """States and explorer actions played at step h."""
    traj = out.trajectories
    live = traj.alive[:, h]
    return traj.states[live, h], traj.actions[out.explorer, live, h]


# ---------------------------------------------------------------- LSVI core
def test_cov_inv_matches_direct_inverse_of_gram_matrix(games):
    game = games.random_game(1)
    expert = games.random_expert(game, 2)
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


def test_bonus_decreases_exactly_on_visited_state_actions(games):
    game = games.random_game(5)
    expert = games.random_expert(game, 6)
    phi = games.tabular(game, 1)
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


def test_q_values_match_a_per_state_least_squares_loop(games):
    game = games.random_game(7, terminal=True)
    expert = games.random_expert(game, 8)
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


def test_labels_are_only_the_learning_players_expert_actions(games):
    game = games.random_game(11, terminal=True)
    # deterministic expert for player 0: its labels must be the argmax
    expert = list(games.random_expert(game, 12))
    expert[0] = np.eye(2)[np.random.default_rng(13).integers(2, size=game.num_states)]
    out = LSVIUCBZero(horizon=6, num_episodes=40, seed=2).explore(
        game, expert, games.tabular(game, 1), explorer=1
    )
    assert out.labels[1] is None
    labels = out.labels[0]
    assert labels.agent_names == (game.player_names[0],)
    np.testing.assert_array_equal(labels.agents, 0)
    states = labels.observations
    traj = out.trajectories
    assert labels.num_queries == traj.num_steps  # every played step, no terminal
    assert not np.any(game.terminal[states])
    np.testing.assert_array_equal(labels.expert_actions, expert[0][states].argmax(1))
    np.testing.assert_array_equal(labels.expert_probs, expert[0][states])
    np.testing.assert_array_equal(states, traj.states[labels.episodes, labels.steps])
    np.testing.assert_array_equal(
        labels.expert_actions, traj.actions[0][labels.episodes, labels.steps]
    )
    # the explorer's actions never enter the dataset: they are unrelated to it
    assert labels.expert_probs.shape == (labels.num_queries, 2)


def test_turn_based_non_mover_is_never_queried(games):
    game = games.random_game(14)
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
        game, expert, games.tabular(game, 1), explorer=1
    )
    traj = out.trajectories
    played = traj.actions[0][traj.alive]
    odd = traj.states[:, :-1][traj.alive] % 2 == 1
    assert odd.any() and np.all(played[odd] == 0)
    labels = out.labels[0]
    assert labels.num_queries > 0
    assert np.all(labels.observations % 2 == 0)
    assert labels.num_queries == int(
        (out.trajectories.states[:, :-1][out.trajectories.alive] % 2 == 0).sum()
    )


def test_every_reachable_state_of_the_learner_gets_labelled(games):
    game = games.random_game(21, num_states=6, num_actions=(2, 3), num_successors=1)
    expert = list(games.random_expert(game, 22))
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
        game, expert, games.tabular(game, 1), explorer=1
    )
    assert set(np.unique(out.labels[0].observations).tolist()) == reachable
    assert out.labels[0].num_distinct_states == len(reachable)
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
            labels.expert_actions, expert[j][labels.observations].argmax(axis=1)
        )
    # the explorer's actions drive the transitions: every step's successor is
    # the model's successor of the joint action played
    traj = out.trajectories
    joint = np.ravel_multi_index(tuple(traj.actions), num_actions)
    np.testing.assert_array_equal(
        traj.states[:, 1:], game.next_states[traj.states[:, :-1], joint, 0]
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lsvi_opens_a_combination_lock(seed, games):
    # 5 secret moves out of 3 actions in a 6-step episode: one uniform episode
    # reaches the end with probability 3**-5; optimism walks it systematically.
    game = games.combination_lock(length=5, num_actions=3, seed=seed)
    expert = (np.tile([1.0, 0.0], (6, 1)), game.uniform_policy(1))
    out = LSVIUCBZero(beta=1.0, horizon=6, num_episodes=40, seed=seed).explore(
        game, expert, games.tabular(game, 1), explorer=1
    )
    assert 5 in out.labels[0].observations


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


def test_same_seed_same_run_and_seed_matters(games):
    game = games.random_game(31)
    expert = games.random_expert(game, 32)
    runs = [
        LSVIUCBZero(horizon=5, num_episodes=20, seed=s).explore(
            game, expert, games.tabular(game, 1), explorer=1
        )
        for s in (7, 7, 8)
    ]
    np.testing.assert_array_equal(
        runs[0].trajectories.states, runs[1].trajectories.states
    )
    np.testing.assert_array_equal(
        runs[0].labels[0].expert_actions, runs[1].labels[0].expert_actions
    )
    np.testing.assert_array_equal(runs[0].cov_inv, runs[1].cov_inv)
    assert not np.array_equal(runs[0].trajectories.states, runs[2].trajectories.states)


def test_episodes_stop_in_terminal_states(games):
    game = games.random_game(41, terminal=True)
    expert = games.random_expert(game, 42)
    out = LSVIUCBZero(horizon=8, num_episodes=50, seed=0).explore(
        game, expert, games.tabular(game, 1), explorer=1
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


def test_bad_inputs_raise_with_the_value(games):
    game = games.random_game(51)
    expert = games.random_expert(game, 52)
    explorer = LSVIUCBZero(num_episodes=2)
    with pytest.raises(ValueError, match=r"explorer must be in \[0, 2\), got 5"):
        explorer.explore(game, expert, games.tabular(game, 1), explorer=5)
    with pytest.raises(ValueError, match=r"features of player 1 .* got \(7, 2, 14\)"):
        explorer.explore(game, expert, games.tabular(game, 0), explorer=1)
    with pytest.raises(ValueError, match="player 0"):
        explorer.explore(
            game, (expert[0][:3], expert[1]), games.tabular(game, 1), explorer=1
        )


# ---------------------------------------------------------------- LSVI-BC
def test_lsvi_bc_result_datasets_tables_and_determinism(games):
    game = games.random_game(61)
    expert = games.random_expert(game, 62)
    problem = games.problem(game, expert, horizon=4)
    lsvi = LSVIUCBZeroBC(problem, num_episodes=6, seed=0).run()
    assert lsvi.method == "lsvi-ucb-zero"
    assert lsvi.num_queries == (24, 24)  # no terminal states: K * H each
    assert lsvi.explorer_steps == (24, 24)
    assert lsvi.agents == game.player_names
    assert (lsvi.info["horizon"], lsvi.info["num_episodes"]) == (4, 6)
    assert lsvi.info["explorers"] == (game.player_names[1], game.player_names[0])
    assert lsvi.explore_seconds >= 0.0 and lsvi.bc_seconds >= 0.0
    for i, (table, data) in enumerate(zip(lsvi.policies, lsvi.datasets, strict=True)):
        np.testing.assert_allclose(game.policy_table(i, table), table)
        assert data.agent_names == (game.player_names[i],)
        assert data.metadata["game_id"] == "mail/test-v0"
        assert data.metadata["extra"]["method"] == "lsvi-ucb-zero"
    again = LSVIUCBZeroBC(problem, num_episodes=6, seed=0).run()
    for a, b in zip(lsvi.info["thetas"], again.info["thetas"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_lsvi_bc_labels_are_the_explorers_episodes(games):
    # LSVI-UCB-ZERO-BC's labels of player i are LSVIUCBZero's labels of i when
    # player i + 1 explores with the same child seed.
    from agents.common import spawn_seeds

    game = games.random_game(63, terminal=True)
    expert = games.random_expert(game, 64)
    problem = games.problem(game, expert, horizon=5)
    result = LSVIUCBZeroBC(problem, num_episodes=8, seed=3, beta=2.0).run()
    seeds = spawn_seeds(3, 2)
    for i, j in ((0, 1), (1, 0)):
        out = LSVIUCBZero(beta=2.0, horizon=5, num_episodes=8, seed=seeds[i]).explore(
            game, expert, games.tabular(game, j), explorer=j
        )
        for key in ("observations", "expert_actions", "episodes", "steps"):
            np.testing.assert_array_equal(
                getattr(result.datasets[i], key), getattr(out.labels[i], key)
            )
        assert result.explorer_steps[i] == out.trajectories.num_steps


def test_lsvi_bc_needs_a_model_and_a_linear_setup(games):
    game = games.random_game(65)
    expert = games.random_expert(game, 66)
    problem = games.problem(game, expert)
    bare = dataclasses.replace(problem, linear=None)
    with pytest.raises(ValueError, match="no linear setup"):
        LSVIUCBZeroBC(bare, num_episodes=2)
    with pytest.raises(ValueError, match="no model"):
        LSVIUCBZeroBC(dataclasses.replace(bare, model=None), num_episodes=2)
    with pytest.raises(ValueError, match="num_episodes"):
        LSVIUCBZeroBC(problem, num_episodes=0)
    with pytest.raises(ValueError, match="beta"):
        LSVIUCBZeroBC(problem, num_episodes=2, beta=-1.0)
    with pytest.raises(ValueError, match="l2"):
        LSVIUCBZeroBC(problem, num_episodes=2, l2=0.0)


# ---------------------------------------------------------------- Gridworld
def _gridworld_problem(features: str = "tabular"):
    gridworld = pytest.importorskip("mail_envs.gridworld")
    solvers = pytest.importorskip("mail_envs.solvers")
    features_module = pytest.importorskip("agents.linear.features")
    game = gridworld.make_gridworld_game(size=3)
    tables = tuple(np.asarray(p) for p in solvers.solve_zero_sum(game).policies)
    feature_map = getattr(features_module, f"{features}_features")
    feats = [feature_map(game, i) for i in range(2)]
    return linear_problem(game, tables, feats), solvers.nash_gap


def test_gridworld_acceptance_k50_tabular_beats_expert_self_play_bc():
    # The acceptance target of the Gridworld experiment (paper defaults
    # beta = 10, lambda = 0.1, H = 10): NashConv <= 0.2 at K = 50 in < 30 s.
    problem, nash_gap = _gridworld_problem()
    game = problem.model
    start = time.perf_counter()
    result = LSVIUCBZeroBC(problem, num_episodes=50, seed=0).run()
    gap = nash_gap(game, list(result.policies)).nash_conv
    elapsed = time.perf_counter() - start
    selfplay = model_bc(problem, explorer="expert", num_episodes=50, seed=0)
    gap_bc = nash_gap(game, list(selfplay.policies)).nash_conv
    assert gap <= 0.2 < gap_bc
    assert elapsed < 30.0
    assert result.num_queries == (500, 500)  # no terminal states: K * H


def test_gridworld_relational_features_generalize_from_few_episodes():
    problem, nash_gap = _gridworld_problem("relational")
    result = LSVIUCBZeroBC(problem, num_episodes=5, seed=0).run()
    assert nash_gap(problem.model, list(result.policies)).nash_conv <= 0.05


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_gridworld_acceptance_k50_every_seed(seed):
    problem, nash_gap = _gridworld_problem()
    result = LSVIUCBZeroBC(problem, num_episodes=50, seed=seed).run()
    assert nash_gap(problem.model, list(result.policies)).nash_conv <= 0.2


@pytest.mark.slow  # a subprocess importing torch: ~5-25 s depending on load
def test_reproduction_script_quick_run_writes_json_and_png(tmp_path):
    pytest.importorskip("agents.linear.features")
    script = Path(__file__).resolve().parents[3] / "scripts" / "gridworld_lsvi.py"
    env = dict(os.environ, MPLBACKEND="Agg")
    cmd = [sys.executable, str(script), "--budgets", "2", "4", "--seeds", "3"]
    cmd += ["--out-dir", str(tmp_path)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    stem = "gridworld3_fig1b_published_deterministic_K2-4_seeds3"
    payload = json.loads((tmp_path / f"{stem}.json").read_text())
    assert (tmp_path / f"{stem}.png").stat().st_size > 10_000
    assert payload["config"]["seeds"] == [3]
    rows = payload["results"]
    assert {(r["features"], r["method"], r["episodes"]) for r in rows} == {
        (f, m, k)
        for f in ("tabular", "relational")
        for m in ("lsvi-ucb-zero", "uniform", "bc")
        for k in (2, 4)
    }
    for r in rows:
        assert r["nash_conv_min"] <= r["nash_conv_mean"] <= r["nash_conv_max"]
        assert r["expert_queries"] == [2 * 10 * r["episodes"]]  # 2 players, H = 10
