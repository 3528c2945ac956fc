"""The sweep's progress: an ETA learnt from finished runs, and in-run reports from workers."""

from __future__ import annotations

import pytest
import torch

from agents.bc.profile import BCConfig
from agents.pipeline import Pipeline
from agents.pipeline.progress import SweepProgress, format_seconds

torch.set_num_threads(1)


def test_the_eta_learns_each_methods_time_as_a_function_of_the_budget():
    jobs = [("bc", 10, 0), ("dqn", 10, 0), ("bc", 30, 0), ("dqn", 30, 0), ("bc", 50, 0)]
    progress = SweepProgress(jobs, slots=1, enabled=False)
    assert progress.eta_seconds() is None  # nothing finished: no pace yet
    progress.finished(("bc", 10, 0), seconds=2.0)
    # One bc budget seen: every run is guessed at its time; dqn too, until it ran.
    assert progress.eta_seconds() == pytest.approx(2.0 * 4)
    progress.finished(("dqn", 10, 0), seconds=10.0)
    assert progress.eta_seconds() == pytest.approx(2.0 + 10.0 + 2.0)
    progress.finished(("bc", 30, 0), seconds=4.0)  # bc: 1 s + 0.1 s per game
    assert progress.eta_seconds() == pytest.approx(10.0 + (1.0 + 0.1 * 50))
    progress.close()


def test_a_budget_that_costs_less_is_not_extrapolated_below_zero():
    progress = SweepProgress(
        [("bc", 10, 0), ("bc", 20, 0), ("bc", 1, 0)], slots=1, enabled=False
    )
    progress.finished(("bc", 10, 0), seconds=5.0)
    progress.finished(("bc", 20, 0), seconds=4.0)  # noise: a falling slope is flat
    assert progress.eta_seconds() == pytest.approx(4.5)
    progress.close()


def test_parallel_slots_and_running_reports_shorten_the_eta():
    jobs = [("bc", 10, 0), ("bc", 10, 1), ("bc", 10, 2)]
    progress = SweepProgress(jobs, slots=2, enabled=False)
    progress.finished(("bc", 10, 0), seconds=4.0)
    assert progress.eta_seconds() == pytest.approx((4.0 + 4.0) / 2)
    progress.report(("bc", 10, 1), "explore player_0", 5, 10)  # half done
    assert progress.eta_seconds() == pytest.approx((2.0 + 4.0) / 2, abs=0.1)
    progress.finished(("bc", 10, 1), seconds=None)  # failed: not learnt from
    assert progress.eta_seconds() == pytest.approx(4.0)
    progress.report(("bc", 10, 1), "late report of a finished run", 1, 1)  # ignored
    assert progress.eta_seconds() == pytest.approx(4.0)
    progress.close()


def test_format_seconds():
    assert format_seconds(59.6) == "1:00"
    assert format_seconds(3725) == "1:02:05"
    assert format_seconds(-3) == "0:00"


@pytest.mark.parametrize("workers", [1, 2])
def test_runs_report_their_games_and_epochs_to_the_sweep(monkeypatch, workers):
    """In one process directly, from worker processes through their queue."""
    seen = []
    original = SweepProgress.report

    def report(self, job, stage, done, total):
        seen.append((tuple(job), stage, done, total))
        original(self, job, stage, done, total)

    monkeypatch.setattr(SweepProgress, "report", report)
    Pipeline(
        game="tictactoe",
        methods=["uniform"],
        budgets=[3],
        seeds=[0, 1],
        bc=BCConfig(min_epochs=2, min_steps=2),
        progress=False,
        workers=workers,
        threads=1,
    ).run()
    for seed in (0, 1):
        stages = {s for job, s, _, _ in seen if job == ("uniform", 3, seed)}
        assert {"explore player_1", "bc player_1"} <= stages, stages
        explored = [
            (d, t)
            for job, s, d, t in seen
            if job == ("uniform", 3, seed) and s == "explore player_1"
        ]
        assert explored[-1] == (3, 3)
