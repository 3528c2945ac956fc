"""Smoke test of scripts/bench_pipeline.py and its README renderer."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_bench_pipeline_quick_runs_both_settings_and_renders(tmp_path, capsys):
    bench = _load("bench_pipeline")
    payload = bench.main(["--quick", "--workers", "1", "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "reference / current: sweep" in out
    written = json.loads((tmp_path / "bench_pipeline_quick.json").read_text())
    assert written["args"]["budgets"] == [20, 50]
    for config in ("reference", "current"):
        res = payload["results"][config]
        assert len(res["runs"]) == 6  # 3 methods x 2 budgets, seed 0
        split = res["split"]["all"]
        assert split["explore"] > 0 and split["bc"] > 0 and split["evaluate"] >= 0
        assert split["run"] == pytest.approx(
            split["explore"] + split["bc"] + split["evaluate"]
        )
        assert all(r["nash_conv"] >= 0 for r in res["runs"])
    # Exploration is the same code in both: the same labelled data, so the
    # same number of queries; only cloning differs.
    ref, cur = (payload["results"][c]["runs"] for c in ("reference", "current"))
    assert [r["method"] for r in ref] == [r["method"] for r in cur]
    tables = _load("readme_tables")
    (tmp_path / "bench_pipeline.json").write_text(json.dumps(written))
    text = tables.render_bench_pipeline([tmp_path / "bench_pipeline.json"], tmp_path)
    assert "| reference |" in text and "| current |" in text
    assert "Reference / current: sweep" in text


def test_bench_pipeline_reference_is_the_previous_bc():
    bench = _load("bench_pipeline")
    assert bench.REFERENCE_BC.dedupe is False and bench.REFERENCE_BC.min_epochs == 60
    args = bench.parse_args(["--quick", "--only", "current"])
    current = bench.pipeline("current", args)
    assert current.bc is None  # the game's own BC: what mail-gym run uses
    assert bench.pipeline("reference", args).bc is bench.REFERENCE_BC
