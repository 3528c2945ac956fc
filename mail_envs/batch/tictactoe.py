"""Tic-Tac-Toe batch engine: boards as indices into tables of the 5,478 reachable boards.

A game's whole state is one ``int64``: the index of its board among the
states of :func:`mail_envs.tictactoe.tictactoe_states` (state 0 is the empty
board). A move is a few gathers from tables built once from that model:
``(S * 9,)`` next state and ``2 * outcome + mover`` of every (state, cell) pair, ``(S, 9)``
masks and ``(2 * S, 3, 3, 2)`` observation planes of each seat. The games are
``mail/tictactoe-v0``'s (and PettingZoo ``tictactoe_v3``'s), game by game;
the API is :class:`~mail_envs.batch.core.BatchGame`'s.

Because states are the model's indices, the minimax expert answers a whole
batch with one lookup (:meth:`TicTacToeBatch.expert_probs`).

Example:
    >>> import numpy as np
    >>> games = TicTacToeBatch(2)
    >>> out = games.step(np.array([4, 0]))
    >>> games.current_player.tolist(), games.action_mask()[0].sum().item()
    ([1, 1], 8)
    >>> games.observation()[0, 1, 1].tolist()  # O sees X's centre in plane 1
    [0, 1]

### Version History

* v0: initial release.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from mail_envs.batch._backend import get_backend
from mail_envs.batch.core import CONTINUE, DRAW, ILLEGAL, WIN, BatchGame
from mail_envs.tictactoe import rules, tictactoe_states

__all__ = ["TicTacToeBatch", "tictactoe_tables"]


@lru_cache(maxsize=1)
def tictactoe_tables() -> dict[str, np.ndarray]:
    """numpy lookup tables of the engine, built once from the model (cached).

    Returns:
        ``next`` ``(S * 9,)`` state after marking a cell (the same state for an
        illegal move), ``code`` ``(S * 9,)`` ``2 * outcome + mover`` of the move,
        ``mover`` ``(S,)`` seat to move (by mark parity, also on terminal
        boards), ``mask`` ``(S, 9)`` bool legal cells (none on terminal
        boards), ``planes`` ``(2 * S, 3, 3, 2)`` int8 observation of state
        ``s`` by seat ``p`` at row ``2 * s + p``, ``mover_planes`` ``(S, 3, 3,
        2)`` the mover's, ``nth_legal`` ``(S * 9,)`` the ``k``-th legal cell
        at ``9 * s + k`` and ``num_legal`` ``(S,)``.
    """
    st = tictactoe_states()
    num_states = st.num_states
    legal = st.children >= 0
    children = np.where(legal, st.children, np.arange(num_states)[:, None])
    won = st.winner[children] != rules.EMPTY
    full = st.depth[children] == rules.NUM_CELLS
    outcome = np.where(
        ~legal, ILLEGAL, np.where(won, WIN, np.where(full, DRAW, CONTINUE))
    )
    mover = (st.depth % 2).astype(np.int64)
    planes = np.stack([st.observations(0), st.observations(1)], axis=1)
    mover_planes = planes[np.arange(num_states), mover]
    order = np.argsort(~legal, axis=1, kind="stable")
    return {
        "next": children.reshape(-1),
        "code": (2 * outcome + mover[:, None]).reshape(-1),
        "mover": mover,
        "mask": legal,
        "planes": planes.reshape(2 * num_states, 3, 3, 2),
        "mover_planes": mover_planes,
        "nth_legal": order.reshape(-1),
        "num_legal": legal.sum(axis=1),
    }


class TicTacToeBatch(BatchGame):
    """``num_games`` games of Tic-Tac-Toe stepped at once.

    Args:
        num_games: Number of games ``B``.
        device: ``None``/``"numpy"`` (numpy arrays) or a torch device.
        autoreset: Restart finished games in the step that ends them.

    Raises:
        ValueError: If ``num_games`` is not a positive integer.
    """

    num_actions: ClassVar[int] = rules.NUM_CELLS
    observation_shape: ClassVar[tuple[int, ...]] = (3, 3, 2)
    agents: ClassVar[tuple[str, str]] = ("player_1", "player_2")

    def __init__(
        self, num_games: int, *, device: Any = None, autoreset: bool = True
    ) -> None:
        backend = get_backend(device)
        self._t = {name: backend.table(arr) for name, arr in tictactoe_tables().items()}
        #: ``(B,)`` ``int64`` model state index of every game's board.
        self.states: Any = None
        super().__init__(num_games, device=backend, autoreset=autoreset)

    def _state(self) -> tuple[Any, ...]:
        return (self.states,)

    def _set_state(self, state: tuple[Any, ...]) -> None:
        (self.states,) = state

    def _initial(self) -> tuple[int, ...]:
        return (0,)

    def _move(self, actions: Any) -> tuple[Any, tuple[Any, ...]]:
        take, t = self.backend.take, self._t
        idx = self.states * rules.NUM_CELLS + actions
        return take(t["code"], idx), (take(t["next"], idx),)

    @property
    def current_player(self) -> Any:
        """``(B,)`` ``int64`` seat to move (0 = ``player_1``/X)."""
        return self.backend.take(self._t["mover"], self.states)

    def observation(self, player: int | None = None) -> Any:
        """``(B, 3, 3, 2)`` ``int8`` planes: own marks in plane 0, the opponent's in 1.

        Args:
            player: Seat 0 or 1 of the observer; None for the player to move.

        Returns:
            The planes of ``mail/tictactoe-v0``'s ``observe`` for that agent.
        """
        if player is None:
            return self.backend.take(self._t["mover_planes"], self.states)
        seat = self._check_player(player)
        return self.backend.take(self._t["planes"], self.states * 2 + seat)

    def _mover_mask(self) -> Any:
        return self.backend.take(self._t["mask"], self.states)

    def random_actions(self, uniforms: Any) -> Any:
        """A uniformly random legal cell per game from ``(B,)`` uniforms in ``[0, 1)``.

        Finished boards (no legal cell) get cell 0.
        """
        take, t = self.backend.take, self._t
        k = self.backend.to_int64(uniforms * take(t["num_legal"], self.states))
        return take(t["nth_legal"], self.states * rules.NUM_CELLS + k)

    def expert_probs(self, table: Any) -> Any:
        """Probabilities ``(B, 9)`` of a state table (one row per model state).

        Args:
            table: ``(S, 9)`` array on this backend, e.g. the minimax
                expert's ``state_table``, converted by ``backend.table``.
        """
        return self.backend.take(table, self.states)
