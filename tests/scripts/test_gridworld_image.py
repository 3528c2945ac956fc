"""Smoke test of scripts/gridworld_image.py (figure 2a) at a tiny budget."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gridworld_image.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("gridworld_image_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_results_figure_and_generated_summary(
    script, tmp_path: Path
) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    script.main(["--quick", "--out", str(out), "--work", str(work)])
    assert sorted(p.name for p in out.iterdir()) == [
        "nashconv.png",
        "results.json",
        "summary.md",
    ]
    payload = json.loads((out / "results.json").read_text())
    assert payload["config"]["game_options"] == {
        "size": 5,
        "policy_class": "neural",
        "observation": "image",
        "start": "published",
        "episode_length": 16,
    }
    assert payload["config"]["seeds"] == [0] and payload["config"]["budgets"] == [1]
    assert payload["script_args"]["quick"] is True
    assert {r["method"] for r in payload["records"]} == set(script.METHODS)
    for record in payload["records"]:
        assert record["nash_conv"] == pytest.approx(sum(record["gains"]))
        assert min(record["gains"]) >= -1e-9
    # The summary is generated from the JSON: regenerating it gives the same text.
    assert (out / "summary.md").read_text() == script.summary_markdown(payload)
    stats = script.statistics(payload["records"])
    bc = next(r for r in payload["records"] if r["method"] == "bc")
    assert stats["bc"][1]["max_gain_mean"] == pytest.approx(max(bc["gains"]))
    assert f"{stats['bc'][1]['max_gain_mean']:.3f}" in (out / "summary.md").read_text()
