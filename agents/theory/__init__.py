"""Exact numbers for the theory of multi-agent imitation.

* :mod:`~agents.theory.errors` — occupancy-matching and BC errors;
* :mod:`~agents.theory.bounds` — the worst-state BC-error bound, best-response
  continuity, feature concentrability;
* :mod:`~agents.theory.matching_experts` — ``eps_BC`` (expected BC error), the
  expected-error bound for dominant-strategy experts, occupancy matching.
"""

from __future__ import annotations

from agents.theory.matching_experts import (
    DominantBoundCheck,
    EpsBC,
    OccupancyMatching,
    dominance_regret,
    dominant_bound_check,
    eps_bc,
    occupancy_matching_check,
    policy_from_occupancy,
)

__all__ = [
    "DominantBoundCheck",
    "EpsBC",
    "OccupancyMatching",
    "dominance_regret",
    "dominant_bound_check",
    "eps_bc",
    "occupancy_matching_check",
    "policy_from_occupancy",
]
