"""eps_BC, the expected-error bound for dominant strategies, occupancy matching.

Claims of Bergerault, Cevher, Mehr ("Matching Multiple Experts: On the
Exploitability of Multi-Agent Imitation Learning"). Known values are computed
by hand in the comments; gains are checked independently by a linear program
(scipy.optimize.linprog over the deviator's occupancy measures) and
occupancies by a truncated power series.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from agents.theory.bounds import bound_check, perturb_profile, reward_span
from agents.theory.errors import bc_error
from agents.theory.matching_experts import (
    dominance_regret,
    dominant_bound_check,
    eps_bc,
    occupancy_matching_check,
    policy_from_occupancy,
)
from mail_envs.breakdown import dominant_profile as breakdown_expert
from mail_envs.breakdown import make_breakdown_game, slip_profile
from mail_envs.chain import make_chain_game
from mail_envs.public_goods import dominant_profile as keep_profile
from mail_envs.public_goods import make_public_goods_game
from mail_envs.random_games import make_random_zero_sum_game
from mail_envs.solvers import nash_gap, occupancy_measure, solve_zero_sum
from mail_envs.xor_coordination import (
    expert_profile,
    make_xor_coordination_game,
    state_matching_profile,
)

# ------------------------------------------------------------ independent checks


def _dense_transitions(game):
    """``P[s, a_joint, s']`` from the sparse arrays."""
    dense = np.zeros((game.num_states, game.next_states.shape[1], game.num_states))
    s, a, _ = np.indices(game.next_states.shape)
    np.add.at(dense, (s, a, game.next_states), game.next_probs)
    return dense


def _joint_to_player(game, player):
    """``(A_joint, A_i)`` one-hot: which action player i takes in each joint action."""
    joint = np.array(list(itertools.product(*[range(a) for a in game.num_actions])))
    return np.eye(game.num_actions[player])[joint[:, player]]


def _others_weight(game, tables, player):
    """``(S, A_joint)``: probability of the others' part of each joint action."""
    ones = [t if j != player else np.ones_like(t) for j, t in enumerate(tables)]
    out = ones[0]
    for t in ones[1:]:
        out = (out[:, :, None] * t[:, None, :]).reshape(game.num_states, -1)
    return out


def _lp_best_response_value(game, tables, player):
    """max over occupancies x(s, a_i) >= 0 of the player's MDP:
    sum_a x(s, a) - gamma sum_{s', a'} P(s | s', a') x(s', a') = mu0(s)."""
    w = _others_weight(game, tables, player)
    to_i = _joint_to_player(game, player)
    reward = (game.rewards[player] * w) @ to_i  # (S, A_i)
    trans = np.einsum("sj,sjt,ja->sat", w, _dense_transitions(game), to_i)
    num_s, num_a = reward.shape
    a_eq = np.zeros((num_s, num_s * num_a))
    for s in range(num_s):  # tiny test games
        a_eq[s, s * num_a : (s + 1) * num_a] += 1.0
    a_eq -= game.gamma * trans.reshape(num_s * num_a, num_s).T
    res = linprog(
        -reward.reshape(-1),
        A_eq=a_eq,
        b_eq=game.initial_distribution,
        bounds=(0, None),
        method="highs",
    )
    assert res.status == 0
    return -res.fun


def _profile_value(game, tables, player):
    joint = tables[0]
    for t in tables[1:]:
        joint = (joint[:, :, None] * t[:, None, :]).reshape(game.num_states, -1)
    p = np.einsum("sj,sjt->st", joint, _dense_transitions(game))
    r = (game.rewards[player] * joint).sum(axis=1)
    v = np.linalg.solve(np.eye(game.num_states) - game.gamma * p, r)
    return v @ game.initial_distribution


def _lp_gains(game, tables):
    return np.array(
        [
            _lp_best_response_value(game, tables, i) - _profile_value(game, tables, i)
            for i in range(game.num_players)
        ]
    )


def _power_series_occupancy(game, tables, steps=2000):
    """(1 - gamma) sum_t gamma^t mu0 P^t, truncated (independent of the solver)."""
    joint = tables[0]
    for t in tables[1:]:
        joint = (joint[:, :, None] * t[:, None, :]).reshape(game.num_states, -1)
    p = np.einsum("sj,sjt->st", joint, _dense_transitions(game))
    dist, total = game.initial_distribution.copy(), np.zeros(game.num_states)
    for t in range(steps):
        total += game.gamma**t * dist
        dist = dist @ p
    return (1 - game.gamma) * total


# ------------------------------------------------------------------------ eps_BC


def test_eps_bc_xor_by_hand():
    # Expert uniform in both states, d_E uniform. player_0 always plays 0: TV
    # (1,0) vs (1/2,1/2) = 1/2 in each state; player_1 matches. Joint: learned
    # (1/2,1/2,0,0) vs (1/4,...): TV 1/2.
    game = make_xor_coordination_game(gamma=0.9)
    err = eps_bc(game, expert_profile(), state_matching_profile())
    np.testing.assert_allclose(err.per_player, [0.5, 0.0], atol=1e-12)
    assert err.value == pytest.approx(0.5)
    assert err.total == pytest.approx(0.5)
    assert err.joint == pytest.approx(0.5)


def test_eps_bc_is_under_the_expert_occupancy_only():
    # The expert never leaves "working": d_E = (1, 0). Slip e in working, any
    # behaviour in "broken" (never visited): eps_i = e exactly.
    game = make_breakdown_game(3, gamma=0.95)
    for repair in (0.0, 0.5, 1.0):
        err = eps_bc(
            game, breakdown_expert(game), slip_profile(game, 0.2, repair=repair)
        )
        np.testing.assert_allclose(err.per_player, 0.2, atol=1e-12)
        # Joint: P(all careful) = 0.8^3 against 1: TV = 1 - 0.512 = 0.488.
        assert err.joint == pytest.approx(1 - 0.8**3, abs=1e-12)


def test_eps_bc_against_power_series_and_bc_error_on_a_random_game():
    game = make_random_zero_sum_game(num_states=6, num_actions=(3, 2), seed=1)
    rng = np.random.default_rng(0)
    expert = solve_zero_sum(game).policies
    learned = [rng.dirichlet(np.ones(a), size=6) for a in game.num_actions]
    err = eps_bc(game, expert, learned)
    d_e = _power_series_occupancy(game, list(expert))
    live = ~game.terminal
    for i in range(2):
        tv = 0.5 * np.abs(learned[i] - expert[i]).sum(axis=1) * live
        assert err.per_player[i] == pytest.approx(d_e @ tv, abs=1e-9)
    # Same numbers as bc_error's expected field (one implementation).
    np.testing.assert_allclose(err.per_player, bc_error(game, learned, expert).expected)
    # max_i TV_i <= TV(joint) <= sum_i TV_i, state by state, hence in expectation.
    assert err.value - 1e-12 <= err.joint <= err.total + 1e-12


def test_eps_bc_finite_horizon_non_stationary():
    # Horizon 4, expert stays in working at every step; slips 0, .1, .2, .3 per
    # step average to 0.15.
    game = make_breakdown_game(2, gamma=1.0, horizon=4)
    slips = [0.0, 0.1, 0.2, 0.3]
    table = np.stack([[[1 - e, e], [0.0, 1.0]] for e in slips])
    err = eps_bc(game, breakdown_expert(game), [table, breakdown_expert(game)[1]])
    np.testing.assert_allclose(err.per_player, [0.15, 0.0], atol=1e-12)


# ------------------------------------------------------- the dominant-strategy bound


@pytest.mark.parametrize(
    "game",
    [
        make_breakdown_game(1, gamma=0.9),
        make_breakdown_game(2, gamma=0.95),
        make_breakdown_game(3, cost=0.0, gamma=0.9),
        make_public_goods_game(2, num_stakes=3, gamma=0.9),
        make_public_goods_game(4, num_stakes=2, gamma=0.8),
    ],
    ids=["breakdown1", "breakdown2", "breakdown3", "goods2", "goods4"],
)
def test_expected_form_bound_holds_for_dominant_experts(game):
    expert = tuple(
        np.eye(2)[np.zeros(game.num_states, int)] for _ in range(game.num_players)
    )
    rng = np.random.default_rng(game.num_players)
    sizes = [0.0, 0.001, 0.01, 0.1, 0.5, 1.0]
    profiles = [
        perturb_profile(game, expert, s, rng=rng) for s in sizes for _ in range(2)
    ]
    check = dominant_bound_check(game, expert, profiles, np.repeat(sizes, 2))
    assert check.nash_gap[0] <= 1e-12 and check.bound_nash_gap[0] == 0.0
    assert np.all(check.gains <= check.bound_gains + 1e-9)
    assert np.all(check.nash_gap <= check.bound_nash_gap + 1e-9)
    assert np.all(check.nash_conv <= check.bound_nash_conv + 1e-9)
    assert np.all(check.nash_gap[2:] > 0)  # the bound is not vacuous: gaps exist


def test_bound_constant_and_values_by_hand():
    # One player, cost 0, gamma 0.9, slip e = 0.1: span 1, constant 1/0.01 = 100;
    # bound (2n - 1) * 100 * 0.1 = 10. Gain 1/(1-g) - 1/(1-g(1-e)) = 10 - 1/0.19.
    game = make_breakdown_game(1, cost=0.0, gamma=0.9)
    check = dominant_bound_check(
        game, breakdown_expert(game), [slip_profile(game, 0.1)]
    )
    assert check.constant == pytest.approx(100.0)
    assert check.bound_nash_gap[0] == pytest.approx(10.0)
    assert check.nash_gap[0] == pytest.approx(10 - 1 / 0.19, rel=1e-10)
    # span with cost 0.1: rewards from -0.1 to 1.
    assert reward_span(make_breakdown_game(2, cost=0.1)) == pytest.approx(1.1)


@pytest.mark.parametrize(("n", "gamma"), [(1, 0.9), (2, 0.9), (3, 0.9), (2, 0.99)])
def test_bound_order_is_attained(n, gamma):
    # Breakdown, cost 0, slip e -> 0, p = 1 - (1-e)^n ~ n e, p' ~ (n-1) e:
    # gain = 1/((1-g)(1+g p')) - 1/(1-g+g p) ~ [g p/(1-g) - g p'] / (1-g)
    #      = g e (1 + g (n-1)) / (1-g)^2,
    # while the bound is (2n - 1) e / (1-g)^2: the ratio tends to
    # g (1 + g (n-1)) / (2n - 1) (-> n / (2n - 1) as g -> 1).
    game = make_breakdown_game(n, cost=0.0, gamma=gamma)
    check = dominant_bound_check(
        game, breakdown_expert(game), [slip_profile(game, 1e-7)]
    )
    ratio = check.nash_gap[0] / check.bound_nash_gap[0]
    assert ratio == pytest.approx(gamma * (1 + gamma * (n - 1)) / (2 * n - 1), rel=1e-4)


@pytest.mark.parametrize(
    ("game", "profile"),
    [
        (make_breakdown_game(2, cost=0.1, gamma=0.9), None),
        (make_xor_coordination_game(gamma=0.8), state_matching_profile()),
        (make_public_goods_game(3, num_stakes=2, gamma=0.7), None),
    ],
)
def test_gains_agree_with_a_linear_program(game, profile):
    rng = np.random.default_rng(3)
    if profile is None:
        profile = [
            rng.dirichlet(np.ones(2), size=game.num_states)
            for _ in range(game.num_players)
        ]
    lp = _lp_gains(game, list(profile))
    np.testing.assert_allclose(nash_gap(game, profile).gains, lp, atol=1e-7)


def test_expected_form_needs_dominance():
    # Chain game (zero-sum expert, not dominant): errors only off the expert's
    # support give eps_BC = 0 and a positive gap, above the "bound" 0.
    game = make_chain_game(length=4, num_actions=2)
    expert = solve_zero_sum(game).policies
    learned = perturb_profile(
        game, expert, 1.0, support="off", players=[0], rng=np.random.default_rng(0)
    )
    assert eps_bc(game, expert, learned).value == 0.0
    assert nash_gap(game, learned).nash_conv > 1e-3


def test_the_worst_state_constant_with_the_expected_error_is_no_bound():
    # bounds.bound_check's bound_expected (n * span * eps / (1-g)^2 on NashConv)
    # fails even for a dominant expert: NashConv ~ g n^2 e / (1-g)^2 here.
    game = make_breakdown_game(3, cost=0.0, gamma=0.95)
    expert = breakdown_expert(game)
    learned = slip_profile(game, 1e-4)
    old = bound_check(game, expert, [learned])
    new = dominant_bound_check(game, expert, [learned])
    assert old.nash_conv[0] > old.bound_expected[0]
    assert new.nash_conv[0] <= new.bound_nash_conv[0]


def test_dominance_regret_by_brute_force():
    game = make_breakdown_game(2, cost=0.1, gamma=0.9)
    det = [np.eye(2)[list(c)] for c in itertools.product(range(2), repeat=2)]
    opponents = [(a, b) for a in det for b in det]
    regret = dominance_regret(game, breakdown_expert(game), opponents)
    assert regret.shape == (16, 2)
    assert regret.max() <= 1e-9
    goods = make_public_goods_game(3, num_stakes=2)
    rng = np.random.default_rng(0)
    opp = [[rng.dirichlet(np.ones(2), size=2) for _ in range(3)] for _ in range(5)]
    assert dominance_regret(goods, keep_profile(goods), opp).max() <= 1e-9
    # XOR: the uniform expert is an equilibrium but not dominant. Against a
    # partner who always plays 0 it earns 1/2 per step, the best response 1:
    # regret 1/(2 (1 - gamma)) = 5 at gamma 0.9.
    xor = make_xor_coordination_game(gamma=0.9)
    zero = np.array([[1.0, 0.0], [1.0, 0.0]])
    regret = dominance_regret(xor, expert_profile(), [(zero, zero)])
    np.testing.assert_allclose(regret, [[5.0, 5.0]], atol=1e-9)


# -------------------------------------------------------------- occupancy matching


def test_state_matching_is_not_enough_by_hand():
    # gamma 0.9. (a) player_0 always 0, player_1 uniform: state occupancy
    # uniform, player_1 gains 1/(2(1-g)) = 5. (b) player_0 always 1, player_1
    # plays 1 in s0 and 0 in s1: s0 loops with reward 1, s1 loops with reward 0,
    # d = (1/2, 1/2) from the uniform start, values 5; each player gains 5 by
    # agreeing in s1 (then s0 forever, worth 10): NashConv 10 = 1/(1-g).
    game = make_xor_coordination_game(gamma=0.9)
    b = (np.array([[0.0, 1.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]))
    check = occupancy_matching_check(
        game, expert_profile(), [state_matching_profile(), b]
    )
    np.testing.assert_allclose(check.state_tv, 0.0, atol=1e-12)
    np.testing.assert_allclose(check.state_action_tv[0], [0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(check.state_action_tv[1], [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(check.gains, [[0.0, 5.0], [5.0, 5.0]], atol=1e-9)
    assert check.full_support


def test_state_action_matching_recovers_the_equilibrium_brute_force():
    # Grid over all XOR profiles with probabilities in {0, 1/2, 1} (81): the
    # only one with the expert's state-action occupancy is the expert (gap 0),
    # while state matching admits NashConv up to 1/(1-g) = 10.
    game = make_xor_coordination_game(gamma=0.9)
    vals = [0.0, 0.5, 1.0]
    profiles = [
        (np.array([[a, 1 - a], [b, 1 - b]]), np.array([[c, 1 - c], [d, 1 - d]]))
        for a, b, c, d in itertools.product(vals, repeat=4)
    ]
    check = occupancy_matching_check(game, expert_profile(), profiles)
    sa_match = check.state_action_tv.max(axis=1) <= 1e-12
    assert sa_match.sum() == 1 and profiles[int(np.argmax(sa_match))][0][0, 0] == 0.5
    assert check.nash_conv[sa_match].max() <= 1e-9
    np.testing.assert_allclose(check.joint_tv[sa_match], 0.0, atol=1e-12)
    state_match = check.state_tv <= 1e-12
    assert check.nash_conv[state_match].max() == pytest.approx(10.0, abs=1e-9)


def test_policy_from_occupancy_recovers_the_expert_on_full_support():
    game = make_random_zero_sum_game(num_states=5, num_actions=(2, 3), seed=2)
    expert = solve_zero_sum(game).policies
    occ = occupancy_measure(game, expert)
    tables, determined = policy_from_occupancy(game, occ.player_state_action)
    visited = occ.state > 1e-12
    np.testing.assert_array_equal(determined, visited)
    for t, e in zip(tables, expert, strict=True):
        np.testing.assert_allclose(t[visited], e[visited], atol=1e-9)
    # Same policy, same occupancy, same gap.
    if visited.all():
        assert nash_gap(game, tables).nash_conv == pytest.approx(
            nash_gap(game, expert).nash_conv, abs=1e-9
        )


def test_without_full_support_state_action_matching_is_not_enough():
    # Chain game: the expert never visits some states; changing player_0's
    # policy only there keeps every occupancy (TV 0) and opens a positive gap.
    game = make_chain_game(length=4, num_actions=2)
    expert = solve_zero_sum(game).policies
    learned = perturb_profile(
        game, expert, 1.0, support="off", players=[0], rng=np.random.default_rng(0)
    )
    check = occupancy_matching_check(game, expert, [learned])
    assert not check.full_support
    assert check.joint_tv[0] <= 1e-12 and check.state_action_tv.max() <= 1e-12
    assert check.nash_conv[0] > 1e-3
    occ = occupancy_measure(game, expert)
    _, determined = policy_from_occupancy(game, occ.player_state_action)
    assert not determined[~game.terminal].all()


# ------------------------------------------------------------------ bad arguments


def test_bad_arguments():
    game = make_breakdown_game(2)
    expert = breakdown_expert(game)
    with pytest.raises(ValueError, match="discounted"):
        finite = make_breakdown_game(2, gamma=1.0, horizon=3)
        dominant_bound_check(
            finite, breakdown_expert(finite), [breakdown_expert(finite)]
        )
    with pytest.raises(ValueError, match="at least one profile"):
        dominant_bound_check(game, expert, [])
    with pytest.raises(TypeError, match="sequence of profiles"):
        occupancy_matching_check(game, expert, np.zeros((1, 2, 2, 2)))
    with pytest.raises(ValueError, match="labels"):
        dominant_bound_check(game, expert, [expert], labels=[0.0, 1.0])
    with pytest.raises(ValueError, match="expected 2 policies"):
        eps_bc(game, expert, expert[:1])
    with pytest.raises(ValueError, match="at least one profile"):
        dominance_regret(game, expert, [])
    with pytest.raises(ValueError, match="expected 2 occupancies"):
        policy_from_occupancy(game, [np.ones((2, 2))])
    with pytest.raises(ValueError, match="shape"):
        policy_from_occupancy(game, [np.ones((2, 3)), np.ones((2, 2))])
    with pytest.raises(ValueError, match=">= 0"):
        policy_from_occupancy(game, [-np.ones((2, 2)), np.ones((2, 2))])
