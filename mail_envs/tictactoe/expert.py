"""The minimax Tic-Tac-Toe expert: perfect play from PettingZoo observations.

Game values come from exact backward induction over the 5,478 reachable boards
of :func:`mail_envs.tictactoe.tictactoe_states`, one vectorized sweep per depth
layer (negamax: ``Q(s, a) = win(s, a) - W(s')`` and ``W(s) = max_a Q(s, a)``,
values to the player to move). The expert plays a move of maximal ``Q``: the
uniform mixture over all optimal moves, or the lowest-index one. With
``prefer_fastest_win`` the values become ``win(s, a) * (9 - depth(s)) -
W'(s')``, which have the same sign as ``Q`` and rank quicker wins and slower
losses higher, so the expert keeps to the optimal moves and among them wins as
soon (loses as late) as possible.

The expert reads observations, not env internals: the planes are mapped back to
a board (the observer is ``X`` iff it holds as many marks as the opponent), the
board to its state by a dense base-3 lookup, and the state to a row of a
precomputed table. It therefore drives PettingZoo's own ``tictactoe_v3`` as
well as ``mail/tictactoe-v0`` and tabulates on the model with
``game.policy_table(player, expert)``.

### Version History

* v0: initial release.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from mail_envs.tictactoe import rules, tictactoe_states

__all__ = ["MinimaxTables", "TicTacToeMinimaxExpert", "minimax_tables"]


@dataclass(frozen=True, eq=False)
class MinimaxTables:
    """Exact game values of every reachable board, to the player to move.

    Attributes:
        values: ``(S,)`` minimax value ``W`` in ``{-1, 0, 1}`` (0 on terminal
            boards: their rewards were paid on the move into them).
        q_values: ``(S, 9)`` ``Q(s, a)`` of the mover's legal moves, ``-inf``
            elsewhere (and on terminal boards).
        fast_values: ``(S,)`` values ``W'`` that rank quick wins higher.
        fast_q_values: ``(S, 9)`` ``Q'(s, a)``, ``-inf`` on illegal moves.
    """

    values: np.ndarray
    q_values: np.ndarray
    fast_values: np.ndarray
    fast_q_values: np.ndarray

    def optimal_moves(self, prefer_fastest_win: bool = False) -> np.ndarray:
        """``(S, 9)`` bool: the moves of maximal value (none on terminal boards)."""
        q = self.fast_q_values if prefer_fastest_win else self.q_values
        best = q.max(axis=1, keepdims=True)
        return np.isfinite(q) & (q == best)


@lru_cache(maxsize=1)
def minimax_tables() -> MinimaxTables:
    """Backward induction over depth layers (9 vectorized sweeps), cached.

    Returns:
        The :class:`MinimaxTables` of :func:`~mail_envs.tictactoe.tictactoe_states`.

    Example:
        >>> float(minimax_tables().values[0])  # Tic-Tac-Toe is a draw
        0.0
    """
    st = tictactoe_states()
    num_states = st.num_states
    values = np.zeros(num_states)
    fast_values = np.zeros(num_states)
    q_values = np.full((num_states, rules.NUM_CELLS), -np.inf)
    fast_q_values = np.full((num_states, rules.NUM_CELLS), -np.inf)
    for depth in range(rules.NUM_CELLS - 1, -1, -1):
        layer = np.flatnonzero((st.depth == depth) & ~st.terminal)
        children = st.children[layer]
        legal = children >= 0
        safe = np.where(legal, children, 0)
        win = (st.winner[safe] != rules.EMPTY) & legal
        q = np.where(legal, win - values[safe], -np.inf)
        q_fast = np.where(legal, win * (9.0 - depth) - fast_values[safe], -np.inf)
        q_values[layer] = q
        fast_q_values[layer] = q_fast
        values[layer] = q.max(axis=1)
        fast_values[layer] = q_fast.max(axis=1)
    for arr in (values, q_values, fast_values, fast_q_values):
        arr.setflags(write=False)
    return MinimaxTables(values, q_values, fast_values, fast_q_values)


class TicTacToeMinimaxExpert:
    """Perfect Tic-Tac-Toe play as a batched policy on PettingZoo observations.

    Args:
        policy: ``"uniform"`` (uniform over all optimal moves) or
            ``"deterministic"`` (the lowest-index optimal move).
        prefer_fastest_win: Among optimal moves keep only those that win
            fastest (or, when losing, lose slowest).

    Raises:
        ValueError: If ``policy`` is not one of the two names.

    Example:
        >>> expert = TicTacToeMinimaxExpert(policy="deterministic")
        >>> obs = np.zeros((1, 3, 3, 2), dtype=np.int8)
        >>> expert(obs, np.ones((1, 9), dtype=bool)).argmax(axis=1)
        array([0])
    """

    def __init__(
        self,
        *,
        policy: Literal["uniform", "deterministic"] = "uniform",
        prefer_fastest_win: bool = False,
    ) -> None:
        if policy not in ("uniform", "deterministic"):
            raise ValueError(
                f"policy must be 'uniform' or 'deterministic', got {policy!r}"
            )
        self.policy = policy
        self.prefer_fastest_win = bool(prefer_fastest_win)
        self._states = tictactoe_states()
        self.tables = minimax_tables()
        optimal = self.tables.optimal_moves(self.prefer_fastest_win)
        if policy == "deterministic":
            first = np.argmax(optimal, axis=1)
            optimal = np.zeros_like(optimal)
            live = ~self._states.terminal
            optimal[np.flatnonzero(live), first[live]] = True
        counts = optimal.sum(axis=1, keepdims=True)
        table = np.divide(
            optimal, counts, out=np.zeros(optimal.shape), where=counts > 0
        )
        table.setflags(write=False)
        #: ``(S, 9)`` move distribution of the mover in every state (zero rows
        #: on terminal boards).
        self.state_table = table

    def __repr__(self) -> str:
        return (
            f"TicTacToeMinimaxExpert(policy={self.policy!r}, "
            f"prefer_fastest_win={self.prefer_fastest_win})"
        )

    def __call__(
        self, observations: np.ndarray, action_masks: np.ndarray
    ) -> np.ndarray:
        """Move probabilities for a batch of observations.

        Rows whose observation is a reachable, unfinished board seen by the
        player to move, with that board's legal moves as mask, get the
        expert's distribution; any other row (the player not to move, a
        finished game) gets the uniform distribution over its mask, or zeros
        if the mask is empty. A single unbatched observation is accepted too.

        Args:
            observations: ``(B, 3, 3, 2)`` PettingZoo planes (or ``(3, 3, 2)``).
            action_masks: ``(B, 9)`` legal-action masks, bool or 0/1 (or ``(9,)``).

        Returns:
            ``(B, 9)`` float64 probabilities (``(9,)`` for one observation).

        Raises:
            ValueError: If the shapes do not match.
        """
        obs = np.asarray(observations)
        masks = np.asarray(action_masks)
        single = obs.ndim == 3
        if single:
            obs, masks = obs[None], masks[None]
        if obs.ndim != 4 or obs.shape[1:] != (3, 3, 2):
            raise ValueError(
                f"observations must have shape (B, 3, 3, 2), got {np.shape(observations)}"
            )
        if masks.shape != (obs.shape[0], rules.NUM_CELLS):
            raise ValueError(
                f"action_masks must have shape ({obs.shape[0]}, 9), got "
                f"{np.shape(action_masks)}"
            )
        masks = masks.astype(bool)
        idx = self._states.mover_states(obs)
        safe = np.maximum(idx, 0)
        known = (idx >= 0) & np.all(
            masks == self._states.action_masks[safe].astype(bool), axis=1
        )
        counts = masks.sum(axis=1, keepdims=True)
        fallback = np.divide(masks, counts, out=np.zeros(masks.shape), where=counts > 0)
        probs = np.where(known[:, None], self.state_table[safe], fallback)
        return probs[0] if single else probs

    def sample(
        self,
        observations: np.ndarray,
        action_masks: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Draw one move per observation.

        Args:
            observations: ``(B, 3, 3, 2)`` planes (or one ``(3, 3, 2)``).
            action_masks: ``(B, 9)`` masks (or one ``(9,)``).
            rng: The random stream.

        Returns:
            ``(B,)`` ``int64`` cells (a 0-d array for one observation).

        Raises:
            ValueError: If some row has no legal action.
        """
        probs = self(observations, action_masks)
        cumulative = np.cumsum(np.atleast_2d(probs), axis=1)
        totals = cumulative[:, -1]
        if np.any(totals <= 0):
            row = int(np.argmin(totals))
            raise ValueError(
                f"observation {row} has no legal action (empty action mask)"
            )
        # u < total, so the first cell whose cumulative mass exceeds u has mass > 0.
        u = rng.random(totals.shape[0]) * totals
        actions = (cumulative <= u[:, None]).sum(axis=1).astype(np.int64)
        return actions[0] if probs.ndim == 1 else actions
