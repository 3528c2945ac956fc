"""Behaviour cloning of a whole profile: one dataset per player, one config.

:func:`fit_bc_profile` clones every player on its
:class:`~mail_wrappers.recorder.ExpertLabelDataset` with the same
:class:`BCConfig`: the default head is the small CNN for ``(H, W, C)`` boards
and an MLP otherwise; every player gets at least ``min_epochs`` epochs and
``min_steps`` gradient steps (60 epochs of 250 labels are only 120 steps: too
few to fit them, and NashConv would measure the optimizer); the learned
policies are greedy and masked. A player without a single labelled decision
gets the uniform policy over its legal actions: BC has nothing to fit (on the
chain, the guard whenever the explorer never reached the gate).

Example:
    >>> import numpy as np
    >>> from mail_wrappers.recorder import ExpertLabelRecorder
    >>> rec = ExpertLabelRecorder(game_id="demo", expert="demo")
    >>> for k in range(8):
    ...     rec.add(observation=np.eye(2, dtype=np.float32)[k % 2],
    ...             action_mask=np.ones(2, bool), expert_action=k % 2,
    ...             expert_probs=np.eye(2)[k % 2], agent="a", episode=k, step=0)
    >>> (policy,), _ = fit_bc_profile([rec.dataset()], BCConfig(min_steps=200),
    ...                               seeds=[0], device="cpu")
    >>> policy(np.eye(2, dtype=np.float32), np.ones((2, 2), bool)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.bc.trainer import BCMetrics, BCTrainer, deduplicate
from agents.monitor import RunMonitor, resolve_monitor
from agents.policies import MLPPolicy, PolicyHead, SmallCNNPolicy
from mail_envs.core import BatchedPolicy
from mail_wrappers.frozen_opponent import uniform_policy
from mail_wrappers.recorder import ExpertLabelDataset

__all__ = ["BCConfig", "default_head", "fit_bc_profile"]

HeadFactory = Callable[[tuple[int, ...], int, int], PolicyHead]
Augmentation = Callable[[ExpertLabelDataset], ExpertLabelDataset]


def default_head(obs_shape: tuple[int, ...], num_actions: int, seed: int) -> PolicyHead:
    """The small CNN for ``(H, W, C)`` board observations, else an MLP."""
    if len(obs_shape) == 3:
        return SmallCNNPolicy(obs_shape, num_actions, seed=seed)
    return MLPPolicy(obs_shape, num_actions, seed=seed)


@dataclass(frozen=True)
class BCConfig:
    """How every player is cloned.

    Attributes:
        batch_size: Minibatch size.
        min_epochs: Least number of epochs.
        min_steps: Least number of gradient steps (more epochs on small data).
        targets: Clone the expert's played ``"actions"`` (hard labels) or its
            distributions ``"probs"`` (soft labels).
        augment: Optional data augmentation of each dataset (e.g.
            :func:`agents.bc.augment.dihedral_augment`; no extra queries).
        dedupe: Clone on the distinct ``(observation, mask, target)`` rows,
            each weighted by its count (:func:`agents.bc.trainer.deduplicate`).
        head_fn: ``(obs_shape, num_actions, seed) -> PolicyHead``
            (default :func:`default_head`).
        trainer_kwargs: Further :class:`~agents.bc.trainer.BCTrainer` keywords
            (``optimizer_kwargs``, ``validation_fraction``...).
    """

    batch_size: int = 128
    min_epochs: int = 60
    min_steps: int = 1000
    targets: Literal["actions", "probs"] = "actions"
    augment: Augmentation | None = None
    dedupe: bool = False
    head_fn: HeadFactory | None = None
    trainer_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.targets not in ("actions", "probs"):
            raise ValueError(
                f"targets must be 'actions' or 'probs', got {self.targets!r}"
            )
        for name in ("batch_size", "min_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if (
            isinstance(self.min_steps, bool)
            or not isinstance(self.min_steps, int)
            or self.min_steps < 0
        ):
            raise ValueError(
                f"min_steps must be a non-negative integer, got {self.min_steps!r}"
            )


def fit_bc_profile(
    datasets: Sequence[ExpertLabelDataset],
    config: BCConfig | None = None,
    *,
    seeds: Sequence[int],
    device: str = "auto",
    monitor: RunMonitor | None = None,
    agents: Sequence[str] | None = None,
    log_name: str = "bc",
) -> tuple[tuple[BatchedPolicy, ...], tuple[BCMetrics | None, ...]]:
    """Clone each player on its dataset; the greedy masked profile.

    Args:
        datasets: One dataset per player, in player order.
        config: The BC settings (default :class:`BCConfig`).
        seeds: One seed per player (head initialization and shuffling).
        device: Torch device (``"auto"``: CUDA when present).
        monitor: Where each player's trainer logs its epochs
            (``monitor.logger(f"{agent}/{log_name}")``, see
            :class:`~agents.bc.trainer.BCTrainer`) and reports progress
            (stage ``f"{log_name} {agent}"``, epochs of ``max_epochs``). The
            policies do not depend on it.
        agents: The players' names in the logs (default ``player_<i>``).
        log_name: Name of the BC logs and progress stages (DAgger's rounds
            use ``"bc_round<r>"``).

    Returns:
        The policies (uniform for a player without labels) and the BC
        metrics (None for such a player).

    Raises:
        ValueError: If ``seeds`` (or ``agents``) does not hold one entry per
            dataset.
    """
    config = config or BCConfig()
    monitor = resolve_monitor(monitor)
    if len(seeds) != len(datasets):
        raise ValueError(
            f"need one seed per dataset ({len(datasets)}), got {len(seeds)}"
        )
    names = (
        [f"player_{i}" for i in range(len(datasets))]
        if agents is None
        else list(agents)
    )
    if len(names) != len(datasets):
        raise ValueError(
            f"need one agent name per dataset ({len(datasets)}), got agents={names!r}"
        )
    make_head = config.head_fn or default_head
    policies: list[BatchedPolicy] = []
    metrics: list[BCMetrics | None] = []
    for raw, seed, name in zip(datasets, seeds, names, strict=True):
        if raw.num_queries == 0:
            policies.append(uniform_policy)
            metrics.append(None)
            continue
        data = raw if config.augment is None else config.augment(raw)
        obs, masks = data.observations, data.action_masks
        y = data.expert_actions if config.targets == "actions" else data.expert_probs
        weights = None
        if config.dedupe:
            obs, masks, y, weights = deduplicate(obs, masks, y)
        batches = math.ceil(len(obs) / config.batch_size)
        logger = monitor.logger(f"{name}/{log_name}")
        trainer = BCTrainer(
            policy=make_head(tuple(obs.shape[1:]), masks.shape[1], int(seed)),
            rng=int(seed),
            device=device,
            batch_size=config.batch_size,
            max_epochs=max(config.min_epochs, math.ceil(config.min_steps / batches)),
            **{
                "validation_fraction": 0.0,
                "progress_bar": False,
                "logger": logger,
                "progress": (
                    None
                    if monitor.progress is None
                    else functools.partial(monitor.report, f"{log_name} {name}")
                ),
                **config.trainer_kwargs,
            },
        )
        try:
            metrics.append(trainer.train(obs, masks, y, sample_weights=weights))
        finally:
            logger.close()
        policies.append(trainer.as_policy("greedy"))
    return tuple(policies), tuple(metrics)
