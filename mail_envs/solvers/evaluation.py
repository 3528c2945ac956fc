"""Exact policy evaluation, best responses and the Nash gap of a profile.

All three read a :class:`~mail_envs.core.TabularMarkovGame` and a profile (one
policy per player) and use the game's own objective:

* **discounted** (``horizon is None``): ``V_i(s) = E[sum_t gamma^t r_i(s_t, a_t)]``,
  computed by one linear solve ``(I - gamma P_pi) V = r_pi`` for all players
  at once (dense LAPACK for small games, sparse otherwise);
* **finite horizon** ``H``: ``V_{i,h}(s) = E[sum_{t=h}^{H-1} gamma^{t-h} r_i]``
  by backward induction over the steps, for any ``gamma`` in ``(0, 1]``. It
  runs over the legal ``(state, joint action)`` pairs only (joint actions
  whose every component is legal; see :class:`~mail_envs.solvers._tables.GameSupport`),
  which in turn-based games is a small fraction of ``S * A_joint``, and
  :func:`nash_gap`, which only needs values at the initial distribution,
  evaluates the profile and every best response in one sweep that visits, at
  step ``h``, only the states reachable at step ``h`` (a per-game cached
  superset of what any profile can reach). The Python loop runs over the
  ``H`` steps only.

The other players' policies enter through one vectorized contraction of the
``(S, A_joint)`` arrays: nothing loops over states. A best response of player
``i`` solves the MDP that the others' fixed policies leave to ``i`` (policy
iteration, exact, for discounted games; backward induction for finite
horizons), using ``i``'s own rewards.

The Nash gap follows DESIGN.md ("Nash gap, precisely"):
``gain_i = max_{pi_i'} V_i(pi_i', pi_-i)(mu0) - V_i(pi)(mu0)``; NashConv is
``sum_i gain_i`` (Lanctot et al. 2017, "A Unified Game-Theoretic Approach to
Multiagent Reinforcement Learning", Sec. 3) and, in two-player zero-sum games,
exploitability is ``NashConv / 2``.

### Version History

* v1: finite-horizon solvers work on the legal pairs and reachable states
  (same values; Tic-Tac-Toe ``nash_gap`` about 40x faster); policy tables are
  made exactly 0 on illegal actions (``policy_table`` tolerates up to ``1e-9``
  there), so no solver ever plays one.
* v0: initial release.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mail_envs.core import TabularMarkovGame
from mail_envs.solvers._tables import (
    PolicyLike,
    game_support,
    joint_policy,
    others_weights,
    player_mdp,
    policy_tables,
    solve_discounted,
    transition_matrix,
)

__all__ = [
    "BestResponse",
    "NashGapResult",
    "best_response",
    "nash_gap",
    "policy_evaluation",
]

#: Relative tolerance under which two action values count as a tie.
_TIE_RTOL = 1e-12
#: Value-iteration sweeps before policy iteration in discounted best responses.
_WARM_SWEEPS = 10
#: Safety cap on policy-iteration steps (it ends in far fewer).
_MAX_POLICY_ITERATIONS = 10_000
#: A gain below ``-_BUG_RTOL * scale`` means a solver bug: it raises. Gains in
#: ``[-_BUG_RTOL * scale, 0)`` are numerical noise (iterative linear solves
#: stop at a residual of about 1e-13) and are reported as 0: gains are never
#: negative.
_BUG_RTOL = 1e-9


@dataclass(frozen=True)
class BestResponse:
    """A best response of one player to the others' fixed policies.

    Attributes:
        player: The responding player.
        policy: Deterministic best-response table, ``(S, A_i)`` for discounted
            games and ``(H, S, A_i)`` for finite-horizon ones; ties go to the
            lowest legal action index.
        values: The responder's values under the best response, ``(S,)`` or
            ``(H, S)`` (row ``h``: value-to-go from step ``h``).
        value: Its value at the initial distribution.
        iterations: Policy-iteration steps (discounted) or ``H`` (finite horizon).
    """

    player: int
    policy: np.ndarray
    values: np.ndarray
    value: float
    iterations: int


@dataclass(frozen=True)
class NashGapResult:
    """How much each player gains by deviating unilaterally from a profile.

    Attributes:
        gains: ``(n,)`` ``best_response_values - values``, each ``>= 0``.
        values: ``(n,)`` values of the profile at the initial distribution.
        best_response_values: ``(n,)`` best-response values at the initial
            distribution, each against the others' policies in the profile.
        nash_conv: ``sum(gains)``.
        exploitability: ``nash_conv / 2`` in two-player zero-sum games, else None.
    """

    gains: np.ndarray
    values: np.ndarray
    best_response_values: np.ndarray
    nash_conv: float
    exploitability: float | None


def policy_evaluation(
    game: TabularMarkovGame, policies: Sequence[PolicyLike]
) -> np.ndarray:
    """Exact values of a profile for every player.

    Args:
        game: The game.
        policies: One policy per player: an ``(S, A_i)`` table, an ``(H, S, A_i)``
            table (finite-horizon games only) or a batched callable
            ``(obs (B, ...), masks (B, A_i)) -> probs (B, A_i)``.

    Returns:
        ``(n, S)`` values for discounted games; ``(n, H, S)`` for finite-horizon
        games, where ``[:, h, s]`` is the value-to-go from state ``s`` at step
        ``h`` (so ``[:, 0] @ mu0`` is the value of the game). Terminal states
        have value 0.

    Raises:
        ValueError: If a policy has the wrong shape or puts mass on an illegal
            action (the message names the player and state).
        TypeError: If ``policies`` is not a sequence.

    Example:
        >>> from mail_envs.random_games import make_random_zero_sum_game
        >>> game = make_random_zero_sum_game(num_states=4, num_actions=(3, 2), seed=0)
        >>> uniform = [game.uniform_policy(0), game.uniform_policy(1)]
        >>> policy_evaluation(game, uniform).shape
        (2, 4)
    """
    return _evaluate(game, policy_tables(game, policies))


def best_response(
    game: TabularMarkovGame, policies: Sequence[PolicyLike], player: int
) -> BestResponse:
    """A deterministic best response of ``player`` to the others' policies.

    General-sum, any number of players: the others' policies in ``policies``
    are held fixed (``policies[player]`` only supplies the starting values) and
    ``player`` maximizes its own reward. Discounted games use Howard's policy
    iteration with exact evaluation (Puterman 1994, Sec. 6.4), which ends in
    finitely many steps at an optimal policy, started from the greedy policy
    after a few value-iteration sweeps (modified policy iteration, ibid. Sec.
    6.5); finite-horizon games use backward induction.

    Args:
        game: The game.
        policies: One policy per player (see :func:`policy_evaluation`).
        player: The responding player.

    Returns:
        The best-response policy, its values and its value at ``mu0``.

    Raises:
        ValueError: If ``player`` is out of range or a policy is invalid.

    Example:
        >>> from mail_envs.random_games import make_random_zero_sum_game
        >>> game = make_random_zero_sum_game(num_states=4, num_actions=(3, 2), seed=0)
        >>> uniform = [game.uniform_policy(0), game.uniform_policy(1)]
        >>> br = best_response(game, uniform, player=0)
        >>> br.policy.shape, br.policy.sum(axis=1).tolist()
        ((4, 3), [1.0, 1.0, 1.0, 1.0])
    """
    game._check_player(player)
    tables = policy_tables(game, policies)
    start = None
    if game.horizon is None:
        start = _evaluate(game, tables, players=[player])[0]
    return _best_response(game, tables, player, start)


def nash_gap(game: TabularMarkovGame, policies: Sequence[PolicyLike]) -> NashGapResult:
    """Exact per-player gains from deviating, NashConv and exploitability.

    Each gain uses the deviating player's own rewards (in zero-sum games the
    minimizer's ``rewards[1] = -rewards[0]`` is maximized as is, never with a
    second sign flip), the game's discount or horizon, and the initial
    distribution.

    Args:
        game: The game.
        policies: One policy per player (see :func:`policy_evaluation`).

    Returns:
        A :class:`NashGapResult`. Gains within ``1e-9`` (relative to the
        largest value) below 0 are floating-point noise and reported as 0.

    Raises:
        ValueError: If a policy is invalid.
        RuntimeError: If a best response is worse than the profile by more than
            ``1e-9`` (relative): that would be a solver bug, never hidden.

    Example:
        >>> from mail_envs.random_games import make_random_zero_sum_game
        >>> game = make_random_zero_sum_game(num_states=4, num_actions=(3, 2), seed=0)
        >>> result = nash_gap(game, [game.uniform_policy(0), game.uniform_policy(1)])
        >>> bool(np.all(result.gains >= 0)), result.exploitability == result.nash_conv / 2
        (True, True)
    """
    tables = policy_tables(game, policies)
    if game.horizon is None:
        state_values = _evaluate(game, tables)
        values = state_values @ game.initial_distribution
        br_values = np.array(
            [
                _best_response(game, tables, i, state_values[i]).value
                for i in range(game.num_players)
            ]
        )
    else:
        # One backward sweep over the states reachable at each step evaluates
        # the profile and every player's best response at once.
        sweep = _finite_sweep(
            game, tables, evaluate=True, responders=range(game.num_players)
        )
        values, br_values = np.split(sweep.start, 2)
    gains = br_values - values
    scale = max(1.0, float(np.abs(values).max()), float(np.abs(br_values).max()))
    bad = np.flatnonzero(gains < -_BUG_RTOL * scale)
    if bad.size:
        i = int(bad[0])
        raise RuntimeError(
            f"best response of player {i} is worse than the profile by {-gains[i]:.3e} "
            f"(value {values[i]!r}, best response {br_values[i]!r}): solver bug"
        )
    gains = np.maximum(gains, 0.0)
    nash_conv = float(gains.sum())
    zero_sum_2p = game.num_players == 2 and game_support(game).is_zero_sum
    return NashGapResult(
        gains=gains,
        values=values,
        best_response_values=br_values,
        nash_conv=nash_conv,
        exploitability=nash_conv / 2.0 if zero_sum_2p else None,
    )


# --------------------------------------------------------------------- internals
def _evaluate(
    game: TabularMarkovGame,
    tables: Sequence[np.ndarray],
    players: Sequence[int] | None = None,
) -> np.ndarray:
    """Values of validated tables for ``players`` (default all): ``(m, S)`` or ``(m, H, S)``."""
    if game.horizon is not None:
        sweep = _finite_sweep(game, tables, evaluate=True, record=True)
        out = sweep.values.transpose(2, 0, 1)
        return np.ascontiguousarray(out if players is None else out[list(players)])
    rewards = game.rewards if players is None else game.rewards[list(players)]
    joint = joint_policy(tables)
    chain = transition_matrix(game, joint)
    r_pi = (rewards * joint).sum(axis=-1)
    return solve_discounted(chain, game.gamma, r_pi, zero=game.terminal)


@dataclass(frozen=True)
class _Sweep:
    """What one finite-horizon backward sweep computed.

    Attributes:
        start: ``(c,)`` value of each column at the initial distribution: the
            profile's values of all players (when evaluated), then each
            responder's best-response value.
        values: ``(H, S, c)`` values of every column at every step (recorded
            sweeps; ``(0, S, c)`` otherwise).
        actions: Per responder, its ``(H, S)`` best-response actions (recorded
            sweeps only; ties go to the lowest legal action).
    """

    start: np.ndarray
    values: np.ndarray
    actions: tuple[np.ndarray, ...]


def _finite_sweep(
    game: TabularMarkovGame,
    tables: Sequence[np.ndarray],
    *,
    evaluate: bool,
    responders: Sequence[int] = (),
    record: bool = False,
) -> _Sweep:
    """Backward induction over the legal ``(state, joint action)`` pairs.

    For ``h = H-1, ..., 0`` and every legal pair ``p = (s, a)``: ``x_c(p) =
    r_i(p) + gamma E[V_{c,h+1}(s')]`` for each value column ``c`` (of player
    ``i``). The profile's values are ``V_h(s) = sum_{p in s} pi(p) x(p)``; a
    responder's action values are ``q(s, a_i) = sum_{p in (s, a_i)} pi_-i(p)
    x(p)`` and its values ``max_{a_i legal} q(s, a_i)`` (Bellman 1957; Puterman
    1994, Sec. 4.5). Only the legal pairs enter (:class:`GameSupport`); the
    Python loop runs over the ``H`` steps only.

    Args:
        game: A finite-horizon game.
        tables: Validated policy tables, ``(S, A_i)`` or ``(H, S, A_i)``.
        evaluate: Whether to compute the profile's values of all players.
        responders: Players whose best responses to the others are computed.
        record: Keep the values and best-response actions of every state at
            every step. Without it, each step only visits the states reachable
            at that step, which is all the values at ``mu0`` need, and best
            responses take the maximum action value without tie-breaking.

    Returns:
        A :class:`_Sweep`.
    """
    horizon, num_states = game.horizon, game.num_states
    if horizon is None:
        raise ValueError("a backward sweep needs a finite horizon, got None")
    support = game_support(game)
    layers = (support.full,) * horizon if record else support.reachable
    num_eval = game.num_players if evaluate else 0
    num_cols = num_eval + len(responders)
    flat = [table.reshape(*table.shape[:-2], -1) for table in tables]
    values = np.zeros((num_states, num_cols))
    recorded = np.zeros((horizon if record else 0, num_states, num_cols))
    actions = tuple(
        np.tile(support.first_legal[i], (horizon, 1)) for i in responders if record
    )
    for h in range(horizon - 1, -1, -1):
        layer = layers[h]
        if layer.num_pairs:
            probs = [
                (f[h] if f.ndim == 2 else f)[key]
                for f, key in zip(flat, layer.keys, strict=True)
            ]
            nxt = layer.expect @ values
            if game.gamma != 1.0:
                nxt *= game.gamma
            new = np.empty((layer.states.size, num_cols))
            if evaluate:
                joint = functools.reduce(np.multiply, probs)
                weighted = (nxt[:, :num_eval] + layer.rewards_t) * joint[:, None]
                new[:, :num_eval] = np.add.reduceat(weighted, layer.starts, axis=0)
            for col, i in enumerate(responders, num_eval):
                x = nxt[:, col] + layer.rewards[i]
                # pi_-i(p) x(p), summed over the pairs of each (s, a_i).
                weighted = functools.reduce(np.multiply, probs[:i] + probs[i + 1 :], x)
                q = np.bincount(
                    layer.rows[i],
                    weights=weighted,
                    minlength=layer.row_keys[i].size,
                )
                best = np.maximum.reduceat(q, layer.row_starts[i])
                if record:
                    # Lowest legal action within 1e-12 (relative) of the best.
                    tied = (
                        q
                        >= (best - _TIE_RTOL * (1.0 + np.abs(best)))[layer.row_group[i]]
                    )
                    first = np.minimum.reduceat(
                        np.where(tied, layer.row_index[i], q.size),
                        layer.row_starts[i],
                    )
                    best = q[first]
                    actions[col - num_eval][h, layer.states] = (
                        layer.row_keys[i][first] % game.num_actions[i]
                    )
                new[:, col] = best
            values[layer.states] = new
        if record:
            recorded[h] = values
    return _Sweep(game.initial_distribution @ values, recorded, actions)


def _greedy(q: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Lowest legal action whose value ties the maximum (relative ``1e-12``)."""
    q = np.where(mask, q, -np.inf)
    best = q.max(axis=-1, keepdims=True)
    tol = _TIE_RTOL * (1.0 + np.abs(best))
    return np.argmax(q >= best - tol, axis=-1)


def _best_response(
    game: TabularMarkovGame,
    tables: Sequence[np.ndarray],
    player: int,
    start: np.ndarray | None,
) -> BestResponse:
    """Best response on validated tables; ``start``: initial values (discounted)."""
    num_states, num_i = game.num_states, game.num_actions[player]
    eye = np.eye(num_i)
    if game.horizon is not None:
        sweep = _finite_sweep(
            game, tables, evaluate=False, responders=[player], record=True
        )
        return BestResponse(
            player,
            eye[sweep.actions[0]],
            sweep.values[:, :, 0],
            float(sweep.start[0]),
            game.horizon,
        )

    mask = game.legal_masks[player]
    mu0 = game.initial_distribution
    r_i, mdp = player_mdp(game, others_weights(game, tables, player), player)
    states = np.arange(num_states)

    def evaluate(act: np.ndarray, guess: np.ndarray) -> np.ndarray:
        chain, rhs = mdp[states * num_i + act], r_i[states, act]
        return solve_discounted(
            chain, game.gamma, rhs[None], guess[None], zero=game.terminal
        )[0]

    values = (
        np.zeros(num_states) if start is None else np.asarray(start, dtype=np.float64)
    )
    legal_q = np.where(mask, 0.0, -np.inf)
    for _ in range(_WARM_SWEEPS):
        # A few cheap value-iteration sweeps give policy iteration a better
        # first policy, so it needs fewer (expensive) exact evaluations.
        q = r_i + game.gamma * (mdp @ values).reshape(num_states, num_i)
        values = (q + legal_q).max(axis=1)
    q = r_i + game.gamma * (mdp @ values).reshape(num_states, num_i)
    act = _greedy(q, mask)
    for iterations in range(1, _MAX_POLICY_ITERATIONS + 1):  # noqa: B007 - returned
        values = evaluate(act, values)
        q = r_i + game.gamma * (mdp @ values).reshape(num_states, num_i)
        greedy = _greedy(q, mask)
        # Switch only where the greedy action is strictly better, so that
        # policy iteration cannot cycle between tied actions.
        gain = q[states, greedy] - q[states, act]
        switch = gain > _TIE_RTOL * (1.0 + np.abs(q[states, act]))
        if not switch.any():
            break
        act = np.where(switch, greedy, act)
    else:  # pragma: no cover - policy iteration ends in finitely many steps
        raise RuntimeError(
            f"policy iteration did not stop in {_MAX_POLICY_ITERATIONS} steps"
        )
    if np.any(greedy != act):
        # Lowest-index tie-breaking; the tied actions are equally good.
        act = greedy
        values = evaluate(act, values)
    return BestResponse(player, eye[act], values, float(values @ mu0), iterations)
