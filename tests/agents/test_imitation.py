"""Tests of the interactive-imitation loop (agents/imitation.py).

The env stack of a :class:`LearnerSession` is checked against a Tic-Tac-Toe
env that logs every move it is given (and raises on an illegal one): the
labels must be exactly the learning player's real decisions, in order, and
the moves it plays must be the labelled expert moves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agents.bc.profile import BCConfig
from agents.common import spawn_seeds
from agents.deep.explorers import PolicyExplorer
from agents.imitation import (
    Explorer,
    ImitationProblem,
    ImitationResult,
    InteractiveBC,
    LearnerSession,
    LinearSetup,
)
from mail_envs.tictactoe import env as tictactoe_env
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_wrappers.frozen_opponent import uniform_policy
from mail_wrappers.recorder import ExpertLabelDataset

EXPERT = TicTacToeMinimaxExpert(policy="uniform")


PROBLEM = ImitationProblem("mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT))


def first_legal(observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
    """A deterministic non-expert policy: the lowest legal cell."""
    masks = np.asarray(action_masks, dtype=bool)
    return np.eye(masks.shape[1])[masks.argmax(axis=1)]


def _check_expert_labels(data: ExpertLabelDataset) -> None:
    """Rows are the expert's answers on real decisions of Tic-Tac-Toe boards."""
    assert len(data) > 0 and data.observations.shape[1:] == (3, 3, 2)
    # Decisions only: at least two legal moves; the mask is the empty cells.
    assert np.all(data.action_masks.sum(axis=1) >= 2)
    empty = data.observations.sum(axis=3).reshape(-1, 9) == 0
    np.testing.assert_array_equal(data.action_masks, empty)
    # The recorded distribution is the expert's, and the action was drawn from it.
    np.testing.assert_array_equal(
        data.expert_probs, EXPERT(data.observations, data.action_masks)
    )
    assert np.all(data.expert_probs[np.arange(len(data)), data.expert_actions] > 0)


@pytest.mark.parametrize("explorer_policy", ["uniform", "expert"])
@pytest.mark.parametrize("player", [0, 1])
def test_session_labels_exactly_the_learners_decisions_and_plays_them(
    player, explorer_policy, logged_problem
):
    problem, envs = logged_problem()
    session = LearnerSession(problem, player, spawn_seeds(0, 2)[player])
    learner, explorer = problem.agents[player], problem.agents[1 - player]
    assert (session.agent, session.explorer_agent) == (learner, explorer)
    policy = uniform_policy if explorer_policy == "uniform" else EXPERT
    steps = PolicyExplorer(policy).explore(session, 20)
    log = envs[-1].moves
    data = session.dataset()
    _check_expert_labels(data)
    assert data.agent_names == (learner,) and np.all(data.agents == 0)
    assert data.metadata["extra"] == {"learner": learner, "explorer": explorer}
    # Episodes are numbered 0..n-1, every game gave labels, the session counted them.
    np.testing.assert_array_equal(np.unique(data.episodes), np.arange(20))
    assert session.games == 20 and envs[-1].game == 19
    # The labels are the learner's decisions in the env, in order: so the move
    # it played is the labelled expert move, ...
    decisions = [(m, g) for a, m, legal, g in log if a == learner and legal > 1]
    labels = list(
        zip(data.expert_actions.tolist(), data.episodes.tolist(), strict=True)
    )
    assert decisions == labels
    # ... and its forced moves were played but never queried.
    forced = [m for a, m, legal, _ in log if a == learner and legal == 1]
    assert len(data) + len(forced) == sum(a == learner for a, *_ in log)
    if explorer_policy == "expert":
        # Perfect play draws: X moves 5 times (the last into the one empty
        # cell: forced), O 4 times, so every game gives 4 decisions of each.
        assert len(data) == 4 * 20
        assert len(forced) == (20 if learner == "player_1" else 0)
        # Every game opens on the empty board: X meets at most 1 + 3 * 20
        # distinct boards in 20 games, fewer than its 80 labels.
        if learner == "player_1":
            assert data.num_distinct_states <= 1 + 3 * 20
    # The explorer made every other move, and its count is reported.
    assert steps.steps == sum(a == explorer for a, *_ in log)


def test_dataset_of_the_first_games_is_the_prefix_of_the_rows():
    session = LearnerSession(PROBLEM, 0, spawn_seeds(3, 2)[0])
    PolicyExplorer(uniform_policy).explore(session, 10)
    full, first = session.dataset(), session.dataset(4)
    keep = full.episodes < 4
    assert 0 < len(first) == keep.sum() < len(full)
    assert first.metadata["num_rows"] == len(first)
    np.testing.assert_array_equal(first.observations, full.observations[keep])
    np.testing.assert_array_equal(first.expert_actions, full.expert_actions[keep])
    # Games go on in the same session: the next ones are numbered 10, 11, ...
    PolicyExplorer(uniform_policy).explore(session, 2)
    np.testing.assert_array_equal(np.unique(session.dataset().episodes), np.arange(12))


def test_learner_policy_is_played_but_the_expert_still_labels(logged_problem):
    # DAgger's case: the learner plays its own (here: lowest legal cell) policy.
    problem, envs = logged_problem()
    session = LearnerSession(
        problem, 0, spawn_seeds(1, 2)[0], learner_policy=first_legal
    )
    PolicyExplorer(uniform_policy).explore(session, 15)
    data = session.dataset()
    _check_expert_labels(data)
    played = [m for a, m, legal, _ in envs[-1].moves if a == "player_1" and legal > 1]
    np.testing.assert_array_equal(played, data.action_masks.argmax(axis=1))
    # The expert does not always pick the lowest cell (on the empty board all
    # nine moves draw, and it samples among them): the labels are its own.
    assert np.any(data.expert_actions != np.asarray(played))


def _session_data(seed: int, player: int) -> ExpertLabelDataset:
    session = LearnerSession(PROBLEM, player, spawn_seeds(seed, 2)[player])
    PolicyExplorer(uniform_policy).explore(session, 15)
    return session.dataset()


@pytest.mark.parametrize("player", [0, 1])
def test_same_seed_same_dataset_other_seed_other_dataset(player):
    a, b, c = (_session_data(s, player) for s in (7, 7, 8))
    for key in ("observations", "action_masks", "expert_actions", "episodes", "steps"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert a.metadata == b.metadata
    assert len(a) != len(c) or not np.array_equal(a.observations, c.observations)


def test_sessions_of_the_two_players_draw_different_seeds():
    seeds = spawn_seeds(0, 2)
    first, second = (LearnerSession(PROBLEM, i, seeds[i]) for i in range(2))
    assert first.env_seed != second.env_seed
    assert first.explorer_seed != second.explorer_seed
    assert first.bc_seed != second.bc_seed
    assert len({first.env_seed, first.explorer_seed, first.bc_seed}) == 3


class UniformExploreBC(InteractiveBC):
    """The smallest InteractiveBC: a uniform explorer seat."""

    name = "test-uniform"

    def explorer(self, session: LearnerSession) -> Explorer:
        return PolicyExplorer(uniform_policy)


TINY_BC = BCConfig(min_epochs=1, min_steps=1)


def test_interactive_bc_runs_the_loop_for_every_player():
    result = UniformExploreBC(
        PROBLEM, num_games=6, seed=2, bc=TINY_BC, device="cpu"
    ).run()
    assert isinstance(result, ImitationResult)
    assert result.method == "test-uniform" and result.agents == PROBLEM.agents
    assert len(result.datasets) == len(result.policies) == 2
    for k, data in enumerate(result.datasets):
        assert data.agent_names == (PROBLEM.agents[k],)
        np.testing.assert_array_equal(np.unique(data.episodes), np.arange(6))
        _check_expert_labels(data)
    assert result.num_queries == tuple(len(d) for d in result.datasets)
    # At most 4 decisions per game and player; distinct boards at most queries.
    assert all(0 < q <= 4 * 6 for q in result.num_queries)
    assert all(
        0 < d <= q
        for d, q in zip(result.distinct_states, result.num_queries, strict=True)
    )
    assert all(s > 0 for s in result.explorer_steps)
    assert result.explore_seconds >= 0 and result.bc_seconds >= 0
    assert len(result.info["explorations"]) == len(result.info["bc_metrics"]) == 2
    masks = result.datasets[0].action_masks
    probs = result.policies[0](result.datasets[0].observations, masks)
    assert np.all(probs[~masks] == 0) and np.allclose(probs.sum(axis=1), 1)
    again = UniformExploreBC(
        PROBLEM, num_games=6, seed=2, bc=TINY_BC, device="cpu"
    ).run()
    for x, y in zip(result.datasets, again.datasets, strict=True):
        np.testing.assert_array_equal(x.observations, y.observations)
        np.testing.assert_array_equal(x.expert_actions, y.expert_actions)


@pytest.mark.parametrize("num_games", [0, -1, 2.9, True, "3"])
def test_interactive_bc_rejects_a_bad_budget(num_games: Any):
    with pytest.raises(ValueError, match=rf"num_games.*{num_games!r}"):
        UniformExploreBC(PROBLEM, num_games=num_games, device="cpu")


def test_interactive_bc_rejects_a_bad_seed_or_device():
    with pytest.raises(ValueError, match=r"seed.*-1"):
        UniformExploreBC(PROBLEM, num_games=1, seed=-1, device="cpu")
    with pytest.raises(ValueError, match=r"device.*'potato'"):
        UniformExploreBC(PROBLEM, num_games=1, device="potato")


def test_problem_needs_one_expert_per_seat():
    assert PROBLEM.agents == ("player_1", "player_2") and PROBLEM.num_players == 2
    for experts in [(EXPERT,), (EXPERT, EXPERT, EXPERT)]:
        with pytest.raises(ValueError, match=rf"experts.*got {len(experts)}"):
            ImitationProblem("mail/tictactoe-v0", tictactoe_env, experts)
    linear = LinearSetup(expert_tables=(), features=())
    with pytest.raises(ValueError, match="model"):
        ImitationProblem(
            "mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT), linear=linear
        )


def test_session_rejects_a_bad_game_count():
    session = LearnerSession(PROBLEM, 0, spawn_seeds(0, 2)[0])
    with pytest.raises(ValueError, match="num_games"):
        session.play(lambda obs: 0, 0)
    assert session.games == 0
