"""Tests of agents.bc: masked cross-entropy and the BC trainer."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import time

import numpy as np
import pytest
import torch

from agents.bc import (
    BCMetrics,
    BCTrainer,
    deduplicate,
    label_distributions,
    masked_accuracy,
    masked_cross_entropy,
)
from agents.policies import (
    FeatureLinearPolicy,
    LinearPolicy,
    MLPPolicy,
    SmallCNNPolicy,
    TorchPolicy,
)


def random_masks(rng: np.random.Generator, batch: int, num_actions: int) -> np.ndarray:
    masks = rng.random((batch, num_actions)) < 0.6
    masks[np.arange(batch), rng.integers(0, num_actions, batch)] = True
    return masks


def argmax_dataset(seed: int = 0, num_states: int = 200, num_actions: int = 5):
    """One-hot states labelled with the legal argmax of a random table."""
    rng = np.random.default_rng(seed)
    values = rng.random((num_states, num_actions))
    masks = random_masks(rng, num_states, num_actions)
    actions = np.argmax(np.where(masks, values, -np.inf), axis=1)
    return np.eye(num_states, dtype=np.float32), masks, actions


# --------------------------------------------------------------- loss math


def test_masked_cross_entropy_known_values() -> None:
    # Two legal actions with equal logits: -log(1/2) = log 2 (analytic).
    logits = torch.tensor([[3.0, 3.0, 100.0]])
    masks = torch.tensor([[True, True, False]])
    assert masked_cross_entropy(
        logits, masks, torch.tensor([1])
    ).item() == pytest.approx(math.log(2), abs=1e-7)
    # Soft target (1/2, 1/2) on logits (0, log 3): -(1/2)(log 1/4 + log 3/4).
    logits = torch.tensor([[0.0, math.log(3.0), 0.0]], dtype=torch.float64)
    soft = torch.tensor([[0.5, 0.5, 0.0]], dtype=torch.float64)
    expected = -0.5 * (math.log(0.25) + math.log(0.75))
    assert masked_cross_entropy(logits, masks, soft).item() == pytest.approx(
        expected, abs=1e-12
    )


def test_masked_cross_entropy_matches_numpy_and_has_clean_gradients() -> None:
    rng = np.random.default_rng(0)
    logits_np = rng.normal(size=(32, 6)) * 3
    masks_np = random_masks(rng, 32, 6)
    soft_np = rng.random((32, 6)) * masks_np
    soft_np /= soft_np.sum(axis=1, keepdims=True)
    hard_np = np.array([rng.choice(np.flatnonzero(m)) for m in masks_np])
    # Independent computation: log-sum-exp over legal logits only.
    legal = np.where(masks_np, logits_np, -np.inf)
    log_z = np.log(np.exp(legal - legal.max(1, keepdims=True)).sum(1)) + legal.max(1)
    expected_hard = np.mean(log_z - logits_np[np.arange(32), hard_np])
    expected_soft = np.mean(
        (soft_np * np.where(masks_np, log_z[:, None] - logits_np, 0.0)).sum(axis=1)
    )
    logits = torch.tensor(logits_np, requires_grad=True)
    masks = torch.tensor(masks_np)
    hard = masked_cross_entropy(logits, masks, torch.tensor(hard_np))
    soft = masked_cross_entropy(logits, masks, torch.tensor(soft_np))
    assert hard.item() == pytest.approx(expected_hard, abs=1e-12)
    assert soft.item() == pytest.approx(expected_soft, abs=1e-12)
    # One-hot soft labels equal integer labels.
    one_hot = np.eye(6)[hard_np]
    assert masked_cross_entropy(
        logits, masks, torch.tensor(one_hot)
    ).item() == pytest.approx(hard.item(), abs=1e-12)
    (soft + hard).backward()
    assert torch.all(torch.isfinite(logits.grad))
    assert torch.all(logits.grad[~masks] == 0.0)


def test_masked_accuracy_counts_any_optimal_action_with_soft_labels() -> None:
    logits = torch.tensor([[0.0, 2.0, 1.0], [5.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    masks = torch.tensor([[True, True, True], [False, True, True], [True, True, True]])
    soft = torch.tensor([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    # Row 0: greedy 1, optimal; row 1: greedy 2 (0 illegal), wrong; row 2: tie -> 0, optimal.
    assert masked_accuracy(logits, masks, soft).item() == pytest.approx(2 / 3)
    assert masked_accuracy(
        logits, masks, torch.tensor([1, 2, 1])
    ).item() == pytest.approx(2 / 3)


# ------------------------------------------------------------------ trainer


def test_bc_learns_argmax_of_random_table_on_200_states() -> None:
    obs, masks, actions = argmax_dataset()
    head = MLPPolicy((200,), 5, hidden_sizes=(64,), seed=0)
    trainer = BCTrainer(
        policy=head,
        rng=0,
        max_epochs=150,
        validation_fraction=0.0,
        optimizer_kwargs={"lr": 3e-3},
        progress_bar=False,
    )
    metrics = trainer.train(obs, masks, actions)
    assert isinstance(metrics, BCMetrics)
    assert metrics.train_accuracy == 1.0
    assert metrics.val_loss is None and metrics.val_accuracy is None
    assert metrics.epochs_run == metrics.best_epoch == 150 and not metrics.stopped_early
    assert metrics.num_train == 200 and metrics.num_val == 0
    assert metrics.train_loss_history[-1] < metrics.train_loss_history[0]
    greedy = trainer.as_policy("greedy")(obs, masks)
    np.testing.assert_array_equal(greedy.argmax(axis=1), actions)
    with pytest.raises(dataclasses.FrozenInstanceError):
        metrics.train_loss = 0.0  # type: ignore[misc]


def test_bc_fits_soft_labels_with_a_softmax_linear_head() -> None:
    rng = np.random.default_rng(1)
    num_states, num_actions = 12, 4
    masks = random_masks(rng, num_states, num_actions)
    soft = rng.random((num_states, num_actions)) * masks
    soft /= soft.sum(axis=1, keepdims=True)
    # Tabular features: the softmax-linear class contains every target.
    phi = np.eye(num_states * num_actions).reshape(num_states, num_actions, -1)
    head = FeatureLinearPolicy(feature_table=phi)
    trainer = BCTrainer(
        policy=head,
        rng=1,
        batch_size=12,
        max_epochs=1500,
        validation_fraction=0.0,
        optimizer_kwargs={"lr": 0.05},
        progress_bar=False,
    )
    trainer.train(np.eye(num_states, dtype=np.float32), masks, soft)
    probs = TorchPolicy(head)(np.eye(num_states, dtype=np.float32), masks)
    np.testing.assert_allclose(probs, soft, atol=2e-3)
    assert np.all(probs[~masks] == 0.0)


def test_same_seeds_reproduce_weights_exactly() -> None:
    obs, masks, actions = argmax_dataset(seed=3, num_states=64)

    def run(rng_seed: int) -> dict[str, torch.Tensor]:
        head = MLPPolicy((64,), 5, hidden_sizes=(16,), seed=11)
        BCTrainer(
            policy=head, rng=rng_seed, batch_size=16, max_epochs=5, progress_bar=False
        ).train(obs, masks, actions)
        return head.state_dict()

    a, b, c = run(0), run(0), run(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_explicit_generator_is_consumed_like_its_seed() -> None:
    obs, masks, actions = argmax_dataset(seed=4, num_states=32)
    heads = [LinearPolicy((32,), 5, seed=0) for _ in range(2)]
    BCTrainer(policy=heads[0], rng=5, max_epochs=3, progress_bar=False).train(
        obs, masks, actions
    )
    BCTrainer(
        policy=heads[1], rng=np.random.default_rng(5), max_epochs=3, progress_bar=False
    ).train(obs, masks, actions)
    assert torch.equal(heads[0].linear.weight, heads[1].linear.weight)


def test_early_stopping_stops_and_restores_the_best_weights() -> None:
    # Random labels on 64 states: memorizing the training half makes the
    # held-out loss rise after a few epochs.
    rng = np.random.default_rng(2)
    obs = rng.normal(size=(128, 8)).astype(np.float32)
    masks = np.ones((128, 4), dtype=bool)
    actions = rng.integers(0, 4, 128)
    head = MLPPolicy((8,), 4, hidden_sizes=(128, 128), seed=0)
    trainer = BCTrainer(
        policy=head,
        rng=0,
        batch_size=16,
        max_epochs=500,
        validation_fraction=0.5,
        patience=3,
        optimizer_kwargs={"lr": 3e-3},
        progress_bar=False,
    )
    metrics = trainer.train(obs, masks, actions)
    assert metrics.stopped_early
    assert metrics.epochs_run < 500
    assert metrics.best_epoch == metrics.epochs_run - 3
    assert metrics.num_train == 64 and metrics.num_val == 64
    assert len(metrics.val_loss_history) == metrics.epochs_run
    best = min(metrics.val_loss_history)
    assert metrics.val_loss_history.index(best) == metrics.best_epoch - 1
    # The restored weights are the best epoch's: re-evaluating gives that loss.
    assert metrics.val_loss == best
    assert metrics.val_accuracy is not None and 0.0 <= metrics.val_accuracy <= 1.0


def test_training_continues_on_a_second_call() -> None:
    obs, masks, actions = argmax_dataset(seed=6, num_states=40)
    trainer = BCTrainer(
        policy=LinearPolicy((40,), 5, seed=0),
        rng=0,
        max_epochs=20,
        validation_fraction=0.0,
        optimizer_kwargs={"lr": 1e-2},
        progress_bar=False,
    )
    first = trainer.train(obs, masks, actions)
    second = trainer.train(obs, masks, actions)
    assert second.train_loss < first.train_loss


def test_cnn_bc_on_int8_board_observations() -> None:
    rng = np.random.default_rng(0)
    boards = rng.integers(0, 2, (64, 3, 3, 2)).astype(np.int8)
    masks = ~boards.any(axis=3).reshape(64, 9)
    masks[~masks.any(axis=1), 0] = True
    actions = np.argmax(masks, axis=1)  # lowest legal cell
    trainer = BCTrainer(
        policy=SmallCNNPolicy(seed=0),
        rng=0,
        max_epochs=60,
        validation_fraction=0.0,
        optimizer_kwargs={"lr": 3e-3},
        progress_bar=False,
    )
    assert trainer.train(boards, masks, actions).train_accuracy == 1.0


def test_device_auto_and_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    obs, masks, actions = argmax_dataset(num_states=8)
    trainer = BCTrainer(
        policy=LinearPolicy((8,), 5), rng=0, max_epochs=2, progress_bar=False
    )
    assert trainer.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    trainer.train(obs, masks, actions)
    assert capsys.readouterr().err == ""
    BCTrainer(
        policy=LinearPolicy((8,), 5), rng=0, max_epochs=2, progress_bar=True
    ).train(obs, masks, actions)
    assert "BC" in capsys.readouterr().err


# ---------------------------------------------------------------- validation


def test_train_rejects_bad_datasets() -> None:
    trainer = BCTrainer(policy=LinearPolicy((3,), 3, seed=0), rng=0, progress_bar=False)
    obs = np.zeros((4, 3), np.float32)
    masks = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=bool)
    with pytest.raises(
        ValueError, match=r"'observations': 4, 'action_masks': 4, 'targets': 3"
    ):
        trainer.train(obs, masks, np.array([0, 0, 1]))
    with pytest.raises(ValueError, match="dataset is empty"):
        trainer.train(obs[:0], masks[:0], np.zeros(0, np.int64))
    with pytest.raises(
        ValueError,
        match=r"targets\[1\] = 1 is an illegal action in row 1 \(legal: \[0, 2\]\)",
    ):
        trainer.train(obs, masks, np.array([0, 1, 1, 2]))
    with pytest.raises(
        ValueError, match=r"targets\[2\] = 3 is not an action in \[0, 3\)"
    ):
        trainer.train(obs, masks, np.array([0, 0, 3, 2]))
    with pytest.raises(TypeError, match="integer actions"):
        trainer.train(obs, masks, np.array([0.0, 0.0, 1.0, 2.0]))
    with pytest.raises(
        ValueError, match=r"observations must have shape \(N, \*\(3,\)\)"
    ):
        trainer.train(np.zeros((4, 2)), masks, np.array([0, 0, 1, 2]))
    with pytest.raises(ValueError, match="row 2 has no legal action"):
        trainer.train(
            obs, masks * np.array([[1], [1], [0], [1]], bool), np.array([0, 0, 1, 2])
        )
    soft = np.full((4, 3), 1 / 3)
    with pytest.raises(
        ValueError, match=r"targets row 0 puts mass 0\.333 on illegal actions"
    ):
        trainer.train(obs, masks, soft)
    soft = masks / masks.sum(axis=1, keepdims=True)
    soft[3] = [0.5, 0.5, 0.5]
    with pytest.raises(ValueError, match=r"targets row 3 sums to 1\.5"):
        trainer.train(obs, masks, soft)
    soft[3] = [-0.5, 1.0, 0.5]
    with pytest.raises(ValueError, match="targets row 3 is not a distribution"):
        trainer.train(obs, masks, soft)


# ------------------------------------------------- weights and deduplication


def _dataset_with_repeats(seed: int = 5):
    """40 draws (with repeats) from 8 distinct labelled rows, soft and hard."""
    rng = np.random.default_rng(seed)
    obs = rng.integers(0, 2, size=(8, 6)).astype(np.int8)
    obs[:, 0] = np.arange(8)  # the 8 rows are distinct
    masks = random_masks(rng, 8, 4)
    actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
    soft = masks * rng.random((8, 4))
    soft /= soft.sum(axis=1, keepdims=True)
    draws = rng.integers(0, 8, size=40)
    return obs[draws], masks[draws], actions[draws], soft[draws]


def test_weighted_loss_and_accuracy_equal_the_loss_on_repeated_rows() -> None:
    obs, masks, actions, soft = _dataset_with_repeats()
    weights = torch.as_tensor(np.random.default_rng(0).normal(size=(6, 4)))

    def logits(o: np.ndarray) -> torch.Tensor:  # a function of the observation
        return torch.as_tensor(o.astype(np.float64)) @ weights

    for targets in (actions, soft):
        u_obs, u_masks, u_targets, counts = deduplicate(obs, masks, targets)
        args_all = (logits(obs), torch.as_tensor(masks), torch.as_tensor(targets))
        args_uniq = (
            logits(u_obs),
            torch.as_tensor(u_masks),
            torch.as_tensor(u_targets),
        )
        w = torch.as_tensor(counts)
        assert masked_cross_entropy(*args_uniq, w).item() == pytest.approx(
            masked_cross_entropy(*args_all).item(), rel=1e-12
        )
        assert masked_accuracy(*args_uniq, w).item() == pytest.approx(
            masked_accuracy(*args_all).item(), rel=1e-12
        )
        # Unit weights change nothing.
        ones = torch.ones(len(obs))
        assert masked_cross_entropy(*args_all, ones).item() == pytest.approx(
            masked_cross_entropy(*args_all).item(), rel=1e-12
        )


def test_deduplicate_keeps_each_distinct_row_once_with_its_count() -> None:
    obs, masks, actions, _ = _dataset_with_repeats()
    uniq_obs, uniq_masks, uniq_actions, counts = deduplicate(obs, masks, actions)
    assert counts.sum() == 40 and counts.dtype == np.int64
    assert len(uniq_obs) == len(np.unique(obs, axis=0)) <= 8
    # Rows in the order they first occur; repeating them gives back the multiset.
    first_seen = list(dict.fromkeys(map(bytes, obs)))
    assert [bytes(o) for o in uniq_obs] == first_seen
    for o, m, a, c in zip(uniq_obs, uniq_masks, uniq_actions, counts, strict=True):
        same = (obs == o).all(axis=1)
        assert same.sum() == c
        assert (masks[same] == m).all() and (actions[same] == a).all()
    # A different label on the same observation is a different row.
    actions2 = actions.copy()
    legal = np.flatnonzero(masks[0])
    actions2[0] = legal[-1] if actions[0] != legal[-1] else legal[0]
    if len(legal) > 1:
        assert len(deduplicate(obs, masks, actions2)[0]) == len(uniq_obs) + 1
    with pytest.raises(ValueError, match="same length, got \\[40, 40, 39\\]"):
        deduplicate(obs, masks, actions[:-1])


def test_full_batch_training_on_weighted_distinct_rows_equals_training_on_all_rows() -> (
    None
):
    obs, masks, actions, _ = _dataset_with_repeats(seed=9)
    uniq_obs, uniq_masks, uniq_actions, counts = deduplicate(obs, masks, actions)

    def fit(o, m, a, w):
        head = MLPPolicy((6,), 4, hidden_sizes=(16,), seed=2)
        trainer = BCTrainer(
            policy=head,
            rng=0,
            batch_size=1000,  # one full batch per epoch: the same gradient
            max_epochs=25,
            validation_fraction=0.0,
            progress_bar=False,
            optimizer_kwargs={"lr": 1e-2},
        )
        metrics = trainer.train(o, m, a, sample_weights=w)
        return head.state_dict(), metrics

    full, m_full = fit(obs, masks, actions, None)
    weighted, m_weighted = fit(uniq_obs, uniq_masks, uniq_actions, counts)
    for k in full:
        torch.testing.assert_close(full[k], weighted[k], atol=1e-5, rtol=1e-5)
    assert m_weighted.num_train == len(uniq_obs) < m_full.num_train == 40
    assert m_weighted.train_loss == pytest.approx(m_full.train_loss, rel=1e-5)
    assert m_weighted.train_accuracy == pytest.approx(m_full.train_accuracy)


def test_minibatch_weights_are_unbiased_even_one_row_at_a_time() -> None:
    # One state labelled 99 times with action 0 and once with action 1: the
    # weighted fit must reach p(0) = 0.99 as on the 100 repeated rows, also with
    # minibatches of a single row (a per-batch weighted mean would give 0.5).
    obs = np.ones((2, 1), np.float32)
    masks = np.ones((2, 2), dtype=bool)
    head = LinearPolicy((1,), 2, seed=0)
    BCTrainer(
        policy=head,
        rng=0,
        batch_size=1,
        max_epochs=1500,
        validation_fraction=0.0,
        progress_bar=False,
        optimizer_kwargs={"lr": 1e-2},
    ).train(obs, masks, np.array([0, 1]), sample_weights=np.array([99.0, 1.0]))
    probs = TorchPolicy(head, mode="stochastic")(obs[:1], masks[:1])
    assert probs[0, 0] == pytest.approx(0.99, abs=2e-3)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (np.ones(3), r"sample_weights must have shape \(4,\), got \(3,\)"),
        (np.array([1.0, -1.0, 1.0, 1.0]), r"sample_weights\[1\] = -1\.0"),
        (np.array([1.0, 1.0, np.nan, 1.0]), r"sample_weights\[2\] = nan"),
        (
            np.array([1.0, 0.0, 1.0, 1.0]),
            r"sample_weights\[1\] = 0\.0 is not a finite positive",
        ),
    ],
)
def test_bad_sample_weights_are_named(weights, match) -> None:
    trainer = BCTrainer(policy=LinearPolicy((3,), 3, seed=0), rng=0, progress_bar=False)
    obs = np.zeros((4, 3), np.float32)
    masks = np.ones((4, 3), dtype=bool)
    with pytest.raises(ValueError, match=match):
        trainer.train(obs, masks, np.array([0, 1, 2, 0]), sample_weights=weights)


def test_constructor_validates_arguments() -> None:
    head = LinearPolicy((3,), 2)
    with pytest.raises(TypeError, match="rng"):
        BCTrainer(policy=head, rng="0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="PolicyHead"):
        BCTrainer(policy=torch.nn.Linear(3, 2), rng=0)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match="batch_size must be a positive integer, got 0"
    ):
        BCTrainer(policy=head, rng=0, batch_size=0)
    with pytest.raises(
        ValueError, match=r"validation_fraction must be in \[0, 1\), got 1\.0"
    ):
        BCTrainer(policy=head, rng=0, validation_fraction=1.0)
    with pytest.raises(ValueError, match="invalid optimizer_kwargs"):
        BCTrainer(policy=head, rng=0, optimizer_kwargs={"lr": -1.0})
    with pytest.raises(TypeError):
        BCTrainer(head, 0)  # type: ignore[call-arg, misc]  # keyword-only


# ------------------------------------------------------- Tic-Tac-Toe, exact


def _tictactoe_ready() -> bool:
    names = ("mail_envs.tictactoe", "mail_envs.tictactoe.expert", "mail_envs.solvers")
    try:
        return all(importlib.util.find_spec(name) is not None for name in names)
    except ModuleNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(
    not _tictactoe_ready(), reason="Tic-Tac-Toe model, expert or solver missing"
)
def test_cnn_bc_on_all_tictactoe_boards_has_zero_nash_conv() -> None:
    """BC on all 4,520 non-terminal boards labelled by the deterministic minimax
    expert reproduces it: the greedy profile has exact NashConv 0."""
    from mail_envs.solvers import nash_gap
    from mail_envs.tictactoe import make_tictactoe_game, tictactoe_states
    from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

    start = time.perf_counter()
    game = make_tictactoe_game()
    states = tictactoe_states()
    assert game.observations is not None
    expert = TicTacToeMinimaxExpert(policy="deterministic")
    profile = []
    num_labelled = 0
    for player in range(2):
        movers = np.flatnonzero(states.mover == player)
        obs = game.observations[player][movers]
        masks = game.legal_masks[player][movers]
        labels = expert(obs, masks).argmax(axis=1)
        num_labelled += len(movers)
        trainer = BCTrainer(
            policy=SmallCNNPolicy(seed=player),
            rng=player,
            batch_size=128,
            max_epochs=150,
            validation_fraction=0.0,
            optimizer_kwargs={"lr": 2e-3},
            progress_bar=False,
        )
        metrics = trainer.train(obs, masks, labels)
        assert metrics.train_accuracy == 1.0
        profile.append(trainer.as_policy("greedy"))
    assert num_labelled == 4520
    result = nash_gap(game, profile)
    elapsed = time.perf_counter() - start
    print(
        f"TTT CNN BC on all boards: NashConv {result.nash_conv:.3g} in {elapsed:.1f} s"
    )
    assert result.nash_conv <= 1e-12


def test_label_distributions_merge_the_labels_of_each_board() -> None:
    obs, masks, actions, soft = _dataset_with_repeats(seed=4)
    u_obs, u_masks, probs, counts = label_distributions(obs, masks, actions)
    assert counts.sum() == len(obs) and counts.dtype == np.int64
    assert len(u_obs) == len(np.unique(obs, axis=0))
    # First occurrence order; each row's target is the mean of its labels.
    assert [bytes(o) for o in u_obs] == list(dict.fromkeys(map(bytes, obs)))
    for o, m, p, c in zip(u_obs, u_masks, probs, counts, strict=True):
        same = (obs == o).all(axis=1)
        assert same.sum() == c and (masks[same] == m).all()
        expected = np.bincount(actions[same], minlength=masks.shape[1]) / c
        np.testing.assert_allclose(p, expected, rtol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    # The count-weighted loss on the merged rows is the loss on every row
    # (cross-entropy is linear in the target), for hard and soft labels.
    weights = torch.as_tensor(np.random.default_rng(2).normal(size=(6, 4)))
    for targets in (actions, soft):
        u_obs, u_masks, probs, counts = label_distributions(obs, masks, targets)
        merged = masked_cross_entropy(
            torch.as_tensor(u_obs.astype(np.float64)) @ weights,
            torch.as_tensor(u_masks),
            torch.as_tensor(probs),
            torch.as_tensor(counts),
        )
        every = masked_cross_entropy(
            torch.as_tensor(obs.astype(np.float64)) @ weights,
            torch.as_tensor(masks),
            torch.as_tensor(targets),
        )
        assert merged.item() == pytest.approx(every.item(), rel=1e-6)


def test_label_distributions_refuse_bad_input() -> None:
    obs, masks, actions, _ = _dataset_with_repeats()
    with pytest.raises(ValueError, match="same length, got \\[40, 40, 39\\]"):
        label_distributions(obs, masks, actions[:-1])
    bad = actions.copy()
    bad[3] = 7
    with pytest.raises(ValueError, match="action indices in \\[0, 4\\), got 7"):
        label_distributions(obs, masks, bad)
    empty = label_distributions(obs[:0], masks[:0], actions[:0])
    assert [len(a) for a in empty] == [0, 0, 0, 0]


def test_stop_when_fit_ends_training_once_every_row_is_fit() -> None:
    obs, masks, actions = argmax_dataset(seed=3, num_states=60)

    def train(**kwargs):
        trainer = BCTrainer(
            policy=LinearPolicy((60,), 5, seed=0),
            rng=0,
            batch_size=16,
            max_epochs=400,
            validation_fraction=0.0,
            progress_bar=False,
            optimizer_kwargs={"lr": 5e-2},
            **kwargs,
        )
        return trainer, trainer.train(obs, masks, actions)

    _, metrics = train(stop_when_fit=True)
    assert metrics.stopped_early and metrics.epochs_run < 400
    assert metrics.train_accuracy == 1.0  # every row's greedy action is its label
    _, full = train(stop_when_fit=False)
    assert full.epochs_run == 400 and not full.stopped_early
    # One epoch earlier some row was still wrong: the stop is the first fit.
    before = BCTrainer(
        policy=LinearPolicy((60,), 5, seed=0),
        rng=0,
        batch_size=16,
        max_epochs=metrics.epochs_run - 1,
        validation_fraction=0.0,
        progress_bar=False,
        optimizer_kwargs={"lr": 5e-2},
    )
    assert before.train(obs, masks, actions).train_accuracy < 1.0
    # min_epochs: a fit reached earlier is trained on until then.
    _, late = train(stop_when_fit=True, min_epochs=metrics.epochs_run + 7)
    assert late.stopped_early and late.epochs_run == metrics.epochs_run + 7
    with pytest.raises(TypeError, match="stop_when_fit must be a bool, got 1"):
        train(stop_when_fit=1)
    with pytest.raises(ValueError, match="min_epochs"):
        train(min_epochs=0)


def test_stop_when_fit_counts_any_labelled_action_of_a_soft_target() -> None:
    # Two labels on one state (a randomizing expert): either one fits it,
    # and training stops at once though the loss is far from its minimum.
    obs = np.ones((1, 1), np.float32)
    masks = np.ones((1, 3), dtype=bool)
    target = np.array([[0.5, 0.5, 0.0]], np.float32)
    trainer = BCTrainer(
        policy=LinearPolicy((1,), 3, seed=0),
        rng=0,
        max_epochs=50,
        validation_fraction=0.0,
        progress_bar=False,
        stop_when_fit=True,
    )
    greedy = int(trainer.as_policy("greedy")(obs, masks).argmax())
    metrics = trainer.train(obs, masks, target)
    if greedy in (0, 1):  # already fit after the first epoch
        assert metrics.epochs_run == 1 and metrics.stopped_early
    assert int(trainer.as_policy("greedy")(obs, masks).argmax()) in (0, 1)


def test_fused_auto_takes_the_fused_adam_kernel_where_the_device_has_it() -> None:
    from agents.common import fused_adam

    trainer = BCTrainer(
        policy=LinearPolicy((3,), 2, seed=0),
        rng=0,
        device="cpu",
        progress_bar=False,
        optimizer_kwargs={"fused": "auto"},
    )
    assert trainer.optimizer_kwargs["fused"] is fused_adam("cpu")
    assert trainer.optimizer.defaults["fused"] is fused_adam("cpu")
    # Torch 2.4+ has it on CPUs (this package's CI installs 2.13).
    major, minor = (int(p) for p in torch.__version__.split(".")[:2])
    assert fused_adam("cpu") is ((major, minor) >= (2, 4))
    plain = BCTrainer(policy=LinearPolicy((3,), 2, seed=0), rng=0, progress_bar=False)
    assert "fused" not in plain.optimizer_kwargs
