"""Where the main job's time goes: explore / BC / evaluate, reference vs current.

Runs the main job's sweep (``mail-gym run``: Tic-Tac-Toe, ``bc``, ``uniform``
and ``dqn-explore`` at 100, 300 and 1,000 labelled games per player, seed 0)
twice in the same process pool, once with the **reference** settings of the
previous release and once with the **current** defaults, and prints, per
method and in total, the seconds spent exploring (and labelling), cloning and
evaluating, the sweep's wall time and the ratio reference / current, with the
NashConv of every run so that the two configurations can be compared on
results as well as on time.

The reference settings are what the main job ran before the "BC at the
speed of its data" and "exploration on vector envs" changes
(``REFERENCE_BC``, ``REFERENCE_METHOD_OPTIONS``): BC on every repeated row of
the 8x augmented data (no deduplication) for 60 epochs, Adam at
``lr = 1e-3`` without the fused kernel, and the DQN explorer playing one game
at a time. The current ones are the game's own (``agents.pipeline.games``:
each distinct board once, 60 epochs and then until every board is fit, fused
Adam at ``lr = 3e-3``; the DQN explorer steps 8 games at once). Uniform and
expert self-play explore with the same code in both (the same data), so their
explore time measures noise; the DQN explorer's and the BC column measure the
changes.

Run (from the repository root):

    python scripts/bench_pipeline.py                  # both, ~7 min on 2 cores
    python scripts/bench_pipeline.py --only current   # the current job alone
    python scripts/bench_pipeline.py --quick          # budgets 20 50, smoke run

Writes ``<out-dir>/bench_pipeline.json`` (``bench_pipeline_quick.json`` with
``--quick``; configuration, machine, every run's split) atomically; the
README's table is generated from the committed one
(``scripts/readme_tables.py``). All times are machine-dependent; the ratio is measured in
one run on one machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from agents.bc.augment import dihedral_augment
from agents.bc.profile import BCConfig
from agents.pipeline import Pipeline
from agents.pipeline.games import GAME_SPECS
from mail_envs.files import atomic_write_text

METHODS = ("bc", "uniform", "dqn-explore")
CONFIGS = ("reference", "current")

#: The previous release's main-job settings (see the module docstring).
REFERENCE_BC = BCConfig(
    augment=dihedral_augment,
    dedupe=False,
    min_epochs=60,
    trainer_kwargs={"optimizer_kwargs": {"lr": 1e-3}},
)
#: The previous release's explorer: one game at a time.
REFERENCE_METHOD_OPTIONS = {"dqn-explore": {"num_envs": 1}}


@dataclass(frozen=True)
class Args:
    """The whole configuration of one benchmark."""

    budgets: tuple[int, ...] = (100, 300, 1000)
    seeds: tuple[int, ...] = (0,)
    workers: int = 2
    only: str | None = None
    out_dir: str = "results/bench_pipeline"
    quick: bool = False


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """Command line -> :class:`Args`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=CONFIGS, default=None)
    parser.add_argument("--out-dir", default="results/bench_pipeline")
    parser.add_argument(
        "--quick", action="store_true", help="budgets 20 50: a smoke run"
    )
    ns = parser.parse_args(argv)
    budgets = (20, 50) if ns.quick else tuple(ns.budgets)
    return Args(
        budgets=budgets,
        seeds=tuple(ns.seeds),
        workers=ns.workers,
        only=ns.only,
        out_dir=ns.out_dir,
        quick=ns.quick,
    )


def pipeline(config: str, args: Args) -> Pipeline:
    """The main job's sweep with the ``config`` settings (the game's own BC when current)."""
    return Pipeline(
        game="tictactoe",
        methods=METHODS,
        budgets=args.budgets,
        seeds=args.seeds,
        workers=args.workers,
        device="cpu",
        progress=False,
        bc=REFERENCE_BC if config == "reference" else None,
        method_options=REFERENCE_METHOD_OPTIONS if config == "reference" else None,
    )


def split(records: Sequence[Any]) -> dict[str, dict[str, float]]:
    """Seconds per method (and ``"all"``): explore, BC, evaluate, run."""
    out: dict[str, dict[str, float]] = {}
    for name in (*METHODS, "all"):
        rows = [r for r in records if name in ("all", r.method)]
        explore = sum(r.explore_seconds for r in rows)
        bc = sum(r.bc_seconds for r in rows)
        run = sum(r.wall_seconds for r in rows)
        out[name] = {
            "explore": explore,
            "bc": bc,
            "evaluate": run - explore - bc,
            "run": run,
        }
    return out


def bench(config: str, args: Args) -> dict[str, Any]:
    """Run one configuration; its split, sweep time and NashConv per run."""
    start = time.perf_counter()
    result = pipeline(config, args).run()
    elapsed = time.perf_counter() - start
    records = list(result.records)
    return {
        "elapsed_seconds": elapsed,
        "split": split(records),
        "runs": [
            {
                "method": r.method,
                "budget": r.budget,
                "seed": r.seed,
                "nash_conv": r.nash_conv,
                "explore_seconds": r.explore_seconds,
                "bc_seconds": r.bc_seconds,
                "wall_seconds": r.wall_seconds,
            }
            for r in records
        ],
    }


def report(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The printed table: per configuration and method, the time split."""
    lines = []
    for config, res in results.items():
        lines.append(
            f"{config}: sweep {res['elapsed_seconds']:.1f} s wall "
            "(seconds summed over runs below)"
        )
        lines.append(
            f"  {'method':12s} {'explore':>9s} {'bc':>9s} {'evaluate':>9s} {'run':>9s}"
        )
        for method, row in res["split"].items():
            lines.append(
                f"  {method:12s} {row['explore']:9.1f} {row['bc']:9.1f} "
                f"{row['evaluate']:9.2f} {row['run']:9.1f}"
            )
        nash = {(r["method"], r["budget"]): r["nash_conv"] for r in res["runs"]}
        lines.append(
            "  NashConv: "
            + ", ".join(f"{m}@{b} {v:g}" for (m, b), v in sorted(nash.items()))
        )
    if set(CONFIGS) <= set(results):
        ref, cur = results["reference"], results["current"]
        lines.append(
            "reference / current: sweep "
            f"{ref['elapsed_seconds'] / cur['elapsed_seconds']:.2f}x, "
            + ", ".join(
                f"{part} {ref['split']['all'][part] / max(cur['split']['all'][part], 1e-9):.2f}x"
                for part in ("explore", "bc", "evaluate")
            )
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and write its results."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    configs = CONFIGS if args.only is None else (args.only,)
    results = {config: bench(config, args) for config in configs}
    print(report(results))
    payload = {
        "args": dataclasses.asdict(args),
        "machine": {
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
        },
        "main_job_bc": repr(GAME_SPECS["tictactoe"].bc(True)),
        "method_options": {
            "reference": REFERENCE_METHOD_OPTIONS,
            "current": {
                k: dict(v) for k, v in GAME_SPECS["tictactoe"].method_options.items()
            },
        },
        "results": results,
    }
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = "bench_pipeline_quick.json" if args.quick else "bench_pipeline.json"
    atomic_write_text(out / name, json.dumps(payload, indent=2))
    return payload


if __name__ == "__main__":
    main()
