"""A policy head as a numpy batched policy: masked probabilities for the solvers.

:class:`TorchPolicy` turns any :class:`~agents.policies.heads.PolicyHead` into a
:class:`~mail_envs.core.BatchedPolicy` (``policy(observations, masks) ->
probs``), so that ``game.policy_table`` and the exact Nash-gap solvers evaluate
a network in one batched call.

Example:
    >>> import numpy as np
    >>> from agents.policies.heads import MLPPolicy
    >>> policy = TorchPolicy(MLPPolicy((4,), 3, seed=0), mode="greedy")
    >>> policy(np.eye(4, dtype=np.float32)[:1], np.array([[0, 1, 0]], bool)).tolist()
    [[0.0, 1.0, 0.0]]
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch

from agents.common import check_positive_int, resolve_device
from agents.policies.heads import PolicyHead

__all__ = ["TorchPolicy"]


def _as_batch(
    head: PolicyHead, observations: np.ndarray, action_masks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    obs = np.asarray(observations)
    masks = np.asarray(action_masks)
    if masks.ndim != 2 or masks.shape[1] != head.num_actions:
        raise ValueError(
            f"action_masks must have shape (B, {head.num_actions}), got {masks.shape}"
        )
    if obs.shape != (masks.shape[0], *head.observation_shape):
        raise ValueError(
            f"observations must have shape (B, *{head.observation_shape}) with "
            f"B={masks.shape[0]}, got {obs.shape}"
        )
    masks = masks.astype(bool, copy=False)
    empty = np.flatnonzero(~masks.any(axis=1))
    if empty.size:
        raise ValueError(f"action_masks row {empty[0]} has no legal action")
    if not (np.issubdtype(obs.dtype, np.number) or obs.dtype == np.bool_):
        raise TypeError(f"observations must be numeric, got dtype {obs.dtype}")
    if np.issubdtype(obs.dtype, np.inexact) and obs.size:
        finite = np.isfinite(obs.reshape(len(obs), -1)).all(axis=1)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise ValueError(
                f"observations row {row} has a non-finite entry (NaN or inf); "
                "the policy of a non-finite observation is undefined"
            )
    return obs, masks


def _check_logits(head: PolicyHead, logits: np.ndarray, masks: np.ndarray) -> None:
    """Raise ``ValueError`` if a legal action's logit is NaN or ``+inf``.

    Illegal actions are ``-inf`` by construction; a legal ``-inf`` is allowed
    only where some other legal action is finite (probability 0 is a valid
    output). NaN anywhere means the head's weights (or its input) are broken,
    and argmax/softmax would hide it behind a believable action.
    """
    bad = np.isnan(logits) | (np.isposinf(logits) & masks)
    bad_rows = bad.any(axis=1)
    legal_finite = (np.isfinite(logits) & masks).any(axis=1)
    bad_rows |= ~legal_finite
    if bad_rows.any():
        row = int(np.flatnonzero(bad_rows)[0])
        broken = [
            name
            for name, param in head.named_parameters()
            if not bool(torch.isfinite(param).all())
        ]
        cause = (
            f"the head's parameters {broken} are non-finite"
            if broken
            else "the head produced non-finite values"
        )
        raise ValueError(
            f"policy logits row {row} are not finite on the legal actions "
            f"({logits[row].tolist()}): {cause}"
        )


class TorchPolicy:
    """A policy head as a numpy :class:`~mail_envs.core.BatchedPolicy`.

    ``policy(observations, masks) -> probs`` runs the head without gradients in
    eval mode, in chunks of ``batch_size``, and returns float64 probabilities
    that are exactly 0 on illegal actions.

    Args:
        head: The policy head (moved to ``device``, set to eval mode).
        mode: ``"stochastic"`` (softmax of the masked logits) or ``"greedy"``
            (one-hot argmax over legal actions, lowest index on ties).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``...
        batch_size: Largest chunk sent to the head at once.

    Raises:
        TypeError: If ``head`` is not a PolicyHead or ``batch_size`` not a number.
        ValueError: If ``mode`` or ``batch_size`` is invalid.

    Example:
        >>> import numpy as np
        >>> from agents.policies.heads import LinearPolicy
        >>> head = LinearPolicy(observation_shape=(2,), num_actions=3, seed=0)
        >>> greedy = TorchPolicy(head, mode="greedy")
        >>> greedy(np.ones((1, 2), np.float32), np.array([[False, True, False]]))
        array([[0., 1., 0.]])
    """

    def __init__(
        self,
        head: PolicyHead,
        *,
        mode: Literal["stochastic", "greedy"] = "stochastic",
        device: str | torch.device = "auto",
        batch_size: int = 8192,
    ) -> None:
        if not isinstance(head, PolicyHead):
            raise TypeError(f"head must be a PolicyHead, got {type(head).__name__}")
        if mode not in ("stochastic", "greedy"):
            raise ValueError(f"mode must be 'stochastic' or 'greedy', got {mode!r}")
        self.device = resolve_device(device)
        self.head = head.to(self.device).eval()
        self.mode = mode
        if isinstance(batch_size, bool) or not isinstance(
            batch_size, (int, np.integer, float, np.floating)
        ):
            raise TypeError(
                f"batch_size must be a positive integer, got "
                f"{type(batch_size).__name__} {batch_size!r}"
            )
        if not math.isfinite(batch_size):
            raise ValueError(
                f"batch_size must be a positive integer, got {batch_size!r}"
            )
        self.batch_size = check_positive_int("batch_size", batch_size)

    @property
    def observation_shape(self) -> tuple[int, ...]:
        """Shape of one observation."""
        return self.head.observation_shape

    @property
    def num_actions(self) -> int:
        """Number of actions."""
        return self.head.num_actions

    def logits(self, observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        """Masked logits as float64 numpy ``(B, A)`` (``-inf`` on illegal actions).

        Args:
            observations: ``(B, *obs_shape)`` observations.
            action_masks: ``(B, A)`` boolean legal-action masks.

        Returns:
            ``(B, A)`` masked logits.

        Raises:
            ValueError: If shapes disagree, a row has no legal action, an
                observation is NaN or inf, or the head returns NaN (or no
                finite legal logit) for a row (non-finite weights); the
                message names the array and row.
            TypeError: If observations are not numeric.
        """
        obs, masks = _as_batch(self.head, observations, action_masks)
        self.head.eval()
        chunks = []
        with torch.inference_mode():
            for start in range(0, max(len(obs), 1), self.batch_size):
                # np.array copies: game arrays are read-only, torch wants writable memory.
                o = torch.as_tensor(
                    np.array(obs[start : start + self.batch_size]), device=self.device
                )
                m = torch.as_tensor(
                    np.array(masks[start : start + self.batch_size]), device=self.device
                )
                chunks.append(self.head(o, m).double().cpu().numpy())
        logits = np.concatenate(chunks, axis=0)
        _check_logits(self.head, logits, masks)
        return logits

    def __call__(
        self, observations: np.ndarray, action_masks: np.ndarray
    ) -> np.ndarray:
        """Action probabilities ``(B, A)``, exactly 0 on illegal actions.

        Args:
            observations: ``(B, *obs_shape)`` observations.
            action_masks: ``(B, A)`` boolean legal-action masks.

        Returns:
            float64 ``(B, A)`` probabilities (one-hot rows in greedy mode).

        Raises:
            ValueError: If shapes disagree, a row has no legal action, or an
                observation or logit is non-finite (see :meth:`logits`).
        """
        logits = self.logits(observations, action_masks)
        if self.mode == "greedy":
            out = np.zeros_like(logits)
            # np.argmax returns the first maximum: the lowest index on ties.
            out[np.arange(len(logits)), np.argmax(logits, axis=1)] = 1.0
            return out
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def sample(
        self,
        observations: np.ndarray,
        action_masks: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Sample one action per row from :meth:`__call__`'s probabilities.

        Args:
            observations: ``(B, *obs_shape)`` observations.
            action_masks: ``(B, A)`` boolean legal-action masks.
            rng: The random stream (one uniform draw per row).

        Returns:
            ``(B,)`` int64 actions, always legal.

        Raises:
            TypeError: If ``rng`` is not a ``numpy.random.Generator``.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"rng must be a numpy.random.Generator, got {type(rng).__name__}"
            )
        probs = self(observations, action_masks)
        cdf = np.cumsum(probs, axis=1)
        u = rng.random(len(probs))[:, None] * cdf[:, -1:]
        # First index whose cdf exceeds u: never one with zero probability.
        return np.argmax(cdf > u, axis=1).astype(np.int64)
