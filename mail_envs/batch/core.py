"""The two-player batch API shared by the batch engines.

A batch engine holds ``num_games`` independent games of one board game as a few
arrays (numpy, or torch on any device) and plays one move in every game per
:meth:`BatchGame.step` call. The games are those of the PettingZoo env of the
same game, game by game: the same observations (planes as the observing player
sees them), action masks, rewards, terminations and truncations, including the
classic illegal-move rule (a masked action ends that game alone: the mover
gets ``-1``, the other player ``0``, and the game is terminated *and*
truncated).

Auto-reset (``autoreset=True``, the default): a game that ends in a step is
restarted in the same call; the step's :class:`BatchStep` carries the rewards
and flags of the finishing move, and the engine's state (hence
:meth:`~BatchGame.observation`, :meth:`~BatchGame.action_mask`,
:attr:`~BatchGame.current_player`) is already the new game's. With
``autoreset=False`` a finished game stays on its final board and ignores
further actions (zero rewards, flags false) until :meth:`BatchGame.reset`.

Seats are ``0`` (the first mover: ``player_1`` of Tic-Tac-Toe, ``player_0``
of Connect4) and ``1``. Rewards are ``(B, 2)`` ``float32`` by seat.

The API: ``step(actions, active=None) -> BatchStep``, ``reset(games=None)``,
``observation(player=None)``, ``action_mask(player=None)``,
``current_player``, ``finished``, ``random_actions(uniforms)``; all arrays
are ``(B, ...)`` on the engine's backend.

Example:
    >>> import numpy as np
    >>> from mail_envs.batch import TicTacToeBatch
    >>> games = TicTacToeBatch(2)
    >>> for cells in ([0, 0], [3, 4], [1, 1], [4, 2]):
    ...     _ = games.step(np.array(cells))
    >>> out = games.step(np.array([2, 8]))  # X completes a line in game 0
    >>> out.rewards.tolist(), out.terminated.tolist()
    ([[1.0, -1.0], [0.0, 0.0]], [True, False])
    >>> games.current_player.tolist()  # game 0 already restarted: X to move
    [0, 1]

### Version History

* v0: initial release.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mail_envs.batch._backend import Backend, get_backend
from mail_envs.core import check_int

__all__ = ["CONTINUE", "DRAW", "ILLEGAL", "WIN", "BatchGame", "BatchStep"]

#: Outcome codes of a move: the game goes on, the mover wins, a draw, an
#: illegal move (the mover loses and the game is truncated too).
CONTINUE, WIN, DRAW, ILLEGAL = 0, 1, 2, 3

#: ``_REWARDS[2 * outcome + mover]``: rewards of seats 0 and 1.
_REWARDS = np.array(
    [
        [0, 0],
        [0, 0],  # CONTINUE
        [1, -1],
        [-1, 1],  # WIN
        [0, 0],
        [0, 0],  # DRAW
        [-1, 0],
        [0, -1],  # ILLEGAL
    ],
    dtype=np.float32,
)


@dataclass(frozen=True)
class BatchStep:
    """What one :meth:`BatchGame.step` returns (arrays of the engine's backend).

    Attributes:
        rewards: ``(B, 2)`` ``float32`` rewards of seats 0 and 1 for this move.
        terminated: ``(B,)`` bool, the game ended with this move.
        truncated: ``(B,)`` bool, the game ended by an illegal move (then
            ``terminated`` is true as well, as in PettingZoo).
        code: ``(B,)`` ``int64`` ``2 * outcome + mover`` (``0`` in games that
            did not move); :attr:`mover` and :attr:`outcome` decode it on
            demand, so a step that does not read them does not pay for them.
    """

    rewards: Any
    terminated: Any
    truncated: Any
    code: Any

    @property
    def mover(self) -> Any:
        """``(B,)`` ``int64`` seat that moved (0 in games that did not)."""
        return self.code & 1

    @property
    def outcome(self) -> Any:
        """``(B,)`` ``int64`` ``CONTINUE``/``WIN``/``DRAW``/``ILLEGAL``
        (``CONTINUE`` for games that did not move)."""
        return self.code >> 1


class BatchGame(ABC):
    """Base of the batch engines: ``num_games`` games stepped in one call.

    Subclasses define the state arrays, the move (:meth:`_move`), the
    observation and mask lookups.

    Args:
        num_games: Number of games ``B``.
        device: ``None``/``"numpy"`` for numpy arrays, or a torch device
            (``"cpu"``, ``"cuda"``, ``"auto"``).
        autoreset: Restart finished games in the step that ends them.

    Raises:
        ValueError: If ``num_games`` is not a positive integer.
    """

    #: Number of actions of the game.
    num_actions: ClassVar[int]
    #: Shape of one observation.
    observation_shape: ClassVar[tuple[int, ...]]
    #: Names of the two seats in the PettingZoo env.
    agents: ClassVar[tuple[str, str]]

    def __init__(
        self, num_games: int, *, device: Any = None, autoreset: bool = True
    ) -> None:
        self.num_games = check_int("num_games", num_games, 1)
        self.backend: Backend = get_backend(device)
        self.autoreset = bool(autoreset)
        self._reward_table = self.backend.table(_REWARDS)
        self._finished = self.backend.zeros(self.num_games, "bool")
        self._any_finished = False
        self.reset()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_games={self.num_games}, "
            f"backend={self.backend}, autoreset={self.autoreset})"
        )

    # --------------------------------------------------------------- subclass
    @abstractmethod
    def _state(self) -> tuple[Any, ...]:
        """The state arrays of the games."""

    @abstractmethod
    def _set_state(self, state: tuple[Any, ...]) -> None:
        """Replace the state arrays."""

    @abstractmethod
    def _initial(self) -> tuple[int, ...]:
        """The value of each state array in a new game."""

    @abstractmethod
    def _move(self, actions: Any) -> tuple[Any, tuple[Any, ...]]:
        """``(2 * outcome + mover, next state)`` of the mover playing ``actions``."""

    @property
    @abstractmethod
    def current_player(self) -> Any:
        """``(B,)`` ``int64`` seat to move in every game."""

    @abstractmethod
    def observation(self, player: int | None = None) -> Any:
        """Observation planes (``int8``) of ``player`` (the mover when None)."""

    @abstractmethod
    def random_actions(self, uniforms: Any) -> Any:
        """A uniformly random legal action per game from ``(B,)`` uniforms in ``[0, 1)``."""

    @abstractmethod
    def _mover_mask(self) -> Any:
        """``(B, A)`` bool legal actions of the player to move."""

    # ---------------------------------------------------------------- public
    @property
    def finished(self) -> Any:
        """``(B,)`` bool: games over and waiting for :meth:`reset` (no autoreset)."""
        return self._finished

    def reset(self, games: Any = None) -> None:
        """Restart the games in the ``(B,)`` bool mask ``games`` (all when None)."""
        initial = self._initial()
        if games is None:
            self._set_state(
                tuple(self.backend.full(self.num_games, value) for value in initial)
            )
            self._finished = self.backend.zeros(self.num_games, "bool")
            self._any_finished = False
            return
        mask = self._check_games(games)
        where = self.backend.where
        self._set_state(
            tuple(
                where(mask, value, arr)
                for value, arr in zip(initial, self._state(), strict=True)
            )
        )
        self._finished = self._finished & ~mask
        self._any_finished = self.backend.any(self._finished)

    def action_mask(self, player: int | None = None) -> Any:
        """``(B, A)`` bool legal actions of ``player`` (the mover when None).

        Rows where ``player`` is not to move, and finished games, are all false.
        """
        mask = self._mover_mask()
        if self._any_finished:
            mask = mask & ~self._finished[:, None]
        if player is None:
            return mask
        seat = self._check_player(player)
        return mask & (self.current_player == seat)[:, None]

    def step(self, actions: Any, *, active: Any = None) -> BatchStep:
        """The player to move plays ``actions[g]`` in every game ``g``.

        Args:
            actions: ``(B,)`` integer actions in ``[0, A)``; masked (illegal)
                actions end their game (see the module docstring).
            active: Optional ``(B,)`` bool: only these games move; the others
                keep their state, with zero rewards and false flags.

        Returns:
            The :class:`BatchStep` of this move.

        Raises:
            ValueError: If ``actions`` is not a ``(B,)`` integer array of
                actions in ``[0, A)`` (the message names the first bad game).
        """
        acts = self._check_actions(actions)
        code, nxt = self._move(acts)
        where = self.backend.where
        if active is not None or self._any_finished:
            state = self._state()
            moving = ~self._finished
            if active is not None:
                moving = moving & self._check_games(active)
            code = where(moving, code, CONTINUE)
            nxt = tuple(
                where(moving, new, old) for new, old in zip(nxt, state, strict=True)
            )
        done = code >= 2 * WIN
        truncated = code >= 2 * ILLEGAL
        rewards = self.backend.take(self._reward_table, code)
        if self.autoreset:  # the new arrays are this step's own: reset in place
            for value, new in zip(self._initial(), nxt, strict=True):
                self.backend.fill_where(new, done, value)
        else:
            state = self._state()
            nxt = tuple(  # an illegal move leaves the board as it was
                where(truncated, old, new) for new, old in zip(nxt, state, strict=True)
            )
            self._finished = self._finished | done
            self._any_finished = self.backend.any(self._finished)
        self._set_state(nxt)
        return BatchStep(
            rewards=rewards, terminated=done, truncated=truncated, code=code
        )

    # ---------------------------------------------------------------- checks
    def _check_player(self, player: Any) -> int:
        if isinstance(player, bool) or player not in (0, 1):
            raise ValueError(f"player must be the seat 0 or 1, got {player!r}")
        return int(player)

    def _check_games(self, games: Any) -> Any:
        bk = self.backend
        if bk.is_torch:
            arr = bk.torch.as_tensor(games, device=bk.device)
            ok = arr.dtype == bk.torch.bool
        else:
            arr = np.asarray(games)
            ok = arr.dtype == np.bool_
        if not ok or tuple(arr.shape) != (self.num_games,):
            raise ValueError(
                f"game masks must be ({self.num_games},) bool arrays, got shape "
                f"{tuple(arr.shape)} and dtype {arr.dtype}"
            )
        return arr

    def _check_actions(self, actions: Any) -> Any:
        bk = self.backend
        if bk.is_torch:
            torch = bk.torch
            arr = torch.as_tensor(actions, device=bk.device)
            integer = not arr.is_floating_point() and not arr.is_complex()
            integer = integer and arr.dtype != torch.bool
        else:
            if hasattr(actions, "detach"):
                actions = actions.detach().cpu().numpy()
            arr = np.asarray(actions)
            integer = arr.dtype.kind in "iu"
        if not integer or tuple(arr.shape) != (self.num_games,):
            raise ValueError(
                f"actions must be a ({self.num_games},) integer array, got shape "
                f"{tuple(arr.shape)} and dtype {arr.dtype}"
            )
        arr = bk.to_int64(arr)
        if bk.is_torch:
            bad = (arr < 0) | (arr >= self.num_actions)
        else:  # negative actions wrap to huge unsigned values: one comparison
            bad = arr.view(np.uint64) >= self.num_actions
        if bk.any(bad):
            game = int(bk.to_numpy(bad).argmax())
            raise ValueError(
                f"action {int(arr[game])} of game {game} is not in "
                f"Discrete({self.num_actions})"
            )
        return arr
