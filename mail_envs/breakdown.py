"""Breakdown: a dominant-strategy game in which imitation errors compound.

An ``n``-player general-sum Markov game for the dominant-strategy bound of
Bergerault, Cevher, Mehr ("Matching Multiple Experts: On the Exploitability of
Multi-Agent Imitation Learning"), built so that the ``1/(1-gamma)^2`` of the
bound is attained (in the public-goods game no action moves the state, and the
Nash gap grows only like ``1/(1-gamma)``).

Two states, ``working`` (0) and ``broken`` (1); every player has two actions,
``0`` (careful / repair) and ``1`` (careless / wait).

* In ``working`` the machine stays up when everyone is careful and breaks when
  anyone is careless.
* In ``broken`` it is repaired (back to ``working``) when anyone repairs and
  stays broken otherwise.
* Player ``i`` earns ``r_i(s, a) = 1[s = working] - cost * a_i``: 1 per step
  the machine works, minus ``cost`` for its own action ``1``.

Action 0 in every state is a dominant strategy (strictly, for ``cost > 0``):
it pays more now, and it makes ``working`` next step at least as likely whatever
the others do, while a player that repairs can always reach ``working`` in one
step, so ``V_i(working) >= V_i(broken)`` against any opponents. The expert
"always 0" stays in ``working`` forever: it never shows what to do in
``broken``, and a learner that waits there, plus careless slips at rate
``eps`` in ``working``, loses ``Theta(n eps / (1-gamma)^2)`` per player
(for ``cost = 0`` and ``eps -> 0``, ``gamma (1 + gamma (n-1)) eps / (1-gamma)^2``).

### Version History

* v0: initial release.
"""

from __future__ import annotations

import numpy as np

from mail_envs.core import TabularMarkovGame, check_int, check_real
from mail_envs.env_factories import tabular_env_factories

__all__ = [
    "BROKEN",
    "WORKING",
    "dominant_profile",
    "env",
    "make_breakdown_game",
    "parallel_env",
    "raw_env",
    "slip_profile",
]

WORKING, BROKEN = 0, 1


def make_breakdown_game(
    num_players: int = 2,
    *,
    cost: float = 0.1,
    gamma: float = 0.9,
    horizon: int | None = None,
) -> TabularMarkovGame:
    """Build the breakdown game.

    Args:
        num_players: ``n >= 1``.
        cost: Price of action 1, in ``[0, 1]`` (``0``: action 0 is only weakly
            dominant).
        gamma: Discount factor.
        horizon: Optional number of decision steps.

    Returns:
        The game, starting in ``working``.

    Raises:
        ValueError: If a parameter is out of range; the message names it.
        TypeError: If ``cost`` is not a number.

    Example:
        >>> game = make_breakdown_game(2, cost=0.1)
        >>> game.rewards[0, 0].tolist()  # joint actions (0,0), (0,1), (1,0), (1,1)
        [1.0, 1.0, 0.9, 0.9]
        >>> game.next_states[:, :, 0].tolist()  # working breaks unless all careful
        [[0, 1, 1, 1], [0, 0, 0, 1]]
    """
    n = check_int("num_players", num_players, 1)
    price = check_real("cost", cost, minimum=0.0, maximum=1.0)
    joint = np.arange(2**n)
    # own[i, a]: player i's action (0/1) in joint action a (row-major).
    own = (joint[None, :] >> np.arange(n - 1, -1, -1)[:, None]) & 1
    all_zero = own.sum(axis=0) == 0  # everyone plays 0: nobody careless
    all_one = own.sum(axis=0) == n  # everyone plays 1: nobody repairs
    next_working = np.where(all_zero, WORKING, BROKEN)
    next_broken = np.where(all_one, BROKEN, WORKING)
    next_states = np.stack([next_working, next_broken])[:, :, None]
    up = np.array([1.0, 0.0])  # 1[s = working]
    rewards = up[None, :, None] - price * own[:, None, :].astype(np.float64)
    return TabularMarkovGame(
        num_actions=(2,) * n,
        next_states=next_states,
        next_probs=np.ones((2, 2**n, 1)),
        rewards=np.ascontiguousarray(rewards),
        legal_masks=tuple(np.ones((2, 2), bool) for _ in range(n)),
        initial_distribution=np.array([1.0, 0.0]),
        gamma=gamma,
        horizon=horizon,
        name="breakdown",
        state_labels=("working", "broken"),
    )


def dominant_profile(game: TabularMarkovGame) -> tuple[np.ndarray, ...]:
    """The dominant-strategy expert: every player plays 0 in both states."""
    zero = np.zeros((game.num_states, 2))
    zero[:, 0] = 1.0
    return tuple(zero.copy() for _ in range(game.num_players))


def slip_profile(
    game: TabularMarkovGame, slip: float, *, repair: float = 0.0
) -> tuple[np.ndarray, ...]:
    """A BC-like learner: careless with probability ``slip`` in ``working``.

    Args:
        game: A breakdown game.
        slip: Probability of action 1 in ``working`` (the error the expert's
            data can show), in ``[0, 1]``.
        repair: Probability of repairing in ``broken`` (a state the expert never
            visits, so BC on expert data cannot fix it), in ``[0, 1]``.

    Returns:
        One ``(2, 2)`` table per player, all equal.

    Raises:
        ValueError: If ``slip`` or ``repair`` is out of ``[0, 1]``.

    Example:
        >>> slip_profile(make_breakdown_game(1), 0.25)[0].tolist()
        [[0.75, 0.25], [0.0, 1.0]]
    """
    p = check_real("slip", slip, minimum=0.0, maximum=1.0)
    q = check_real("repair", repair, minimum=0.0, maximum=1.0)
    table = np.array([[1.0 - p, p], [q, 1.0 - q]])
    return tuple(table.copy() for _ in range(game.num_players))


raw_env, env, parallel_env = tabular_env_factories(
    make_breakdown_game, name="breakdown_v0"
)
