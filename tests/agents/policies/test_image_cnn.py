"""The image CNN head, its SB3 extractor, and exact Nash gaps of CNN policies."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agents.pipeline.games import GAME_SPECS, gridworld_head
from agents.policies import (
    PAPER_BC_CNN,
    ImageCNNPolicy,
    MLPPolicy,
    SmallCNNPolicy,
    TorchPolicy,
    build_policy_head,
)
from agents.policies.extractors import HeadFeaturesExtractor
from mail_envs.gridworld import make_gridworld_game, published_starts
from mail_envs.solvers import nash_gap, solve_zero_sum

FIG2A = {
    "size": 5,
    "start": "published",
    "episode_length": 16,
    "observation": "image",
    "policy_class": "neural",
}


@pytest.mark.parametrize(
    ("config", "embed_dim", "num_params"),
    [
        # conv 3->16 s2 (16x16), conv 16->32 s2 (8x8), 2048 -> 64 -> 4
        ({}, 64, (3 * 9 + 1) * 16 + (16 * 9 + 1) * 32 + 2049 * 64 + 65 * 4),
        # the published BC CNN: conv 3->32, 32->64, mean pool, 64 -> 64 -> 4
        (PAPER_BC_CNN, 64, (3 * 9 + 1) * 32 + (32 * 9 + 1) * 64 + 65 * 64 + 65 * 4),
        # the published critic trunk: three unpadded convolutions, flattened
        (
            {
                "channels": (32, 64, 128),
                "strides": (1, 1, 1),
                "padding": 0,
                "hidden_size": 128,
            },
            128,
            None,
        ),
    ],
)
def test_image_cnn_shapes(config: dict, embed_dim: int, num_params: int | None) -> None:
    head = ImageCNNPolicy((32, 32, 3), 4, seed=0, **config)
    obs = torch.rand(5, 32, 32, 3)
    masks = torch.tensor([[True, False, True, True]] * 5)
    logits = head(obs, masks)
    assert logits.shape == (5, 4)
    assert torch.isinf(logits[:, 1]).all() and torch.isfinite(logits[:, 0]).all()
    assert head.embed(obs).shape == (5, embed_dim)
    if num_params is not None:
        assert sum(p.numel() for p in head.parameters()) == num_params
    rebuilt = build_policy_head("image_cnn", json.loads(json.dumps(head.config())))
    rebuilt.load_state_dict(head.state_dict())
    torch.testing.assert_close(rebuilt(obs, masks), logits)


def test_image_cnn_seeds_and_bad_arguments() -> None:
    a = ImageCNNPolicy((20, 20, 3), 4, seed=3)
    b = ImageCNNPolicy((20, 20, 3), 4, seed=3)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match=r"channels-last \(H, W, C\)"):
        ImageCNNPolicy((32, 32), 4)
    with pytest.raises(ValueError, match="one stride per convolution"):
        ImageCNNPolicy((32, 32, 3), 4, channels=(8,), strides=(1, 1))
    with pytest.raises(ValueError, match="pooling must be one of"):
        ImageCNNPolicy((32, 32, 3), 4, pooling="sum")
    with pytest.raises(ValueError, match="padding must be a non-negative integer"):
        ImageCNNPolicy((32, 32, 3), 4, padding=-1)
    with pytest.raises(ValueError, match="shrink the"):
        ImageCNNPolicy((4, 4, 3), 4, channels=(8, 8, 8), strides=(1, 1, 1), padding=0)


def test_gridworld_head_picks_the_cnn_for_pictures_and_bcs_mlp_otherwise() -> None:
    assert isinstance(gridworld_head((32, 32, 3), 4, 0), ImageCNNPolicy)
    mlp = gridworld_head((72,), 4, 0)
    reference = MLPPolicy((72,), 4, seed=0)  # BC's default head, bit for bit
    assert isinstance(mlp, MLPPolicy) and not isinstance(mlp, SmallCNNPolicy)
    for p, q in zip(mlp.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)


def test_head_features_extractor_reads_the_picture_and_the_mask() -> None:
    space = spaces.Dict(
        {
            "observation": spaces.Box(0.0, 1.0, (32, 32, 3), np.float32),
            "action_mask": spaces.Box(0, 1, (4,), np.int8),
        }
    )
    extractor = HeadFeaturesExtractor(space, config={"hidden_size": 16, "seed": 0})
    assert extractor.features_dim == 16 + 4
    batch = {"observation": torch.rand(3, 32, 32, 3), "action_mask": torch.ones(3, 4)}
    features = extractor(batch)
    assert features.shape == (3, 20)
    torch.testing.assert_close(features[:, 16:], torch.ones(3, 4))
    torch.testing.assert_close(
        features[:, :16], extractor.head.embed(batch["observation"])
    )
    with pytest.raises(ValueError, match="Dict observation space with key 'pixels'"):
        HeadFeaturesExtractor(space, key="pixels")
    with pytest.raises(ValueError, match="has no embed trunk"):
        HeadFeaturesExtractor(space, architecture="linear")


def test_exact_nash_gap_of_a_cnn_policy_is_one_batched_table() -> None:
    game = make_gridworld_game(5, starts=published_starts(5), observation="image")
    heads = [ImageCNNPolicy((32, 32, 3), 4, seed=s) for s in (0, 1)]
    policies = [TorchPolicy(h, mode="stochastic", device="cpu") for h in heads]
    tables = [game.policy_table(i, p) for i, p in enumerate(policies)]
    obs = torch.as_tensor(game.all_observations(0))
    with torch.no_grad():
        expected = torch.softmax(heads[0](obs, torch.ones(600, 4, dtype=torch.bool)), 1)
    np.testing.assert_allclose(tables[0], expected.double().numpy(), atol=1e-6)
    gap = nash_gap(game, policies)
    assert gap.nash_conv > 0.0
    np.testing.assert_allclose(gap.nash_conv, nash_gap(game, tables).nash_conv)
    expert = solve_zero_sum(game).policies
    assert nash_gap(game, list(expert)).nash_conv < 1e-6


def test_pipeline_gridworld_options_give_figure_2a() -> None:
    spec = GAME_SPECS["gridworld"]
    problem = spec.problem(FIG2A)
    env = problem.env_fn().unwrapped
    assert env.max_cycles == 16
    assert env.layout.starts == ((3, 0), (4, 1)) and env.layout.goal == (0, 4)
    assert problem.model is not None
    assert problem.model.observation_shape(1) == (32, 32, 3)
    assert isinstance(spec.bc(False).head_fn((32, 32, 3), 4, 0), ImageCNNPolicy)
    default = spec.problem({}).env_fn().unwrapped
    assert default.layout.starts == ((2, 2), (0, 0))
    assert default.game.observations is None
    with pytest.raises(ValueError, match="start must be 'corners' or 'published'"):
        spec.problem({**FIG2A, "start": "middle"})
    with pytest.raises(ValueError, match="episode_length must be an integer >= 1"):
        spec.problem({**FIG2A, "episode_length": 0})


def test_masked_dqn_critic_reads_the_image_through_the_cnn() -> None:
    from agents.deep.masked_dqn import MaskedDQN
    from mail_envs import gridworld
    from mail_wrappers.frozen_opponent import FrozenOpponentWrapper

    env = FrozenOpponentWrapper(
        gridworld.env(
            size=5, starts=published_starts(5), observation="image", max_cycles=16
        ),
        "player_0",
        opponent="uniform",
    )
    model = MaskedDQN(
        env=env,
        seed=0,
        buffer_size=100,
        learning_starts=8,
        batch_size=8,
        device="cpu",
        policy_kwargs={
            "features_extractor_class": HeadFeaturesExtractor,
            "features_extractor_kwargs": {"config": {"hidden_size": 8}},
            "net_arch": [16],
        },
    )
    extractor = model.q_net.features_extractor
    assert isinstance(extractor, HeadFeaturesExtractor)
    assert isinstance(extractor.head, ImageCNNPolicy)
    before = [p.detach().clone() for p in extractor.head.convs.parameters()]
    model.learn(40)
    after = list(extractor.head.convs.parameters())
    assert any(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
    obs, _ = env.reset(seed=0)
    tensor, _ = model.policy.obs_to_tensor(
        {k: np.asarray(v)[None] for k, v in obs.items()}
    )
    assert model.q_net.penultimate_features(tensor).shape == (1, 16)


def test_cli_reaches_the_figure_2a_options(capsys: pytest.CaptureFixture[str]) -> None:
    from agents.cli import main

    argv = ["solve", "gridworld", "--size", "5", "--start", "published"]
    assert main([*argv, "--observation", "image", "--episode-length", "16"]) == 0
    out = capsys.readouterr().out
    assert "600 states" in out and "NashConv of the equilibrium: 0" in out
