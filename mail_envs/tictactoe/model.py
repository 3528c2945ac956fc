"""The exact Tic-Tac-Toe model: all 5,478 reachable boards as a tabular game.

States are the boards reachable from the empty board by legal play (terminal
boards included: 4,520 non-terminal + 958 terminal), ordered by the number of
marks and then by base-3 code (state 0 is the empty board). Both players have 9
actions, the PettingZoo cell indices; the player not to move, and both players
on a terminal board, have the single no-op action 0. The winning move pays the
winner ``+1`` and the loser ``-1`` (PettingZoo and OpenSpiel convention), a draw
pays 0; terminal boards are zero-reward self-loops. ``gamma = 1``, ``horizon =
9``. Joint actions are ``a_1 * 9 + a_2`` (row-major, ``player_1`` first), and
the joint actions that are not legal self-loop with zero reward (solvers only
read legal ones).

The observation of every state for every player is the PettingZoo planes array
``(3, 3, 2)`` ``int8`` as that player sees it, so any policy written for
``tictactoe_v3`` tabulates with one batched call
(``game.policy_table(player, policy)``). :func:`tictactoe_states` gives the
board of every state, the mover's PettingZoo action mask and board/observation
-> state lookups, to map env states to model states.

The whole model is built by a breadth-first sweep over depth layers with numpy
and cached; a call after the first returns the same (immutable) object.

### Version History

* v0: initial release.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mail_envs.core import TabularMarkovGame
from mail_envs.tictactoe import rules

__all__ = ["TicTacToeStates", "make_tictactoe_game", "tictactoe_states"]

NUM_ACTIONS = rules.NUM_CELLS


@dataclass(frozen=True, eq=False)
class TicTacToeStates:
    """Every reachable board and the lookups between boards and states.

    Attributes:
        boards: ``(S, 9)`` ``int8`` board of every state.
        codes: ``(S,)`` base-3 code of every board (see :func:`rules.encode`).
        index_of_code: ``(3**9,)`` ``int64`` state index of every code, ``-1``
            for boards that cannot be reached.
        depth: ``(S,)`` number of marks on the board.
        mover: ``(S,)`` player to move (0 = ``player_1``/``X``, 1 =
            ``player_2``/``O``), ``-1`` on terminal boards.
        winner: ``(S,)`` ``rules.X``, ``rules.O`` or ``rules.EMPTY``.
        terminal: ``(S,)`` whether the game is over.
        children: ``(S, 9)`` state reached when the mover marks each cell, ``-1``
            where that is not a legal move.
        action_masks: ``(S, 9)`` ``int8`` PettingZoo ``action_mask`` of the
            mover (the empty cells); all zeros on terminal boards.
    """

    boards: np.ndarray
    codes: np.ndarray
    index_of_code: np.ndarray
    depth: np.ndarray
    mover: np.ndarray
    winner: np.ndarray
    terminal: np.ndarray
    children: np.ndarray
    action_masks: np.ndarray

    @property
    def num_states(self) -> int:
        """Number of reachable boards, 5,478."""
        return int(self.codes.shape[0])

    def state_index(self, boards: np.ndarray) -> np.ndarray:
        """State indices of ``(..., 9)`` boards.

        Raises:
            ValueError: If a board is not reachable by legal play.
        """
        b = np.asarray(boards)
        if b.shape[-1:] != (rules.NUM_CELLS,) or np.any((b < 0) | (b > 2)):
            raise ValueError(f"boards must be (..., 9) arrays of 0, 1, 2, got {b!r}")
        idx = self.index_of_code[rules.encode(b)]
        if np.any(idx < 0):
            bad = b.reshape(-1, rules.NUM_CELLS)[int(np.argmin(idx.reshape(-1)))]
            raise ValueError(f"board {bad.tolist()} is not reachable by legal play")
        return idx

    def observations(self, player: int) -> np.ndarray:
        """PettingZoo planes of every state as ``player`` sees them, ``(S, 3, 3, 2)``."""
        if player not in (0, 1):
            raise ValueError(f"player must be 0 or 1, got {player!r}")
        return rules.observation_planes(self.boards, player)

    def mover_states(self, observations: np.ndarray) -> np.ndarray:
        """States of observations made by the player to move, ``-1`` if none.

        Args:
            observations: ``(..., 3, 3, 2)`` PettingZoo planes seen by the
                player to move (as in ``env.last()`` before a move).

        Returns:
            ``(...)`` ``int64`` state indices; ``-1`` where the planes are no
            reachable non-terminal board seen by its mover.
        """
        boards, valid = rules.boards_from_planes(observations)
        idx = self.index_of_code[rules.encode(boards)]
        ok = valid & (idx >= 0)
        ok &= ~self.terminal[np.where(ok, idx, 0)]
        return np.where(ok, idx, -1)


def _freeze(*arrays: np.ndarray) -> None:
    for arr in arrays:
        arr.setflags(write=False)


@lru_cache(maxsize=1)
def tictactoe_states() -> TicTacToeStates:
    """All reachable boards, by a vectorized breadth-first sweep over depths.

    Returns:
        The cached :class:`TicTacToeStates`.

    Example:
        >>> states = tictactoe_states()
        >>> states.num_states, int(states.terminal.sum())
        (5478, 958)
    """
    layers = [np.zeros(1, dtype=np.int64)]
    for depth in range(rules.NUM_CELLS):
        codes = layers[-1]
        boards = rules.decode(codes)
        live = ~rules.is_terminal(boards)
        boards, codes = boards[live], codes[live]
        mark = 1 if depth % 2 == 0 else 2
        child = codes[:, None] + mark * rules.POWERS[None, :]
        layers.append(np.unique(child[boards == rules.EMPTY]))
    codes = np.concatenate(layers)
    boards = rules.decode(codes)
    num_states = codes.shape[0]
    index_of_code = np.full(rules.NUM_CODES, -1, dtype=np.int64)
    index_of_code[codes] = np.arange(num_states)

    depth = np.count_nonzero(boards, axis=1).astype(np.int8)
    winner = rules.winner(boards)
    terminal = (winner != rules.EMPTY) | (depth == rules.NUM_CELLS)
    mover = np.where(terminal, -1, depth % 2).astype(np.int8)
    legal = (boards == rules.EMPTY) & ~terminal[:, None]
    marks = np.where(mover == 0, 1, 2).astype(np.int64)
    child_codes = codes[:, None] + marks[:, None] * rules.POWERS[None, :]
    children = np.where(legal, index_of_code[np.where(legal, child_codes, 0)], -1)
    action_masks = legal.astype(np.int8)
    _freeze(codes, boards, index_of_code, depth, winner, terminal, mover)
    _freeze(children, action_masks)
    return TicTacToeStates(
        boards=boards,
        codes=codes,
        index_of_code=index_of_code,
        depth=depth,
        mover=mover,
        winner=winner,
        terminal=terminal,
        children=children,
        action_masks=action_masks,
    )


@lru_cache(maxsize=1)
def make_tictactoe_game() -> TabularMarkovGame:
    """The exact two-player zero-sum Tic-Tac-Toe game over all reachable boards.

    Returns:
        The cached :class:`~mail_envs.core.TabularMarkovGame` (5,478 states,
        9 actions per player, 81 joint actions, ``gamma=1``, ``horizon=9``,
        player names ``player_1``/``player_2``, PettingZoo observation planes).

    Example:
        >>> game = make_tictactoe_game()
        >>> game.num_states, game.num_actions, game.horizon
        (5478, (9, 9), 9)
    """
    st = tictactoe_states()
    num_states = st.num_states
    rows = np.arange(num_states)
    legal = st.children >= 0  # (S, 9) moves of the mover
    # Joint action of "the mover marks cell a" (the other player plays no-op 0).
    joint_of_cell = np.where(
        (st.mover == 0)[:, None],
        np.arange(NUM_ACTIONS)[None, :] * NUM_ACTIONS,
        np.arange(NUM_ACTIONS)[None, :],
    )
    s_idx, cell = np.nonzero(legal)
    joint = joint_of_cell[s_idx, cell]
    child = st.children[s_idx, cell]

    next_states = np.repeat(rows[:, None], NUM_ACTIONS * NUM_ACTIONS, axis=1)
    next_states[s_idx, joint] = child
    rewards = np.zeros((2, num_states, NUM_ACTIONS * NUM_ACTIONS))
    wins = st.winner[child] != rules.EMPTY
    mover = st.mover[s_idx].astype(np.int64)
    rewards[mover[wins], s_idx[wins], joint[wins]] = 1.0
    rewards[1 - mover[wins], s_idx[wins], joint[wins]] = -1.0

    noop = np.zeros((num_states, NUM_ACTIONS), dtype=bool)
    noop[:, 0] = True
    masks = tuple(
        np.where((st.mover == player)[:, None], legal, noop) for player in (0, 1)
    )
    symbols = np.array([".", "X", "O"])[st.boards]
    labels = tuple("".join(row) for row in symbols.tolist())
    initial = np.zeros(num_states)
    initial[0] = 1.0
    return TabularMarkovGame(
        num_actions=(NUM_ACTIONS, NUM_ACTIONS),
        next_states=next_states[:, :, None],
        next_probs=np.ones((num_states, NUM_ACTIONS * NUM_ACTIONS, 1)),
        rewards=rewards,
        legal_masks=masks,
        initial_distribution=initial,
        gamma=1.0,
        horizon=rules.NUM_CELLS,
        terminal=st.terminal,
        observations=(st.observations(0), st.observations(1)),
        name="tictactoe",
        player_names=("player_1", "player_2"),
        state_labels=labels,
    )
