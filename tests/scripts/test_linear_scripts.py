"""Smoke tests of scripts/gridworld_lsvi.py and scripts/exploitability_theory.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}


def run(*cmd: str) -> str:
    proc = subprocess.run(
        [sys.executable, *cmd],
        check=False,
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_gridworld_lsvi_quick(tmp_path: Path) -> None:
    run("scripts/gridworld_lsvi.py", "--quick", "--out-dir", str(tmp_path))
    stem = "gridworld3_fig1b_published_deterministic_K5-50_seeds0-1_quick"
    payload = json.loads((tmp_path / f"{stem}.json").read_text())
    assert (tmp_path / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert payload["game"]["expert_nash_conv"] == pytest.approx(0.0, abs=1e-9)
    cells = {(r["features"], r["method"], r["episodes"]) for r in payload["results"]}
    assert cells == {
        (f, m, k)
        for f in ("tabular", "relational")
        for m in ("lsvi-ucb-zero", "uniform", "bc")
        for k in (5, 20, 50)
    }
    assert payload["game"]["start"] == "p0=(1,0) p1=(2,1)"
    for r in payload["results"]:
        assert len(r["nash_conv"]) == 2 and min(r["nash_conv"]) >= 0.0
        # the published metric: the larger gain, between NashConv / 2 and NashConv
        for total, larger in zip(r["nash_conv"], r["max_gain"], strict=True):
            assert total / 2 - 1e-12 <= larger <= total + 1e-12
        # H = 10 steps per episode, every step labelled, for both players
        assert r["expert_queries"] == [2 * 10 * r["episodes"]] * 2


@pytest.mark.slow
def test_gridworld_lsvi_figure_1a_quick(tmp_path: Path) -> None:
    run(
        "scripts/gridworld_lsvi.py",
        "--figure",
        "1a",
        "--start",
        "corners",
        "--budgets",
        "2",
        "--seeds",
        "0",
        "--deep-epochs",
        "5",
        "--out-dir",
        str(tmp_path),
    )
    stem = "gridworld3_fig1a_corners_mixed_K2-2_seeds0"
    payload = json.loads((tmp_path / f"{stem}.json").read_text())
    assert payload["game"]["start"] == "p0=(2,2) p1=(0,0)"
    assert payload["game"]["expert"] == "mixed"
    assert payload["game"]["expert_nash_conv"] == pytest.approx(0.0, abs=1e-9)
    assert min(payload["game"]["expert_mixed_states"]) > 0
    assert [r["features"] for r in payload["results"]] == [
        "tabular",
        "paper-relational",
        "deep-linear",
    ]


@pytest.mark.slow
def test_exploitability_theory_quick(tmp_path: Path) -> None:
    stdout = run("scripts/exploitability_theory.py", "--quick", "--out", str(tmp_path))
    assert "5. Gridworld 3x3" in stdout
    results = json.loads((tmp_path / "theory.json").read_text())
    assert {
        "xor",
        "dominant_bound",
        "continuity",
        "regularized",
        "concentrability",
    } <= set(results)
    # claim 1: the state-matching profile's gain is exactly 1/(2(1-gamma))
    for _gamma, _tv, _tv_sa, gain, known in results["xor"]:
        assert gain == pytest.approx(known)
    # claim 2a: no violation of the dominant-strategy bound
    assert all(row[3] == 0 for row in results["dominant_bound"]["rows"])
    for name in ("bound_ratio.png", "br_continuity.png", "concentrability.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
