"""Input checks of behaviour cloning: every array finite, every argument named.

The trainer refuses what would silently spoil its weights: a single NaN row
turns every weight into NaN, and a greedy policy then plays the first legal
action everywhere while the exact Nash gap returns a believable number.

Example:
    >>> check_finite_rows("observations", np.array([[0.0, 1.0], [np.nan, 0.0]]))
    Traceback (most recent call last):
    ...
    ValueError: observations row 1 has a non-finite entry (...
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from agents.policies import PolicyHead
from mail_envs.core import check_real

__all__ = [
    "check_finite_loss",
    "check_finite_parameters",
    "check_finite_rows",
    "real",
    "validate_dataset",
    "validate_weights",
]


def validate_dataset(
    head: PolicyHead, observations: Any, action_masks: Any, targets: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    obs = np.asarray(observations)
    masks = np.asarray(action_masks)
    tgt = np.asarray(targets)
    sizes = {"observations": len(obs), "action_masks": len(masks), "targets": len(tgt)}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"dataset arrays must have the same length, got {sizes}")
    n, num_actions = len(obs), head.num_actions
    if n == 0:
        raise ValueError("dataset is empty: observations has 0 rows")
    if obs.shape[1:] != head.observation_shape:
        raise ValueError(
            f"observations must have shape (N, *{head.observation_shape}), got {obs.shape}"
        )
    if not (np.issubdtype(obs.dtype, np.number) or obs.dtype == np.bool_):
        raise TypeError(f"observations must be numeric, got dtype {obs.dtype}")
    check_finite_rows("observations", obs)
    if masks.shape != (n, num_actions):
        raise ValueError(
            f"action_masks must have shape {(n, num_actions)}, got {masks.shape}"
        )
    masks = masks.astype(bool, copy=False)
    empty = np.flatnonzero(~masks.any(axis=1))
    if empty.size:
        raise ValueError(f"action_masks row {empty[0]} has no legal action")
    if tgt.ndim == 1:
        if not np.issubdtype(tgt.dtype, np.integer):
            raise TypeError(
                f"targets of shape (N,) must be integer actions, got dtype {tgt.dtype}"
            )
        bad = np.flatnonzero((tgt < 0) | (tgt >= num_actions))
        if bad.size:
            i = bad[0]
            raise ValueError(
                f"targets[{i}] = {tgt[i]} is not an action in [0, {num_actions})"
            )
        illegal = np.flatnonzero(~masks[np.arange(n), tgt])
        if illegal.size:
            i = illegal[0]
            raise ValueError(
                f"targets[{i}] = {tgt[i]} is an illegal action in row {i} "
                f"(legal: {np.flatnonzero(masks[i]).tolist()})"
            )
        return obs, masks, tgt.astype(np.int64)
    if tgt.shape != (n, num_actions):
        raise ValueError(
            f"targets must be (N,) actions or (N, A) = {(n, num_actions)} probabilities, "
            f"got shape {tgt.shape}"
        )
    if not (np.issubdtype(tgt.dtype, np.number) or tgt.dtype == np.bool_):
        raise TypeError(f"targets must be numeric, got dtype {tgt.dtype}")
    tgt = tgt.astype(np.float64)
    check_finite_rows("targets", tgt)
    bad = np.flatnonzero((tgt < 0).any(axis=1))
    if bad.size:
        raise ValueError(f"targets row {bad[0]} is not a distribution: {tgt[bad[0]]}")
    sums = tgt.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if bad.size:
        raise ValueError(
            f"targets row {bad[0]} sums to {float(sums[bad[0]])!r}, expected 1"
        )
    illegal_mass = np.where(masks, 0.0, tgt).sum(axis=1)
    bad = np.flatnonzero(illegal_mass > 1e-9)
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"targets row {i} puts mass {illegal_mass[i]:.3g} on illegal actions "
            f"(legal: {np.flatnonzero(masks[i]).tolist()})"
        )
    return obs, masks, tgt.astype(np.float32)


def check_finite_rows(name: str, array: np.ndarray) -> None:
    """Raise ``ValueError`` naming ``name`` and its first row with a NaN or inf.

    Integer and boolean arrays are finite by construction and are not scanned.
    """
    if not np.issubdtype(array.dtype, np.inexact):
        return
    finite = np.isfinite(array.reshape(len(array), -1)).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        values = np.asarray(array[row]).ravel()
        value = values[~np.isfinite(values)][0]
        raise ValueError(
            f"{name} row {row} has a non-finite entry ({value!r}); every entry "
            "must be finite (a single NaN row would turn every weight into NaN)"
        )


def real(name: str, value: Any) -> float:
    """``value`` as a finite float (a real number, not a bool):
    :func:`mail_envs.core.check_real` without bounds."""
    return check_real(name, value)


def validate_weights(weights: Any, n: int) -> np.ndarray:
    """``(n,)`` float64 weights: ones when None, else checked (finite and > 0)."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights)
    if w.shape != (n,):
        raise ValueError(f"sample_weights must have shape ({n},), got {w.shape}")
    if not (np.issubdtype(w.dtype, np.number) or w.dtype == np.bool_):
        raise TypeError(f"sample_weights must be numeric, got dtype {w.dtype}")
    w = w.astype(np.float64)
    bad = np.flatnonzero(~(np.isfinite(w) & (w > 0)))
    if bad.size:
        raise ValueError(
            f"sample_weights[{bad[0]}] = {float(w[bad[0]])!r} is not a finite positive "
            "weight (drop a row instead of giving it weight 0)"
        )
    return w


def check_finite_loss(what: str, value: float, epoch: int, trainer: Any) -> None:
    """Raise ``FloatingPointError`` naming the epoch when a loss is NaN or inf."""
    if not math.isfinite(value):
        raise FloatingPointError(
            f"BC {what} is {value!r} at epoch {epoch}: training diverged (learning "
            f"rate optimizer_kwargs['lr'] = {trainer.optimizer_kwargs.get('lr')!r} "
            "too large?); the head's weights are unusable"
        )


def check_finite_parameters(module: torch.nn.Module, epoch: int) -> None:
    """Raise ``FloatingPointError`` naming the first parameter with a NaN or inf."""
    for name, param in module.named_parameters():
        if not bool(torch.isfinite(param).all()):
            raise FloatingPointError(
                f"BC weights {name!r} are non-finite after epoch {epoch}: training "
                "diverged (learning rate too large?)"
            )
