"""Tests of agents.policies (heads, TorchPolicy) and agents.io (save/load)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import safetensors
import safetensors.torch
import torch

from agents import io as policy_io
from agents.common import resolve_device
from agents.io import load_policy, save_policy
from agents.policies import (
    ARCHITECTURES,
    FeatureLinearPolicy,
    LinearPolicy,
    MLPPolicy,
    PolicyHead,
    ResidualSEPolicy,
    SmallCNNPolicy,
    TorchPolicy,
    apply_action_mask,
    build_policy_head,
)


def random_masks(rng: np.random.Generator, batch: int, num_actions: int) -> np.ndarray:
    masks = rng.random((batch, num_actions)) < 0.5
    masks[np.arange(batch), rng.integers(0, num_actions, batch)] = True
    return masks


def make_heads() -> list[tuple[PolicyHead, np.ndarray]]:
    """One head of every architecture with a matching observation batch."""
    rng = np.random.default_rng(0)
    table = rng.normal(size=(6, 4, 5))
    return [
        (
            FeatureLinearPolicy(feature_table=table),
            np.eye(6, dtype=np.float32)[[0, 3, 5, 1]],
        ),
        (LinearPolicy((5,), 4, seed=1), rng.normal(size=(7, 5)).astype(np.float32)),
        (MLPPolicy((2, 3), 4, hidden_sizes=(8, 8), seed=2), rng.normal(size=(7, 2, 3))),
        (
            SmallCNNPolicy((3, 3, 2), 9, seed=3),
            rng.integers(0, 2, (11, 3, 3, 2)).astype(np.int8),
        ),
        (
            ResidualSEPolicy((6, 7, 2), 7, channels=8, num_blocks=2, seed=4),
            rng.integers(0, 2, (5, 6, 7, 2)).astype(np.int8),
        ),
    ]


# ----------------------------------------------------------------- devices


def test_auto_device_resolves_to_cpu_without_cuda() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="'gpu0'"):
        resolve_device("gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_without_cuda_is_a_clear_error() -> None:
    for name in ("cuda", "cuda:1", torch.device("cuda")):
        with pytest.raises(ValueError, match="needs CUDA, which is not available"):
            resolve_device(name)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device_index_is_checked() -> None:
    assert resolve_device("cuda").type == "cuda"
    count = torch.cuda.device_count()
    with pytest.raises(ValueError, match=f"has {count} CUDA device"):
        resolve_device(f"cuda:{count}")


# ------------------------------------------------------------------ masking


def test_apply_action_mask_gives_exact_zero_probability() -> None:
    logits = torch.tensor([[5.0, 1.0, -2.0], [0.0, 0.0, 0.0]])
    masks = torch.tensor([[False, True, True], [True, False, False]])
    probs = torch.softmax(apply_action_mask(logits, masks), dim=1)
    assert probs[0, 0].item() == 0.0
    assert probs[1].tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("index", range(5))
def test_every_head_masks_illegal_actions_exactly(index: int) -> None:
    head, obs = make_heads()[index]
    rng = np.random.default_rng(index)
    masks = random_masks(rng, len(obs), head.num_actions)
    policy = TorchPolicy(head, device="auto")
    probs = policy(obs, masks)
    assert probs.shape == (len(obs), head.num_actions)
    assert probs.dtype == np.float64
    assert np.all(probs[~masks] == 0.0)
    assert np.all(probs[masks] > 0.0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    # Independent softmax over the legal raw logits.
    with torch.no_grad():
        raw = head.eval().logits(torch.as_tensor(obs).float()).double().numpy()
    expected = np.where(
        masks, np.exp(raw - np.where(masks, raw, -np.inf).max(1, keepdims=True)), 0
    )
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probs, expected, rtol=1e-6, atol=1e-12)
    logits = policy.logits(obs, masks)
    assert np.all(np.isneginf(logits[~masks])) and np.all(np.isfinite(logits[masks]))


def test_board_heads_run_on_pettingzoo_shapes() -> None:
    ttt = SmallCNNPolicy(seed=0)
    c4 = ResidualSEPolicy(seed=0)
    assert ttt.observation_shape == (3, 3, 2) and ttt.num_actions == 9
    assert c4.observation_shape == (6, 7, 2) and c4.num_actions == 7
    out_ttt = ttt(
        torch.zeros(4, 3, 3, 2, dtype=torch.int8), torch.ones(4, 9, dtype=torch.bool)
    )
    assert out_ttt.shape == (4, 9)
    c4.eval()
    out_c4 = c4(torch.zeros(3, 6, 7, 2), torch.ones(3, 7, dtype=torch.bool))
    assert out_c4.shape == (3, 7)
    # The SE gate is a real per-channel rescaling in (0, 1).
    block = c4.blocks[0]
    gate = block.excite(torch.randn(2, c4.channels))
    assert gate.shape == (2, c4.channels) and torch.all((gate > 0) & (gate < 1))
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        SmallCNNPolicy((9,), 9)


def test_greedy_mode_takes_lowest_legal_index_on_ties() -> None:
    head = LinearPolicy((3,), 5, seed=0)
    with torch.no_grad():
        head.linear.weight.zero_()
        head.linear.bias.copy_(torch.tensor([9.0, 1.0, 1.0, 0.0, 1.0]))
    greedy = TorchPolicy(head, mode="greedy")
    masks = np.array(
        [
            [True] * 5,
            [False, True, True, True, True],
            [False, False, False, True, True],
            [False, False, True, False, True],
        ]
    )
    probs = greedy(np.zeros((4, 3), np.float32), masks)
    assert probs.tolist() == [
        [1, 0, 0, 0, 0],
        [0, 1, 0, 0, 0],  # tie between 1, 2 and 4 -> 1
        [0, 0, 0, 0, 1],
        [0, 0, 1, 0, 0],  # tie between 2 and 4 -> 2
    ]


def test_sample_is_legal_reproducible_and_follows_probabilities() -> None:
    head = MLPPolicy((4,), 3, hidden_sizes=(8,), seed=0)
    policy = TorchPolicy(head)
    obs = np.repeat(np.eye(4, dtype=np.float32)[:1], 20_000, axis=0)
    masks = np.tile(np.array([[True, False, True]]), (20_000, 1))
    a = policy.sample(obs, masks, np.random.default_rng(7))
    b = policy.sample(obs, masks, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert a.dtype == np.int64 and np.all(masks[np.arange(len(a)), a])
    freq = np.bincount(a, minlength=3) / len(a)
    probs = policy(obs[:1], masks[:1])[0]
    # Binomial standard error is below 0.0036 for n = 20000; allow 5 of them.
    np.testing.assert_allclose(freq, probs, atol=0.018)
    with pytest.raises(TypeError, match="Generator"):
        policy.sample(obs[:2], masks[:2], 7)  # type: ignore[arg-type]


def test_torch_policy_validates_its_input() -> None:
    policy = TorchPolicy(LinearPolicy((3,), 2, seed=0))
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        policy(np.zeros((2, 3)), np.ones((2, 3), bool))
    with pytest.raises(ValueError, match=r"\(5, 3\)"):
        policy(np.zeros((5, 3)), np.ones((4, 2), bool))
    with pytest.raises(ValueError, match="row 1 has no legal action"):
        policy(np.zeros((2, 3)), np.array([[True, False], [False, False]]))
    with pytest.raises(ValueError, match="'argmax'"):
        TorchPolicy(LinearPolicy((3,), 2), mode="argmax")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="PolicyHead"):
        TorchPolicy(torch.nn.Linear(3, 2))  # type: ignore[arg-type]


def test_torch_policy_tabulates_a_game_model_in_chunks() -> None:
    from mail_envs.gridworld import make_gridworld_game

    game = make_gridworld_game(size=3)
    head = MLPPolicy((game.num_states,), 4, seed=0)
    table = game.policy_table(0, TorchPolicy(head, batch_size=7))
    full = TorchPolicy(head)(game.all_observations(0), game.legal_masks[0])
    # float32 matmuls over different batch sizes may differ in the last bits.
    np.testing.assert_allclose(table, full, rtol=1e-6, atol=0)


# ------------------------------------------------------------------- seeding


def test_seed_fixes_initialization_without_touching_global_rng() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = SmallCNNPolicy(seed=5)
    after = torch.rand(1)
    assert torch.equal(before, after)
    b = SmallCNNPolicy(seed=5)
    c = SmallCNNPolicy(seed=6)
    for (name, pa), pb in zip(
        a.state_dict().items(), b.state_dict().values(), strict=True
    ):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.convs[0].weight, c.convs[0].weight)


# --------------------------------------------------------------- feature heads


def test_feature_linear_logits_are_theta_dot_phi() -> None:
    rng = np.random.default_rng(1)
    phi = rng.normal(size=(5, 3, 4))
    head = FeatureLinearPolicy(feature_table=phi)
    assert (
        head.observation_shape == (5,)
        and head.num_actions == 3
        and head.num_features == 4
    )
    theta = rng.normal(size=4)
    with torch.no_grad():
        head.theta.copy_(torch.as_tensor(theta))
    obs = np.eye(5, dtype=np.float32)
    logits = TorchPolicy(head).logits(obs, np.ones((5, 3), bool))
    np.testing.assert_allclose(logits, phi @ theta, rtol=1e-5, atol=1e-5)
    # The same map given as a callable.
    table = torch.as_tensor(phi, dtype=torch.float32)
    fn_head = FeatureLinearPolicy(
        feature_fn=lambda o: table[o.argmax(dim=1)],
        observation_shape=(5,),
        num_actions=3,
        num_features=4,
    )
    with torch.no_grad():
        fn_head.theta.copy_(torch.as_tensor(theta))
    np.testing.assert_allclose(
        TorchPolicy(fn_head).logits(obs, np.ones((5, 3), bool)),
        logits,
        rtol=1e-6,
        atol=1e-6,
    )
    with pytest.raises(TypeError, match="feature_fn cannot be serialized"):
        fn_head.config()
    with pytest.raises(ValueError, match="exactly one"):
        FeatureLinearPolicy()
    with pytest.raises(ValueError, match=r"\(S, A, d\)"):
        FeatureLinearPolicy(feature_table=np.zeros((3, 4)))


def test_build_policy_head_rebuilds_every_architecture() -> None:
    for head, _ in make_heads():
        rebuilt = build_policy_head(
            head.architecture, json.loads(json.dumps(head.config()))
        )
        assert type(rebuilt) is type(head)
        assert rebuilt.observation_shape == head.observation_shape
        assert rebuilt.num_actions == head.num_actions
    assert set(ARCHITECTURES) == {
        "feature_linear",
        "linear",
        "mlp",
        "cnn",
        "residual_se",
        "image_cnn",
    }
    with pytest.raises(ValueError, match="'transformer'"):
        build_policy_head("transformer", {})
    with pytest.raises(ValueError, match="invalid config for 'mlp'"):
        build_policy_head(
            "mlp", {"observation_shape": [3], "num_actions": 2, "depth": 4}
        )


# ------------------------------------------------------------------ save/load


def perturb_batch_norm(head: PolicyHead, obs: np.ndarray) -> None:
    """Give batch-norm running statistics non-default values."""
    head.train()
    with torch.no_grad():
        head.logits(torch.as_tensor(obs).float() * 3 + 1)
    head.eval()


@pytest.mark.parametrize("index", range(5))
def test_save_load_roundtrip_gives_identical_outputs(
    tmp_path: Path, index: int
) -> None:
    head, obs = make_heads()[index]
    with torch.no_grad():
        for p in head.parameters():
            p.add_(0.1 * torch.randn_like(p))
    perturb_batch_norm(head, obs)
    masks = random_masks(np.random.default_rng(3), len(obs), head.num_actions)
    files = save_policy(
        head, tmp_path / "policy", game_id="mail/test-v0", metadata={"epochs": 3}
    )
    assert files.weights == tmp_path / "policy.safetensors"
    assert files.config == tmp_path / "policy.json"
    assert sorted(os.listdir(tmp_path)) == ["policy.json", "policy.safetensors"]
    loaded = load_policy(
        tmp_path / "policy.json",
        game_id="mail/test-v0",
        observation_shape=head.observation_shape,
        num_actions=head.num_actions,
    )
    assert type(loaded) is type(head)
    for mode in ("stochastic", "greedy"):
        np.testing.assert_array_equal(
            TorchPolicy(loaded, mode=mode)(obs, masks),
            TorchPolicy(head, mode=mode)(obs, masks),
        )
    document = json.loads(files.config.read_text())
    assert document["architecture"] == head.architecture
    assert document["game_id"] == "mail/test-v0"
    assert document["metadata"] == {"epochs": 3}
    assert document["package_version"] == "0.1.0"
    # The weights file is plain safetensors (no pickle) holding the state dict.
    with safetensors.safe_open(str(files.weights), framework="pt") as fh:
        assert set(fh.keys()) == set(head.state_dict())


def test_load_rejects_mismatched_expectations(tmp_path: Path) -> None:
    head = SmallCNNPolicy(seed=0)
    save_policy(head, tmp_path / "ttt", game_id="mail/tictactoe-v0")
    with pytest.raises(
        ValueError, match=r"game_id='mail/tictactoe-v0', expected 'mail/connect4-v0'"
    ):
        load_policy(tmp_path / "ttt", game_id="mail/connect4-v0")
    with pytest.raises(
        ValueError, match=r"observation_shape=\(3, 3, 2\), expected \(6, 7, 2\)"
    ):
        load_policy(tmp_path / "ttt", observation_shape=(6, 7, 2))
    with pytest.raises(ValueError, match="num_actions=9, expected 7"):
        load_policy(tmp_path / "ttt", num_actions=7)


def test_load_reports_corrupt_and_missing_files(tmp_path: Path) -> None:
    head = MLPPolicy((4,), 2, seed=0)
    files = save_policy(head, tmp_path / "p")
    good_weights = files.weights.read_bytes()
    good_config = files.config.read_text()

    # Flipped bytes in the weights: the checksum catches it.
    files.weights.write_bytes(good_weights[:-8] + b"\x00" * 8)
    with pytest.raises(ValueError, match="do not match the config's checksum"):
        load_policy(tmp_path / "p")
    # Garbage weights with a matching checksum: safetensors rejects them.
    files.weights.write_bytes(b"not a safetensors file")
    document = json.loads(good_config)
    document["weights_sha256"] = policy_io._sha256(files.weights)
    files.config.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="are corrupt"):
        load_policy(tmp_path / "p")
    # Weights of another architecture under this config.
    files.weights.write_bytes(good_weights)
    document = json.loads(good_config)
    document["config"]["hidden_sizes"] = [32, 32]
    files.config.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="do not fit the 'mlp' head"):
        load_policy(tmp_path / "p")
    # Truncated JSON.
    files.config.write_text(good_config[: len(good_config) // 2])
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_policy(tmp_path / "p")
    # Another JSON document.
    files.config.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="is not a 'mail-gym-policy' file"):
        load_policy(tmp_path / "p")
    # Missing fields.
    document = json.loads(good_config)
    del document["architecture"]
    files.config.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="lacks the fields \\['architecture'\\]"):
        load_policy(tmp_path / "p")
    with pytest.raises(FileNotFoundError, match=r"nothere\.json"):
        load_policy(tmp_path / "nothere")
    files.config.write_text(good_config)
    files.weights.unlink()
    with pytest.raises(FileNotFoundError, match=r"p\.safetensors"):
        load_policy(tmp_path / "p")


def test_save_is_atomic_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = MLPPolicy((4,), 2, seed=0)
    save_policy(old, tmp_path / "p")
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}

    def failing_save(tensors: dict[str, torch.Tensor], filename: str) -> None:
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_policy(MLPPolicy((4,), 2, seed=1), tmp_path / "p")
    after = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    assert after == before  # old files intact, no temporary file left behind
    monkeypatch.undo()
    # Overwriting works and the new weights are the ones loaded.
    new = MLPPolicy((4,), 2, seed=1)
    save_policy(new, tmp_path / "p.safetensors")
    loaded = load_policy(tmp_path / "p")
    assert torch.equal(loaded.output.weight, new.output.weight)
    assert sorted(os.listdir(tmp_path)) == ["p.json", "p.safetensors"]


def test_save_rejects_unserializable_heads(tmp_path: Path) -> None:
    head = FeatureLinearPolicy(
        feature_fn=lambda o: o[:, None, :].expand(-1, 2, -1),
        observation_shape=(3,),
        num_actions=2,
        num_features=3,
    )
    with pytest.raises(TypeError, match="feature_fn"):
        save_policy(head, tmp_path / "p")
    with pytest.raises(TypeError, match="JSON-serializable"):
        save_policy(LinearPolicy((3,), 2), tmp_path / "q", metadata={"x": object()})
    assert os.listdir(tmp_path) == []
