"""Behaviour cloning with a softmax-linear policy over a feature map.

The BC step of the model-based methods (Viano, Freihaut et al., "Multi-agent
imitation learning with function approximation: linear Markov games and
beyond"): the policy class is ``pi_theta(a | s) ∝ exp(theta^T phi(s, a))`` over
the legal actions, for a fixed feature map ``phi`` (see
:mod:`agents.linear.features`), and BC maximizes the L2-regularized likelihood
of the expert's labels, which is strictly convex and solved exactly.

* :func:`fit_softmax_linear` — the fit, from ``(S, A)`` label counts;
* :func:`softmax_linear_policy` — the ``(S, A)`` table of a parameter vector;
* :func:`label_counts` — the counts of an
  :class:`~mail_wrappers.recorder.ExpertLabelDataset` whose observations are
  state indices (what :func:`agents.linear.rollouts.collect_labels` gives);
* :func:`behaviour_clone` — the three together, for one player of a game.

Example:
    >>> import numpy as np
    >>> masks = np.array([[True, True], [True, False]])
    >>> features = np.eye(4).reshape(2, 2, 4)  # tabular: one-hot (s, a)
    >>> counts = np.array([[3.0, 1.0], [2.0, 0.0]])
    >>> theta = fit_softmax_linear(features, masks, counts, l2=1e-9)
    >>> softmax_linear_policy(features, masks, theta).round(3).tolist()
    [[0.75, 0.25], [1.0, 0.0]]
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

from agents.linear.rollouts import check_features
from mail_envs.core import TabularMarkovGame
from mail_wrappers.recorder import ExpertLabelDataset

__all__ = [
    "behaviour_clone",
    "fit_softmax_linear",
    "label_counts",
    "softmax_linear_policy",
]


def _masked_log_softmax(logits: np.ndarray, masks: np.ndarray) -> np.ndarray:
    z = np.where(masks, logits, -np.inf)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax_linear_policy(
    features: np.ndarray, masks: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """The table of ``pi(a | s) ∝ exp(theta^T phi(s, a))`` over legal actions.

    Args:
        features: ``(S, A, d)`` feature map.
        masks: ``(S, A)`` legal actions.
        theta: ``(d,)`` parameters.

    Returns:
        ``(S, A)`` probabilities, exactly 0 on illegal actions.
    """
    return np.exp(_masked_log_softmax(features @ theta, masks))


def fit_softmax_linear(
    features: np.ndarray,
    masks: np.ndarray,
    counts: np.ndarray,
    *,
    l2: float = 1e-4,
    tol: float = 1e-8,
    max_iter: int = 500,
) -> np.ndarray:
    """Behaviour cloning with a linear softmax policy, fitted exactly.

    Minimizes the L2-regularized negative log-likelihood of the labels,
    ``-sum_{s,a} N(s, a) log pi_theta(a | s) + l2 / 2 ||theta||^2`` with
    ``pi_theta(a | s) ∝ exp(theta^T phi(s, a))`` over legal actions — the BC
    step of LSVI-UCB-ZERO-BC in Viano, Freihaut et al. (linear policy class
    over the same feature map). The objective is strictly convex; damped
    Newton (L-BFGS for more than 1,500 active feature columns) solves it to
    gradient norm ``tol``, deterministically, in milliseconds. ``counts`` may be soft (expert probabilities).
    Parameters of features no label touches stay at 0, so unlabelled states
    with tabular features get the uniform policy.

    Args:
        features: ``(S, A, d)`` feature map.
        masks: ``(S, A)`` legal actions.
        counts: ``(S, A)`` non-negative label counts; none on illegal actions.
        l2: Ridge weight (> 0 keeps the optimum finite when labels are
            separable).
        tol: Gradient tolerance (max norm).
        max_iter: Iteration cap.

    Returns:
        ``(d,)`` fitted parameters.

    Raises:
        ValueError: If shapes disagree, ``l2 <= 0``, or a count is negative or
            on an illegal action.
    """
    if features.ndim != 3 or masks.shape != features.shape[:2]:
        raise ValueError(
            f"features (S, A, d) and masks (S, A) disagree: {features.shape} vs "
            f"{masks.shape}"
        )
    if counts.shape != masks.shape:
        raise ValueError(f"counts must have shape {masks.shape}, got {counts.shape}")
    if not l2 > 0:
        raise ValueError(f"l2 must be > 0, got {l2!r}")
    if np.any(counts < 0):
        raise ValueError("counts must be non-negative")
    illegal = np.argwhere((counts > 0) & ~masks)
    if illegal.size:
        s, a = illegal[0]
        raise ValueError(f"label on illegal action {a} in state {s}")
    rows = np.flatnonzero(counts.sum(axis=1) > 0)
    d = features.shape[2]
    theta = np.zeros(d)
    if rows.size == 0:
        return theta
    # Parameters of feature columns that vanish on every labelled row only see
    # the ridge term, so they are exactly 0 at the optimum: drop them.
    cols = np.flatnonzero(np.any(features[rows] != 0.0, axis=(0, 1)))
    if cols.size == 0:
        return theta
    f = features[rows][:, :, cols]
    m, c = masks[rows], counts[rows]
    if cols.size <= _NEWTON_MAX_DIM:
        theta[cols] = _newton_softmax_linear(f, m, c, l2, tol, max_iter)
    else:
        theta[cols] = _lbfgs_softmax_linear(f, m, c, l2, tol, max_iter)
    return theta


#: Widest (active) feature dimension fitted by Newton's method; L-BFGS beyond.
_NEWTON_MAX_DIM = 1500


def _softmax_nll(
    f: np.ndarray, m: np.ndarray, c: np.ndarray, l2: float, theta: np.ndarray
) -> tuple[float, np.ndarray]:
    logp = _masked_log_softmax(f @ theta, m)
    loss = -float(np.sum(c * np.where(m, logp, 0.0)))
    return loss + 0.5 * l2 * float(theta @ theta), logp


def _newton_softmax_linear(
    f: np.ndarray, m: np.ndarray, c: np.ndarray, l2: float, tol: float, max_iter: int
) -> np.ndarray:
    """Damped Newton (Armijo backtracking) on the regularized softmax NLL."""
    num_rows, num_a, d = f.shape
    flat = f.reshape(num_rows * num_a, d)
    totals = c.sum(axis=1, keepdims=True)
    theta = np.zeros(d)
    value, logp = _softmax_nll(f, m, c, l2, theta)
    for _ in range(max_iter):
        p = np.exp(logp)
        grad = flat.T @ (totals * p - c).ravel() + l2 * theta
        if np.max(np.abs(grad)) <= tol:
            break
        mean_f = np.einsum("sa,sad->sd", p, f)  # E_pi[phi | s]
        weighted = (totals * p).reshape(-1, 1) * flat
        hessian = flat.T @ weighted - mean_f.T @ (totals * mean_f)
        hessian[np.diag_indices(d)] += l2
        step = np.linalg.solve(hessian, grad)
        decrease = float(grad @ step)
        alpha = 1.0
        while True:
            trial = theta - alpha * step
            new_value, new_logp = _softmax_nll(f, m, c, l2, trial)
            if new_value <= value - 1e-4 * alpha * decrease or alpha < 1e-12:
                break
            alpha *= 0.5
        if new_value > value:  # no progress possible at float precision
            break
        theta, value, logp = trial, new_value, new_logp
    return theta


def _lbfgs_softmax_linear(
    f: np.ndarray, m: np.ndarray, c: np.ndarray, l2: float, tol: float, max_iter: int
) -> np.ndarray:
    """L-BFGS on the regularized softmax NLL (wide feature maps)."""
    totals = c.sum(axis=1, keepdims=True)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, logp = _softmax_nll(f, m, c, l2, theta)
        resid = totals * np.exp(logp) - c  # d loss / d logits
        return value, np.einsum("sa,sad->d", resid, f) + l2 * theta

    res = scipy.optimize.minimize(
        objective,
        np.zeros(f.shape[2]),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": tol, "ftol": 0.0, "maxiter": max_iter, "maxcor": 20},
    )
    return np.asarray(res.x, dtype=np.float64)


def label_counts(
    labels: ExpertLabelDataset, num_states: int, num_actions: int
) -> np.ndarray:
    """Label counts per state and action, ``(S, A)`` float64 (hard labels).

    Args:
        labels: Expert labels whose ``observations`` are ``(N,)`` integer state
            indices (as :func:`~agents.linear.rollouts.collect_labels` gives).
        num_states: Number of states ``S``.
        num_actions: Number of actions ``A`` of the labelled player.

    Returns:
        ``N(s, a)``: how often the expert's action ``a`` was labelled in ``s``.

    Raises:
        ValueError: If the observations are not integer state indices in
            ``[0, S)`` or an action is not in ``[0, A)``.

    Example:
        >>> from agents.linear.rollouts import label_metadata
        >>> labels = ExpertLabelDataset(
        ...     observations=np.array([0, 0, 1]), action_masks=np.ones((3, 2), bool),
        ...     expert_actions=np.array([1, 1, 0]), expert_probs=np.full((3, 2), 0.5),
        ...     agents=np.zeros(3, np.int64), episodes=np.zeros(3, np.int64),
        ...     steps=np.arange(3), metadata=label_metadata(agent="p", num_rows=3))
        >>> label_counts(labels, 2, 2).tolist()
        [[0.0, 2.0], [1.0, 0.0]]
    """
    states = np.asarray(labels.observations)
    actions = np.asarray(labels.expert_actions)
    if states.shape != actions.shape or states.ndim != 1:
        raise ValueError(
            "labels must have (N,) state indices as observations, got observations "
            f"of shape {states.shape} for {actions.shape[0]} labels"
        )
    if states.size and not np.issubdtype(states.dtype, np.integer):
        raise ValueError(
            f"labels' observations must be integer state indices, got {states.dtype}"
        )
    if states.size and (states.min() < 0 or states.max() >= num_states):
        raise ValueError(
            f"labels' states must lie in [0, {num_states}), got "
            f"[{int(states.min())}, {int(states.max())}]"
        )
    if actions.size and (actions.min() < 0 or actions.max() >= num_actions):
        raise ValueError(
            f"labels' actions must lie in [0, {num_actions}), got "
            f"[{int(actions.min())}, {int(actions.max())}]"
        )
    out = np.zeros((num_states, num_actions), dtype=np.float64)
    np.add.at(out, (states.astype(np.int64), actions.astype(np.int64)), 1.0)
    return out


def behaviour_clone(
    game: TabularMarkovGame,
    player: int,
    labels: ExpertLabelDataset,
    features: np.ndarray,
    *,
    l2: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """BC of one player on its labels with the softmax-linear policy.

    Args:
        game: The game.
        player: The labelled player.
        labels: The player's expert labels (hard labels: the played actions;
            observations are state indices).
        features: ``(S, A_i, d)`` feature map of the player.
        l2: Ridge weight of :func:`fit_softmax_linear`.

    Returns:
        ``(theta, table)``: the parameters and the ``(S, A_i)`` policy table.

    Raises:
        ValueError: If the features or labels do not fit the game (see
            :func:`~agents.linear.rollouts.check_features`,
            :func:`label_counts`, :func:`fit_softmax_linear`).
    """
    f = check_features(game, player, features)
    mask = game.legal_masks[player]
    counts = label_counts(labels, game.num_states, game.num_actions[player])
    theta = fit_softmax_linear(f, mask, counts, l2=l2)
    return theta, softmax_linear_policy(f, mask, theta)
