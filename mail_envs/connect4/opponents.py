"""Opponents for evaluating Connect Four policies, all built on the solver.

Connect Four is too large for an exact Nash gap, so a learned policy is
measured by its results against opponents that probe it in different ways.
All of them are :class:`~mail_envs.core.BatchedPolicy` objects that read the
exact move scores of :mod:`mail_envs.connect4.expert` (the BitBully solver):

* :class:`SoftmaxSolverOpponent` — noisy perfect play. In a position with
  legal moves ``m`` and solver scores ``s(m)`` it plays ``m`` with probability
  ``exp(s(m) / T) / sum_m' exp(s(m') / T)``. Small temperatures ``T`` play
  almost perfectly; large ones almost uniformly over legal moves. As in the
  paper's public code (``connect4/evaluate_policy.py``: the raw BitBully
  scores divided by ``suboptimal``, the level) the temperature *is* the
  level: level ``k`` of :data:`SOFTMAX_LEVEL_TEMPERATURES` has ``T = k``, so
  level 1 is the strongest and level 5 the noisiest (Appendix I: "higher
  temperatures introduce greater stochasticity");
  :func:`estimate_softmax_entropy` and
  :func:`mail_envs.connect4.evaluation.opponent_entropies` measure how random
  each level is (Table 2).
* :class:`ApproximateBestResponse` — an exploiter of imitation learners. While
  its position is lost (the best solver score is negative) it plays uniformly
  at random among the legal moves that do *not* hand the opponent an
  immediate win ("non-losing" moves: after them the opponent has no column
  that completes four), which drags the learner off the expert's usual lines
  into positions its training data may not cover, while never giving the game
  away at once. As soon as the position is no longer lost (score ``>= 0``:
  the learner has erred, or the opponent starts from a drawn or won
  position) it plays perfectly, uniformly over the optimal moves, and so
  converts every learner mistake. If every legal move loses immediately it
  plays the optimal (slowest-losing) moves. The rule depends on the position
  only, so the opponent needs no memory between calls.
* :func:`perfect_opponent` — the solver itself (:class:`Connect4Expert`,
  uniform over optimal moves).

:func:`evaluation_opponents` bundles them under the names used in reports.

Example:
    >>> opponents = evaluation_opponents(levels=(1, 5))
    >>> sorted(opponents)
    ['abr', 'perfect', 'softmax-1', 'softmax-5']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mail_envs.connect4 import rules
from mail_envs.connect4.expert import (
    Connect4Expert,
    batch_move_scores,
    optimal_move_mask,
    positions_from_observations,
)
from mail_envs.core import BatchedPolicy, check_real

__all__ = [
    "SOFTMAX_LEVEL_TEMPERATURES",
    "ApproximateBestResponse",
    "SoftmaxEntropyEstimate",
    "SoftmaxSolverOpponent",
    "estimate_softmax_entropy",
    "evaluation_opponents",
    "immediately_losing_moves",
    "perfect_opponent",
    "random_positions",
]

#: Temperature of each softmax level: ``T = level`` (the published code's
#: ``suboptimal`` argument; level 5 is the noisiest). Scores are in
#: moves-to-win units (one unit is one stone earlier or later), so level 1
#: (``T = 1``) gives a move that is one unit worse ``e**-1 ~ 0.37`` times the
#: weight of the best one, level 5 ``e**-0.2 ~ 0.82`` times.
SOFTMAX_LEVEL_TEMPERATURES: dict[int, float] = {
    level: float(level) for level in range(1, 6)
}


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax of ``scores / temperature`` with ``-inf`` as illegal.

    Rows without a finite score come back all zero.
    """
    legal = np.isfinite(scores)
    best = np.where(legal, scores, -np.inf).max(axis=1, keepdims=True)
    best = np.where(np.isfinite(best), best, 0.0)
    weights = np.where(
        legal, np.exp((np.where(legal, scores, 0.0) - best) / temperature), 0.0
    )
    total = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)


class SoftmaxSolverOpponent:
    """Plays each legal move with probability proportional to ``exp(score / T)``.

    Args:
        temperature: ``T > 0``, in score units (see the module docstring).

    Raises:
        ValueError: If ``temperature`` is not a positive finite number.

    Example:
        >>> opponent = SoftmaxSolverOpponent.level(5)  # the noisiest level
        >>> opponent.temperature
        5.0
    """

    def __init__(self, temperature: float) -> None:
        self.temperature = check_real(
            "temperature", temperature, minimum=0.0, open_minimum=True
        )

    @classmethod
    def level(cls, level: int) -> SoftmaxSolverOpponent:
        """The opponent of a level 1..5: temperature ``T = level`` (5 the noisiest).

        Raises:
            ValueError: If ``level`` is not one of the levels.
        """
        if level not in SOFTMAX_LEVEL_TEMPERATURES:
            raise ValueError(
                f"level must be one of {sorted(SOFTMAX_LEVEL_TEMPERATURES)}, got {level!r}"
            )
        return cls(SOFTMAX_LEVEL_TEMPERATURES[level])

    def __repr__(self) -> str:
        return f"SoftmaxSolverOpponent(temperature={self.temperature})"

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Move probabilities from solver scores ``(B, 7)`` (``-inf``: illegal)."""
        return _softmax(np.asarray(scores, dtype=np.float64), self.temperature)

    def __call__(
        self, observations: np.ndarray, action_masks: np.ndarray
    ) -> np.ndarray:
        """``(B, 7)`` probabilities (all zero where the mask is empty)."""
        return self.probabilities(batch_move_scores(observations, action_masks))


def immediately_losing_moves(current: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Moves after which the opponent can complete four at once.

    Args:
        current: ``(B,)`` uint64 stones of the player to move.
        mask: ``(B,)`` uint64 occupied cells.

    Returns:
        ``(B, 7)`` bool; True for a legal column that leaves the opponent a
        winning reply (illegal columns are False).
    """
    current = np.asarray(current, dtype=np.uint64)
    mask = np.asarray(mask, dtype=np.uint64)
    batch = current.shape[0]
    legal = rules.batch_legal(mask)
    cols = np.tile(np.arange(rules.COLUMNS), batch)
    parent_mask = np.repeat(mask, rules.COLUMNS)
    child_mask = parent_mask | rules.batch_drop(parent_mask, cols)
    opponent = np.repeat(current ^ mask, rules.COLUMNS)
    replies = rules.batch_winning_columns(opponent, child_mask)
    return legal & replies.any(axis=1).reshape(batch, rules.COLUMNS)


class ApproximateBestResponse:
    """Random non-losing moves while lost, perfect play otherwise.

    See the module docstring for the exact rule.

    Example:
        >>> import numpy as np
        >>> from mail_envs.connect4 import rules
        >>> first, second, _ = rules.play_moves("3")  # second player to move
        >>> obs = rules.planes_from_bitboards(np.array([second]), np.array([first]))
        >>> ApproximateBestResponse()(obs, np.ones((1, 7), bool)).round(3)
        array([[0.143, 0.143, 0.143, 0.143, 0.143, 0.143, 0.143]])
    """

    def __repr__(self) -> str:
        return "ApproximateBestResponse()"

    def __call__(
        self, observations: np.ndarray, action_masks: np.ndarray
    ) -> np.ndarray:
        """``(B, 7)`` probabilities (all zero where the mask is empty)."""
        scores = batch_move_scores(observations, action_masks)
        legal = np.isfinite(scores)
        current, mask = positions_from_observations(observations)
        safe = legal & ~immediately_losing_moves(current, mask)
        lost = np.where(legal, scores, -np.inf).max(axis=1) < 0
        explore = lost & safe.any(axis=1)
        choice = np.where(explore[:, None], safe, optimal_move_mask(scores))
        counts = choice.sum(axis=1, keepdims=True)
        return np.divide(choice, counts, out=np.zeros(choice.shape), where=counts > 0)


def perfect_opponent() -> Connect4Expert:
    """The solver as an opponent: uniform over the optimal moves."""
    return Connect4Expert(mode="uniform")


def evaluation_opponents(
    levels: Sequence[int] = (1, 2, 3, 4, 5),
) -> dict[str, BatchedPolicy]:
    """The standard opponents: softmax levels, the best response, the solver.

    Args:
        levels: Softmax levels to include (temperature ``T = level``; 1 the
            strongest, 5 the noisiest).

    Returns:
        ``{"softmax-<level>": ..., "abr": ..., "perfect": ...}``.
    """
    opponents: dict[str, BatchedPolicy] = {
        f"softmax-{level}": SoftmaxSolverOpponent.level(level) for level in levels
    }
    opponents["abr"] = ApproximateBestResponse()
    opponents["perfect"] = perfect_opponent()
    return opponents


def random_positions(
    n_positions: int, *, min_ply: int, max_ply: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions reached by uniformly random play, for estimates over positions.

    Each position comes from a game of uniformly random legal moves, stopped
    after a number of plies drawn uniformly from ``[min_ply, max_ply]``; games
    that end earlier are replayed with the next draw, so every position is
    unfinished and has a move to make.

    Args:
        n_positions: How many positions.
        min_ply: Fewest stones on the board (``>= 0``).
        max_ply: Most stones on the board (``<= 41``).
        seed: Seed of the random stream.

    Returns:
        ``(observations (N, 6, 7, 2) int8, action_masks (N, 7) bool)`` from the
        point of view of the player to move.

    Raises:
        ValueError: If the ply range is empty or outside ``[0, 41]``.
    """
    if not 0 <= min_ply <= max_ply <= rules.NUM_CELLS - 1:
        raise ValueError(
            f"need 0 <= min_ply <= max_ply <= 41, got {min_ply}, {max_ply}"
        )
    if n_positions < 1:
        raise ValueError(f"n_positions must be positive, got {n_positions}")
    rng = np.random.default_rng(seed)
    current = np.zeros(0, dtype=np.uint64)
    mask = np.zeros(0, dtype=np.uint64)
    while current.size < n_positions:
        need = 2 * (n_positions - current.size) + 8
        target = rng.integers(min_ply, max_ply + 1, size=need)
        cur = np.zeros(need, dtype=np.uint64)
        msk = np.zeros(need, dtype=np.uint64)
        alive = np.ones(need, dtype=bool)
        for ply in range(max_ply):
            move = alive & (ply < target)
            if not move.any():
                break
            legal = rules.batch_legal(msk[move])
            u = rng.random(legal.shape)
            col = np.argmax(np.where(legal, u, -1.0), axis=1)
            cell = rules.batch_drop(msk[move], col)
            mover = cur[move] | cell
            new_mask = msk[move] | cell
            alive[np.flatnonzero(move)[rules.batch_has_four(mover)]] = False
            # The other player moves next: its stones are new_mask ^ mover.
            cur[move] = new_mask ^ mover
            msk[move] = new_mask
        keep = alive & (msk != np.uint64(rules.ALL_CELLS))
        current = np.concatenate([current, cur[keep]])
        mask = np.concatenate([mask, msk[keep]])
    current, mask = current[:n_positions], mask[:n_positions]
    return rules.planes_from_bitboards(current, current ^ mask), rules.batch_legal(mask)


@dataclass(frozen=True)
class SoftmaxEntropyEstimate:
    """Mean policy entropy (nats) of softmax levels over a set of positions.

    Attributes:
        levels: The levels, in the order given.
        temperatures: Their temperatures.
        mean_entropy: Mean entropy of each level's move distribution.
        standard_error: Standard error of each mean over positions.
        max_entropy: Mean entropy of the uniform distribution over legal moves
            on the same positions (the upper bound).
        n_positions: Number of positions.
    """

    levels: tuple[int, ...]
    temperatures: tuple[float, ...]
    mean_entropy: tuple[float, ...]
    standard_error: tuple[float, ...]
    max_entropy: float
    n_positions: int


def estimate_softmax_entropy(
    levels: Sequence[int] = (1, 2, 3, 4, 5),
    *,
    n_positions: int = 200,
    min_ply: int = 0,
    max_ply: int = 30,
    seed: int = 0,
) -> SoftmaxEntropyEstimate:
    """Estimate each softmax level's mean policy entropy over random positions.

    All levels are measured on the same positions (:func:`random_positions`),
    so their differences are not blurred by sampling noise; since a softmax's
    entropy grows with its temperature in every position and the temperature
    is the level, the estimates increase with the level.

    Args:
        levels: Softmax levels (keys of :data:`SOFTMAX_LEVEL_TEMPERATURES`).
        n_positions: Number of positions.
        min_ply: Fewest stones in a position.
        max_ply: Most stones in a position.
        seed: Seed of the positions.

    Returns:
        A :class:`SoftmaxEntropyEstimate`.

    Raises:
        ValueError: If a level is unknown or the ply range is invalid.
    """
    opponents = [SoftmaxSolverOpponent.level(level) for level in levels]
    observations, masks = random_positions(
        n_positions, min_ply=min_ply, max_ply=max_ply, seed=seed
    )
    scores = batch_move_scores(observations, masks)
    means, errors = [], []
    for opponent in opponents:
        probs = opponent.probabilities(scores)
        logs = np.log(probs, out=np.zeros_like(probs), where=probs > 0)
        entropy = -(probs * logs).sum(axis=1)
        means.append(float(entropy.mean()))
        errors.append(
            float(entropy.std(ddof=1) / np.sqrt(n_positions))
            if n_positions > 1
            else 0.0
        )
    return SoftmaxEntropyEstimate(
        levels=tuple(int(level) for level in levels),
        temperatures=tuple(o.temperature for o in opponents),
        mean_entropy=tuple(means),
        standard_error=tuple(errors),
        max_entropy=float(np.log(masks.sum(axis=1)).mean()),
        n_positions=n_positions,
    )
