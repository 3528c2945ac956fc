"""Write the README's result blocks from the committed result files.

Every number in a generated block comes from a JSON file under
``docs/results/``: the block between ``<!-- results:NAME:begin -->`` and
``<!-- results:NAME:end -->`` in README.md is rendered from

* ``docs/results/NAME/results.json`` (a :class:`~agents.pipeline.PipelineResult`)
  exactly as ``mail-gym run`` prints it, for the names without a script
  renderer (``main_job``, ``chain``);
* the JSON files of a reproduction script, for the names in ``SCRIPT_BLOCKS``:
  ``gridworld-fig1a`` and ``gridworld-fig1b`` (``scripts/gridworld_lsvi.py``,
  ``docs/results/gridworld/gridworld3_fig1{a,b}_*.json``, one table per start),
  ``chain-lengths`` (``scripts/tabular_dqn_explore.py``,
  ``docs/results/chain_lengths/*.json``), ``lsvi-optimism``
  (``scripts/lsvi_optimism.py``, ``docs/results/lsvi_optimism/*.json``) and
  ``bench-pipeline`` (``scripts/bench_pipeline.py``,
  ``docs/results/bench_pipeline/*.json``), ``bench-games``
  (``scripts/bench_games.py``, ``docs/results/bench_games/*.json``: one env
  vs PettingZoo, the exact Nash gap vs OpenSpiel, expert latency, the batch
  engines), ``bench-solvers`` (``scripts/bench_solvers.py``,
  ``docs/results/bench_solvers/*.json``), ``bench-wrappers``
  (``scripts/bench_wrappers.py``, ``docs/results/bench_wrappers/*.json``),
  ``bench-lsvi`` (``scripts/bench_lsvi.py``,
  ``docs/results/bench_lsvi/*.json``), ``theory``
  (``scripts/exploitability_theory.py``, ``docs/theory/theory.json``: one
  row per claim and game), ``fig1c`` (``scripts/fig1c.py``,
  ``docs/results/fig1c/results.json``: loss rate and NashConv),
  ``gridworld-5x5`` (``scripts/gridworld_image.py``,
  ``docs/results/gridworld_5x5/results.json``) and ``dqn-variants``
  (``scripts/dqn_explore_variants.py``, ``docs/results/dqn_variants/*.json``,
  one table per game setup); files
  of ``--quick`` runs (``*_quick.json``) are skipped.

``--check`` only compares, and exits 1 when a block differs from what its
files give (the test suite runs it).

Usage:
    python scripts/readme_tables.py          # rewrite the blocks
    python scripts/readme_tables.py --check  # exit 1 if README is stale

To refresh the main job's numbers::

    mail-gym run --out docs/results/main_job --overwrite && python scripts/readme_tables.py
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def result_files(results: Path, pattern: str) -> list[Path]:
    """The committed (non-quick) JSON files matching ``pattern``, sorted.

    Raises:
        FileNotFoundError: If no file matches.
    """
    paths = sorted(p for p in results.glob(pattern) if not p.stem.endswith("_quick"))
    if not paths:
        raise FileNotFoundError(f"no result file matches {results / pattern}")
    return paths


def _source(path: Path, results: Path) -> str:
    """The file's path as the README names it (relative to the repository)."""
    for base in (ROOT, results.parent.parent):
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix()
    return path.as_posix()


def _ints(values: list[Any]) -> str:
    """Command-line values: ``[1, 2]`` -> ``1 2``."""
    return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _seeds(seeds: list[int]) -> str:
    return ", ".join(str(s) for s in seeds)


def _table(header: list[str], rows: list[list[str]], left: int = 2) -> str:
    """A markdown table, the first ``left`` columns left-aligned, the rest right."""
    align = ["---" if i < left else "---:" for i in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n"


def render_gridworld(paths: list[Path], results: Path) -> str:
    """Figure 1a or 1b of ``scripts/gridworld_lsvi.py``: one table per start.

    Cells: exact NashConv / max gain (the published metric), means over seeds.
    """
    parts = []
    # the published start (the default) first
    for path in sorted(paths, key=lambda p: "_published_" not in p.name):
        data = json.loads(path.read_text())
        config, game = data["config"], data["game"]
        budgets = config["budgets"]
        cells: dict[tuple[str, str], dict[int, str]] = {}
        for r in data["results"]:
            cells.setdefault((r["features"], r["method"]), {})[r["episodes"]] = (
                f"{r['nash_conv_mean']:.4f} / {r['max_gain_mean']:.4f}"
            )
        rows = [[f, m, *(by_k[k] for k in budgets)] for (f, m), by_k in cells.items()]
        command = (
            f"python scripts/gridworld_lsvi.py --figure {config['figure']} "
            f"--start {config['start']} --expert {config['expert']} "
            f"--features {_ints(config['features'])} "
            f"--budgets {_ints(budgets)} --seeds {_ints(config['seeds'])} "
            f"--out-dir {_source(path.parent, results)}"
        )
        parts.append(
            f"`{command}`\n\n"
            f"From `{_source(path, results)}`: {config['start']} start "
            f"{game['start']}, {game['expert']} expert, seeds "
            f"{_seeds(config['seeds'])}; NashConv / max gain, means over seeds:\n\n"
            + _table(["features", "method", *(f"K={k}" for k in budgets)], rows)
        )
    return "\n".join(parts)


def render_chain_lengths(paths: list[Path], results: Path) -> str:
    """Figure 2b over chain lengths (``scripts/tabular_dqn_explore.py``).

    Cells: NashConv mean [min, max] over seeds and the seeds whose explorer
    reached the gate.
    """
    parts = []
    for path in paths:
        data = json.loads(path.read_text())
        args, summary = data["args"], data["summary"]
        budgets, n = args["budgets"], len(args["seeds"])
        rows = []
        for panel, by_method in summary.items():
            for method, cells in by_method.items():
                rows.append(
                    [
                        panel,
                        method,
                        *(
                            f"{c['nash_conv_mean']:.4f} [{c['nash_conv_min']:.3f}, "
                            f"{c['nash_conv_max']:.3f}] ({c['gate_reached_seeds']}/{n})"
                            for c in cells
                        ),
                    ]
                )
        gains = ", ".join(
            f"{p} {g:.4f}" for p, g in data["chain_uniform_guard_gain"].items()
        )
        command = (
            "python scripts/tabular_dqn_explore.py --games chain --chain-lengths "
            f"{_ints(args['chain_lengths'])} --budgets {_ints(budgets)} --seeds "
            f"{_ints(args['seeds'])} --beta {args['beta']:g} --out-dir "
            f"{_source(path.parent, results)}"
        )
        parts.append(
            f"`{command}`\n\n"
            f"From `{_source(path, results)}` (seeds {_seeds(args['seeds'])}, "
            f"DQN bonus beta {args['beta']:g}): NashConv mean [min, max] over "
            "seeds (seeds whose explorer reached the gate); a guard without "
            f"gate labels leaves player_1 the gain {gains}:\n\n"
            + _table(["chain", "explorer", *(f"K={k}" for k in budgets)], rows)
        )
    return "\n".join(parts)


def render_lsvi_optimism(paths: list[Path], results: Path) -> str:
    """The beta sweep of ``scripts/lsvi_optimism.py``.

    Cells: NashConv mean over seeds, on the chain with the seeds whose
    explorer reached the gate; last column: the fraction of LSVI's decisions
    with every legal optimistic Q clipped at ``H``, per budget.
    """
    parts = []
    for path in paths:
        data = json.loads(path.read_text())
        config, summary = data["config"], data["summary"]
        budgets, n = config["budgets"], len(config["seeds"])
        rows = []
        for panel, by_method in summary.items():
            for method, cells in by_method.items():
                gate = [
                    f" ({c['gate_reached_seeds']}/{n})"
                    if "gate_reached_seeds" in c
                    else ""
                    for c in cells
                ]
                clipped = [c["clipped_fraction_mean"] for c in cells]
                rows.append(
                    [
                        panel,
                        method,
                        *(
                            f"{c['nash_conv_mean']:.4f}{g}"
                            for c, g in zip(cells, gate, strict=True)
                        ),
                        "-"
                        if None in clipped
                        else " / ".join(f"{x:.2f}" for x in clipped),
                    ]
                )
        horizons = ", ".join(f"{p} H={g['horizon']}" for p, g in data["games"].items())
        lengths = [
            g["chain_length"] for g in data["games"].values() if g["chain_length"]
        ]
        command = (
            f"python scripts/lsvi_optimism.py --betas {_ints(config['betas'])} "
            f"--budgets {_ints(budgets)} --seeds {_ints(config['seeds'])} "
            f"--games {_ints(config['games'])}"
            + (f" --chain-lengths {_ints(lengths)}" if lengths else "")
            + f" --expert {config['expert']} --out-dir "
            f"{_source(path.parent, results)}"
        )
        parts.append(
            f"`{command}`\n\n"
            f"From `{_source(path, results)}` (seeds {_seeds(config['seeds'])}, "
            f"lambda = {config['ridge']:g}, {horizons}, tabular features, "
            f"{config['expert']} expert): NashConv mean over seeds (seeds whose "
            "explorer reached the gate); clipped: share of LSVI's decisions "
            "with every legal Q at H, per K:\n\n"
            + _table(
                ["game", "explorer", *(f"K={k}" for k in budgets), "clipped at H"],
                rows,
            )
        )
    return "\n".join(parts)


def render_bench_pipeline(paths: list[Path], results: Path) -> str:
    """The main job's time split (``scripts/bench_pipeline.py``), reference vs current."""
    parts = []
    for path in paths:
        data = json.loads(path.read_text())
        args, runs = data["args"], data["results"]
        machine = data["machine"]
        rows = []
        for config, res in runs.items():
            split = res["split"]["all"]
            rows.append(
                [
                    config,
                    f"{res['elapsed_seconds']:.0f} s",
                    *(f"{split[part]:.1f} s" for part in ("explore", "bc", "evaluate")),
                    ", ".join(
                        f"{m} {_nash_by_budget(res['runs'], m)}"
                        for m in dict.fromkeys(r["method"] for r in res["runs"])
                    ),
                ]
            )
        ratio = ""
        if {"reference", "current"} <= set(runs):
            ref, cur = runs["reference"], runs["current"]
            ratio = (
                f" Reference / current: sweep "
                f"{ref['elapsed_seconds'] / cur['elapsed_seconds']:.1f}x, BC "
                f"{ref['split']['all']['bc'] / cur['split']['all']['bc']:.1f}x."
            )
        parts.append(
            f"From `{_source(path, results)}` (`python scripts/bench_pipeline.py`; "
            f"budgets {_ints(args['budgets'])}, seeds {_seeds(args['seeds'])}, "
            f"{args['workers']} workers, {machine['cpus']} CPUs, torch "
            f"{machine['torch']}; times are machine-dependent, summed over the "
            f"runs except the sweep's wall time).{ratio}\n\n"
            + _table(
                [
                    "settings",
                    "sweep",
                    "explore",
                    "BC",
                    "evaluate",
                    "NashConv per budget",
                ],
                rows,
            )
        )
    return "\n".join(parts)


def _rate(steps_per_second: float) -> str:
    """Steps/s, short: ``12.3M``, ``456k``, ``789``."""
    if steps_per_second >= 1e6:
        return f"{steps_per_second / 1e6:.1f}M"
    if steps_per_second >= 1e4:
        return f"{steps_per_second / 1e3:.0f}k"
    return f"{steps_per_second:,.0f}"


def render_bench_games(paths: list[Path], results: Path) -> str:
    """Batch engines vs pgx, PettingZoo and OpenSpiel (``scripts/bench_games.py``)."""
    parts = []
    for path in paths:
        data = json.loads(path.read_text())
        args, machine = data["args"], data["machine"]
        single = _bench_games_single(data)
        rates = {
            (r["game"], r["impl"], r["batch_size"]): r["steps_per_second"]
            for r in data["throughput"]
        }
        fused = next(
            (i for i in data["includes"] if i.startswith("pgx fused")), "pgx fused"
        )
        impls = [
            ("ours", "ours numpy"),
            ("ours +obs+mask", "ours numpy +obs+mask"),
            ("ours torch-cpu +obs+mask", "ours torch-cpu +obs+mask"),
            ("pgx step", "pgx (jax cpu)"),
            (fused.replace("pgx ", "pgx "), fused),
        ]
        rows = []
        for game in ("tictactoe", "connect4"):
            for batch in sorted({b for g, _, b in rates if g == game}):
                cells = [rates.get((game, impl, batch)) for _, impl in impls]
                ours, pgx = cells[1], cells[3]
                rows.append(
                    [
                        game,
                        f"{batch:,}",
                        *("-" if c is None else _rate(c) for c in cells),
                        f"{ours / pgx:.1f}x" if ours and pgx else "-",
                    ]
                )
        one = []
        for game in ("tictactoe", "connect4"):
            refs = ", ".join(
                f"{label} {_rate(rates[game, name, 1])}"
                for name, label in (
                    ("pettingzoo classic", "PettingZoo classic"),
                    ("openspiel", "OpenSpiel (C++)"),
                )
                if (game, name, 1) in rates
            )
            if refs:
                one.append(f"{game} {refs}")
        views = []
        for game, ref, impl, label in (
            (
                "tictactoe-vs-expert",
                "gymnasium.make (one env)",
                "make_vec (vector entry)",
                "TicTacToe-vs-expert VectorEnv",
            ),
            (
                "gridworld",
                "TabularParallelEnv (one)",
                "TabularBatch numpy",
                "grid-world TabularBatch",
            ),
        ):
            batch = max(b for g, i, b in rates if g == game and i == impl)
            base = rates[game, ref, 1]
            views.append(
                f"{label} {_rate(rates[game, impl, batch])} steps/s at {batch:,} "
                f"games ({rates[game, impl, batch] / base:.0f}x `{ref}`)"
            )
        experts, memory = data["experts"], data["memory"]
        parts.append(
            f"From `{_source(path, results)}` (`python scripts/bench_games.py "
            f"--json {_source(path, results)}`; {machine['cpus']} CPUs, torch "
            f"{machine['torch_threads']} thread, numpy "
            f"{machine['versions']['numpy']}, pgx "
            f"{machine['versions'].get('pgx', '-')} / jax "
            f"{machine['versions'].get('jax', '-')}; best of {args['rounds']} "
            f"interleaved rounds of {args['seconds']:g} s; every number is "
            "machine-dependent, the ratios too: jax may use every core, numpy "
            "and torch here one). Random legal moves with "
            "auto-reset; *ours* is the step alone, *+obs+mask* adds the mover's "
            "observation planes and action mask, which pgx's step also computes "
            "(the last column compares those two).\n\n"
            + _table(
                [
                    "game",
                    "batch",
                    *(name for name, _ in impls),
                    "+obs+mask / pgx step",
                ],
                rows,
            )
            + f"\nOne game at a time: {'; '.join(one)} steps/s. "
            + ". ".join(views)
            + ". Batched experts: Tic-Tac-Toe minimax "
            f"{experts['tictactoe_expert_state_lookup_us_per_position'] * 1e3:.0f} "
            "ns/position by engine state "
            f"({experts['tictactoe_expert_from_observations_us_per_position'] * 1e3:.0f}"
            " ns from observations); Connect4 solver "
            f"{experts['connect4_expert_cold_ms_per_position']:.1f} ms/position "
            f"first query, {experts['connect4_expert_cached_ms_per_position'] * 1e3:.0f}"
            " us cached. Memory of `Connect4Batch(65536)` (tracemalloc): state "
            f"{memory['connect4_65536_state_mb']:.1f} MB, one step's observation "
            f"and mask {memory['connect4_65536_observation_and_mask_mb']:.1f} MB, "
            f"peak while stepping {memory['connect4_65536_peak_mb']:.1f} MB "
            f"(lookup tables {memory['connect4_tables_mb']:.1f} MB, shared).\n" + single
        )
    return "\n".join(parts)


def _bench_games_single(data: dict[str, Any]) -> str:
    """The one-env part of ``bench_games.json``: a paragraph, or ``""`` if not run.

    Env steps/s vs PettingZoo classic, the exact Tic-Tac-Toe Nash gap vs
    OpenSpiel's ``nash_conv`` on the same table policy, and the latency of one
    Connect4 expert query (solver, LRU cache hit).
    """
    if not data["args"].get("single_env", True) or "tictactoe" not in data:
        return ""
    ttt, c4 = data["tictactoe"], data["connect4"]
    steps = data["args"]["steps"]
    envs = ", ".join(
        f"{label} {_rate(game['env']['ours_steps_per_second'])} vs "
        f"{_rate(game['env']['pettingzoo_steps_per_second'])} steps/s "
        f"({game['env']['speedup']:.1f}x)"
        for label, game in (("Tic-Tac-Toe", ttt), ("Connect4", c4))
    )
    spiel = (
        f"; OpenSpiel's `nash_conv` on the same table policy "
        f"{ttt['openspiel_nash_conv_ms'] / 1e3:.1f} s, same value to "
        f"{abs(ttt['openspiel_nash_conv'] - ttt['nash_conv_table']):.0e}"
        if "openspiel_nash_conv_ms" in ttt
        else ""
    )
    return (
        f"\nSingle AEC env (`mail/tictactoe-v0`, `mail/connect4-v0` vs "
        f"PettingZoo classic, {steps:,} random legal steps each): {envs}. Exact "
        "Tic-Tac-Toe Nash gap (median of "
        f"{data['args']['repeats']}): table policy "
        f"{ttt['nash_gap_table_ms']:.1f} ms, torch MLP "
        f"{ttt['nash_gap_mlp_ms']:.1f} ms{spiel}. Connect4 expert query "
        f"({c4['expert_positions']} positions): solver median "
        f"{c4['expert_solver_median_ms']:.2f} ms (p95 "
        f"{c4['expert_solver_p95_ms']:.0f} ms), cache hit median "
        f"{c4['expert_cache_hit_median_ms']:.2f} ms.\n"
    )


def _ms(milliseconds: float) -> str:
    """Milliseconds, short: ``6.31 ms``, ``26,254 ms``."""
    return (
        f"{milliseconds:,.0f} ms" if milliseconds >= 100 else f"{milliseconds:.2f} ms"
    )


def _versions(machine: dict[str, Any], names: tuple[str, ...]) -> str:
    """``numpy 2.4.6, scipy 1.16.0`` for the names the machine record holds."""
    versions = machine.get("versions", {})
    return ", ".join(f"{n} {versions[n]}" for n in names if n in versions)


def render_bench_solvers(paths: list[Path], results: Path) -> str:
    """Exact solvers on the Gridworld vs a per-state-LP Shapley loop (``scripts/bench_solvers.py``).

    Rows: ``solve_zero_sum`` per size, ``nash_gap`` on the 5x5 Gridworld per
    profile and the reference, with median wall and CPU times.
    """
    parts = []
    for path in paths:
        data = json.loads(path.read_text())
        args, machine, ref = data["args"], data["machine"], data["reference"]
        rows = [
            [
                f"`solve_zero_sum`, {size} Gridworld ({r['states']} states)",
                _ms(r["wall_ms"]),
                _ms(r["cpu_ms"]),
                f"{r['iterations']} outer iterations, NashConv {r['nash_conv']:.1e}",
            ]
            for size, r in data["solve_zero_sum"].items()
        ]
        rows += [
            [
                f"`nash_gap`, 5x5 Gridworld, {label} profile",
                _ms(r["wall_ms"]),
                _ms(r["cpu_ms"]),
                f"NashConv {r['nash_conv']:.4f}",
            ]
            for label, r in data["nash_gap_5x5"].items()
        ]
        rows.append(
            [
                f"reference: per-state `linprog` Shapley, {ref['game']}",
                _ms(ref["wall_ms"]),
                _ms(ref["cpu_ms"]),
                f"{ref['iterations']} iterations, max value difference "
                f"{ref['max_value_difference']:.0e}; **{ref['cpu_ratio']:,.0f}x** the "
                f"CPU time of `solve_zero_sum` ({ref['game']})",
            ]
        )
        parts.append(
            f"From `{_source(path, results)}` (`python scripts/bench_solvers.py "
            f"--reference-runs {args['reference_runs']} --gap-runs {args['gap_runs']} "
            f"--json {_source(path, results)}`; Gridworld without stay, gamma "
            f"{args['gamma']:g}, tolerance {args['tol']:g}; medians of "
            f"{args['solve_runs']} solves, {args['gap_runs']} `nash_gap` calls, "
            f"{args['reference_runs']} reference run(s); {machine['cpus']} CPUs, one "
            f"thread, {_versions(machine, ('numpy', 'scipy'))}; every time is "
            "machine-dependent, and so is the ratio, which also varies from run "
            "to run):\n\n"
            + _table(["what", "median wall", "median CPU", "notes"], rows, left=1)
        )
    return "\n".join(parts)


def render_bench_wrappers(paths: list[Path], results: Path) -> str:
    """Raw Tic-Tac-Toe env vs the wrapper stacks (``scripts/bench_wrappers.py``).

    Rows: moves/s (best and median round) and the cost relative to the raw env
    (best over best, median of the per-round ratios).
    """
    parts = []
    for path in paths:
        data = json.loads(path.read_text())
        args, machine, raw = data["args"], data["machine"], data["raw"]
        rows = [["raw env", f"{raw['best']:,.0f}", f"{raw['median']:,.0f}", "-", "1x"]]
        rows += [
            [
                name,
                f"{r['best']:,.0f}",
                f"{r['median']:,.0f}",
                f"{max(r['gym_steps_per_second']):,.0f}",
                f"{r['cost_best']:.2f}x / {r['cost_median']:.2f}x",
            ]
            for name, r in data["stacks"].items()
        ]
        target = data["target_cost"]
        full = data["stacks"].get("full stack (+ bonus), constant expert")
        verdict = (
            f" Target: the full stack with the constant expert costs at most "
            f"{target:g}x the raw env: "
            f"{'met' if full['cost_median'] <= target else 'missed'} "
            f"({full['cost_median']:.2f}x, median).\n"
            if full is not None
            else "\n"
        )
        parts.append(
            f"From `{_source(path, results)}` (`python scripts/bench_wrappers.py "
            f"--moves {args['moves']} --repeats {args['repeats']} --seed "
            f"{args['seed']} --json {_source(path, results)}`; {args['moves']:,} "
            f"Tic-Tac-Toe moves per measurement, {args['repeats']} interleaved "
            f"rounds, both players uniformly random; {machine['cpus']} CPUs, torch "
            f"{machine['torch_threads']} thread, "
            f"{_versions(machine, ('numpy', 'gymnasium', 'pettingzoo'))}; moves/s "
            "are machine-dependent, the cost ratios less so)."
            + verdict
            + "\n"
            + _table(
                [
                    "configuration",
                    "moves/s best",
                    "moves/s median",
                    "Gymnasium steps/s best",
                    "cost vs raw (best / median)",
                ],
                rows,
                left=1,
            )
        )
    return "\n".join(parts)


#: The issue's target for one LSVI-UCB-ZERO-BC run (K = 50, 3x3 Gridworld).
LSVI_TARGET_SECONDS = 0.5


def render_bench_lsvi(paths: list[Path], results: Path) -> str:
    """LSVI-UCB-ZERO-BC on the 3x3 Gridworld vs a naive reference (``scripts/bench_lsvi.py``).

    Rows: median seconds of exploring (with labelling), cloning, evaluating and
    the whole run, current code and reference, and their ratio.
    """
    parts = []
    for path in paths:
        data = json.loads(path.read_text())
        args, machine, game = data["args"], data["machine"], data["game"]
        current, reference = data["results"]["current"], data["results"]["reference"]
        columns = ("explore", "bc", "evaluate", "total")
        rows = [
            [label, *(f"{res['median'][c]:.4f} s" for c in columns)]
            for label, res in (("current", current), ("naive reference", reference))
        ]
        rows.append(
            ["reference / current", *(f"{data['ratio'][c]:.1f}x" for c in columns)]
        )
        total = current["median"]["total"]
        options = ", ".join(f"{k} {v}" for k, v in game["options"].items())
        command = (
            f"python scripts/bench_lsvi.py --episodes {args['episodes']} --seed "
            f"{args['seed']} --repeats {args['repeats']} --reference-repeats "
            f"{args['reference_repeats']} --features {args['features']}"
            + (" --quick" if args["quick"] else "")
            + f" --json {_source(path, results)}"
        )
        parts.append(
            f"From `{_source(path, results)}` (`{command}`; `{game['method']}` on "
            f"the {game['name']} ({options}), features {args['features']} (d = "
            f"{data['feature_dim']}), K = {args['episodes']} episodes per learning "
            f"player, seed {args['seed']}; medians of {args['repeats']} runs "
            f"(reference: {args['reference_repeats']}); {machine['cpus']} CPUs, "
            f"one thread, numpy {machine['numpy']}; seconds are "
            "machine-dependent, the ratios less so). Target: one run in at most "
            f"{LSVI_TARGET_SECONDS:g} s: "
            f"{'met' if total <= LSVI_TARGET_SECONDS else 'missed'} "
            f"({total:.3f} s). NashConv current {current['nash_conv']:.6g}, "
            f"reference {reference['nash_conv']:.6g}; same labelled data: "
            f"{'yes' if data['same_data'] else 'no'}.\n\n"
            + _table(["run", "explore", "BC", "evaluate", "total"], rows, left=1)
        )
    return "\n".join(parts)


def _g(values: Sequence[float], spec: str = ".3g") -> str:
    """``1 / 5 / 50``: values joined by slashes."""
    return " / ".join(format(v, spec) for v in values)


def render_theory(paths: list[Path], results: Path) -> str:
    """The claims of ``scripts/exploitability_theory.py``: one row per claim and game.

    Bergerault, Cevher & Mehr, "Matching Multiple Experts: On the
    Exploitability of Multi-Agent Imitation Learning": state matching (XOR
    game), the dominant-strategy bound and the expected-error form (public
    goods, chain), best-response continuity ``delta(eps)``, regularized
    (logit) equilibria and feature concentrability ``C(phi)``.
    """
    parts = []
    for found in paths:
        path = found.resolve()  # theory.json is found as docs/results/../theory
        data = json.loads(path.read_text())
        xor = list(zip(*data["xor"], strict=True))
        gammas, tv_state, tv_sa, gain, formula = xor
        bound = data["dominant_bound"]["rows"]
        chain = data["chain_expected_form"]
        cont = data["continuity"]
        reg = data["regularized"]
        taus, expert_gap, added_logit, added_nash = zip(*reg["rows"], strict=True)
        conc = data["concentrability"]
        ridges, budgets = conc["ridges"], conc["budgets"]
        rows = [
            [
                "state matching is not enough",
                f"XOR coordination, gamma {_g(gammas)}",
                f"TV of state occupancies {_g(tv_state, '.2g')}; TV of player_0's "
                f"state-action occupancy {_g(tv_sa)}; player_1's gain "
                f"{_g(gain)} (`1/(2(1-gamma))` = {_g(formula)})",
            ],
            [
                "dominant-strategy bound",
                f"public goods, n = {_g([r[0] for r in bound])}",
                f"largest NashConv / bound {_g([r[2] for r in bound], '.2g')}; "
                f"violations {_g([r[3] for r in bound])}",
            ],
            [
                "expected BC error is no bound",
                f"chain, {len(chain)} profiles erring off the expert's support",
                f"expected error {_g(sorted({r[1] for r in chain}), '.2g')}; "
                f"NashConv up to {max(r[2] for r in chain):.3f}",
            ],
            *(
                [
                    "best-response continuity `delta(eps)`",
                    game,
                    f"eps {_g(cont['eps'], 'g')}: delta {_g(delta, '.2g')}",
                ]
                for game, delta in cont["delta"].items()
            ),
            [
                "regularized (logit) experts",
                f"{reg['num_games']} random zero-sum games, tau {_g(taus, 'g')}",
                f"Nash gap of the logit expert {_g(expert_gap)}; NashConv added by "
                f"imitation with worst-state TV {reg['eps_bc']:g}: logit expert "
                f"{_g(added_logit, '.2f')}, Nash expert {_g(added_nash, '.2f')}",
            ],
            *(
                [
                    "feature concentrability `C(phi)`",
                    f"3x3 Gridworld, {name} features (d = {d})",
                    f"C at ridge {_g(ridges, 'g')}: {_g([c_large, c_small])} "
                    f"(x{growth:.3g}); NashConv of expert-data BC at K = "
                    f"{_g(budgets, 'd')}: {_g(gaps, '.2g')}",
                ]
                for name, d, c_large, c_small, growth, *gaps in conc["rows"]
            ),
        ]
        quick = " (a `--quick` run)" if data["quick"] else ""
        parts.append(
            f"From `{_source(path, results)}`{quick} (`python "
            f"scripts/exploitability_theory.py --seed {data['seed']} --out "
            f"{_source(path.parent, results)}`; seed {data['seed']}; the run took "
            f"{data['wall_time_s']:.0f} s, machine-dependent; every other number "
            "is exact or seeded, not timed):\n\n"
            + _table(["claim", "game", "measured"], rows, left=3)
        )
    return "\n".join(parts)


def _nash_by_budget(runs: list[dict[str, Any]], method: str) -> str:
    """``a/b/c``: the method's NashConv at each budget (mean over seeds)."""
    budgets = sorted({r["budget"] for r in runs if r["method"] == method})
    return "/".join(
        f"{sum(v) / len(v):g}"
        for v in (
            [r["nash_conv"] for r in runs if r["method"] == method and r["budget"] == b]
            for b in budgets
        )
    )


def fig1c_command(path: Path, results: Path) -> str:
    """The ``scripts/fig1c.py`` line that wrote ``path`` (from its configuration)."""
    config = json.loads(path.read_text())["config"]
    options = config["game_options"]
    return (
        f"python scripts/fig1c.py --budgets {_ints(config['budgets'])} --seeds "
        f"{_ints(config['seeds'])} --methods {_ints(config['methods'])} "
        f"--noise-prob {options['noise_prob']:g} --uniform-weight "
        f"{options['uniform_weight']:g} --out {_source(path.parent, results)}"
    )


def render_fig1c(paths: list[Path], results: Path) -> str:
    """Figure 1c both ways (``scripts/fig1c.py``): loss rate and NashConv per budget.

    Cells: the learned first seat's loss rate against the noisy expert (the
    paper's reading) / the exact NashConv of the learned profile (ours), means
    over seeds.
    """
    parts = []
    for path in paths:
        data = json.loads(path.read_text())
        if data.get("quick"):
            raise ValueError(f"{path} holds a --quick smoke run, not a result")
        config, readings = data["config"], data["readings"]
        budgets = [str(b) for b in config["budgets"]]
        loss, nash = readings["loss:first"], readings["nash_conv"]
        rows = [
            [
                method,
                *(
                    f"{loss[method][b]['mean']:.3f} / {nash[method][b]['mean']:.3f}"
                    for b in budgets
                ),
            ]
            for method in config["methods"]
        ]
        refs = ", ".join(
            f"{name} {ref['loss']:.3f}" for name, ref in data["references"].items()
        )
        parts.append(
            f"`{fig1c_command(path, results)}`\n\n"
            f"From `{_source(path, results)}` (seeds {_seeds(config['seeds'])}; "
            f"budgets {_ints(config['budgets'])} expert-labelled games per learning "
            "seat; exact evaluation). Faithful reading (the paper's plot): the "
            "learned first seat's loss rate against the noisy expert (reference "
            f"loss rates: {refs}); our reading: the exact NashConv of the learned "
            "profile (game value 0). Cells: loss rate / NashConv, means over "
            "seeds:\n\n" + _table(["method", *(f"K={b}" for b in budgets)], rows)
        )
    return "\n".join(parts)


def render_dqn_variants(paths: list[Path], results: Path) -> str:
    """Uniform vs our DQN-Explore vs the published one (``scripts/dqn_explore_variants.py``).

    One table per game setup (the chain per length): exact NashConv, mean
    [min, max] over seeds, and the distinct labelled states per player (mean
    over seeds and players), per method and budget.
    """

    def order(path: Path) -> tuple[str, int]:  # chain4 before chain16
        digits = re.search(r"(\d+)$", path.stem)
        stem = path.stem[: digits.start()] if digits else path.stem
        return stem, int(digits.group(1)) if digits else 0

    parts = []
    for path in sorted(paths, key=order):
        result = PipelineResult.from_json(path)
        config = result.config
        methods = list(dict.fromkeys(r.method for r in result.records))
        budgets = sorted({r.budget for r in result.records})
        summary = result.summary("nash_conv")
        rows = []
        for method in methods:
            cells = [method]
            for budget in budgets:
                mean, low, high = summary[method][budget]
                states = [
                    sum(r.distinct_states) / len(r.distinct_states)
                    for r in result.records
                    if r.method == method and r.budget == budget
                ]
                cells.append(
                    f"{mean:.3f} [{low:.3f}, {high:.3f}] "
                    f"({sum(states) / len(states):.1f})"
                )
            rows.append(cells)
        options = ", ".join(f"{k}={v}" for k, v in config["game_options"].items())
        unit = config.get("unit", "games")
        parts.append(
            f"{result.game}{f' ({options})' if options else ''}, from "
            f"`{_source(path, results)}` (seeds {_seeds(config['seeds'])}; K = "
            f"expert-labelled {unit} per learning player; NashConv mean [min, max] "
            "(distinct labelled states)):\n\n"
            + _table(["method", *(f"K={b}" for b in budgets)], rows)
        )
    return "\n".join(parts)


def gridworld_image_command(path: Path) -> str:
    """The ``scripts/gridworld_image.py`` line that wrote ``path`` (its ``script_args``)."""
    sa = json.loads(path.read_text())["script_args"]
    return (
        f"python scripts/gridworld_image.py --budgets {_ints(sa['budgets'])} "
        f"--seeds {_ints(sa['seeds'])} --methods {_ints(sa['methods'])} --bc-head "
        f"{sa['bc_head']} --bc-min-steps {sa['bc_min_steps']} --out {sa['out']} "
        f"--work {sa['work']}"
    )


def render_gridworld_image(paths: list[Path], results: Path) -> str:
    """Figure 2a's 5x5 image Gridworld (``scripts/gridworld_image.py``): its command and tables."""
    return "\n".join(
        f"`{gridworld_image_command(path)}`\n\n"
        + render(PipelineResult.from_json(path), _source(path, results))
        for path in paths
    )


#: Blocks rendered from a reproduction script's files: name -> (glob, renderer).
SCRIPT_BLOCKS: dict[str, tuple[str, Callable[[list[Path], Path], str]]] = {
    "gridworld-fig1a": ("gridworld/gridworld3_fig1a_*.json", render_gridworld),
    "gridworld-fig1b": ("gridworld/gridworld3_fig1b_*.json", render_gridworld),
    "chain-lengths": ("chain_lengths/*.json", render_chain_lengths),
    "lsvi-optimism": ("lsvi_optimism/*.json", render_lsvi_optimism),
    "bench-pipeline": ("bench_pipeline/*.json", render_bench_pipeline),
    "bench-games": ("bench_games/*.json", render_bench_games),
    "bench-solvers": ("bench_solvers/*.json", render_bench_solvers),
    "bench-wrappers": ("bench_wrappers/*.json", render_bench_wrappers),
    "bench-lsvi": ("bench_lsvi/*.json", render_bench_lsvi),
    # theory.json lives next to the theory plots, outside docs/results
    "theory": ("../theory/theory.json", render_theory),
    "fig1c": ("fig1c/results.json", render_fig1c),
    "gridworld-5x5": ("gridworld_5x5/results.json", render_gridworld_image),
    "dqn-variants": ("dqn_variants/*.json", render_dqn_variants),
}


def render_block(name: str, results: Path) -> str:
    """The body of block ``name`` from its committed files."""
    if name in SCRIPT_BLOCKS:
        pattern, renderer = SCRIPT_BLOCKS[name]
        return renderer(result_files(results, pattern), results)
    path = results / name / "results.json"
    return render(PipelineResult.from_json(path), _source(path, results))


def updated(readme: str, results: Path) -> str:
    """README text with every generated block rendered from its result files."""

    def block(match: re.Match[str]) -> str:
        body = render_block(match["name"], results)
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
