"""Tests of the critic-feature elliptical bonus (agents/deep/critic_bonus.py).

A masked DQN explores Tic-Tac-Toe as player_2 against the minimax expert, on
:class:`EllipticalBonusReward` with the DQN's :class:`CriticFeatures`. Most
tests keep the critic fixed (``learning_starts`` beyond the run: no gradient
step), so that ``Lambda`` can be checked against a direct inverse of the
replay buffer's features.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from agents.deep.critic_bonus import BonusConfig, BonusRebuildCallback, CriticFeatures
from agents.deep.masked_dqn import MaskedDQN
from mail_envs.tictactoe import env as tictactoe_env
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_wrappers.elliptical import block_logdet
from mail_wrappers.elliptical_reward import EllipticalBonus, EllipticalBonusReward
from mail_wrappers.frozen_opponent import FrozenOpponentWrapper

EXPERT = TicTacToeMinimaxExpert(policy="uniform")
BETA, RIDGE = 0.5, 2.0
NO_TRAINING = 10**9


def setup(
    config: BonusConfig, learning_starts: int = NO_TRAINING
) -> tuple[MaskedDQN, EllipticalBonusReward, BonusRebuildCallback, CriticFeatures]:
    features = CriticFeatures()
    env = EllipticalBonusReward(
        FrozenOpponentWrapper(tictactoe_env(), "player_2", opponent=EXPERT, seed=0),
        state_features=features,
        beta=config.beta,
        ridge=config.ridge,
    )
    model = MaskedDQN(
        env=env,
        seed=0,
        device="cpu",
        learning_starts=learning_starts,
        policy_kwargs={"net_arch": [16]},
    )
    features.attach(model)
    return model, env, BonusRebuildCallback(env.bonus, config), features


class LogdetLog(BaseCallback):
    """Records the bonus's tracked log det at every step."""

    def __init__(self, bonus: EllipticalBonus) -> None:
        super().__init__()
        self.bonus = bonus
        self.values: list[float] = []

    def _on_step(self) -> bool:
        self.values.append(self.bonus.logdet)
        return True


def buffer_data(model: MaskedDQN) -> tuple[dict[str, np.ndarray], np.ndarray]:
    size = model.replay_buffer.pos
    obs = {k: v[:size, 0] for k, v in model.replay_buffer.observations.items()}
    return obs, model.replay_buffer.actions[:size, 0, 0].astype(np.int64)


def test_critic_features_are_the_last_hidden_layer_of_the_critic():
    model, env, _, features = setup(BonusConfig(rebuild_every=None))
    obs, _ = env.reset(seed=0)
    batch = {k: np.asarray(v)[None] for k, v in obs.items()}
    h = features(batch)
    assert h.shape == (1, features.dim) == (1, 16) and h.dtype == np.float64
    # Q(s, a) = w_a^T h(s) + b_a on legal actions: the output layer applied to h.
    head = model.q_net.q_net[-1]
    with th.no_grad():
        tensors = {k: th.as_tensor(v) for k, v in batch.items()}
        q = model.q_net(tensors).double().numpy()
        from_h = head(th.as_tensor(h, dtype=th.float32)).double().numpy()
    legal = batch["action_mask"].astype(bool)  # the masked critic: -1e9 elsewhere
    assert not legal.all()
    np.testing.assert_allclose(from_h[legal], q[legal], rtol=1e-5, atol=1e-6)


def test_bonus_shrinks_on_a_repeated_state_action_by_the_exact_formula():
    _, env, _, features = setup(BonusConfig(beta=BETA, ridge=RIDGE))
    obs, _ = env.reset(seed=0)
    batch = {k: np.asarray(v)[None] for k, v in obs.items()}
    legal = np.flatnonzero(obs["action_mask"])
    action = np.array([legal[0]])
    h = features(batch)[0]
    seen = [env.bonus.bonus_and_update(batch, action)[0] for _ in range(6)]
    # Lambda_a = ridge I + k h h^T  =>  ||h||_{Lambda_a^-1} = ||h|| / sqrt(ridge + k ||h||^2).
    k = np.arange(6)
    expected = BETA * np.linalg.norm(h) / np.sqrt(RIDGE + k * (h @ h))
    np.testing.assert_allclose(seen, expected, rtol=1e-10)
    assert np.all(np.diff(seen) < 0)
    # Other actions' blocks are untouched: their bonus is still the prior one.
    other = np.array([legal[1]])
    assert env.bonus.bonus(batch, other)[0] == pytest.approx(expected[0], rel=1e-10)


def test_periodic_rule_rebuilds_every_n_steps():
    model, _, callback, _ = setup(BonusConfig(rebuild_every=40))
    model.learn(200, callback=callback)
    assert callback.rebuild_steps == [40, 80, 120, 160, 200]
    assert callback.num_rebuilds == 5
    assert len(callback.bonuses) == 200 and all(b > 0 for b in callback.bonuses)


def test_rebuild_from_the_replay_buffer_is_the_direct_inverse_and_relabels():
    # One rebuild, at the last step: then the buffer holds every transition
    # the rebuild used (the step's own transition is stored after the callback).
    model, env, callback, features = setup(
        BonusConfig(beta=BETA, ridge=RIDGE, rebuild_every=60)
    )
    model.learn(60, callback=callback)
    assert callback.rebuild_steps == [60]
    obs, actions = buffer_data(model)
    assert len(actions) == 60
    h = features(obs)
    for a in np.unique(actions):
        ha = h[actions == a]
        direct = np.linalg.inv(RIDGE * np.eye(h.shape[1]) + ha.T @ ha)
        np.testing.assert_allclose(env.bonus.cov_inv[a], direct, atol=1e-9)
    # The rewards of the buffer are now the bonuses under the rebuilt Lambda
    # (the last one is stored after the rebuild, with its step's bonus) ...
    rewards = model.replay_buffer.rewards[:60, 0]
    relabelled = env.bonus.bonus(obs, actions)
    np.testing.assert_allclose(rewards[:59], relabelled[:59], rtol=1e-5)
    assert rewards[59] == pytest.approx(callback.bonuses[59], rel=1e-6)
    # ... never above the bonuses the steps earned (Lambda only grew since),
    # and below them for most.
    earned = np.asarray(callback.bonuses[:59])
    assert np.all(rewards[:59] <= earned + 1e-6)
    assert np.mean(rewards[:59] < earned - 1e-6) > 0.5


def test_without_relabel_the_buffer_keeps_the_earned_bonuses():
    model, _, callback, _ = setup(BonusConfig(rebuild_every=30, relabel_rewards=False))
    model.learn(60, callback=callback)
    assert callback.rebuild_steps == [30, 60]
    np.testing.assert_allclose(
        model.replay_buffer.rewards[:60, 0], callback.bonuses, rtol=1e-6
    )


def test_logdet_rule_rebuilds_when_the_determinant_has_doubled():
    config = BonusConfig(
        beta=BETA,
        ridge=RIDGE,
        rebuild_every=5,
        rebuild_rule="logdet",
        relabel_rewards=False,
    )
    model, env, callback, features = setup(config)
    before, after = LogdetLog(env.bonus), LogdetLog(env.bonus)
    model.learn(300, callback=CallbackList([before, callback, after]))
    steps = callback.rebuild_steps
    assert callback.num_rebuilds == len(steps) >= 2
    # At least rebuild_every steps apart, and rarer and rarer (doubling rule).
    gaps = np.diff([0, *steps])
    assert np.all(gaps >= 5)
    assert gaps[-1] > gaps[0]
    # The rule, step by step: rebuild at the first step that is rebuild_every
    # after the last rebuild and where log det grew by log 2 since it.
    pre, post = np.array(before.values), np.array(after.values)
    initial = env.bonus.num_actions * features.dim * np.log(RIDGE)  # log det(ridge I)
    last, reference, due = 0, initial, []
    for t in range(1, 301):
        if t - last >= 5 and pre[t - 1] - reference >= np.log(2.0):
            due.append(t)
            last, reference = t, post[t - 1]
    assert steps == due
    # So at each rebuild, log det had doubled since the previous one.
    at = np.array(steps) - 1
    grown = pre[at] - np.array([initial, *post[at[:-1]]])
    assert np.all(grown >= np.log(2.0))
    # The tracked log det equals the blocks' own (matrix determinant lemma).
    assert env.bonus.logdet == pytest.approx(block_logdet(env.bonus.cov_inv), abs=1e-6)


def test_tracked_logdet_equals_the_blocks_own_while_the_critic_trains():
    model, env, callback, _ = setup(
        BonusConfig(rebuild_every=25, rebuild_rule="logdet"), learning_starts=20
    )
    model.learn(150, callback=callback)
    assert callback.num_rebuilds >= 1
    assert env.bonus.logdet == pytest.approx(block_logdet(env.bonus.cov_inv), abs=1e-6)


class ActionBonusLog(BaseCallback):
    """Records the DQN's optimism hook at every step."""

    def __init__(self) -> None:
        super().__init__()
        self.hooks: list[object] = []

    def _on_step(self) -> bool:
        self.hooks.append(self.model.action_bonus)
        return True


@pytest.mark.parametrize("optimistic", [True, False])
def test_optimistic_actions_are_set_during_learn_and_removed_after(optimistic):
    model, env, callback, _ = setup(
        BonusConfig(rebuild_every=None, optimistic_actions=optimistic),
        learning_starts=10,
    )
    log = ActionBonusLog()
    assert model.action_bonus is None
    model.learn(40, callback=CallbackList([callback, log]))
    expected = env.bonus.bonus_all_actions if optimistic else None
    assert len(log.hooks) == 40 and all(h == expected for h in log.hooks)
    assert model.action_bonus is None
    # A second learn() sets it again (a DQN explorer learns in one call, but
    # the callback must not depend on it).
    model.learn(5, callback=CallbackList([callback, log]), reset_num_timesteps=False)
    assert all(h == expected for h in log.hooks[40:]) and model.action_bonus is None


def test_critic_features_need_an_attached_masked_dqn():
    features = CriticFeatures()
    with pytest.raises(RuntimeError, match="not attached"):
        features({"observation": np.zeros((1, 3, 3, 2))})
    with pytest.raises(RuntimeError, match="not attached"):
        _ = features.dim
    with pytest.raises(TypeError, match=r"MaskedDQN.*str"):
        features.attach("a dqn")  # type: ignore[arg-type]


def test_the_callback_needs_the_block_form():
    full = EllipticalBonus(features=lambda obs, actions: np.ones((len(actions), 2)))
    with pytest.raises(ValueError, match="block form"):
        BonusRebuildCallback(full, BonusConfig())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beta": -1.0}, r"beta.*-1\.0"),
        ({"beta": float("nan")}, "beta.*nan"),
        ({"ridge": 0.0}, r"ridge.*0\.0"),
        ({"ridge": float("inf")}, "ridge.*inf"),
        ({"rebuild_every": 0}, "rebuild_every.*0"),
        ({"rebuild_every": True}, "rebuild_every.*True"),
        ({"rebuild_every": 2.5}, r"rebuild_every.*2\.5"),
        ({"rebuild_rule": "sometimes"}, "rebuild_rule.*'sometimes'"),
        ({"rebuild_rule": "logdet", "rebuild_every": None}, "rebuild_every.*None"),
        ({"logdet_threshold": 0.0}, r"logdet_threshold.*0\.0"),
        ({"logdet_threshold": float("nan")}, "logdet_threshold.*nan"),
    ],
)
def test_config_validation_names_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BonusConfig(**kwargs)


def test_config_defaults():
    config = BonusConfig()
    assert config.logdet_threshold == pytest.approx(np.log(2.0))
    assert (config.rebuild_rule, config.rebuild_every) == ("periodic", 500)
    assert config.relabel_rewards and config.optimistic_actions
