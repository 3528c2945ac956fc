"""BC-error bound (dominant strategies) and best-response continuity, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from agents.theory.bounds import (
    best_response_continuity,
    best_response_distance,
    bound_check,
    bound_constant,
    perturb_profile,
)
from mail_envs.chain import make_chain_game
from mail_envs.public_goods import dominant_profile, make_public_goods_game
from mail_envs.solvers import occupancy_measure, solve_zero_sum
from mail_envs.xor_coordination import expert_profile, make_xor_coordination_game


def test_bound_constant_by_hand():
    # n = 2, stake 1, m = 1.5: rewards range from -0.25 to 0.75, span 1.
    game = make_public_goods_game(2, num_stakes=1, multiplier=1.5, gamma=0.9)
    assert bound_constant(game) == pytest.approx(2 * 1.0 / 0.1**2)
    finite = make_public_goods_game(
        2, num_stakes=1, multiplier=1.5, horizon=5, gamma=1.0
    )
    assert bound_constant(finite) == pytest.approx(2 * 1.0 * 25)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_dominant_strategy_bound_holds_with_worst_state_error(n):
    game = make_public_goods_game(n, num_stakes=3, gamma=0.8)
    expert = dominant_profile(game)
    rng = np.random.default_rng(n)
    sizes = [0.0, 0.01, 0.05, 0.2, 0.5, 1.0]
    profiles = [perturb_profile(game, expert, s, rng=rng) for s in sizes]
    check = bound_check(game, expert, profiles, sizes)
    assert check.nash_conv[0] <= 1e-9
    assert np.all(check.nash_conv <= check.bound_worst + 1e-9)
    assert np.all(check.eps_worst <= np.asarray(sizes) + 1e-12)
    assert np.all(check.nash_conv[1:] > 0)


def test_expected_form_breaks_off_the_expert_support():
    game = make_chain_game(length=4, num_actions=2)
    expert = solve_zero_sum(game).policies
    rng = np.random.default_rng(0)
    profiles = [
        perturb_profile(game, expert, 1.0, support="off", players=[0], rng=rng)
        for _ in range(5)
    ]
    check = bound_check(game, expert, profiles)
    np.testing.assert_array_equal(check.eps_expected, 0.0)
    assert check.nash_conv.max() > 1e-3  # a positive gap the expected form misses
    assert np.all(check.nash_conv <= check.bound_worst + 1e-9)


def test_perturbation_stays_in_its_support_and_ball():
    game = make_chain_game(length=4, num_actions=2)
    expert = solve_zero_sum(game).policies
    visited = occupancy_measure(game, expert).state > 0
    rng = np.random.default_rng(1)
    on = perturb_profile(game, expert, 0.3, support="on", rng=rng)
    off = perturb_profile(game, expert, 0.3, support="off", rng=rng)
    for i in range(2):
        tv_on = 0.5 * np.abs(on[i] - expert[i]).sum(axis=1)
        tv_off = 0.5 * np.abs(off[i] - expert[i]).sum(axis=1)
        assert tv_on.max() <= 0.3 + 1e-12 and tv_off.max() <= 0.3 + 1e-12
        np.testing.assert_array_equal(tv_on[~visited], 0.0)
        np.testing.assert_array_equal(tv_off[visited], 0.0)
    with pytest.raises(ValueError, match="support must be 'on', 'off' or 'all'"):
        perturb_profile(game, expert, 0.1, support="near", rng=rng)
    with pytest.raises(ValueError, match=r"size must lie in \[0, 1\], got 2"):
        perturb_profile(game, expert, 2, rng=rng)


def test_best_response_distance_by_hand():
    game = make_xor_coordination_game()
    # Against a partner who always plays 0, only action 0 is optimal: the
    # uniform expert has mass 1/2 on the non-optimal action in both states.
    partner = (np.array([[1.0, 0.0], [1.0, 0.0]]), np.full((2, 2), 0.5))
    assert best_response_distance(game, expert_profile(), partner, 1) == 0.5
    assert best_response_distance(game, expert_profile(), expert_profile(), 1) == 0.0


def test_continuity_contrast_between_the_games():
    xor = make_xor_coordination_game()
    cont = best_response_continuity(
        xor, expert_profile(), 1, [0.0, 0.01, 0.1], num_random=3, search_steps=3
    )
    np.testing.assert_array_equal(cont.delta_adversarial, [0.0, 0.5, 0.5])
    assert np.all(cont.delta_adversarial >= cont.delta_random)
    goods = make_public_goods_game(3)
    cont = best_response_continuity(
        goods, dominant_profile(goods), 0, [0.1, 1.0], num_random=3, search_steps=3
    )
    np.testing.assert_array_equal(cont.delta_adversarial, 0.0)


def _brute_force_concentrability(game, expert, phi, player, ridge):
    """max over deterministic deviations of ||E_dev phi||_{Sigma^-1}, densely."""
    import itertools

    from mail_envs.solvers import occupancy_measure

    occ_e = occupancy_measure(game, expert).player_state_action[player]
    flat = phi.reshape(-1, phi.shape[2])
    sigma = flat.T @ (occ_e.reshape(-1, 1) * flat) + ridge * np.eye(flat.shape[1])
    best = 0.0
    j = 1 - player
    legal = [np.flatnonzero(m) for m in game.legal_masks[j]]
    for choice in itertools.product(*legal):
        deviation = np.eye(game.num_actions[j])[list(choice)]
        profile = list(expert)
        profile[j] = deviation
        occ = occupancy_measure(game, profile).player_state_action[player]
        v = np.einsum("sa,sad->d", occ, phi)
        best = max(best, float(np.sqrt(v @ np.linalg.solve(sigma, v))))
    return best


@pytest.mark.parametrize("features", ["one-hot", "random"])
def test_concentrability_matches_brute_force_on_a_small_game(features):
    from agents.theory.bounds import feature_concentrability
    from mail_envs.random_games import make_random_zero_sum_game

    game = make_random_zero_sum_game(num_states=5, num_actions=(2, 2), seed=3)
    expert = solve_zero_sum(game).policies
    if features == "one-hot":
        phi = np.eye(10).reshape(5, 2, 10)
    else:
        phi = np.random.default_rng(0).standard_normal((5, 2, 3))
    found = feature_concentrability(
        game, expert, phi, 0, ridge=1e-3, normalize=False, restarts=8
    )
    exact = _brute_force_concentrability(game, expert, phi, 0, 1e-3)
    assert found.value <= exact + 1e-9  # a certified lower bound ...
    assert found.value == pytest.approx(exact, rel=1e-6)  # ... that is tight here
    assert list(found.history) == sorted(found.history)


def test_one_hot_concentrability_is_the_state_action_ratio():
    from agents.theory.bounds import feature_concentrability

    game = make_chain_game(length=3, num_actions=2)
    expert = solve_zero_sum(game).policies
    phi = np.eye(10).reshape(5, 2, 10)
    found = feature_concentrability(game, expert, phi, 0, ridge=1e-4)
    occ_e = occupancy_measure(game, expert).player_state_action[0]
    profile = list(expert)
    profile[1] = found.deviation
    occ = occupancy_measure(game, profile).player_state_action[0]
    ratio = np.sqrt((occ**2 / (occ_e + 1e-4)).sum())
    assert found.value == pytest.approx(ratio, rel=1e-9)
    # The chain's deviation reaches the end state the expert never visits.
    assert found.value > 10.0
    with pytest.raises(ValueError, match=r"features must have shape"):
        feature_concentrability(game, expert, phi[:, :1], 0)


def _stop_or_stay_game():
    """One player; state 0 pays 1 for both actions, action 0 ends the game."""
    from mail_envs.core import TabularMarkovGame

    return TabularMarkovGame(
        num_actions=(2,),
        next_states=np.array([[1, 0], [1, 1]]),
        next_probs=np.ones((2, 2)),
        rewards=np.array([[[1.0, 1.0], [0.0, 0.0]]]),
        legal_masks=(np.ones((2, 2), bool),),
        initial_distribution=np.array([1.0, 0.0]),
        gamma=0.9,
        terminal=np.array([False, True]),
    )


def test_bound_constant_includes_zero_when_the_game_can_end():
    # Live rewards are all 1 (span 0), but stopping forfeits them: span 1.
    game = _stop_or_stay_game()
    assert bound_constant(game) == pytest.approx(1.0 / 0.1**2)
    expert = [np.array([[0.0, 1.0], [0.5, 0.5]])]
    learned = [np.array([[0.1, 0.9], [0.5, 0.5]])]
    check = bound_check(game, expert, [learned])
    # V(stay) = 1 / (1 - 0.9); V(learned) = 1 / (1 - 0.9 * 0.9).
    assert check.nash_conv[0] == pytest.approx(10 - 1 / (1 - 0.81))
    assert check.nash_conv[0] <= check.bound_worst[0]


def test_theory_tools_reject_bad_input():
    game = make_public_goods_game(2, num_stakes=2, horizon=3, gamma=1.0)
    expert = dominant_profile(game)
    with pytest.raises(ValueError, match="needs a discounted game"):
        best_response_continuity(game, expert, 0, [0.1])
    with pytest.raises(ValueError, match="at least one profile"):
        bound_check(game, expert, [])
    with pytest.raises(ValueError, match=r"players must lie in \[0, 2\), got \[5\]"):
        perturb_profile(game, expert, 0.1, players=[5], rng=np.random.default_rng(0))
