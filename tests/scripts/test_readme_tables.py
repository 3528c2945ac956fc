"""The README's result blocks are what the committed result files give."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

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


def test_every_script_block_is_in_the_readme():
    script = _script()
    readme = (ROOT / "README.md").read_text()
    for name in script.SCRIPT_BLOCKS:
        assert f"<!-- results:{name}:begin -->" in readme, name
        assert f"<!-- results:{name}:end -->" in readme, name


def test_a_changed_gridworld_number_is_caught():
    """The Gridworld rows are generated from gridworld_lsvi.py's JSON files."""
    script = _script()
    readme = (ROOT / "README.md").read_text()
    results = ROOT / "docs" / "results"
    begin = readme.index("<!-- results:gridworld-fig1b:begin -->")
    end = readme.index("<!-- results:gridworld-fig1b:end -->")
    block = readme[begin:end]
    assert "published start p0=(1,0) p1=(2,1)" in block
    assert "corners start p0=(2,2) p1=(0,0)" in block
    row = next(line for line in block.splitlines() if line.startswith("| tabular"))
    cell = row.split(" | ")[2]
    tampered = readme[:begin] + block.replace(cell, "9.9999 / 9.9999", 1) + readme[end:]
    assert tampered != readme
    assert script.updated(tampered, results) == readme


def test_quick_runs_are_not_rendered(tmp_path):
    script = _script()
    (tmp_path / "lsvi_optimism").mkdir()
    (
        tmp_path / "lsvi_optimism" / "lsvi_optimism_chain8_K5-20_seeds0_quick.json"
    ).write_text("{}")
    with pytest.raises(FileNotFoundError, match="lsvi_optimism"):
        script.render_block("lsvi-optimism", tmp_path)
