"""Write the README's result blocks from the committed result files.

Every number in a generated block comes from a JSON file under
``docs/results/``: the block between ``<!-- results:NAME:begin -->`` and
``<!-- results:NAME:end -->`` in README.md is rendered from
``docs/results/NAME/results.json`` (a :class:`~agents.pipeline.PipelineResult`)
exactly as ``mail-gym run`` prints it. ``--check`` only compares, and exits 1
when a block differs from what its file gives (the test suite runs it).

Usage:
    python scripts/readme_tables.py          # rewrite the blocks
    python scripts/readme_tables.py --check  # exit 1 if README is stale

To refresh the main job's numbers::

    mail-gym run --out docs/results/main_job --overwrite && python scripts/readme_tables.py
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from agents.pipeline import PipelineResult
from mail_envs.files import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(
    r"(<!-- results:(?P<name>[\w-]+):begin -->\n)(?P<body>.*?)(<!-- results:(?P=name):end -->)",
    re.DOTALL,
)


@dataclass(frozen=True)
class Args:
    """The whole configuration."""

    readme: Path = ROOT / "README.md"
    results: Path = ROOT / "docs" / "results"
    check: bool = False


def render(result: PipelineResult, source: str) -> str:
    """The block's text: the sweep's tables and where they come from."""
    seeds = ", ".join(str(s) for s in result.config.get("seeds", []))
    elapsed = result.elapsed_seconds
    timing = (
        f"; the sweep took {elapsed:.0f} s with "
        f"{result.config.get('workers')} workers on this repository's 2-core "
        "CPU (machine-dependent)"
        if elapsed is not None
        else ""
    )
    return (
        f"From `{source}` (seeds {seeds}{timing}):\n\n"
        "```\n"
        "exact NashConv of the learned profiles (mean [min,max] over seeds):\n"
        f"{result.table()}\n\n"
        "distinct labelled states per player (mean over seeds and players):\n"
        f"{result.coverage_table()}\n"
        "```\n"
    )


def updated(readme: str, results: Path) -> str:
    """README text with every generated block rendered from its result file."""

    def block(match: re.Match[str]) -> str:
        name = match["name"]
        path = results / name / "results.json"
        body = render(PipelineResult.from_json(path), path.relative_to(ROOT).as_posix())
        return f"{match.group(1)}{body}{match.group(4)}"

    return BLOCK.sub(block, readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only")
    ns = parser.parse_args(argv)
    args = Args(check=ns.check)
    text = args.readme.read_text()
    if not BLOCK.search(text):
        print("README.md has no generated result block", file=sys.stderr)
        return 1
    new = updated(text, args.results)
    if args.check:
        if new != text:
            print(
                "README.md result blocks differ from docs/results; run "
                "python scripts/readme_tables.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if new != text:
        atomic_write_text(args.readme, new)
        print(f"updated {args.readme.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
