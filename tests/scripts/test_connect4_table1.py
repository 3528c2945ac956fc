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
    "--head",
    "small_cnn",
    "--device",
    "cpu",
    "--threads",
    "1",
    "--no-progress",
    "--entropy-positions",
    "12",
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


OPPONENTS = ["softmax-1", "softmax-2", "softmax-3", "softmax-4", "softmax-5"]
OPPONENTS += ["abr", "perfect"]


def test_cuda_without_cuda_is_a_clear_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cuda", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2
    assert "needs CUDA" in done.stderr


def test_tiny_run_writes_a_consistent_table(tmp_path: Path) -> None:
    payload, stdout = run_script(tmp_path, seeds="0-1")
    assert payload["learned_players"] == ["first", "second"]
    assert payload["config"]["num_games"] == 2
    assert payload["config"]["seeds"] == [0, 1]
    assert payload["pipeline"]["game"] == "connect4"
    assert payload["pipeline"]["methods"] == ["bc", "dqn-explore"]
    assert [r["seed"] for r in payload["per_seed"]] == [0, 1]
    for run in payload["per_seed"]:
        assert set(run["metrics"]) == {"bc", "dqn-explore"}
        for method, data in run["data"].items():
            assert data["games"] == 2, method
            for distinct, queries in zip(
                data["distinct_boards"], data["expert_queries"], strict=True
            ):
                assert 0 < distinct <= queries, method
        # Every game of expert self-play has at least the 4 first-player moves a
        # win needs (and 3 of the second player's).
        assert run["data"]["bc"]["expert_queries"][0] >= 2 * 4
        assert run["data"]["bc"]["expert_queries"][1] >= 2 * 3
        for method, metrics in run["metrics"].items():
            keys = [k[4:] for k in metrics if k.startswith("win:")]
            assert keys == [
                f"{o}:{seat}" for seat in ("first", "second") for o in OPPONENTS
            ], method
            for key in keys:
                rate = metrics[f"win:{key}"]
                # 3 games per opponent: a rate of whole games, inside its interval
                assert rate * 3 == pytest.approx(round(rate * 3))
                low, high = metrics[f"win_low:{key}"], metrics[f"win_high:{key}"]
                assert low <= rate <= high
    # The summary is the mean (and spread) over the seeds of the per-seed rates.
    for method, per_key in payload["summary"].items():
        assert len(per_key) == 2 * len(OPPONENTS)
        for key, cell in per_key.items():
            wins = [run["metrics"][method][f"win:{key}"] for run in payload["per_seed"]]
            assert cell["win_per_seed"] == wins
            assert cell["win_mean"] == pytest.approx(sum(wins) / 2)
            assert cell["win_min"] == min(wins) and cell["win_max"] == max(wins)
            assert cell["win_bar"] == [min(wins), max(wins)]
    assert payload["summary_bar"] == "min-max over seeds"
    # Table 2: every opponent's entropy on the same positions, in nats; the
    # softmax levels grow noisier with the level (temperature = level).
    table2 = payload["table2_entropy"]["on_positions"]
    assert table2["names"] == OPPONENTS
    assert table2["n_positions"] == 12
    softmax = table2["mean_nats"][:5]
    assert softmax == sorted(softmax)
    assert max(table2["mean_nats"]) <= table2["uniform_nats"] + 1e-12
    assert payload["table2_entropy"]["in_games_vs_expert"] == {}
    assert "Table 2" in stdout
    # The line of each opponent is printed once per seat, with both methods,
    # and once in table 2.
    assert sum(line.startswith("softmax-1") for line in stdout.splitlines()) == 3
    assert "min-max over seeds" in stdout
    assert not [
        p for p in tmp_path.iterdir() if p.name.endswith(".tmp")
    ]  # no temp left


@pytest.mark.slow
def test_same_seed_same_results_and_expert_reference(tmp_path: Path) -> None:
    first, _ = run_script(tmp_path / "a", "--with-expert")
    second, _ = run_script(tmp_path / "b", "--with-expert")
    for method in ("bc", "dqn-explore"):
        counts = [
            {
                k: v
                for k, v in run["per_seed"][0]["data"][method].items()
                if not k.endswith("seconds")
            }
            for run in (first, second)
        ]
        assert counts[0] == counts[1], method
    assert first["per_seed"][0]["metrics"] == second["per_seed"][0]["metrics"]
    assert first["summary"] == second["summary"]
    # Connect Four is a first-player win (J. D. Allen and V. Allis, 1988): the
    # solver wins every game from the first seat, whatever the opponent.
    expert = first["per_seed"][0]["metrics"]["expert"]
    first_seat = [k for k in expert if k.startswith("win:") and k.endswith(":first")]
    assert len(first_seat) == len(OPPONENTS)
    for key in first_seat:
        assert expert[key] == 1.0, key


def test_quick_settings_and_their_overrides() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    import connect4_table1

    quick = connect4_table1.parse_args(["--quick"])
    for name, value in connect4_table1.QUICK.items():
        assert getattr(quick, name) == value, name
    assert quick.run_name.endswith("_seeds0_quick")
    full = connect4_table1.parse_args([])
    assert (full.num_games, full.seeds, full.channels, full.blocks) == (
        1000,
        (0, 1, 2),
        64,
        4,
    )
    assert full.threads == 0 and full.bc_epochs == 60
    mixed = connect4_table1.parse_args(["--quick", "--channels", "64", "--seeds", "3"])
    assert (mixed.channels, mixed.seeds, mixed.blocks) == (64, (3,), 2)
    with pytest.raises(SystemExit):
        connect4_table1.parse_args(["--quick", "--blocks", "0"])
