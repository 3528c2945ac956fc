"""Tests of behaviour cloning of a whole profile (agents/bc/profile.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.bc.augment import dihedral_augment
from agents.bc.profile import BCConfig, default_head, fit_bc_profile
from agents.common import spawn_seeds
from agents.deep.explorers import PolicyExplorer
from agents.imitation import ImitationProblem, LearnerSession
from agents.policies import MLPPolicy, SmallCNNPolicy
from mail_envs.chain import chain_layout, exploit_gain, make_chain_game
from mail_envs.chain import env as chain_env
from mail_envs.solvers import nash_gap, solve_zero_sum
from mail_envs.tictactoe import env as tictactoe_env
from mail_envs.tictactoe import make_tictactoe_game
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_wrappers.frozen_opponent import uniform_policy
from mail_wrappers.recorder import ExpertLabelDataset, ExpertLabelRecorder
from mail_wrappers.table_policy import TablePolicy

EXPERT = TicTacToeMinimaxExpert(policy="uniform")
TICTACTOE = ImitationProblem("mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT))


def self_play(problem: ImitationProblem, num_games: int, seed: int):
    """Each player's labels from expert self-play (the offline BC data)."""
    seeds = spawn_seeds(seed, problem.num_players)
    datasets = []
    for player in range(problem.num_players):
        session = LearnerSession(problem, player, seeds[player])
        explorer = problem.experts[problem.agents.index(session.explorer_agent)]
        PolicyExplorer(explorer).explore(session, num_games)
        datasets.append(session.dataset())
    return datasets


def toy_dataset(num_rows: int, seed: int = 0) -> ExpertLabelDataset:
    """``num_rows`` labels of a 3-action game on 4-dim observations."""
    rng = np.random.default_rng(seed)
    rec = ExpertLabelRecorder(game_id="demo", expert="demo")
    for k in range(num_rows):
        action = int(rng.integers(3))
        rec.add(
            observation=rng.normal(size=4).astype(np.float32),
            action_mask=np.ones(3, bool),
            expert_action=action,
            expert_probs=np.eye(3)[action],
            agent="a",
            episode=k,
            step=0,
        )
    return rec.dataset()


def empty_dataset() -> ExpertLabelDataset:
    return ExpertLabelRecorder(game_id="demo", expert="demo").dataset()


def test_a_player_without_labels_gets_the_uniform_policy():
    (empty, labelled), metrics = fit_bc_profile(
        [empty_dataset(), toy_dataset(20)],
        BCConfig(min_epochs=1, min_steps=1),
        seeds=[0, 1],
        device="cpu",
    )
    assert empty is uniform_policy and metrics[0] is None
    assert metrics[1] is not None and metrics[1].num_train == 20
    masks = np.array([[True, False, True], [False, True, False]])
    np.testing.assert_array_equal(
        empty(np.zeros((2, 4)), masks), [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]]
    )
    probs = labelled(np.zeros((2, 4), np.float32), masks)
    assert np.all(probs[~masks] == 0) and set(np.unique(probs)) <= {0.0, 1.0}


def test_self_play_never_shows_the_gate_so_the_uniform_guard_stays_exploitable():
    # The chain game (mail_envs.chain): the expert walker never advances, so in
    # self-play the guard has no decision to label and gets the uniform policy,
    # which errs at the gate with probability 1/2 -- exploit_gain's closed form.
    game, layout = make_chain_game(), chain_layout()
    experts = tuple(
        TablePolicy(game, i, p) for i, p in enumerate(solve_zero_sum(game).policies)
    )
    problem = ImitationProblem("mail/chain-v0", chain_env, experts, model=game)
    guard, walker = self_play(problem, num_games=10, seed=0)
    assert guard.num_queries == 0
    assert walker.num_queries > 0
    assert np.all(walker.observations.argmax(axis=1) == 0)  # the chain's start
    policies, metrics = fit_bc_profile(
        [guard, walker], BCConfig(min_steps=100), seeds=[0, 1], device="cpu"
    )
    assert policies[0] is uniform_policy and metrics[0] is None
    gap = nash_gap(game, policies)
    expected = exploit_gain(layout, 0.5, gamma=game.gamma)
    assert expected > 0.1
    assert gap.gains[1] == pytest.approx(expected, abs=1e-9)
    assert gap.gains[0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("num_rows", "batch_size", "min_epochs", "min_steps"),
    [
        (300, 128, 2, 10),  # 3 batches: ceil(10 / 3) = 4 epochs
        (300, 128, 5, 10),  # min_epochs wins
        (300, 128, 1, 0),  # no step floor
        (32, 128, 3, 20),  # one batch an epoch: 20 epochs
        (250, 128, 6, 120),  # 60 epochs of 250 labels are 120 steps (docstring)
    ],
)
def test_min_steps_rule_sets_the_number_of_epochs(
    num_rows, batch_size, min_epochs, min_steps
):
    config = BCConfig(batch_size=batch_size, min_epochs=min_epochs, min_steps=min_steps)
    _, (metrics,) = fit_bc_profile(
        [toy_dataset(num_rows)], config, seeds=[0], device="cpu"
    )
    batches = math.ceil(num_rows / batch_size)
    expected = max(min_epochs, math.ceil(min_steps / batches))
    assert metrics.epochs_run == expected
    assert metrics.epochs_run * batches >= min_steps
    assert metrics.num_train == num_rows and metrics.num_val == 0


def test_dedupe_clones_on_distinct_rows_and_augment_on_the_images():
    labels = self_play(TICTACTOE, num_games=30, seed=0)
    config = BCConfig(min_epochs=2, min_steps=0)
    _, plain = fit_bc_profile(labels, config, seeds=[0, 1], device="cpu")
    dedupe = BCConfig(min_epochs=2, min_steps=0, dedupe=True)
    policies, deduped = fit_bc_profile(labels, dedupe, seeds=[0, 1], device="cpu")
    for lab, m_plain, m_dedup in zip(labels, plain, deduped, strict=True):
        boards = lab.observations.reshape(len(lab), -1)
        assert m_plain.num_train == len(lab) == 4 * 30  # both seats decide 4 times
        # Self-play repeats the same openings: far fewer distinct boards (the
        # mask is a function of the board), each once with its labels' mix.
        assert m_dedup.num_train == len(np.unique(boards, axis=0)) < len(lab)
        # The same loss as on every row: the weighted mean of the merged rows.
        assert m_dedup.train_loss > 0
    assert nash_gap(make_tictactoe_game(), policies).nash_conv >= 0
    augmented = BCConfig(min_epochs=1, min_steps=0, augment=dihedral_augment)
    _, metrics = fit_bc_profile(labels[:1], augmented, seeds=[0], device="cpu")
    assert metrics[0].num_train == 8 * len(labels[0])


def test_soft_targets_and_the_seed_are_used():
    data = toy_dataset(40)
    config = BCConfig(min_epochs=1, min_steps=5, targets="probs")
    runs = [
        fit_bc_profile([data], config, seeds=[s], device="cpu")[0][0] for s in (3, 3, 4)
    ]
    obs = np.random.default_rng(1).normal(size=(200, 4)).astype(np.float32)
    masks = np.ones((200, 3), bool)
    out = [policy(obs, masks) for policy in runs]
    np.testing.assert_array_equal(out[0], out[1])
    assert not np.array_equal(out[0], out[2])


def test_head_fn_gets_the_shapes_and_the_players_seed():
    calls = []

    def head_fn(obs_shape, num_actions, seed):
        calls.append((obs_shape, num_actions, seed))
        return default_head(obs_shape, num_actions, seed)

    fit_bc_profile(
        [toy_dataset(10), toy_dataset(10, seed=1)],
        BCConfig(min_epochs=1, min_steps=1, head_fn=head_fn),
        seeds=[11, 12],
        device="cpu",
    )
    assert calls == [((4,), 3, 11), ((4,), 3, 12)]
    assert isinstance(default_head((3, 3, 2), 9, 0), SmallCNNPolicy)
    assert isinstance(default_head((4,), 3, 0), MLPPolicy)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"targets": "logits"}, "targets.*'logits'"),
        ({"batch_size": 0}, "batch_size.*0"),
        ({"min_epochs": True}, "min_epochs.*True"),
        ({"min_epochs": 2.5}, "min_epochs.*2.5"),
        ({"min_steps": -1}, "min_steps.*-1"),
    ],
)
def test_config_validation_names_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BCConfig(**kwargs)


def test_one_seed_per_dataset():
    with pytest.raises(ValueError, match="one seed per dataset"):
        fit_bc_profile([toy_dataset(4)], seeds=[0, 1], device="cpu")


def test_state_weighting_clones_each_board_once_until_every_board_is_fit():
    labels = self_play(TICTACTOE, num_games=40, seed=1)
    config = BCConfig(
        dedupe=True,
        weighting="states",
        stop_when_fit=True,
        min_epochs=5,
        min_steps=0,
        max_steps=4000,
        trainer_kwargs={"optimizer_kwargs": {"lr": 3e-3}},
    )
    policies, metrics = fit_bc_profile(labels, config, seeds=[0, 1], device="cpu")
    for lab, policy, m in zip(labels, policies, metrics, strict=True):
        assert m is not None and m.stopped_early and m.epochs_run >= 5
        boards, first = np.unique(
            lab.observations.reshape(len(lab), -1), axis=0, return_index=True
        )
        assert m.num_train == len(boards)
        # Every labelled board's greedy move is one the expert chose there.
        obs, masks = lab.observations[first], lab.action_masks[first]
        greedy = policy(obs, masks).argmax(axis=1)
        for o, g in zip(obs, greedy, strict=True):
            same = (lab.observations == o).all(axis=(1, 2, 3))
            assert g in set(lab.expert_actions[same].tolist())
    # Deterministic for a seed.
    again, _ = fit_bc_profile(labels, config, seeds=[0, 1], device="cpu")
    obs = labels[0].observations
    np.testing.assert_array_equal(
        policies[0](obs, labels[0].action_masks), again[0](obs, labels[0].action_masks)
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"weighting": "rows"},
            ValueError,
            "weighting must be 'counts' or 'states', got 'rows'",
        ),
        ({"stop_when_fit": 1}, TypeError, "stop_when_fit must be a bool, got 1"),
        ({"dedupe": "yes"}, TypeError, "dedupe must be a bool, got 'yes'"),
        (
            {"max_steps": -1},
            ValueError,
            "max_steps must be a non-negative integer, got -1",
        ),
    ],
)
def test_bad_bc_config_is_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        BCConfig(**kwargs)
