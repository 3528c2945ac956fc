"""Smoke test of scripts/lsvi_optimism.py (beta sweep of LSVI-UCB-ZERO-BC)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agents.linear.features import tabular_features
from agents.linear.lsvi_ucb_zero import LSVIUCBZero
from mail_envs.chain import chain_layout, exploit_gain, make_chain_game
from mail_envs.solvers import solve_zero_sum

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "lsvi_optimism.py"
BETAS = (0.1, 0.3, 10.0)
BUDGETS = (5, 20)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("lsvi_optimism")
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--quick",
        "--betas",
        *(str(b) for b in BETAS),
        "--budgets",
        *(str(k) for k in BUDGETS),
        "--out-dir",
        str(out),
    ]
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "summary" in proc.stdout
    (json_path,) = out.glob("*.json")
    return json.loads(json_path.read_text()), out


def test_writes_json_and_png(quick_run: tuple[dict, Path]) -> None:
    payload, out = quick_run
    name = payload["config"]["run_name"]
    assert name == "lsvi_optimism_gridworld-chain8_K5-20_seeds0_quick"
    assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == [f"{name}.json", f"{name}.png"]
    assert payload["games"]["gridworld"]["start"] == "p0=(1,0) p1=(2,1)"
    assert payload["games"]["chain-N8"]["horizon"] == 10


def test_one_record_per_cell_with_consistent_numbers(
    quick_run: tuple[dict, Path],
) -> None:
    payload, _ = quick_run
    runs = payload["runs"]
    methods = ["lsvi-beta=0.1", "lsvi-beta=0.3", "lsvi-beta=10", "uniform"]
    cells = {(r["panel"], r["method"], r["budget"], r["seed"]) for r in runs}
    assert len(runs) == len(cells) == 2 * len(methods) * len(BUDGETS)
    assert {r["method"] for r in runs} == set(methods)
    for r in runs:
        assert min(r["gains"]) >= -1e-12
        assert r["nash_conv"] == pytest.approx(sum(r["gains"]), abs=1e-12)
        assert r["max_gain"] == max(r["gains"])
        if r["method"] == "uniform":
            assert r["beta"] is None and r["clipped_fraction"] is None
        else:
            assert 0.0 <= r["clipped_fraction"] <= 1.0
        if r["panel"] == "gridworld":
            assert r["gate_labels"] is None
        else:
            assert r["gate_labels"] == r["num_queries"][0] >= 0


def test_optimism_is_scale_free_below_the_cap(quick_run: tuple[dict, Path]) -> None:
    """With zero reward an unclipped Q is beta times a function of the data.

    ``Q <= H beta / sqrt(lambda) = 10 * 0.3 / sqrt(0.1) < H = 10`` for
    ``beta <= 0.3``: never clipped, so beta 0.1 and 0.3 play the same episodes.
    At the paper's ``beta = 10`` an unseen pair's bonus is 31.6 > H: clipped.
    """
    payload, _ = quick_run
    by_key = {(r["panel"], r["method"], r["budget"]): r for r in payload["runs"]}
    for panel in ("gridworld", "chain-N8"):
        for k in BUDGETS:
            low, mid = (
                by_key[panel, "lsvi-beta=0.1", k],
                by_key[panel, "lsvi-beta=0.3", k],
            )
            assert low["clipped_fraction"] == mid["clipped_fraction"] == 0.0
            assert low["nash_conv"] == pytest.approx(mid["nash_conv"], abs=1e-9)
            assert low["num_queries"] == mid["num_queries"]
            assert by_key[panel, "lsvi-beta=10", k]["clipped_fraction"] > 0.5


def test_chain_gain_without_gate_labels_is_the_known_value(
    quick_run: tuple[dict, Path],
) -> None:
    """A guard without gate labels is uniform at the gate (mail_envs.chain).

    Up to the softmax-linear BC fit of the walker (ridge ``l2``), which leaves
    it a hair off the expert's deterministic policy.
    """
    payload, _ = quick_run
    known = exploit_gain(chain_layout(8, 2, seed=0), 0.5, gamma=0.95)
    assert payload["games"]["chain-N8"]["uniform_guard_gain"] == pytest.approx(known)
    chain = [r for r in payload["runs"] if r["panel"] == "chain-N8"]
    assert any(r["gate_labels"] == 0 for r in chain)
    for r in chain:
        if r["gate_labels"] == 0:
            assert r["gains"] == pytest.approx([0.0, known], abs=1e-4)


@pytest.mark.parametrize(("beta", "first_clipped"), [(10.0, True), (0.1, False)])
def test_exploration_reports_clipped_decisions(
    beta: float, first_clipped: bool
) -> None:
    """Before any data every bonus is ``beta / sqrt(lambda)`` (31.6 or 0.32 vs H = 10)."""
    game = make_chain_game(4)
    experts = solve_zero_sum(game).policies
    out = LSVIUCBZero(beta=beta, num_episodes=5, horizon=6, seed=0).explore(
        game, experts, tabular_features(game, 1), explorer=1
    )
    assert out.clipped.shape == out.trajectories.alive.shape == (5, 6)
    assert not (out.clipped & ~out.decisions).any()
    assert bool(out.clipped[0, 0]) is first_clipped
    assert out.clipped_fraction == pytest.approx(
        out.clipped.sum() / out.decisions.sum()
    )
    if not first_clipped:
        assert out.clipped_fraction == 0.0
    assert np.all(out.decisions.sum(axis=1) >= 1)
