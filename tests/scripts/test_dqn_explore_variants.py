"""Smoke test of scripts/dqn_explore_variants.py with tiny games and budgets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "dqn_explore_variants.py"
METHODS = {"uniform", "dqn-explore", "dqn-explore-paper"}


def test_quick_run_writes_every_game_and_the_tables(tmp_path: Path) -> None:
    cmd = [sys.executable, str(SCRIPT), "--quick", "--out", str(tmp_path)]
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    games = ("chain3", "gridworld", "tictactoe")  # quick: one chain, of length 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{g}.{ext}" for g in games for ext in ("json", "png")] + ["summary.md"]
    )
    for game in games:
        payload = json.loads((tmp_path / f"{game}.json").read_text())
        assert {r["method"] for r in payload["records"]} == METHODS
    gridworld = json.loads((tmp_path / "gridworld.json").read_text())
    assert gridworld["config"]["game_options"]["policy_class"] == "neural"
    summary = (tmp_path / "summary.md").read_text()
    assert summary.count("dqn-explore-paper NashConv") == 3


def test_a_quick_run_stays_out_of_the_committed_results() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("variants_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    assert module.parse_args(["--quick"]).out == "runs/dqn_variants_quick"
    assert module.parse_args([]).out == "docs/results/dqn_variants"
