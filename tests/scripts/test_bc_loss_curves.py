"""Smoke test of scripts/bc_loss_curves.py."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_writes_three_curves_of_the_repeated_rows_loss(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "bc_loss_curves", ROOT / "scripts" / "bc_loss_curves.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bc_loss_curves"] = module
    spec.loader.exec_module(module)
    payload = module.main(["--quick", "--out-dir", str(tmp_path)])
    written = json.loads((tmp_path / "bc_loss_curves_quick.json").read_text())
    assert (tmp_path / "bc_loss_curves_quick.png").stat().st_size > 0
    assert written["summary"] == payload["summary"]
    curves = payload["curves"]
    assert list(curves) == list(module.VARIANTS)
    rows = {v: c["rows"] for v, c in curves.items()}
    # The distinct rows are far fewer than the repeated ones, the same for
    # both deduplicated variants.
    assert (
        rows[module.VARIANTS[1]] == rows[module.VARIANTS[2]] < rows[module.VARIANTS[0]]
    )
    for c in curves.values():
        assert len(c["steps"]) == len(c["repeated_rows_loss"]) >= 2
        assert c["steps"][-1] >= 200
        # Training lowers the loss on the repeated rows.
        assert c["repeated_rows_loss"][-1] < c["repeated_rows_loss"][0]
