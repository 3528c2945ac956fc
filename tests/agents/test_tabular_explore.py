"""Per-player exploration on tabular games through their envs (agents/tabular_explore.py)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.tabular_explore import collect_per_player, fit_bc_or_uniform, uniform_legal
from mail_envs.chain import chain_layout, exploit_gain, make_chain_game
from mail_envs.chain import env as chain_env
from mail_envs.solvers import nash_gap, solve_zero_sum
from mail_wrappers.table_policy import TablePolicy

GAME = make_chain_game()
LAYOUT = chain_layout()
EXPERTS = [TablePolicy(GAME, i, p) for i, p in enumerate(solve_zero_sum(GAME).policies)]


def test_self_play_never_shows_the_gate_so_the_guard_stays_exploitable():
    runs = collect_per_player(chain_env, EXPERTS, "self-play", num_games=10, seed=0)
    guard, walker = (r.labels for r in runs)
    # The expert walker never advances: the guard has no decision to label, and
    # the walker's labels are all at the start of the chain.
    assert guard.num_queries == 0
    assert walker.num_queries > 0
    assert np.all(walker.observations.argmax(axis=1) == 0)
    policies, uniform_players = fit_bc_or_uniform(runs, seed=0, device="cpu")
    assert uniform_players == (0,)
    gap = nash_gap(GAME, policies)
    # A guard that errs with probability 1/2 at the gate: the closed form.
    expected = exploit_gain(LAYOUT, 0.5, gamma=GAME.gamma)
    assert gap.gains[1] == pytest.approx(expected, abs=1e-9)
    assert gap.gains[0] == pytest.approx(0.0, abs=1e-9)


def test_uniform_exploration_labels_the_guard_only_at_the_gate():
    runs = collect_per_player(chain_env, EXPERTS, "uniform", num_games=30, seed=4)
    guard = runs[0].labels
    assert np.all(guard.observations.argmax(axis=1) == LAYOUT.length)  # the gate
    # The expert guard's label there is its equilibrium action.
    assert np.all(guard.expert_actions == LAYOUT.guard_action)


def test_uniform_legal_policy():
    masks = np.array([[True, False, True], [False, True, False]])
    np.testing.assert_array_equal(
        uniform_legal(np.zeros((2, 4)), masks), [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]]
    )


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="method must be one of"):
        collect_per_player(chain_env, EXPERTS, "dagger", num_games=1, seed=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one expert per seat"):
        collect_per_player(chain_env, EXPERTS[:1], "uniform", num_games=1, seed=0)
