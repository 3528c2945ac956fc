"""A policy table of a tabular game as a batched policy on env observations.

Solvers return policies as ``(S, A_i)`` tables; envs give observations.
:class:`TablePolicy` joins them: it finds the state of each observation in a
batch and returns that state's row, so a Nash policy from the model can play
in the env (e.g. as the frozen opponent of
:class:`~mail_wrappers.frozen_opponent.FrozenOpponentWrapper`).

### Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mail_envs.core import TabularMarkovGame

__all__ = ["StateIndex", "TablePolicy"]


class StateIndex:
    """Which state of a tabular game an env observation is.

    With the game's default one-hot observations (``observations=None``) a
    state is the ``argmax`` of its observation; otherwise an exact lookup
    among every state's observation, the first state on a tie (the
    :attr:`duplicates`).

    Args:
        num_states: ``S``.
        observations: ``(S, D)`` flattened observation of every state, or None.

    Raises:
        ValueError: If ``observations`` is not ``(S, D)``.

    Example:
        >>> index = StateIndex(3, np.array([[0.0], [1.0], [1.0]]))
        >>> index.states(np.array([[1.0], [0.0]])).tolist(), index.duplicates
        ([1, 0], [(1, 2)])
    """

    def __init__(self, num_states: int, observations: np.ndarray | None = None) -> None:
        self.num_states = int(num_states)
        #: ``(first, s)`` pairs of states with the same observation.
        self.duplicates: list[tuple[int, int]] = []
        self._lookup: dict[bytes, int] | None = None
        if observations is not None:
            obs = np.asarray(observations, dtype=np.float64)
            if obs.ndim != 2 or obs.shape[0] != self.num_states:
                raise ValueError(
                    f"observations must be (S={self.num_states}, D), got shape {obs.shape}"
                )
            lookup: dict[bytes, int] = {}
            for s, row in enumerate(obs):
                first = lookup.setdefault(row.tobytes(), s)
                if first != s:
                    self.duplicates.append((first, s))
            self._lookup = lookup

    def states(self, observations: np.ndarray) -> np.ndarray:
        """State index of each observation in a batch.

        Raises:
            ValueError: If an observation is not one of the game's.
        """
        obs = np.asarray(observations, dtype=np.float64)
        flat = obs.reshape(obs.shape[0], -1)
        if self._lookup is None:
            if flat.shape[1] != self.num_states or np.any(flat.sum(axis=1) != 1.0):
                raise ValueError(
                    f"expected one-hot observations of length {self.num_states}, "
                    f"got shape {obs.shape}"
                )
            return np.argmax(flat, axis=1)
        out = np.empty(flat.shape[0], dtype=np.int64)
        for i, row in enumerate(flat):  # one dict lookup per observation
            s = self._lookup.get(row.tobytes())
            if s is None:
                raise ValueError(
                    f"observation {i} of the batch is not a state of the game"
                )
            out[i] = s
        return out


class TablePolicy:
    """``(S, A_i)`` policy table of ``game`` as a :class:`~mail_envs.core.BatchedPolicy`.

    States are found from observations: with the game's default one-hot
    observations by ``argmax`` (vectorized); otherwise by an exact lookup of
    the observation's values among ``game.all_observations(player)``.

    A finite-horizon game's equilibrium is non-stationary, ``(H, S, A_i)``;
    then ``step_source()`` must give the current decision step ``h`` (e.g.
    ``lambda: env.unwrapped.num_steps``) and row ``table[h, state]`` is played
    (the last layer for ``h >= H``).

    Args:
        game: The model.
        player: Player index whose policy the table is.
        table: ``(S, A_i)`` or ``(H, S, A_i)`` table (each layer validated by
            ``game.policy_table``).
        step_source: Callable returning the current step; required exactly
            when ``table`` is 3-D.

    Raises:
        ValueError: If the table is invalid, ``step_source`` is missing (or
            given for a 2-D table), or two states share an observation but not
            a table row (the table is then not a function of the observation).

    Example:
        >>> import numpy as np
        >>> from mail_envs.core import TabularMarkovGame
        >>> game = TabularMarkovGame(
        ...     num_actions=(2,), next_states=np.zeros((2, 2), int),
        ...     next_probs=np.ones((2, 2)), rewards=np.zeros((1, 2, 2)),
        ...     legal_masks=(np.ones((2, 2), bool),),
        ...     initial_distribution=np.array([1.0, 0.0]), gamma=0.5)
        >>> policy = TablePolicy(game, 0, np.array([[1.0, 0.0], [0.5, 0.5]]))
        >>> policy(np.eye(2, dtype=np.float32)[[1]], np.ones((1, 2), bool)).tolist()
        [[0.5, 0.5]]
    """

    def __init__(
        self,
        game: TabularMarkovGame,
        player: int,
        table: np.ndarray,
        *,
        step_source: Callable[[], int] | None = None,
    ) -> None:
        self.game = game
        self.player = int(player)
        raw = np.asarray(table, dtype=np.float64)
        if raw.ndim == 3:
            if step_source is None:
                raise ValueError(
                    f"a non-stationary table of shape {raw.shape} needs step_source"
                )
            layers = np.stack([game.policy_table(self.player, t) for t in raw])
        else:
            if step_source is not None:
                raise ValueError("step_source is only for (H, S, A) tables")
            layers = game.policy_table(self.player, raw)[None]
        self.step_source = step_source
        self.layers = layers
        self.layers.setflags(write=False)
        #: The stationary ``(S, A_i)`` table (the first layer if non-stationary).
        self.table = layers[0]
        observations = None
        if game.observations is not None:
            obs = np.asarray(game.all_observations(self.player), dtype=np.float64)
            observations = obs.reshape(obs.shape[0], -1)
        #: Finds each observation's state (:class:`StateIndex`).
        self.index = StateIndex(game.num_states, observations)
        for first, s in self.index.duplicates:
            if not np.allclose(layers[:, first], layers[:, s]):
                raise ValueError(
                    f"states {first} and {s} share an observation but the table "
                    "gives them different rows; the policy is not a function of "
                    "the observation"
                )

    def states(self, observations: np.ndarray) -> np.ndarray:
        """State index of each observation in a batch (see :class:`StateIndex`)."""
        return self.index.states(observations)

    def __call__(
        self, observations: np.ndarray, action_masks: np.ndarray
    ) -> np.ndarray:
        """Table rows of the observed states, ``(B, A_i)``."""
        layer = 0
        if self.step_source is not None:
            layer = min(int(self.step_source()), self.layers.shape[0] - 1)
        return self.layers[layer][self.states(observations)]

    def __repr__(self) -> str:
        return f"TablePolicy(game={self.game.name!r}, player={self.player})"
