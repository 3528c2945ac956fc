"""Smoke test of scripts/tictactoe_dqn_explore.py (figure 1c) with tiny budgets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "tictactoe_dqn_explore.py"


def test_quick_run_writes_both_variants_with_every_run(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--quick",
        "--budgets",
        "3",
        "--seeds",
        "0",
        "1",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    ]
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dqn-explore NashConv" in proc.stdout
    stem = "tictactoe_games3_seeds0-1_quick"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        f"{stem}_{tag}.{ext}"
        for tag in ("plain", "augmented")
        for ext in ("json", "png")
    )
    for tag in ("plain", "augmented"):
        payload = json.loads((tmp_path / f"{stem}_{tag}.json").read_text())
        assert payload["config"]["augment"] is (tag == "augmented")
        assert payload["config"]["workers"] == 2
        runs = {(r["method"], r["budget"], r["seed"]) for r in payload["records"]}
        assert runs == {
            (m, 3, s) for m in ("bc", "uniform", "dqn-explore") for s in (0, 1)
        }
        for r in payload["records"]:
            # Three games label a handful of boards: every profile is exploitable.
            assert r["nash_conv"] > 0 and min(r["num_queries"]) >= 3
