"""Repeated public-goods game with state-dependent stakes: dominant strategies.

An ``n``-player general-sum Markov game (a family for the dominant-strategy
analysis of Bergerault, Cevher, Mehr, "Matching Multiple Experts: On the
Exploitability of Multi-Agent Imitation Learning"). The state is a stake level
``k in {0, ..., L-1}`` with stake ``c_k = k + 1``; every player either keeps
(action 0) or contributes (action 1). Player ``i``'s reward is

    r_i(s, a) = c_s * (m / n * sum_j a_j - a_i),

with multiplier ``1 < m < n``: contributing costs ``c_s`` and returns only
``c_s * m / n`` to the contributor, so keeping is strictly better by
``c_s * (1 - m / n)`` whatever the others do, while everyone contributing pays
each player ``c_s * (m - 1) > 0`` (a social dilemma). The stake follows a lazy
random walk that no action influences (up or down with probability
``drift`` each, clipped at the ends), so a player's action changes neither the
state distribution nor the others' rewards-to-go, and "always keep" is a
strictly dominant strategy of the Markov game: the unique equilibrium, with
Nash gap 0 for every ``n``.

### Version History

* v0: initial release.
"""

from __future__ import annotations

import numpy as np

from mail_envs.core import TabularMarkovGame, check_int
from mail_envs.env_factories import tabular_env_factories

__all__ = [
    "dominant_profile",
    "env",
    "make_public_goods_game",
    "parallel_env",
    "raw_env",
]


def make_public_goods_game(
    num_players: int = 3,
    *,
    num_stakes: int = 3,
    multiplier: float | None = None,
    drift: float = 0.25,
    gamma: float = 0.9,
    horizon: int | None = None,
) -> TabularMarkovGame:
    """Build the repeated public-goods game.

    Args:
        num_players: ``n >= 2``.
        num_stakes: Number of stake levels ``L >= 1`` (stakes ``1 .. L``).
        multiplier: ``m`` in ``(1, n)``; default ``(1 + n) / 2``.
        drift: Probability of moving the stake up (and, separately, down) each
            step, in ``[0, 0.5]``.
        gamma: Discount factor.
        horizon: Optional number of decision steps.

    Returns:
        The game, starting at the lowest stake.

    Raises:
        ValueError: If a parameter is out of range; the message names it.

    Example:
        >>> game = make_public_goods_game(2, num_stakes=1, multiplier=1.5)
        >>> game.rewards[:, 0].tolist()  # joint actions (0,0), (0,1), (1,0), (1,1)
        [[0.0, 0.75, -0.25, 0.5], [0.0, -0.25, 0.75, 0.5]]
    """
    n = check_int("num_players", num_players, 2)
    levels = check_int("num_stakes", num_stakes, 1)
    m = (1.0 + n) / 2.0 if multiplier is None else float(multiplier)
    if not 1.0 < m < n:
        raise ValueError(
            f"multiplier must lie in (1, num_players={n}) for a social dilemma, "
            f"got {multiplier!r}"
        )
    if not 0.0 <= drift <= 0.5:
        raise ValueError(f"drift must lie in [0, 0.5], got {drift!r}")

    # contributions[i, a]: player i's action (0/1) in joint action a (row-major).
    joint = np.arange(2**n)
    contributions = (joint[None, :] >> np.arange(n - 1, -1, -1)[:, None]) & 1
    share = m / n * contributions.sum(axis=0)
    stakes = np.arange(1, levels + 1, dtype=np.float64)
    rewards = stakes[None, :, None] * (share[None, None, :] - contributions[:, None, :])

    states = np.arange(levels)
    successors = np.stack(
        [np.maximum(states - 1, 0), states, np.minimum(states + 1, levels - 1)], axis=1
    )
    probs = np.broadcast_to([drift, 1.0 - 2.0 * drift, drift], (levels, 3))
    return TabularMarkovGame(
        num_actions=(2,) * n,
        next_states=np.broadcast_to(successors[:, None, :], (levels, 2**n, 3)),
        next_probs=np.broadcast_to(probs[:, None, :], (levels, 2**n, 3)),
        rewards=rewards,
        legal_masks=tuple(np.ones((levels, 2), bool) for _ in range(n)),
        initial_distribution=np.eye(levels)[0],
        gamma=gamma,
        horizon=horizon,
        name="public_goods",
        state_labels=tuple(f"stake {c:g}" for c in stakes),
    )


def dominant_profile(game: TabularMarkovGame) -> tuple[np.ndarray, ...]:
    """The dominant-strategy equilibrium: every player always keeps (action 0)."""
    keep = np.zeros((game.num_states, 2))
    keep[:, 0] = 1.0
    return tuple(keep.copy() for _ in range(game.num_players))


raw_env, env, parallel_env = tabular_env_factories(
    make_public_goods_game, name="public_goods_v0"
)
