"""Smoke test of scripts/bench_lsvi.py (LSVI-UCB-ZERO-BC, current vs naive reference)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.pipeline.games import GAME_SPECS

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location(
        "bench_lsvi", ROOT / "scripts" / "bench_lsvi.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_lsvi"] = module
    spec.loader.exec_module(module)
    return module


def test_bench_lsvi_quick_prints_the_split_and_writes_json(tmp_path):
    # A subprocess, as the script is run: its one-BLAS-thread setting must come
    # before numpy is imported (a threaded LAPACK on a busy machine makes the
    # naive reference's inverses many times slower).
    path = tmp_path / "out" / "bench_lsvi.json"
    proc = subprocess.run(
        [sys.executable, "scripts/bench_lsvi.py", "--quick", "--json", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "K = 3 per player" in proc.stdout and "reference/current" in proc.stdout
    written = json.loads(path.read_text())
    assert written["args"]["episodes"] == 3 and written["args"]["repeats"] == 2
    pipeline = GAME_SPECS["gridworld"].problem({"size": 3, "start": "published"})
    assert pipeline.linear is not None  # the pipeline's own features are benched
    assert written["feature_dim"] == pipeline.linear.features[0].shape[2]
    for name, repeats in (("current", 2), ("reference", 1)):
        res = written["results"][name]
        assert len(res["runs"]) == repeats
        median = res["median"]
        assert median["explore"] > 0 and median["bc"] > 0 and median["evaluate"] > 0
        assert median["total"] >= median["explore"]
        assert res["nash_conv"] >= 0
    assert written["ratio"]["total"] == pytest.approx(
        written["results"]["reference"]["median"]["total"]
        / written["results"]["current"]["median"]["total"]
    )
    assert isinstance(written["same_data"], bool)


def test_naive_reference_is_lsvi_ucb_zero_up_to_rounding():
    """Where no optimistic values tie, the naive explorer makes the same moves."""
    bench = _load()
    from agents.linear.lsvi_ucb_zero import LSVIUCBZero

    problem = bench.build_problem("paper-relational")
    game, linear = problem.model, problem.linear
    phi = linear.features[1]
    fast = LSVIUCBZero(num_episodes=4, horizon=linear.horizon, seed=3).explore(
        game, linear.expert_tables, phi, explorer=1
    )
    naive = bench.naive_explore(
        game,
        linear.expert_tables,
        phi,
        1,
        num_episodes=4,
        horizon=linear.horizon,
        beta=10.0,
        ridge=0.1,
        rng=np.random.default_rng(3),
    )
    np.testing.assert_array_equal(naive.states, fast.trajectories.states)
    np.testing.assert_array_equal(naive.actions, fast.trajectories.actions)


def test_bench_lsvi_rejects_bad_flags():
    bench = _load()
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeats", "0"])
    assert bench.parse_args(["--features", "tabular"]).features == "tabular"
