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
(``workers``) or to any :class:`concurrent.futures.Executor` (``executor``)
with the same records.

Given an output folder, :meth:`Pipeline.run` writes each run's record the
moment the run ends (``records/<method>_b<budget>_s<seed>.json``); a run that
raises is recorded as failed and the others go on, then
:class:`SweepFailedError` lists the failures. ``resume=True`` loads the runs
already recorded (with the same configuration) and runs only the missing and
the failed ones, so an interrupted sweep loses only the runs in flight.

Interrupted (any exception, e.g. :exc:`KeyboardInterrupt`, or one a signal
handler raises), :meth:`Pipeline.run` cancels the queued jobs and terminates
its worker processes before it re-raises; the records already written stay.
The workers also die with the sweep's process if it is killed outright
(SIGKILL): on Linux the kernel kills them (``PR_SET_PDEATHSIG``), elsewhere
they poll their parent's pid. They ignore SIGINT, so a Ctrl-C sent to the
terminal's whole process group reaches only the sweep's process, which ends
them.

Example:
    >>> result = Pipeline(game="gridworld", budgets=[5], progress=False).run()
    >>> sorted({r.method for r in result.records})
    ['bc', 'lsvi-ucb-zero', 'uniform']
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import mail_envs
from agents.bc.profile import BCConfig
from agents.common import check_positive_int, resolve_device
from agents.io import save_profile
from agents.methods import METHODS, make_algorithm
from agents.monitor import RunMonitor
from agents.pipeline import workers
from agents.pipeline.games import GAME_SPECS
from agents.pipeline.progress import SweepProgress
from agents.pipeline.records import (
    FailedRun,
    PipelineResult,
    RunRecord,
    read_run_file,
    run_name,
    write_run_file,
)

__all__ = ["Pipeline", "SweepFailedError"]

Job = tuple[str, int, int]

#: Configuration keys a recorded run must share with the sweep that reuses it
#: (besides the run's own method options).
_IDENTITY_KEYS = ("game", "game_id", "game_options", "augment", "bc", "package_version")


class SweepFailedError(RuntimeError):
    """Some runs of a sweep raised; the others finished and were recorded.

    Attributes:
        result: The finished runs' result (their records in job order).
        failures: The failed runs, in job order.
    """

    def __init__(self, result: PipelineResult, failures: Sequence[FailedRun]) -> None:
        self.result = result
        self.failures = tuple(failures)
        total = len(result.records) + len(self.failures)
        super().__init__(
            f"{len(self.failures)} of {total} runs failed: "
            + "; ".join(str(f) for f in self.failures)
        )


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
            ``{"dqn-explore": {"bonus": BonusConfig(rebuild_rule="logdet")}}``,
            over the game's own (``GameSpec.method_options``; Tic-Tac-Toe's
            ``dqn-explore`` plays ``num_envs=8`` games at once unless told
            ``{"dqn-explore": {"num_envs": 1}}``).
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
            The workers ignore SIGINT, are terminated when :meth:`run` is
            interrupted, and exit when this process dies (even by SIGKILL).
        threads: Torch CPU threads of each run (None: leave the setting alone
            in this process, 1 in workers).
        bc: Behaviour-cloning settings of the env-based methods, replacing the
            game's own (``spec.bc(augment)``; e.g. another BC head). Its
            ``augment`` is used as given.
        executor: Runs the jobs instead of ``workers`` local processes: any
            :class:`concurrent.futures.Executor` (a thread pool, a process
            pool of your own, a cluster's). The caller owns it (it is not shut
            down); the job callable and its records must pickle for process
            executors. Jobs get ``threads`` (default 1) torch threads each.
            Interrupted, :meth:`run` cancels the jobs not yet started but
            leaves the executor's workers alone: stopping running jobs, and
            ending the workers if this process dies, is the caller's business.
            :class:`~agents.pipeline.executors.RayExecutor` runs them on Ray.
        tensorboard: A folder for TensorBoard logs of every run
            (``<tensorboard>/<game>/<run>/<player>/{dqn,bc}``), beside the CSV
            logs that :meth:`run` always writes under ``out_dir/logs``.
            Needs the ``tensorboard`` package.
        save_policies: :meth:`run` also saves every learned profile under
            ``out_dir/policies/<run>/`` (:func:`agents.io.save_profile`:
            safetensors + JSON, loadable as opponents with
            :func:`agents.io.load_profile`).

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
        executor: Executor | None = None,
        tensorboard: str | os.PathLike[str] | None = None,
        save_policies: bool = False,
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
        given = method_options or {}
        self.method_options = {
            m: {**spec.method_options.get(m, {}), **given.get(m, {})}
            for m in methods
            if m in given or m in spec.method_options
        }
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
        if executor is not None and not isinstance(executor, Executor):
            raise TypeError(
                f"executor must be a concurrent.futures.Executor, got {executor!r}"
            )
        self.executor = executor
        self.tensorboard = None if tensorboard is None else Path(tensorboard)
        if (
            self.tensorboard is not None
            and importlib.util.find_spec("tensorboard") is None
        ):
            raise ValueError(
                f"tensorboard {str(tensorboard)!r}: TensorBoard logs need the "
                "tensorboard package (pip install tensorboard)"
            )
        self.save_policies = bool(save_policies)

    def config(self) -> dict[str, Any]:
        """The settings, as recorded in the result."""
        return {
            "game": self.game,
            "game_id": self.spec.game_id,
            "game_options": _plain(self.game_options),
            "unit": self.spec.unit,
            "methods": list(self.methods),
            "budgets": list(self.budgets),
            "seeds": list(self.seeds),
            "device": self.device,
            "augment": self.augment,
            "workers": self.workers,
            "threads": self.threads,
            "executor": None if self.executor is None else type(self.executor).__name__,
            "bc": _plain(self.bc),
            "method_options": _plain(self.method_options),
            "tensorboard": None if self.tensorboard is None else str(self.tensorboard),
            "save_policies": self.save_policies,
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

    def load_records(self, out_dir: str | os.PathLike[str]) -> dict[Job, RunRecord]:
        """The runs of :meth:`jobs` already recorded in ``out_dir/records``.

        Failed runs and runs not recorded are left out (a resumed sweep runs
        them). Every run file in the folder is checked against this sweep's
        configuration first, so nothing is reused from another sweep.

        Raises:
            ValueError: If a run file is unreadable, or was recorded with
                another game, game options, BC settings, augmentation, package
                version or (for a run of this sweep) method options; the file
                and the differences are named.
        """
        folder = Path(out_dir) / "records"
        if not folder.is_dir():
            return {}
        config = self.config()
        wanted = {run_name(*job): job for job in self.jobs()}
        done: dict[Job, RunRecord] = {}
        for path in sorted(folder.glob("*.json")):
            outcome, stored = read_run_file(path)
            job = wanted.get(path.stem)
            keys = [*_IDENTITY_KEYS, "method_options"] if job else _IDENTITY_KEYS
            differences = [
                f"{key} {_setting(stored, key, job)!r} (now "
                f"{_setting(config, key, job)!r})"
                for key in keys
                if _setting(stored, key, job) != _setting(config, key, job)
            ]
            if differences:
                raise ValueError(
                    f"{path} was recorded with another configuration: "
                    + ", ".join(differences)
                    + "; use another output folder or overwrite it"
                )
            if job is None or isinstance(outcome, FailedRun):
                continue
            if (outcome.method, outcome.budget, outcome.seed) != job:
                raise ValueError(
                    f"{path} holds the run {run_name(outcome.method, outcome.budget, outcome.seed)!r}, "
                    f"not {path.stem!r}"
                )
            done[job] = outcome
        return done

    @staticmethod
    def clear_records(out_dir: str | os.PathLike[str]) -> int:
        """Delete the run files in ``out_dir/records``, and the runs' logs and
        saved policies (``out_dir/logs``, ``out_dir/policies``); returns how
        many run files."""
        for tree in ("logs", "policies"):
            if (Path(out_dir) / tree).is_dir():
                shutil.rmtree(Path(out_dir) / tree)
        folder = Path(out_dir) / "records"
        if not folder.is_dir():
            return 0
        paths = sorted(folder.glob("*.json"))
        for path in paths:
            path.unlink()
        return len(paths)

    def run(
        self,
        out_dir: str | os.PathLike[str] | None = None,
        *,
        resume: bool = False,
        overwrite: bool = False,
    ) -> PipelineResult:
        """Run every combination; returns the records in :meth:`jobs` order.

        Args:
            out_dir: Where each run's record is written the moment it ends,
                atomically, as ``out_dir/records/<method>_b<budget>_s<seed>.json``
                (:func:`~agents.pipeline.records.write_run_file`; a failed run
                as its error type and message). None: keep nothing on disk.
            resume: Load the runs already recorded in ``out_dir``
                (:meth:`load_records`) and run only the missing and the failed
                ones.
            overwrite: Delete the run files already in ``out_dir`` first.

        Returns:
            Every run's record (loaded or run), in :meth:`jobs` order.

        Raises:
            ValueError: If ``out_dir`` already holds run files and neither
                ``resume`` nor ``overwrite`` is set, if both are set, or if a
                recorded run does not match this configuration; before any
                run starts.
            SweepFailedError: After every other run has finished and been
                recorded, if some runs raised (it lists them and carries the
                finished runs' result).

        Any other exception (:exc:`KeyboardInterrupt`, one raised by a signal
        handler) interrupts the sweep: the jobs not started are cancelled, the
        worker processes terminated (runs in flight are lost), and the
        exception propagates; the runs already recorded stay in ``out_dir``.
        """
        if resume and overwrite:
            raise ValueError("resume and overwrite exclude each other")
        if (resume or overwrite) and out_dir is None:
            raise ValueError("resume and overwrite need an out_dir")
        start = time.perf_counter()
        jobs = self.jobs()
        config = self.config()
        folder = None if out_dir is None else Path(out_dir) / "records"
        records: dict[Job, RunRecord] = {}
        if folder is not None:
            if overwrite:
                self.clear_records(folder.parent)
            elif resume:
                records = self.load_records(folder.parent)
            elif folder.is_dir() and any(folder.glob("*.json")):
                raise ValueError(
                    f"{folder} already holds run records; resume or overwrite them"
                )
            folder.mkdir(parents=True, exist_ok=True)
        failures: dict[Job, FailedRun] = {}
        todo = [job for job in jobs if job not in records]
        run = _JobRunner(
            self.game,
            tuple(sorted(self.game_options.items())),
            self.method_options,
            self.device,
            self.augment,
            self.threads,
            self.bc,
            out_dir=None if folder is None else str(folder.parent),
            tensorboard_dir=None if self.tensorboard is None else str(self.tensorboard),
            save_policies=self.save_policies,
        )
        in_process = self.executor is None and (self.workers == 1 or len(todo) <= 1)
        slots = 1 if in_process else self._slots(len(todo))
        with SweepProgress(
            todo,
            slots=slots,
            done=len(records),
            total=len(jobs),
            desc=f"mail-gym {self.game}",
            enabled=self.progress,
        ) as progress:

            def finish(job: Job, outcome: RunRecord | FailedRun) -> None:
                if isinstance(outcome, RunRecord):
                    records[job] = outcome
                else:
                    failures[job] = outcome
                if folder is not None:
                    write_run_file(folder, outcome, config)
                progress.finished(
                    job,
                    outcome.wall_seconds if isinstance(outcome, RunRecord) else None,
                )

            if in_process:
                run = dataclasses.replace(run, progress=progress.report)
                for job in todo:
                    progress.started(job)
                    try:
                        outcome: RunRecord | FailedRun = run(job)
                    except Exception as exc:
                        outcome = FailedRun.from_exception(job, exc)
                    finish(job, outcome)
            elif todo:
                if run.threads is None:
                    run = dataclasses.replace(run, threads=1)
                if self.executor is not None:
                    _run_on(self.executor, run, todo, finish)
                else:
                    self._run_pool(run, todo, finish, progress)
        result = PipelineResult(
            self.game,
            tuple(records[job] for job in jobs if job in records),
            config,
            time.perf_counter() - start,
        )
        if failures:
            raise SweepFailedError(result, [failures[j] for j in jobs if j in failures])
        return result

    def _slots(self, num_jobs: int) -> int:
        """How many runs execute at once (for the ETA)."""
        capacity = self.workers
        if self.executor is not None:
            capacity = int(
                getattr(self.executor, "max_workers", None)
                or getattr(self.executor, "_max_workers", None)
                or 1
            )
        return max(1, min(capacity, num_jobs))

    def _run_pool(
        self,
        run: _JobRunner,
        todo: Sequence[Job],
        finish: Callable[[Job, RunRecord | FailedRun], None],
        progress: SweepProgress,
    ) -> None:
        """Run ``todo`` in this sweep's own worker processes; relay their reports."""
        context = workers.mp_context(self.device, run.threads)
        reports = context.Queue()
        relay = workers.ReportRelay(reports, progress.report)
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(todo)),
            mp_context=context,
            initializer=workers.start_worker,
            initargs=(os.getpid(), reports),
        )
        relay.start()
        try:
            _run_on(pool, run, todo, finish)
            pool.shutdown(wait=True)
        except BaseException:
            workers.terminate_pool(pool)
            raise
        finally:
            relay.stop()


#: Methods whose explorer trains a network (each slower than the methods that
#: only play a fixed policy at the same budget), longest first.
_TRAINED_EXPLORERS = {"dqn-explore-paper": 3, "dqn-explore": 2, "dagger": 1}


def _run_on(
    executor: Executor,
    run: Callable[[Job], RunRecord],
    jobs: Sequence[Job],
    finish: Callable[[Job, RunRecord | FailedRun], None],
) -> None:
    """Submit ``jobs`` (longest first: largest budgets, and within a budget
    the methods that train an explorer, so the long runs do not end up last)
    and ``finish`` each as it ends; a job that raised becomes a
    :class:`FailedRun`. Interrupted, the jobs not yet started are cancelled.
    The order changes no result (every run seeds itself)."""
    futures = {
        executor.submit(run, job): job
        for job in sorted(jobs, key=lambda j: (-j[1], -_TRAINED_EXPLORERS.get(j[0], 0)))
    }
    try:
        for future in as_completed(futures):
            job = futures[future]
            try:
                outcome: RunRecord | FailedRun = future.result()
            except Exception as exc:
                outcome = FailedRun.from_exception(job, exc)
            finish(job, outcome)
    except BaseException:
        for future in futures:
            future.cancel()
        raise


def _setting(config: Mapping[str, Any], key: str, job: Job | None) -> Any:
    """The setting ``key`` of a configuration; a run's own method options."""
    value = config.get(key)
    if key == "method_options" and job is not None:
        return (value or {}).get(job[0])
    return value


def _plain(value: Any) -> Any:
    """``value`` as plain JSON data that compares equal across processes.

    Dataclasses become dicts (with their type), callables their qualified
    names, and other objects their ``repr`` without memory addresses.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "type": _qualified_name(type(value)),
            **{
                f.name: _plain(getattr(value, f.name))
                for f in dataclasses.fields(value)
            },
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, functools.partial):
        return {
            "partial": _plain(value.func),
            "args": _plain(value.args),
            "keywords": _plain(value.keywords),
        }
    if callable(value) and hasattr(value, "__qualname__"):
        return _qualified_name(value)
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def _qualified_name(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{obj.__qualname__}"


@dataclass(frozen=True)
class _JobRunner:
    """Runs one ``(method, budget, seed)`` job; picklable for worker processes.

    With an ``out_dir`` it logs the run under ``out_dir/logs/<run>`` (and
    ``tensorboard_dir/<game>/<run>``) and, with ``save_policies``, saves the
    learned profile under ``out_dir/policies/<run>``. Its in-run reports go to
    ``progress`` (in this process) or to the worker's report queue
    (:func:`agents.pipeline.workers.report`).
    """

    game: str
    game_options: tuple[tuple[str, Any], ...]
    method_options: Mapping[str, Mapping[str, Any]]
    device: str
    augment: bool
    threads: int | None
    bc: BCConfig | None = None
    out_dir: str | None = None
    tensorboard_dir: str | None = None
    save_policies: bool = False
    progress: Callable[[Job, str, int, int], None] | None = None

    def monitor(self, job: Job) -> RunMonitor:
        """The run's monitor: its log folders and where its reports go."""
        name = run_name(*job)
        sink = self.progress or workers.report

        def report(stage: str, done: int, total: int) -> None:
            sink(job, stage, done, total)

        return RunMonitor(
            None if self.out_dir is None else Path(self.out_dir) / "logs" / name,
            tensorboard_dir=None
            if self.tensorboard_dir is None
            else Path(self.tensorboard_dir) / self.game / name,
            progress=report,
        )

    def __call__(self, job: Job) -> RunRecord:
        method, budget, seed = job
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        spec = GAME_SPECS[self.game]
        options = dict(self.game_options)
        start = time.perf_counter()
        problem = spec.problem(options)
        with self.monitor(job) as monitor:
            algorithm = make_algorithm(
                method,
                problem,
                budget=budget,
                seed=seed,
                bc=spec.bc(self.augment) if self.bc is None else self.bc,
                device=self.device,
                options=self.method_options.get(method),
                monitor=monitor,
            )
            result = algorithm.run()
        evaluation = spec.evaluation(problem, result, seed, options)
        wall_seconds = time.perf_counter() - start
        if self.save_policies and self.out_dir is not None:
            save_profile(
                result.policies,
                Path(self.out_dir) / "policies" / run_name(*job),
                agents=problem.agents,
                game_config={
                    "game": self.game,
                    "game_id": spec.game_id,
                    "options": _plain(options),
                    "env_kwargs": _plain(getattr(problem.env_fn, "keywords", {})),
                },
                game=problem.model,
                metadata={"method": method, "budget": budget, "seed": seed},
            )
        return RunRecord.from_result(
            result, evaluation, budget=budget, seed=seed, wall_seconds=wall_seconds
        )
