"""Tests of the Gridworld race: rules by hand and by a loop reference, envs."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

from mail_envs import gridworld
from mail_envs.gridworld import (
    GridworldLayout,
    gridworld_layout,
    make_gridworld_game,
)

LEFT, RIGHT, UP, DOWN, STAY = range(5)


def _step(game, layout, p0, p1, a0, a1):
    """Next positions and player_0's reward of one joint action, via the model."""
    s = int(layout.encode(p0[0] * layout.size + p0[1], p1[0] * layout.size + p1[1]))
    joint = a0 * game.num_actions[1] + a1
    nxt = int(game.next_states[s, joint, 0])
    assert game.rewards[0, s, joint] == -game.rewards[1, s, joint]
    return layout.decode(nxt), float(game.rewards[0, s, joint])


def _reference(size, goal, allow_stay):
    """Plain-loop implementation of the rules in the module docstring."""
    moves = [(0, -1), (0, 1), (-1, 0), (1, 0), (0, 0)][: 5 if allow_stay else 4]
    cells = [(r, c) for r in range(size) for c in range(size)]
    pairs = [(a, b) for a in cells for b in cells if a != b]
    index = {pair: i for i, pair in enumerate(pairs)}

    def target(cell, move):
        if cell == goal:
            return cell
        r, c = cell[0] + move[0], cell[1] + move[1]
        return (r, c) if 0 <= r < size and 0 <= c < size else cell

    num_a = len(moves)
    nxt = np.zeros((len(pairs), num_a * num_a), dtype=np.int64)
    rew = np.zeros((len(pairs), num_a * num_a))
    for s, (p0, p1) in enumerate(pairs):
        for a0, m0 in enumerate(moves):
            for a1, m1 in enumerate(moves):
                t0, t1 = target(p0, m0), target(p1, m1)
                if t0 == t1 or (t0 == p1 and t1 == p0):
                    t0, t1 = p0, p1
                nxt[s, a0 * num_a + a1] = index[(t0, t1)]
                rew[s, a0 * num_a + a1] = (t0 == goal) - (t1 == goal)
    return pairs, nxt, rew


@pytest.mark.parametrize("size", [2, 3, 4])
@pytest.mark.parametrize("allow_stay", [False, True])
def test_model_matches_loop_reference(size, allow_stay):
    game = make_gridworld_game(size, allow_stay=allow_stay)
    layout = gridworld_layout(size, allow_stay=allow_stay)
    pairs, nxt, rew = _reference(size, (0, size - 1), allow_stay)
    np.testing.assert_array_equal(game.next_states[:, :, 0], nxt)
    np.testing.assert_array_equal(game.rewards[0], rew)
    np.testing.assert_array_equal(game.rewards[1], -rew)
    assert game.is_deterministic and game.is_zero_sum
    assert [layout.decode(s) for s in range(layout.num_states)] == pairs


def test_state_counts_and_build_time():
    assert make_gridworld_game(3).num_states == 72
    assert make_gridworld_game(3, allow_stay=True).num_actions == (5, 5)
    start = time.perf_counter()
    game = make_gridworld_game(5)
    elapsed = time.perf_counter() - start
    assert game.num_states == 600 and game.num_actions == (4, 4)
    assert elapsed < 0.25, f"size 5 took {elapsed:.3f} s"


def test_defaults_and_labels():
    game = make_gridworld_game()
    layout = gridworld_layout()
    assert layout.goal == (0, 2) and layout.starts == ((2, 2), (0, 0))
    start = int(np.flatnonzero(game.initial_distribution)[0])
    assert game.initial_distribution[start] == 1.0
    assert start == layout.start_state
    assert game.state_labels[start] == "p0=(2,2) p1=(0,0)"
    assert layout.label(start) == game.state_labels[start]
    assert game.gamma == 0.9 and game.horizon is None
    assert not game.terminal.any()
    assert all(mask.all() for mask in game.legal_masks)
    assert game.player_names == ("player_0", "player_1")


def test_layout_encode_decode_round_trip_vectorized():
    layout = GridworldLayout(4, goal=(0, 3), starts=((3, 3), (0, 0)))
    states = np.arange(layout.num_states)
    c0, c1 = layout.cells(states)
    assert np.all(c0 != c1)
    np.testing.assert_array_equal(layout.encode(c0, c1), states)
    pos = layout.positions(states)
    assert pos.shape == (layout.num_states, 2, 2)
    np.testing.assert_array_equal(pos[:, 0, 0] * 4 + pos[:, 0, 1], c0)
    # Every ordered pair of distinct cells appears exactly once.
    assert len({(a, b) for a, b in zip(c0.tolist(), c1.tolist(), strict=True)}) == 240
    with pytest.raises(ValueError, match="must differ"):
        layout.encode(3, 3)
    with pytest.raises(ValueError, match="240"):
        layout.cells(240)


def test_walls_keep_player_in_place():
    game, layout = make_gridworld_game(), gridworld_layout()
    # player_0 in the bottom-right corner, player_1 in the top-left corner.
    assert _step(game, layout, (2, 2), (0, 0), RIGHT, LEFT) == (((2, 2), (0, 0)), 0.0)
    assert _step(game, layout, (2, 2), (0, 0), DOWN, UP) == (((2, 2), (0, 0)), 0.0)
    # One player hits a wall while the other moves.
    assert _step(game, layout, (2, 2), (0, 0), DOWN, RIGHT) == (((2, 2), (0, 1)), 0.0)
    assert _step(game, layout, (2, 2), (0, 0), LEFT, DOWN) == (((2, 1), (1, 0)), 0.0)


def test_same_target_collision_both_stay():
    game, layout = make_gridworld_game(), gridworld_layout()
    assert _step(game, layout, (1, 0), (1, 2), RIGHT, LEFT) == (((1, 0), (1, 2)), 0.0)
    # Player_1 bumps into the wall, so its target is its own cell: player_0
    # moving there collides with it.
    assert _step(game, layout, (1, 1), (1, 0), LEFT, LEFT) == (((1, 1), (1, 0)), 0.0)


def test_swap_collision_both_stay():
    game, layout = make_gridworld_game(), gridworld_layout()
    assert _step(game, layout, (2, 0), (2, 1), RIGHT, LEFT) == (((2, 0), (2, 1)), 0.0)
    assert _step(game, layout, (1, 1), (2, 1), DOWN, UP) == (((1, 1), (2, 1)), 0.0)


def test_following_into_a_vacated_cell_is_allowed():
    game, layout = make_gridworld_game(), gridworld_layout()
    assert _step(game, layout, (2, 0), (2, 1), RIGHT, UP) == (((2, 1), (1, 1)), 0.0)


def test_goal_is_absorbing_and_pays_every_step():
    game, layout = make_gridworld_game(), gridworld_layout()
    # Arriving pays at once.
    assert _step(game, layout, (1, 2), (2, 0), UP, RIGHT) == (((0, 2), (2, 1)), 1.0)
    assert _step(game, layout, (2, 0), (0, 1), UP, RIGHT) == (((1, 0), (0, 2)), -1.0)
    # On the goal, every action stays and pays again; the other still moves.
    for action in range(4):
        assert _step(game, layout, (0, 2), (2, 0), action, UP) == (
            ((0, 2), (1, 0)),
            1.0,
        )
    # Moving onto the occupied goal is a same-target collision.
    assert _step(game, layout, (1, 2), (0, 2), UP, LEFT) == (((1, 2), (0, 2)), -1.0)
    # Both racing onto the goal: nobody gets it.
    assert _step(game, layout, (1, 2), (0, 1), UP, RIGHT) == (((1, 2), (0, 1)), 0.0)


def test_values_on_goal_by_policy_evaluation():
    """Whoever holds the goal earns 1 / (1 - gamma) under every policy."""
    game, layout = make_gridworld_game(gamma=0.9), gridworld_layout()
    rng = np.random.default_rng(0)
    n, num_a = game.num_states, game.num_actions[0]
    pi0 = rng.dirichlet(np.ones(num_a), size=n)
    pi1 = rng.dirichlet(np.ones(num_a), size=n)
    joint = (pi0[:, :, None] * pi1[:, None, :]).reshape(n, -1)
    p = np.zeros((n, n))
    np.add.at(
        p,
        (np.repeat(np.arange(n), num_a**2), game.next_states[:, :, 0].ravel()),
        joint.ravel(),
    )
    r = (joint * game.rewards[0]).sum(axis=1)
    v0 = np.linalg.solve(np.eye(n) - game.gamma * p, r)
    c0, c1 = layout.cells(np.arange(n))
    np.testing.assert_allclose(v0[c0 == layout.goal_cell], 10.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(v0[c1 == layout.goal_cell], -10.0, rtol=0, atol=1e-12)


def test_role_swap_with_reflection_is_a_symmetry():
    """Swap the players and reflect in the anti-diagonal through the goal corner."""
    size = 4
    game, layout = make_gridworld_game(size), gridworld_layout(size)
    n, num_a = game.num_states, game.num_actions[0]
    pos = layout.positions(np.arange(n))  # (S, player, (row, col))
    reflected = np.stack([size - 1 - pos[..., 1], size - 1 - pos[..., 0]], axis=-1)
    cells = reflected[..., 0] * size + reflected[..., 1]
    sigma = layout.encode(cells[:, 1], cells[:, 0])  # roles swapped
    # The reflection maps left<->down and right<->up.
    tau_action = np.array([DOWN, UP, RIGHT, LEFT])
    a0, a1 = np.divmod(np.arange(num_a * num_a), num_a)
    tau = tau_action[a1] * num_a + tau_action[a0]
    assert sigma[layout.start_state] == layout.start_state
    np.testing.assert_array_equal(
        game.next_states[sigma][:, tau, 0], sigma[game.next_states[:, :, 0]]
    )
    np.testing.assert_array_equal(game.rewards[0][sigma][:, tau], game.rewards[1])


def test_published_starts():
    """The 3x3 start of the published code (linear_bc_experiments.py, [row, col]).

    ``start_state = [[1, 0], [2, 1]]``, goal ``[0, 2]``: three moves each; the
    same cells are fair on every larger grid with the default top-right goal.
    """
    assert gridworld.PUBLISHED_STARTS == ((1, 0), (2, 1))
    game = make_gridworld_game(3, starts=gridworld.PUBLISHED_STARTS)
    assert game.state_labels[int(game.initial_distribution.argmax())] == (
        "p0=(1,0) p1=(2,1)"
    )
    for size in (3, 4, 5):
        layout = gridworld_layout(size, starts=gridworld.PUBLISHED_STARTS)
        assert layout.goal == (0, size - 1)
        assert layout.decode(layout.start_state) == ((1, 0), (2, 1))


def test_custom_goal_and_starts():
    game = make_gridworld_game(3, goal=(0, 0))  # reflections: (2, 0) and (0, 2)
    layout = gridworld_layout(3, goal=(0, 0))
    assert layout.starts == ((2, 0), (0, 2))
    assert game.state_labels[layout.start_state] == "p0=(2,0) p1=(0,2)"
    layout = gridworld_layout(5, goal=(2, 2), starts=((0, 2), (4, 2)))
    assert layout.decode(layout.start_state) == ((0, 2), (4, 2))
    game = make_gridworld_game(4, goal=np.array([1, 1]), starts=[[0, 0], [2, 2]])
    assert game.num_states == 240


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 1}, "size must be an integer >= 2, got 1"),
        ({"size": 2.5}, "got 2.5"),
        ({"size": True}, "got True"),
        ({"goal": (3, 0)}, r"goal \(3, 0\) is off the 3x3 grid"),
        ({"goal": (0,)}, r"goal must be a \(row, col\) pair of ints, got \(0,\)"),
        ({"goal": (1, 1)}, r"pass starts="),
        ({"starts": ((2, 2), (2, 2))}, "both players on one cell"),
        ({"starts": ((0, 2), (2, 0))}, r"on the goal \(0, 2\)"),
        ({"starts": ((2, 2), (1, 0))}, "unfair: distances 2 and 3"),
        ({"starts": ((2, 2), (0, 0), (1, 1))}, "starts must be"),
        ({"starts": ((2, 2), (0, -1))}, r"starts\[1\] \(0, -1\) is off"),
        ({"allow_stay": "yes"}, "allow_stay must be a bool, got 'yes'"),
        ({"gamma": 1.0}, "gamma=1.0"),
        ({"gamma": 0.0}, "gamma must be in"),
        ({"horizon": 0}, "horizon must be an integer >= 1, got 0"),
    ],
)
def test_invalid_arguments_raise_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_gridworld_game(**kwargs)


def test_finite_horizon_variant():
    game = make_gridworld_game(gamma=1.0, horizon=6)
    assert game.horizon == 6 and game.gamma == 1.0
    par = gridworld.parallel_env(gamma=1.0, horizon=6)
    assert par.max_cycles == 6


def _checker_warnings():
    """Warnings the PettingZoo checkers give every Dict-observation env."""
    warnings.filterwarnings(
        "ignore", message="Observation space for each agent probably"
    )
    warnings.filterwarnings("ignore", message="Observation is not a NumPy array")


@pytest.mark.parametrize("kwargs", [{}, {"size": 4, "allow_stay": True}])
def test_pettingzoo_checkers(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _checker_warnings()
        api_test(gridworld.env(**kwargs), num_cycles=100)
        api_test(gridworld.raw_env(**kwargs), num_cycles=100)
        parallel_api_test(gridworld.parallel_env(**kwargs), num_cycles=100)
        seed_test(lambda: gridworld.env(**kwargs), num_cycles=20)
        parallel_seed_test(lambda: gridworld.parallel_env(**kwargs), num_cycles=20)


def test_env_conventions():
    aec = gridworld.env()
    assert isinstance(aec, OrderEnforcingWrapper)
    assert isinstance(aec.unwrapped, gridworld.raw_env)
    assert aec.unwrapped.metadata["name"] == "gridworld_v0"
    assert aec.unwrapped.metadata["is_parallelizable"]
    par = gridworld.parallel_env(size=3)
    assert par.max_cycles == gridworld.DEFAULT_MAX_CYCLES == 50
    assert par.metadata["name"] == "gridworld_v0"
    obs, infos = par.reset(seed=3)
    assert infos["player_0"]["state"] == par.layout.start_state == par.state_index
    assert obs["player_0"]["observation"].shape == (72,)
    assert obs["player_0"]["observation"][par.state_index] == 1.0
    np.testing.assert_array_equal(obs["player_1"]["action_mask"], np.ones(4, np.int8))


def test_env_plays_the_race():
    par = gridworld.parallel_env(render_mode="ansi")
    par.reset(seed=0)
    assert par.render() == "step 0: p0=(2,2) p1=(0,0)"
    _, rewards, terms, truncs, _ = par.step({"player_0": UP, "player_1": DOWN})
    assert rewards == {"player_0": 0.0, "player_1": 0.0}
    _, rewards, terms, truncs, infos = par.step({"player_0": UP, "player_1": DOWN})
    assert rewards == {"player_0": 1.0, "player_1": -1.0}
    assert par.render() == "step 2: p0=(0,2) p1=(2,0)"
    assert not any(terms.values()) and not any(truncs.values())
    assert par.game.state_labels[infos["player_1"]["state"]] == "p0=(0,2) p1=(2,0)"


def test_equilibrium_value_by_the_solver():
    """The symmetric race is worth 0; a player next to a free goal is worth 10."""
    solvers = pytest.importorskip("mail_envs.solvers")
    game, layout = make_gridworld_game(3), gridworld_layout(3)
    eq = solvers.solve_zero_sum(game)
    assert eq.value[0] == pytest.approx(0.0, abs=1e-9)
    near = int(layout.encode(1 * 3 + 2, 2 * 3 + 0))  # p0=(1,2) p1=(2,0)
    assert eq.values[0, near] == pytest.approx(10.0, abs=1e-9)
    assert solvers.nash_gap(game, eq.policies).nash_conv < 1e-8
