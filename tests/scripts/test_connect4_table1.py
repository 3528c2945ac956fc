"""Smoke tests of scripts/connect4_table1.py with tiny budgets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "connect4_table1.py"
TINY = [
    "--num-games",
    "2",
    "--eval-games",
    "3",
    "--bc-epochs",
    "1",
    "--levels",
    "1",
    "--head",
    "small_cnn",
    "--device",
    "cpu",
    "--threads",
    "1",
    "--no-progress",
]


def run_script(out_dir: Path, *extra: str, seeds: str = "0") -> tuple[dict, str]:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            *TINY,
            "--seeds",
            *seeds.split("-"),
            "--out-dir",
            str(out_dir),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    stem = f"connect4_table1_G2_N3_small_cnn_seeds{seeds}"
    payload = json.loads((out_dir / f"{stem}.json").read_text())
    png = out_dir / f"{stem}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return payload, done.stdout


def test_tiny_run_writes_a_consistent_table(tmp_path: Path) -> None:
    payload, stdout = run_script(tmp_path, seeds="0-1")
    assert payload["learned_player"] == "player_0"
    assert payload["config"]["num_games"] == 2
    assert payload["config"]["seeds"] == [0, 1]
    assert [r["seed"] for r in payload["per_seed"]] == [0, 1]
    for run in payload["per_seed"]:
        assert set(run["evaluations"]) == {"bc", "dqn-explore-bc"}
        for method, data in run["data"].items():
            assert data["games"] == 2, method
            assert 0 < data["distinct_boards"] <= data["expert_queries"], method
        # Every game of expert self-play has at least the 4 first-player moves a
        # win needs, all with 7 legal columns (no column fills before ply 6).
        assert run["data"]["bc"]["expert_queries"] >= 2 * 4
        for method, evaluation in run["evaluations"].items():
            opponents = [m["opponent"] for m in evaluation["matches"]]
            assert opponents == ["abr", "softmax-1", "perfect"], method
            for m in evaluation["matches"]:
                assert m["seat"] == "first"
                assert m["wins"] + m["draws"] + m["losses"] == m["n_games"] == 3
                for key in ("win", "draw", "loss"):
                    low, high = m[f"{key}_ci"]
                    assert low <= m[f"{key}_rate"] <= high
    # The summary is the mean (and spread) over the seeds of the per-seed rates.
    for method, per_opponent in payload["summary"].items():
        for opponent, cell in per_opponent.items():
            wins = [
                next(
                    m["win_rate"]
                    for m in run["evaluations"][method]["matches"]
                    if m["opponent"] == opponent
                )
                for run in payload["per_seed"]
            ]
            assert cell["win_per_seed"] == wins
            assert cell["win_mean"] == pytest.approx(sum(wins) / 2)
            assert cell["win_min"] == min(wins) and cell["win_max"] == max(wins)
            assert cell["win_bar"] == [min(wins), max(wins)]
            total = cell["win_mean"] + cell["draw_mean"] + cell["loss_mean"]
            assert total == pytest.approx(1.0)
    assert payload["summary_bar"] == "min-max over seeds"
    # The line of each opponent is printed for both methods.
    assert sum(line.startswith("softmax-1") for line in stdout.splitlines()) == 1
    assert "min-max over seeds" in stdout
    assert not [
        p for p in tmp_path.iterdir() if p.name.endswith(".tmp")
    ]  # no temp left


@pytest.mark.slow
def test_same_seed_same_results_and_expert_reference(tmp_path: Path) -> None:
    first, _ = run_script(tmp_path / "a", "--with-expert")
    second, _ = run_script(tmp_path / "b", "--with-expert")
    for method in ("bc", "dqn-explore-bc"):
        counts = [
            {
                k: v
                for k, v in run["per_seed"][0]["data"][method].items()
                if k != "seconds"
            }
            for run in (first, second)
        ]
        assert counts[0] == counts[1], method
    assert first["per_seed"][0]["evaluations"] == second["per_seed"][0]["evaluations"]
    assert first["summary"] == second["summary"]
    # Connect Four is a first-player win (J. D. Allen and V. Allis, 1988): the
    # solver wins every game from the first seat, whatever the opponent.
    for m in first["per_seed"][0]["evaluations"]["expert"]["matches"]:
        assert m["wins"] == m["n_games"], m["opponent"]
