"""Benchmark of the exact solvers on the Gridworld (plain script, top to bottom).

Times (median of several runs, one CPU thread):

* the zero-sum equilibrium of the 3x3 and 5x5 Gridworld (``solve_zero_sum``,
  Hoffman–Karp strategy iteration), with its exact NashConv;
* one ``nash_gap`` call on the 5x5 Gridworld, for the equilibrium and for the
  uniform profile;
* as the in-run reference, a straightforward Shapley value iteration on the
  3x3 Gridworld that solves one ``scipy.optimize.linprog`` per state per
  iteration, and the speed-up over it.

With ``--json PATH`` it also writes the numbers, the configuration and the
machine (CPUs, library versions: every time is machine-dependent) there; the
README's Benchmarks block is rendered from that file by
``scripts/readme_tables.py``.

Usage:
    python scripts/bench_solvers.py [--reference-runs 1] [--gap-runs 50]
        [--json docs/results/bench_solvers/bench_solvers.json]
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread: set before numpy (and scipy, torch) are imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from scipy.optimize import linprog

from agents.common import machine_info
from mail_envs.core import TabularMarkovGame
from mail_envs.files import atomic_write_text
from mail_envs.gridworld import make_gridworld_game
from mail_envs.solvers import Equilibrium, nash_gap, solve_zero_sum

Row = tuple[str, str, str, str]
"""One line of the table: what, median wall, median CPU, notes."""


@dataclass(frozen=True)
class Args:
    """The whole configuration of the benchmark."""

    gamma: float = 0.9
    solve_runs: int = 5
    gap_runs: int = 50
    reference_runs: int = 1
    tol: float = 1e-10
    json: str | None = None
    """Write the numbers here as JSON (no file when ``None``)."""


def parse_args(argv: list[str] | None = None) -> Args:
    """The command-line flags (the other fields keep their defaults)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-runs", type=int, default=Args.reference_runs)
    parser.add_argument("--gap-runs", type=int, default=Args.gap_runs)
    parser.add_argument("--json", default=None, help="write the numbers here")
    cli = parser.parse_args(argv)
    for name in ("reference_runs", "gap_runs"):
        if getattr(cli, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return Args(reference_runs=cli.reference_runs, gap_runs=cli.gap_runs, json=cli.json)


T = TypeVar("T")


def median_time(fn: Callable[[], T], runs: int) -> tuple[float, float, T]:
    """Median wall and CPU (this process) time of ``runs`` calls, last result.

    The CPU time is what the call costs on an idle machine; the wall time also
    counts waiting for a core when the machine is shared.
    """
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs!r}")
    wall: list[float] = []
    cpu: list[float] = []
    outs: list[T] = []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        outs.append(fn())
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if len(outs) > 1:
            del outs[0]  # keep only the last result
    return float(np.median(wall)), float(np.median(cpu)), outs[-1]


def per_state_lp_shapley(game: TabularMarkovGame, tol: float) -> tuple[np.ndarray, int]:
    """Reference: Shapley value iteration with one linprog per state and iteration."""
    a0, a1 = game.num_actions
    values = np.zeros(game.num_states)
    for iteration in range(1, 100_000):
        new = np.empty_like(values)
        for s in range(game.num_states):
            q = game.rewards[0, s] + game.gamma * (
                game.next_probs[s] * values[game.next_states[s]]
            ).sum(axis=1)
            q = q.reshape(a0, a1)[
                np.ix_(game.legal_masks[0][s], game.legal_masks[1][s])
            ]
            m, k = q.shape
            res = linprog(
                np.r_[np.zeros(m), -1.0],
                A_ub=np.hstack([-q.T, np.ones((k, 1))]),
                b_ub=np.zeros(k),
                A_eq=np.r_[np.ones(m), 0.0][None],
                b_eq=[1.0],
                bounds=[(0, None)] * m + [(None, None)],
                method="highs",
            )
            new[s] = res.x[-1]
        residual = np.abs(new - values).max()
        values = new
        if residual <= tol:
            return values, iteration
    raise RuntimeError("reference Shapley iteration did not converge")


def bench_solve_zero_sum(
    games: dict[int, TabularMarkovGame], args: Args, record: dict[str, Any]
) -> tuple[list[Row], dict[int, Equilibrium], dict[int, float]]:
    """Time ``solve_zero_sum`` on each game: rows, equilibria, median CPU seconds.

    Also fills ``record["solve_zero_sum"]`` (one entry per size).
    """
    rows: list[Row] = []
    equilibria, solve_seconds = {}, {}
    record["solve_zero_sum"] = {}
    for size, game in games.items():
        seconds, cpu, eq = median_time(
            partial(solve_zero_sum, game, tol=args.tol), args.solve_runs
        )
        equilibria[size], solve_seconds[size] = eq, cpu
        gap = nash_gap(game, eq.policies).nash_conv
        record["solve_zero_sum"][f"{size}x{size}"] = {
            "states": game.num_states,
            "wall_ms": seconds * 1e3,
            "cpu_ms": cpu * 1e3,
            "iterations": int(eq.iterations),
            "nash_conv": float(gap),
        }
        rows.append(
            (
                f"solve_zero_sum, {size}x{size} Gridworld ({game.num_states} states)",
                f"{seconds * 1e3:9.2f} ms",
                f"{cpu * 1e3:9.2f} ms",
                f"{eq.iterations} outer iterations, NashConv {gap:.1e}",
            )
        )
    return rows, equilibria, solve_seconds


def bench_nash_gap(
    game5: TabularMarkovGame,
    equilibrium: Equilibrium,
    args: Args,
    record: dict[str, Any],
) -> list[Row]:
    """Time ``nash_gap`` on the 5x5 Gridworld, equilibrium and uniform profile.

    Also fills ``record["nash_gap_5x5"]`` (one entry per profile).
    """
    rows: list[Row] = []
    record["nash_gap_5x5"] = {}
    uniform = [game5.uniform_policy(0), game5.uniform_policy(1)]
    for label, profile in (("equilibrium", equilibrium.policies), ("uniform", uniform)):
        nash_gap(game5, profile)  # warm-up
        seconds, cpu, result = median_time(
            partial(nash_gap, game5, profile), args.gap_runs
        )
        record["nash_gap_5x5"][label] = {
            "wall_ms": seconds * 1e3,
            "cpu_ms": cpu * 1e3,
            "nash_conv": float(result.nash_conv),
        }
        rows.append(
            (
                f"nash_gap, 5x5 Gridworld, {label} profile",
                f"{seconds * 1e3:9.2f} ms",
                f"{cpu * 1e3:9.2f} ms",
                f"NashConv {result.nash_conv:.6f}",
            )
        )
    return rows


def bench_reference(
    game3: TabularMarkovGame,
    equilibrium: Equilibrium,
    solve_cpu_seconds: float,
    args: Args,
    record: dict[str, Any],
) -> Row:
    """Time the per-state-linprog Shapley reference on the 3x3 Gridworld.

    Also fills ``record["reference"]``.
    """
    ref_seconds, ref_cpu, (ref_values, ref_iterations) = median_time(
        lambda: per_state_lp_shapley(game3, args.tol), args.reference_runs
    )
    agree = np.abs(ref_values - equilibrium.values[0]).max()
    record["reference"] = {
        "game": "3x3",
        "wall_ms": ref_seconds * 1e3,
        "cpu_ms": ref_cpu * 1e3,
        "iterations": int(ref_iterations),
        "max_value_difference": float(agree),
        "cpu_ratio": ref_cpu / solve_cpu_seconds,
    }
    return (
        "reference: per-state linprog Shapley, 3x3",
        f"{ref_seconds * 1e3:9.2f} ms",
        f"{ref_cpu * 1e3:9.2f} ms",
        f"{ref_iterations} iterations, |dV| {agree:.1e}, "
        f"{ref_cpu / solve_cpu_seconds:,.0f}x the CPU time of solve_zero_sum",
    )


def print_table(rows: list[Row]) -> None:
    """Print the rows as a table with a header line."""
    width = max(len(r[0]) for r in rows)
    print(f"{'what'.ljust(width)}  {'median wall':>12}  {'median CPU':>12}  notes")
    for what, wall_text, cpu_text, notes in rows:
        print(f"{what.ljust(width)}  {wall_text:>12}  {cpu_text:>12}  {notes}")


def machine() -> dict[str, Any]:
    """Where the numbers come from (every timing is machine-dependent)."""
    return machine_info("scipy")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the solver benchmarks with the command-line configuration.

    Returns:
        The numbers as written to ``--json``.
    """
    args = parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    games = {
        size: make_gridworld_game(size=size, allow_stay=False, gamma=args.gamma)
        for size in (3, 5)
    }
    record: dict[str, Any] = {
        "args": dataclasses.asdict(args),
        "game": {"name": "gridworld", "allow_stay": False, "gamma": args.gamma},
        "machine": machine(),
    }
    rows, equilibria, solve_seconds = bench_solve_zero_sum(games, args, record)
    rows += bench_nash_gap(games[5], equilibria[5], args, record)
    rows.append(
        bench_reference(games[3], equilibria[3], solve_seconds[3], args, record)
    )
    print_table(rows)
    record["wall_seconds"] = time.perf_counter() - start
    if args.json is not None:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(record, indent=2) + "\n")
        print(f"wrote {path}")
    return record


if __name__ == "__main__":
    main()
