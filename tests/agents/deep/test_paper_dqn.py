"""Tests of the published DQN-Explore-BC configuration (agents/deep/paper_dqn.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch as th

from agents.bc.profile import BCConfig
from agents.common import spawn_seeds
from agents.deep.paper_dqn import (
    ConcatActionFeatures,
    ConcatActionQNetwork,
    PaperDQNConfig,
    PaperDQNExploreBC,
    PaperDQNExplorer,
    ReplayBuffer,
    masked_softmax,
)
from agents.imitation import LearnerSession
from agents.methods import METHODS
from agents.pipeline import GAME_SPECS, Pipeline
from mail_wrappers.elliptical_reward import EllipticalBonus

th.set_num_threads(1)
CHAIN = GAME_SPECS["chain"].problem({"length": 3})
TINY_BC = BCConfig(min_epochs=1, min_steps=5)
SMALL = PaperDQNConfig(hidden_dim=16, batch_size=8)


def chain_session(seed: int = 0, player: int = 0) -> LearnerSession:
    return LearnerSession(CHAIN, player, spawn_seeds(seed, 2)[player])


def test_registered_under_its_own_name():
    assert METHODS["dqn-explore-paper"] is PaperDQNExploreBC


def test_same_seed_same_datasets_and_bonuses():
    def run(seed):
        return PaperDQNExploreBC(
            CHAIN, num_games=12, seed=seed, config=SMALL, bc=TINY_BC, device="cpu"
        ).run()

    first, second, other = run(3), run(3), run(4)
    for a, b in zip(first.datasets, second.datasets, strict=True):
        np.testing.assert_array_equal(a.observations, b.observations)
        np.testing.assert_array_equal(a.expert_actions, b.expert_actions)
        np.testing.assert_array_equal(a.episodes, b.episodes)
    for a, b in zip(
        first.info["explorations"], second.info["explorations"], strict=True
    ):
        np.testing.assert_array_equal(a["bonuses"], b["bonuses"])
        assert a["rebuild_games"] == b["rebuild_games"]
    assert any(
        not np.array_equal(a["bonuses"], b["bonuses"])
        for a, b in zip(
            first.info["explorations"], other.info["explorations"], strict=True
        )
    )


@pytest.mark.parametrize("games_per_round", [1, 4])
def test_plays_exactly_the_budget_and_only_legal_moves(logged_problem, games_per_round):
    problem, envs = logged_problem()
    session = LearnerSession(problem, 1, spawn_seeds(0, 2)[1])
    config = PaperDQNConfig(
        hidden_dim=16, batch_size=8, games_per_round=games_per_round
    )
    exploration = PaperDQNExplorer(config, device="cpu").explore(session, 10)
    env = envs[-1]  # LoggedTicTacToe raises on an illegal move
    assert session.games == 10 and env.game == 9
    explorer_moves = [m for m in env.moves if m[0] == session.explorer_agent]
    assert exploration.steps == len(exploration.info["bonuses"]) == len(explorer_moves)
    assert sorted({m[3] for m in env.moves}) == list(range(10))
    assert np.all(exploration.info["bonuses"] > 0)
    assert len(exploration.info["logdets"]) == math.ceil(10 / games_per_round)


def test_masked_softmax_never_gives_an_illegal_action_mass():
    rng = np.random.default_rng(0)
    q = th.as_tensor(rng.normal(scale=100.0, size=(500, 9)))
    mask = th.as_tensor(rng.random((500, 9)) < 0.4)
    mask[:, 4] = True  # at least one legal action per row
    probs = masked_softmax(q, mask)
    assert th.all(probs[~mask] == 0)
    th.testing.assert_close(probs.sum(dim=1), th.ones(500, dtype=probs.dtype))
    # Temperature 1 and the +-50 clip: softmax of the clipped legal values.
    row = th.clamp(q[0], -50, 50).masked_fill(~mask[0], -math.inf)
    th.testing.assert_close(probs[0], th.softmax(row, dim=0))
    with pytest.raises(ValueError, match="no legal action"):
        masked_softmax(th.zeros(1, 3), th.zeros(1, 3))


def test_bonus_is_the_weighted_norm_of_the_concatenated_features():
    with th.random.fork_rng(devices=[]):
        th.manual_seed(0)
        net = ConcatActionQNetwork((3, 3, 2), 9, hidden_dim=8)
    rng = np.random.default_rng(1)
    obs = rng.integers(0, 2, size=(6, 3, 3, 2)).astype(np.float32)
    actions = rng.integers(0, 9, size=6)
    features = ConcatActionFeatures(net)
    bonus = EllipticalBonus(features=features, ridge=1.5)
    bonus.update(obs[:4], actions[:4])
    got = bonus.bonus(obs[4:], actions[4:])
    # phi(s, a) = ReLU(fc2([h(s), onehot(a)])), computed here by hand.
    with th.no_grad():
        h = net.state_embedding(th.as_tensor(obs)).double().numpy()
    onehot = np.eye(9)[actions]
    w, b = (net.fc2.weight.detach().double().numpy(), net.fc2.bias.detach().numpy())
    phi = np.maximum(np.concatenate([h, onehot], axis=1) @ w.T + b, 0.0)
    lam = 1.5 * np.eye(8) + phi[:4].T @ phi[:4]
    want = np.sqrt(np.einsum("nd,de,ne->n", phi[4:], np.linalg.inv(lam), phi[4:]))
    np.testing.assert_allclose(got, want, rtol=1e-5)
    # Q(s, a) = fc3(phi(s, a)), and one action's row of the all-action forms.
    with th.no_grad():
        q_all = net.q_values(th.as_tensor(obs))
        q = net(th.as_tensor(obs), th.as_tensor(actions))
    th.testing.assert_close(q, q_all[th.arange(6), th.as_tensor(actions)])
    # The features generalise across actions: one Lambda, shared by all actions.
    assert bonus.cov_inv is not None and bonus.cov_inv.shape == (8, 8)


def test_within_an_iteration_features_and_lambda_stay_frozen(logged_problem):
    problem, envs = logged_problem()
    session = LearnerSession(problem, 0, spawn_seeds(2, 2)[0])
    config = PaperDQNConfig(hidden_dim=16, batch_size=8, logdet_threshold=1e9)
    exploration = PaperDQNExplorer(config, device="cpu").explore(session, 6)
    assert exploration.info["num_rebuilds"] == 0
    # No rebuild: every reward is ||phi_0(s, a)||_{(1.5 I)^-1}, phi_0 the critic
    # as initialised from the explorer's seed, although the critic trained.
    with th.random.fork_rng(devices=[]):
        th.manual_seed(session.explorer_seed)
        net = ConcatActionQNetwork((3, 3, 2), 9, hidden_dim=16)
    moves = [b for b in envs[-1].boards if b[0] == session.explorer_agent]
    obs = np.stack([b[2] for b in moves]).astype(np.float32)
    actions = np.array([b[1] for b in moves])
    phi = ConcatActionFeatures(net)(obs, actions)
    np.testing.assert_allclose(
        exploration.info["bonuses"], np.linalg.norm(phi, axis=1) / math.sqrt(1.5)
    )


def test_rebuild_exactly_when_log_det_has_grown_by_log_2():
    session = chain_session(seed=1)
    exploration = PaperDQNExplorer(SMALL, device="cpu").explore(session, 40)
    info = exploration.info
    logdets, starts = np.array(info["logdets"]), np.array(info["start_logdets"])
    assert starts[0] == pytest.approx(16 * math.log(1.5))
    due = logdets - starts > math.log(2.0)
    rebuilt_rounds = [g - 1 for g in info["rebuild_games"]]  # one game per round
    assert rebuilt_rounds == np.flatnonzero(due).tolist()
    assert 0 < info["num_rebuilds"] < 40  # some rounds rebuild, some do not
    # The iteration's reference log det changes only after a rebuild.
    changed = np.flatnonzero(np.diff(starts) != 0)
    assert set(changed.tolist()) <= set(rebuilt_rounds)


def test_replay_buffer_keeps_the_last_transitions():
    buffer = ReplayBuffer(3, (1,))
    for k in range(5):
        buffer.add(
            np.full((1, 1), k),
            np.array([k]),
            np.zeros(1),
            np.zeros((1, 1)),
            np.zeros(1, bool),
        )
    assert len(buffer) == 3 and buffer.actions.tolist() == [2, 3, 4]
    assert buffer.observations[:, 0].tolist() == [2.0, 3.0, 4.0]
    _, actions, *_ = buffer.sample(np.random.default_rng(0), 3)
    assert sorted(actions.tolist()) == [2, 3, 4]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="hidden_dim"):
        PaperDQNConfig(hidden_dim=0)
    with pytest.raises(ValueError, match="ridge"):
        PaperDQNConfig(ridge=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        PaperDQNConfig(gamma=1.0)
    with pytest.raises(TypeError, match="PaperDQNConfig"):
        PaperDQNExploreBC(CHAIN, num_games=1, config={"ridge": 1.0})  # type: ignore[arg-type]


def test_runs_in_the_pipeline(tmp_path):
    result = Pipeline(
        game="chain",
        methods=["dqn-explore-paper"],
        budgets=[3],
        seeds=[0],
        game_options={"length": 3},
        method_options={"dqn-explore-paper": {"config": SMALL}},
        device="cpu",
        progress=False,
        bc=TINY_BC,
    ).run(tmp_path)
    (record,) = result.records
    assert record.method == "dqn-explore-paper" and record.budget == 3
    assert record.nash_conv is not None and record.nash_conv >= 0
    assert (tmp_path / "records" / "dqn-explore-paper_b3_s0.json").is_file()
