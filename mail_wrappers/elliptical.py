"""Elliptical exploration bonus: pure float64 math, no state.

The bonus of a feature vector ``phi`` under the regularised Gram matrix of the
data seen so far,

    Lambda = ridge * I + sum_t phi_t phi_t^T,
    bonus(phi) = beta * sqrt(phi^T Lambda^{-1} phi),

is the width of the confidence ellipsoid of least squares in direction
``phi``: large along directions the data does not cover, small along covered
ones. It is the optimism term of linear bandits (LinUCB, Li et al., 2010;
OFUL, Abbasi-Yadkori, Pál & Szepesvári, 2011, Thm. 2) and of LSVI-UCB (Jin,
Yang, Wang & Jordan, "Provably Efficient Reinforcement Learning with Linear
Function Approximation", COLT 2020, Algorithm 1, line 6), and the
reward-free exploration bonus of Wang, Du, Yang & Salakhutdinov (NeurIPS 2020).

``Lambda^{-1}`` is kept up to date by Sherman–Morrison,

    (A + phi phi^T)^{-1} = A^{-1} - (A^{-1} phi)(A^{-1} phi)^T / (1 + phi^T A^{-1} phi),

(a batch of rank-one updates applied in order is the Woodbury identity), and
rebuilt from stored features by a Cholesky factorisation when the feature map
changes.

Per-action ("block") features. When ``phi(s, a) = e_a (x) h(s)`` (a DQN
critic ``Q(s, a) = w_a^T h(s)``), ``Lambda`` is block diagonal with one
``d x d`` block per action, ``Lambda_a = ridge * I + sum_{t: a_t = a} h_t h_t^T``,
and ``phi^T Lambda^{-1} phi = h^T Lambda_a^{-1} h``. The ``block_*`` functions
work on the ``(A, d, d)`` stack of inverse blocks and equal the full Kronecker
form exactly (see :func:`kronecker_features`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.linalg

__all__ = [
    "block_elliptical_bonus",
    "block_elliptical_bonus_all_actions",
    "block_logdet",
    "block_logdet_increment",
    "block_rebuild_cov_inv",
    "block_sherman_morrison_update",
    "elliptical_bonus",
    "kronecker_features",
    "rebuild_cov_inv",
    "sherman_morrison_update",
]


def _check_cov_inv(cov_inv: np.ndarray, name: str = "cov_inv") -> np.ndarray:
    cov_inv = np.asarray(cov_inv, dtype=np.float64)
    if cov_inv.ndim != 2 or cov_inv.shape[0] != cov_inv.shape[1]:
        raise ValueError(
            f"{name} must be a square (d, d) matrix, got shape {cov_inv.shape}"
        )
    return cov_inv


def _check_beta(beta: Any) -> float:
    """``beta`` as a finite non-negative float; ``TypeError``/``ValueError`` otherwise."""
    if isinstance(beta, bool) or not isinstance(
        beta, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"beta must be a real number, got {type(beta).__name__}")
    if not (math.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be finite and non-negative, got {beta!r}")
    return float(beta)


def _check_ridge(ridge: Any) -> float:
    """``ridge`` as a finite positive float whose inverse is finite too."""
    if isinstance(ridge, bool) or not isinstance(
        ridge, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"ridge must be a real number, got {type(ridge).__name__}")
    if not (math.isfinite(ridge) and ridge > 0 and math.isfinite(1.0 / ridge)):
        raise ValueError(
            f"ridge must be finite and positive (with a finite 1/ridge), got {ridge!r}"
        )
    return float(ridge)


def _bonus_from_quad(quad: np.ndarray, beta: float) -> np.ndarray:
    """``beta * sqrt(max(quad, 0))``, refusing a non-finite result.

    Finite features can still overflow ``phi^T Lambda^{-1} phi`` (entries near
    ``1e155`` and beyond); returning ``inf`` (or ``nan``) as a reward would
    silently corrupt every value computed from it.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        out = beta * np.sqrt(np.clip(quad, 0.0, None))
    if not np.all(np.isfinite(out)):
        index = np.flatnonzero(~np.isfinite(np.atleast_1d(out)))[0]
        raise ValueError(
            f"elliptical bonus overflowed: phi^T Lambda^-1 phi = "
            f"{float(np.atleast_1d(quad).ravel()[index])!r} for row {int(index)} "
            f"(beta={beta!r}); the features are too large, rescale them"
        )
    return out


def _check_features(phis: np.ndarray, dim: int, name: str = "phi") -> np.ndarray:
    phis = np.asarray(phis, dtype=np.float64)
    if phis.ndim not in (1, 2) or phis.shape[-1] != dim:
        raise ValueError(
            f"{name} must have shape ({dim},) or (N, {dim}), got {phis.shape}"
        )
    if not np.all(np.isfinite(phis)):
        raise ValueError(f"{name} has non-finite entries")
    return phis


def _overflow_error() -> ValueError:
    return ValueError(
        "phi is too large: phi^T Lambda^-1 phi overflowed in the Sherman-Morrison "
        "update; rescale the features"
    )


def sherman_morrison_update(cov_inv: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Inverse Gram matrix after adding ``phi phi^T`` (one vector or a batch).

    For one vector this is the Sherman–Morrison formula; for a batch
    ``phi`` of shape ``(N, d)`` the result equals applying the ``N`` rank-one
    updates in order, computed at once by the Woodbury identity
    ``(A + P^T P)^{-1} = A^{-1} - A^{-1} P^T (I + P A^{-1} P^T)^{-1} P A^{-1}``
    (in chunks of at most ``d`` rows, so the cost is ``O(N d^2)``).

    Args:
        cov_inv: ``(d, d)`` symmetric positive-definite ``Lambda^{-1}``.
        phi: ``(d,)`` or ``(N, d)`` features.

    Returns:
        The updated ``(d, d)`` float64 inverse (a new array; symmetric).

    Raises:
        ValueError: If the shapes disagree, ``phi`` is not finite, or
            ``phi^T Lambda^{-1} phi`` overflows (features far too large).

    Example:
        >>> a_inv = sherman_morrison_update(np.eye(2), np.array([1.0, 0.0]))
        >>> a_inv.tolist()
        [[0.5, 0.0], [0.0, 1.0]]
    """
    cov_inv = _check_cov_inv(cov_inv)
    d = cov_inv.shape[0]
    phis = _check_features(phi, d)
    if phis.ndim == 1:
        with np.errstate(over="ignore", invalid="ignore"):
            u = cov_inv @ phis
            denom = 1.0 + float(phis @ u)
        if not (math.isfinite(denom) and np.all(np.isfinite(u))):
            raise _overflow_error()
        out = cov_inv - np.outer(u, u) / denom
        return 0.5 * (out + out.T)
    out = cov_inv.copy()
    chunk = max(d, 1)
    for start in range(0, phis.shape[0], chunk):
        p = phis[start : start + chunk]
        with np.errstate(over="ignore", invalid="ignore"):
            u = p @ out  # rows: (A^{-1} p_j)^T, A^{-1} symmetric
            inner = np.eye(p.shape[0]) + u @ p.T
        if not (np.all(np.isfinite(inner)) and np.all(np.isfinite(u))):
            raise _overflow_error()
        factor = scipy.linalg.cho_factor(inner, lower=True)
        out = out - u.T @ scipy.linalg.cho_solve(factor, u)
        out = 0.5 * (out + out.T)
    return out


def elliptical_bonus(cov_inv: np.ndarray, phis: np.ndarray, beta: float) -> np.ndarray:
    """``beta * sqrt(phi^T Lambda^{-1} phi)`` for a batch of features.

    Args:
        cov_inv: ``(d, d)`` ``Lambda^{-1}``.
        phis: ``(N, d)`` features (or one ``(d,)`` vector).
        beta: Bonus scale (``>= 0``).

    Returns:
        ``(N,)`` float64 bonuses (a 0-d array for one vector).

    Raises:
        ValueError: If the shapes disagree, ``beta`` is negative or not
            finite, or a bonus overflows (features far too large).
        TypeError: If ``beta`` is not a real number.

    Example:
        >>> elliptical_bonus(np.eye(2) * 4.0, np.array([[1.0, 0.0]]), 0.5).tolist()
        [1.0]
    """
    cov_inv = _check_cov_inv(cov_inv)
    phis = _check_features(phis, cov_inv.shape[0], "phis")
    beta = _check_beta(beta)
    with np.errstate(over="ignore", invalid="ignore"):
        quad = np.einsum("...i,ij,...j->...", phis, cov_inv, phis)
    return _bonus_from_quad(quad, beta)


def rebuild_cov_inv(features: np.ndarray, ridge: float) -> np.ndarray:
    """``(ridge * I + F^T F)^{-1}`` by a Cholesky factorisation.

    Args:
        features: ``(N, d)`` stored features (``N`` may be 0).
        ridge: Regulariser ``lambda > 0``.

    Returns:
        The ``(d, d)`` float64 inverse (symmetric).

    Raises:
        ValueError: If ``features`` is not 2-D or not finite, ``F^T F``
            overflows, or ``ridge`` is not finite and positive.
        TypeError: If ``ridge`` is not a real number.

    Example:
        >>> rebuild_cov_inv(np.array([[1.0, 0.0]]), ridge=1.0).round(12).tolist()
        [[0.5, 0.0], [0.0, 1.0]]
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must have shape (N, d), got {features.shape}")
    if not np.all(np.isfinite(features)):
        raise ValueError("features has non-finite entries")
    ridge = _check_ridge(ridge)
    d = features.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):
        gram = features.T @ features + ridge * np.eye(d)
    if not np.all(np.isfinite(gram)):
        raise ValueError(
            "features are too large: the Gram matrix F^T F overflowed; rescale them"
        )
    factor = scipy.linalg.cho_factor(gram, lower=True)
    out = scipy.linalg.cho_solve(factor, np.eye(d))
    return 0.5 * (out + out.T)


# --------------------------------------------------------------- block form
#: Largest ``N * d * d`` for which the block bonus gathers one block per pair.
_GATHER_LIMIT = 1 << 22


def _check_blocks(blocks: np.ndarray) -> np.ndarray:
    blocks = np.asarray(blocks, dtype=np.float64)
    if blocks.ndim != 3 or blocks.shape[1] != blocks.shape[2]:
        raise ValueError(
            f"cov_inv_blocks must have shape (A, d, d), got {blocks.shape}"
        )
    return blocks


def _check_actions(actions: np.ndarray, n: int, num_actions: int) -> np.ndarray:
    actions = np.asarray(actions)
    if actions.shape != (n,) or not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(
            f"actions must be {n} integers, got shape {actions.shape} and dtype "
            f"{actions.dtype}"
        )
    if np.any((actions < 0) | (actions >= num_actions)):
        raise ValueError(f"actions must lie in [0, {num_actions}), got {actions}")
    return actions.astype(np.int64, copy=False)


def _check_pairs(
    cov_inv_blocks: np.ndarray, h: np.ndarray, actions: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``(A, d, d)`` blocks, ``(N, d)`` features and ``(N,)`` actions."""
    blocks = _check_blocks(cov_inv_blocks)
    h = _check_features(h, blocks.shape[1], "h")
    if h.ndim == 1:
        h = h[None]
        actions = np.atleast_1d(actions)
    return blocks, h, _check_actions(actions, h.shape[0], blocks.shape[0])


def kronecker_features(
    h: np.ndarray, actions: np.ndarray, num_actions: int
) -> np.ndarray:
    """Full per-action features ``phi(s, a) = e_a (x) h(s)``.

    Args:
        h: ``(N, d)`` state features.
        actions: ``(N,)`` action indices.
        num_actions: ``A``.

    Returns:
        ``(N, A * d)`` float64 features: block ``a`` holds ``h``, the rest 0.

    Example:
        >>> kronecker_features(np.array([[1.0, 2.0]]), np.array([1]), 2).tolist()
        [[0.0, 0.0, 1.0, 2.0]]
    """
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 2:
        raise ValueError(f"h must have shape (N, d), got {h.shape}")
    actions = _check_actions(actions, h.shape[0], num_actions)
    out = np.zeros((h.shape[0], num_actions, h.shape[1]))
    out[np.arange(h.shape[0]), actions] = h
    return out.reshape(h.shape[0], -1)


def block_sherman_morrison_update(
    cov_inv_blocks: np.ndarray, h: np.ndarray, actions: np.ndarray
) -> np.ndarray:
    """Per-action inverse blocks after adding ``(h_t, a_t)`` pairs in order.

    Each pair updates only block ``a_t``; blocks are independent, so the
    pairs of one action are applied in order by :func:`sherman_morrison_update`
    and the result equals the full Kronecker form's update.

    Args:
        cov_inv_blocks: ``(A, d, d)`` inverse blocks ``Lambda_a^{-1}``.
        h: ``(N, d)`` state features (or one ``(d,)`` vector).
        actions: ``(N,)`` actions (or one int).

    Returns:
        New ``(A, d, d)`` float64 blocks.

    Raises:
        ValueError: If shapes disagree or an action is out of range.
    """
    blocks, h, actions = _check_pairs(cov_inv_blocks, h, actions)
    out = blocks.copy()
    if actions.shape[0] == 1:
        out[actions[0]] = sherman_morrison_update(blocks[actions[0]], h[0])
        return out
    for a in np.unique(actions):  # loop over actions: tiny
        out[a] = sherman_morrison_update(blocks[a], h[actions == a])
    return out


def block_elliptical_bonus(
    cov_inv_blocks: np.ndarray, h: np.ndarray, actions: np.ndarray, beta: float
) -> np.ndarray:
    """``beta * sqrt(h^T Lambda_a^{-1} h)`` for ``(h, a)`` pairs.

    Args:
        cov_inv_blocks: ``(A, d, d)`` inverse blocks.
        h: ``(N, d)`` state features.
        actions: ``(N,)`` actions.
        beta: Bonus scale.

    Returns:
        ``(N,)`` float64 bonuses.

    Raises:
        ValueError: If shapes disagree, an action is out of range, ``beta`` is
            negative or not finite, or a bonus overflows (features far too
            large).
    """
    blocks, h, actions = _check_pairs(cov_inv_blocks, h, actions)
    beta = _check_beta(beta)
    n, d = h.shape
    with np.errstate(over="ignore", invalid="ignore"):
        if n * d * d <= _GATHER_LIMIT:  # gather each pair's block: one einsum
            quad = np.einsum("nd,nde,ne->n", h, blocks[actions], h)
        else:  # memory-light: one matrix product per action (a loop over A)
            quad = np.empty(n)
            for a in np.unique(actions):
                rows = actions == a
                quad[rows] = np.einsum("nd,de,ne->n", h[rows], blocks[a], h[rows])
    return _bonus_from_quad(quad, beta)


def block_elliptical_bonus_all_actions(
    cov_inv_blocks: np.ndarray, h: np.ndarray, beta: float
) -> np.ndarray:
    """Bonus of every action: ``(N, A)`` with entry ``beta * ||h_n||_{Lambda_a^{-1}}``.

    Args:
        cov_inv_blocks: ``(A, d, d)`` inverse blocks.
        h: ``(N, d)`` state features.
        beta: Bonus scale.

    Returns:
        ``(N, A)`` float64 bonuses.

    Raises:
        ValueError: If shapes disagree, an action is out of range, ``beta`` is
            negative or not finite, or a bonus overflows (features far too
            large).
    """
    blocks = _check_blocks(cov_inv_blocks)
    h = _check_features(h, blocks.shape[1], "h")
    if h.ndim == 1:
        h = h[None]
    beta = _check_beta(beta)
    with np.errstate(over="ignore", invalid="ignore"):
        quad = (np.matmul(h, blocks) * h).sum(axis=-1).T  # (A, N, d) -> (N, A)
    return _bonus_from_quad(quad, beta)


def block_rebuild_cov_inv(
    h: np.ndarray, actions: np.ndarray, num_actions: int, ridge: float
) -> np.ndarray:
    """Per-action inverse blocks rebuilt from stored ``(h, a)`` pairs.

    Args:
        h: ``(N, d)`` state features.
        actions: ``(N,)`` actions.
        num_actions: ``A``.
        ridge: Regulariser ``lambda > 0``.

    Returns:
        ``(A, d, d)`` float64 blocks ``(ridge * I + sum_{a_t = a} h_t h_t^T)^{-1}``.
    """
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 2:
        raise ValueError(f"h must have shape (N, d), got {h.shape}")
    actions = _check_actions(actions, h.shape[0], num_actions)
    return np.stack(
        [rebuild_cov_inv(h[actions == a], ridge) for a in range(num_actions)]
    )


def block_logdet_increment(
    cov_inv_blocks: np.ndarray, h: np.ndarray, actions: np.ndarray
) -> float:
    """Growth of ``log det Lambda`` when the ``(h, a)`` pairs are added.

    By the matrix determinant lemma, adding the rows ``H_a`` (the pairs of
    action ``a``) to block ``a`` multiplies its determinant by
    ``det(I + H_a Lambda_a^{-1} H_a^T)``; a single pair adds
    ``log(1 + h^T Lambda_a^{-1} h)``. This is the quantity of the "rarely
    switching" rule (Abbasi-Yadkori et al., 2011, Sec. 5; Wang et al., 2021):
    recompute when ``det Lambda`` has doubled since the last recomputation.

    Args:
        cov_inv_blocks: ``(A, d, d)`` inverse blocks before the update.
        h: ``(N, d)`` state features (or one ``(d,)`` vector).
        actions: ``(N,)`` actions (or one int).

    Returns:
        ``log det Lambda_new - log det Lambda_old`` (>= 0).

    Example:
        >>> blocks = np.stack([np.eye(2), np.eye(2)])
        >>> round(block_logdet_increment(blocks, np.array([1.0, 0.0]), 1), 6)
        0.693147
    """
    blocks, h, actions = _check_pairs(cov_inv_blocks, h, actions)
    total = 0.0
    for a in np.unique(actions):  # loop over actions: tiny
        rows = h[actions == a]
        with np.errstate(over="ignore", invalid="ignore"):
            gram = rows @ blocks[a] @ rows.T
            gram = 0.5 * (gram + gram.T) + np.eye(len(rows))
        if not np.all(np.isfinite(gram)):
            raise _overflow_error()
        sign, logdet = np.linalg.slogdet(gram)
        if sign <= 0:
            raise np.linalg.LinAlgError(
                f"I + H Lambda^-1 H^T of action {int(a)} is not positive definite"
            )
        total += float(logdet)
    return max(total, 0.0)


def block_logdet(cov_inv_blocks: np.ndarray) -> float:
    """``log det Lambda`` of the block-diagonal matrix whose inverse blocks are given.

    Args:
        cov_inv_blocks: ``(A, d, d)`` inverse blocks ``Lambda_a^{-1}``.

    Returns:
        ``sum_a log det Lambda_a = -sum_a log det Lambda_a^{-1}``.

    Raises:
        numpy.linalg.LinAlgError: If a block is not positive definite.

    Example:
        >>> round(block_logdet(np.stack([np.eye(3) / 2.0])), 6)  # det = 8
        2.079442
    """
    blocks = _check_blocks(cov_inv_blocks)
    sign, logdet = np.linalg.slogdet(blocks)
    if np.any(sign <= 0):
        bad = int(np.flatnonzero(sign <= 0)[0])
        raise np.linalg.LinAlgError(f"inverse block {bad} is not positive definite")
    return float(-logdet.sum())
