"""Connect Four as a PettingZoo AEC env on bitboards: ``mail/connect4-v0``.

A drop-in replacement for PettingZoo's classic ``connect_four_v3``: the same
agents (``player_0`` moves first), action indices (the column 0..6), spaces,
observations (``Dict(observation=(6, 7, 2) int8 planes, action_mask=(7,)
int8)``; plane 0 holds the observing agent's stones, plane 1 the other's;
row 0 is the top of the board), rewards (+1 / -1 for a win, 0 for a draw),
terminations, truncations and agent order, including PettingZoo's illegal-move
rule: a move into a full column ends the game, the mover gets -1, the other
agent 0, and both agents are terminated *and* truncated (what
``TerminateIllegalWrapper(illegal_reward=-1)`` does). The behaviour of
PettingZoo's wrapper chain is built in, so :func:`env` returns the raw env with
no wrappers around it; ``tests/mail_envs/test_connect4_env.py`` checks every
observation, mask, reward and flag against ``connect_four_v3`` over thousands
of seeded games.

Differences on purpose: an action outside ``Discrete(7)`` (or ``None`` for a
live agent) raises a ``ValueError`` instead of an ``AssertionError``; rendering
needs no pygame: ``"rgb_array"`` returns a numpy-drawn picture, ``"ansi"`` the
board as text, and ``"human"`` prints the text.

The rules live in :mod:`mail_envs.connect4.rules`.

### Version History

* v0: initial release (matches PettingZoo ``connect_four_v3``, PettingZoo 1.27).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle
from pettingzoo import AECEnv
from pettingzoo.utils.env_logger import EnvLogger

from mail_envs.connect4.rules import (
    ALL_CELLS,
    BOTTOM,
    COLUMNS,
    HEIGHT,
    ROWS,
    TOP,
    has_four,
)
from mail_envs.rendering import connect4_image

__all__ = ["Connect4Env", "board_codes", "render_board"]

AGENTS = ("player_0", "player_1")
ILLEGAL_MOVE_REWARD = -1.0
_SYMBOLS = (".", "X", "O")
_RENDER_MODES = ("human", "ansi", "rgb_array")


def board_codes(first: int, second: int) -> np.ndarray:
    """The position as ``(6, 7)`` codes, top row first: 0 empty, 1 first, 2 second.

    Args:
        first: Bitboard of the first player's stones.
        second: Bitboard of the second player's stones.

    Returns:
        ``(ROWS, COLUMNS)`` int64 codes.

    Example:
        >>> board_codes(1, 1 << 7)[-1].tolist()
        [1, 2, 0, 0, 0, 0, 0]
    """
    rows = np.arange(ROWS - 1, -1, -1)[:, None]
    bits = np.left_shift(1, HEIGHT * np.arange(COLUMNS)[None, :] + rows)
    return ((first & bits) != 0) * 1 + ((second & bits) != 0) * 2


def render_board(first: int, second: int) -> str:
    """Text picture of a position: ``X`` first player, ``O`` second, ``.`` empty.

    Args:
        first: Bitboard of the first player's stones.
        second: Bitboard of the second player's stones.

    Returns:
        Six lines, top row first, and a line of column indices.

    Example:
        >>> print(render_board(1, 1 << 7))
        . . . . . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
        . . . . . . .
        X O . . . . .
        0 1 2 3 4 5 6
    """
    lines = []
    for row in range(ROWS - 1, -1, -1):
        cells = []
        for col in range(COLUMNS):
            bit = 1 << (HEIGHT * col + row)
            cells.append(_SYMBOLS[1 if first & bit else 2 if second & bit else 0])
        lines.append(" ".join(cells))
    lines.append(" ".join(str(c) for c in range(COLUMNS)))
    return "\n".join(lines)


class Connect4Env(AECEnv[str, dict[str, np.ndarray], int], EzPickle):
    """Connect Four, behaving exactly like PettingZoo's ``connect_four_v3``.

    Args:
        render_mode: ``None``, ``"ansi"`` (``render()`` returns the board as
            text), ``"rgb_array"`` (``render()`` returns an ``(H, W, 3)``
            uint8 picture, drawn with numpy) or ``"human"`` (prints the text
            after every move).

    Raises:
        ValueError: If ``render_mode`` is not one of the supported modes.

    Example:
        >>> env = Connect4Env()
        >>> env.reset(seed=0)
        >>> for col in (3, 4, 3, 4, 3, 4, 3):
        ...     env.step(col)
        >>> env.rewards, env.terminations["player_1"]
        ({'player_0': 1, 'player_1': -1}, True)
    """

    metadata = {  # noqa: RUF012 - PettingZoo reads a class-level dict
        "render_modes": list(_RENDER_MODES),
        "name": "connect4_v0",
        "is_parallelizable": False,  # as connect_four_v3: turn-based
        "render_fps": 2,
    }

    def __init__(self, render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in _RENDER_MODES:
            raise ValueError(
                f"render_mode must be None or one of {list(_RENDER_MODES)}, "
                f"got {render_mode!r}"
            )
        EzPickle.__init__(self, render_mode)
        super().__init__()
        self.render_mode = render_mode
        self.agents = list(AGENTS)
        self.possible_agents = list(AGENTS)
        self.action_spaces = {a: spaces.Discrete(COLUMNS) for a in AGENTS}
        self.observation_spaces = {
            a: spaces.Dict(
                {
                    "observation": spaces.Box(
                        low=0, high=1, shape=(ROWS, COLUMNS, 2), dtype=np.int8
                    ),
                    "action_mask": spaces.Box(
                        low=0, high=1, shape=(COLUMNS,), dtype=np.int8
                    ),
                }
            )
            for a in AGENTS
        }
        self._index = {a: i for i, a in enumerate(AGENTS)}
        self._has_reset = False

    # ------------------------------------------------------------- spaces
    def observation_space(self, agent: str) -> spaces.Space:
        """The ``Dict(observation, action_mask)`` space of ``agent``."""
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """``Discrete(7)``: the column to drop a stone into."""
        return self.action_spaces[agent]

    # ------------------------------------------------------------- position
    @property
    def stones(self) -> tuple[int, int]:
        """Bitboards of ``player_0``'s and ``player_1``'s stones."""
        return self._stones[0], self._stones[1]

    # --------------------------------------------------------------- AEC API
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> None:
        """Start a new game with ``player_0`` to move (the game has no randomness)."""
        self._stones = [0, 0]
        self._mask = 0
        self._mover = 0
        # planes[i] is agent i's observation: its own stones in plane 0.
        self._planes = np.zeros((2, ROWS, COLUMNS, 2), dtype=np.int8)
        self._legal = np.ones(COLUMNS, dtype=np.int8)
        self._has_reset = True
        self.agents = list(AGENTS)
        self.rewards: dict[str, float] = dict.fromkeys(self.agents, 0)
        self._cumulative_rewards: dict[str, float] = dict.fromkeys(self.agents, 0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.agent_selection = AGENTS[0]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """``agent``'s view: its stones in plane 0; a mask only on its turn."""
        if not self._has_reset:
            EnvLogger.error_observe_before_reset()
        index = self._index[agent]
        if agent == self.agent_selection:
            mask = self._legal.copy()
        else:
            mask = np.zeros(COLUMNS, dtype=np.int8)
        return {"observation": self._planes[index].copy(), "action_mask": mask}

    def step(self, action: Any) -> None:
        """Drop a stone of the agent to move into column ``action``.

        A column that is full ends the game: the mover gets -1, the other
        agent 0, and both are terminated and truncated. Agents that are done
        must step with ``None`` (PettingZoo's dead step).

        Raises:
            ValueError: If ``action`` is not in ``Discrete(7)`` for an agent
                that is still playing, or is not ``None`` for one that is done.
        """
        if not self._has_reset:
            EnvLogger.error_step_before_reset()
        if not self.agents:
            EnvLogger.warn_step_after_terminated_truncated()
            return
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        col = self._column(action)
        mask = self._mask
        if mask & TOP[col]:
            self._end_by_illegal_move(agent)
            return

        mover = self._mover
        cell = (mask + BOTTOM[col]) & (((1 << ROWS) - 1) << (HEIGHT * col))
        stones = self._stones[mover] | cell
        self._stones[mover] = stones
        mask |= cell
        self._mask = mask
        row = ROWS - 1 - (cell.bit_length() - 1 - HEIGHT * col)
        self._planes[mover, row, col, 0] = 1
        self._planes[1 - mover, row, col, 1] = 1
        if row == 0:
            self._legal[col] = 0

        other = AGENTS[1 - mover]
        if has_four(stones):
            self.rewards[agent] += 1
            self.rewards[other] -= 1
            self._cumulative_rewards[agent] += 1
            self._cumulative_rewards[other] -= 1
            self.terminations = dict.fromkeys(self.agents, True)
        elif mask == ALL_CELLS:
            self.terminations = dict.fromkeys(self.agents, True)
        self._mover = 1 - mover
        self.agent_selection = other
        if self.render_mode == "human":
            self.render()

    def _column(self, action: Any) -> int:
        if type(action) is int:
            if 0 <= action < COLUMNS:
                return action
        elif action is not None and self.action_spaces[AGENTS[0]].contains(action):
            return int(action)
        raise ValueError(
            f"action {action!r} of {self.agent_selection} is not in the action space "
            f"Discrete({COLUMNS}) (a column 0..{COLUMNS - 1})"
        )

    def _end_by_illegal_move(self, agent: str) -> None:
        # What PettingZoo's TerminateIllegalWrapper(illegal_reward=-1) does.
        EnvLogger.warn_on_illegal_move()
        self._cumulative_rewards[agent] = 0
        self.terminations = dict.fromkeys(self.agents, True)
        self.truncations = dict.fromkeys(self.agents, True)
        self.rewards = dict.fromkeys(self.truncations, 0)
        self.rewards[agent] = ILLEGAL_MOVE_REWARD
        self._accumulate_rewards()
        self._deads_step_first()

    # ------------------------------------------------------------- rendering
    def render(self) -> str | np.ndarray | None:
        """The board as text (``"ansi"``), a picture (``"rgb_array"``), or print it.

        Returns:
            The text for ``"ansi"``; the ``(H, W, 3)`` uint8 picture for
            ``"rgb_array"``; ``None`` otherwise.
        """
        if not self._has_reset:
            EnvLogger.error_render_before_reset()
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode."
            )
            return None
        if self.render_mode == "rgb_array":
            return connect4_image(board_codes(self._stones[0], self._stones[1]))
        text = render_board(self._stones[0], self._stones[1])
        if self.render_mode == "human":
            print(text + "\n")
            return None
        return text

    def close(self) -> None:
        """Nothing to release (text rendering holds no resources)."""
