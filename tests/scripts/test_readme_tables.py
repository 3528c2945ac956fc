"""The README's result blocks are what the committed result files give."""

from __future__ import annotations

import importlib.util
import re
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
    begin = readme.index("<!-- results:main_job:begin -->")
    queries = re.search(r"\n\s+1000\s+(\d+)\s", readme[begin:])  # queries at 1,000
    assert queries is not None
    at = begin + queries.start(1)
    number = queries.group(1)
    tampered = readme[:at] + str(int(number) + 1) + readme[at + len(number) :]
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


def _copy_results(tmp_path, *names):
    """A results folder with copies of the committed files of ``names`` (relative)."""
    import shutil

    results = tmp_path / "docs" / "results"
    results.mkdir(parents=True)
    for name in names:
        source = (ROOT / "docs" / "results" / name).resolve()
        target = (results / name).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    return results


def _tamper(path, change):
    import json

    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("block", "name", "change", "old", "new"),
    [
        (
            "bench-solvers",
            "bench_solvers/bench_solvers.json",
            lambda d: d["reference"].update(cpu_ratio=1234.0),
            None,
            "**1,234x**",
        ),
        (
            "bench-wrappers",
            "bench_wrappers/bench_wrappers.json",
            lambda d: d["stacks"]["full stack (+ bonus), constant expert"].update(
                cost_median=3.5
            ),
            "met (",
            "missed (3.50x, median)",
        ),
        (
            "bench-lsvi",
            "bench_lsvi/bench_lsvi.json",
            lambda d: d["results"]["current"]["median"].update(total=0.75),
            "met (",
            "missed (0.750 s)",
        ),
        (
            "bench-games",
            "bench_games/bench_games.json",
            lambda d: d["tictactoe"]["env"].update(speedup=99.0),
            None,
            "(99.0x)",
        ),
        (
            "theory",
            "../theory/theory.json",
            lambda d: d["regularized"]["rows"][0].__setitem__(1, 9.87),
            None,
            "Nash gap of the logit expert 9.87 /",
        ),
    ],
)
def test_a_changed_benchmark_or_theory_number_is_caught(
    tmp_path, block, name, change, old, new
):
    """Each new block is rendered from its JSON: a changed number shows up."""
    script = _script()
    results = _copy_results(tmp_path, name)
    before = script.render_block(block, results)
    assert new not in before
    if old is not None:
        assert old in before
    _tamper((results / name).resolve(), change)
    after = script.render_block(block, results)
    assert new in after
    # the README's block is the committed files' rendering, so it is now stale
    readme = (ROOT / "README.md").read_text()
    assert before in readme
    assert after not in readme


def test_no_typed_numbers_left_in_the_benchmark_table():
    """The Benchmarks table points to generated blocks; it quotes no numbers."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Benchmarks") :]
    section = section[: section.index("\n## ")]
    rows = [
        line
        for line in section.splitlines()
        if line.startswith("| `python scripts/bench")
    ]
    assert len(rows) >= 5
    for row in rows:
        assert row.rstrip(" |").endswith(")"), row
        assert "generated below" in row.split(" | ")[-1], row
        assert not any(ch.isdigit() for ch in row.split(" | ")[-1]), row


def test_a_quick_fig1c_run_is_refused(tmp_path):
    """A --quick smoke run's file never renders as a result."""
    import json

    script = _script()
    data = json.loads((ROOT / "docs/results/fig1c/results.json").read_text())
    data["quick"] = True
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="--quick smoke run"):
        script.render_fig1c([path], tmp_path)
