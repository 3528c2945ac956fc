"""Exact solvers and evaluation for tabular Markov games."""

from __future__ import annotations

from mail_envs.solvers.evaluation import (
    BestResponse,
    NashGapResult,
    best_response,
    nash_gap,
    policy_evaluation,
)
from mail_envs.solvers.markov import (
    Equilibrium,
    backward_induction,
    solve_zero_sum,
    solve_zero_sum_discounted,
)
from mail_envs.solvers.matrix import (
    MatrixGameSolution,
    MatrixGameSolutions,
    solve_matrix_game,
    solve_matrix_games,
)
from mail_envs.solvers.occupancy import OccupancyMeasure, occupancy_measure

__all__ = [
    "BestResponse",
    "Equilibrium",
    "MatrixGameSolution",
    "MatrixGameSolutions",
    "NashGapResult",
    "OccupancyMeasure",
    "backward_induction",
    "best_response",
    "nash_gap",
    "occupancy_measure",
    "policy_evaluation",
    "solve_matrix_game",
    "solve_matrix_games",
    "solve_zero_sum",
    "solve_zero_sum_discounted",
]
