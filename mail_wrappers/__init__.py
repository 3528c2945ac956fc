"""Composable wrappers: expert queries, frozen opponents, exploration bonuses.

* :class:`ExpertQueryWrapper` / :class:`ParallelExpertQueryWrapper` — label
  the turns of chosen agents of a PettingZoo env with an expert's action
  distribution (with query counting, a budget and an optional recorder);
* :class:`FrozenOpponentWrapper` — a PettingZoo env as a ``gymnasium.Env`` for
  one agent, every other agent playing a fixed policy;
* :class:`EllipticalBonusReward` / :class:`EllipticalBonusVecEnv` — the
  elliptical exploration bonus ``beta * ||phi(s, a)||_{Lambda^{-1}}`` as
  (part of) the reward; the math is in :mod:`mail_wrappers.elliptical`;
* :class:`ExpertLabelRecorder` / :func:`load_expert_labels` — datasets of
  expert labels as ``.npz`` files;
* :class:`TablePolicy` — a solver's policy table as a batched policy;
* :mod:`mail_wrappers.single_agent` — factories of the Gymnasium ids
  ``mail_envs/<Game>-vs-expert-v0`` (registered by ``import mail_envs``).

Layering: this package imports :mod:`mail_envs` only; experts and solvers
from :mod:`agents` are imported lazily inside the single-agent factories.
"""

from __future__ import annotations

from mail_wrappers.elliptical import (
    block_elliptical_bonus,
    block_elliptical_bonus_all_actions,
    block_rebuild_cov_inv,
    block_sherman_morrison_update,
    elliptical_bonus,
    kronecker_features,
    rebuild_cov_inv,
    sherman_morrison_update,
)
from mail_wrappers.elliptical_reward import (
    EllipticalBonus,
    EllipticalBonusReward,
    EllipticalBonusVecEnv,
    flat_observation_features,
)
from mail_wrappers.expert_query import (
    ExpertBudgetExhaustedError,
    ExpertQueryWrapper,
    ParallelExpertQueryWrapper,
)
from mail_wrappers.frozen_opponent import FrozenOpponentWrapper, uniform_policy
from mail_wrappers.recorder import (
    ExpertLabelDataset,
    ExpertLabelRecorder,
    load_expert_labels,
    save_expert_labels,
)
from mail_wrappers.table_policy import TablePolicy

__all__ = [
    "EllipticalBonus",
    "EllipticalBonusReward",
    "EllipticalBonusVecEnv",
    "ExpertBudgetExhaustedError",
    "ExpertLabelDataset",
    "ExpertLabelRecorder",
    "ExpertQueryWrapper",
    "FrozenOpponentWrapper",
    "ParallelExpertQueryWrapper",
    "TablePolicy",
    "block_elliptical_bonus",
    "block_elliptical_bonus_all_actions",
    "block_rebuild_cov_inv",
    "block_sherman_morrison_update",
    "elliptical_bonus",
    "flat_observation_features",
    "kronecker_features",
    "load_expert_labels",
    "rebuild_cov_inv",
    "save_expert_labels",
    "sherman_morrison_update",
    "uniform_policy",
]
