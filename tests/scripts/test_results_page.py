"""The results page is what the committed result files give."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location(
        "results_page", ROOT / "scripts" / "results_page.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def _copy_results(tmp_path: Path) -> Path:
    """The committed JSON files under ``tmp_path/docs/results``."""
    results = tmp_path / "docs" / "results"
    shutil.copytree(
        ROOT / "docs" / "results",
        results,
        ignore=shutil.ignore_patterns("*.png", "*.log", "records", "logs"),
    )
    return results


def _section(page: str, title: str) -> str:
    start = page.index(f"## {title}")
    end = page.find("\n## ", start + 1)
    return page[start : end if end >= 0 else None]


def test_committed_page_matches_the_result_files():
    assert _script().main(["--check"]) == 0


def test_a_changed_number_changes_its_section(tmp_path):
    script = _script()
    results = _copy_results(tmp_path)
    before = script.page(results)
    path = results / "fig1c" / "results.json"
    data = json.loads(path.read_text())
    cell = data["readings"]["nash_conv"]["bc"]["300"]
    assert cell["mean"] != 0.5
    cell["mean"] = 0.5
    cell["min"] = 0.0
    path.write_text(json.dumps(data))
    after = script.page(results)
    title = "Figure 1c: Tic-Tac-Toe"
    old, new = _section(before, title), _section(after, title)
    assert old != new
    assert "/ 0.500 |" in new and "/ 0.500 |" not in old
    # the verdict is computed: BC is no longer exploitable at every budget
    assert "BC exploitable at every budget" in old
    assert "BC exploitable at every budget" not in new
    # the other sections do not move
    assert _section(before, "Figure 2a: exploration on the Gridworld") == _section(
        after, "Figure 2a: exploration on the Gridworld"
    )


def test_missing_files_say_not_run_yet(tmp_path):
    script = _script()
    results = _copy_results(tmp_path)
    shutil.rmtree(results / "connect4")
    section = _section(script.page(results), "Tables 1 and 2: Connect Four")
    assert "Not run yet" in section
    assert "**Verdict.** not run yet." in section
    assert "dqn-explore (first)" not in section
