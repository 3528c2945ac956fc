"""Exploration on several env stacks at once: exact games and queries per game.

The explorers of ``agents/deep/explorers.py`` with ``num_envs`` stacks of a
:class:`~agents.imitation.LearnerSession` (``GameSlot``, ``open_budget``).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from agents.common import spawn_seeds
from agents.deep.critic_bonus import BonusConfig
from agents.deep.explorers import DQNExplorer, PolicyExplorer, play_batched
from agents.imitation import ImitationProblem, LearnerSession
from agents.methods import make_algorithm
from mail_envs.tictactoe import env as tictactoe_env
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_wrappers.frozen_opponent import uniform_policy

EXPERT = TicTacToeMinimaxExpert(policy="uniform")
SMALL_DQN = {"learning_starts": 20, "policy_kwargs": {"net_arch": [32, 32]}}
BUDGET = 13  # divisible by none of 3 and 8


def session_of(logged_problem, player: int, seed: int = 0):
    problem, _ = logged_problem()
    return LearnerSession(problem, player, spawn_seeds(seed, 2)[player])


def explorer_of(kind: str, num_envs: int):
    if kind == "uniform":
        return PolicyExplorer(uniform_policy, num_envs=num_envs)
    return DQNExplorer(
        BonusConfig(rebuild_every=20), SMALL_DQN, device="cpu", num_envs=num_envs
    )


def labelled_games(session: LearnerSession, num_envs: int) -> list[tuple[int, ...]]:
    """The learner's decisions (moves with a choice) of every labelled stack's games."""
    games = []
    for slot in session.slots(num_envs):
        logged = slot.stack.env.env  # frozen opponents <- query wrapper <- logged
        moves: dict[int, list[int]] = {}
        for agent, move, legal, game in logged.moves:
            moves.setdefault(game, [])
            if agent == session.agent and legal > 1:
                moves[game].append(move)
        if moves:  # the stack's last game is over: every game it played is
            assert all(logged.terminations.values()) or not logged.agents
        games.extend(tuple(m) for m in moves.values())
    return games


@pytest.mark.parametrize("kind", ["uniform", "dqn"])
@pytest.mark.parametrize("num_envs", [1, 3, 8])
def test_exactly_the_budget_is_labelled_one_query_per_decision(
    kind, num_envs, logged_problem
):
    session = session_of(logged_problem, player=num_envs % 2)
    exploration = explorer_of(kind, num_envs).explore(session, BUDGET)
    data = session.dataset()
    # Games 0..n-1, no gaps, none past the budget; rows in game order.
    np.testing.assert_array_equal(np.unique(data.episodes), np.arange(BUDGET))
    assert np.all(np.diff(data.episodes) >= 0)
    assert session.games == session.budget_finished == BUDGET
    # Expert queries = labelled rows = the learner's decisions, game by game:
    # each labelled game, played to its end in one stack, is one dataset game.
    queries = sum(slot.stack.env.total_queries for slot in session.slots(num_envs))
    assert queries == len(data) == len(session.recorder)
    played = labelled_games(session, num_envs)
    assert len(played) == BUDGET
    recorded = [
        tuple(data.expert_actions[data.episodes == g].tolist()) for g in range(BUDGET)
    ]
    assert Counter(played) == Counter(recorded)
    # Steps within a game are the env's: the learner's turns, in order.
    for g in range(BUDGET):
        steps = data.steps[data.episodes == g]
        assert np.all(np.diff(steps) > 0)
    if kind == "dqn":
        assert exploration.steps == len(exploration.info["bonuses"])
        assert exploration.info["num_envs"] == num_envs


@pytest.mark.parametrize("player", [0, 1])
def test_one_stack_reproduces_the_one_game_at_a_time_path(player):
    # Reference: the labels of PolicyExplorer(uniform_policy) before the stacks
    # existed (git 72e92d8; seed 3, 4 games).
    reference = {
        0: (
            [6, 7, 4, 1, 0, 6, 4, 5, 6, 0, 3, 8, 2, 5],
            [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3],
            [0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 0, 2, 4],
            11,
        ),
        1: (
            [3, 8, 6, 0, 4, 8, 0, 1, 8, 0, 4, 0, 4, 8],
            [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3],
            [1, 3, 5, 7, 1, 3, 5, 1, 3, 5, 7, 1, 3, 5],
            14,
        ),
    }
    problem = ImitationProblem("mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT))
    session = LearnerSession(problem, player, spawn_seeds(3, 2)[player])
    steps = PolicyExplorer(uniform_policy).explore(session, 4).steps
    data = session.dataset()
    actions, episodes, turns, moves = reference[player]
    assert data.expert_actions.tolist() == actions
    assert data.episodes.tolist() == episodes
    assert data.steps.tolist() == turns
    assert steps == moves


def test_the_batched_loop_on_one_stack_is_the_sessions_play():
    problem = ImitationProblem("mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT))
    a = LearnerSession(problem, 1, spawn_seeds(5, 2)[1])
    b = LearnerSession(problem, 1, spawn_seeds(5, 2)[1])
    rng = a.explorer_rng

    def choose(obs):
        mask = obs["action_mask"].astype(bool)
        cdf = np.cumsum(uniform_policy(obs["observation"][None], mask[None])[0])
        # the draw of sample_actions on one row: inverse CDF of one uniform
        return int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))

    steps_a = a.play(choose, 9)
    steps_b = play_batched(b, uniform_policy, 9, 1)
    assert steps_a == steps_b
    for key in ("observations", "expert_actions", "episodes", "steps"):
        np.testing.assert_array_equal(
            getattr(a.dataset(), key), getattr(b.dataset(), key)
        )


@pytest.mark.parametrize("kind", ["uniform", "dqn"])
def test_stacks_are_seeded(kind):
    problem = ImitationProblem("mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT))

    def run(seed):
        session = LearnerSession(problem, 0, spawn_seeds(seed, 2)[0])
        explorer_of(kind, 4).explore(session, 10)
        return session.dataset()

    a, b, c = run(7), run(7), run(8)
    for key in ("observations", "expert_actions", "expert_probs", "episodes"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert len(a) != len(c) or not np.array_equal(a.observations, c.observations)


def test_stacks_have_their_own_seeds():
    problem = ImitationProblem("mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT))
    session = LearnerSession(problem, 0, spawn_seeds(0, 2)[0])
    seeds = [session.stack_seed(k) for k in range(4)]
    seeds += [session.stack_seed(k, padding=True) for k in range(4)]
    assert seeds[0] == session.env_seed and len(set(seeds)) == 8
    assert session.slots(3)[0].stack is session.env
    assert len({id(s.stack) for s in session.slots(3)}) == 3


def test_more_stacks_than_games_start_only_the_budget(logged_problem):
    session = session_of(logged_problem, 0)
    PolicyExplorer(uniform_policy, num_envs=8).explore(session, 3)
    assert session.games == 3
    np.testing.assert_array_equal(np.unique(session.dataset().episodes), [0, 1, 2])
    assert sum(slot.stack.env.total_queries for slot in session.slots(8)) == len(
        session.dataset()
    )
    assert [len(slot.stack.env.env.moves) > 0 for slot in session.slots(8)] == [
        True
    ] * 3 + [False] * 5


def test_budgets_number_on_across_calls(logged_problem):
    session = session_of(logged_problem, 1)
    explorer = PolicyExplorer(uniform_policy, num_envs=3)
    explorer.explore(session, 4)
    explorer.explore(session, 5)
    np.testing.assert_array_equal(np.unique(session.dataset().episodes), np.arange(9))
    np.testing.assert_array_equal(np.unique(session.dataset(4).episodes), np.arange(4))
    with pytest.raises(RuntimeError, match="slots"):
        session.reset()


def test_padding_games_make_no_query(logged_problem):
    session = session_of(logged_problem, 0)
    exploration = explorer_of("dqn", 8).explore(session, 5)
    padding = [slot for slot in session.slots(8) if slot.padding_games]
    assert padding and exploration.info["padding_steps"] >= 0
    for slot in padding:  # frozen opponents directly on the env: no query wrapper
        assert not hasattr(slot._padding_stack.env, "total_queries")
    assert len(session.dataset()) == sum(
        slot.stack.env.total_queries for slot in session.slots(8)
    )


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "4"])
def test_a_bad_num_envs_is_refused_by_name(bad):
    with pytest.raises(ValueError, match=rf"num_envs.*{bad!r}"):
        PolicyExplorer(uniform_policy, num_envs=bad)
    with pytest.raises(ValueError, match=rf"num_envs.*{bad!r}"):
        DQNExplorer(num_envs=bad)
    problem = ImitationProblem("mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT))
    with pytest.raises(ValueError, match=rf"num_envs.*{bad!r}"):
        LearnerSession(problem, 0, spawn_seeds(0, 2)[0]).slots(bad)
    for method in ("uniform", "dqn-explore"):
        with pytest.raises(ValueError, match=rf"num_envs.*{bad!r}"):
            make_algorithm(method, problem, budget=2, seed=0, options={"num_envs": bad})


@pytest.mark.parametrize("method", ["uniform", "bc", "dqn-explore"])
def test_num_envs_is_a_method_option(method):
    problem = ImitationProblem("mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT))
    options: dict = {"num_envs": 4}
    if method == "dqn-explore":
        options["dqn_kwargs"] = SMALL_DQN
    algo = make_algorithm(
        method, problem, budget=3, seed=0, device="cpu", options=options
    )
    session = algo.session(0)
    explorer = algo.explorer(session)
    assert explorer.num_envs == 4
    explorer.explore(session, 3)
    np.testing.assert_array_equal(np.unique(session.dataset().episodes), [0, 1, 2])
    default = make_algorithm(method, problem, budget=3, seed=0, device="cpu")
    assert default.explorer(default.session(0)).num_envs == 1
