"""Tests of the explorers of a learner session (agents/deep/explorers.py)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.common import spawn_seeds
from agents.deep.critic_bonus import BonusConfig
from agents.deep.explorers import (
    DQNExplorer,
    PolicyExplorer,
    moves_per_game,
)
from agents.imitation import ImitationProblem, LearnerSession
from mail_envs.chain import chain_layout, make_chain_game
from mail_envs.chain import env as chain_env
from mail_envs.solvers import solve_zero_sum
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_wrappers.frozen_opponent import uniform_policy
from mail_wrappers.table_policy import TablePolicy

EXPERT = TicTacToeMinimaxExpert(policy="uniform")
SMALL_DQN = {"learning_starts": 20, "policy_kwargs": {"net_arch": [32, 32]}}


def logged_session(logged_problem, player: int, seed: int = 0):
    problem, envs = logged_problem()
    session = LearnerSession(problem, player, spawn_seeds(seed, 2)[player])
    return session, envs[-1]


@pytest.mark.parametrize("player", [0, 1])
def test_dqn_explorer_plays_exactly_the_budget_with_one_bonus_per_move(
    player, logged_problem
):
    session, env = logged_session(logged_problem, player)
    exploration = DQNExplorer(
        BonusConfig(rebuild_every=50), SMALL_DQN, device="cpu"
    ).explore(session, 30)
    bonuses = exploration.info["bonuses"]
    # The run stops with the 30th game (SB3's auto-reset may open game 31,
    # whose moves are not the budget's).
    assert session.games == 30 and env.game in (29, 30)
    explorer_moves = [
        m for m in env.moves if m[0] == session.explorer_agent and m[3] < 30
    ]
    assert exploration.steps == len(bonuses) == len(explorer_moves)
    assert np.all(bonuses > 0)
    assert exploration.info["num_rebuilds"] == exploration.steps // 50
    assert exploration.info["rebuild_steps"] == [
        50 * (k + 1) for k in range(exploration.steps // 50)
    ]
    # The labels are exactly the learner's decisions in the budget's games.
    data = session.dataset(30)
    decisions = [
        (move, game)
        for agent, move, legal, game in env.moves
        if agent == session.agent and legal > 1 and game < 30
    ]
    labels = list(
        zip(data.expert_actions.tolist(), data.episodes.tolist(), strict=True)
    )
    assert decisions == labels
    np.testing.assert_array_equal(np.unique(data.episodes), np.arange(30))
    # ... labelled by the expert: its distribution, an action drawn from it.
    assert np.all(data.action_masks.sum(axis=1) >= 2)
    np.testing.assert_array_equal(
        data.expert_probs, EXPERT(data.observations, data.action_masks)
    )
    assert np.all(data.expert_probs[np.arange(len(data)), data.expert_actions] > 0)


def test_dqn_explorer_is_seeded(logged_problem):
    def run(seed):
        session, _ = logged_session(logged_problem, 1, seed=seed)
        exploration = DQNExplorer(
            BonusConfig(rebuild_every=20), SMALL_DQN, device="cpu"
        ).explore(session, 12)
        return session.dataset(), exploration.info["bonuses"]

    (a, bonus_a), (b, bonus_b), (c, _) = run(4), run(4), run(5)
    np.testing.assert_array_equal(a.observations, b.observations)
    np.testing.assert_array_equal(a.expert_actions, b.expert_actions)
    np.testing.assert_array_equal(bonus_a, bonus_b)
    assert len(a) != len(c) or not np.array_equal(a.observations, c.observations)


def test_dqn_explorer_rejects_a_bad_budget(logged_problem):
    session, _ = logged_session(logged_problem, 0)
    with pytest.raises(ValueError, match=r"num_games.*0"):
        DQNExplorer(device="cpu").explore(session, 0)


@pytest.mark.parametrize("player", [0, 1])
def test_policy_explorer_plays_every_explorer_move_from_its_policy(
    player, logged_problem
):
    session, env = logged_session(logged_problem, player, seed=2)
    exploration = PolicyExplorer(EXPERT).explore(session, 10)
    explorer_moves = [m for m in env.moves if m[0] == session.explorer_agent]
    assert exploration.steps == len(explorer_moves) and exploration.info == {}
    # Expert against expert: every game is a draw of 9 moves.
    assert len(env.moves) == 9 * 10
    assert exploration.steps == (4 if player == 0 else 5) * 10


def test_uniform_exploration_labels_the_chain_guard_only_at_the_gate():
    game, layout = make_chain_game(), chain_layout()
    experts = tuple(
        TablePolicy(game, i, p) for i, p in enumerate(solve_zero_sum(game).policies)
    )
    problem = ImitationProblem("mail/chain-v0", chain_env, experts, model=game)
    session = LearnerSession(problem, 0, spawn_seeds(1, 2)[0])  # the guard learns
    PolicyExplorer(uniform_policy).explore(session, 30)
    guard = session.dataset()
    # A uniform walker reaches the gate with probability 2^-8 per try: measured
    # 4 times in these 30 games (of 50 steps each) with seed 1.
    assert guard.num_queries > 0
    assert np.all(guard.observations.argmax(axis=1) == layout.length)  # the gate
    # The expert guard's label there is its equilibrium action.
    assert np.all(guard.expert_actions == layout.guard_action)


def test_moves_per_game_bounds_one_seats_moves(logged_problem):
    session, _ = logged_session(logged_problem, 0)
    assert moves_per_game(session.env) == 9  # 9 actions; X moves at most 5 times
    game = make_chain_game()
    experts = tuple(
        TablePolicy(game, i, p) for i, p in enumerate(solve_zero_sum(game).policies)
    )
    problem = ImitationProblem("mail/chain-v0", chain_env, experts, model=game)
    chain = LearnerSession(problem, 0, spawn_seeds(0, 2)[0])
    assert moves_per_game(chain.env) == 50  # max_cycles of the discounted chain
