"""Gridworld race: a zero-sum two-player Markov game on a square grid.

Two players move simultaneously on a ``size x size`` grid and race to one goal
cell, as in the Gridworld experiments of the multi-agent imitation learning
literature. It is the smallest game in which behaviour cloning of a Nash
expert can be exploited: the expert's race visits few of the states an
opponent can force.

Rules (``make_gridworld_game``):

* Cells are ``(row, col)`` with row 0 at the top and col 0 at the left; the
  flat cell index is ``row * size + col``.
* Actions of each player: ``0`` left, ``1`` right, ``2`` up, ``3`` down and,
  with ``allow_stay=True``, ``4`` stay. Every action is always legal.
* A move into the wall keeps the player in place; a player on the goal stays
  there forever (the goal is absorbing), whatever it plays.
* After walls and the goal, each player has a target cell. If both targets are
  the same cell, or the players would swap cells, both stay; otherwise both
  move to their targets. The players therefore always occupy distinct cells.
* Reward ``r(s, a)`` is determined by the next state ``s'``: ``+1`` to the
  player on the goal in ``s'`` and ``-1`` to the other, ``0`` if nobody is on
  the goal. Arriving pays at once, and every later step pays again, so a
  player who reaches the goal at step ``t`` (counting from 0) is worth
  ``gamma^t / (1 - gamma)`` to it.
* States are the ordered pairs of distinct cells ``(p0, p1)``:
  ``size^2 (size^2 - 1)`` of them (72 for 3x3, 600 for 5x5), indexed by
  :class:`GridworldLayout`. There are no terminal states; the objective is
  discounted (``gamma=0.9``) unless a ``horizon`` is given.
* Start: by default the goal is the top-right corner, player_0 starts in the
  bottom-right and player_1 in the top-left corner, both ``size - 1`` moves
  from the goal. A user-given start must put the players on distinct non-goal
  cells at equal Manhattan distance from the goal. :data:`PUBLISHED_STARTS`
  is the start of the published code of Viano, Freihaut et al. (player_0 at
  ``(1, 0)``, player_1 at ``(2, 1)``, goal top-right), fair on every grid of
  size >= 3.

Swapping the players' roles and reflecting the grid in the anti-diagonal
through the goal corner maps the default game onto itself with the rewards
negated, so its value is 0 for both players.

The envs (``env``, ``parallel_env``, ``raw_env``) are
:class:`~mail_envs.tabular_env.TabularAECEnv` /
:class:`~mail_envs.tabular_env.TabularParallelEnv` over this model, truncated
after ``max_cycles`` steps (default: ``horizon``, or :data:`DEFAULT_MAX_CYCLES`
= 50 for the infinite-horizon game). Observations (``observation=``) are the
one-hot state index (``"onehot"``, the default) or a rendered picture of the
grid (``"image"``: :func:`gridworld_image_observations`, ``float32`` in
``[0, 1]``, channels last, ``32 x 32 x 3`` on the 5x5 grid, the same for both
players), for CNN learners as in the published 5x5 experiment (figure 2a). The
model carries the observation of every state, so a CNN policy becomes a table
in one batched call and its exact Nash gap is computed as for any policy.

### Version History

* v0: initial release. The ``observation="image"`` option was added later;
  the default observation is unchanged.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mail_envs.core import TabularMarkovGame, check_int
from mail_envs.env_factories import env_factories_of, tabular_env_classes
from mail_envs.rendering import gridworld_image, gridworld_images

__all__ = [
    "ACTION_NAMES",
    "DEFAULT_MAX_CYCLES",
    "IMAGE_CELL_PX",
    "IMAGE_LINE_PX",
    "OBSERVATIONS",
    "PUBLISHED_EPISODE_LENGTHS",
    "PUBLISHED_STARTS",
    "GridworldAECEnv",
    "GridworldLayout",
    "GridworldParallelEnv",
    "env",
    "gridworld_image_observations",
    "gridworld_layout",
    "make_gridworld_game",
    "parallel_env",
    "published_starts",
    "raw_env",
]

#: Action names in action-index order (``"stay"`` only with ``allow_stay``).
ACTION_NAMES = ("left", "right", "up", "down", "stay")

#: Truncation length of the envs of the infinite-horizon game
#: (``0.9^50 < 0.006``: later rewards barely count).
DEFAULT_MAX_CYCLES = 50

Cell = tuple[int, int]

#: Start cells ``((row0, col0), (row1, col1))`` of the 3x3 Gridworld
#: experiments in the public code of Viano, Freihaut et al., "Multi-agent
#: imitation learning with function approximation: linear Markov games and
#: beyond" (``linear_bc_experiments.py`` / ``linear_mail_experiments.py``:
#: ``start_state = [[1, 0], [2, 1]]`` in ``[row, col]``, goal ``[0, 2]``).
#: With the default top-right goal ``(0, size - 1)`` both players are ``size``
#: moves from it, so the start is fair for every ``size >= 3``:
#: ``make_gridworld_game(3, starts=PUBLISHED_STARTS)``.
PUBLISHED_STARTS: tuple[Cell, Cell] = ((1, 0), (2, 1))

#: Episode length ``H`` of the published experiments, by grid size: 10 on the
#: 3x3 grid (``linear_mail_experiments.py``), 16 on the 5x5 grid
#: (``dqnexplore_vs_deepunif.py``, figure 2a). The game itself stays discounted
#: (``gamma = 0.9``); ``H`` is how long the learners' episodes last
#: (the envs' ``max_cycles``).
PUBLISHED_EPISODE_LENGTHS: dict[int, int] = {3: 10, 5: 16}

#: Observation kinds of ``make_gridworld_game(observation=...)``.
OBSERVATIONS = ("onehot", "image")

#: Pixels per cell of the image observation (grid line included; the line is
#: :data:`IMAGE_LINE_PX` wide): ``6 * size + 2`` pixels a side, 32 on 5x5.
IMAGE_CELL_PX = 6
IMAGE_LINE_PX = 2

# (d_row, d_col) of each action, in ACTION_NAMES order.
_MOVES = np.array([[0, -1], [0, 1], [-1, 0], [1, 0], [0, 0]], dtype=np.int64)


@dataclass(frozen=True)
class GridworldLayout:
    """Geometry and state indexing of a Gridworld race.

    A state is an ordered pair of distinct cells ``(c0, c1)`` (flat cell
    indices of player_0 and player_1); its index is
    ``c0 * (N - 1) + c1 - (c1 > c0)`` with ``N = size**2`` cells.

    Args:
        size: Side length of the grid.
        goal: ``(row, col)`` of the goal cell.
        starts: ``((row, col), (row, col))`` start cells of player_0, player_1.
        allow_stay: Whether action 4 (stay) exists.

    Example:
        >>> layout = GridworldLayout(3, goal=(0, 2), starts=((2, 2), (0, 0)))
        >>> layout.num_states
        72
        >>> layout.decode(layout.start_state)
        ((2, 2), (0, 0))
    """

    size: int
    goal: Cell
    starts: tuple[Cell, Cell]
    allow_stay: bool = False

    @property
    def num_cells(self) -> int:
        """Number of grid cells ``size**2``."""
        return self.size * self.size

    @property
    def num_states(self) -> int:
        """Number of states ``N (N - 1)``."""
        return self.num_cells * (self.num_cells - 1)

    @property
    def num_actions(self) -> int:
        """Actions per player: 4, or 5 with stay."""
        return 5 if self.allow_stay else 4

    @property
    def goal_cell(self) -> int:
        """Flat index of the goal cell."""
        return self.goal[0] * self.size + self.goal[1]

    @property
    def start_state(self) -> int:
        """Index of the start state."""
        (r0, c0), (r1, c1) = self.starts
        return int(self.encode(r0 * self.size + c0, r1 * self.size + c1))

    def encode(self, cell0: np.ndarray | int, cell1: np.ndarray | int) -> np.ndarray:
        """State indices of flat cell pairs (vectorized; cells must differ).

        Raises:
            ValueError: If a pair has equal cells or a cell is off the grid.
        """
        c0 = np.asarray(cell0, dtype=np.int64)
        c1 = np.asarray(cell1, dtype=np.int64)
        n = self.num_cells
        if np.any((c0 < 0) | (c0 >= n) | (c1 < 0) | (c1 >= n)):
            raise ValueError(f"cells must lie in [0, {n}), got {cell0!r} and {cell1!r}")
        if np.any(c0 == c1):
            raise ValueError(
                f"the players' cells must differ, got {cell0!r} and {cell1!r}"
            )
        return c0 * (n - 1) + c1 - (c1 > c0)

    def cells(self, states: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """Flat cells ``(cell0, cell1)`` of the players in ``states`` (vectorized)."""
        s = np.asarray(states, dtype=np.int64)
        if np.any((s < 0) | (s >= self.num_states)):
            raise ValueError(
                f"states must lie in [0, {self.num_states}), got {states!r}"
            )
        c0, rest = np.divmod(s, self.num_cells - 1)
        return c0, rest + (rest >= c0)

    def positions(self, states: np.ndarray | int) -> np.ndarray:
        """``(row, col)`` of both players: shape ``(*states.shape, 2, 2)``.

        ``positions(s)[..., i, :]`` is player ``i``'s ``(row, col)``.
        """
        c0, c1 = self.cells(states)
        cells = np.stack([c0, c1], axis=-1)
        return np.stack(np.divmod(cells, self.size), axis=-1)

    def decode(self, state: int) -> tuple[Cell, Cell]:
        """``((row0, col0), (row1, col1))`` of one state."""
        (r0, c0), (r1, c1) = self.positions(int(state)).tolist()
        return (r0, c0), (r1, c1)

    def label(self, state: int) -> str:
        """Human-readable label, e.g. ``"p0=(2,2) p1=(0,0)"``."""
        (r0, c0), (r1, c1) = self.decode(state)
        return f"p0=({r0},{c0}) p1=({r1},{c1})"


def _check_cell(name: str, cell: Any, size: int) -> Cell:
    try:
        row, col = (_index(v) for v in cell)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a (row, col) pair of ints, got {cell!r}"
        ) from None
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError(f"{name} {cell!r} is off the {size}x{size} grid")
    return row, col


def _index(value: Any) -> int:
    """``operator.index`` that rejects booleans."""
    if isinstance(value, bool | np.bool_):
        raise TypeError("bool is not a cell coordinate")
    return operator.index(value)


def _manhattan(a: Cell, b: Cell) -> int:
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def published_starts(size: int) -> tuple[Cell, Cell]:
    """The start of the published code on a ``size x size`` grid (goal top-right).

    player_0 at ``(size - 2, 0)`` and player_1 at ``(size - 1, 1)``, both
    ``2 size - 3`` moves from the goal ``(0, size - 1)``: on 3x3 this is
    :data:`PUBLISHED_STARTS` (``linear_mail_experiments.py``), on 5x5 the
    start ``[[3, 0], [4, 1]]`` with goal ``[0, 4]`` of
    ``dqnexplore_vs_deepunif.py`` (Viano, Freihaut et al., figure 2a).

    Args:
        size: Side of the grid (>= 3).

    Returns:
        ``((row0, col0), (row1, col1))``.

    Raises:
        ValueError: If ``size`` is not an integer >= 3.

    Example:
        >>> published_starts(5)
        ((3, 0), (4, 1))
    """
    size = check_int("size", size, 3)
    return (size - 2, 0), (size - 1, 1)


def gridworld_image_observations(layout: GridworldLayout) -> np.ndarray:
    """The picture of every state: the image observation of both players.

    The grid drawn by :func:`mail_envs.rendering.gridworld_images` (goal a
    green square, player_0 a red and player_1 a blue disc) with
    :data:`IMAGE_CELL_PX` pixels per cell, as ``float32`` in ``[0, 1]``,
    channels last: ``(S, 6 size + 2, 6 size + 2, 3)``. The published 5x5
    experiment feeds its CNNs ``32 x 32 x 3`` renderings scaled to ``[0, 1]``
    (Viano, Freihaut et al., ``dqnexplore_vs_deepunif.py``,
    ``IMAGE_SIZE = 32``); ours are drawn at that size directly, so the same
    state always gives the same image (no resampling).

    Args:
        layout: The game's layout.

    Returns:
        The ``(S, H, W, 3)`` float32 observations, in state order.

    Example:
        >>> layout = gridworld_layout(5, starts=published_starts(5))
        >>> gridworld_image_observations(layout).shape
        (600, 32, 32, 3)
    """
    positions = layout.positions(np.arange(layout.num_states))
    images = gridworld_images(
        layout.size,
        layout.goal,
        positions,
        cell_px=IMAGE_CELL_PX,
        line_px=IMAGE_LINE_PX,
    )
    return images.astype(np.float32) / np.float32(255.0)


def _make_layout(
    size: int,
    goal: Sequence[int] | None,
    starts: Sequence[Sequence[int]] | None,
    allow_stay: bool,
) -> GridworldLayout:
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 2:
        raise ValueError(f"size must be an integer >= 2, got {size!r}")
    size = int(size)
    goal_cell = (0, size - 1) if goal is None else _check_cell("goal", goal, size)
    if starts is None:
        # Reflections of the goal in the horizontal and vertical midlines: the
        # bottom-right and top-left corners for the default top-right goal.
        start_cells = (
            (size - 1 - goal_cell[0], goal_cell[1]),
            (goal_cell[0], size - 1 - goal_cell[1]),
        )
        hint = "; pass starts=((row0, col0), (row1, col1))"
    else:
        try:
            first, second = starts
        except (TypeError, ValueError):
            raise ValueError(
                f"starts must be ((row0, col0), (row1, col1)), got {starts!r}"
            ) from None
        start_cells = (
            _check_cell("starts[0]", first, size),
            _check_cell("starts[1]", second, size),
        )
        hint = ""
    if start_cells[0] == start_cells[1]:
        raise ValueError(f"starts {start_cells} put both players on one cell{hint}")
    if goal_cell in start_cells:
        raise ValueError(
            f"starts {start_cells} put a player on the goal {goal_cell}{hint}"
        )
    d0, d1 = (_manhattan(c, goal_cell) for c in start_cells)
    if d0 != d1:
        raise ValueError(
            f"starts {start_cells} are unfair: distances {d0} and {d1} to the goal "
            f"{goal_cell} differ{hint}"
        )
    if not isinstance(allow_stay, bool | np.bool_):
        raise ValueError(f"allow_stay must be a bool, got {allow_stay!r}")
    return GridworldLayout(size, goal_cell, start_cells, bool(allow_stay))


def make_gridworld_game(
    size: int = 3,
    *,
    goal: Sequence[int] | None = None,
    starts: Sequence[Sequence[int]] | None = None,
    allow_stay: bool = False,
    gamma: float = 0.9,
    horizon: int | None = None,
    observation: str = "onehot",
) -> TabularMarkovGame:
    """Build the Gridworld race model (rules in the module docstring).

    Args:
        size: Side length of the grid (>= 2).
        goal: ``(row, col)`` of the goal; default the top-right corner.
        starts: ``((row0, col0), (row1, col1))`` start cells of player_0 and
            player_1; default: the goal reflected in the horizontal and in the
            vertical midline (bottom-right and top-left for the default goal).
        allow_stay: Add action 4, stay.
        gamma: Discount factor.
        horizon: Number of decision steps, or None for the discounted game.
        observation: ``"onehot"`` (the state index) or ``"image"`` (the
            picture of the state, :func:`gridworld_image_observations`); the
            model holds the observation of every state for both players.

    Returns:
        The model. :func:`gridworld_layout` with the same arguments gives the
        :class:`GridworldLayout` that indexes its states.

    Raises:
        ValueError: If ``size``, ``goal`` or ``starts`` is invalid (off the
            grid, shared or goal cells, unequal distances to the goal),
            ``gamma``/``horizon`` is ill-posed, or ``observation`` is unknown.

    Example:
        >>> game = make_gridworld_game()
        >>> game.num_states, game.num_actions
        (72, (4, 4))
        >>> game.state_labels[int(game.initial_distribution.argmax())]
        'p0=(2,2) p1=(0,0)'
    """
    if observation not in OBSERVATIONS:
        raise ValueError(
            f"observation must be one of {OBSERVATIONS}, got {observation!r}"
        )
    layout = _make_layout(size, goal, starts, allow_stay)
    images = gridworld_image_observations(layout) if observation == "image" else None
    return _build_game(layout, gamma=gamma, horizon=horizon, images=images)


def gridworld_layout(
    size: int = 3,
    *,
    goal: Sequence[int] | None = None,
    starts: Sequence[Sequence[int]] | None = None,
    allow_stay: bool = False,
) -> GridworldLayout:
    """The :class:`GridworldLayout` that :func:`make_gridworld_game` uses.

    Args:
        size: As in :func:`make_gridworld_game`.
        goal: As in :func:`make_gridworld_game`.
        starts: As in :func:`make_gridworld_game`.
        allow_stay: As in :func:`make_gridworld_game`.

    Returns:
        The validated layout (state indexing and decoding).

    Raises:
        ValueError: As :func:`make_gridworld_game`.
    """
    return _make_layout(size, goal, starts, allow_stay)


def _build_game(
    layout: GridworldLayout,
    *,
    gamma: float,
    horizon: int | None,
    images: np.ndarray | None = None,
) -> TabularMarkovGame:
    size, num_a = layout.size, layout.num_actions
    states = np.arange(layout.num_states)
    pos = layout.positions(states)  # (S, 2, 2): player, (row, col)
    cells = pos[..., 0] * size + pos[..., 1]  # (S, 2)
    moves = _MOVES[:num_a]

    # Target of each player for each of its actions: (S, 2, A, 2).
    target = np.clip(pos[:, :, None, :] + moves[None, None], 0, size - 1)
    target_cell = target[..., 0] * size + target[..., 1]  # (S, 2, A)
    on_goal = cells == layout.goal_cell  # (S, 2)
    target_cell = np.where(on_goal[:, :, None], cells[:, :, None], target_cell)

    # Joint actions, row-major: a = a0 * A + a1.
    t0 = np.repeat(target_cell[:, 0, :], num_a, axis=1)  # (S, A*A): a0 major
    t1 = np.tile(target_cell[:, 1, :], (1, num_a))
    c0, c1 = cells[:, :1], cells[:, 1:]
    blocked = (t0 == t1) | ((t0 == c1) & (t1 == c0))
    n0 = np.where(blocked, c0, t0)
    n1 = np.where(blocked, c1, t1)
    next_states = layout.encode(n0, n1)

    goal = layout.goal_cell
    r0 = (n0 == goal).astype(np.float64) - (n1 == goal).astype(np.float64)
    rewards = np.stack([r0, -r0])

    mu0 = np.zeros(layout.num_states)
    mu0[layout.start_state] = 1.0
    mask = np.ones((layout.num_states, num_a), dtype=bool)
    labels = tuple(f"p0=({a},{b}) p1=({c},{d})" for (a, b), (c, d) in pos.tolist())
    return TabularMarkovGame(
        num_actions=(num_a, num_a),
        next_states=next_states,
        next_probs=np.ones(next_states.shape),
        rewards=rewards,
        legal_masks=(mask, mask),
        initial_distribution=mu0,
        gamma=gamma,
        horizon=horizon,
        observations=None if images is None else (images, images),
        name="gridworld",
        state_labels=labels,
    )


_PARALLEL_DOC = """Parallel env of the Gridworld race.

    Args:
        size: Passed to :func:`make_gridworld_game`.
        goal: Passed to :func:`make_gridworld_game`.
        starts: Passed to :func:`make_gridworld_game`.
        allow_stay: Passed to :func:`make_gridworld_game`.
        gamma: Passed to :func:`make_gridworld_game`.
        horizon: Passed to :func:`make_gridworld_game`.
        observation: Passed to :func:`make_gridworld_game`.
        max_cycles: Truncation length; default ``horizon`` or
            :data:`DEFAULT_MAX_CYCLES`.
        render_mode: ``"ansi"``, ``"rgb_array"``, ``"human"`` or None.
        illegal_action: As in :class:`~mail_envs.tabular_env.TabularParallelEnv`.
        illegal_reward: As in :class:`~mail_envs.tabular_env.TabularParallelEnv`.

    Attributes:
        layout: The :class:`GridworldLayout` of the game's states.

    Example:
        >>> env = GridworldParallelEnv(size=3)
        >>> obs, infos = env.reset(seed=0)
        >>> env.layout.decode(env.state_index)
        ((2, 2), (0, 0))
    """

_AEC_DOC = """AEC env of the Gridworld race (PettingZoo's ``raw_env``).

    Takes the arguments of :class:`GridworldParallelEnv`; :func:`env` wraps it
    in PettingZoo's order enforcement.

    Example:
        >>> aec = env(size=3)
        >>> aec.reset(seed=0)
        >>> aec.agent_selection
        'player_0'
    """


def _layout_attribute(args: Mapping[str, Any]) -> dict[str, GridworldLayout]:
    layout = _make_layout(
        args["size"], args["goal"], args["starts"], args["allow_stay"]
    )
    return {"layout": layout}


def _render_rgb(env: Any) -> np.ndarray:
    # The grid with the goal and both players.
    layout = env.layout
    return gridworld_image(layout.size, layout.goal, layout.decode(env.state_index))


_CLASSES = tabular_env_classes(
    make_gridworld_game,
    name="gridworld_v0",
    default_max_cycles=DEFAULT_MAX_CYCLES,
    attributes=_layout_attribute,
    class_names=("GridworldAECEnv", "GridworldParallelEnv"),
    render_rgb=_render_rgb,
    docs=(_AEC_DOC, _PARALLEL_DOC),
)
GridworldAECEnv, GridworldParallelEnv = _CLASSES

#: PettingZoo's entry points: ``raw_env`` is :class:`GridworldAECEnv`, ``env``
#: wraps it in order enforcement, ``parallel_env`` builds a
#: :class:`GridworldParallelEnv`; all take its arguments.
raw_env, env, parallel_env = env_factories_of(_CLASSES)
