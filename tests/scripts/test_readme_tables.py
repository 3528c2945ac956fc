"""The README's result blocks are what the committed result files give."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location(
        "readme_tables", ROOT / "scripts" / "readme_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_readme_blocks_match_the_committed_results():
    assert _script().main(["--check"]) == 0


def test_a_changed_number_is_caught(tmp_path):
    script = _script()
    readme = (ROOT / "README.md").read_text()
    assert script.updated(readme, ROOT / "docs" / "results") == readme
    tampered = readme.replace("3812", "3813", 1)
    assert tampered != readme
    assert script.updated(tampered, ROOT / "docs" / "results") == readme
