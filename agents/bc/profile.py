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

from agents.bc.trainer import BCMetrics, BCTrainer, label_distributions
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
        dedupe: Clone on the distinct ``(observation, mask)`` rows, each with
            the empirical distribution of its labels as a soft target
            (:func:`agents.bc.trainer.label_distributions`; no extra queries).
        weighting: With ``dedupe``, how the distinct rows are weighted:
            ``"counts"``, by their number of labels (the same loss as cloning
            on every repeated row), or ``"states"``, each once, so that a
            board labelled once weighs as much as the opening labelled a
            thousand times. NashConv asks for the right move on every board
            a deviation reaches, not on the frequent ones: under ``"counts"``
            the rare boards get so little of the gradient that 1,000-4,000
            steps still left 0.1-0.6% of them unfit on Tic-Tac-Toe (each an
            exploitable mistake), while ``"states"`` fit them all in 1,000.
        stop_when_fit: Train each player past the ``min_epochs``/``min_steps``
            length until the first epoch after which every training row's
            greedy action is one of its labels
            (:class:`~agents.bc.trainer.BCTrainer` ``stop_when_fit``), for at
            most ``max_steps`` gradient steps.
        max_steps: With ``stop_when_fit``, the most gradient steps a player
            gets (at least the minimum length).
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
    weighting: Literal["counts", "states"] = "counts"
    stop_when_fit: bool = False
    max_steps: int = 5000
    head_fn: HeadFactory | None = None
    trainer_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.targets not in ("actions", "probs"):
            raise ValueError(
                f"targets must be 'actions' or 'probs', got {self.targets!r}"
            )
        if self.weighting not in ("counts", "states"):
            raise ValueError(
                f"weighting must be 'counts' or 'states', got {self.weighting!r}"
            )
        for flag in ("dedupe", "stop_when_fit"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag} must be a bool, got {getattr(self, flag)!r}")
        for name in ("batch_size", "min_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("min_steps", "max_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"{name} must be a non-negative integer, got {value!r}"
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
            obs, masks, y, counts = label_distributions(obs, masks, y)
            weights = counts if config.weighting == "counts" else None
        batches = math.ceil(len(obs) / config.batch_size)
        epochs = max(config.min_epochs, math.ceil(config.min_steps / batches))
        max_epochs = (
            max(epochs, math.ceil(config.max_steps / batches))
            if config.stop_when_fit
            else epochs
        )
        logger = monitor.logger(f"{name}/{log_name}")
        trainer = BCTrainer(
            policy=make_head(tuple(obs.shape[1:]), masks.shape[1], int(seed)),
            rng=int(seed),
            device=device,
            batch_size=config.batch_size,
            max_epochs=max_epochs,
            **{
                "validation_fraction": 0.0,
                "progress_bar": False,
                "stop_when_fit": config.stop_when_fit,
                "min_epochs": epochs,
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
