"""Policy evaluation, best responses and the Nash gap against dense brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mail_envs.core import TabularMarkovGame
from mail_envs.solvers import _tables as tables_module
from mail_envs.solvers import (
    best_response,
    nash_gap,
    policy_evaluation,
    solve_zero_sum,
)
from mail_envs.solvers._tables import DENSE_MAX_STATES, game_support


@pytest.mark.parametrize("num_actions", [(2, 3), (2, 2, 2), (3,)])
@pytest.mark.parametrize("num_terminal", [0, 1])
def test_discounted_evaluation_matches_dense_inverse(
    ref, num_actions, num_terminal
) -> None:
    game = ref.random_game(11, num_actions, num_states=6, num_terminal=num_terminal)
    tables = [ref.random_policy(game, i, seed=i) for i in range(game.num_players)]
    values = policy_evaluation(game, tables)
    assert values.shape == (game.num_players, game.num_states)
    np.testing.assert_allclose(values, ref.values(game, tables), rtol=0, atol=1e-12)
    if num_terminal:
        assert np.all(values[:, game.terminal] == 0.0)


@pytest.mark.parametrize("gamma", [1.0, 0.8])
def test_finite_horizon_evaluation_matches_dense_loop(ref, gamma) -> None:
    game = ref.random_game(
        5, (2, 3), num_states=5, horizon=4, gamma=gamma, num_terminal=1
    )
    tables = [
        ref.random_policy(game, 0, seed=1, steps=4),
        ref.random_policy(game, 1, seed=2),
    ]
    values = policy_evaluation(game, tables)
    assert values.shape == (2, 4, game.num_states)
    np.testing.assert_allclose(values, ref.values(game, tables), rtol=0, atol=1e-12)


def test_large_discounted_evaluation_uses_sparse_path(ref) -> None:
    # Above the dense threshold the iterative sparse solver must be as exact.
    game = ref.random_game(2, (2, 2), num_states=250, num_successors=3, num_terminal=5)
    assert game.num_states > DENSE_MAX_STATES
    tables = [ref.random_policy(game, i, seed=i) for i in range(2)]
    values = policy_evaluation(game, tables)
    joint = ref.joint(game, tables)
    p = ref.chain(game, joint)
    r = (game.rewards * joint).sum(axis=2)
    expected = np.linalg.solve(np.eye(game.num_states) - game.gamma * p, r.T).T
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-11)


@pytest.mark.parametrize("gamma", [0.5, 0.99])
def test_sparse_and_dense_paths_agree(ref, monkeypatch, gamma) -> None:
    game = ref.random_game(
        6, (3, 2), num_states=12, num_successors=2, num_terminal=1, gamma=gamma
    )
    tables = [ref.random_policy(game, i, seed=i) for i in range(2)]
    dense = nash_gap(game, tables)
    dense_values = policy_evaluation(game, tables)
    monkeypatch.setattr(tables_module, "DENSE_MAX_STATES", 0)
    sparse = nash_gap(game, tables)
    np.testing.assert_allclose(
        policy_evaluation(game, tables), dense_values, atol=1e-11
    )
    np.testing.assert_allclose(
        sparse.best_response_values, dense.best_response_values, atol=1e-11
    )
    np.testing.assert_allclose(sparse.gains, dense.gains, atol=1e-11)


def test_batched_callable_policy_is_accepted(ref) -> None:
    game = ref.random_game(3, (2, 3), num_states=4)
    tables = [ref.random_policy(game, i, seed=i) for i in range(2)]

    def as_callable(table: np.ndarray):
        def policy(obs: np.ndarray, masks: np.ndarray) -> np.ndarray:
            assert (
                obs.shape == (game.num_states, game.num_states) and masks.dtype == bool
            )
            return table[obs.argmax(axis=1)]  # default observations are one-hot

        return policy

    np.testing.assert_allclose(
        policy_evaluation(game, [as_callable(tables[0]), tables[1]]),
        policy_evaluation(game, tables),
        atol=1e-15,
    )


@pytest.mark.parametrize("horizon", [None, 2])
@pytest.mark.parametrize("num_actions", [(3,), (2, 3), (2, 2, 2)])
def test_best_response_equals_brute_force(ref, horizon, num_actions) -> None:
    num_states = 4 if horizon is None else 3
    game = ref.random_game(
        21,
        num_actions,
        num_states=num_states,
        horizon=horizon,
        gamma=0.9,
        num_terminal=1,
    )
    steps = horizon
    tables = [
        ref.random_policy(game, i, seed=30 + i, steps=steps)
        for i in range(len(num_actions))
    ]
    for player in range(game.num_players):
        br = best_response(game, tables, player)
        assert br.value == pytest.approx(
            ref.best_value(game, tables, player), abs=1e-12
        )
        expected_shape = (game.num_states, game.num_actions[player])
        if horizon is not None:
            expected_shape = (horizon, *expected_shape)
        assert br.policy.shape == expected_shape
        assert np.all((br.policy == 0) | (br.policy == 1))
        assert np.all(br.policy[..., ~game.legal_masks[player]] == 0)
        # Its values are those of the returned policy.
        profile = list(tables)
        profile[player] = br.policy
        np.testing.assert_allclose(
            br.values, policy_evaluation(game, profile)[player], atol=1e-12
        )


def test_best_response_ties_go_to_lowest_legal_action() -> None:
    # All rewards 0: every action ties, the best response takes the first legal one.
    s, a = 3, 3
    masks = (
        np.array([[True] * 3, [False, True, True], [False, False, True]]),
        np.ones((s, 1), bool),
    )
    game = TabularMarkovGame(
        num_actions=(a, 1),
        next_states=np.zeros((s, a, 1), int),
        next_probs=np.ones((s, a, 1)),
        rewards=np.zeros((2, s, a)),
        legal_masks=masks,
        initial_distribution=np.full(s, 1 / s),
        gamma=0.5,
    )
    uniform = [game.uniform_policy(0), game.uniform_policy(1)]
    br = best_response(game, uniform, 0)
    np.testing.assert_array_equal(br.policy.argmax(axis=1), [0, 1, 2])
    assert br.value == 0.0


def zero_sum_game_where_the_opponent_matters() -> TabularMarkovGame:
    """Two states, ``gamma = 1/2``, start in state 0.

    State 0 plays ``[[2, -1], [-1, 1]]`` (value 1/5, both mix (2/5, 3/5); Ferguson,
    "Game Theory", Part II, Sec. 3.2) and moves to state 1, which repeats the
    saddle-point game ``[[1, 3], [0, 2]]`` (value 1 at row 0, column 0) forever.
    Game value: ``1/5 + (1/2) * 1 / (1 - 1/2) = 6/5``.
    """
    r0 = np.array([[2.0, -1.0, -1.0, 1.0], [1.0, 3.0, 0.0, 2.0]])
    return TabularMarkovGame(
        num_actions=(2, 2),
        next_states=np.ones((2, 4, 1), dtype=int),
        next_probs=np.ones((2, 4, 1)),
        rewards=np.stack([r0, -r0]),
        legal_masks=(np.ones((2, 2), bool), np.ones((2, 2), bool)),
        initial_distribution=np.array([1.0, 0.0]),
        gamma=0.5,
    )


def test_nash_gap_of_equilibrium_against_uniform_opponent(ref) -> None:
    game = zero_sum_game_where_the_opponent_matters()
    eq = solve_zero_sum(game)
    assert eq.value[0] == pytest.approx(6 / 5, abs=1e-12)
    assert nash_gap(game, eq.policies).nash_conv <= 1e-12
    # Player 0's equilibrium against a uniform player 1: both players gain.
    tables = [eq.policies[0], game.uniform_policy(1)]
    result = nash_gap(game, tables)
    values = ref.values(game, tables) @ game.initial_distribution
    best = [ref.best_value(game, tables, i) for i in range(2)]
    np.testing.assert_allclose(result.values, values, atol=1e-12)
    np.testing.assert_allclose(result.best_response_values, best, atol=1e-12)
    np.testing.assert_allclose(result.gains, np.array(best) - values, atol=1e-12)
    # By hand: the profile pays player 0 1/5 * ... = 0.2 + 0.5 * 2 / (1 - 0.5) = 2.2;
    # player 0's best response (row 0 twice) earns 0.5 + 0.5 * 4 = 2.5; player 1's
    # (column 0 in state 1) holds player 0 to 0.2 + 0.5 * 2 = 1.2.
    np.testing.assert_allclose(result.values, [2.2, -2.2], atol=1e-12)
    np.testing.assert_allclose(result.gains, [0.3, 1.0], atol=1e-12)
    assert result.nash_conv == pytest.approx(1.3, abs=1e-12)
    assert result.exploitability == pytest.approx(0.65, abs=1e-12)


def test_nash_gap_uses_each_players_own_reward(ref) -> None:
    # Uniform player 0 against a player 1 that always plays column 1: player 1's
    # gain must come from rewards[1] (no second sign flip).
    game = zero_sum_game_where_the_opponent_matters()
    tables = [game.uniform_policy(0), np.array([[0.0, 1.0], [0.0, 1.0]])]
    result = nash_gap(game, tables)
    for i in range(2):
        expected = ref.best_value(game, tables, i) - ref.values(game, tables)[i] @ [
            1.0,
            0.0,
        ]
        assert result.gains[i] == pytest.approx(expected, abs=1e-12)
    assert result.gains[0] > 0.1 and result.gains[1] > 0.1


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    num_actions=st.sampled_from([(2, 2), (3, 2), (2, 2, 2), (2, 3, 2)]),
    horizon=st.sampled_from([None, 1, 3]),
    num_terminal=st.integers(0, 1),
    num_successors=st.sampled_from([1, 2]),
    gamma=st.sampled_from([0.5, 0.95, 1.0]),
)
def test_gains_are_never_negative(
    ref, seed, num_actions, horizon, num_terminal, num_successors, gamma
) -> None:
    if horizon is None and gamma == 1.0:
        gamma = 0.99  # an infinite horizon needs gamma < 1
    game = ref.random_game(
        seed,
        num_actions,
        num_states=5,
        num_successors=num_successors,
        horizon=horizon,
        num_terminal=num_terminal,
        gamma=gamma,
    )
    rng = np.random.default_rng(seed)
    tables = []
    for i in range(game.num_players):
        steps = horizon if horizon is not None and rng.random() < 0.5 else None
        table = ref.random_policy(game, i, seed=int(rng.integers(1 << 30)), steps=steps)
        if rng.random() < 0.3:  # deterministic policies make ties likely
            table = np.eye(table.shape[-1])[table.argmax(axis=-1)]
        tables.append(table)
    result = nash_gap(game, tables)
    assert np.all(result.gains >= 0.0)  # after clipping float noise
    assert np.all(result.best_response_values - result.values >= -1e-12)  # before
    assert result.nash_conv == pytest.approx(result.gains.sum())
    assert (result.exploitability is None) == (
        game.num_players != 2 or not game.is_zero_sum
    )
    # Best responses are best: no gain left when a player switches to its own.
    for i in range(game.num_players):
        br = best_response(game, tables, i)
        assert br.value == pytest.approx(result.best_response_values[i], abs=1e-12)


@pytest.mark.parametrize("horizon", [None, 4])
def test_exact_equilibrium_has_no_gap(ref, horizon) -> None:
    game = ref.random_game(4, (3, 3), num_states=6, zero_sum=True, horizon=horizon)
    result = nash_gap(game, solve_zero_sum(game).policies)
    assert result.nash_conv <= 1e-9
    assert result.values[0] == pytest.approx(-result.values[1], abs=1e-12)


def test_bad_policies_raise(ref) -> None:
    game = ref.random_game(8, (2, 3), num_states=4, illegal_prob=0.0)
    good = [game.uniform_policy(0), game.uniform_policy(1)]
    with pytest.raises(ValueError, match="expected 2 policies"):
        nash_gap(game, good[:1])
    with pytest.raises(TypeError, match="sequence"):
        nash_gap(game, np.stack([good[0], good[0]]))
    with pytest.raises(ValueError, match=r"player 1 must have shape \(4, 3\)"):
        nash_gap(game, [good[0], np.ones((4, 2)) / 2])
    with pytest.raises(ValueError, match="non-stationary"):
        policy_evaluation(game, [good[0], np.stack([good[1]] * 2)])
    with pytest.raises(ValueError, match="player must be"):
        best_response(game, good, 2)


def test_mass_on_illegal_action_names_player_and_state(ref) -> None:
    game = ref.random_game(9, (2, 3), num_states=4, horizon=2)
    mask = game.legal_masks[1]
    # A state with an illegal action and more than one legal one (policy_table
    # overrides the rows of states with a single legal action).
    state = int(np.flatnonzero(~mask.all(axis=1) & (mask.sum(axis=1) > 1))[0])
    table = game.uniform_policy(1)
    table[state] = ~mask[state] / (~mask[state]).sum()
    with pytest.raises(ValueError, match=f"player 1 puts mass .* in state {state}"):
        nash_gap(game, [game.uniform_policy(0), table])
    steps = np.stack([game.uniform_policy(1), table])
    with pytest.raises(ValueError, match=f"step 1: .*player 1 .*state {state}"):
        policy_evaluation(game, [game.uniform_policy(0), steps])
    with pytest.raises(ValueError, match="3 steps"):
        policy_evaluation(game, [game.uniform_policy(0), np.stack([table] * 3)])


@pytest.mark.parametrize("horizon", [None, 3])
def test_dominant_strategy_profile_is_an_equilibrium_of_a_general_sum_game(
    ref, horizon
) -> None:
    # Three players whose rewards depend only on their own action: playing the
    # per-state best action is dominant, so that profile has NashConv 0 and every
    # other deterministic deviation loses.
    base = ref.random_game(
        12, (2, 3, 2), num_states=4, horizon=horizon, illegal_prob=0.0
    )
    rng = np.random.default_rng(0)
    own = [rng.uniform(-1, 1, size=(4, a)) for a in base.num_actions]
    components = np.unravel_index(np.arange(base.num_joint_actions), base.num_actions)
    rewards = np.stack([own[i][:, components[i]] for i in range(3)])
    # Actions do not move the state: every joint action has the same successors.
    next_states = np.repeat(base.next_states[:, :1], base.num_joint_actions, axis=1)
    next_probs = np.repeat(base.next_probs[:, :1], base.num_joint_actions, axis=1)
    game = TabularMarkovGame(
        num_actions=base.num_actions,
        next_states=next_states,
        next_probs=next_probs,
        rewards=rewards,
        legal_masks=base.legal_masks,
        initial_distribution=base.initial_distribution,
        gamma=base.gamma,
        horizon=horizon,
    )
    dominant = [
        np.eye(a)[own[i].argmax(axis=1)] for i, a in enumerate(game.num_actions)
    ]
    result = nash_gap(game, dominant)
    assert result.nash_conv <= 1e-12
    assert result.exploitability is None
    for i in range(3):
        policy = best_response(game, dominant, i).policy
        for step in policy if horizon is not None else policy[None]:
            np.testing.assert_array_equal(step, dominant[i])


# ------------------------------------------- fast finite-horizon path vs dense
def make_turn_based_game(
    seed: int,
    num_actions: tuple[int, ...] = (3, 3),
    num_states: int = 7,
    num_successors: int = 2,
    *,
    horizon: int = 4,
    gamma: float = 1.0,
    num_terminal: int = 1,
) -> TabularMarkovGame:
    """A random turn-based game: one mover per state, the others play no-op 0.

    Rewards and successors of illegal joint actions are random too (solvers must
    never read them); the game starts in state 0 so that the states reachable at
    each step are a proper subset early on; some successor probabilities are 0.
    """
    rng = np.random.default_rng(seed)
    n, s, k = len(num_actions), num_states, num_successors
    a_joint = int(np.prod(num_actions))
    mover = rng.integers(0, n, size=s)
    masks = []
    for i, a_i in enumerate(num_actions):
        mask = np.zeros((s, a_i), dtype=bool)
        mask[:, 0] = True
        moves = mover == i
        mask[moves] = rng.random((int(moves.sum()), a_i)) < 0.7
        mask[np.flatnonzero(moves), rng.integers(0, a_i, size=int(moves.sum()))] = True
        masks.append(mask)
    next_states = rng.integers(0, s, size=(s, a_joint, k))
    next_probs = rng.dirichlet(np.ones(k), size=(s, a_joint))
    if k > 1:
        drop = rng.random((s, a_joint)) < 0.3
        next_probs[drop] = np.eye(k)[rng.integers(0, k, size=int(drop.sum()))]
    rewards = rng.uniform(-1.0, 1.0, size=(n, s, a_joint))
    terminal = np.zeros(s, dtype=bool)
    terminal[s - num_terminal :] = True
    next_states[terminal] = np.flatnonzero(terminal)[:, None, None]
    rewards[:, terminal] = 0.0
    return TabularMarkovGame(
        num_actions=num_actions,
        next_states=next_states,
        next_probs=next_probs,
        rewards=rewards,
        legal_masks=tuple(masks),
        initial_distribution=np.eye(s)[0],
        gamma=gamma,
        horizon=horizon,
        terminal=terminal,
    )


def dense_best_response_values(
    game: TabularMarkovGame, tables: list[np.ndarray], player: int
) -> np.ndarray:
    """``(H, S)`` best-response values by backward induction with explicit loops.

    Textbook form (Puterman 1994, Sec. 4.5): ``Q_h(s, a_i) = sum_{a_-i}
    pi_-i(a_-i | s) [r_i(s, a) + gamma sum_s' p(s' | s, a) V_{h+1}(s')]`` over
    every joint action, ``V_h(s) = max_{a_i legal} Q_h(s, a_i)``, 0 in terminal
    states.
    """
    horizon, num_states = game.horizon, game.num_states
    steps = [np.broadcast_to(t, (horizon, *t.shape[-2:])) for t in tables]
    joint_actions = list(itertools.product(*map(range, game.num_actions)))
    out = np.zeros((horizon + 1, num_states))
    for h in reversed(range(horizon)):
        for s in range(num_states):
            if game.terminal[s]:
                continue
            best = -np.inf
            for a_i in np.flatnonzero(game.legal_masks[player][s]):
                q = 0.0
                for joint, actions in enumerate(joint_actions):
                    if actions[player] != a_i:
                        continue
                    weight = 1.0
                    for j, a_j in enumerate(actions):
                        if j != player:
                            weight *= steps[j][h, s, a_j]
                    if weight == 0.0:
                        continue
                    future = sum(
                        p * out[h + 1, nxt]
                        for nxt, p in zip(
                            game.next_states[s, joint],
                            game.next_probs[s, joint],
                            strict=True,
                        )
                    )
                    q += weight * (game.rewards[player, s, joint] + game.gamma * future)
                best = max(best, q)
            out[h, s] = best
    return out[:horizon]


def _random_profile(
    game: TabularMarkovGame, ref, seed: int, nonstationary: bool
) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    tables = []
    for i in range(game.num_players):
        steps = game.horizon if nonstationary and rng.random() < 0.7 else None
        table = ref.random_policy(game, i, seed=int(rng.integers(1 << 30)), steps=steps)
        if rng.random() < 0.3:  # deterministic policies make ties likely
            table = np.eye(table.shape[-1])[table.argmax(axis=-1)]
        tables.append(table)
    return tables


def _check_fast_path_against_dense(ref, game: TabularMarkovGame, tables) -> None:
    mu0 = game.initial_distribution
    values = ref.values(game, tables)
    np.testing.assert_allclose(
        policy_evaluation(game, tables), values, rtol=0, atol=1e-12
    )
    result = nash_gap(game, tables)
    np.testing.assert_allclose(result.values, values[:, 0] @ mu0, rtol=0, atol=1e-12)
    for i in range(game.num_players):
        dense = dense_best_response_values(game, tables, i)
        br = best_response(game, tables, i)
        np.testing.assert_allclose(br.values, dense, rtol=0, atol=1e-12)
        assert br.value == pytest.approx(dense[0] @ mu0, abs=1e-12)
        assert result.best_response_values[i] == pytest.approx(
            dense[0] @ mu0, abs=1e-12
        )
        assert np.all(br.policy[:, ~game.legal_masks[i]] == 0)
        # The returned policy earns the returned values.
        profile = list(tables)
        profile[i] = br.policy
        np.testing.assert_allclose(
            policy_evaluation(game, profile)[i], br.values, rtol=0, atol=1e-12
        )


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(
    ("num_actions", "num_successors", "gamma"),
    [((3, 3), 1, 1.0), ((3, 2), 2, 0.9), ((2, 3, 2), 2, 1.0)],
)
def test_turn_based_finite_horizon_fast_path_matches_dense(
    ref, seed, num_actions, num_successors, gamma
) -> None:
    game = make_turn_based_game(
        seed, num_actions, num_successors=num_successors, gamma=gamma
    )
    _check_fast_path_against_dense(
        ref, game, _random_profile(game, ref, seed, nonstationary=seed % 2 == 1)
    )


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("num_actions", [(2, 3), (2, 2, 2), (4,)])
def test_simultaneous_finite_horizon_fast_path_matches_dense(
    ref, seed, num_actions
) -> None:
    game = ref.random_game(
        100 + seed,
        num_actions,
        num_states=6,
        horizon=3,
        gamma=0.95,
        num_terminal=seed % 3,
        illegal_prob=0.4,
    )
    _check_fast_path_against_dense(
        ref, game, _random_profile(game, ref, seed, nonstationary=seed % 2 == 0)
    )


@pytest.mark.parametrize("fraction", [0.0, 1.0])
@pytest.mark.parametrize("seed", range(6))
def test_reachable_layers_and_full_layers_give_the_same_values(
    ref, monkeypatch, seed, fraction
) -> None:
    # 1.0: every step gets exactly its reachable states (layers of different
    # steps overlap and share the value buffer); 0.0: every step gets them all.
    monkeypatch.setattr(tables_module, "LAYER_MAX_FRACTION", fraction)
    monkeypatch.setattr(tables_module, "LAYER_BUDGET", 100)
    game = make_turn_based_game(
        200 + seed, (3, 2), num_states=9, num_successors=1 + seed % 2, horizon=5
    )
    layers = game_support(game).reachable
    full = game_support(game).full
    if fraction == 0.0:
        assert all(layer is full or layer.num_pairs == 0 for layer in layers)
    else:
        assert all(layer is not full for layer in layers)
        assert layers[0].states.tolist() == [0]  # the game starts in state 0
    _check_fast_path_against_dense(
        ref, game, _random_profile(game, ref, seed, nonstationary=seed % 2 == 0)
    )


def test_reachable_layers_of_a_chain() -> None:
    # 0 -> 1 -> 2 (terminal) whatever the action; state 3 is never reached.
    next_states = np.array([[1, 1], [2, 2], [2, 2], [0, 0]])[:, :, None]
    game = TabularMarkovGame(
        num_actions=(2,),
        next_states=next_states,
        next_probs=np.ones((4, 2, 1)),
        rewards=np.ones((1, 4, 2)) * np.array([1, 1, 0, 1])[:, None],
        legal_masks=(np.ones((4, 2), bool),),
        initial_distribution=np.eye(4)[0],
        horizon=4,
        terminal=np.array([False, False, True, False]),
    )
    layers = game_support(game).reachable
    assert [layer.states.tolist() for layer in layers] == [[0], [1], [], []]
    assert layers[2] is layers[3]
    assert game_support(game).full.states.tolist() == [0, 1, 3]
    assert game_support(game) is game_support(game)
    np.testing.assert_allclose(nash_gap(game, [game.uniform_policy(0)]).values, [2.0])


def test_illegal_mass_within_tolerance_is_never_played(ref) -> None:
    game = make_turn_based_game(3, (3, 3), num_successors=2)
    tables = _random_profile(game, ref, 3, nonstationary=False)
    noisy = tables[0].copy()
    # A state with an illegal action and several legal ones (policy_table
    # overwrites rows with a single legal action).
    choice = game.legal_masks[0].sum(axis=1, keepdims=True) > 1
    state, action = np.argwhere(~game.legal_masks[0] & choice)[0]
    noisy[state, action] = 5e-10  # policy_table tolerates up to 1e-9
    # Renormalized onto the legal actions, the row is the clean one.
    clean = noisy * game.legal_masks[0]
    clean /= clean.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(
        policy_evaluation(game, [noisy, tables[1]]),
        policy_evaluation(game, [clean, tables[1]]),
    )


def test_tictactoe_reachable_sweep_matches_full_sweep() -> None:
    from mail_envs.solvers.evaluation import _finite_sweep
    from mail_envs.tictactoe import make_tictactoe_game

    game = make_tictactoe_game()
    rng = np.random.default_rng(0)
    tables = []
    for mask in game.legal_masks:
        table = rng.random(mask.shape) * mask
        tables.append(table / table.sum(axis=1, keepdims=True))
    reachable = _finite_sweep(game, tables, evaluate=True, responders=(0, 1))
    full = _finite_sweep(game, tables, evaluate=True, responders=(0, 1), record=True)
    np.testing.assert_allclose(reachable.start, full.start, rtol=0, atol=1e-15)
    # 17,125 legal (state, joint action) pairs, one in each of the 958 terminal
    # states (which carry none: their value is 0); each board is reached at the
    # step that equals its number of marks, so the layers partition the pairs.
    support = game_support(game)
    assert int(game.terminal.sum()) == 958
    assert support.full.num_pairs == 17_125 - 958
    assert sum(layer.num_pairs for layer in support.reachable) == 17_125 - 958
