"""Behaviour cloning: the thin torch trainer, profile fitting and augmentations.

* :mod:`agents.bc.trainer` — :class:`BCTrainer` (masked cross-entropy, sample
  weights, early stopping) and its losses;
* :mod:`agents.bc.profile` — :class:`~agents.bc.profile.BCConfig` and
  :func:`~agents.bc.profile.fit_bc_profile`: one dataset per player;
* :mod:`agents.bc.augment` — :func:`~agents.bc.augment.dihedral_augment`.
"""

from agents.bc import trainer
from agents.bc.trainer import *  # noqa: F403

__all__ = list(trainer.__all__)
