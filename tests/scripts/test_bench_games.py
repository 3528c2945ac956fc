"""Smoke tests of scripts/bench_games.py: the JSON it writes and its README block."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bench_games.py"
sys.path.insert(0, str(ROOT / "scripts"))

import bench_games  # noqa: E402
import readme_tables  # noqa: E402


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One tiny batch-only run (no pgx, torch or OpenSpiel), its JSON loaded."""
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--no-single-env",
            "--no-pgx",
            "--no-openspiel",
            "--no-torch-cpu",
            "--batch-sizes",
            "1,8",
            "--seconds",
            "0.01",
            "--rounds",
            "1",
            "--repeats",
            "1",
            "--json",
            str(path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {"path": path, "data": json.loads(path.read_text())}


def test_json_has_every_part_and_says_what_each_timing_includes(record) -> None:
    data = record["data"]
    assert data["args"]["batch_sizes"] == "1,8"
    assert data["machine"]["cpus"] >= 1
    impls = {(r["game"], r["impl"], r["batch_size"]) for r in data["throughput"]}
    for game in ("tictactoe", "connect4"):
        for batch in (1, 8):
            assert (game, "ours numpy +obs+mask", batch) in impls
        assert (game, "pettingzoo classic", 1) in impls
    assert not any(impl.startswith("pgx") for _, impl, _ in impls)  # --no-pgx
    assert set(data["includes"]) == {impl for _, impl, _ in impls}
    assert all(r["steps_per_second"] > 0 for r in data["throughput"])
    assert "tictactoe" not in data  # --no-single-env


def test_memory_of_a_65536_game_connect4_batch_is_under_100_mb(record) -> None:
    memory = record["data"]["memory"]
    # 25 bytes a game of state, 91 of observation and mask.
    assert 1.5 < memory["connect4_65536_state_mb"] < 3.0
    assert 5.5 < memory["connect4_65536_observation_and_mask_mb"] < 6.5
    assert memory["connect4_65536_peak_mb"] < 100.0
    assert (
        memory["connect4_65536_peak_mb"]
        > memory["connect4_65536_observation_and_mask_mb"]
    )


def test_readme_block_renders_the_json(record) -> None:
    text = readme_tables.render_bench_games([record["path"]], record["path"].parent)
    row = next(
        line for line in text.splitlines() if line.startswith("| connect4 | 8 |")
    )
    # torch, pgx (step and fused) and the ratio to pgx are absent: "-".
    assert row.endswith("| - | - | - | - |")
    ours = next(
        r["steps_per_second"]
        for r in record["data"]["throughput"]
        if (r["game"], r["impl"], r["batch_size"]) == ("connect4", "ours numpy", 8)
    )
    assert f"| {readme_tables._rate(ours)} |" in row
    assert "Memory of `Connect4Batch(65536)`" in text


def test_every_timed_implementation_is_described() -> None:
    assert f"pgx fused x{bench_games.PGX_FUSED_STEPS}" in bench_games.INCLUDES
    assert "ours numpy +obs+mask" in bench_games.INCLUDES
