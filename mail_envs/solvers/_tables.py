"""Shared array plumbing of the solvers: policy tables, joint policies, transitions.

Private to :mod:`mail_envs.solvers`; every function is vectorized over states.

Finite-horizon solvers read a game through its :class:`GameSupport` (built once
per game and cached): the legal ``(state, joint action)`` pairs only, i.e. the
joint actions of non-terminal states whose every component is legal for its
player. Turn-based games give the player not to move the single no-op, so this
is a small fraction of all ``S * A_joint`` pairs (17,125 of 443,718 in
Tic-Tac-Toe).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from mail_envs.core import BatchedPolicy, TabularMarkovGame

#: Up to this many states, linear systems are solved densely (LAPACK).
DENSE_MAX_STATES = 200
#: A step's reachable layer is used if it holds at most this fraction of the
#: legal pairs (else the full layer, a superset, is cheaper to keep).
LAYER_MAX_FRACTION = 0.5
#: Cap on the pairs of all reachable layers of a game, in legal pairs.
LAYER_BUDGET = 4

PolicyLike = BatchedPolicy | np.ndarray


def policy_tables(
    game: TabularMarkovGame, policies: Sequence[PolicyLike]
) -> tuple[np.ndarray, ...]:
    """Validate a profile and turn it into one float64 table per player.

    Args:
        game: The game.
        policies: One policy per player: an ``(S, A_i)`` table, an ``(H, S, A_i)``
            table when the game has a horizon, or a batched callable.

    Returns:
        ``(S, A_i)`` tables, or ``(H, S, A_i)`` ones for players whose policy is
        non-stationary. They are exactly 0 on illegal actions: the little mass
        there that :meth:`~mail_envs.core.TabularMarkovGame.policy_table`
        tolerates (at most ``1e-9`` per row) is dropped and the row renormalized,
        so that illegal actions are never played by any solver.

    Raises:
        TypeError: If ``policies`` is not a sequence.
        ValueError: If the number of policies, a table's shape or its entries are
            wrong (the message names the player, step and state).
    """
    if isinstance(policies, np.ndarray) or not isinstance(policies, Sequence):
        raise TypeError(
            "policies must be a sequence with one policy per player, got "
            f"{type(policies).__name__}"
        )
    if len(policies) != game.num_players:
        raise ValueError(
            f"expected {game.num_players} policies (one per player), got {len(policies)}"
        )
    tables = []
    for player, policy in enumerate(policies):
        if callable(policy):
            tables.append(game.policy_table(player, policy))
            continue
        arr = np.asarray(policy, dtype=np.float64)
        if arr.ndim == 3:
            if game.horizon is None:
                raise ValueError(
                    f"policy of player {player} has shape {arr.shape}: a non-stationary "
                    "(H, S, A_i) table needs a finite-horizon game"
                )
            if arr.shape[0] != game.horizon:
                raise ValueError(
                    f"policy of player {player} has {arr.shape[0]} steps, the game's "
                    f"horizon is {game.horizon}"
                )
            steps = []
            for h, table in enumerate(arr):
                try:
                    steps.append(game.policy_table(player, table))
                except ValueError as exc:
                    raise ValueError(f"step {h}: {exc}") from exc
            tables.append(np.stack(steps))
        else:
            tables.append(game.policy_table(player, arr))
    return tuple(
        _drop_illegal_mass(table, mask)
        for table, mask in zip(tables, game.legal_masks, strict=True)
    )


def _drop_illegal_mass(table: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Zero a validated table on illegal actions and renormalize those rows."""
    if not np.where(mask, 0.0, table).any():
        return table
    table = np.where(mask, table, 0.0)
    return table / table.sum(axis=-1, keepdims=True)


def joint_policy(tables: Sequence[np.ndarray]) -> np.ndarray:
    """Product policy over joint actions (row-major, like the game's arrays).

    Args:
        tables: Per-player ``(..., S, A_i)`` tables with broadcastable leading
            dimensions.

    Returns:
        ``(..., S, A_joint)`` probabilities ``prod_i pi_i(s, a_i)``.
    """
    out = tables[0]
    for table in tables[1:]:
        lead = np.broadcast_shapes(out.shape[:-1], table.shape[:-1])
        out = (out[..., :, None] * table[..., None, :]).reshape(*lead, -1)
    return out


def others_weights(
    game: TabularMarkovGame, tables: Sequence[np.ndarray], player: int
) -> np.ndarray:
    """``prod_{j != i} pi_j(s, a_j)`` for every joint action (player ``i`` free).

    Returns:
        ``(..., S, A_joint)`` weights; summing them over the joint actions that
        share ``a_i`` gives 1.
    """
    free = [
        np.ones((1, n_i)) if j == player else table
        for j, (table, n_i) in enumerate(zip(tables, game.num_actions, strict=True))
    ]
    out = joint_policy(free)
    if out.shape[-2] != game.num_states:
        # A single-player game has no "others": the weights are all ones.
        out = np.repeat(out, game.num_states, axis=-2)
    return out


def action_indicator(game: TabularMarkovGame, player: int) -> np.ndarray:
    """``(A_joint, A_i)`` one-hot matrix mapping a joint action to ``a_i``."""
    components = np.unravel_index(np.arange(game.num_joint_actions), game.num_actions)
    return np.eye(game.num_actions[player])[components[player]]


def expected_next(game: TabularMarkovGame, values: np.ndarray) -> np.ndarray:
    """``sum_k p(s, a, k) V[next_states[s, a, k]]`` for every ``(s, a)``.

    Args:
        game: The game.
        values: ``(..., S)`` values.

    Returns:
        ``(..., S, A_joint)`` expected next-state values.
    """
    return (values[..., game.next_states] * game.next_probs).sum(axis=-1)


def transition_matrix(
    game: TabularMarkovGame,
    weights: np.ndarray,
    rows: np.ndarray | None = None,
    num_rows: int | None = None,
) -> sp.csr_matrix:
    """Sparse matrix ``P[r, s'] = sum_{(s, a) -> r} sum_k w[s, a] p(s, a, k)``.

    Joint actions with weight 0 are dropped, so the matrix only holds the
    transitions a policy can take.

    Args:
        game: The game.
        weights: ``(S, A_joint)`` weight of every joint action in every state.
        rows: Optional ``(S, A_joint)`` output row of every ``(s, a)``; default
            the state ``s`` itself (so ``P`` is the chain of a joint policy).
        num_rows: Number of rows (default ``S``).

    Returns:
        A ``(num_rows, S)`` CSR matrix.
    """
    num_states, num_joint = weights.shape
    k = game.next_states.shape[2]
    if rows is None:
        rows = np.broadcast_to(np.arange(num_states)[:, None], (num_states, num_joint))
    data = (weights[:, :, None] * game.next_probs).ravel()
    keep = np.flatnonzero(data)
    row_idx = np.repeat(rows.ravel(), k)[keep]
    return sp.csr_matrix(
        (data[keep], (row_idx, game.next_states.ravel()[keep])),
        shape=(num_states if num_rows is None else num_rows, num_states),
    )


def player_mdp(
    game: TabularMarkovGame, weights: np.ndarray, player: int
) -> tuple[np.ndarray, sp.csr_matrix]:
    """The MDP the others' fixed policies leave to ``player``.

    Args:
        game: The game.
        weights: ``(S, A_joint)`` others' weights (:func:`others_weights`).
        player: The acting player.

    Returns:
        Rewards ``(S, A_i)`` and the ``(S * A_i, S)`` transition matrix whose row
        ``s * A_i + a_i`` is the next-state distribution after ``a_i`` in ``s``.
    """
    num_states, num_i = game.num_states, game.num_actions[player]
    to_i = action_indicator(game, player)
    rewards = (game.rewards[player] * weights) @ to_i
    rows = np.arange(num_states)[:, None] * num_i + to_i.argmax(axis=1)
    return rewards, transition_matrix(game, weights, rows, num_states * num_i)


def solve_discounted(
    chain: sp.csr_matrix,
    gamma: float,
    rewards: np.ndarray,
    guess: np.ndarray | None = None,
    zero: np.ndarray | None = None,
) -> np.ndarray:
    """Solve ``(I - gamma P) V = r`` for one or several reward vectors.

    Small systems are solved densely (LAPACK); large ones with BiCGSTAB started
    from ``guess`` to a residual of ``1e-13`` relative to the rewards, falling
    back to a sparse LU factorization if that fails.

    Args:
        chain: ``(S, S)`` row-stochastic sparse matrix ``P``.
        gamma: Discount factor in ``(0, 1)``.
        rewards: ``(m, S)`` right-hand sides.
        guess: Optional ``(m, S)`` starting point for the iterative solver.
        zero: Optional ``(S,)`` mask of states whose solution is exactly 0
            (terminal states: zero-reward self-loops), set without rounding.

    Returns:
        ``(m, S)`` solutions.
    """
    num_states = chain.shape[0]
    system = sp.identity(num_states, format="csr") - gamma * chain
    if num_states <= DENSE_MAX_STATES:
        out = np.linalg.solve(system.toarray(), rewards.T).T
    else:
        out = np.empty_like(rewards)
        tol = 1e-13 * (1.0 + np.abs(rewards).max())
        factor = None
        for j, rhs in enumerate(rewards):
            x0 = None if guess is None else guess[j]
            sol, info = spla.bicgstab(
                system, rhs, x0=x0, rtol=0.0, atol=tol * 1e-2, maxiter=1000
            )
            if info != 0 or np.abs(system @ sol - rhs).max() > tol:
                if factor is None:
                    factor = spla.splu(system.tocsc())
                sol = factor.solve(rhs)
            out[j] = sol
    if zero is not None:
        out[:, zero] = 0.0
    return out


# ------------------------------------------------------------- legal support
@dataclass(frozen=True, eq=False)
class SupportLayer:
    """The legal ``(state, joint action)`` pairs of a set of live states.

    Pairs are sorted by state, then joint action; every state of the layer has
    at least one pair (every player has a legal action in every state).

    Attributes:
        states: ``(L,)`` the layer's states (non-terminal, sorted).
        starts: ``(L,)`` index of each state's first pair.
        pair_states: ``(P,)`` the state of each pair.
        rewards: ``(n, P)`` rewards of the pairs.
        rewards_t: ``(P, n)`` the same, transposed (C-contiguous).
        expect: ``(P, S)`` CSR matrix whose row ``p`` is the successor
            distribution of pair ``p``: ``expect @ V`` is ``E[V(s')]`` per pair.
        keys: Per player ``(P,)`` flat index ``s * A_i + a_i`` of the pair's
            component in an ``(S, A_i)`` table.
        rows: Per player ``(P,)`` index of the pair's ``(s, a_i)`` among the
            player's legal rows ``row_keys`` (sorted by state, then action).
        row_keys: Per player ``(R_i,)`` flat index ``s * A_i + a_i`` of each row.
        row_starts: Per player ``(L,)`` index of each state's first row.
        row_group: Per player ``(R_i,)`` position in ``states`` of each row's state.
        row_index: Per player ``arange(R_i)``.
    """

    states: np.ndarray
    starts: np.ndarray
    pair_states: np.ndarray
    rewards: np.ndarray
    rewards_t: np.ndarray
    expect: sp.csr_matrix
    keys: tuple[np.ndarray, ...]
    rows: tuple[np.ndarray, ...]
    row_keys: tuple[np.ndarray, ...]
    row_starts: tuple[np.ndarray, ...]
    row_group: tuple[np.ndarray, ...]
    row_index: tuple[np.ndarray, ...]

    @property
    def num_pairs(self) -> int:
        """Number of pairs ``P``."""
        return int(self.rewards.shape[1])


class GameSupport:
    """The legal pairs of a game, whole and per step of the reachable layers.

    Built once per game by :func:`game_support` (and cached); every part is
    computed on first use. The legal pairs are the joint actions of
    non-terminal states whose every component is legal for its player;
    terminal states (value 0) carry none.

    Args:
        game: The game (held by a weak reference).
    """

    def __init__(self, game: TabularMarkovGame) -> None:
        self._game = weakref.ref(game)
        self.num_states = game.num_states
        self.num_actions = game.num_actions
        self.horizon = game.horizon
        self.live = ~game.terminal
        self.first_legal = tuple(mask.argmax(axis=1) for mask in game.legal_masks)

    @property
    def game(self) -> TabularMarkovGame:
        """The game (alive while anyone asks for its support)."""
        game = self._game()
        if game is None:  # pragma: no cover - the cache drops dead games
            raise RuntimeError("the game of this support no longer exists")
        return game

    @functools.cached_property
    def is_zero_sum(self) -> bool:
        """``game.is_zero_sum``, which reads every reward, computed once."""
        return self.game.is_zero_sum

    @functools.cached_property
    def pairs(self) -> tuple[np.ndarray, ...]:
        """The legal pairs, sorted by state then joint action.

        Returns:
            ``states (P,)``, ``next_states (P, K)``, ``next_probs (P, K)``,
            ``rewards (n, P)``, then one ``(P,)`` array of actions per player.
        """
        game = self.game
        num_joint = game.num_joint_actions
        components = np.unravel_index(np.arange(num_joint), game.num_actions)
        legal = self.live[:, None]
        for mask, comp in zip(game.legal_masks, components, strict=True):
            legal = legal & mask[:, comp]
        flat = np.flatnonzero(legal)
        joint = flat % num_joint
        k = game.next_states.shape[2]
        return (
            flat // num_joint,
            game.next_states.reshape(-1, k)[flat],
            game.next_probs.reshape(-1, k)[flat],
            game.rewards.reshape(game.num_players, -1)[:, flat],
            *(comp[joint] for comp in components),
        )

    @functools.cached_property
    def full(self) -> SupportLayer:
        """The layer of all non-terminal states."""
        return self._layer(self.live)

    @functools.cached_property
    def reachable(self) -> tuple[SupportLayer, ...]:
        """One layer per step ``h < H``: the live states reachable at step ``h``.

        A state is reachable at step ``h`` if some sequence of ``h`` legal joint
        actions leads to it with positive probability from a state of positive
        initial probability, whatever the policies. Values at the initial
        distribution only need these (a superset does as well). Identical
        layers are shared; a step whose reachable states hold more than half of
        the legal pairs (``LAYER_MAX_FRACTION``), or that would take the
        layers past ``LAYER_BUDGET`` times the legal pairs in all, gets the
        full layer.

        Raises:
            ValueError: If the game has no horizon.
        """
        if self.horizon is None:
            raise ValueError("reachable layers need a finite horizon, got None")
        states, next_states, next_probs = self.pairs[:3]
        layers: list[SupportLayer] = []
        by_states: dict[bytes, SupportLayer] = {}
        budget = LAYER_BUDGET * states.size
        reach = self.live & (self.game.initial_distribution > 0)
        for _ in range(self.horizon):
            key = reach.tobytes()
            if key not in by_states:
                count = int(np.count_nonzero(reach[states]))
                if count > LAYER_MAX_FRACTION * states.size or count > budget:
                    by_states[key] = self.full
                else:
                    by_states[key] = self._layer(reach)
                    budget -= count
            layers.append(by_states[key])
            moves = reach[states][:, None] & (next_probs > 0)
            nxt = np.zeros(self.num_states, dtype=bool)
            nxt[next_states[moves]] = True
            reach = nxt & self.live
        return tuple(layers)

    def _layer(self, included: np.ndarray) -> SupportLayer:
        """The layer of the live states marked in the ``(S,)`` mask ``included``."""
        all_states, all_next, all_probs, all_rewards, *components = self.pairs
        idx = np.flatnonzero(included[all_states])
        states = all_states[idx]
        first = np.r_[True, states[1:] != states[:-1]] if idx.size else idx.astype(bool)
        starts = np.flatnonzero(first)
        layer_states = states[starts]
        probs, nexts = all_probs[idx], all_next[idx]
        k = probs.shape[1]
        expect = sp.csr_matrix(
            (probs.ravel(), nexts.ravel(), np.arange(0, idx.size * k + 1, k)),
            shape=(idx.size, self.num_states),
        )
        expect.eliminate_zeros()
        keys, rows, row_keys, row_starts, row_group, row_index = [], [], [], [], [], []
        for comp, num_i in zip(components, self.num_actions, strict=True):
            key = states * num_i + comp[idx]
            unique, inverse = np.unique(key, return_inverse=True)
            unique_group = np.searchsorted(layer_states, unique // num_i)
            keys.append(key)
            rows.append(inverse.ravel())
            row_keys.append(unique)
            row_starts.append(
                np.flatnonzero(np.r_[True, np.diff(unique_group) != 0])
                if unique.size
                else unique
            )
            row_group.append(unique_group)
            row_index.append(np.arange(unique.size))
        rewards = all_rewards[:, idx]
        return SupportLayer(
            states=layer_states,
            starts=starts,
            pair_states=states,
            rewards=rewards,
            rewards_t=np.ascontiguousarray(rewards.T),
            expect=expect,
            keys=tuple(keys),
            rows=tuple(rows),
            row_keys=tuple(row_keys),
            row_starts=tuple(row_starts),
            row_group=tuple(row_group),
            row_index=tuple(row_index),
        )


_SUPPORTS: weakref.WeakKeyDictionary[TabularMarkovGame, GameSupport] = (
    weakref.WeakKeyDictionary()
)


def game_support(game: TabularMarkovGame) -> GameSupport:
    """The cached :class:`GameSupport` of ``game`` (games are immutable)."""
    support = _SUPPORTS.get(game)
    if support is None:
        support = _SUPPORTS[game] = GameSupport(game)
    return support
