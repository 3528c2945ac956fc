"""numpy-only ``rgb_array`` pictures of the games' boards, grids and states.

Every picture is a grid of square cells drawn from integer codes: code ``k``
of a cell selects ``styles[k]``, a stack of shapes (``"square"``, ``"disc"``,
``"ring"``, ``"cross"``) painted in order over the background. The result is
an ``(H, W, 3)`` ``uint8`` array, what ``render_mode="rgb_array"`` returns and
what Gymnasium's ``RecordVideo`` and SB3's ``VecVideoRecorder`` record. No
pygame is imported.

Example:
    >>> import numpy as np
    >>> tictactoe_image(np.array([1, 0, 0, 0, 2, 0, 0, 0, 0])).shape
    (196, 196, 3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "chain_image",
    "connect4_image",
    "grid_image",
    "grid_images",
    "gridworld_image",
    "gridworld_images",
    "shape_mask",
    "state_index_image",
    "tictactoe_image",
]

RGB = tuple[int, int, int]
#: One layer of a cell: a shape name and its colour.
Layer = tuple[str, RGB]

_WHITE: RGB = (245, 245, 245)
_LINE: RGB = (40, 40, 40)
_RED: RGB = (220, 50, 47)
_BLUE: RGB = (38, 110, 210)
_YELLOW: RGB = (240, 200, 30)
_GREEN: RGB = (60, 170, 80)
_GREY: RGB = (200, 200, 200)
_ORANGE: RGB = (240, 140, 30)
_DARK: RGB = (90, 90, 90)
#: Colours of the players' pieces, player 0 first (cycled for more players).
PLAYER_COLORS: tuple[RGB, ...] = (_RED, _BLUE, _YELLOW, _GREEN, _ORANGE)


def shape_mask(shape: str, size: int) -> np.ndarray:
    """Boolean ``(size, size)`` mask of a shape centred in a cell.

    Args:
        shape: ``"square"`` (the whole cell), ``"disc"``, ``"ring"`` or
            ``"cross"``.
        size: Side of the cell in pixels.

    Returns:
        The mask.

    Raises:
        ValueError: If ``shape`` is unknown or ``size`` is below 4.

    Example:
        >>> shape_mask("disc", 8).sum() > 0
        np.True_
    """
    if size < 4:
        raise ValueError(f"size must be >= 4 pixels, got {size!r}")
    centre = (size - 1) / 2.0
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) - centre
    radius = np.hypot(x, y)
    outer = 0.38 * size
    width = max(1.0, 0.09 * size)
    if shape == "square":
        return np.ones((size, size), dtype=bool)
    if shape == "disc":
        return radius <= outer
    if shape == "ring":
        return (radius <= outer) & (radius >= outer - width)
    if shape == "cross":
        inside = (np.abs(x) <= outer * 0.8) & (np.abs(y) <= outer * 0.8)
        return inside & ((np.abs(x - y) <= width) | (np.abs(x + y) <= width))
    raise ValueError(
        f"shape must be 'square', 'disc', 'ring' or 'cross', got {shape!r}"
    )


def grid_image(
    codes: np.ndarray,
    styles: Sequence[Sequence[Layer]],
    *,
    cell_px: int = 48,
    line_px: int = 2,
    background: RGB = _WHITE,
    line: RGB = _LINE,
) -> np.ndarray:
    """Draw a grid of cells, each painted with the layers of its code.

    Args:
        codes: ``(rows, cols)`` integer codes, indices into ``styles``.
        styles: For each code, the ``(shape, colour)`` layers painted in order.
        cell_px: Side of a cell in pixels (grid lines included).
        line_px: Width of the grid lines.
        background: Colour of a cell under its layers.
        line: Colour of the grid lines.

    Returns:
        ``(rows * cell_px + line_px, cols * cell_px + line_px, 3)`` uint8.

    Raises:
        ValueError: If ``codes`` is not 2-D or holds a code outside ``styles``.
    """
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.size == 0:
        raise ValueError(f"codes must be a non-empty 2-D array, got {codes.shape}")
    if codes.min() < 0 or codes.max() >= len(styles):
        raise ValueError(
            f"codes must lie in [0, {len(styles)}), got {codes.min()}..{codes.max()}"
        )
    return grid_images(
        codes[None],
        styles,
        cell_px=cell_px,
        line_px=line_px,
        background=background,
        line=line,
    )[0]


def tictactoe_image(board: np.ndarray, *, cell_px: int = 64) -> np.ndarray:
    """Tic-Tac-Toe board: X a red cross, O a blue ring.

    Args:
        board: ``(9,)`` cells (0 empty, 1 X, 2 O), cell ``k`` at row ``k // 3``
            and column ``k % 3`` (:mod:`mail_envs.tictactoe.rules`).
        cell_px: Side of a cell in pixels.

    Returns:
        The ``(H, W, 3)`` uint8 picture.
    """
    codes = np.asarray(board, dtype=np.int64).reshape(3, 3)
    styles: list[list[Layer]] = [[], [("cross", _RED)], [("ring", _BLUE)]]
    return grid_image(codes, styles, cell_px=cell_px, line_px=4)


def connect4_image(cells: np.ndarray, *, cell_px: int = 48) -> np.ndarray:
    """Connect Four board: blue frame, red first player, yellow second.

    Args:
        cells: ``(rows, cols)`` codes, top row first (0 empty, 1 first
            player, 2 second player).
        cell_px: Side of a cell in pixels.

    Returns:
        The ``(H, W, 3)`` uint8 picture.
    """
    styles: list[list[Layer]] = [
        [("disc", _WHITE)],
        [("disc", _RED)],
        [("disc", _YELLOW)],
    ]
    return grid_image(
        np.asarray(cells, dtype=np.int64),
        styles,
        cell_px=cell_px,
        background=_BLUE,
        line=_BLUE,
    )


def gridworld_image(
    size: int,
    goal: tuple[int, int],
    positions: Sequence[tuple[int, int]],
    *,
    cell_px: int = 48,
) -> np.ndarray:
    """Gridworld: the goal a green square, player ``i`` a disc of its colour.

    Args:
        size: Side of the grid.
        goal: ``(row, col)`` of the goal.
        positions: ``(row, col)`` of each player (distinct cells).
        cell_px: Side of a cell in pixels.

    Returns:
        The ``(H, W, 3)`` uint8 picture.
    """
    players = len(positions)
    # code 0 empty, 1 goal, 2 + i player i, 2 + players + i player i on goal
    codes = np.zeros((size, size), dtype=np.int64)
    codes[goal] = 1
    for i, cell in enumerate(positions):
        codes[cell] = 2 + i + (players if tuple(cell) == tuple(goal) else 0)
    colors = [PLAYER_COLORS[i % len(PLAYER_COLORS)] for i in range(players)]
    styles: list[list[Layer]] = [[], [("square", _GREEN)]]
    styles += [[("disc", c)] for c in colors]
    styles += [[("square", _GREEN), ("disc", c)] for c in colors]
    return grid_image(codes, styles, cell_px=cell_px)


def gridworld_images(
    size: int,
    goal: tuple[int, int],
    positions: np.ndarray,
    *,
    cell_px: int = 6,
    line_px: int = 2,
) -> np.ndarray:
    """Many Gridworld pictures at once (vectorized): the learners' image observations.

    The same drawing as :func:`gridworld_image` (green goal, player ``i`` a disc
    of its colour, the goal square under a player on it), for a batch of
    states in one indexing pass, small enough for a CNN: with the defaults a
    5x5 grid is ``32 x 32`` pixels, the image size of the published 5x5
    Gridworld experiment (Viano, Freihaut et al.,
    ``dqnexplore_vs_deepunif.py``: ``IMAGE_SIZE = 32``, 3 channels).

    Args:
        size: Side of the grid.
        goal: ``(row, col)`` of the goal.
        positions: ``(B, n, 2)`` integer ``(row, col)`` of each player in each
            picture (distinct cells within a picture).
        cell_px: Side of a cell in pixels, grid line included (inner side >= 4).
        line_px: Width of the grid lines.

    Returns:
        ``(B, size * cell_px + line_px, size * cell_px + line_px, 3)`` uint8.

    Raises:
        ValueError: If ``positions`` is not ``(B, n, 2)`` or holds a cell off
            the grid.

    Example:
        >>> gridworld_images(5, (0, 4), np.array([[[3, 0], [4, 1]]])).shape
        (1, 32, 32, 3)
    """
    pos = np.asarray(positions)
    if pos.ndim != 3 or pos.shape[2] != 2 or not np.issubdtype(pos.dtype, np.integer):
        raise ValueError(
            f"positions must be a (B, n, 2) integer array, got shape {pos.shape} "
            f"and dtype {pos.dtype}"
        )
    if pos.size and (pos.min() < 0 or pos.max() >= size):
        raise ValueError(f"positions must lie on the {size}x{size} grid")
    batch, players = pos.shape[:2]
    goal_flat = goal[0] * size + goal[1]
    # code 0 empty, 1 goal, 2 + i player i, 2 + players + i player i on goal
    codes = np.zeros((batch, size * size), dtype=np.int64)
    codes[:, goal_flat] = 1
    flat = pos[..., 0] * size + pos[..., 1]  # (B, n)
    on_goal = flat == goal_flat
    player_codes = 2 + np.arange(players) + np.where(on_goal, players, 0)
    np.put_along_axis(codes, flat, player_codes, axis=1)
    colors = [PLAYER_COLORS[i % len(PLAYER_COLORS)] for i in range(players)]
    styles: list[list[Layer]] = [[], [("square", _GREEN)]]
    styles += [[("disc", c)] for c in colors]
    styles += [[("square", _GREEN), ("disc", c)] for c in colors]
    return grid_images(
        codes.reshape(batch, size, size), styles, cell_px=cell_px, line_px=line_px
    )


def grid_images(
    codes: np.ndarray,
    styles: Sequence[Sequence[Layer]],
    *,
    cell_px: int = 48,
    line_px: int = 2,
    background: RGB = _WHITE,
    line: RGB = _LINE,
) -> np.ndarray:
    """:func:`grid_image` of a batch of code grids ``(B, rows, cols)`` in one pass.

    Args:
        codes: ``(B, rows, cols)`` integer codes, indices into ``styles``.
        styles: As in :func:`grid_image`.
        cell_px: As in :func:`grid_image`.
        line_px: As in :func:`grid_image`.
        background: As in :func:`grid_image`.
        line: As in :func:`grid_image`.

    Returns:
        ``(B, rows * cell_px + line_px, cols * cell_px + line_px, 3)`` uint8;
        picture ``b`` equals ``grid_image(codes[b], styles, ...)``.

    Raises:
        ValueError: If ``codes`` is not 3-D or holds a code outside ``styles``.
    """
    codes = np.asarray(codes)
    if codes.ndim != 3 or codes.size == 0:
        raise ValueError(f"codes must be a non-empty 3-D array, got {codes.shape}")
    if codes.min() < 0 or codes.max() >= len(styles):
        raise ValueError(
            f"codes must lie in [0, {len(styles)}), got {codes.min()}..{codes.max()}"
        )
    inner = cell_px - line_px
    tiles = np.empty((len(styles), cell_px, cell_px, 3), dtype=np.uint8)
    tiles[:] = line
    for k, layers in enumerate(styles):
        tile = tiles[k, line_px:, line_px:]
        tile[:] = background
        for shape, color in layers:
            tile[shape_mask(shape, inner)] = color
    batch, rows, cols = codes.shape
    image = tiles[codes].transpose(0, 1, 3, 2, 4, 5)  # (B, rows, px, cols, px, 3)
    image = image.reshape(batch, rows * cell_px, cols * cell_px, 3)
    height, width = rows * cell_px + line_px, cols * cell_px + line_px
    out = np.empty((batch, height, width, 3), np.uint8)
    out[:] = line
    out[:, : rows * cell_px, : cols * cell_px] = image
    return out


def chain_image(length: int, state: int, *, cell_px: int = 48) -> np.ndarray:
    """Chain game: ``length`` grey chain states, the orange gate, grey ``done``.

    The walker (the explorer's position, i.e. the current state) is a red disc.

    Args:
        length: Number of chain states; the gate is state ``length`` and the
            terminal ``done`` state ``length + 1``.
        state: The current state index.
        cell_px: Side of a cell in pixels.

    Returns:
        The ``(H, W, 3)`` uint8 picture, one row of ``length + 2`` cells.
    """
    base = np.zeros(length + 2, dtype=np.int64)
    base[length] = 1
    base[length + 1] = 2
    base[state] += 3
    styles: list[list[Layer]] = [
        [("square", _GREY)],
        [("square", _ORANGE)],
        [("square", _DARK)],
    ]
    styles += [[*layers, ("disc", _RED)] for layers in styles]
    return grid_image(base[None, :], styles, cell_px=cell_px)


def state_index_image(
    num_states: int,
    state: int,
    *,
    terminal: np.ndarray | None = None,
    cell_px: int | None = None,
) -> np.ndarray:
    """Any tabular game: one cell per state, the current one a red disc.

    States fill a near-square grid row by row; terminal states are dark.

    Args:
        num_states: Number of states ``S``.
        state: The current state index.
        terminal: Optional ``(S,)`` bool, the terminal states.
        cell_px: Side of a cell in pixels; default shrinks with ``S``.

    Returns:
        The ``(H, W, 3)`` uint8 picture.

    Example:
        >>> state_index_image(2, 1).shape
        (51, 99, 3)
    """
    cols = int(np.ceil(np.sqrt(num_states)))
    rows = -(-num_states // cols)
    if cell_px is None:
        cell_px = int(np.clip(480 // max(rows, cols), 8, 48))
    codes = np.full(rows * cols, 3, dtype=np.int64)  # 3: padding
    codes[:num_states] = 0
    if terminal is not None:
        codes[:num_states][np.asarray(terminal, dtype=bool)] = 1
    codes[state] = 2
    styles: list[list[Layer]] = [
        [],
        [("square", _DARK)],
        [("disc", _RED)],
        [("square", _GREY)],
    ]
    return grid_image(
        codes.reshape(rows, cols), styles, cell_px=cell_px, line_px=1 + cell_px // 24
    )
