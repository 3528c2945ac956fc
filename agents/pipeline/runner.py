"""The interactive-MAIL pipeline: registered methods x budgets x seeds on any game.

:class:`Pipeline` runs every (method, budget, seed) combination of one game of
:data:`~agents.pipeline.games.GAME_SPECS` and returns a
:class:`~agents.pipeline.records.PipelineResult`. Each run builds the game's
:class:`~agents.imitation.ImitationProblem`, the registered algorithm
(:func:`agents.methods.make_algorithm`), runs it, evaluates the learned
profile (exact NashConv, or Connect4 win rates) and keeps a
:class:`~agents.pipeline.records.RunRecord` built from the
:class:`~agents.imitation.ImitationResult`.

Runs are independent and seed themselves, so they can go to worker processes
(``workers``) with the same records.

Example:
    >>> result = Pipeline(game="gridworld", budgets=[5], progress=False).run()
    >>> sorted({r.method for r in result.records})
    ['bc', 'lsvi-ucb-zero', 'uniform']
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

import mail_envs
from agents.bc.profile import BCConfig
from agents.common import check_positive_int, resolve_device
from agents.methods import METHODS, make_algorithm
from agents.pipeline.games import GAME_SPECS
from agents.pipeline.records import PipelineResult, RunRecord

__all__ = ["Pipeline"]


class Pipeline:
    """Run registered methods over budgets and seeds on one game; evaluate each profile.

    Args:
        game: A key of :data:`~agents.pipeline.games.GAME_SPECS`.
        methods: Registered methods to run (default: the game's).
        budgets: Expert-labelled games (episodes) per learning player.
        seeds: Non-negative seeds; every (method, budget, seed) is one run.
        game_options: The game's options (``size``, ``length``,
            ``num_players``, ``game_seed``, ``eval_games``: see the spec).
        method_options: Per-method constructor keywords, e.g.
            ``{"dqn-explore": {"bonus": BonusConfig(rebuild_rule="logdet")}}``.
        device: Torch device of the neural methods (``"auto"``: CUDA when
            present).
        augment: Board games: clone on the 8 board symmetries of each label
            (:func:`agents.bc.augment.dihedral_augment`; no extra queries).
        progress: Show a tqdm progress bar.
        workers: Processes that run the runs in parallel (1: this process).
            Single-threaded CPU workers are forked; with CUDA or several
            threads they are spawned (neither CUDA nor torch's OpenMP pool
            survives a fork), which re-imports the caller's main module: guard
            a script's entry point with ``if __name__ == "__main__":``.
        threads: Torch CPU threads of each run (None: leave the setting alone
            in this process, 1 in workers).
        bc: Behaviour-cloning settings of the env-based methods, replacing the
            game's own (``spec.bc(augment)``; e.g. another BC head). Its
            ``augment`` is used as given.

    Raises:
        ValueError: If the game, a method, a budget, a seed, an option or a
            count is invalid (the message names it), or the device is not
            available.
    """

    def __init__(
        self,
        *,
        game: str = "tictactoe",
        methods: Sequence[str] | None = None,
        budgets: Sequence[int] = (100, 300, 1000),
        seeds: Sequence[int] = (0,),
        game_options: Mapping[str, Any] | None = None,
        method_options: Mapping[str, Mapping[str, Any]] | None = None,
        device: str = "auto",
        augment: bool = True,
        progress: bool = True,
        workers: int = 1,
        threads: int | None = None,
        bc: BCConfig | None = None,
    ) -> None:
        if game not in GAME_SPECS:
            raise ValueError(f"game must be one of {sorted(GAME_SPECS)}, got {game!r}")
        spec = GAME_SPECS[game]
        methods = tuple(spec.methods if methods is None else methods)
        unknown = [m for m in methods if m not in METHODS]
        if unknown or not methods:
            raise ValueError(
                f"methods must be a non-empty list of registered methods "
                f"{sorted(METHODS)}, got {list(methods)}"
            )
        if "lsvi-ucb-zero" in methods and spec.problem(game_options).linear is None:
            raise ValueError(
                f"method 'lsvi-ucb-zero' needs a game with linear features; {game!r} "
                "has none"
            )
        budgets = tuple(check_positive_int("budgets", b) for b in budgets)
        if not budgets:
            raise ValueError("budgets must not be empty")
        if max(budgets) > spec.max_budget:
            raise ValueError(
                f"budgets must be at most {spec.max_budget} for {game!r}, got {max(budgets)}"
            )
        if not seeds:
            raise ValueError("seeds must not be empty")
        for s in seeds:
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise ValueError(f"seeds must be non-negative integers, got {s!r}")
        for name, values in (
            ("methods", methods),
            ("budgets", budgets),
            ("seeds", seeds),
        ):
            if len(set(values)) != len(values):
                raise ValueError(f"{name} must be distinct, got {list(values)}")
        unknown_options = sorted(set(method_options or {}) - set(methods))
        if unknown_options:
            raise ValueError(f"method_options names methods not run: {unknown_options}")
        self.game = game
        self.spec = spec
        self.methods = methods
        self.budgets = budgets
        self.seeds = tuple(int(s) for s in seeds)
        self.game_options = spec.check_options(game_options)
        self.method_options = {k: dict(v) for k, v in (method_options or {}).items()}
        resolve_device(device)  # a bad or missing device fails here, not in a worker
        self.device = device
        self.bc = bc
        self.augment = (
            bc.augment is not None
            if bc is not None
            else bool(augment) and spec.bc(True).augment is not None
        )
        self.progress = progress
        self.workers = check_positive_int("workers", workers)
        self.threads = (
            None if threads is None else check_positive_int("threads", threads)
        )

    def config(self) -> dict[str, Any]:
        """The settings, as recorded in the result."""
        return {
            "game": self.game,
            "game_id": self.spec.game_id,
            "game_options": dict(self.game_options),
            "unit": self.spec.unit,
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
        start = time.perf_counter()
        jobs = self.jobs()
        run = _JobRunner(
            self.game,
            tuple(sorted(self.game_options.items())),
            self.method_options,
            self.device,
            self.augment,
            self.threads,
            self.bc,
        )
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
            self.game,
            tuple(records[job] for job in jobs),
            self.config(),
            time.perf_counter() - start,
        )


def _mp_context(
    device: str, threads: int | None
) -> multiprocessing.context.BaseContext:
    """Fork for single-threaded CPU workers where the platform can; else spawn.

    CUDA cannot be used in a forked child, and neither can GNU OpenMP (torch's
    CPU thread pool) once the parent has used it: a forked worker with more
    than one thread can deadlock.
    """
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
    game_options: tuple[tuple[str, Any], ...]
    method_options: Mapping[str, Mapping[str, Any]]
    device: str
    augment: bool
    threads: int | None
    bc: BCConfig | None = None

    def __call__(self, job: tuple[str, int, int]) -> RunRecord:
        method, budget, seed = job
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        spec = GAME_SPECS[self.game]
        options = dict(self.game_options)
        start = time.perf_counter()
        problem = spec.problem(options)
        algorithm = make_algorithm(
            method,
            problem,
            budget=budget,
            seed=seed,
            bc=spec.bc(self.augment) if self.bc is None else self.bc,
            device=self.device,
            options=self.method_options.get(method),
        )
        result = algorithm.run()
        evaluation = spec.evaluation(problem, result, seed, options)
        return RunRecord.from_result(
            result,
            evaluation,
            budget=budget,
            seed=seed,
            wall_seconds=time.perf_counter() - start,
        )
