"""No public entry point returns a finite number computed from non-finite input.

The scenario that motivated these guards: one NaN in one of thousands of
Tic-Tac-Toe BC observations turned every weight into NaN; the greedy policy
then played the first legal action everywhere and ``nash_gap`` reported a
believable NashConv instead of an error. Every guard below must raise an
error whose message names the array or parameter at fault.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from agents.bc.trainer import BCTrainer
from agents.io import load_policy, save_policy
from agents.policies import LinearPolicy, SmallCNNPolicy, TorchPolicy
from mail_wrappers.elliptical import (
    block_elliptical_bonus,
    elliptical_bonus,
    rebuild_cov_inv,
    sherman_morrison_update,
)
from mail_wrappers.elliptical_reward import (
    EllipticalBonus,
    EllipticalBonusReward,
    EllipticalBonusVecEnv,
)
from mail_wrappers.recorder import (
    ExpertLabelRecorder,
    load_expert_labels,
    save_expert_labels,
)

torch.set_num_threads(1)


# ------------------------------------------------------------------ end to end
def _tictactoe_bc_data(player: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every board where ``player`` moves, as float32 planes, with expert labels."""
    from mail_envs.tictactoe import make_tictactoe_game, tictactoe_states
    from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

    game = make_tictactoe_game()
    states = tictactoe_states()
    assert game.observations is not None
    movers = np.flatnonzero(states.mover == player)
    obs = game.observations[player][movers].astype(np.float32)
    masks = game.legal_masks[player][movers].astype(bool)
    labels = TicTacToeMinimaxExpert(policy="deterministic")(obs, masks).argmax(axis=1)
    return obs, masks, labels


def test_one_nan_observation_in_tictactoe_bc_is_named_not_cloned() -> None:
    obs, masks, labels = _tictactoe_bc_data(player=0)
    assert len(obs) > 2000
    bad_row = 1234
    obs[bad_row, 1, 2, 0] = np.nan
    head = SmallCNNPolicy(seed=0)
    before = [p.detach().clone() for p in head.parameters()]
    trainer = BCTrainer(
        policy=head, rng=0, max_epochs=1, validation_fraction=0.0, progress_bar=False
    )
    with pytest.raises(ValueError, match=rf"observations row {bad_row} .*non-finite"):
        trainer.train(obs, masks, labels)
    # Nothing was trained: the weights are untouched (and finite).
    for old, new in zip(before, head.parameters(), strict=True):
        assert torch.equal(old, new)


def test_nan_weights_make_nash_gap_raise_instead_of_a_believable_number() -> None:
    from mail_envs.solvers import nash_gap
    from mail_envs.tictactoe import make_tictactoe_game

    game = make_tictactoe_game()
    heads = [SmallCNNPolicy(seed=0), SmallCNNPolicy(seed=1)]
    with torch.no_grad():
        next(heads[0].parameters()).fill_(float("nan"))
    for mode in ("greedy", "stochastic"):
        profile = [TorchPolicy(h, mode=mode, device="cpu") for h in heads]
        with pytest.raises(ValueError, match=r"logits row \d+ .*parameters \["):
            nash_gap(game, profile)


@pytest.mark.parametrize("validation_fraction", [0.0, 0.5])
def test_diverging_training_names_the_epoch(validation_fraction: float) -> None:
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(64, 4)).astype(np.float32)
    masks = np.ones((64, 3), dtype=bool)
    actions = rng.integers(0, 3, size=64)
    trainer = BCTrainer(
        policy=LinearPolicy((4,), 3, seed=0),
        rng=0,
        max_epochs=50,
        validation_fraction=validation_fraction,
        patience=100,
        optimizer_kwargs={"lr": 1e37},
        progress_bar=False,
    )
    with pytest.raises(FloatingPointError, match=r"loss is (inf|nan) at epoch \d+"):
        trainer.train(obs, masks, actions)


# ------------------------------------------------------------- bad arguments
def _trainer(**kwargs: Any) -> BCTrainer:
    return BCTrainer(
        policy=LinearPolicy((3,), 3, seed=0), rng=0, progress_bar=False, **kwargs
    )


def _train(obs=None, targets=None, weights=None) -> None:
    o = np.zeros((4, 3), np.float32) if obs is None else obs
    t = np.array([0, 1, 2, 0]) if targets is None else targets
    _trainer(validation_fraction=0.0, max_epochs=1).train(
        o, np.ones((4, 3), bool), t, sample_weights=weights
    )


def _with(array: np.ndarray, index: tuple[int, ...], value: float) -> np.ndarray:
    out = array.copy()
    out[index] = value
    return out


def _policy_call(obs: np.ndarray, mode: str = "greedy") -> None:
    policy = TorchPolicy(LinearPolicy((3,), 3, seed=0), mode=mode, device="cpu")
    policy(obs, np.ones((len(obs), 3), bool))


def _nan_head() -> LinearPolicy:
    head = LinearPolicy((3,), 3, seed=0)
    with torch.no_grad():
        next(iter(head.parameters())).view(-1)[0] = float("inf")
    return head


def _save_nan_head(tmp_path: Any) -> None:
    save_policy(_nan_head(), tmp_path / "bad")


def _load_nan_head(tmp_path: Any) -> None:
    import safetensors.torch

    files = save_policy(LinearPolicy((3,), 3, seed=0), tmp_path / "p")
    tensors = safetensors.torch.load_file(str(files.weights))
    name = next(iter(tensors))
    tensors[name].view(-1)[0] = float("nan")
    safetensors.torch.save_file(tensors, str(files.weights))
    # Keep the checksum consistent, so only the finiteness check can object.
    import hashlib
    import json

    doc = json.loads(files.config.read_text())
    doc["weights_sha256"] = hashlib.sha256(files.weights.read_bytes()).hexdigest()
    files.config.write_text(json.dumps(doc))
    load_policy(tmp_path / "p", device="cpu")


def _record(obs: np.ndarray) -> ExpertLabelRecorder:
    rec = ExpertLabelRecorder(game_id="mail/tictactoe-v0", expert="test")
    for i, row in enumerate(obs):
        rec.add(
            observation=row,
            action_mask=np.ones(2, bool),
            expert_action=0,
            expert_probs=np.array([1.0, 0.0]),
            agent="player_1",
            episode=i,
            step=0,
        )
    return rec


def _recorder_dataset_with_nan() -> None:
    rec = _record(np.zeros((3, 2)))
    rec._rows["observations"][2][0] = np.nan  # corrupted after add
    rec.dataset()


def _save_labels_with_nan(tmp_path: Any) -> None:
    data = _record(np.zeros((3, 2))).dataset()
    data.observations[1, 1] = np.inf
    save_expert_labels(tmp_path / "labels", data)


def _load_labels_with_nan(tmp_path: Any) -> None:
    data = _record(np.zeros((3, 2))).dataset()
    path = save_expert_labels(tmp_path / "labels", data)
    with np.load(path) as f:
        arrays = dict(f)
    arrays["observations"][2, 0] = np.nan
    np.savez(path, **arrays)
    load_expert_labels(path)


def _bonus(**kwargs: Any) -> EllipticalBonus:
    return EllipticalBonus(state_features=lambda o: o, num_actions=2, **kwargs)


def _frozen_lake_reward(**kwargs: Any) -> EllipticalBonusReward:
    from gymnasium.envs.toy_text import FrozenLakeEnv

    return EllipticalBonusReward(
        FrozenLakeEnv(), state_features=lambda o: np.eye(16)[np.asarray(o)], **kwargs
    )


def _frozen_lake_vec(**kwargs: Any) -> EllipticalBonusVecEnv:
    from stable_baselines3.common.env_util import make_vec_env

    return EllipticalBonusVecEnv(
        make_vec_env("FrozenLake-v1", n_envs=2),
        state_features=lambda o: np.eye(16)[o],
        **kwargs,
    )


def _huge_step_reward() -> None:
    from gymnasium.envs.toy_text import FrozenLakeEnv

    env = EllipticalBonusReward(
        FrozenLakeEnv(), state_features=lambda o: 1e200 * np.eye(16)[np.asarray(o)]
    )
    env.reset(seed=0)
    env.step(0)


def _huge_step_vec() -> None:
    from stable_baselines3.common.env_util import make_vec_env

    venv = EllipticalBonusVecEnv(
        make_vec_env("FrozenLake-v1", n_envs=2),
        state_features=lambda o: 1e200 * np.eye(16)[o],
    )
    venv.reset()
    venv.step(np.array([0, 0]))


_OBS = np.zeros((4, 3), np.float32)
_SOFT = np.full((4, 3), 1 / 3)
_BIG = np.array([[1e200, 0.0]])

# (id, call, exception types, regex the message must match: it names the parameter)
CASES: list[tuple[str, Callable[..., Any], Any, str]] = [
    # BCTrainer constructor
    ("trainer-batch_size-nan", lambda: _trainer(batch_size=math.nan), ValueError, "batch_size"),
    ("trainer-batch_size-inf", lambda: _trainer(batch_size=math.inf), ValueError, "batch_size"),
    ("trainer-batch_size-str", lambda: _trainer(batch_size="64"), ValueError, "batch_size"),
    ("trainer-batch_size-neg", lambda: _trainer(batch_size=-1), ValueError, "batch_size"),
    ("trainer-max_epochs-nan", lambda: _trainer(max_epochs=math.nan), ValueError, "max_epochs"),
    ("trainer-patience-str", lambda: _trainer(patience="3"), ValueError, "patience"),
    ("trainer-val-nan", lambda: _trainer(validation_fraction=math.nan), ValueError, "validation_fraction"),
    ("trainer-val-str", lambda: _trainer(validation_fraction="0.1"), TypeError, "validation_fraction"),
    ("trainer-val-neg", lambda: _trainer(validation_fraction=-0.1), ValueError, "validation_fraction"),
    ("trainer-min_delta-inf", lambda: _trainer(min_delta=math.inf), ValueError, "min_delta"),
    ("trainer-min_delta-neg", lambda: _trainer(min_delta=-1.0), ValueError, "min_delta"),
    ("trainer-lr-inf", lambda: _trainer(optimizer_kwargs={"lr": math.inf}), ValueError, "lr"),
    ("trainer-lr-nan", lambda: _trainer(optimizer_kwargs={"lr": math.nan}), ValueError, "lr"),
    ("trainer-lr-str", lambda: _trainer(optimizer_kwargs={"lr": "big"}), TypeError, "lr"),
    ("trainer-lr-neg", lambda: _trainer(optimizer_kwargs={"lr": -1.0}), ValueError, "lr"),
    # BCTrainer.train data
    ("train-obs-nan", lambda: _train(obs=_with(_OBS, (2, 1), np.nan)), ValueError, r"observations row 2"),
    ("train-obs-inf", lambda: _train(obs=_with(_OBS, (3, 0), -np.inf)), ValueError, r"observations row 3"),
    ("train-obs-str", lambda: _train(obs=np.full((4, 3), "a")), TypeError, "observations"),
    ("train-soft-nan", lambda: _train(targets=_with(_SOFT, (1, 0), np.nan)), ValueError, r"targets row 1"),
    ("train-soft-inf", lambda: _train(targets=_with(_SOFT, (0, 2), np.inf)), ValueError, r"targets row 0"),
    ("train-soft-neg", lambda: _train(targets=_with(_SOFT, (2, 0), -1 / 3)), ValueError, r"targets row 2"),
    ("train-weights-nan", lambda: _train(weights=np.array([1.0, np.nan, 1, 1])), ValueError, r"sample_weights\[1\]"),
    ("train-weights-inf", lambda: _train(weights=np.array([1.0, 1, np.inf, 1])), ValueError, r"sample_weights\[2\]"),
    ("train-weights-neg", lambda: _train(weights=np.array([1.0, 1, 1, -2])), ValueError, r"sample_weights\[3\]"),
    ("train-weights-str", lambda: _train(weights=np.array(["a"] * 4)), TypeError, "sample_weights"),
    # TorchPolicy
    ("policy-obs-nan-greedy", lambda: _policy_call(_with(_OBS, (1, 1), np.nan)), ValueError, r"observations row 1"),
    ("policy-obs-inf-stochastic", lambda: _policy_call(_with(_OBS, (2, 0), np.inf), "stochastic"), ValueError, r"observations row 2"),
    ("policy-obs-str", lambda: _policy_call(np.full((1, 3), "a")), TypeError, "observations"),
    ("policy-weights-greedy", lambda: TorchPolicy(_nan_head(), mode="greedy", device="cpu")(_OBS, np.ones((4, 3), bool)), ValueError, r"logits row 0 .*parameters"),
    ("policy-weights-stochastic", lambda: TorchPolicy(_nan_head(), mode="stochastic", device="cpu")(_OBS, np.ones((4, 3), bool)), ValueError, r"logits row 0 .*parameters"),
    ("policy-batch_size-nan", lambda: TorchPolicy(LinearPolicy((3,), 3), batch_size=math.nan), ValueError, "batch_size"),
    ("policy-batch_size-str", lambda: TorchPolicy(LinearPolicy((3,), 3), batch_size="8"), TypeError, "batch_size"),
    ("policy-batch_size-neg", lambda: TorchPolicy(LinearPolicy((3,), 3), batch_size=-8), ValueError, "batch_size"),
    # agents.io
    ("io-save-nonfinite", _save_nan_head, ValueError, r"parameter tensor '.*'"),
    ("io-load-nonfinite", _load_nan_head, ValueError, r"parameter tensor '.*'"),
    # recorder
    ("recorder-add-nan", lambda: _record(np.array([[0.0, 0.0], [np.nan, 1.0]])), ValueError, r"'observations'\[1\]"),
    ("recorder-add-inf", lambda: _record(np.array([[np.inf, 0.0]])), ValueError, r"'observations'\[0\]"),
    ("recorder-dataset-nan", _recorder_dataset_with_nan, ValueError, r"'observations'\[2\]"),
    ("recorder-save-inf", _save_labels_with_nan, ValueError, r"'observations'\[1\]"),
    ("recorder-load-nan", _load_labels_with_nan, ValueError, r"'observations'\[2\]"),
    # elliptical bonus: parameters
    ("bonus-beta-inf", lambda: _bonus(beta=math.inf), ValueError, "beta"),
    ("bonus-beta-nan", lambda: _bonus(beta=math.nan), ValueError, "beta"),
    ("bonus-beta-neg", lambda: _bonus(beta=-1.0), ValueError, "beta"),
    ("bonus-beta-str", lambda: _bonus(beta="1"), TypeError, "beta"),
    ("bonus-ridge-inf", lambda: _bonus(ridge=math.inf), ValueError, "ridge"),
    ("bonus-ridge-nan", lambda: _bonus(ridge=math.nan), ValueError, "ridge"),
    ("bonus-ridge-neg", lambda: _bonus(ridge=-1.0), ValueError, "ridge"),
    ("bonus-ridge-subnormal", lambda: _bonus(ridge=5e-324), ValueError, "ridge"),
    ("bonus-ridge-str", lambda: _bonus(ridge="1"), TypeError, "ridge"),
    ("reward-beta-inf", lambda: _frozen_lake_reward(beta=math.inf), ValueError, "beta"),
    ("reward-ridge-inf", lambda: _frozen_lake_reward(ridge=math.inf), ValueError, "ridge"),
    ("vec-beta-nan", lambda: _frozen_lake_vec(beta=math.nan), ValueError, "beta"),
    ("vec-ridge-nan", lambda: _frozen_lake_vec(ridge=math.nan), ValueError, "ridge"),
    ("fn-beta-inf", lambda: elliptical_bonus(np.eye(2), _BIG * 0, math.inf), ValueError, "beta"),
    ("fn-block-beta-nan", lambda: block_elliptical_bonus(np.eye(2)[None], _BIG * 0, np.array([0]), math.nan), ValueError, "beta"),
    ("fn-ridge-inf", lambda: rebuild_cov_inv(np.zeros((1, 2)), math.inf), ValueError, "ridge"),
    # elliptical bonus: overflowing features
    ("bonus-one-overflow", lambda: _bonus().bonus(_BIG, np.array([0])), ValueError, "overflow"),
    ("bonus-batch-overflow", lambda: _bonus().bonus(np.repeat(_BIG, 2, 0), np.array([0, 1])), ValueError, "overflow"),
    ("bonus-update-overflow", lambda: _bonus().update(np.repeat(_BIG, 2, 0), np.array([0, 0])), ValueError, "overflow"),
    ("bonus-all-actions-overflow", lambda: _bonus().bonus_all_actions(_BIG), ValueError, "overflow"),
    ("bonus-huge-beta-overflow", lambda: _bonus(beta=1e308).bonus(np.array([[10.0, 0.0]]), np.array([0])), ValueError, "overflow"),
    ("reward-step-overflow", _huge_step_reward, ValueError, "overflow"),
    ("vec-step-overflow", _huge_step_vec, ValueError, "overflow"),
    ("fn-bonus-overflow", lambda: elliptical_bonus(np.eye(2), _BIG, 1.0), ValueError, "overflow"),
    ("fn-sherman-morrison-overflow", lambda: sherman_morrison_update(np.eye(2), _BIG[0]), ValueError, "overflow"),
    ("fn-rebuild-overflow", lambda: rebuild_cov_inv(_BIG, 1.0), ValueError, "overflow"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [pytest.param(c, e, m, id=i) for i, c, e, m in CASES],
)
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_bad_argument_is_refused_with_its_name(
    call: Callable[..., Any], error: Any, match: str, tmp_path: Any
) -> None:
    import inspect

    args = (tmp_path,) if inspect.signature(call).parameters else ()
    with pytest.raises(error, match=match):
        call(*args)


def test_overflowing_update_leaves_the_bonus_state_unchanged() -> None:
    bonus = _bonus()
    bonus.update(np.array([[1.0, 0.0]]), np.array([0]))
    cov_inv, logdet, updates = bonus.cov_inv.copy(), bonus.logdet, bonus.num_updates
    for obs, acts in ((_BIG, [0]), (np.repeat(_BIG, 2, 0), [0, 1])):
        with pytest.raises(ValueError, match="overflow"):
            bonus.bonus_and_update(obs, np.array(acts))
    np.testing.assert_array_equal(bonus.cov_inv, cov_inv)
    assert (bonus.logdet, bonus.num_updates) == (logdet, updates)
