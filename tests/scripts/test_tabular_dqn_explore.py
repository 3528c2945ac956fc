"""Smoke test of scripts/tabular_dqn_explore.py (figures 2a and 2b) with tiny budgets.

The chain runs at two lengths (N = 4 and 8), one panel each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mail_envs.chain import chain_layout, exploit_gain

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "tabular_dqn_explore.py"
EPISODE = 50  # both envs truncate after 50 cycles (defaults of mail_envs)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("tabular_dqn_explore")
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--quick",
        "--budgets",
        "1",
        "2",
        "--seeds",
        "0",
        "--chain-lengths",
        "8",
        "4",
        "--bc-min-steps",
        "200",
        "--out-dir",
        str(out),
    ]
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "summary" in proc.stdout
    assert "gate reached in" in proc.stdout
    (json_path,) = out.glob("*.json")
    return json.loads(json_path.read_text()), out


def test_writes_json_and_png_atomically(quick_run: tuple[dict, Path]) -> None:
    payload, out = quick_run
    name = payload["run_name"]
    assert name == "dqn_explore_gridworld-chain4-8_K1-2_seeds0_quick"
    assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == [f"{name}.json", f"{name}.png"]


def test_one_record_per_cell_with_consistent_numbers(
    quick_run: tuple[dict, Path],
) -> None:
    payload, _ = quick_run
    runs = payload["runs"]
    cells = {(r["panel"], r["method"], r["budget"], r["seed"]) for r in runs}
    assert len(runs) == len(cells) == 3 * 2 * 2
    assert payload["expert_nash_conv"] == {
        "gridworld": 0.0,
        "chain-N4": 0.0,
        "chain-N8": 0.0,
    }
    assert set(payload["summary"]) == {"gridworld", "chain-N4", "chain-N8"}
    for r in runs:
        assert r["chain_length"] == (
            None
            if r["game"] == "gridworld"
            else int(r["panel"].removeprefix("chain-N"))
        )
        assert min(r["gains"]) >= 0.0
        assert r["nash_conv"] == pytest.approx(sum(r["gains"]), abs=1e-12)
        if r["game"] == "gridworld":
            # simultaneous moves: both players decide at every one of 50 cycles
            assert r["num_queries"] == [EPISODE * r["budget"]] * 2
            assert r["gate_labels"] is None
            assert r["uniform_players"] == []
            assert 1 <= max(r["distinct_states"]) <= 72
        else:
            # the expert walker never advances: a decision in state 0 each cycle
            assert r["num_queries"][1] == EPISODE * r["budget"]
            assert r["distinct_states"][1] == 1
            # the guard decides only at the gate: its queries are its gate labels
            assert r["gate_labels"] == r["num_queries"][0] >= 0


def test_chain_gain_is_the_known_exploit_value(quick_run: tuple[dict, Path]) -> None:
    """A guard that never saw the gate is uniform there: player_1 gains
    ``q gamma^N - cost (1 - gamma^N) / (1 - gamma)`` with ``q = 1/2``
    (mail_envs.chain module docstring); a guard with a gate label gives 0."""
    payload, _ = quick_run
    known = {
        n: exploit_gain(chain_layout(n, 2, seed=0), 0.5, gamma=0.95) for n in (4, 8)
    }
    assert payload["chain_uniform_guard_gain"] == pytest.approx(
        {f"chain-N{n}": g for n, g in known.items()}
    )
    assert known[4] > known[8] > 0.0
    chain = [r for r in payload["runs"] if r["game"] == "chain"]
    unseen = [r for r in chain if r["gate_labels"] == 0]
    assert unseen, "expected a run whose explorer never reached the gate"
    for r in chain:
        known_gain = known[r["chain_length"]]
        if r["gate_labels"] == 0:
            assert r["num_queries"][0] == 0
            assert r["uniform_players"] == [0]
            assert r["gains"] == pytest.approx([0.0, known_gain], abs=1e-9)
        else:
            assert r["num_queries"][0] >= 1
            assert r["uniform_players"] == []
            assert r["gains"] == pytest.approx([0.0, 0.0], abs=1e-9)
