"""The pipeline: jobs -> RunRecord, the game registry, results and plots.

* :mod:`agents.pipeline.games` — every game with an expert, as a problem and
  its evaluation (:data:`GAME_SPECS`);
* :mod:`agents.pipeline.runner` — :class:`Pipeline` (methods x budgets x
  seeds, worker processes);
* :mod:`agents.pipeline.records` — :class:`RunRecord`, :class:`PipelineResult`.
"""

from agents.pipeline.games import GAME_SPECS, Evaluation, GameSpec
from agents.pipeline.records import PipelineResult, RunRecord
from agents.pipeline.runner import Pipeline

__all__ = [
    "GAME_SPECS",
    "Evaluation",
    "GameSpec",
    "Pipeline",
    "PipelineResult",
    "RunRecord",
]
