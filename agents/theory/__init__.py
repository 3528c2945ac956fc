"""Exact numbers for the theory of multi-agent imitation.

* :mod:`~agents.theory.errors` — occupancy-matching and BC errors;
* :mod:`~agents.theory.bounds` — the BC-error bound, best-response continuity,
  feature concentrability.
"""
