"""Tic-Tac-Toe as a PettingZoo AEC env, a drop-in for ``classic/tictactoe_v3``.

Observations, action masks, agent names (``player_1``, ``player_2``), action
indices, rewards, terminations, truncations, infos and agent order are those of
PettingZoo's ``tictactoe_v3`` *with its default wrappers*
(``TerminateIllegalWrapper(illegal_reward=-1)``, ``AssertOutOfBoundsWrapper``,
``OrderEnforcingWrapper``); the equivalence is tested move by move. The rules
those wrappers add are implemented here directly, so one unwrapped class does
the work of four objects and steps several times faster:

* an illegal move (an occupied cell) ends the game: the mover gets ``-1.0``,
  the other player ``0``, and every agent is terminated *and* truncated;
* an action outside ``Discrete(9)`` raises a ``ValueError`` (PettingZoo: an
  ``AssertionError``);
* ``step``/``observe``/``render`` before ``reset`` fail as PettingZoo's order
  enforcement does, and ``rewards``/``agents``/... do not exist before ``reset``.

Observation of agent ``a``: ``{"observation": (3, 3, 2) int8, "action_mask":
(9,) int8}``; plane 0 holds ``a``'s own marks and plane 1 the opponent's, cell
``k`` at ``[k // 3, k % 3]``; the mask lists the empty cells for the agent to
move and is all zeros for the other agent.

### Version History

* v0: initial release (behaviour of PettingZoo ``tictactoe_v3``, 1.27).
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.utils import EzPickle
from pettingzoo import AECEnv
from pettingzoo.utils.env import AECIterable
from pettingzoo.utils.env_logger import EnvLogger

from mail_envs.rendering import tictactoe_image
from mail_envs.tictactoe import rules

__all__ = ["TicTacToeEnv"]

_AGENTS = ("player_1", "player_2")
_RENDER_MODES = ("human", "ansi", "rgb_array")
#: ``_PLANES[p][cell_value]`` is the (own, opponent) pair of plane values that
#: player ``p`` sees for a cell holding ``EMPTY``, ``X`` or ``O``.
_PLANES = (
    np.array([[0, 0], [1, 0], [0, 1]], dtype=np.int8),
    np.array([[0, 0], [0, 1], [1, 0]], dtype=np.int8),
)
#: For each cell, the winning lines through it, as Python tuples (hot path).
_LINES_THROUGH = tuple(
    tuple(tuple(int(c) for c in line) for line in rules.WIN_LINES if cell in line)
    for cell in range(rules.NUM_CELLS)
)


def _as_cell(action: Any) -> int | None:
    """The cell of an action if it lies in ``Discrete(9)``, else None."""
    if isinstance(action, (int, np.integer)) or (
        isinstance(action, np.ndarray)
        and action.shape == ()
        and np.issubdtype(action.dtype, np.integer)
    ):
        cell = int(action)
        if 0 <= cell < rules.NUM_CELLS:
            return cell
    return None


class TicTacToeEnv(AECEnv[str, dict[str, np.ndarray], int], EzPickle):
    """Tic-Tac-Toe with the exact behaviour of PettingZoo's ``tictactoe_v3``.

    Args:
        render_mode: None, ``"ansi"`` (``render()`` returns the board as
            text), ``"rgb_array"`` (``render()`` returns an ``(H, W, 3)``
            uint8 picture, drawn with numpy) or ``"human"`` (the board is
            printed after every move).

    Raises:
        ValueError: If ``render_mode`` is not supported.

    Example:
        >>> env = TicTacToeEnv()
        >>> env.reset(seed=0)
        >>> env.step(4)
        >>> obs, reward, terminated, truncated, info = env.last()
        >>> env.agent_selection, obs["action_mask"].tolist()
        ('player_2', [1, 1, 1, 1, 0, 1, 1, 1, 1])
    """

    metadata = {  # noqa: RUF012 - PettingZoo reads a class-level dict
        "render_modes": list(_RENDER_MODES),
        "name": "tictactoe_v0",
        "is_parallelizable": False,
        "render_fps": 1,
    }

    def __init__(self, render_mode: str | None = None) -> None:
        EzPickle.__init__(self, render_mode)
        super().__init__()
        if render_mode is not None and render_mode not in _RENDER_MODES:
            raise ValueError(
                f"render_mode must be None or one of {list(_RENDER_MODES)}, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.possible_agents = list(_AGENTS)
        self._index = {agent: i for i, agent in enumerate(_AGENTS)}
        self.action_spaces = {a: spaces.Discrete(9) for a in _AGENTS}
        self.observation_spaces = {
            a: spaces.Dict(
                {
                    "observation": spaces.Box(0, 1, shape=(3, 3, 2), dtype=np.int8),
                    "action_mask": spaces.Box(0, 1, shape=(9,), dtype=np.int8),
                }
            )
            for a in _AGENTS
        }
        self._squares = [rules.EMPTY] * rules.NUM_CELLS
        self._has_reset = False

    # ------------------------------------------------------------------ spaces
    def observation_space(self, agent: str) -> spaces.Space:
        """The ``Dict(observation, action_mask)`` space of ``agent``."""
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """``Discrete(9)``: the cell to mark."""
        return self.action_spaces[agent]

    # ------------------------------------------------------------------- state
    @property
    def board(self) -> np.ndarray:
        """A copy of the board: ``(9,)`` ``int8`` of ``EMPTY``/``X``/``O`` (see rules)."""
        return np.array(self._squares, dtype=np.int8)

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> None:
        """Start a new game with an empty board (the game has no randomness)."""
        self._has_reset = True
        self._squares = [rules.EMPTY] * rules.NUM_CELLS
        self.agents = list(_AGENTS)
        zeros: dict[str, float] = dict.fromkeys(self.agents, 0)
        self.rewards = zeros
        self._cumulative_rewards = dict(zeros)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.agent_selection = _AGENTS[0]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """Planes from ``agent``'s perspective and its action mask.

        Raises:
            ValueError: If ``agent`` is not ``player_1`` or ``player_2``.
        """
        if not self._has_reset:
            EnvLogger.error_observe_before_reset()
        player = self._index.get(agent)
        if player is None:
            raise ValueError(f"agent must be one of {list(_AGENTS)}, got {agent!r}")
        board = np.array(self._squares, dtype=np.int8)
        observation = _PLANES[player][board].reshape(3, 3, 2)
        if agent == self.agent_selection:
            mask = (board == rules.EMPTY).view(np.int8)
        else:
            mask = np.zeros(rules.NUM_CELLS, dtype=np.int8)
        return {"observation": observation, "action_mask": mask}

    def step(self, action: int | None) -> None:
        """Mark a cell for the agent to move (``None`` for a finished agent).

        Raises:
            ValueError: If a live agent's action is not in ``Discrete(9)``, or a
                finished agent's action is not None.
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
        cell = _as_cell(action)
        if cell is None:
            raise ValueError(
                f"action {action!r} of {agent} is not in the action space Discrete(9)"
            )
        squares = self._squares
        if squares[cell] != rules.EMPTY:
            self._illegal_move(agent)
            return
        mark = self._index[agent] + 1
        squares[cell] = mark
        won = any(
            squares[a] == mark and squares[b] == mark and squares[c] == mark
            for a, b, c in _LINES_THROUGH[cell]
        )
        if won or rules.EMPTY not in squares:
            if won:
                other = _AGENTS[2 - mark]
                self.rewards[agent] += 1
                self.rewards[other] -= 1
            self.terminations = dict.fromkeys(self.agents, True)
            self._accumulate_rewards()
        self.agent_selection = _AGENTS[mark % 2]
        if self.render_mode == "human":
            self.render()

    def _illegal_move(self, agent: str) -> None:
        """End the game: the mover loses (``-1.0``), everyone is done."""
        EnvLogger.warn_on_illegal_move()
        self._cumulative_rewards[agent] = 0
        self.terminations = dict.fromkeys(self.agents, True)
        self.truncations = dict.fromkeys(self.agents, True)
        rewards: dict[str, float] = dict.fromkeys(self.agents, 0)
        rewards[agent] = -1.0
        self.rewards = rewards
        self._accumulate_rewards()
        self._deads_step_first()

    def agent_iter(self, max_iter: int = 2**63) -> AECIterable:
        """Iterate over agents to act, as in PettingZoo (after ``reset`` only)."""
        if not self._has_reset:
            EnvLogger.error_agent_iter_before_reset()
        return AECIterable(self, max_iter)

    # ------------------------------------------------------------------ render
    def render(self) -> str | np.ndarray | None:
        """The board as text (``"ansi"``) or a picture (``"rgb_array"``).

        ``"human"`` prints the text and returns None.
        """
        if not self._has_reset:
            EnvLogger.error_render_before_reset()
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode."
            )
            return None
        board = np.array(self._squares, dtype=np.int8)
        if self.render_mode == "rgb_array":
            return tictactoe_image(board)
        text = rules.render_ansi(board)
        if self.render_mode == "human":
            print(text + "\n")
            return None
        return text

    def close(self) -> None:
        """Nothing to release (rendering holds no resources)."""
