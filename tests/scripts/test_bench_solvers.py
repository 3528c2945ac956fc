"""Smoke tests of scripts/bench_solvers.py (exact solvers vs a per-state-LP Shapley loop)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from mail_envs.gridworld import make_gridworld_game
from mail_envs.random_games import make_random_zero_sum_game
from mail_envs.solvers import solve_zero_sum

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location(
        "bench_solvers", ROOT / "scripts" / "bench_solvers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_solvers"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_the_reference_finds_the_same_values():
    """The per-state-linprog Shapley loop is a real reference: same game values."""
    bench = _load()
    game = make_random_zero_sum_game(num_states=4, gamma=0.5, seed=1)
    values, iterations = bench.per_state_lp_shapley(game, tol=1e-9)
    assert iterations > 1
    np.testing.assert_allclose(values, solve_zero_sum(game).values[0], atol=1e-7)


def test_records_hold_the_timed_numbers():
    bench = _load()
    args = bench.Args(solve_runs=1, gap_runs=2)
    games = {3: make_gridworld_game(size=3, allow_stay=False, gamma=args.gamma)}
    record: dict = {}
    rows, equilibria, seconds = bench.bench_solve_zero_sum(games, args, record)
    entry = record["solve_zero_sum"]["3x3"]
    assert entry["states"] == games[3].num_states
    assert entry["nash_conv"] < 1e-8
    assert entry["cpu_ms"] == pytest.approx(seconds[3] * 1e3)
    assert len(rows) == 1 and set(equilibria) == {3}
    bench.bench_nash_gap(games[3], equilibria[3], args, record)
    assert record["nash_gap_5x5"]["equilibrium"]["nash_conv"] < 1e-8
    assert record["nash_gap_5x5"]["uniform"]["nash_conv"] > 0.1


def test_bad_counts_are_refused():
    bench = _load()
    with pytest.raises(SystemExit):
        bench.parse_args(["--gap-runs", "0"])


@pytest.mark.slow
def test_main_writes_json(tmp_path):
    bench = _load()
    path = tmp_path / "out" / "bench_solvers.json"
    record = bench.main(["--gap-runs", "2", "--json", str(path)])
    data = json.loads(path.read_text())
    assert data == json.loads(json.dumps(record))
    assert data["reference"]["cpu_ratio"] > 1
    assert data["machine"]["versions"]["scipy"]
