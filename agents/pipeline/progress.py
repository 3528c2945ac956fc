"""A sweep's progress: finished runs, what the running ones are doing, and an ETA.

:class:`SweepProgress` wraps the sweep's tqdm bar (one tick per run). Runs
report from inside (``(job, stage, done, total)``: games collected, DQN
games, BC epochs; from worker processes through a queue), and the bar's
postfix shows the latest report and an ETA that learns from the finished
runs: each method's run time as an affine function of the budget, fitted to
its finished runs (once they span two budgets; before, their mean; with none
yet, the mean of all runs), summed over the runs still to go, less what the
running ones have done, over the parallel slots.

Example:
    >>> jobs = [("bc", 10, 0), ("bc", 20, 0), ("bc", 30, 0)]
    >>> progress = SweepProgress(jobs, slots=1, enabled=False)
    >>> progress.finished(("bc", 10, 0), seconds=5.0)
    >>> round(progress.eta_seconds(), 6)  # one budget seen: its mean per run
    10.0
    >>> progress.finished(("bc", 20, 0), seconds=7.0)
    >>> round(progress.eta_seconds(), 6)  # 3 s + 0.2 s per game
    9.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from agents.common import check_positive_int

__all__ = ["SweepProgress", "format_seconds"]

Job = tuple[str, int, int]


def format_seconds(seconds: float) -> str:
    """``h:mm:ss`` or ``m:ss``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class SweepProgress:
    """The progress bar of a sweep, with in-run reports and a learning ETA.

    Args:
        jobs: The ``(method, budget, seed)`` runs still to run.
        slots: How many run at once.
        done: Runs already recorded (a resumed sweep).
        total: All runs of the sweep (default ``done + len(jobs)``).
        desc: The bar's label.
        enabled: Show the bar (the ETA is computed either way).
    """

    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        slots: int,
        done: int = 0,
        total: int | None = None,
        desc: str = "mail-gym",
        enabled: bool = True,
    ) -> None:
        self.pending = dict.fromkeys(jobs)
        self.slots = check_positive_int("slots", slots)
        self._lock = threading.Lock()
        self._times: dict[str, list[tuple[int, float]]] = {}
        self._started: dict[Job, float] = {}
        self._fraction: dict[Job, float] = {}
        self._status = ""
        self._last_refresh = 0.0
        self.bar = tqdm(
            total=done + len(jobs) if total is None else total,
            initial=done,
            desc=desc,
            unit="run",
            disable=not enabled,
        )

    def __enter__(self) -> SweepProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()

    def _estimate(self, job: Job) -> float | None:
        """Seconds ``job`` should take, from the finished runs (None: no data)."""
        method, budget, _ = job
        times = self._times.get(method)
        if not times:
            every = [t for runs in self._times.values() for _, t in runs]
            return sum(every) / len(every) if every else None
        budgets = np.array([b for b, _ in times], dtype=float)
        seconds = np.array([t for _, t in times])
        if np.ptp(budgets) == 0:
            return float(seconds.mean())
        slope, intercept = np.polyfit(budgets, seconds, 1)
        slope = max(float(slope), 0.0)  # more data never takes less time
        intercept = float(seconds.mean() - slope * budgets.mean())
        return max(intercept + slope * budget, 0.0)

    def eta_seconds(self) -> float | None:
        """Seconds until the sweep ends, by the finished runs' pace (None: no data yet)."""
        with self._lock:
            now = time.monotonic()
            left = 0.0
            for job in self.pending:
                estimate = self._estimate(job)
                if estimate is None:
                    return None
                if job in self._started:
                    by_report = estimate * (1.0 - self._fraction.get(job, 0.0))
                    by_clock = estimate - (now - self._started[job])
                    estimate = max(0.0, min(by_report, max(by_clock, 0.0)))
                left += estimate
            return left / min(self.slots, max(1, len(self.pending)))

    def report(self, job: Job, stage: str, done: int, total: int) -> None:
        """A running job's report: ``done`` of ``total`` in ``stage``."""
        with self._lock:
            if job not in self.pending:
                return
            self._started.setdefault(job, time.monotonic())
            if total > 0:
                # Stages are not weighted: a run's fraction is the latest stage's.
                self._fraction[job] = min(1.0, max(0.0, done / total))
            method, budget, seed = job
            self._status = f"{method} b{budget} s{seed}: {stage} {done}/{total}"
        self._refresh()

    def started(self, job: Job) -> None:
        """``job`` began (when nothing reports from inside it)."""
        with self._lock:
            self._started.setdefault(job, time.monotonic())

    def finished(self, job: Job, seconds: float | None) -> None:
        """``job`` ended after ``seconds`` (None: it failed, its time is not learned)."""
        with self._lock:
            self.pending.pop(job, None)
            self._started.pop(job, None)
            self._fraction.pop(job, None)
            if seconds is not None and seconds >= 0:
                method, budget, _ = job
                self._times.setdefault(method, []).append((budget, float(seconds)))
        self.bar.update(1)
        self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_refresh < 0.5:
            return
        self._last_refresh = now
        eta = self.eta_seconds()
        parts = [f"eta {format_seconds(eta)}" if eta is not None else "eta ?"]
        if self._status and self.pending:
            parts.append(self._status)
        self.bar.set_postfix_str(", ".join(parts), refresh=True)
