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

from typing import Literal

import numpy as np
import torch

from agents.common import resolve_device
from agents.policies.heads import PolicyHead, _check_positive

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
    return obs, masks


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
        self.batch_size = _check_positive("batch_size", batch_size)

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
            ValueError: If shapes disagree or a row has no legal action.
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
        return np.concatenate(chunks, axis=0)

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
            ValueError: If shapes disagree or a row has no legal action.
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
