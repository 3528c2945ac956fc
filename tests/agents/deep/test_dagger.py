"""Tests of DAgger-style interactive BC (agents/deep/dagger.py).

On Tic-Tac-Toe the env logs every move with the mover's board, so each round's
play can be checked against the profile DAgger cloned before it; on the chain
game (mail_envs.chain) the exact NashConv has a closed form.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import agents.deep.dagger as dagger_module
from agents.bc.profile import BCConfig, fit_bc_profile
from agents.deep.dagger import DAggerBC, SwitchablePolicy
from agents.imitation import ImitationProblem
from mail_envs.chain import chain_layout, exploit_gain, make_chain_game
from mail_envs.chain import env as chain_env
from mail_envs.solvers import nash_gap, solve_zero_sum
from mail_envs.tictactoe import make_tictactoe_game
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_wrappers.table_policy import TablePolicy

EXPERT = TicTacToeMinimaxExpert(policy="uniform")
TICTACTOE = make_tictactoe_game()
TINY_BC = BCConfig(min_epochs=2, min_steps=10)


@pytest.fixture
def fits(monkeypatch):
    """The datasets and policies of DAgger's between-round clones, in order."""
    calls: list[tuple[list, tuple]] = []

    def spy(datasets, *args, **kwargs):
        policies, metrics = fit_bc_profile(datasets, *args, **kwargs)
        calls.append((list(datasets), policies))
        return policies, metrics

    monkeypatch.setattr(dagger_module, "fit_bc_profile", spy)
    return calls


def test_dagger_splits_games_over_rounds_and_aggregates_the_data(fits, logged_problem):
    problem, envs = logged_problem(TICTACTOE)
    result = DAggerBC(
        problem, num_games=7, rounds=3, seed=1, bc=TINY_BC, device="cpu"
    ).run()
    games = result.info["round_games"]
    assert games == [3, 2, 2]
    assert result.method == "dagger"
    ends = np.cumsum(games)
    # One clone between rounds; its data is every label so far (aggregation):
    # the dataset of round r+1 begins with the rows of round r.
    assert len(fits) == 2
    rounds = [datasets for datasets, _ in fits] + [list(result.datasets)]
    for player in range(2):
        for r, end in enumerate(ends):
            data = rounds[r][player]
            np.testing.assert_array_equal(np.unique(data.episodes), np.arange(end))
            if r:
                before = rounds[r - 1][player]
                assert len(data) > len(before)
                for key in ("observations", "expert_actions", "episodes"):
                    np.testing.assert_array_equal(
                        getattr(data, key)[: len(before)], getattr(before, key)
                    )
    assert all(metrics is not None for metrics in result.info["bc_metrics"])
    gap = nash_gap(TICTACTOE, result.policies)
    assert np.isfinite(gap.nash_conv) and gap.nash_conv >= 0.0
    # Round 0 is expert self-play: every game is a 9-move draw of optimal
    # moves. In the later rounds every seat of every session plays the profile
    # cloned before the round (greedy: its argmax), the learner included.
    for player, env in enumerate(envs[-2:]):
        assert [m[4] for m in env.boards].count(0) == 9
        for agent, move, obs, mask, game in env.boards:
            r = int(np.searchsorted(ends, game, side="right"))
            if mask.sum() == 1:
                continue
            if r == 0:
                assert EXPERT(obs[None], mask[None])[0, move] > 0
                continue
            policy = fits[r - 1][1][problem.agents.index(agent)]
            assert move == int(policy(obs[None], mask[None]).argmax()), (agent, game)
        # The learner's labels are the expert's, one per decision it met.
        learner, labels = problem.agents[player], result.datasets[player]
        decisions = [
            (game, obs)
            for agent, _, obs, mask, game in env.boards
            if agent == learner and mask.sum() > 1
        ]
        assert [g for g, _ in decisions] == labels.episodes.tolist()
        np.testing.assert_array_equal(
            np.stack([o for _, o in decisions]), labels.observations
        )
        np.testing.assert_array_equal(
            labels.expert_probs, EXPERT(labels.observations, labels.action_masks)
        )


def test_one_round_is_behaviour_cloning_on_expert_self_play(fits, logged_problem):
    problem, _ = logged_problem(TICTACTOE)
    result = DAggerBC(problem, num_games=5, rounds=1, bc=TINY_BC, device="cpu").run()
    assert result.info["round_games"] == [5] and fits == []
    # Expert self-play: 4 decisions of each seat a game (perfect play draws).
    assert result.num_queries == (20, 20)


def test_same_seed_same_result(logged_problem):
    problem, _ = logged_problem(TICTACTOE)
    a, b = (
        DAggerBC(problem, num_games=4, rounds=2, seed=3, bc=TINY_BC, device="cpu").run()
        for _ in range(2)
    )
    for x, y in zip(a.datasets, b.datasets, strict=True):
        np.testing.assert_array_equal(x.observations, y.observations)
        np.testing.assert_array_equal(x.expert_actions, y.expert_actions)
    for player in range(2):
        np.testing.assert_array_equal(
            TICTACTOE.policy_table(player, a.policies[player]),
            TICTACTOE.policy_table(player, b.policies[player]),
        )


def test_running_twice_gives_the_same_result(logged_problem):
    # run() is the one call that runs the method: a second call must again
    # start with expert self-play (round 0), not with the profile the first
    # call left in self.profile.
    problem, _ = logged_problem(TICTACTOE)
    algo = DAggerBC(problem, num_games=6, rounds=2, seed=0, bc=TINY_BC, device="cpu")
    first, second = algo.run(), algo.run()
    for x, y in zip(first.datasets, second.datasets, strict=True):
        np.testing.assert_array_equal(x.observations, y.observations)
        np.testing.assert_array_equal(x.expert_actions, y.expert_actions)


def test_default_rounds_are_four_or_one_per_game(logged_problem):
    problem, _ = logged_problem(TICTACTOE)
    assert DAggerBC(problem, num_games=10, device="cpu").rounds == 4
    assert DAggerBC(problem, num_games=3, device="cpu").rounds == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_games": 3, "rounds": 4}, r"rounds \(4\).*num_games \(3\)"),
        ({"num_games": 3, "rounds": 0}, "rounds.*0"),
        ({"num_games": 3, "rounds": True}, "rounds.*True"),
        ({"num_games": 3, "rounds": 1.5}, r"rounds.*1\.5"),
        ({"num_games": 0}, "num_games.*0"),
    ],
)
def test_bad_rounds_and_budget_are_named(kwargs, match, logged_problem):
    problem, _ = logged_problem(TICTACTOE)
    with pytest.raises(ValueError, match=match):
        DAggerBC(problem, device="cpu", **kwargs)


def test_switchable_policy_calls_its_current_target():
    masks = np.ones((2, 3), bool)
    policy = SwitchablePolicy(lambda obs, m: m / m.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(policy(np.zeros((2, 1)), masks), 1 / 3)
    policy.target = lambda obs, m: np.eye(3)[[2, 2]]
    np.testing.assert_array_equal(policy(np.zeros((2, 1)), masks), np.eye(3)[[2, 2]])


CHAIN = make_chain_game(length=3)
CHAIN_PROBLEM = ImitationProblem(
    "mail/chain-v0",
    functools.partial(chain_env, length=3),
    tuple(
        TablePolicy(CHAIN, i, p) for i, p in enumerate(solve_zero_sum(CHAIN).policies)
    ),
    model=CHAIN,
)


@pytest.mark.parametrize(("num_games", "rounds", "seed"), [(6, 3, 0), (20, 4, 1)])
def test_dagger_never_shows_the_chain_guard_the_gate(num_games, rounds, seed):
    # The expert walker never advances, and neither does its clone (trained on
    # the chain's start only, where the expert steps back): the learned
    # profile never reaches the gate, so the guard is never labelled, gets the
    # uniform policy, and errs there with probability 1/2. Measured on
    # make_chain_game(length=3): NashConv 0.4001625 = exploit_gain(q=1/2) for
    # num_games 6..100, rounds 2..5, seeds 0..2 -- DAgger explores no better
    # than offline BC here (uniform exploration reached NashConv 0.0 with 10
    # games).
    result = DAggerBC(
        CHAIN_PROBLEM,
        num_games=num_games,
        rounds=rounds,
        seed=seed,
        bc=BCConfig(min_steps=100),
        device="cpu",
    ).run()
    guard, walker = result.datasets
    assert guard.num_queries == 0 and walker.num_queries > 0
    assert np.all(walker.observations.argmax(axis=1) == 0)  # the chain's start
    gap = nash_gap(CHAIN, result.policies)
    expected = exploit_gain(chain_layout(length=3), 0.5, gamma=CHAIN.gamma)
    assert expected == pytest.approx(
        0.4001625, abs=1e-12
    )  # 0.5 g^3 - c (1 - g^3) / (1 - g)
    assert np.isfinite(gap.nash_conv) and gap.nash_conv >= 0.0
    assert gap.gains[1] == pytest.approx(expected, abs=1e-9)
    assert gap.gains[0] == pytest.approx(0.0, abs=1e-9)
