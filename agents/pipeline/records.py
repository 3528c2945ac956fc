"""Run records and the result of a sweep: text tables, plain JSON, a plot.

A :class:`RunRecord` is one learned profile (method, budget, seed) with its
evaluation, queries, coverage and timings; it is built directly from an
:class:`~agents.imitation.ImitationResult` (:meth:`RunRecord.from_result`).
:class:`PipelineResult` holds a sweep's records with its configuration, writes
itself as JSON (atomically; loads back without pickle) and plots its metric
against the budget.

A sweep with an output folder keeps one JSON file per finished run,
``records/<method>_b<budget>_s<seed>.json`` (:func:`write_run_file`,
:func:`read_run_file`): the run's :class:`RunRecord`, or a :class:`FailedRun`
(error type and message) for a run that raised, with the sweep's
configuration. Plain JSON, written atomically; nothing needs pickle.

Example:
    >>> record = RunRecord("bc", 10, 0, 1.0, (1.0, 0.0), (30, 28), (12, 11), 0.5)
    >>> PipelineResult("chain", (record,)).summary()["bc"][10]
    (1.0, 1.0, 1.0)
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mail_envs.files import atomic_savefig, atomic_write_text

__all__ = [
    "FailedRun",
    "PipelineResult",
    "RunRecord",
    "read_run_file",
    "run_name",
    "write_run_file",
]

#: The ``format`` tag of a run file (:func:`write_run_file`).
RUN_FILE_FORMAT = "mail-gym-run/1"


def run_name(method: str, budget: int, seed: int) -> str:
    """The name of a run and of its file: ``<method>_b<budget>_s<seed>``."""
    return f"{method}_b{int(budget)}_s{int(seed)}"


@dataclass(frozen=True)
class RunRecord:
    """One learned profile.

    Attributes:
        method: The method's registry name (see :data:`agents.methods.METHODS`).
        budget: Expert-labelled games (or episodes) per learning player.
        seed: The run's seed.
        nash_conv: Exact NashConv of the learned profile (None for a game
            without a model: Connect4).
        gains: Each player's exact gain from deviating.
        num_queries: Expert queries per player (= BC dataset sizes).
        distinct_states: Distinct labelled states (boards) per player: how
            much of the game the data covers.
        wall_seconds: Wall time of data collection, BC and evaluation.
        explore_seconds: Wall time of exploring and labelling.
        bc_seconds: Wall time of behaviour cloning.
        metrics: Further evaluation numbers by name (Connect4 win rates).
    """

    method: str
    budget: int
    seed: int
    nash_conv: float | None
    gains: tuple[float, ...]
    num_queries: tuple[int, ...]
    distinct_states: tuple[int, ...]
    wall_seconds: float
    explore_seconds: float = 0.0
    bc_seconds: float = 0.0
    metrics: Mapping[str, float] = field(default_factory=dict)

    def value(self, metric: str = "nash_conv") -> float:
        """The record's ``metric``: ``"nash_conv"`` or a key of :attr:`metrics`."""
        if metric == "nash_conv":
            return float("nan") if self.nash_conv is None else self.nash_conv
        return float(self.metrics[metric])

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], where: str = "record") -> RunRecord:
        """The record of :func:`dataclasses.asdict` output, read back from JSON.

        Raises:
            ValueError: If a key is missing or unexpected (``where`` names the
                record in the message).
        """
        fields = {f.name for f in dataclasses.fields(cls)}
        required = {
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        }
        if not isinstance(raw, Mapping) or not required <= set(raw) <= fields:
            keys = sorted(raw) if isinstance(raw, Mapping) else raw
            raise ValueError(f"{where} has keys {keys}, expected {sorted(fields)}")
        return cls(
            **{
                **raw,
                "gains": tuple(raw["gains"]),
                "num_queries": tuple(raw["num_queries"]),
                "distinct_states": tuple(raw["distinct_states"]),
            }
        )

    @classmethod
    def from_result(
        cls,
        result: Any,
        evaluation: Any,
        *,
        budget: int,
        seed: int,
        wall_seconds: float,
    ) -> RunRecord:
        """The record of an :class:`~agents.imitation.ImitationResult` and its
        :class:`~agents.pipeline.games.Evaluation`."""
        return cls(
            method=result.method,
            budget=int(budget),
            seed=int(seed),
            nash_conv=evaluation.nash_conv,
            gains=tuple(evaluation.gains),
            num_queries=tuple(int(q) for q in result.num_queries),
            distinct_states=tuple(int(d) for d in result.distinct_states),
            wall_seconds=float(wall_seconds),
            explore_seconds=float(result.explore_seconds),
            bc_seconds=float(result.bc_seconds),
            metrics=dict(evaluation.metrics),
        )


@dataclass(frozen=True)
class PipelineResult:
    """All runs of a :class:`~agents.pipeline.runner.Pipeline`, with its configuration.

    Attributes:
        game: The game's name.
        records: One :class:`RunRecord` per (seed, budget, method).
        config: The pipeline's settings (methods, budgets, seeds, device).
        elapsed_seconds: Wall time of the whole sweep (machine-dependent).
    """

    game: str
    records: tuple[RunRecord, ...]
    config: dict[str, Any] = field(default_factory=dict)
    elapsed_seconds: float | None = None

    @property
    def metric(self) -> str:
        """The headline metric: NashConv, or (Connect4) the win rate vs the solver."""
        if all(r.nash_conv is not None for r in self.records):
            return "nash_conv"
        keys = [k for k in self.records[0].metrics if k.startswith("win:perfect")]
        return keys[0] if keys else next(iter(self.records[0].metrics))

    def summary(
        self, metric: str | None = None
    ) -> dict[str, dict[int, tuple[float, float, float]]]:
        """Mean, min and max of ``metric`` (default :attr:`metric`) over seeds,
        per method and budget."""
        metric = metric or self.metric
        out: dict[str, dict[int, tuple[float, float, float]]] = {}
        for method in dict.fromkeys(r.method for r in self.records):
            out[method] = {}
            for budget in sorted({r.budget for r in self.records}):
                gaps = [
                    r.value(metric)
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

    def table(self, metric: str | None = None) -> str:
        """A text table: budget, mean expert queries, mean ``metric`` per method."""
        metric = metric or self.metric
        methods = list(dict.fromkeys(r.method for r in self.records))
        budgets = sorted({r.budget for r in self.records})
        summary = self.summary(metric)
        label = "NashConv" if metric == "nash_conv" else metric
        # Columns of 24 characters, wider where a method's name needs it.
        widths = [max(24, len(f"{m} {label}") + 2) for m in methods]
        header = f"{'budget':>7}{'queries/player':>16}" + "".join(
            f"{m + ' ' + label:>{w}}" for m, w in zip(methods, widths, strict=True)
        )
        lines = [header]
        for budget in budgets:
            queries = [
                np.mean(r.num_queries) for r in self.records if r.budget == budget
            ]
            cells = []
            for m, w in zip(methods, widths, strict=True):
                mean, low, high = summary[m].get(budget, (np.nan,) * 3)
                spread = f" [{low:.3f},{high:.3f}]" if high > low else ""
                cells.append(f"{f'{mean:.4f}{spread}':>{w}}")
            lines.append(f"{budget:>7}{np.mean(queries):>16.0f}" + "".join(cells))
        return "\n".join(lines)

    def coverage_table(self) -> str:
        """A text table: budget, mean distinct labelled states per player, per method."""
        methods = list(dict.fromkeys(r.method for r in self.records))
        budgets = sorted({r.budget for r in self.records})
        widths = [max(16, len(m) + 2) for m in methods]
        lines = [
            f"{'budget':>7}"
            + "".join(f"{m:>{w}}" for m, w in zip(methods, widths, strict=True))
        ]
        for budget in budgets:
            cells = []
            for m, w in zip(methods, widths, strict=True):
                counts = [
                    np.mean(r.distinct_states)
                    for r in self.records
                    if r.method == m and r.budget == budget
                ]
                cells.append(f"{np.mean(counts) if counts else np.nan:>{w}.1f}")
            lines.append(f"{budget:>7}" + "".join(cells))
        return "\n".join(lines)

    def to_json(self, path: str | os.PathLike[str]) -> Path:
        """Write the result as JSON, atomically (temp file + rename)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "game": self.game,
            "config": self.config,
            "elapsed_seconds": self.elapsed_seconds,
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

    def win_table(self) -> str:
        """Mean win rate per opponent and seat, one column per method (Connect4)."""
        methods = list(dict.fromkeys(r.method for r in self.records))
        keys = [k for k in self.records[0].metrics if k.startswith("win:")]
        lines = [
            f"{'opponent:seat':<22}{'budget':>7}" + "".join(f"{m:>14}" for m in methods)
        ]
        for key in keys:
            for budget in sorted(self.summary(key).get(methods[0], {})):
                row = [
                    self.summary(key)[m].get(budget, (np.nan,) * 3)[0] for m in methods
                ]
                lines.append(
                    f"{key[4:]:<22}{budget:>7}" + "".join(f"{v:>14.3f}" for v in row)
                )
        return "\n".join(lines)

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
        records = [
            RunRecord.from_dict(raw, f"{path}: record {k}")
            for k, raw in enumerate(payload["records"])
        ]
        return cls(
            payload["game"],
            tuple(records),
            dict(payload["config"]),
            payload.get("elapsed_seconds"),
        )

    def plot(self, path: str | os.PathLike[str]) -> Path:
        """Plot the metric (mean and min-max band over seeds) against the budget."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(6, 4))
        metric = self.metric
        for method, per_budget in self.summary(metric).items():
            budgets = sorted(per_budget)
            mean, low, high = (
                np.array([per_budget[b][k] for b in budgets]) for k in range(3)
            )
            ax.plot(budgets, mean, marker="o", label=method)
            ax.fill_between(budgets, low, high, alpha=0.2)
        seeds = self.config.get("seeds", sorted({r.seed for r in self.records}))
        unit = self.config.get("unit", "games")
        if metric == "nash_conv":
            ax.set_yscale("symlog", linthresh=1e-3)
            ylabel = "exact NashConv of the learned profile"
        else:
            ylabel = f"win rate ({metric[4:]})"
        ax.set(
            xscale="log",
            xlabel=f"expert-labelled {unit} per learning player",
            ylabel=ylabel,
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


@dataclass(frozen=True)
class FailedRun:
    """A run that raised: its job and the error, kept so a resumed sweep retries it.

    Attributes:
        method: The method's registry name.
        budget: Expert-labelled games (or episodes) per learning player.
        seed: The run's seed.
        error_type: The exception's class name.
        message: The exception's message.
    """

    method: str
    budget: int
    seed: int
    error_type: str
    message: str

    @classmethod
    def from_exception(cls, job: tuple[str, int, int], exc: BaseException) -> FailedRun:
        """The failure of ``job`` = ``(method, budget, seed)`` that raised ``exc``."""
        method, budget, seed = job
        return cls(method, int(budget), int(seed), type(exc).__name__, str(exc))

    @property
    def name(self) -> str:
        """The run's name (:func:`run_name`)."""
        return run_name(self.method, self.budget, self.seed)

    def __str__(self) -> str:
        return f"{self.name} ({self.error_type}: {self.message})"


def write_run_file(
    folder: str | os.PathLike[str],
    outcome: RunRecord | FailedRun,
    config: Mapping[str, Any],
) -> Path:
    """Write one run's outcome as ``folder/<run_name>.json``, atomically.

    Args:
        folder: The sweep's ``records`` folder (created if missing).
        outcome: The run's record, or its failure.
        config: The sweep's configuration (plain JSON values).

    Returns:
        The file's path.
    """
    payload: dict[str, Any] = {"format": RUN_FILE_FORMAT}
    if isinstance(outcome, RunRecord):
        payload |= {"status": "done", "record": asdict(outcome)}
    else:
        payload |= {"status": "failed", "failure": asdict(outcome)}
    payload["config"] = dict(config)
    name = run_name(outcome.method, outcome.budget, outcome.seed)
    return atomic_write_text(
        Path(folder) / f"{name}.json", json.dumps(payload, indent=2)
    )


def read_run_file(
    path: str | os.PathLike[str],
) -> tuple[RunRecord | FailedRun, dict[str, Any]]:
    """Read a file written by :func:`write_run_file` (plain JSON, no pickle).

    Returns:
        The run's record or failure, and the configuration it was run with.

    Raises:
        ValueError: If the file is not a run file (the file and the problem
            are named).
    """
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable run file ({exc})") from exc
    if (
        not isinstance(payload, dict)
        or payload.get("format") != RUN_FILE_FORMAT
        or payload.get("status") not in ("done", "failed")
        or not isinstance(payload.get("config"), dict)
    ):
        raise ValueError(f"{path}: not a run file of format {RUN_FILE_FORMAT!r}")
    outcome: RunRecord | FailedRun
    if payload["status"] == "done":
        outcome = RunRecord.from_dict(payload.get("record") or {}, f"{path}: record")
    else:
        raw = payload.get("failure")
        keys = {f.name for f in dataclasses.fields(FailedRun)}
        if not isinstance(raw, dict) or set(raw) != keys:
            raise ValueError(f"{path}: failure must have the keys {sorted(keys)}")
        outcome = FailedRun(**raw)
    return outcome, payload["config"]
