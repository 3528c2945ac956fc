"""Behaviour cloning: the thin torch trainer, profile fitting and augmentations.

* :mod:`agents.bc.trainer` — :class:`BCTrainer` (masked cross-entropy, sample
  weights, early stopping) and its losses;
"""

from agents.bc.trainer import (
    BCMetrics,
    BCTrainer,
    deduplicate,
    masked_accuracy,
    masked_cross_entropy,
    masked_nll,
)

__all__ = [
    "BCMetrics",
    "BCTrainer",
    "deduplicate",
    "masked_accuracy",
    "masked_cross_entropy",
    "masked_nll",
]
