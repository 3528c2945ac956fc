"""Model-based expert-label collection and softmax-linear behaviour cloning.

The interactive MAIL algorithms of Viano, Freihaut et al. ("Multi-agent
imitation learning with function approximation: linear Markov games and
beyond") all share one loop: for a learning player ``i``, one other player
(the *explorer*) chooses actions by some rule while every other player follows
the expert; the expert's action of each labelled player is recorded in every
visited state; behaviour cloning (BC) on those labels gives player ``i``'s
policy. This module holds the pieces every variant shares, for games whose
model (:class:`~mail_envs.core.TabularMarkovGame`) is available:

* :func:`rollout` samples episodes of a fixed profile on the model, vectorized
  over episodes (one numpy step per time step ``h``, never a loop over
  episodes or states);
* :func:`collect_labels` turns :class:`Trajectories` into the
  :class:`ExpertLabels` of one player;
* :func:`fit_softmax_linear` / :func:`softmax_linear_policy` are BC with the
  linear softmax policy ``pi(a | s) ∝ exp(theta^T phi(s, a))`` over a feature
  map, fitted exactly (strictly convex; Newton's method);
* the two baselines of the paper's Gridworld figure: :func:`uniform_explore_bc`
  (the explorer plays uniformly among its legal actions) and
  :func:`expert_self_play_bc` (the explorer follows the expert too: BC on
  expert self-play data). :class:`~agents.linear.lsvi_ucb_zero.LSVIUCBZeroBC`
  replaces the fixed explorer by LSVI-UCB with zero reward.

Episodes are sampled on the model rather than by stepping the PettingZoo env:
the model gives the same transitions (a test of ``mail_envs`` ties the two
views together) at a fraction of the cost. An episode lasts ``horizon`` steps
or ends early in a terminal state.

A state is labelled for player ``j`` (one expert query) when ``j`` has at least
two legal actions there; in turn-based games the player not to move (a single
no-op) is never queried.

Example:
    >>> import numpy as np
    >>> from mail_envs.core import TabularMarkovGame
    >>> game = TabularMarkovGame(
    ...     num_actions=(2, 2),
    ...     next_states=np.zeros((1, 4, 1), dtype=int),
    ...     next_probs=np.ones((1, 4, 1)),
    ...     rewards=np.zeros((2, 1, 4)),
    ...     legal_masks=(np.ones((1, 2), bool), np.ones((1, 2), bool)),
    ...     initial_distribution=np.ones(1),
    ...     gamma=0.9,
    ... )
    >>> expert = (np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]))
    >>> features = tuple(np.eye(2)[None] for _ in range(2))
    >>> result = uniform_explore_bc(
    ...     game, expert, features, num_episodes=3, horizon=4, seed=0
    ... )
    >>> int(result.labels[0].num_queries), bool(result.policies[0][0, 0] > 0.99)
    (12, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from mail_envs.core import TabularMarkovGame

__all__ = [
    "ExpertLabels",
    "ImitationResult",
    "Trajectories",
    "behaviour_clone",
    "check_expert_policies",
    "check_features",
    "collect_labels",
    "expert_self_play_bc",
    "fit_softmax_linear",
    "rollout",
    "sample_categorical",
    "softmax_linear_policy",
    "uniform_explore_bc",
]


# ---------------------------------------------------------------- containers
@dataclass(frozen=True)
class Trajectories:
    """Episodes sampled on a model, stored as arrays.

    Attributes:
        states: ``(K, H + 1)`` state of every episode at every step (after an
            episode ends in a terminal state the state stays there).
        actions: ``(n, K, H)`` action of every player; ``-1`` where the
            episode had already ended.
        alive: ``(K, H)`` whether step ``h`` of episode ``k`` was played
            (its state was not terminal).
    """

    states: np.ndarray
    actions: np.ndarray
    alive: np.ndarray

    @property
    def num_episodes(self) -> int:
        """Number of episodes ``K``."""
        return int(self.states.shape[0])

    @property
    def horizon(self) -> int:
        """Steps per episode ``H``."""
        return int(self.alive.shape[1])

    @property
    def num_steps(self) -> int:
        """Number of steps played over all episodes."""
        return int(self.alive.sum())


@dataclass(frozen=True)
class ExpertLabels:
    """One player's expert labels: the BC dataset of that player.

    Each row is one expert query: the state, the expert's action there (the
    action the player actually played) and the expert's distribution.

    Attributes:
        player: The labelled player.
        states: ``(N,)`` state indices.
        actions: ``(N,)`` expert actions.
        probs: ``(N, A_i)`` expert action distributions.
        masks: ``(N, A_i)`` legal-action masks of the player.
        episodes: ``(N,)`` episode of each label.
        steps: ``(N,)`` step ``h`` of each label.
    """

    player: int
    states: np.ndarray
    actions: np.ndarray
    probs: np.ndarray
    masks: np.ndarray
    episodes: np.ndarray
    steps: np.ndarray

    @property
    def num_queries(self) -> int:
        """Number of expert queries (labelled visits)."""
        return int(self.states.shape[0])

    def counts(self, num_states: int) -> np.ndarray:
        """Label counts per state and action, ``(S, A_i)`` float64."""
        out = np.zeros((num_states, self.probs.shape[1]), dtype=np.float64)
        np.add.at(out, (self.states, self.actions), 1.0)
        return out


@dataclass(frozen=True)
class ImitationResult:
    """A learned profile and the data it was cloned from.

    Attributes:
        method: ``"lsvi-ucb-zero"``, ``"uniform"`` or ``"expert-self-play"``.
        policies: One ``(S, A_i)`` policy table per player (the BC policies).
        thetas: One softmax-linear parameter vector per player.
        labels: One :class:`ExpertLabels` per player (the BC datasets).
        num_episodes: Episodes collected per learning player.
        horizon: Steps per episode.
    """

    method: str
    policies: tuple[np.ndarray, ...]
    thetas: tuple[np.ndarray, ...]
    labels: tuple[ExpertLabels, ...]
    num_episodes: int
    horizon: int

    @property
    def num_queries(self) -> tuple[int, ...]:
        """Expert queries per player."""
        return tuple(lab.num_queries for lab in self.labels)


# ---------------------------------------------------------------- validation
def check_expert_policies(
    game: TabularMarkovGame, expert_policies: Sequence[np.ndarray]
) -> tuple[np.ndarray, ...]:
    """Validate expert tables: ``(S, A_i)`` or time-indexed ``(T, S, A_i)``.

    Args:
        game: The game.
        expert_policies: One table per player.

    Returns:
        Validated float64 tables (rows are distributions over legal actions;
        a state with one legal action gets that action).

    Raises:
        ValueError: If the count, a shape or a row is wrong; the message names
            the player.
    """
    if len(expert_policies) != game.num_players:
        raise ValueError(
            f"expert_policies must hold one table per player ({game.num_players}), "
            f"got {len(expert_policies)}"
        )
    out = []
    for i, table in enumerate(expert_policies):
        t = np.asarray(table, dtype=np.float64)
        # policy_table validates shape, legality and sums, and sets the rows of
        # states with a single legal action (turn-based no-ops) to that action.
        if t.ndim == 2:
            t = game.policy_table(i, t)
        elif t.ndim == 3:
            t = np.stack([game.policy_table(i, t[h]) for h in range(t.shape[0])])
        else:
            raise ValueError(
                f"expert policy of player {i} must have shape (S, A_i) or "
                f"(T, S, A_i), got {t.shape}"
            )
        out.append(t)
    return tuple(out)


def check_features(
    game: TabularMarkovGame, player: int, features: np.ndarray
) -> np.ndarray:
    """Validate a feature map ``phi(s, a)`` of ``player``: ``(S, A_i, d)``.

    Args:
        game: The game.
        player: Whose actions the features describe.
        features: The feature array.

    Returns:
        The features as a float64 array.

    Raises:
        ValueError: If the shape is wrong or an entry is not finite.
    """
    f = np.asarray(features, dtype=np.float64)
    expected = (game.num_states, game.num_actions[player])
    if f.ndim != 3 or f.shape[:2] != expected:
        raise ValueError(
            f"features of player {player} must have shape {(*expected, 'd')}, "
            f"got {f.shape}"
        )
    if not np.all(np.isfinite(f)):
        raise ValueError(f"features of player {player} contain non-finite values")
    return f


def terminal_mask(game: TabularMarkovGame) -> np.ndarray:
    """The game's ``(S,)`` terminal-state mask (all False when it has none)."""
    if game.terminal is None:
        return np.zeros(game.num_states, dtype=bool)
    return game.terminal


def expert_rows(table: np.ndarray, step: int, states: np.ndarray) -> np.ndarray:
    """Rows of an (optionally time-indexed) policy table at ``step``."""
    if table.ndim == 3:
        return table[min(step, table.shape[0] - 1), states]
    return table[states]


# ------------------------------------------------------------------ sampling
def sample_categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sample one index per row of ``probs`` (inverse CDF, vectorized).

    Zero-probability entries are never drawn: the CDF is normalized by its
    last entry and the uniform draw lies in ``(0, 1]``.

    Args:
        probs: ``(B, A)`` non-negative rows with positive sums.
        rng: Random generator.

    Returns:
        ``(B,)`` int64 sampled indices.
    """
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = 1.0 - np.asarray(rng.random(probs.shape[0]))
    return (cdf < u[:, None]).sum(axis=1).astype(np.int64)


def sample_next_states(
    game: TabularMarkovGame,
    states: np.ndarray,
    joint: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sample successors of ``(states, joint actions)`` from the sparse model."""
    if game.next_states.shape[2] == 1:
        return game.next_states[states, joint, 0]
    k = sample_categorical(game.next_probs[states, joint], rng)
    return game.next_states[states, joint, k]


def rollout(
    game: TabularMarkovGame,
    policies: Sequence[np.ndarray],
    *,
    num_episodes: int,
    horizon: int,
    rng: np.random.Generator,
) -> Trajectories:
    """Sample episodes of a fixed profile on the model, all episodes at once.

    Args:
        game: The game.
        policies: One table per player, ``(S, A_i)`` or ``(T, S, A_i)``.
        num_episodes: Number of episodes ``K``.
        horizon: Steps per episode ``H``.
        rng: Random generator.

    Returns:
        The :class:`Trajectories`.
    """
    n = game.num_players
    states = np.empty((num_episodes, horizon + 1), dtype=np.int64)
    actions = np.full((n, num_episodes, horizon), -1, dtype=np.int64)
    alive = np.zeros((num_episodes, horizon), dtype=bool)
    s = sample_categorical(
        np.broadcast_to(game.initial_distribution, (num_episodes, game.num_states)),
        rng,
    )
    live = np.ones(num_episodes, dtype=bool)
    terminal = terminal_mask(game)
    for h in range(horizon):
        states[:, h] = s
        live &= ~terminal[s]
        alive[:, h] = live
        a = np.stack([sample_categorical(expert_rows(p, h, s), rng) for p in policies])
        joint = np.ravel_multi_index(tuple(a), game.num_actions)
        nxt = sample_next_states(game, s, joint, rng)
        actions[:, live, h] = a[:, live]
        s = np.where(live, nxt, s)
    states[:, horizon] = s
    return Trajectories(states=states, actions=actions, alive=alive)


def collect_labels(
    game: TabularMarkovGame,
    trajectories: Trajectories,
    expert_policies: Sequence[np.ndarray],
    player: int,
) -> ExpertLabels:
    """The expert labels of ``player`` in the trajectories' visited states.

    Every played step in which ``player`` has at least two legal actions is
    one query; the label is the action the player played (drawn from the
    expert, which it followed) and the expert's distribution.

    Args:
        game: The game.
        trajectories: Episodes in which ``player`` followed the expert.
        expert_policies: The expert tables the episodes were played with.
        player: The labelled player.

    Returns:
        The :class:`ExpertLabels` of ``player``, in (episode, step) order.
    """
    mask = game.legal_masks[player]
    s = trajectories.states[:, :-1]
    chooses = mask.sum(axis=1) >= 2
    keep = trajectories.alive & chooses[s]
    episodes, steps = np.nonzero(keep)
    states = s[episodes, steps]
    table = expert_policies[player]
    if table.ndim == 3:
        idx = np.minimum(steps, table.shape[0] - 1)
        probs = table[idx, states]
    else:
        probs = table[states]
    return ExpertLabels(
        player=player,
        states=states,
        actions=trajectories.actions[player][episodes, steps],
        probs=np.array(probs, dtype=np.float64),
        masks=mask[states],
        episodes=episodes.astype(np.int64),
        steps=steps.astype(np.int64),
    )


# ------------------------------------------------------------- softmax-linear
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


def behaviour_clone(
    game: TabularMarkovGame,
    labels: ExpertLabels,
    features: np.ndarray,
    *,
    l2: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """BC of one player on its labels with the softmax-linear policy.

    Args:
        game: The game.
        labels: The player's expert labels (hard labels: the played actions).
        features: ``(S, A_i, d)`` feature map of the player.
        l2: Ridge weight of :func:`fit_softmax_linear`.

    Returns:
        ``(theta, table)``: the parameters and the ``(S, A_i)`` policy table.
    """
    player = labels.player
    f = check_features(game, player, features)
    mask = game.legal_masks[player]
    theta = fit_softmax_linear(f, mask, labels.counts(game.num_states), l2=l2)
    return theta, softmax_linear_policy(f, mask, theta)


# ----------------------------------------------------------------- baselines
def default_explorer(player: int, num_players: int) -> int:
    """The explorer paired with a learning player: the next player, cyclically."""
    return (player + 1) % num_players


def _fixed_explorer_bc(
    method: str,
    game: TabularMarkovGame,
    expert_policies: Sequence[np.ndarray],
    features: Sequence[np.ndarray],
    *,
    num_episodes: int,
    horizon: int,
    seed: int,
    l2: float,
) -> ImitationResult:
    if game.num_players < 2:
        raise ValueError(f"need at least two players, got {game.num_players}")
    if num_episodes < 1 or horizon < 1:
        raise ValueError(
            f"num_episodes and horizon must be >= 1, got {num_episodes}, {horizon}"
        )
    experts = check_expert_policies(game, expert_policies)
    if len(features) != game.num_players:
        raise ValueError(
            f"features must hold one array per player ({game.num_players}), "
            f"got {len(features)}"
        )
    rngs = [
        np.random.default_rng(s)
        for s in np.random.SeedSequence(seed).spawn(game.num_players)
    ]
    thetas, tables, all_labels = [], [], []
    for i in range(game.num_players):
        profile = list(experts)
        if method == "uniform":
            j = default_explorer(i, game.num_players)
            profile[j] = game.uniform_policy(j)
        traj = rollout(
            game, profile, num_episodes=num_episodes, horizon=horizon, rng=rngs[i]
        )
        labels = collect_labels(game, traj, experts, i)
        theta, table = behaviour_clone(game, labels, features[i], l2=l2)
        thetas.append(theta)
        tables.append(table)
        all_labels.append(labels)
    return ImitationResult(
        method=method,
        policies=tuple(tables),
        thetas=tuple(thetas),
        labels=tuple(all_labels),
        num_episodes=num_episodes,
        horizon=horizon,
    )


def uniform_explore_bc(
    game: TabularMarkovGame,
    expert_policies: Sequence[np.ndarray],
    features: Sequence[np.ndarray],
    *,
    num_episodes: int,
    horizon: int = 10,
    seed: int = 0,
    l2: float = 1e-4,
) -> ImitationResult:
    """Uniform-exploration BC: the explorer plays uniformly at random.

    For each learning player ``i``: ``num_episodes`` episodes in which the
    explorer (player ``(i + 1) % n``) picks uniformly among its legal actions
    and every other player follows the expert; BC on ``i``'s labels.

    Args:
        game: The game.
        expert_policies: Expert tables, ``(S, A_i)`` or ``(T, S, A_i)``.
        features: One ``(S, A_i, d_i)`` feature map per player (the BC
            policy class).
        num_episodes: Episodes per learning player.
        horizon: Steps per episode.
        seed: Seed of the sampling.
        l2: Ridge weight of the BC fit.

    Returns:
        The :class:`ImitationResult` (``method="uniform"``).

    Raises:
        ValueError: On a bad budget, table or feature shape.
    """
    return _fixed_explorer_bc(
        "uniform",
        game,
        expert_policies,
        features,
        num_episodes=num_episodes,
        horizon=horizon,
        seed=seed,
        l2=l2,
    )


def expert_self_play_bc(
    game: TabularMarkovGame,
    expert_policies: Sequence[np.ndarray],
    features: Sequence[np.ndarray],
    *,
    num_episodes: int,
    horizon: int = 10,
    seed: int = 0,
    l2: float = 1e-4,
) -> ImitationResult:
    """Offline BC on expert self-play data (the paper's BC baseline).

    For each learning player ``i``: ``num_episodes`` episodes in which every
    player follows the expert; BC on ``i``'s labels. (Each player gets its own
    ``num_episodes`` episodes, the same budget the interactive methods get.)

    Args:
        game: The game.
        expert_policies: Expert tables, ``(S, A_i)`` or ``(T, S, A_i)``.
        features: One ``(S, A_i, d_i)`` feature map per player.
        num_episodes: Episodes per learning player.
        horizon: Steps per episode.
        seed: Seed of the sampling.
        l2: Ridge weight of the BC fit.

    Returns:
        The :class:`ImitationResult` (``method="expert-self-play"``).

    Raises:
        ValueError: On a bad budget, table or feature shape.
    """
    return _fixed_explorer_bc(
        "expert-self-play",
        game,
        expert_policies,
        features,
        num_episodes=num_episodes,
        horizon=horizon,
        seed=seed,
        l2=l2,
    )
