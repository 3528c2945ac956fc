"""Shared array plumbing of the solvers: policy tables, joint policies, transitions.

Private to :mod:`agents.solvers`; every function is vectorized over states.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from mail_envs.core import BatchedPolicy, TabularMarkovGame

#: Up to this many states, linear systems are solved densely (LAPACK).
DENSE_MAX_STATES = 200

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
        non-stationary.

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
    return tuple(tables)


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
