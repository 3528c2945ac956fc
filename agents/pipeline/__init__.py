"""The pipeline: jobs -> RunRecord, the game registry, results and plots.

* :mod:`agents.pipeline.games` — every game with an expert, as a problem and
  its evaluation (:data:`GAME_SPECS`);
* :mod:`agents.pipeline.runner` — :class:`Pipeline` (methods x budgets x
  seeds; worker processes or any ``concurrent.futures.Executor``; per-run
  record files, resume);
* :mod:`agents.pipeline.records` — :class:`RunRecord`, :class:`PipelineResult`,
  :class:`FailedRun` and the per-run record files.
"""

from agents.pipeline.games import GAME_SPECS, Evaluation, GameSpec
from agents.pipeline.records import FailedRun, PipelineResult, RunRecord
from agents.pipeline.runner import Pipeline, SweepFailedError

__all__ = [
    "GAME_SPECS",
    "Evaluation",
    "FailedRun",
    "GameSpec",
    "Pipeline",
    "PipelineResult",
    "RunRecord",
    "SweepFailedError",
]
