"""Feature maps ``phi(s, a)`` for linear MAIL on the Gridworld race.

Each map returns, for one player, the array ``phi`` of shape ``(S, A_i, d)``:
the feature vector of every (state, action) pair, computed vectorized over all
states at once. They feed the linear parts of the package:

* LSVI-UCB-ZERO (Viano, Freihaut et al., "Multi-agent imitation learning with
  function approximation: linear Markov games and beyond") explores with the
  bonus ``beta ||phi(s, a)||_{Lambda^-1}`` and regresses ``Q_h(s, a) =
  phi(s, a)^T w_h``;
* BC with a softmax-linear policy ``pi(a | s) ∝ exp(theta^T phi(s, a))``
  (:class:`agents.policies.FeatureLinearPolicy` takes the array directly).

The maps:

* :func:`tabular_features` — one-hot ``e_{(s, a)}``, ``d = S A``: the linear
  Markov game that contains every tabular game (any game, not only Gridworld);
* :func:`relational_features` — ``d = 47`` hand-made Gridworld features
  (directions in 8 compass sectors, adjacency, goal and corner indicators, the
  action's effect); the list is :data:`RELATIONAL_FEATURE_NAMES`;
* :func:`paper_relational_features` — the paper's relational map (Appendix
  I.1): 20 state concepts (:data:`PAPER_RELATIONAL_CONCEPTS`) tiled over the
  actions, ``d = 20 A`` (80 for 4 actions), with the published code's sector
  rule by default;
* :func:`fit_deep_linear_features` — a learned map: a network ``h`` (default
  the paper's :func:`deep_linear_head` on
  :func:`gridworld_board_observations`) is fitted by behaviour cloning to a
  dataset's (state, expert action) pairs only, and
  ``phi(s, a) = e_a (x) [h(s), 1]`` makes its logits exactly linear in ``phi``
  (:func:`deep_linear_features`).

Example:
    >>> from mail_envs.gridworld import make_gridworld_game
    >>> game = make_gridworld_game(size=3)
    >>> relational_features(game, player=0).shape
    (72, 4, 47)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from agents.bc import BCMetrics, BCTrainer
from agents.common import resolve_device
from agents.policies import MLPPolicy, PolicyHead
from mail_envs.core import TabularMarkovGame
from mail_envs.gridworld import GridworldLayout, gridworld_layout, make_gridworld_game

__all__ = [
    "COMPASS",
    "PAPER_RELATIONAL_CONCEPTS",
    "RELATIONAL_FEATURE_NAMES",
    "DeepLinearFeatures",
    "compass_sector",
    "deep_linear_features",
    "deep_linear_head",
    "fit_deep_linear_features",
    "gridworld_board_observations",
    "gridworld_layout_of",
    "paper_relational_features",
    "relational_features",
    "tabular_features",
]

#: The 8 compass sectors, in feature order. Row 0 is the top of the grid, so
#: "N" means a smaller row.
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")

# Sector index of (sign(d_row) + 1, sign(d_col) + 1); -1 for "same cell".
_SECTOR = np.array(
    [
        [7, 0, 1],  # d_row < 0: NW, N, NE
        [6, -1, 2],  # d_row = 0: W, (same), E
        [5, 4, 3],  # d_row > 0: SW, S, SE
    ],
    dtype=np.int64,
)

# (d_row, d_col) of the Gridworld actions: left, right, up, down, stay.
_MOVES = np.array([[0, -1], [0, 1], [-1, 0], [1, 0], [0, 0]], dtype=np.int64)

#: Names of the :func:`relational_features` coordinates, in order. ``p`` is the
#: player's cell, ``q`` the opponent's, ``g`` the goal and ``t`` the action's
#: target cell (``p`` moved by the action, kept in place by walls, and ``p``
#: itself when ``p`` is the absorbing goal); distances are Manhattan.
RELATIONAL_FEATURE_NAMES: tuple[str, ...] = (
    "bias",
    *(f"opponent_{c}" for c in COMPASS),  # direction p -> q
    *(f"goal_{c}" for c in COMPASS),  # direction p -> g (all 0 on the goal)
    "on_goal",  # p == g
    "opponent_on_goal",  # q == g
    "adjacent_to_opponent",  # |p - q|_1 == 1
    "in_corner",  # p is a corner cell
    "blocked_by_wall",  # p + move is off the grid (and p is not the goal)
    "moves_closer_to_goal",  # |t - g| < |p - g|
    "moves_away_from_goal",  # |t - g| > |p - g|
    "reaches_goal",  # t == g != p
    "targets_opponent_cell",  # t == q: a collision, both would stay
    "target_adjacent_to_opponent",  # |t - q|_1 == 1
    *(f"target_opponent_{c}" for c in COMPASS),  # direction t -> q (0 if t == q)
    *(f"target_goal_{c}" for c in COMPASS),  # direction t -> g (0 if t == g)
    "ahead_after_move",  # |q - g| > |t - g|
    "level_after_move",  # |q - g| == |t - g|
    "behind_after_move",  # |q - g| < |t - g|
    "stays_in_place",  # t == p (stay, wall, or on the goal)
)


def compass_sector(delta: np.ndarray) -> np.ndarray:
    """Compass sector (index into :data:`COMPASS`) of ``(d_row, d_col)`` offsets.

    The sector is given by the signs of the two coordinates, so the 8 sectors
    are exactly the 8 sign patterns: straight lines (N, E, S, W) and the four
    open quadrants between them (NE, SE, SW, NW).

    Args:
        delta: ``(..., 2)`` integer offsets ``target - origin``.

    Returns:
        ``(...)`` sector indices in ``[0, 8)``, and ``-1`` for a zero offset.

    Example:
        >>> compass_sector(np.array([[-1, 0], [2, 3], [0, 0]])).tolist()
        [0, 3, -1]
    """
    d = np.sign(np.asarray(delta, dtype=np.int64))
    return _SECTOR[d[..., 0] + 1, d[..., 1] + 1]


def _one_hot_sector(delta: np.ndarray) -> np.ndarray:
    """``(..., 8)`` float one-hot sector of offsets; all zero for a zero offset."""
    sector = compass_sector(delta)
    return (sector[..., None] == np.arange(8)).astype(np.float64)


def _check_player(game_players: int, player: int) -> int:
    if (
        isinstance(player, bool)
        or int(player) != player
        or not 0 <= player < game_players
    ):
        raise ValueError(f"player must be in [0, {game_players}), got {player!r}")
    return int(player)


def gridworld_layout_of(game: TabularMarkovGame) -> GridworldLayout:
    """Recover the :class:`~mail_envs.gridworld.GridworldLayout` of a Gridworld model.

    The size comes from ``S = N (N - 1)``, stay from the action count, the goal
    from the rewards (the only cell where player_0 is paid +1 for every joint
    action) and the starts from the initial distribution; the result is
    verified by rebuilding the transitions with
    :func:`mail_envs.gridworld.make_gridworld_game`.

    Args:
        game: A model built by :func:`mail_envs.gridworld.make_gridworld_game`.

    Returns:
        Its layout.

    Raises:
        ValueError: If ``game`` is not such a Gridworld model.
    """
    not_grid = f"game {game.name!r} with {game.num_states} states is not a Gridworld race model"
    if game.name != "gridworld" or game.num_players != 2:
        raise ValueError(not_grid)
    num_cells = round((1 + float(np.sqrt(1 + 4 * game.num_states))) / 2)
    size = round(float(np.sqrt(num_cells)))
    if size * size != num_cells or num_cells * (num_cells - 1) != game.num_states:
        raise ValueError(not_grid)
    allow_stay = game.num_actions[0] == 5
    probe = gridworld_layout(size, allow_stay=allow_stay)
    paid = np.flatnonzero(np.all(game.rewards[0] == 1.0, axis=1))
    goal_cells = np.unique(probe.cells(paid)[0])
    start = np.flatnonzero(game.initial_distribution == 1.0)
    if goal_cells.size != 1 or start.size != 1:
        raise ValueError(not_grid)
    goal = tuple(int(v) for v in divmod(int(goal_cells[0]), size))
    starts = probe.decode(int(start[0]))
    layout = gridworld_layout(size, goal=goal, starts=starts, allow_stay=allow_stay)
    rebuilt = make_gridworld_game(
        size,
        goal=goal,
        starts=starts,
        allow_stay=allow_stay,
        gamma=game.gamma,
        horizon=game.horizon,
    )
    if not np.array_equal(rebuilt.next_states, game.next_states):
        raise ValueError(not_grid)
    return layout


def tabular_features(
    game: TabularMarkovGame, player: int, *, dtype: type = np.float64
) -> np.ndarray:
    """Tabular one-hot features ``phi(s, a) = e_{s A + a}``, ``d = S A``.

    With these features a linear Markov game is an arbitrary tabular game, so
    linear methods reduce to their tabular versions (the tabular curve of the
    Gridworld experiments). Works for any :class:`TabularMarkovGame`.

    Args:
        game: The model.
        player: Player index.
        dtype: Float dtype of the result.

    Returns:
        ``(S, A_i, S * A_i)`` array; ``phi.reshape(S * A_i, -1)`` is the identity.

    Raises:
        ValueError: If ``player`` is out of range.

    Example:
        >>> from mail_envs.gridworld import make_gridworld_game
        >>> tabular_features(make_gridworld_game(), 1).shape
        (72, 4, 288)
    """
    player = _check_player(game.num_players, player)
    s, a = game.num_states, game.num_actions[player]
    return np.eye(s * a, dtype=dtype).reshape(s, a, s * a)


def relational_features(
    game_or_layout: TabularMarkovGame | GridworldLayout, player: int
) -> np.ndarray:
    """Relational Gridworld features, ``d = 47`` (:data:`RELATIONAL_FEATURE_NAMES`).

    The features describe the player's situation relative to the opponent and
    the goal, independent of the grid's size: a bias; the directions from the
    player to the opponent and to the goal, each one-hot over 8 compass
    sectors (:func:`compass_sector`: the sign pattern of the offset, so all 8
    directions are distinguished); on-goal, opponent-on-goal, adjacency to the
    opponent and in-corner indicators — these are the same for every action —
    and the action's effect, computed on the target cell ``t`` the action aims
    at (walls keep the player in place, the goal is absorbing; the opponent's
    simultaneous move is not known, so collisions are not resolved): blocked by
    a wall, closer to / farther from / reaching the goal, aiming at the
    opponent's cell, adjacency and 8-sector directions from ``t`` to the
    opponent and to the goal, the race standing after the move (ahead, level,
    behind in distance to the goal) and whether the player stays in place.

    They are meant for the relational curve of the linear Gridworld
    experiments: few features that generalize across states, so exploration
    bonuses shrink much faster than with :func:`tabular_features`.

    Args:
        game_or_layout: A Gridworld model (its layout is recovered with
            :func:`gridworld_layout_of`) or a ``GridworldLayout``.
        player: 0 or 1; the opponent is the other player.

    Returns:
        ``(S, A, 47)`` float64 array.

    Raises:
        ValueError: If ``player`` is not 0 or 1, or the game is not a Gridworld.

    Example:
        >>> from mail_envs.gridworld import gridworld_layout
        >>> phi = relational_features(gridworld_layout(3), player=0)
        >>> RELATIONAL_FEATURE_NAMES[int(np.argmax(phi[0, 0, 1:9])) + 1]
        'opponent_E'
    """
    layout = (
        gridworld_layout_of(game_or_layout)
        if isinstance(game_or_layout, TabularMarkovGame)
        else game_or_layout
    )
    player = _check_player(2, player)
    size = layout.size
    goal = np.asarray(layout.goal, dtype=np.int64)
    pos = layout.positions(np.arange(layout.num_states))  # (S, 2, 2)
    me, opp = pos[:, player], pos[:, 1 - player]  # (S, 2) each
    moves = _MOVES[: layout.num_actions]  # (A, 2)
    num_states, num_a = len(me), len(moves)

    def manhattan(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.abs(x - y).sum(axis=-1)

    on_goal = np.all(me == goal, axis=1)
    raw_target = me[:, None, :] + moves[None]  # (S, A, 2)
    off_grid = np.any((raw_target < 0) | (raw_target >= size), axis=2)
    target = np.where(
        (off_grid | on_goal[:, None])[..., None], me[:, None, :], raw_target
    )

    corner_coords = (0, size - 1)
    in_corner = np.isin(me[:, 0], corner_coords) & np.isin(me[:, 1], corner_coords)
    dist_goal = manhattan(me, goal)  # (S,)
    dist_target_goal = manhattan(target, goal)  # (S, A)
    dist_opp_goal = manhattan(opp, goal)  # (S,)
    lead = dist_opp_goal[:, None] - dist_target_goal  # (S, A)

    state_part = np.concatenate(
        [
            np.ones((num_states, 1)),
            _one_hot_sector(opp - me),
            _one_hot_sector(goal - me),
            on_goal[:, None],
            np.all(opp == goal, axis=1)[:, None],
            (manhattan(me, opp) == 1)[:, None],
            in_corner[:, None],
        ],
        axis=1,
    ).astype(np.float64)  # (S, 21)
    action_part = np.concatenate(
        [
            (off_grid & ~on_goal[:, None])[..., None],
            (dist_target_goal < dist_goal[:, None])[..., None],
            (dist_target_goal > dist_goal[:, None])[..., None],
            (np.all(target == goal, axis=2) & ~on_goal[:, None])[..., None],
            np.all(target == opp[:, None, :], axis=2)[..., None],
            (manhattan(target, opp[:, None, :]) == 1)[..., None],
            _one_hot_sector(opp[:, None, :] - target),
            _one_hot_sector(goal - target),
            (lead > 0)[..., None],
            (lead == 0)[..., None],
            (lead < 0)[..., None],
            np.all(target == me[:, None, :], axis=2)[..., None],
        ],
        axis=2,
    ).astype(np.float64)  # (S, A, 26)
    phi = np.concatenate(
        [
            np.broadcast_to(
                state_part[:, None, :], (num_states, num_a, state_part.shape[1])
            ),
            action_part,
        ],
        axis=2,
    )
    return np.ascontiguousarray(phi)


#: The 20 state concepts of :func:`paper_relational_features`, in order
#: (Viano, Freihaut et al., Appendix I.1): the sector from the player to the
#: opponent and to the goal (8 each), adjacency (one king's step, diagonals
#: included) to the opponent and to the goal, on the goal, in a corner.
PAPER_RELATIONAL_CONCEPTS: tuple[str, ...] = (
    *(f"opponent_{c}" for c in COMPASS),
    *(f"goal_{c}" for c in COMPASS),
    "opponent_adjacent",
    "goal_adjacent",
    "on_goal",
    "in_corner",
)

# Sector slot the published code gives each sign pattern (row as in _SECTOR):
# its rule "N = 0 or S = 4, then + 2 for east or + 6 for west, mod 8" sends
# NE and SW to the E slot (2) and SE and NW to the W slot (6).
_PUBLISHED_SECTOR = np.array(
    [
        [6, 0, 2],  # d_row < 0: NW -> W, N, NE -> E
        [6, -1, 2],  # d_row = 0: W, (same), E
        [2, 4, 6],  # d_row > 0: SW -> E, S, SE -> W
    ],
    dtype=np.int64,
)


def paper_relational_features(
    game_or_layout: TabularMarkovGame | GridworldLayout,
    player: int,
    *,
    sectors: Literal["published", "compass"] = "published",
) -> np.ndarray:
    """The paper's relational Gridworld map: 20 concepts tiled over the actions.

    Viano, Freihaut et al., "Multi-agent imitation learning with function
    approximation: linear Markov games and beyond", Appendix I.1 (relational
    features, ``d = 80`` for 4 actions): the 20 binary concepts of
    :data:`PAPER_RELATIONAL_CONCEPTS` are computed on the state only and
    copied into the block of the action, ``phi(s, a)[20 a + c] = concept_c(s)``
    (all other blocks zero), so ``theta`` holds one weight per (action,
    concept). Unlike :func:`relational_features` there is no bias and nothing
    about the action's effect.

    Directions are compass sectors of the offset ``target - player`` (row 0 at
    the top, so "N" is a smaller row), all zero for a zero offset (the goal
    directions when the player is on it). With ``sectors="published"`` (the
    default, as in ``state_action_feature_map_tiled_relational`` of the
    published code that produced the paper's figures) the diagonal sectors
    fold onto the straight ones: NE and SW light the ``E`` slot, SE and NW
    the ``W`` slot, so only the N, E, S, W slots are ever used.
    ``sectors="compass"`` gives each of the 8 sign patterns its own slot
    (:func:`compass_sector`), as the paper's text describes.

    Args:
        game_or_layout: A Gridworld model (layout recovered with
            :func:`gridworld_layout_of`) or a ``GridworldLayout``.
        player: 0 or 1; the opponent is the other player.
        sectors: ``"published"`` or ``"compass"`` (see above).

    Returns:
        ``(S, A, 20 A)`` float64 array of 0/1.

    Raises:
        ValueError: If ``player`` is not 0 or 1, ``sectors`` is unknown, or the
            game is not a Gridworld.

    Example:
        >>> from mail_envs.gridworld import PUBLISHED_STARTS, gridworld_layout
        >>> layout = gridworld_layout(3, starts=PUBLISHED_STARTS)
        >>> phi = paper_relational_features(layout, player=0)
        >>> phi.shape
        (72, 4, 80)
        >>> start = phi[layout.start_state, 1]  # action 1 (right): block 1
        >>> [PAPER_RELATIONAL_CONCEPTS[c] for c in np.flatnonzero(start) - 20]
        ['opponent_W', 'goal_E', 'opponent_adjacent']
    """
    if sectors not in ("published", "compass"):
        raise ValueError(f"sectors must be 'published' or 'compass', got {sectors!r}")
    layout = (
        gridworld_layout_of(game_or_layout)
        if isinstance(game_or_layout, TabularMarkovGame)
        else game_or_layout
    )
    player = _check_player(2, player)
    table = _PUBLISHED_SECTOR if sectors == "published" else _SECTOR
    size = layout.size
    goal = np.asarray(layout.goal, dtype=np.int64)
    pos = layout.positions(np.arange(layout.num_states))  # (S, 2, 2)
    me, opp = pos[:, player], pos[:, 1 - player]

    def sector_one_hot(delta: np.ndarray) -> np.ndarray:
        d = np.sign(delta)
        return table[d[:, 0] + 1, d[:, 1] + 1][:, None] == np.arange(8)

    def adjacent(delta: np.ndarray) -> np.ndarray:
        return (np.abs(delta).max(axis=1) == 1)[:, None]

    corner = (0, size - 1)
    concepts = np.concatenate(
        [
            sector_one_hot(opp - me),
            sector_one_hot(goal - me),
            adjacent(opp - me),
            adjacent(goal - me),
            np.all(me == goal, axis=1)[:, None],
            (np.isin(me[:, 0], corner) & np.isin(me[:, 1], corner))[:, None],
        ],
        axis=1,
    ).astype(np.float64)  # (S, 20)
    num_a = layout.num_actions
    # phi[s, a, b * 20 + c] = [a == b] * concepts[s, c]
    return np.einsum("ab,sc->sabc", np.eye(num_a), concepts).reshape(
        layout.num_states, num_a, num_a * concepts.shape[1]
    )


def deep_linear_features(head: PolicyHead, observations: np.ndarray) -> np.ndarray:
    """Deep-linear features ``phi(s, a) = e_a (x) [h(s), 1]`` of a trained head.

    For a head whose logits are ``W h(o) + b`` (:class:`~agents.policies.MLPPolicy`,
    :class:`~agents.policies.SmallCNNPolicy`,
    :class:`~agents.policies.ResidualSEPolicy`: ``embed`` then the linear
    ``output`` layer), the logits are exactly linear in these features:
    ``logits(o)[a] = theta^T phi(o, a)`` with ``theta = vec([W | b])`` (row
    ``a`` of ``[W | b]`` in block ``a``). The same block structure is the
    critic-feature form of the DQN exploration bonus (one ``(k+1) x (k+1)``
    block of ``Lambda`` per action).

    Args:
        head: A head with ``embed`` and a linear ``output`` layer.
        observations: ``(B, *obs_shape)`` observations.

    Returns:
        ``(B, A, A * (k + 1))`` float64 array, ``k`` the embedding width.

    Raises:
        TypeError: If ``head`` has no ``embed``/``output``.

    Example:
        >>> from agents.policies import MLPPolicy
        >>> head = MLPPolicy(observation_shape=(3,), num_actions=2, hidden_sizes=(4,), seed=0)
        >>> deep_linear_features(head, np.eye(3, dtype=np.float32)).shape
        (3, 2, 10)
    """
    embed = getattr(head, "embed", None)
    if not callable(embed) or not isinstance(
        getattr(head, "output", None), torch.nn.Linear
    ):
        raise TypeError(
            f"{type(head).__name__} has no embed() and linear output layer; "
            "use MLPPolicy, SmallCNNPolicy or ResidualSEPolicy"
        )
    head.eval()
    device = head.device
    with torch.inference_mode():
        obs = torch.as_tensor(np.array(observations), device=device).float()
        h = embed(obs).double().cpu().numpy()  # (B, k)
    h1 = np.concatenate([h, np.ones((len(h), 1))], axis=1)  # (B, k + 1)
    num_a = head.num_actions
    eye = np.eye(num_a)
    # phi[b, a, c * (k + 1) + j] = [a == c] * h1[b, j]
    return np.einsum("ac,bk->back", eye, h1).reshape(len(h1), num_a, -1)


def gridworld_board_observations(
    game_or_layout: TabularMarkovGame | GridworldLayout,
) -> np.ndarray:
    """The grid of every Gridworld state: 1 on player_0's cell, 2 on player_1's.

    The input of the paper's deep-linear policy (the published code's
    ``array_state_representation``, one ``size x size`` plane, the same for
    both players). Unlike one-hot state indices it lets a network generalize
    from the states of a dataset to the others.

    Args:
        game_or_layout: A Gridworld model or its ``GridworldLayout``.

    Returns:
        ``(S, size, size)`` float32 array.

    Example:
        >>> from mail_envs.gridworld import PUBLISHED_STARTS, gridworld_layout
        >>> layout = gridworld_layout(3, starts=PUBLISHED_STARTS)
        >>> gridworld_board_observations(layout)[layout.start_state].tolist()
        [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """
    layout = (
        gridworld_layout_of(game_or_layout)
        if isinstance(game_or_layout, TabularMarkovGame)
        else game_or_layout
    )
    c0, c1 = layout.cells(np.arange(layout.num_states))
    board = np.zeros((layout.num_states, layout.num_cells), dtype=np.float32)
    rows = np.arange(layout.num_states)
    board[rows, c0] = 1.0
    board[rows, c1] = 2.0
    return board.reshape(layout.num_states, layout.size, layout.size)


def deep_linear_head(
    observation_shape: tuple[int, ...] | list[int],
    num_actions: int,
    *,
    width: int = 12,
    seed: int | None = None,
) -> MLPPolicy:
    """The paper's "deep linear" policy: linear layers with layer norms, no activation.

    ``flatten(o) -> Linear(width) -> LayerNorm -> Linear(width // 2) ->
    LayerNorm`` is ``embed`` (``h``), then a linear ``output`` layer gives the
    logits (Viano, Freihaut et al., Appendix I.1; the published code's
    ``LinearPolicy`` with ``hidden_dim=12``: 9 -> 12 -> 6 -> 4 on the 3x3
    board, 262 parameters): an :class:`~agents.policies.MLPPolicy` with
    ``activation="identity"`` and ``layer_norm=True``.

    Args:
        observation_shape: Shape of one observation (flattened on input).
        num_actions: Number of actions.
        width: Width of the first hidden layer (the second is ``width // 2``).
        seed: Seed of the parameter initialization (None: global torch RNG).

    Raises:
        ValueError: If ``width`` is not an int >= 2.

    Example:
        >>> head = deep_linear_head((3, 3), 4, seed=0)
        >>> sum(p.numel() for p in head.parameters())
        262
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < 2:
        raise ValueError(f"width must be an int >= 2, got {width!r}")
    return MLPPolicy(
        observation_shape,
        num_actions,
        hidden_sizes=(width, width // 2),
        activation="identity",
        layer_norm=True,
        seed=seed,
    )


@dataclass(frozen=True)
class DeepLinearFeatures:
    """A learned deep-linear feature map and how it was fitted.

    Attributes:
        features: ``(S, A, A * (k + 1))`` array ``phi(s, a) = e_a (x) [h(s), 1]``.
        theta: ``(A * (k + 1),)`` parameters with ``theta^T phi(s, a)`` equal to
            the fitted head's logits (the BC policy is linear in ``phi``).
        head: The fitted head (``h`` = its ``embed``).
        metrics: The behaviour-cloning metrics of the fit.
    """

    features: np.ndarray
    theta: np.ndarray
    head: PolicyHead
    metrics: BCMetrics


def fit_deep_linear_features(
    game: TabularMarkovGame,
    player: int,
    states: np.ndarray,
    actions: np.ndarray,
    *,
    rng: np.random.Generator | int,
    observations: np.ndarray | None = None,
    head: PolicyHead | None = None,
    device: str | torch.device = "auto",
    trainer_kwargs: dict[str, Any] | None = None,
) -> DeepLinearFeatures:
    """Learn ``h`` by BC on a dataset and return ``phi(s, a) = e_a (x) [h(s), 1]``.

    The head (default :func:`deep_linear_head`, the paper's deep-linear
    policy) is trained by cross-entropy on the dataset's ``(state, expert
    action)`` pairs only — the data a BC learner has —, and its last hidden
    layer becomes the representation ``h``: the deep-linear map of Viano,
    Freihaut et al. ("beyond linear" features learned from the data). Nothing
    about the expert outside the dataset reaches the map; features are then
    evaluated on every state.

    Args:
        game: The model (any :class:`TabularMarkovGame`).
        player: Player index.
        states: ``(N,)`` state indices of the dataset (repeats allowed).
        actions: ``(N,)`` the expert's actions in them (hard labels).
        rng: Generator or seed (parameter init and the BC shuffling).
        observations: ``(S, ...)`` observation of every state for the head
            (default ``game.all_observations(player)``, the one-hot states;
            for the Gridworld the paper uses
            :func:`gridworld_board_observations`).
        head: An untrained head with ``embed`` and a linear ``output`` layer
            (default: ``deep_linear_head`` seeded from ``rng``).
        device: ``"auto"`` (CUDA when available) or a torch device.
        trainer_kwargs: Extra keywords for :class:`~agents.bc.BCTrainer`
            (default: ``max_epochs=500``, ``validation_fraction=0``,
            ``batch_size=64``, ``optimizer_kwargs={"lr": 3e-3}``, no progress bar).

    Returns:
        The :class:`DeepLinearFeatures`.

    Raises:
        ValueError: If ``states`` and ``actions`` are not equal-length non-empty
            1-D arrays of states in ``[0, S)`` and legal actions, or
            ``observations`` has not one row per state.
    """
    player = _check_player(game.num_players, player)
    idx = np.asarray(states)
    acts = np.asarray(actions)
    if (
        idx.ndim != 1
        or idx.size == 0
        or acts.shape != idx.shape
        or not np.issubdtype(idx.dtype, np.integer)
        or not np.issubdtype(acts.dtype, np.integer)
        or np.any((idx < 0) | (idx >= game.num_states))
    ):
        raise ValueError(
            f"states must be a non-empty 1-D array of indices in [0, {game.num_states}) "
            f"with one integer action each, got states {states!r} and actions "
            f"{actions!r}"
        )
    mask = game.legal_masks[player]
    if np.any((acts < 0) | (acts >= mask.shape[1])) or not np.all(mask[idx, acts]):
        raise ValueError(f"actions must be legal in their states, got {actions!r}")
    obs = game.all_observations(player) if observations is None else observations
    obs = np.asarray(obs, dtype=np.float32)
    if obs.shape[0] != game.num_states:
        raise ValueError(
            f"observations must have one row per state ({game.num_states}), "
            f"got shape {obs.shape}"
        )
    generator = (
        rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    )
    if head is None:
        head = deep_linear_head(
            obs.shape[1:],
            game.num_actions[player],
            seed=int(generator.integers(2**31)),
        )
    kwargs: dict[str, Any] = {
        "max_epochs": 500,
        "validation_fraction": 0.0,
        "batch_size": 64,
        "optimizer_kwargs": {"lr": 3e-3},
        "progress_bar": False,
        **(trainer_kwargs or {}),
    }
    trainer = BCTrainer(
        policy=head, rng=generator, device=resolve_device(device), **kwargs
    )
    metrics = trainer.train(obs[idx], mask[idx], acts.astype(np.int64))
    features = deep_linear_features(head, obs)
    output = head.output
    if not isinstance(output, torch.nn.Linear):
        raise TypeError(f"head.output must be a torch.nn.Linear, got {output!r}")
    weight = output.weight.detach().double().cpu().numpy()
    bias = output.bias.detach().double().cpu().numpy()
    theta = np.concatenate([weight, bias[:, None]], axis=1).reshape(-1)
    return DeepLinearFeatures(
        features=features, theta=theta, head=head, metrics=metrics
    )
