"""XOR coordination: matching the expert's state occupancy is not enough.

A cooperative two-player discounted game (Bergerault, Cevher, Mehr, "Matching
Multiple Experts: On the Exploitability of Multi-Agent Imitation Learning").
Two states ``{0, 1}``; each player picks an action in ``{0, 1}``; both players
receive 1 when their actions agree and 0 otherwise; the next state is the XOR
of the two actions; the first state is uniform.

* The **expert** plays uniformly in both states. Against a uniform partner
  every action earns 1/2 per step, so it is an equilibrium, with value
  ``1 / (2 (1 - gamma))`` for both players, and the state distribution is
  uniform at every step.
* The **state-matching profile** has player_0 always play 0 and player_1 play
  uniformly. The next state is then player_1's action, uniform: the state
  occupancy measure equals the expert's exactly, and so does the expected
  reward. Yet player_1 gains ``1 / (2 (1 - gamma))`` by always playing 0
  (it then earns 1 every step), a Nash gap that grows like ``1 / (1 - gamma)``.
* Matching state-ACTION occupancies would have caught it: player_0's
  state-action occupancy puts mass 1/2 on ``(s, 0)`` for each ``s`` instead of
  1/4 on every pair.

### Version History

* v0: initial release.
"""

from __future__ import annotations

import numpy as np

from mail_envs.core import TabularMarkovGame
from mail_envs.env_factories import tabular_env_factories

__all__ = [
    "env",
    "expert_profile",
    "make_xor_coordination_game",
    "parallel_env",
    "raw_env",
    "state_matching_profile",
]


def make_xor_coordination_game(
    *, gamma: float = 0.9, horizon: int | None = None
) -> TabularMarkovGame:
    """Build the two-state XOR coordination game.

    Args:
        gamma: Discount factor in ``(0, 1)`` (or ``(0, 1]`` with a horizon).
        horizon: Optional number of decision steps.

    Returns:
        The game: 2 states, 2 actions per player, identical rewards
        ``r = 1[a_0 == a_1]``, next state ``a_0 XOR a_1``, uniform start.

    Raises:
        ValueError: If ``gamma`` or ``horizon`` is invalid.

    Example:
        >>> game = make_xor_coordination_game(gamma=0.5)
        >>> game.rewards[0, 0].tolist()  # joint actions (0,0), (0,1), (1,0), (1,1)
        [1.0, 0.0, 0.0, 1.0]
    """
    a0, a1 = np.divmod(np.arange(4), 2)
    next_state = np.broadcast_to(a0 ^ a1, (2, 4))[:, :, None]
    agree = np.broadcast_to((a0 == a1).astype(np.float64), (2, 4))
    return TabularMarkovGame(
        num_actions=(2, 2),
        next_states=next_state,
        next_probs=np.ones((2, 4, 1)),
        rewards=np.stack([agree, agree]),
        legal_masks=(np.ones((2, 2), bool), np.ones((2, 2), bool)),
        initial_distribution=np.full(2, 0.5),
        gamma=gamma,
        horizon=horizon,
        name="xor_coordination",
        state_labels=("state 0", "state 1"),
    )


def expert_profile() -> tuple[np.ndarray, np.ndarray]:
    """The expert equilibrium: both players uniform in both states."""
    return np.full((2, 2), 0.5), np.full((2, 2), 0.5)


def state_matching_profile() -> tuple[np.ndarray, np.ndarray]:
    """player_0 always plays 0, player_1 uniform: the expert's state occupancy."""
    return np.array([[1.0, 0.0], [1.0, 0.0]]), np.full((2, 2), 0.5)


raw_env, env, parallel_env = tabular_env_factories(
    make_xor_coordination_game, name="xor_coordination_v0"
)
