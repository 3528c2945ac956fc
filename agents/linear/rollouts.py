"""Episodes on a game's model and the expert labels they give.

The interactive MAIL algorithms of Viano, Freihaut et al. ("Multi-agent
imitation learning with function approximation: linear Markov games and
beyond") all share one loop: for a learning player ``i``, one other player
(the *explorer*) chooses actions by some rule while every other player follows
the expert; the expert's action of each labelled player is recorded in every
visited state; behaviour cloning (BC) on those labels gives player ``i``'s
policy. This module holds the sampling and labelling every model-based variant
shares, for games whose model (:class:`~mail_envs.core.TabularMarkovGame`) is
available:

* :func:`rollout` samples episodes of a fixed profile on the model, vectorized
  over episodes (one numpy step per time step ``h``, never a loop over
  episodes or states);
* :func:`collect_labels` turns :class:`Trajectories` into one player's
  :class:`~mail_wrappers.recorder.ExpertLabelDataset`, whose observations are
  the labelled states' indices;
* :func:`check_expert_policies` / :func:`check_features` validate expert
  tables and feature maps.

BC itself is :mod:`agents.linear.softmax`; the fixed-explorer baselines are
:mod:`agents.linear.baselines` and LSVI-UCB-ZERO-BC is
:mod:`agents.linear.lsvi_ucb_zero`.

Episodes are sampled on the model rather than by stepping the PettingZoo env:
the model gives the same transitions (a test of ``mail_envs`` ties the two
views together) at a fraction of the cost. An episode lasts ``horizon`` steps
or ends early in a terminal state.

A state is labelled for player ``j`` (one expert query) when ``j`` has at least
two legal actions there; in turn-based games the player not to move (a single
no-op) is never queried.

Example:
    >>> import numpy as np
    >>> from mail_envs.core import TabularMarkovGame
    >>> game = TabularMarkovGame(
    ...     num_actions=(2, 2),
    ...     next_states=np.array([[[0], [1], [1], [0]], [[1], [1], [1], [1]]]),
    ...     next_probs=np.ones((2, 4, 1)),
    ...     rewards=np.zeros((2, 2, 4)),
    ...     legal_masks=(np.ones((2, 2), bool), np.ones((2, 2), bool)),
    ...     initial_distribution=np.array([1.0, 0.0]),
    ...     gamma=0.9,
    ... )
    >>> expert = (np.array([[1.0, 0.0], [0.0, 1.0]]), game.uniform_policy(1))
    >>> traj = rollout(game, expert, num_episodes=3, horizon=4,
    ...                rng=np.random.default_rng(0))
    >>> traj.num_steps
    12
    >>> labels = collect_labels(game, traj, expert, 0)
    >>> labels.num_queries, labels.metadata["agents"], labels.observations.dtype
    (12, ['player_0'], dtype('int64'))
    >>> bool(np.all(labels.expert_actions == labels.observations))
    True
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mail_envs.core import TabularMarkovGame
from mail_wrappers.recorder import ExpertLabelDataset, ExpertLabelRecorder

__all__ = [
    "Trajectories",
    "check_expert_policies",
    "check_features",
    "collect_labels",
    "default_explorer",
    "draw_from_row",
    "expert_rows",
    "label_metadata",
    "rollout",
    "sample_categorical",
    "sample_next_states",
    "step_with_experts",
    "terminal_mask",
]

#: Game id recorded in labels collected without one.
UNKNOWN_GAME_ID = "tabular-model"


# ---------------------------------------------------------------- containers
@dataclass(frozen=True)
class Trajectories:
    """Episodes sampled on a model, stored as arrays.

    Attributes:
        states: ``(K, H + 1)`` state of every episode at every step (after an
            episode ends in a terminal state the state stays there).
        actions: ``(n, K, H)`` action of every player; ``-1`` where the
            episode had already ended.
        alive: ``(K, H)`` whether step ``h`` of episode ``k`` was played
            (its state was not terminal).
    """

    states: np.ndarray
    actions: np.ndarray
    alive: np.ndarray

    @property
    def num_episodes(self) -> int:
        """Number of episodes ``K``."""
        return int(self.states.shape[0])

    @property
    def horizon(self) -> int:
        """Steps per episode ``H``."""
        return int(self.alive.shape[1])

    @property
    def num_steps(self) -> int:
        """Number of steps played over all episodes."""
        return int(self.alive.sum())


# ---------------------------------------------------------------- validation
def check_expert_policies(
    game: TabularMarkovGame, expert_policies: Sequence[np.ndarray]
) -> tuple[np.ndarray, ...]:
    """Validate expert tables: ``(S, A_i)`` or time-indexed ``(T, S, A_i)``.

    Args:
        game: The game.
        expert_policies: One table per player.

    Returns:
        Validated float64 tables (rows are distributions over legal actions;
        a state with one legal action gets that action).

    Raises:
        ValueError: If the count, a shape or a row is wrong; the message names
            the player.
    """
    if len(expert_policies) != game.num_players:
        raise ValueError(
            f"expert_policies must hold one table per player ({game.num_players}), "
            f"got {len(expert_policies)}"
        )
    out = []
    for i, table in enumerate(expert_policies):
        t = np.asarray(table, dtype=np.float64)
        # policy_table validates shape, legality and sums, and sets the rows of
        # states with a single legal action (turn-based no-ops) to that action.
        if t.ndim == 2:
            t = game.policy_table(i, t)
        elif t.ndim == 3:
            t = np.stack([game.policy_table(i, t[h]) for h in range(t.shape[0])])
        else:
            raise ValueError(
                f"expert policy of player {i} must have shape (S, A_i) or "
                f"(T, S, A_i), got {t.shape}"
            )
        out.append(t)
    return tuple(out)


def check_features(
    game: TabularMarkovGame, player: int, features: np.ndarray
) -> np.ndarray:
    """Validate a feature map ``phi(s, a)`` of ``player``: ``(S, A_i, d)``.

    Args:
        game: The game.
        player: Whose actions the features describe.
        features: The feature array.

    Returns:
        The features as a float64 array.

    Raises:
        ValueError: If the shape is wrong or an entry is not finite.
    """
    f = np.asarray(features, dtype=np.float64)
    expected = (game.num_states, game.num_actions[player])
    if f.ndim != 3 or f.shape[:2] != expected:
        raise ValueError(
            f"features of player {player} must have shape {(*expected, 'd')}, "
            f"got {f.shape}"
        )
    if not np.all(np.isfinite(f)):
        raise ValueError(f"features of player {player} contain non-finite values")
    return f


def terminal_mask(game: TabularMarkovGame) -> np.ndarray:
    """The game's ``(S,)`` terminal-state mask (all False when it has none)."""
    if game.terminal is None:
        return np.zeros(game.num_states, dtype=bool)
    return game.terminal


def expert_rows(table: np.ndarray, step: int, states: np.ndarray) -> np.ndarray:
    """Rows of an (optionally time-indexed) policy table at ``step``."""
    if table.ndim == 3:
        return table[min(step, table.shape[0] - 1), states]
    return table[states]


# ------------------------------------------------------------------ sampling
def sample_categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sample one index per row of ``probs`` (inverse CDF, vectorized).

    Zero-probability entries are never drawn: the CDF is normalized by its
    last entry and the uniform draw lies in ``(0, 1]``.

    Args:
        probs: ``(B, A)`` non-negative rows with positive sums.
        rng: Random generator.

    Returns:
        ``(B,)`` int64 sampled indices.
    """
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = 1.0 - np.asarray(rng.random(probs.shape[0]))
    return (cdf < u[:, None]).sum(axis=1).astype(np.int64)


def sample_next_states(
    game: TabularMarkovGame,
    states: np.ndarray,
    joint: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sample successors of ``(states, joint actions)`` from the sparse model."""
    if game.next_states.shape[2] == 1:
        return game.next_states[states, joint, 0]
    k = sample_categorical(game.next_probs[states, joint], rng)
    return game.next_states[states, joint, k]


def draw_from_row(row: Sequence[float], uniform: float) -> int:
    """One inverse-CDF draw from a single row, bit-identical to :func:`sample_categorical`.

    The same arithmetic in Python floats (IEEE double, like numpy's float64):
    the running sum is accumulated left to right as :func:`numpy.cumsum`
    does, every entry is divided by the last, and the drawn index is the
    number of entries below ``uniform``. A row whose sum is 0 (or NaN) gives
    index 0, as the NaN CDF does in :func:`sample_categorical`. For the rows
    of one state-action pair this avoids numpy's per-call overhead, which
    dominates single-row draws.

    Args:
        row: Non-negative probabilities (a list, or any sequence of floats).
        uniform: The draw ``u`` in ``(0, 1]`` (``1 - rng.random()``).

    Returns:
        The sampled index.

    Example:
        >>> draw_from_row([0.25, 0.0, 0.75], 0.5)
        2
    """
    cdf = list(itertools.accumulate(row))
    last = cdf[-1]
    if last == 0.0 or last != last:
        return 0
    return sum(1 for c in cdf if c / last < uniform)


def step_with_experts(
    game: TabularMarkovGame,
    experts: Sequence[np.ndarray],
    actions: np.ndarray,
    explorer: int,
    state: int,
    step: int,
    rng: np.random.Generator,
) -> int:
    """One move of an exploration episode in which the other seats follow their experts.

    ``actions[explorer]`` holds the explorer's move; every other seat ``j``
    (in seat order) draws its expert's move at ``(step, state)`` into
    ``actions[j]``, then the successor is sampled from the model. The
    episode loops of :class:`~agents.linear.lsvi_ucb_zero.LSVIUCBZero` and
    its discounted version share it (the same draws, in the same order).

    The draws are those of :func:`sample_categorical` on the one row (one
    ``rng.random()`` per expert seat, and one for the successor when the
    model has several), done in Python scalars by :func:`draw_from_row`:
    bit-identical results at a fraction of the per-call cost.

    Args:
        game: The game.
        experts: Expert tables of every seat, ``(S, A_j)`` or ``(T, S, A_j)``.
        actions: ``(n,)`` integer array, written in place (a view is fine).
        explorer: The exploring seat (its entry is kept).
        state: The current state.
        step: The step within the episode (for time-indexed tables).
        rng: Random generator.

    Returns:
        The next state.
    """
    num_actions = game.num_actions
    joint = 0
    for j, count in enumerate(num_actions):
        if j != explorer:
            table = experts[j]
            row = (
                table[min(step, table.shape[0] - 1), state]
                if table.ndim == 3
                else table[state]
            )
            actions[j] = draw_from_row(row.tolist(), 1.0 - rng.random())
        a = int(actions[j])
        if not 0 <= a < count:
            raise ValueError(f"action {a} of player {j} not in [0, {count})")
        joint = joint * count + a
    successors = game.next_states
    if successors.shape[2] == 1:
        return int(successors[state, joint, 0])
    k = draw_from_row(game.next_probs[state, joint].tolist(), 1.0 - rng.random())
    return int(successors[state, joint, k])


def rollout(
    game: TabularMarkovGame,
    policies: Sequence[np.ndarray],
    *,
    num_episodes: int,
    horizon: int,
    rng: np.random.Generator,
) -> Trajectories:
    """Sample episodes of a fixed profile on the model, all episodes at once.

    Args:
        game: The game.
        policies: One table per player, ``(S, A_i)`` or ``(T, S, A_i)``.
        num_episodes: Number of episodes ``K``.
        horizon: Steps per episode ``H``.
        rng: Random generator.

    Returns:
        The :class:`Trajectories`.
    """
    n = game.num_players
    states = np.empty((num_episodes, horizon + 1), dtype=np.int64)
    actions = np.full((n, num_episodes, horizon), -1, dtype=np.int64)
    alive = np.zeros((num_episodes, horizon), dtype=bool)
    s = sample_categorical(
        np.broadcast_to(game.initial_distribution, (num_episodes, game.num_states)),
        rng,
    )
    live = np.ones(num_episodes, dtype=bool)
    terminal = terminal_mask(game)
    for h in range(horizon):
        states[:, h] = s
        live &= ~terminal[s]
        alive[:, h] = live
        a = np.stack([sample_categorical(expert_rows(p, h, s), rng) for p in policies])
        joint = np.ravel_multi_index(tuple(a), game.num_actions)
        nxt = sample_next_states(game, s, joint, rng)
        actions[:, live, h] = a[:, live]
        s = np.where(live, nxt, s)
    states[:, horizon] = s
    return Trajectories(states=states, actions=actions, alive=alive)


def label_metadata(
    *,
    agent: str,
    num_rows: int,
    game_id: str = UNKNOWN_GAME_ID,
    expert: str = "expert",
    seed: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The metadata block of one player's labels, as the recorder writes it.

    The keys and format are those of
    :meth:`mail_wrappers.recorder.ExpertLabelRecorder.metadata` (so the
    dataset passes :func:`~mail_wrappers.recorder.save_expert_labels`), with
    ``agents=[agent]`` and ``num_rows`` filled in.

    Example:
        >>> meta = label_metadata(agent="player_0", num_rows=3, seed=0)
        >>> meta["agents"], meta["num_rows"], meta["format_version"]
        (['player_0'], 3, 1)
    """
    meta = ExpertLabelRecorder(
        game_id=game_id, expert=expert, seed=seed, extra=dict(extra or {})
    ).metadata()
    meta["agents"] = [str(agent)]
    meta["num_rows"] = int(num_rows)
    return meta


def collect_labels(
    game: TabularMarkovGame,
    trajectories: Trajectories,
    expert_policies: Sequence[np.ndarray],
    player: int,
    *,
    agent: str | None = None,
    game_id: str = UNKNOWN_GAME_ID,
    expert: str = "expert",
    seed: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ExpertLabelDataset:
    """The expert labels of ``player`` in the trajectories' visited states.

    Every played step in which ``player`` has at least two legal actions is
    one query; the label is the action the player played (drawn from the
    expert, which it followed) and the expert's distribution.

    Args:
        game: The game.
        trajectories: Episodes in which ``player`` followed the expert.
        expert_policies: The (validated, see :func:`check_expert_policies`)
            expert tables the episodes were played with.
        player: The labelled player.
        agent: The player's name (default ``game.player_names[player]``).
        game_id: The game's id, for the metadata.
        expert: The expert's name, for the metadata.
        seed: The run's seed, for the metadata.
        extra: More JSON-serialisable metadata.

    Returns:
        The :class:`~mail_wrappers.recorder.ExpertLabelDataset` of ``player``,
        in (episode, step) order: ``observations`` are the ``(N,)`` int64
        state indices, ``agents`` all 0 (``metadata["agents"] == [agent]``),
        ``episodes`` and ``steps`` locate each query.
    """
    mask = game.legal_masks[player]
    s = trajectories.states[:, :-1]
    chooses = mask.sum(axis=1) >= 2
    keep = trajectories.alive & chooses[s]
    episodes, steps = np.nonzero(keep)
    states = s[episodes, steps].astype(np.int64)
    table = expert_policies[player]
    if table.ndim == 3:
        probs = table[np.minimum(steps, table.shape[0] - 1), states]
    else:
        probs = table[states]
    return ExpertLabelDataset(
        observations=states,
        action_masks=np.array(mask[states], dtype=bool),
        expert_actions=trajectories.actions[player][episodes, steps].astype(np.int64),
        expert_probs=np.array(probs, dtype=np.float64),
        agents=np.zeros(states.shape[0], dtype=np.int64),
        episodes=episodes.astype(np.int64),
        steps=steps.astype(np.int64),
        metadata=label_metadata(
            agent=game.player_names[player] if agent is None else agent,
            num_rows=int(states.shape[0]),
            game_id=game_id,
            expert=expert,
            seed=seed,
            extra=extra,
        ),
    )


def default_explorer(player: int, num_players: int) -> int:
    """The explorer paired with a learning player: the next player, cyclically."""
    return (player + 1) % num_players
