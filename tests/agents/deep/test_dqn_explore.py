"""Tests of DQN-Explore-BC (agents/deep/dqn_explore.py) on Tic-Tac-Toe."""

from __future__ import annotations

import time

import numpy as np
import pytest

from agents.bc.augment import dihedral_augment
from agents.bc.profile import BCConfig
from agents.common import spawn_seeds
from agents.deep.critic_bonus import BonusConfig
from agents.deep.dqn_explore import DQNExploreBC
from agents.deep.explorers import DQNExplorer
from agents.imitation import ImitationProblem, LearnerSession
from mail_envs.solvers import nash_gap
from mail_envs.tictactoe import env as tictactoe_env
from mail_envs.tictactoe import make_tictactoe_game
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

EXPERT = TicTacToeMinimaxExpert(policy="uniform")
GAME = make_tictactoe_game()
PROBLEM = ImitationProblem(
    "mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT), model=GAME
)
SMALL_DQN = {"learning_starts": 20, "policy_kwargs": {"net_arch": [32, 32]}}
TINY_BC = BCConfig(min_epochs=3, min_steps=20)


def tiny_run(seed: int):
    return DQNExploreBC(
        PROBLEM,
        num_games=8,
        seed=seed,
        bonus=BonusConfig(rebuild_every=20),
        dqn_kwargs=SMALL_DQN,
        bc=TINY_BC,
        device="cpu",
    ).run()


def test_dqn_explore_bc_end_to_end_tiny():
    result = tiny_run(0)
    assert result.method == "dqn-explore"
    assert result.agents == ("player_1", "player_2")
    # At most 4 decisions of each player a game (X's fifth move is forced).
    assert all(0 < q <= 8 * 4 for q in result.num_queries)
    for k, data in enumerate(result.datasets):
        assert data.agent_names == (result.agents[k],)
        np.testing.assert_array_equal(np.unique(data.episodes), np.arange(8))
    explorations = result.info["explorations"]
    for steps, info in zip(result.explorer_steps, explorations, strict=True):
        assert len(info["bonuses"]) == steps > 0
        assert info["num_rebuilds"] == steps // 20
    # The learner is cloned on exactly its labels.
    for data, metrics in zip(result.datasets, result.info["bc_metrics"], strict=True):
        assert metrics.num_train == len(data)
    for player, policy in enumerate(result.policies):
        table = GAME.policy_table(player, policy)  # validates legality and sums
        assert set(np.unique(table)) <= {0.0, 1.0}  # greedy
    gap = nash_gap(GAME, result.policies)
    assert np.isfinite(gap.nash_conv) and 0.0 <= gap.nash_conv <= 2.0 + 1e-12


def test_same_seed_same_data_and_policy_other_seed_other_data():
    a, b, c = tiny_run(3), tiny_run(3), tiny_run(4)
    for x, y in zip(a.datasets, b.datasets, strict=True):
        for key in ("observations", "action_masks", "expert_actions", "episodes"):
            np.testing.assert_array_equal(getattr(x, key), getattr(y, key))
    assert a.explorer_steps == b.explorer_steps
    for player in range(2):
        np.testing.assert_array_equal(
            GAME.policy_table(player, a.policies[player]),
            GAME.policy_table(player, b.policies[player]),
        )
    assert nash_gap(GAME, a.policies).nash_conv == nash_gap(GAME, b.policies).nash_conv
    assert any(
        len(x) != len(z) or not np.array_equal(x.observations, z.observations)
        for x, z in zip(a.datasets, c.datasets, strict=True)
    )


def test_the_explorer_carries_the_settings():
    bonus = BonusConfig(beta=1.5, rebuild_every=7)
    algo = DQNExploreBC(
        PROBLEM, num_games=2, bonus=bonus, dqn_kwargs=SMALL_DQN, device="cpu"
    )
    session = LearnerSession(PROBLEM, 0, spawn_seeds(0, 2)[0])
    assert algo.explorer(session) == DQNExplorer(bonus, SMALL_DQN, "cpu")
    assert DQNExploreBC(PROBLEM, num_games=2, device="cpu").bonus == BonusConfig()


@pytest.mark.parametrize("num_games", [0, -1, 2.9, True])
def test_bad_budget_is_named(num_games):
    with pytest.raises(ValueError, match="num_games"):
        DQNExploreBC(PROBLEM, num_games=num_games, device="cpu")


@pytest.mark.slow
def test_dqn_explore_bc_reaches_low_nash_gap_on_tictactoe():
    # The acceptance run: 1,000 expert-labelled games per player, seed 0, BC
    # on the 8 board symmetries of the labels. Measured on 2 shared CPU cores:
    # NashConv 0.0 with 3,785 / 3,791 labels (1,025 / 810 distinct boards) in
    # ~610 s (265 s exploring, 343 s cloning). With count-weighted distinct
    # rows drawn uniformly (the first dedupe) cloning took 9 s but left rare
    # boards unfit: NashConv 1.0. The main job's BC now weighs every board
    # once and trains until each is fit (agents.pipeline.games._board_bc).
    start = time.perf_counter()
    result = DQNExploreBC(
        PROBLEM,
        num_games=1000,
        seed=0,
        bc=BCConfig(augment=dihedral_augment),
    ).run()
    assert nash_gap(GAME, result.policies).nash_conv <= 0.05
    assert max(result.num_queries) <= 1000 * 4  # at most 4 decisions per game
    assert time.perf_counter() - start < 15 * 60
