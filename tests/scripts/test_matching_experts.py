"""Smoke test of scripts/matching_experts.py (the claims of Bergerault et al.)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "matching_experts.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("matching_experts_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return _load_script()


def test_quick_run_writes_json_png_and_generated_summary(script, tmp_path):
    code = script.main(["--quick", "--seed", "3", "--out-dir", str(tmp_path)])
    assert code == 0
    results = json.loads((tmp_path / "results.json").read_text())
    ids = [c["id"] for c in results["claims"]]
    assert ids == [
        "eps_bc",
        "dominance",
        "bound",
        "consistency",
        "order",
        "needs_dominance",
        "state_matching",
        "state_action_matching",
        "full_support",
    ]
    assert all(c["passed"] for c in results["claims"])
    assert results["args"]["seed"] == 3 and results["args"]["quick"] is True
    assert results["args"]["draws"] == 2  # the quick budget is recorded
    bound = next(c for c in results["claims"] if c["id"] == "bound")
    assert bound["numbers"]["violations"] == 0 and bound["numbers"]["profiles"] > 0
    xor = next(c for c in results["claims"] if c["id"] == "state_matching")
    assert xor["numbers"]["rows"][0]["gain_player_1"] == pytest.approx(5.0)
    # The summary is generated from the JSON: one row per claim, same results.
    summary = (tmp_path / "summary.md").read_text()
    assert "9/9 claims pass" in summary
    for claim in results["claims"]:
        assert claim["result"].replace("|", "\\|") in summary
    assert summary == script.summary_markdown(results)
    assert (tmp_path / "bound_vs_gap.png").stat().st_size > 10_000


def test_bad_arguments_exit_with_a_message(script, capsys):
    with pytest.raises(SystemExit) as exc:
        script.parse_args(["--draws", "0"])
    assert exc.value.code == 2
    assert "--draws" in capsys.readouterr().err
