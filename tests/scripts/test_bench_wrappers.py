"""Smoke test of scripts/bench_wrappers.py (raw Tic-Tac-Toe env vs the wrapper stack)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location(
        "bench_wrappers", ROOT / "scripts" / "bench_wrappers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_wrappers"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_main_writes_every_round_and_the_ratios(tmp_path, capsys):
    bench = _load()
    path = tmp_path / "out" / "bench_wrappers.json"
    record = bench.main(["--moves", "300", "--repeats", "2", "--json", str(path)])
    data = json.loads(path.read_text())
    assert data == json.loads(json.dumps(record))
    assert data["args"]["moves"] == 300
    assert len(data["raw"]["moves_per_second"]) == 2
    assert set(data["stacks"]) == {
        "frozen opponent only, constant expert",
        "+ expert query, constant expert",
        "full stack (+ bonus), constant expert",
        "full stack, minimax expert",
    }
    for stack in data["stacks"].values():
        assert len(stack["moves_per_second"]) == 2
        assert stack["best"] == max(stack["moves_per_second"])
        assert stack["cost_best"] == pytest.approx(data["raw"]["best"] / stack["best"])
    assert data["machine"]["versions"]["pettingzoo"]
    assert "wrote" in capsys.readouterr().out


def test_bad_counts_are_refused():
    bench = _load()
    with pytest.raises(SystemExit):
        bench.parse_args(["--moves", "0"])
