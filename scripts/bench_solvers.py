"""Benchmark of the exact solvers on the Gridworld (plain script, top to bottom).

Times (median of several runs, one CPU thread):

* the zero-sum equilibrium of the 3x3 and 5x5 Gridworld (``solve_zero_sum``,
  Hoffman–Karp strategy iteration), with its exact NashConv;
* one ``nash_gap`` call on the 5x5 Gridworld, for the equilibrium and for the
  uniform profile;
* as the in-run reference, a straightforward Shapley value iteration on the
  3x3 Gridworld that solves one ``scipy.optimize.linprog`` per state per
  iteration, and the speed-up over it.

Usage:
    python scripts/bench_solvers.py [--reference-runs 1]
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread: set before numpy (and scipy, torch) are imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linprog

from mail_envs.core import TabularMarkovGame
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


def parse_args() -> Args:
    """The command-line flags (the other fields keep their defaults)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-runs", type=int, default=Args.reference_runs)
    parser.add_argument("--gap-runs", type=int, default=Args.gap_runs)
    cli = parser.parse_args()
    return Args(reference_runs=cli.reference_runs, gap_runs=cli.gap_runs)


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, float, object]:
    """Median wall and CPU (this process) time of ``runs`` calls, last result.

    The CPU time is what the call costs on an idle machine; the wall time also
    counts waiting for a core when the machine is shared.
    """
    wall, cpu, out = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), float(np.median(cpu)), out


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
    games: dict[int, TabularMarkovGame], args: Args
) -> tuple[list[Row], dict[int, Equilibrium], dict[int, float]]:
    """Time ``solve_zero_sum`` on each game: rows, equilibria, median CPU seconds."""
    rows: list[Row] = []
    equilibria, solve_seconds = {}, {}
    for size, game in games.items():
        seconds, cpu, eq = median_time(
            lambda game=game: solve_zero_sum(game, tol=args.tol), args.solve_runs
        )
        equilibria[size], solve_seconds[size] = eq, cpu
        gap = nash_gap(game, eq.policies).nash_conv
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
    game5: TabularMarkovGame, equilibrium: Equilibrium, args: Args
) -> list[Row]:
    """Time ``nash_gap`` on the 5x5 Gridworld, equilibrium and uniform profile."""
    rows: list[Row] = []
    uniform = [game5.uniform_policy(0), game5.uniform_policy(1)]
    for label, profile in (("equilibrium", equilibrium.policies), ("uniform", uniform)):
        nash_gap(game5, profile)  # warm-up
        seconds, cpu, result = median_time(
            lambda profile=profile: nash_gap(game5, profile), args.gap_runs
        )
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
) -> Row:
    """Time the per-state-linprog Shapley reference on the 3x3 Gridworld."""
    ref_seconds, ref_cpu, (ref_values, ref_iterations) = median_time(
        lambda: per_state_lp_shapley(game3, args.tol), args.reference_runs
    )
    agree = np.abs(ref_values - equilibrium.values[0]).max()
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


def main() -> None:
    """Run the solver benchmarks with the command-line configuration."""
    args = parse_args()
    torch.set_num_threads(1)
    games = {
        size: make_gridworld_game(size=size, allow_stay=False, gamma=args.gamma)
        for size in (3, 5)
    }
    rows, equilibria, solve_seconds = bench_solve_zero_sum(games, args)
    rows += bench_nash_gap(games[5], equilibria[5], args)
    rows.append(bench_reference(games[3], equilibria[3], solve_seconds[3], args))
    print_table(rows)


if __name__ == "__main__":
    main()
