"""The interactive-MAIL pipeline: run imitation methods over budgets, evaluate exactly.

One :class:`Pipeline` runs every (method, budget, seed) combination on a game
with an exact model and returns a frozen :class:`PipelineResult`: for every
run the expert queries per player (the sizes of the BC datasets), the exact
NashConv and per-player gains of the learned profile, and the wall time. The
result writes itself as JSON (atomically) and as a PNG plot of NashConv
against the number of expert-labelled games.

Methods by game:

* ``tictactoe`` — ``bc`` (BC on expert self-play games), ``uniform``
  (uniform-exploration BC), ``dqn-explore`` (DQN-Explore-BC); the budget is
  expert-labelled games per player; BC is the small CNN
  (:func:`agents.dqn_explore.run_tictactoe_comparison`), by default on the 8
  board symmetries of every label (``augment``: no extra expert query; the
  same for every method).
* ``gridworld`` (3x3, tabular features, horizon-10 episodes) — ``bc``,
  ``uniform``, ``lsvi-ucb-zero`` (LSVI-UCB-ZERO-BC); the budget is episodes per
  learning player; BC is the softmax-linear policy over the features.
* ``chain`` (``N = 8``, two actions, seed 0: the game where only one secret
  8-step sequence reaches the gate, the state where a guard without data
  errs) — ``bc`` (the other seat plays its own expert), ``uniform``,
  ``dqn-explore``, played in the env (50-step episodes); the budget is games
  per learning player; BC is an MLP on the one-hot states, and a player with
  no labelled decision gets the uniform policy
  (:mod:`agents.tabular_explore`).

### Version History

* v0: initial release.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from mail_envs.files import atomic_savefig, atomic_write_text

__all__ = ["GAME_METHODS", "Pipeline", "PipelineResult", "RunRecord"]

#: The methods each game supports, in the order they are run and plotted.
GAME_METHODS: dict[str, tuple[str, ...]] = {
    "tictactoe": ("bc", "uniform", "dqn-explore"),
    "gridworld": ("bc", "uniform", "lsvi-ucb-zero"),
    "chain": ("bc", "uniform", "dqn-explore"),
}

#: Names used by :func:`agents.dqn_explore.run_tictactoe_comparison`.
_TICTACTOE_NAMES = {
    "bc": "self_play",
    "uniform": "uniform",
    "dqn-explore": "dqn_explore",
}


@dataclass(frozen=True)
class RunRecord:
    """One learned profile.

    Attributes:
        method: The method's name (see :data:`GAME_METHODS`).
        budget: Expert-labelled games (or episodes) per learning player.
        seed: The run's seed.
        nash_conv: Exact NashConv of the learned profile.
        gains: Each player's exact gain from deviating.
        num_queries: Expert queries per player (= BC dataset sizes).
        distinct_states: Distinct labelled states (boards) per player: how
            much of the game the data covers.
        wall_seconds: Wall time of data collection, BC and evaluation.
    """

    method: str
    budget: int
    seed: int
    nash_conv: float
    gains: tuple[float, ...]
    num_queries: tuple[int, ...]
    distinct_states: tuple[int, ...]
    wall_seconds: float


@dataclass(frozen=True)
class PipelineResult:
    """All runs of a :class:`Pipeline`, with its configuration.

    Attributes:
        game: The game's name.
        records: One :class:`RunRecord` per (seed, budget, method).
        config: The pipeline's settings (methods, budgets, seeds, device).
    """

    game: str
    records: tuple[RunRecord, ...]
    config: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[int, tuple[float, float, float]]]:
        """Mean, min and max NashConv over seeds, per method and budget."""
        out: dict[str, dict[int, tuple[float, float, float]]] = {}
        for method in dict.fromkeys(r.method for r in self.records):
            out[method] = {}
            for budget in sorted({r.budget for r in self.records}):
                gaps = [
                    r.nash_conv
                    for r in self.records
                    if r.method == method and r.budget == budget
                ]
                if gaps:
                    out[method][budget] = (
                        float(np.mean(gaps)),
                        float(np.min(gaps)),
                        float(np.max(gaps)),
                    )
        return out

    def table(self) -> str:
        """A text table: budget, mean expert queries, mean NashConv per method."""
        methods = list(dict.fromkeys(r.method for r in self.records))
        budgets = sorted({r.budget for r in self.records})
        summary = self.summary()
        header = f"{'budget':>7}{'queries/player':>16}" + "".join(
            f"{m + ' NashConv':>24}" for m in methods
        )
        lines = [header]
        for budget in budgets:
            queries = [
                np.mean(r.num_queries) for r in self.records if r.budget == budget
            ]
            cells = []
            for m in methods:
                mean, low, high = summary[m].get(budget, (np.nan,) * 3)
                spread = f" [{low:.3f},{high:.3f}]" if high > low else ""
                cells.append(f"{f'{mean:.4f}{spread}':>24}")
            lines.append(f"{budget:>7}{np.mean(queries):>16.0f}" + "".join(cells))
        return "\n".join(lines)

    def coverage_table(self) -> str:
        """A text table: budget, mean distinct labelled states per player, per method."""
        methods = list(dict.fromkeys(r.method for r in self.records))
        budgets = sorted({r.budget for r in self.records})
        lines = [f"{'budget':>7}" + "".join(f"{m:>16}" for m in methods)]
        for budget in budgets:
            cells = []
            for m in methods:
                counts = [
                    np.mean(r.distinct_states)
                    for r in self.records
                    if r.method == m and r.budget == budget
                ]
                cells.append(f"{np.mean(counts) if counts else np.nan:>16.1f}")
            lines.append(f"{budget:>7}" + "".join(cells))
        return "\n".join(lines)

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the result as JSON, atomically (temp file + rename)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "game": self.game,
            "config": self.config,
            "records": [asdict(r) for r in self.records],
            "summary": {
                m: {
                    str(b): dict(zip(("mean", "min", "max"), v, strict=True))
                    for b, v in s.items()
                }
                for m, s in self.summary().items()
            },
        }
        return atomic_write_text(target, json.dumps(payload, indent=2))

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> PipelineResult:
        """Load a result written by :meth:`to_json` (plain JSON, no pickle).

        Raises:
            ValueError: If the file is not a pipeline result (a missing or
                unexpected key is named).
        """
        payload = json.loads(Path(path).read_text())
        missing = {"game", "config", "records"} - set(payload)
        if missing:
            raise ValueError(
                f"{path}: not a pipeline result, missing {sorted(missing)}"
            )
        fields = {f.name for f in dataclasses.fields(RunRecord)}
        records = []
        for k, raw in enumerate(payload["records"]):
            if set(raw) != fields:
                raise ValueError(
                    f"{path}: record {k} has keys {sorted(raw)}, expected {sorted(fields)}"
                )
            records.append(
                RunRecord(
                    **{
                        **raw,
                        "gains": tuple(raw["gains"]),
                        "num_queries": tuple(raw["num_queries"]),
                        "distinct_states": tuple(raw["distinct_states"]),
                    }
                )
            )
        return cls(payload["game"], tuple(records), dict(payload["config"]))

    def plot(self, path: str | os.PathLike[str]) -> Path:
        """Plot NashConv (mean and min-max band over seeds) against the budget."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(6, 4))
        for method, per_budget in self.summary().items():
            budgets = sorted(per_budget)
            mean, low, high = (
                np.array([per_budget[b][k] for b in budgets]) for k in range(3)
            )
            ax.plot(budgets, mean, marker="o", label=method)
            ax.fill_between(budgets, low, high, alpha=0.2)
        seeds = self.config.get("seeds", sorted({r.seed for r in self.records}))
        unit = "episodes" if self.game == "gridworld" else "games"
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set(
            xscale="log",
            xlabel=f"expert-labelled {unit} per learning player",
            ylabel="exact NashConv of the learned profile",
            title=f"{self.game}: seeds {list(seeds)}"
            + (", BC on the 8 board symmetries" if self.config.get("augment") else ""),
        )
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        try:
            return atomic_savefig(fig, target, dpi=120, format="png")
        finally:
            plt.close(fig)


class Pipeline:
    """Run imitation methods over budgets and seeds; evaluate each profile exactly.

    Args:
        game: ``"tictactoe"``, ``"gridworld"`` or ``"chain"``.
        methods: Methods to run (default: all of the game's, see
            :data:`GAME_METHODS`).
        budgets: Expert-labelled games (episodes) per learning player.
        seeds: Seeds; every (method, budget, seed) is an independent run.
        device: Torch device for the neural methods (``"auto"``: CUDA when
            present).
        augment: Tic-Tac-Toe only: clone on the 8 board symmetries of each
            expert label (:func:`agents.dqn_explore.dihedral_augment`).
        progress: Show a tqdm progress bar.
        workers: Processes that run the (method, budget, seed) runs in
            parallel (1: in this process). Every run seeds itself, so the
            records do not depend on ``workers`` (with a fixed ``threads``).
            Single-threaded CPU workers are forked; with CUDA or several
            threads they are spawned (neither CUDA nor torch's OpenMP pool
            survives a fork), which re-imports the caller's main module: guard
            a script's entry point with ``if __name__ == "__main__":``.
        threads: Torch CPU threads of each run (None: leave the setting alone
            in this process, 1 in workers). Small networks run fastest on one;
            float results can differ in the last bits between thread counts.

    Raises:
        ValueError: If the game or a method is unknown, a budget or seed list
            is empty or holds a non-positive budget, or ``workers`` or
            ``threads`` is not a positive integer.

    Example:
        >>> result = Pipeline(game="gridworld", budgets=[5], progress=False).run()
        >>> sorted({r.method for r in result.records})
        ['bc', 'lsvi-ucb-zero', 'uniform']
    """

    def __init__(
        self,
        *,
        game: str = "tictactoe",
        methods: Sequence[str] | None = None,
        budgets: Sequence[int] = (100, 300, 1000),
        seeds: Sequence[int] = (0,),
        device: str = "auto",
        augment: bool = True,
        progress: bool = True,
        workers: int = 1,
        threads: int | None = None,
    ) -> None:
        if game not in GAME_METHODS:
            raise ValueError(
                f"game must be one of {sorted(GAME_METHODS)}, got {game!r}"
            )
        known = GAME_METHODS[game]
        methods = tuple(known if methods is None else methods)
        unknown = [m for m in methods if m not in known]
        if unknown or not methods:
            raise ValueError(
                f"methods for {game!r} must be a non-empty subset of {known}, "
                f"got {list(methods)}"
            )
        budgets = tuple(int(b) for b in budgets)
        if not budgets or min(budgets) < 1:
            raise ValueError(f"budgets must be positive integers, got {list(budgets)}")
        seeds = tuple(int(s) for s in seeds)
        if not seeds:
            raise ValueError("seeds must not be empty")
        for name, values in (
            ("methods", methods),
            ("budgets", budgets),
            ("seeds", seeds),
        ):
            if len(set(values)) != len(values):
                raise ValueError(f"{name} must be distinct, got {list(values)}")
        for name, value in (("workers", workers), ("threads", threads)):
            if value is None and name == "threads":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, np.integer))
                or value < 1
            ):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        from agents.common import resolve_device

        resolve_device(device)  # a bad or missing device fails here, not in a worker
        self.game = game
        self.methods = methods
        self.budgets = budgets
        self.seeds = seeds
        self.device = device
        self.augment = bool(augment) and game == "tictactoe"
        self.progress = progress
        self.workers = int(workers)
        self.threads = None if threads is None else int(threads)

    def config(self) -> dict[str, Any]:
        """The settings, as recorded in the result."""
        import mail_envs

        return {
            "game": self.game,
            "methods": list(self.methods),
            "budgets": list(self.budgets),
            "seeds": list(self.seeds),
            "device": self.device,
            "augment": self.augment,
            "workers": self.workers,
            "threads": self.threads,
            "package_version": mail_envs.__version__,
        }

    def jobs(self) -> list[tuple[str, int, int]]:
        """The ``(method, budget, seed)`` runs, in result order."""
        return [
            (method, budget, seed)
            for seed in self.seeds
            for budget in self.budgets
            for method in self.methods
        ]

    def run(self) -> PipelineResult:
        """Run every combination; returns the records in :meth:`jobs` order."""
        jobs = self.jobs()
        run = _JobRunner(self.game, self.device, self.augment, self.threads)
        records: dict[tuple[str, int, int], RunRecord] = {}
        with tqdm(
            total=len(jobs), desc=f"mail-gym {self.game}", disable=not self.progress
        ) as bar:
            if self.workers == 1 or len(jobs) == 1:
                for job in jobs:
                    records[job] = run(job)
                    bar.update(1)
            else:
                if run.threads is None:
                    run = dataclasses.replace(run, threads=1)
                # Largest budgets first: the long runs do not end up last.
                ordered = sorted(jobs, key=lambda job: -job[1])
                with ProcessPoolExecutor(
                    max_workers=min(self.workers, len(jobs)),
                    mp_context=_mp_context(self.device, run.threads),
                ) as pool:
                    futures = {pool.submit(run, job): job for job in ordered}
                    try:
                        for future in as_completed(futures):
                            records[futures[future]] = future.result()
                            bar.update(1)
                    except BaseException:
                        pool.shutdown(wait=False, cancel_futures=True)
                        raise
        return PipelineResult(
            self.game, tuple(records[job] for job in jobs), self.config()
        )


def _mp_context(
    device: str, threads: int | None
) -> multiprocessing.context.BaseContext:
    """Fork for single-threaded CPU workers where the platform can; else spawn.

    CUDA cannot be used in a forked child, and neither can GNU OpenMP (torch's
    CPU thread pool) once the parent has used it: a forked worker with more
    than one thread can deadlock.
    """
    from agents.common import resolve_device

    if (
        resolve_device(device).type == "cpu"
        and threads == 1
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class _JobRunner:
    """Runs one ``(method, budget, seed)`` job; picklable for worker processes."""

    game: str
    device: str
    augment: bool
    threads: int | None

    def __call__(self, job: tuple[str, int, int]) -> RunRecord:
        if self.threads is not None:
            import torch

            torch.set_num_threads(self.threads)
        runners: dict[str, Callable[[str, int, int], RunRecord]] = {
            "tictactoe": self._tictactoe,
            "gridworld": self._gridworld,
            "chain": self._chain,
        }
        return runners[self.game](*job)

    def _tictactoe(self, method: str, budget: int, seed: int) -> RunRecord:
        from agents.dqn_explore import run_tictactoe_comparison

        (row,) = run_tictactoe_comparison(
            [budget],
            [seed],
            methods=[_TICTACTOE_NAMES[method]],
            device=self.device,
            augment=self.augment,
        ).rows
        return RunRecord(
            method=method,
            budget=row.num_games,
            seed=row.seed,
            nash_conv=row.nash_conv,
            gains=row.gains,
            num_queries=row.num_queries,
            distinct_states=row.distinct_states,
            wall_seconds=row.collect_seconds + row.bc_seconds,
        )

    def _gridworld(self, method: str, budget: int, seed: int) -> RunRecord:
        from agents.linear.lsvi_ucb_zero import LSVIUCBZeroBC
        from agents.linear.rollouts import expert_self_play_bc, uniform_explore_bc
        from mail_envs.solvers import nash_gap

        game, expert, features = _gridworld_setup()
        start = time.perf_counter()
        if method == "lsvi-ucb-zero":
            result = LSVIUCBZeroBC(num_episodes=budget, seed=seed).run(
                game, expert, features
            )
        else:
            collect = uniform_explore_bc if method == "uniform" else expert_self_play_bc
            result = collect(game, expert, features, num_episodes=budget, seed=seed)
        return _record(
            (method, budget, seed),
            nash_gap(game, list(result.policies)),
            [int(q) for q in result.num_queries],
            [int(np.unique(labels.states).size) for labels in result.labels],
            start,
        )

    def _chain(self, method: str, budget: int, seed: int) -> RunRecord:
        from agents.tabular_explore import collect_per_player, fit_bc_or_uniform
        from mail_envs.solvers import nash_gap

        game, env_fn, experts = _chain_setup()
        start = time.perf_counter()
        runs = collect_per_player(
            env_fn,
            experts,
            "self-play" if method == "bc" else method,  # type: ignore[arg-type]
            num_games=budget,
            seed=seed,
            device=self.device,
        )
        policies, _ = fit_bc_or_uniform(runs, seed=seed, device=self.device)
        return _record(
            (method, budget, seed),
            nash_gap(game, policies),
            [r.labels.num_queries for r in runs],
            [r.labels.num_distinct_states for r in runs],
            start,
        )


def _record(
    job: tuple[str, int, int],
    gap: Any,
    num_queries: Sequence[int],
    distinct_states: Sequence[int],
    start: float,
) -> RunRecord:
    """The record of one run of a game with a model, its wall time from ``start``."""
    method, budget, seed = job
    return RunRecord(
        method=method,
        budget=budget,
        seed=seed,
        nash_conv=float(gap.nash_conv),
        gains=tuple(float(g) for g in gap.gains),
        num_queries=tuple(num_queries),
        distinct_states=tuple(distinct_states),
        wall_seconds=time.perf_counter() - start,
    )


@functools.cache
def _chain_setup() -> tuple[Any, Any, list[Any]]:
    """The chain game (N = 8), its env factory and the seats' Nash experts."""
    from mail_envs.chain import env, make_chain_game
    from mail_envs.solvers import solve_zero_sum
    from mail_wrappers.table_policy import TablePolicy

    game = make_chain_game()
    equilibrium = solve_zero_sum(game)
    experts = [TablePolicy(game, i, p) for i, p in enumerate(equilibrium.policies)]
    return game, env, experts


@functools.cache
def _gridworld_setup() -> tuple[Any, Any, list[Any]]:
    """The 3x3 Gridworld, its Nash expert and tabular features (built once)."""
    from agents.linear.features import tabular_features
    from mail_envs.gridworld import make_gridworld_game
    from mail_envs.solvers import solve_zero_sum

    game = make_gridworld_game(size=3)
    expert = solve_zero_sum(game).policies
    features = [tabular_features(game, i) for i in range(game.num_players)]
    return game, expert, features
