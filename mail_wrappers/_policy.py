"""Shared plumbing of the wrappers: observations, masks and policy calls.

Observations of board games are ``Dict(observation, action_mask)`` as in
PettingZoo's classic envs; other envs give a plain array and (maybe) an
``action_mask`` in their info. These helpers turn either into the
``(observation, mask)`` pair a :class:`~mail_envs.core.BatchedPolicy` expects,
call the policy on a batch, check what it returns and sample from it, and
give each wrapper a random stream of its own.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Mapping
from itertools import accumulate, compress
from typing import Any

import gymnasium
import numpy as np

from mail_envs.core import BatchedPolicy

_BOOL = np.dtype(bool)

#: Up to this many actions, a single row is checked and sampled in plain Python.
_SMALL = 64

#: A distribution's legal mass may differ from 1 by this much.
SUM_TOL = 1e-6
#: A distribution may put at most this much mass on illegal actions.
ILLEGAL_MASS_TOL = 1e-9

__all__ = [
    "act_one",
    "call_policy",
    "component_rng",
    "num_discrete_actions",
    "sample_actions",
    "split_observation",
]


def component_rng(seed: int | None, component: str) -> np.random.Generator:
    """A random generator of one component's own, derived from a shared seed.

    ``reset(seed=s)`` passes the same ``s`` down a stack of wrappers to the env,
    which seeds its own generator with ``np.random.default_rng(s)`` (so do
    Gymnasium's ``np_random`` and PettingZoo's classic envs). A wrapper that
    also used ``default_rng(s)`` would draw the very same uniforms as the env
    and as every other such wrapper. Each component instead draws from the
    child ``SeedSequence(s, spawn_key=(tag,))``, ``tag`` the CRC-32 of its
    name: a stream independent of the plain ``s`` stream and of other
    components' streams, yet fixed by ``s`` (seeded runs stay reproducible).

    Args:
        seed: The shared seed (None: fresh OS entropy).
        component: A name unique to the component, e.g. its module path.

    Returns:
        A new ``np.random.Generator``.

    Example:
        >>> a = component_rng(0, "mail_wrappers.expert_query").random()
        >>> bool(a == np.random.default_rng(0).random())
        False
        >>> bool(a == component_rng(0, "mail_wrappers.expert_query").random())
        True
    """
    if seed is None:
        return np.random.default_rng()
    tag = zlib.crc32(component.encode())
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(tag,)))


def num_discrete_actions(space: gymnasium.spaces.Space[Any], agent: object) -> int:
    """Number of actions of a ``Discrete`` action space.

    Args:
        space: The agent's action space.
        agent: The agent (named in the error message).

    Returns:
        ``space.n``.

    Raises:
        TypeError: If ``space`` is not ``gymnasium.spaces.Discrete``.
    """
    if not isinstance(space, gymnasium.spaces.Discrete):
        raise TypeError(
            f"action space of agent {agent!r} must be gymnasium.spaces.Discrete, "
            f"got {space!r}"
        )
    return int(space.n)


def split_observation(
    observation: Any,
    info: Mapping[str, Any] | None,
    num_actions: int,
    *,
    require_legal: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Split an env observation into ``(observation, boolean action mask)``.

    A ``dict`` observation with ``"observation"`` and ``"action_mask"`` keys
    (PettingZoo classic) gives both; otherwise the mask is
    ``info["action_mask"]`` when present, else all ones.

    Args:
        observation: The raw observation.
        info: The agent's info dict, or None.
        num_actions: Size of the action space.
        require_legal: Raise if the mask has no legal action (a terminal
            observation may have none).

    Returns:
        The observation array and a ``(num_actions,)`` boolean mask.

    Raises:
        ValueError: If the mask has the wrong size, or no legal action while
            ``require_legal``.
    """
    if (type(observation) is dict or isinstance(observation, Mapping)) and (
        "observation" in observation
    ):
        obs = np.asarray(observation["observation"])
        mask_src = observation.get("action_mask")
    else:
        obs = np.asarray(observation)
        mask_src = None
    if mask_src is None and info is not None:
        mask_src = info.get("action_mask")
    if mask_src is None:
        return obs, np.ones(num_actions, dtype=bool)
    if type(mask_src) is np.ndarray and mask_src.ndim == 1:  # the usual case
        mask = mask_src if mask_src.dtype == _BOOL else mask_src.astype(bool)
    else:
        mask = np.asarray(mask_src).astype(bool, copy=False).reshape(-1)
    if mask.shape != (num_actions,):
        raise ValueError(
            f"action mask must have shape ({num_actions},), got {mask.shape}"
        )
    if require_legal and not np.count_nonzero(mask):
        raise ValueError("action mask has no legal action")
    return obs, mask


def call_policy(
    policy: BatchedPolicy,
    observations: np.ndarray,
    masks: np.ndarray,
    *,
    name: str = "policy",
) -> np.ndarray:
    """Call a batched policy and check that it returns distributions.

    Args:
        policy: ``policy(observations (B, ...), masks (B, A)) -> probs (B, A)``.
        observations: ``(B, *obs_shape)`` observations.
        masks: ``(B, A)`` boolean legal-action masks.
        name: What to call the policy in error messages.

    Returns:
        ``(B, A)`` float64 probabilities, exactly as the policy returned them
        (unless round-off made an entry negative: then clipped and
        renormalised).

    Raises:
        ValueError: If the output has the wrong shape, negative or non-finite
            entries, rows that do not sum to 1, or mass on illegal actions.
    """
    probs = np.asarray(policy(observations, masks), dtype=np.float64)
    return _checked(probs, masks, name)


def _checked(probs: np.ndarray, masks: np.ndarray, name: str) -> np.ndarray:
    """:func:`call_policy`'s checks of a policy's float64 output."""
    if probs.shape != masks.shape:
        raise ValueError(
            f"{name} returned probabilities of shape {probs.shape}, expected "
            f"{masks.shape}"
        )
    if probs.shape[0] == 1 and probs.shape[1] <= _SMALL:
        # One row (a turn-based step): plain floats beat numpy's call overhead.
        return _checked_row(probs, masks, name)[0]
    # Few whole-array reductions (this runs on every env step); NaN fails
    # every comparison, so it takes the slow path that names the problem.
    lowest = probs.min()
    totals = probs.sum(axis=1)
    legal = np.einsum("ij,ij->i", probs, masks)
    if not (
        lowest >= -1e-12
        and (totals - legal).max() <= ILLEGAL_MASS_TOL
        and np.abs(legal - 1.0).max() <= SUM_TOL
    ):
        _raise_invalid(probs, masks, totals, legal, name)
    if lowest < 0.0:  # rare: round-off below zero
        probs = np.clip(probs, 0.0, None)
        probs /= probs.sum(axis=1, keepdims=True)
    return probs


def _checked_row(
    probs: np.ndarray, masks: np.ndarray, name: str
) -> tuple[np.ndarray, list[float]]:
    """:func:`call_policy`'s checks of a ``(1, A)`` output, on plain floats.

    Returns the (maybe clipped) probabilities and their row as a list.
    """
    row = probs[0].tolist()
    legal_mass = sum(compress(row, masks[0].tolist()))
    lowest_row = min(row)
    if not (
        lowest_row >= -1e-12
        and sum(row) - legal_mass <= ILLEGAL_MASS_TOL
        and abs(legal_mass - 1.0) <= SUM_TOL
    ):
        _raise_invalid(
            probs, masks, probs.sum(axis=1), np.einsum("ij,ij->i", probs, masks), name
        )
    if lowest_row < 0.0:
        probs = np.clip(probs, 0.0, None)
        probs /= probs.sum(axis=1, keepdims=True)
        row = probs[0].tolist()
    return probs, row


def _sample_row(row: list[float], rng: np.random.Generator) -> int:
    """:func:`sample_actions` on one row given as a list (same draw, same action)."""
    running = list(accumulate(row))
    a = bisect.bisect_right(running, rng.random() * running[-1])
    if a >= len(row):  # see sample_actions
        a = max(i for i, p in enumerate(row) if p != 0)
    return a


def act_one(
    policy: BatchedPolicy,
    observation: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    *,
    name: str = "policy",
) -> tuple[np.ndarray, int]:
    """One agent's move: call, check and sample a batched policy on one row.

    The per-turn path of the wrappers: the same result and the same random
    draw as :func:`call_policy` on ``(observation[None], mask[None])`` followed
    by :func:`sample_actions`, with the checks and the draw on plain floats.

    Args:
        policy: A batched policy.
        observation: One observation (no batch axis).
        mask: Its ``(A,)`` boolean legal-action mask.
        rng: Random generator; one uniform draw.
        name: What to call the policy in error messages.

    Returns:
        The ``(A,)`` float64 probabilities and the sampled action.

    Raises:
        ValueError: As :func:`call_policy`.

    Example:
        >>> uniform = lambda obs, masks: masks / masks.sum(axis=1, keepdims=True)
        >>> probs, action = act_one(
        ...     uniform, np.zeros(2), np.array([False, True]), np.random.default_rng(0)
        ... )
        >>> probs.tolist(), action
        ([0.0, 1.0], 1)
    """
    masks = mask[None]
    probs = np.asarray(policy(observation[None], masks), dtype=np.float64)
    if probs.shape != masks.shape or probs.shape[1] > _SMALL:
        probs = _checked(probs, masks, name)
        return probs[0], int(sample_actions(probs, rng)[0])
    probs, row = _checked_row(probs, masks, name)
    return probs[0], _sample_row(row, rng)


def _raise_invalid(
    probs: np.ndarray,
    masks: np.ndarray,
    totals: np.ndarray,
    legal: np.ndarray,
    name: str,
) -> None:
    invalid = ~(probs >= -1e-12)
    if invalid.any():
        row = int(np.argwhere(invalid)[0, 0])
        raise ValueError(f"{name} returned invalid probabilities {probs[row]}")
    illegal = totals - legal
    if np.any(illegal > ILLEGAL_MASS_TOL):
        row = int(np.argmax(illegal))
        raise ValueError(
            f"{name} puts mass {illegal[row]:.3g} on illegal actions: probs "
            f"{probs[row]}, mask {masks[row].astype(int)}"
        )
    row = int(np.argmax(np.abs(legal - 1.0)))
    raise ValueError(f"{name} returned probabilities summing to {totals[row]!r}")


def sample_actions(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sample one action per row of ``probs`` by inverse CDF (vectorized).

    Args:
        probs: ``(B, A)`` distributions.
        rng: Random generator; one uniform draw per row.

    Returns:
        ``(B,)`` int64 actions; never an action of probability 0.
    """
    num_actions = probs.shape[1]
    if probs.shape[0] == 1 and num_actions <= _SMALL:
        # One draw: the same float64 running sum and comparison as below, on
        # plain floats (same random stream, same result).
        return np.array([_sample_row(probs[0].tolist(), rng)], dtype=np.int64)
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cdf[:, -1]
    actions = (cdf <= u[:, None]).sum(axis=1)
    # u < cdf[-1] except by a rounding of probability ~2^-53; never return an
    # action of probability 0 (or past the end) then.
    bad = actions >= num_actions
    if bad.any():
        last = num_actions - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
        actions = np.where(bad, last, actions)
    return actions.astype(np.int64, copy=False)
