"""Tests of EllipticalBonus, EllipticalBonusReward and EllipticalBonusVecEnv.

Independent check: with one-hot state features in the block form, ``Lambda_a``
is diagonal with entries ``ridge + n(s, a)``, so the bonus of a pair is
``beta / sqrt(ridge + n(s, a))`` where ``n`` counts earlier visits of the pair
(the count-based bonus, e.g. Jin et al., COLT 2020, Sec. 3 remark on the
tabular case).
"""

from __future__ import annotations

from collections import Counter

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.classic import tictactoe_v3
from stable_baselines3.common.vec_env import DummyVecEnv

from mail_wrappers.elliptical import block_rebuild_cov_inv
from mail_wrappers.elliptical_reward import (
    EllipticalBonus,
    EllipticalBonusReward,
    EllipticalBonusVecEnv,
)
from mail_wrappers.frozen_opponent import FrozenOpponentWrapper

NUM_STATES = 16


def onehot(obs):
    return np.eye(NUM_STATES)[np.asarray(obs).reshape(-1)]


def lake():
    return gymnasium.make("FrozenLake-v1", is_slippery=False).unwrapped


def test_replace_mode_reward_is_the_count_based_bonus():
    beta, ridge = 0.5, 2.0
    env = EllipticalBonusReward(lake(), state_features=onehot, beta=beta, ridge=ridge)
    counts: Counter = Counter()
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    for _ in range(400):
        action = int(rng.integers(4))
        expected = beta / np.sqrt(ridge + counts[(int(obs), action)])
        counts[(int(obs), action)] += 1
        next_obs, reward, term, trunc, info = env.step(action)
        assert reward == info["bonus"] == pytest.approx(expected, rel=1e-12)
        obs = next_obs
        if term or trunc:
            obs, _ = env.reset()
    assert env.bonus.num_updates == 400


def test_add_mode_adds_the_env_reward():
    plain = lake()
    wrapped = EllipticalBonusReward(
        lake(), state_features=onehot, reward_mode="add", beta=0.1
    )
    plain.reset(seed=0)
    wrapped.reset(seed=0)
    for action in [2, 2, 1, 1, 1, 2]:  # right, right, down x3, right: the goal
        _, r_plain, term, _, _ = plain.step(action)
        _, r_wrapped, term_w, _, info = wrapped.step(action)
        assert r_wrapped == pytest.approx(r_plain + info["bonus"], rel=1e-15)
        assert term == term_w
    assert r_plain == 1.0 and term


def test_update_switch_freezes_lambda():
    env = EllipticalBonusReward(lake(), state_features=onehot, update=False)
    env.reset(seed=0)
    bonuses = [env.step(0)[4]["bonus"] for _ in range(5)]  # left into the wall
    assert bonuses == [1.0] * 5
    env.update = True
    bonuses = [env.step(0)[4]["bonus"] for _ in range(3)]
    np.testing.assert_allclose(bonuses, 1 / np.sqrt([1.0, 2.0, 3.0]))


def test_full_form_features_equal_the_block_form():
    def full(obs, actions):
        return (onehot(obs)[:, None, :] * np.eye(4)[actions][:, :, None]).reshape(
            len(actions), -1
        )

    block = EllipticalBonusReward(lake(), state_features=onehot, beta=0.7)
    flat = EllipticalBonusReward(lake(), features=full, beta=0.7)
    rng = np.random.default_rng(1)
    block.reset(seed=0)
    flat.reset(seed=0)
    for _ in range(60):
        a = int(rng.integers(4))
        _, r_block, term, trunc, _ = block.step(a)
        _, r_flat, *_ = flat.step(a)
        assert r_block == pytest.approx(r_flat, rel=1e-12)
        if term or trunc:
            block.reset()
            flat.reset()


def test_rebuild_after_the_feature_map_changes():
    env = EllipticalBonusReward(
        lake(), state_features=onehot, beta=1.0, ridge=1.0, keep_history=True
    )
    env.reset(seed=0)
    actions = [0, 0, 2, 1, 3, 0]
    observations = [0]
    for a in actions:
        obs, *_ = env.step(a)
        observations.append(int(obs))

    def doubled(obs):
        return 2.0 * onehot(obs)

    env.rebuild(state_features=doubled)
    expected = block_rebuild_cov_inv(
        doubled(np.array(observations[:-1])), np.array(actions), 4, 1.0
    )
    np.testing.assert_allclose(env.bonus.cov_inv, expected, atol=1e-15)
    # state 0 / action 0 was taken twice: bonus = 2 / sqrt(1 + 4 * 2)
    bonus = env.bonus.bonus(np.array([0]), np.array([0]))[0]
    assert bonus == pytest.approx(2.0 / 3.0, rel=1e-12)
    # explicit data instead of the history
    env.rebuild(np.array([5, 5]), np.array([1, 1]))
    assert env.bonus.bonus(np.array([5]), np.array([1]))[0] == pytest.approx(
        2.0 / np.sqrt(9.0)
    )
    assert env.bonus.num_updates == 2


def test_rebuild_errors():
    bonus = EllipticalBonus(num_actions=2)
    with pytest.raises(ValueError, match="keep_history"):
        bonus.rebuild()
    with pytest.raises(ValueError, match="both"):
        bonus.rebuild(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="block form"):
        bonus.rebuild(features=lambda o, a: o)
    with pytest.raises(ValueError, match="either"):
        EllipticalBonus(features=lambda o, a: o, state_features=lambda o: o)
    with pytest.raises(ValueError, match="num_actions"):
        EllipticalBonus(state_features=lambda o: o)
    with pytest.raises(ValueError, match="reward_mode"):
        EllipticalBonusReward(lake(), state_features=onehot, reward_mode="scale")


def test_vec_env_bonus_uses_lambda_from_before_the_step():
    beta, ridge = 1.0, 1.0
    venv = EllipticalBonusVecEnv(
        DummyVecEnv([lake, lake, lake]), state_features=onehot, beta=beta, ridge=ridge
    )
    obs = venv.reset()
    counts: Counter = Counter()
    rng = np.random.default_rng(2)
    for _ in range(50):
        actions = rng.integers(4, size=3)
        expected = [
            beta / np.sqrt(ridge + counts[(int(o), int(a))])
            for o, a in zip(obs, actions, strict=True)
        ]
        for o, a in zip(obs, actions, strict=True):
            counts[(int(o), int(a))] += 1
        obs, rewards, _dones, infos = venv.step(actions)
        np.testing.assert_allclose(rewards, expected, rtol=1e-6)  # float32 rewards
        np.testing.assert_allclose([i["bonus"] for i in infos], expected, rtol=1e-12)


def test_default_features_on_a_dict_observation_env():
    def make(update=True):
        return EllipticalBonusReward(
            FrozenOpponentWrapper(tictactoe_v3.env(), "player_1", "uniform"),
            beta=0.3,
            update=update,
        )

    # check_env steps twice from the same seed and wants equal rewards: true
    # with Lambda frozen (a learning bonus differs on a revisit, by design)
    check_env(make(update=False), skip_render_check=True)
    env = make()
    env.reset(seed=0)
    _, reward, _, _, info = env.step(4)
    # h(empty board) = (0, ..., 0, 1): first visit earns beta * 1 / sqrt(ridge)
    assert reward == info["bonus"] == pytest.approx(0.3, rel=1e-15)
    _obs, _ = env.reset(seed=0)
    assert env.step(4)[1] == pytest.approx(0.3 / np.sqrt(2.0), rel=1e-12)
    # the board after X's move and O's reply: 2 marks + bias, first visit
    action = int(np.flatnonzero(env.unwrapped.action_masks())[0])
    assert env.step(action)[1] == pytest.approx(0.3 * np.sqrt(3.0), rel=1e-12)
    assert env.bonus.num_updates == 3


def test_fused_single_pair_path_equals_the_batched_update():
    rng = np.random.default_rng(3)
    obs = rng.normal(size=(40, 5))
    actions = rng.integers(3, size=40)
    for block in (True, False):
        kwargs = (
            {"state_features": lambda o: o, "num_actions": 3}
            if block
            else {"features": lambda o, a: o * (a[:, None] + 1.0)}
        )
        one, many = EllipticalBonus(**kwargs), EllipticalBonus(**kwargs)
        singles = [
            one.bonus_and_update(obs[k : k + 1], actions[k : k + 1])[0]
            for k in range(40)
        ]
        many.update(obs, actions)
        np.testing.assert_allclose(one.cov_inv, many.cov_inv, atol=1e-12)
        # each single bonus used Lambda before its own update
        fresh = EllipticalBonus(**kwargs)
        fresh.update(obs[:10], actions[:10])
        assert singles[10] == pytest.approx(
            fresh.bonus(obs[10:11], actions[10:11])[0], rel=1e-12
        )


def test_feature_dimension_change_needs_a_rebuild():
    bonus = EllipticalBonus(num_actions=2, state_features=lambda o: o)
    bonus.update(np.ones((1, 3)), np.array([0]))
    with pytest.raises(ValueError, match="rebuild"):
        bonus.bonus(np.ones((1, 4)), np.array([0]))
    with pytest.raises(ValueError, match="non-finite"):
        bonus.bonus(np.full((1, 3), np.nan), np.array([0]))


def _tictactoe_transitions(num_steps: int, seed: int = 0):
    """``(observation, action)`` pairs of random Tic-Tac-Toe play (player_1)."""
    env = FrozenOpponentWrapper(tictactoe_v3.env(), "player_1", "uniform", seed=seed)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    pairs = []
    for _ in range(num_steps):
        action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        pairs.append((obs, action))
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
    return pairs


@pytest.mark.parametrize("keep_history", [False, True])
def test_per_step_path_equals_the_batched_path_exactly(keep_history):
    # The wrapper's step path writes the default features of one unbatched
    # observation into a buffer; the public batched API computes them with
    # flat_observation_features on a batch of one. Same bits, same Lambda.
    pairs = _tictactoe_transitions(300)
    step = EllipticalBonus(num_actions=9, beta=0.3, keep_history=keep_history)
    batched = EllipticalBonus(num_actions=9, beta=0.3, keep_history=keep_history)
    for obs, action in pairs:
        got = step._step(obs, np.int64(action), True)
        want = batched.bonus_and_update(
            {k: v[None] for k, v in obs.items()}, np.array([action])
        )[0]
        assert got == want
    np.testing.assert_array_equal(step.cov_inv, batched.cov_inv)
    assert step.num_updates == batched.num_updates == len(pairs)
    # an independent check: Lambda^{-1} of all pairs, rebuilt from scratch
    phi = np.array([[*obs["observation"].reshape(-1), 1.0] for obs, _ in pairs])
    acts = np.array([a for _, a in pairs])
    np.testing.assert_allclose(
        step.cov_inv, block_rebuild_cov_inv(phi, acts, 9, 1.0), atol=1e-10
    )
    if keep_history:
        step.rebuild()
        np.testing.assert_allclose(
            step.cov_inv, block_rebuild_cov_inv(phi, acts, 9, 1.0), atol=1e-12
        )


def test_per_step_path_rejects_non_finite_features_and_keeps_lambda():
    bonus = EllipticalBonus(num_actions=2, beta=1.0)
    bonus._step(np.array([1.0, 0.0]), 0, True)
    before = bonus.cov_inv.copy()
    for bad in ([np.nan, 0.0], [0.0, np.inf], [-np.inf, np.inf]):
        with pytest.raises(ValueError, match="non-finite"):
            bonus._step(np.array(bad), 1, True)
    np.testing.assert_array_equal(bonus.cov_inv, before)
    assert bonus.num_updates == 1
    with pytest.raises(ValueError, match=r"action 2 is not in \[0, 2\)"):
        bonus._step(np.array([1.0, 0.0]), 2, True)


def test_copied_wrapper_continues_like_the_original():
    import copy
    import pickle

    def make():
        return EllipticalBonusReward(
            FrozenOpponentWrapper(tictactoe_v3.env(), "player_1", "uniform", seed=0),
            beta=0.3,
        )

    env = make()
    env.reset(seed=0)
    env.step(4)  # sizes Lambda
    env.step(int(np.flatnonzero(env.unwrapped.action_masks())[0]))  # per-step path
    copies = [copy.deepcopy(env), pickle.loads(pickle.dumps(env))]
    for other in [env, *copies]:
        other.reset(seed=2)
    for action in (0, 8):
        rewards = [other.step(action)[1] for other in [env, *copies]]
        assert rewards[0] == rewards[1] == rewards[2]
    np.testing.assert_array_equal(env.bonus.cov_inv, copies[0].bonus.cov_inv)
    np.testing.assert_array_equal(env.bonus.cov_inv, copies[1].bonus.cov_inv)


# --- log det Lambda, the bonus of every action, relabelling rebuilds ---------
#
# Independent check: Lambda itself, summed from the features of the data
# (``ridge I + sum phi phi^T``, one block per action in the block form), and
# numpy's ``slogdet`` of it.


def _direct_logdet_block(phi, actions, num_actions, ridge):
    total = 0.0
    for a in range(num_actions):
        rows = phi[actions == a]
        sign, value = np.linalg.slogdet(ridge * np.eye(phi.shape[1]) + rows.T @ rows)
        assert sign > 0
        total += value
    return total


def _direct_logdet_full(phi, ridge):
    sign, value = np.linalg.slogdet(ridge * np.eye(phi.shape[1]) + phi.T @ phi)
    assert sign > 0
    return value


def _full_features(obs, actions):
    """A full feature map: the state features scaled by (action + 1)."""
    return np.asarray(obs, dtype=np.float64) * (np.asarray(actions)[:, None] + 1.0)


def test_logdet_of_the_per_step_path_is_the_logdet_of_lambda():
    # The wrapper's fused per-step path on Tic-Tac-Toe (default block features).
    pairs = _tictactoe_transitions(200, seed=1)
    bonus = EllipticalBonus(num_actions=9, beta=0.3, ridge=0.5)
    phi = np.array([[*obs["observation"].reshape(-1), 1.0] for obs, _ in pairs])
    acts = np.array([a for _, a in pairs])
    for k, (obs, action) in enumerate(pairs, start=1):
        bonus._step(obs, action, True)
        if k in (1, 7, 50, 200):
            direct = _direct_logdet_block(phi[:k], acts[:k], 9, 0.5)
            assert bonus.logdet == pytest.approx(direct, abs=1e-8)
    # Before any pair: log det (ridge I) over the 9 blocks of size 19.
    fresh = EllipticalBonus(num_actions=9, ridge=0.5)
    fresh.bonus({k: v[None] for k, v in pairs[0][0].items()}, np.array([0]))
    assert fresh.logdet == pytest.approx(9 * 19 * np.log(0.5), abs=1e-12)


@pytest.mark.parametrize("block", [True, False])
def test_logdet_of_the_batch_and_single_pair_paths_is_the_logdet_of_lambda(block):
    rng = np.random.default_rng(4)
    obs = rng.normal(size=(90, 5))
    actions = rng.integers(3, size=90)
    kwargs = (
        {"state_features": lambda o: o, "num_actions": 3}
        if block
        else {"features": _full_features}
    )
    bonus = EllipticalBonus(ridge=2.0, **kwargs)
    start = 0
    for size in (1, 7, 1, 30, 2, 1, 48):  # batches (Woodbury) and single pairs
        stop = start + size
        bonus.bonus_and_update(obs[start:stop], actions[start:stop])
        if block:
            direct = _direct_logdet_block(obs[:stop], actions[:stop], 3, 2.0)
        else:
            phi = _full_features(obs[:stop], actions[:stop])
            direct = _direct_logdet_full(phi, 2.0)
        assert bonus.logdet == pytest.approx(direct, abs=1e-8)
        start = stop
    assert stop == 90 and bonus.num_updates == 90
    # update() and a rebuild from the same data give the same log det.
    more = EllipticalBonus(ridge=2.0, **kwargs)
    more.update(obs, actions)
    assert more.logdet == pytest.approx(bonus.logdet, abs=1e-8)
    more.rebuild(obs, actions)
    assert more.logdet == pytest.approx(bonus.logdet, abs=1e-8)


def test_logdet_of_the_wrapper_with_a_block_map_and_after_a_new_map():
    env = EllipticalBonusReward(
        lake(), state_features=onehot, beta=0.5, ridge=3.0, keep_history=True
    )
    rng = np.random.default_rng(5)
    obs, _ = env.reset(seed=0)
    states, actions = [], []
    for _ in range(120):
        action = int(rng.integers(4))
        states.append(int(obs))
        actions.append(action)
        obs, _, term, trunc, _ = env.step(action)
        if term or trunc:
            obs, _ = env.reset()
    phi, acts = onehot(np.array(states)), np.array(actions)
    # One-hot blocks are diagonal: log det = sum log(ridge + n(s, a)).
    counts = np.zeros((4, NUM_STATES))
    np.add.at(counts, (acts, np.array(states)), 1)
    assert env.bonus.logdet == pytest.approx(np.log(3.0 + counts).sum(), abs=1e-8)
    assert env.bonus.logdet == pytest.approx(
        _direct_logdet_block(phi, acts, 4, 3.0), abs=1e-8
    )
    env.rebuild(state_features=lambda o: 2.0 * onehot(o))
    assert env.bonus.logdet == pytest.approx(
        _direct_logdet_block(2.0 * phi, acts, 4, 3.0), abs=1e-8
    )


def test_rebuild_from_an_empty_history_resets_the_logdet():
    bonus = EllipticalBonus(
        num_actions=2, state_features=lambda o: o, keep_history=True
    )
    assert bonus.rebuild(relabel=True).shape == (0,)
    assert bonus.logdet == 0.0 and bonus.cov_inv is None


def test_bonus_all_actions_is_the_bonus_of_each_action():
    rng = np.random.default_rng(6)
    bonus = EllipticalBonus(
        num_actions=4, state_features=lambda o: o, beta=0.7, ridge=1.5
    )
    bonus.update(rng.normal(size=(60, 3)), rng.integers(4, size=60))
    states = rng.normal(size=(10, 3))
    table = bonus.bonus_all_actions(states)
    assert table.shape == (10, 4)
    for a in range(4):
        np.testing.assert_allclose(
            table[:, a], bonus.bonus(states, np.full(10, a)), rtol=1e-12
        )
    # The data's actions have different counts, so the columns differ.
    assert not np.allclose(table[:, 0], table[:, 1])
    # The default features on Dict observations (Tic-Tac-Toe), before any update.
    pairs = _tictactoe_transitions(5)
    default = EllipticalBonus(num_actions=9, beta=0.3)
    batch = {k: np.stack([o[k] for o, _ in pairs]) for k in pairs[0][0]}
    table = default.bonus_all_actions(batch)
    for a in range(9):
        np.testing.assert_allclose(
            table[:, a], default.bonus(batch, np.full(5, a)), rtol=1e-12
        )
    with pytest.raises(ValueError, match="block form"):
        EllipticalBonus(features=_full_features).bonus_all_actions(states)


@pytest.mark.parametrize("block", [True, False])
def test_rebuild_relabel_returns_the_bonuses_under_the_rebuilt_lambda(block):
    rng = np.random.default_rng(7)
    obs = rng.normal(size=(50, 4))
    actions = rng.integers(3, size=50)
    kwargs = (
        {"state_features": lambda o: o, "num_actions": 3}
        if block
        else {"features": _full_features}
    )
    bonus = EllipticalBonus(beta=0.4, ridge=1.0, **kwargs)
    bonus.update(rng.normal(size=(20, 4)), rng.integers(3, size=20))
    assert bonus.rebuild(obs, actions) is None
    new = (
        {"state_features": np.tanh}
        if block
        else {"features": lambda o, a: np.tanh(_full_features(o, a))}
    )
    relabelled = bonus.rebuild(obs, actions, relabel=True, **new)
    assert relabelled.shape == (50,) and bonus.num_updates == 50
    np.testing.assert_allclose(relabelled, bonus.bonus(obs, actions), rtol=1e-12)
    # Each pair is inside the rebuilt Lambda: below its first-visit bonus.
    first_visit = EllipticalBonus(beta=0.4, ridge=1.0, **{**kwargs, **new})
    assert np.all(relabelled < first_visit.bonus(obs, actions))
