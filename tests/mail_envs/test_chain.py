"""Tests of the chain game: rules, closed-form equilibrium and exploit, envs.

The closed forms of ``mail_envs/chain.py`` are checked against direct policy
evaluation and best-response dynamic programming written here in numpy.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from mail_envs import chain
from mail_envs.chain import chain_layout, exploit_gain, make_chain_game

GUARD, EXPLORER = 0, 1


def _joint(game, pi0, pi1):
    return (pi0[:, :, None] * pi1[:, None, :]).reshape(game.num_states, -1)


def _transition_matrix(game, joint):
    n = game.num_states
    p = np.zeros((n, n))
    rows = np.repeat(np.arange(n), game.num_joint_actions)
    np.add.at(p, (rows, game.next_states[:, :, 0].ravel()), joint.ravel())
    p[game.terminal] = 0.0  # terminal states: value 0
    return p


def _values(game, pi0, pi1, steps=None):
    """Both players' values of a stationary profile (discounted, or ``steps``)."""
    joint = _joint(game, pi0, pi1)
    p = _transition_matrix(game, joint)
    r = np.einsum("sa,isa->is", joint, game.rewards)
    r[:, game.terminal] = 0.0
    if steps is None:
        return np.linalg.solve(np.eye(game.num_states) - game.gamma * p, r.T).T
    v = np.zeros_like(r)
    for _ in range(steps):
        v = r + game.gamma * v @ p.T
    return v


def _explorer_best_response(game, pi0, steps):
    """Explorer's optimal values and greedy actions against the guard's ``pi0``."""
    rewards = game.joint_reshape(game.rewards[EXPLORER])  # (S, A0, A1)
    nxt = game.joint_reshape(game.next_states[:, :, 0])
    mask = game.legal_masks[EXPLORER]
    v = np.zeros(game.num_states)
    for _ in range(steps):
        q = np.einsum("sa,sab->sb", pi0, rewards + game.gamma * v[nxt])
        q = np.where(mask, q, -np.inf)
        v = np.where(game.terminal, 0.0, q.max(axis=1))
    return v, q.argmax(axis=1)


def _guard_policy(game, layout, error):
    """Guard that plays the wrong actions at the gate with total probability ``error``."""
    num_a = layout.num_actions
    at_gate = np.full(num_a, error / (num_a - 1))
    at_gate[layout.guard_action] = 1.0 - error
    table = np.zeros((game.num_states, num_a))
    table[:, 0] = 1.0
    table[layout.gate] = at_gate
    return game.policy_table(GUARD, table)


def _lazy_explorer(game, layout):
    """Equilibrium explorer: uniform over the non-advancing actions."""
    table = np.ones((game.num_states, layout.num_actions))
    table[np.arange(layout.length), layout.secret] = 0.0
    table[layout.length :] = np.eye(layout.num_actions)[0]
    return game.policy_table(EXPLORER, table / table.sum(axis=1, keepdims=True))


def test_structure():
    game = make_chain_game(length=4, num_actions=3, seed=1)
    layout = chain_layout(length=4, num_actions=3, seed=1)
    assert game.num_states == layout.num_states == 6
    assert game.state_labels == (
        "chain 0",
        "chain 1",
        "chain 2",
        "chain 3",
        "gate",
        "done",
    )
    assert game.is_zero_sum and game.is_deterministic
    np.testing.assert_array_equal(game.terminal, [0, 0, 0, 0, 0, 1])
    assert game.initial_distribution[layout.start] == 1.0
    # Turn-based masks: the guard moves only at the gate, the explorer on the chain.
    np.testing.assert_array_equal(
        game.legal_masks[GUARD].sum(axis=1), [1, 1, 1, 1, 3, 1]
    )
    np.testing.assert_array_equal(
        game.legal_masks[EXPLORER].sum(axis=1), [3, 3, 3, 3, 1, 1]
    )
    assert len(layout.secret) == 4 and all(0 <= a < 3 for a in layout.secret)
    assert game.gamma == 0.95 and game.horizon is None


def test_transitions_and_rewards_by_hand():
    layout = chain_layout(length=3, num_actions=2, cost=0.05, seed=7)
    game = make_chain_game(length=3, num_actions=2, cost=0.05, seed=7)
    nxt = game.joint_reshape(game.next_states[:, :, 0])
    r1 = game.joint_reshape(game.rewards[EXPLORER])
    for k, right in enumerate(layout.secret):
        wrong = 1 - right
        assert nxt[k, 0, right] == k + 1 and r1[k, 0, right] == -0.05
        assert nxt[k, 0, wrong] == 0 and r1[k, 0, wrong] == 0.0
    gate, done = layout.gate, layout.done
    assert gate == 3 and done == 4
    assert (
        nxt[gate, layout.guard_action, 0] == done
        and r1[gate, layout.guard_action, 0] == 0
    )
    other = 1 - layout.guard_action
    assert nxt[gate, other, 0] == done and r1[gate, other, 0] == 1.0
    np.testing.assert_array_equal(game.rewards[GUARD], -game.rewards[EXPLORER])


def test_equilibrium_values_are_zero_and_never_visit_the_gate():
    game = make_chain_game(length=5, num_actions=3, seed=2)
    layout = chain_layout(length=5, num_actions=3, seed=2)
    pi0 = _guard_policy(game, layout, 0.0)
    pi1 = _lazy_explorer(game, layout)
    values = _values(game, pi0, pi1)
    np.testing.assert_allclose(values, 0.0, atol=1e-15)
    # Discounted occupancy of the profile from the start state.
    p = _transition_matrix(game, _joint(game, pi0, pi1))
    occupancy = np.linalg.solve(
        np.eye(game.num_states) - game.gamma * p.T, game.initial_distribution
    )
    assert occupancy[layout.gate] == 0.0
    assert occupancy[layout.start] == pytest.approx(1.0 / (1.0 - game.gamma))
    # No profitable deviation: the explorer's best response earns 0 as well.
    v_br, _ = _explorer_best_response(game, pi0, steps=2000)
    np.testing.assert_allclose(v_br, 0.0, atol=1e-12)


@pytest.mark.parametrize("error", [1.0, 0.5, 0.2, 0.01])
@pytest.mark.parametrize(("length", "num_actions"), [(3, 2), (6, 3)])
def test_exploit_gain_matches_best_response_discounted(error, length, num_actions):
    game = make_chain_game(length, num_actions, gamma=0.9, cost=0.02, seed=3)
    layout = chain_layout(length, num_actions, cost=0.02, seed=3)
    pi0 = _guard_policy(game, layout, error)
    v_br, greedy = _explorer_best_response(game, pi0, steps=3000)
    v_eq = _values(game, pi0, _lazy_explorer(game, layout))
    gain = v_br[layout.start] - v_eq[EXPLORER, layout.start]
    expected = exploit_gain(layout, error, gamma=0.9)
    assert gain == pytest.approx(expected, abs=1e-12)
    if expected > 0:  # the best response walks exactly the secret sequence
        np.testing.assert_array_equal(greedy[: layout.length], layout.secret)


def test_exploit_gain_matches_backward_induction_finite_horizon():
    length, num_actions = 4, 2
    game = make_chain_game(length, num_actions, gamma=1.0, horizon=5, cost=0.1, seed=5)
    layout = chain_layout(length, num_actions, cost=0.1, seed=5)
    pi0 = _guard_policy(game, layout, 0.5)
    # horizon = N + 1 leaves no slack: the walk must start at once.
    v_br, greedy = _explorer_best_response(game, pi0, steps=5)
    assert v_br[layout.start] == pytest.approx(0.5 - 0.1 * 4, abs=1e-12)
    assert exploit_gain(layout, 0.5, gamma=1.0, horizon=5) == pytest.approx(0.1)
    np.testing.assert_array_equal(greedy[:length], layout.secret)


def test_bc_guard_without_gate_data_is_exploitable():
    """A uniform guard at the gate (no data there) loses (A-1)/A gamma^N - walk cost."""
    layout = chain_layout(length=8, num_actions=2)
    gain = exploit_gain(layout, 0.5)
    walk = 0.01 * (1 - 0.95**8) / 0.05
    assert gain == pytest.approx(0.5 * 0.95**8 - walk, abs=1e-15)
    assert gain > 0.25


def test_uniform_explorer_reaches_the_gate_with_probability_a_to_minus_n():
    length, num_actions = 5, 3
    game = make_chain_game(length, num_actions, seed=4)
    layout = chain_layout(length, num_actions, seed=4)
    pi0 = _guard_policy(game, layout, 0.0)
    pi1 = game.uniform_policy(EXPLORER)
    p = _transition_matrix(game, _joint(game, pi0, pi1))
    dist = game.initial_distribution.copy()
    for step in range(1, length + 1):
        dist = dist @ p
        if step < length:
            assert dist[layout.gate] == 0.0
    assert dist[layout.gate] == pytest.approx(num_actions**-length, rel=1e-12)


def test_secret_is_seeded():
    a = chain_layout(length=30, num_actions=2, seed=0)
    assert a == chain_layout(length=30, num_actions=2, seed=0)
    assert a.secret != chain_layout(length=30, num_actions=2, seed=1).secret
    np.testing.assert_array_equal(
        make_chain_game(6, seed=9).next_states, make_chain_game(6, seed=9).next_states
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"length": 0}, "length must be an integer >= 1, got 0"),
        ({"length": 2.0}, "got 2.0"),
        ({"num_actions": 1}, "num_actions must be an integer >= 2, got 1"),
        ({"cost": 0.0}, "cost must be > 0, got 0.0"),
        ({"cost": float("nan")}, "got nan"),
        (
            {"length": 4, "horizon": 4},
            r"horizon must be None or an integer >= length \+ 1 = 5",
        ),
        ({"horizon": 9.5}, "got 9.5"),
        ({"gamma": 1.0}, "gamma=1.0"),
    ],
)
def test_invalid_arguments_raise_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_chain_game(**kwargs)


def test_exploit_gain_validates():
    layout = chain_layout(length=3)
    with pytest.raises(ValueError, match=r"got 1\.5"):
        exploit_gain(layout, 1.5)
    with pytest.raises(ValueError, match="got 3"):
        exploit_gain(layout, 0.5, gamma=1.0, horizon=3)


def test_env_walks_the_secret_and_terminates():
    par = chain.parallel_env(length=3, num_actions=2, seed=11, render_mode="ansi")
    layout = par.layout
    par.reset(seed=0)
    total = {"player_0": 0.0, "player_1": 0.0}
    for k, action in enumerate(layout.secret):
        _, rewards, terms, truncs, infos = par.step({"player_0": 0, "player_1": action})
        assert infos["player_1"]["state"] == k + 1
        assert not any(terms.values())
        for agent, r in rewards.items():
            total[agent] += r
    assert par.render() == "step 3: gate"
    assert total["player_1"] == pytest.approx(-0.03)
    wrong = 1 - layout.guard_action
    _, rewards, terms, truncs, infos = par.step({"player_0": wrong, "player_1": 0})
    assert rewards == {"player_0": -1.0, "player_1": 1.0}
    assert all(terms.values()) and not any(truncs.values())
    assert par.agents == [] and par.game.state_labels[par.state_index] == "done"


def test_env_wrong_step_returns_to_start():
    par = chain.parallel_env(length=4, num_actions=2, seed=0)
    par.reset()
    s = par.layout.secret
    par.step({"player_0": 0, "player_1": s[0]})
    par.step({"player_0": 0, "player_1": 1 - s[1]})
    assert par.state_index == par.layout.start


def test_default_max_cycles():
    assert chain.parallel_env().max_cycles == 50
    assert chain.parallel_env(length=40).max_cycles == 82
    assert chain.parallel_env(length=4, gamma=1.0, horizon=9).max_cycles == 9
    assert chain.env(length=3, max_cycles=7).unwrapped.max_cycles == 7


def test_pettingzoo_checkers():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings(
            "ignore", message="Observation space for each agent probably"
        )
        warnings.filterwarnings("ignore", message="Observation is not a NumPy array")
        api_test(chain.env(length=2), num_cycles=100)
        parallel_api_test(chain.parallel_env(length=2, num_actions=3), num_cycles=100)
        seed_test(lambda: chain.env(length=2), num_cycles=30)
        parallel_seed_test(lambda: chain.parallel_env(length=2), num_cycles=30)


def test_closed_forms_agree_with_the_solvers():
    """Cross-check with mail_envs.solvers (Shapley/Hoffman-Karp, exact best responses)."""
    solvers = pytest.importorskip("mail_envs.solvers")
    game = make_chain_game(length=6, num_actions=3, seed=1)
    layout = chain_layout(length=6, num_actions=3, seed=1)
    eq = solvers.solve_zero_sum(game)
    np.testing.assert_allclose(eq.values, 0.0, atol=1e-12)
    assert eq.policies[GUARD][layout.gate, layout.guard_action] == pytest.approx(1.0)
    occupancy = solvers.occupancy_measure(game, eq.policies)
    assert occupancy.state[layout.gate] == 0.0
    # Behaviour cloning saw no gate data: the guard is uniform there.
    bc_guard = eq.policies[GUARD].copy()
    bc_guard[layout.gate] = 1.0 / 3.0
    result = solvers.nash_gap(game, [bc_guard, eq.policies[EXPLORER]])
    assert result.gains[GUARD] == pytest.approx(0.0, abs=1e-12)
    assert result.gains[EXPLORER] == pytest.approx(
        exploit_gain(layout, 2.0 / 3.0), abs=1e-12
    )
    br = solvers.best_response(game, [bc_guard, eq.policies[EXPLORER]], EXPLORER)
    np.testing.assert_array_equal(
        br.policy[: layout.length].argmax(axis=1), layout.secret
    )
