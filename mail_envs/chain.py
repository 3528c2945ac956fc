"""Chain game: only one long action sequence reaches the exploitable state.

A zero-sum two-player Markov game built so that offline expert data cannot
cover the state where a learned policy can be exploited:

* player_1, the **explorer**, walks a chain of ``length`` states
  ``0 .. length-1``, starting in 0. In chain state ``k`` exactly one of its
  ``num_actions`` actions, ``secret[k]`` (drawn from ``seed``), advances to
  ``k + 1``; every other action sends it back to state 0. Each advance costs
  the explorer ``cost`` (and pays the guard ``cost``).
* From the last chain state the advance leads to the **gate** (state
  ``length``). There player_0, the **guard**, must play ``guard_action``
  (also drawn from ``seed``): then nothing is paid. Any other action pays the
  explorer ``+1`` (the guard ``-1``), once. Either way the game moves to the
  terminal state ``done`` (state ``length + 1``). ``guard_action`` is never 0,
  so a guard that falls back to its first action where it has no data errs.
* The player who does not move has the single no-op action 0 (turn-based
  masks): the guard in chain states, the explorer at the gate and at ``done``.

The equilibrium (for ``cost > 0``): the guard plays ``guard_action`` at the
gate and the explorer never advances, so every state's value is 0 and the
equilibrium never visits the gate: a behaviour-cloning guard learns nothing
about the gate from expert data. If the guard errs at the gate with
probability ``q``, the explorer's best response walks exactly the secret
sequence from the start, and its gain (player_1's Nash-gap term) is

    ``max(0, q * gamma**length - cost * (1 - gamma**length) / (1 - gamma))``

(with ``gamma = 1``: ``max(0, q - cost * length)``), which the tests check
against direct policy evaluation. A uniformly random explorer reaches the gate
from the start with probability ``num_actions**-length`` per attempt.

The envs (``env``, ``parallel_env``, ``raw_env``) are
:class:`~mail_envs.tabular_env.TabularAECEnv` /
:class:`~mail_envs.tabular_env.TabularParallelEnv` over the model, truncated
after ``max_cycles`` steps (default: ``horizon``, or
``max(50, 2 * (length + 1))`` for the discounted game); reaching ``done``
terminates the episode.

### Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mail_envs.core import TabularMarkovGame, check_int, check_real, check_seed
from mail_envs.env_factories import env_factories_of, tabular_env_classes
from mail_envs.rendering import chain_image

__all__ = [
    "ChainAECEnv",
    "ChainLayout",
    "ChainParallelEnv",
    "chain_layout",
    "default_max_cycles",
    "env",
    "exploit_gain",
    "make_chain_game",
    "parallel_env",
    "raw_env",
]


@dataclass(frozen=True)
class ChainLayout:
    """The secret of a chain game and its state indices.

    Args:
        length: Number of chain states ``N``.
        num_actions: Actions per player.
        secret: ``(N,)`` the explorer's advancing action in each chain state.
        guard_action: The guard's only safe action at the gate (never 0).
        cost: The explorer's cost per advance.

    Example:
        >>> layout = chain_layout(length=4, num_actions=3, seed=0)
        >>> len(layout.secret), layout.gate, layout.done
        (4, 4, 5)
    """

    length: int
    num_actions: int
    secret: tuple[int, ...]
    guard_action: int
    cost: float

    @property
    def start(self) -> int:
        """Index of the start state (chain state 0)."""
        return 0

    @property
    def gate(self) -> int:
        """Index of the gate, where the guard must play ``guard_action``."""
        return self.length

    @property
    def done(self) -> int:
        """Index of the terminal state."""
        return self.length + 1

    @property
    def num_states(self) -> int:
        """``length + 2`` states: the chain, the gate and ``done``."""
        return self.length + 2


def chain_layout(
    length: int = 8, num_actions: int = 2, *, cost: float = 0.01, seed: int = 0
) -> ChainLayout:
    """Draw the secret of a chain game (the layout :func:`make_chain_game` uses).

    Args:
        length: Number of chain states (>= 1).
        num_actions: Actions per player (>= 2).
        cost: The explorer's cost per advance (> 0).
        seed: Seed of the secret sequence (uniform over all actions) and of
            the guard's action (uniform over ``1 .. num_actions - 1``).

    Returns:
        The layout.

    Raises:
        ValueError: If an argument is out of range.
    """
    length = check_int("length", length, 1)
    num_actions = check_int("num_actions", num_actions, 2)
    cost = check_real("cost", cost, minimum=0.0, open_minimum=True)
    rng = np.random.default_rng(check_seed("seed", seed))
    secret = rng.integers(num_actions, size=length)
    guard_action = 1 + int(rng.integers(num_actions - 1))
    return ChainLayout(
        length, num_actions, tuple(secret.tolist()), guard_action, float(cost)
    )


def make_chain_game(
    length: int = 8,
    num_actions: int = 2,
    *,
    gamma: float = 0.95,
    horizon: int | None = None,
    cost: float = 0.01,
    seed: int = 0,
) -> TabularMarkovGame:
    """Build the chain game (rules and equilibrium in the module docstring).

    Args:
        length: Number of chain states ``N`` (>= 1): the secret has length ``N``.
        num_actions: Actions per player ``A`` (>= 2).
        gamma: Discount factor.
        horizon: Number of decision steps (>= ``length + 1``, so the gate's
            decision fits), or None for the discounted game.
        cost: The explorer's cost per advance (> 0).
        seed: Seed of the secret sequence and the guard's action.

    Returns:
        The model, with ``length + 2`` states and players ``("player_0",
        "player_1")`` = (guard, explorer).

    Raises:
        ValueError: If an argument is out of range.

    Example:
        >>> game = make_chain_game(length=3, num_actions=2, seed=0)
        >>> game.num_states, game.state_labels
        (5, ('chain 0', 'chain 1', 'chain 2', 'gate', 'done'))
    """
    layout = chain_layout(length, num_actions, cost=cost, seed=seed)
    if horizon is not None:
        try:
            horizon = check_int("horizon", horizon, layout.length + 1)
        except ValueError:
            raise ValueError(
                f"horizon must be None or an integer >= length + 1 = {layout.length + 1} "
                f"(the gate's decision must fit), got {horizon!r}"
            ) from None
    return _build_game(layout, gamma=gamma, horizon=horizon)


def _build_game(
    layout: ChainLayout, *, gamma: float, horizon: int | None
) -> TabularMarkovGame:
    n, num_a = layout.length, layout.num_actions
    num_s = layout.num_states
    secret = np.asarray(layout.secret)
    # Joint action a = a_guard * A + a_explorer; view as (S, A_guard, A_explorer).
    next_states = np.zeros((num_s, num_a, num_a), dtype=np.int64)
    rewards = np.zeros((2, num_s, num_a, num_a))

    chain = np.arange(n)
    advance = np.arange(num_a)[None, :] == secret[:, None]  # (N, A_explorer)
    next_states[:n] = np.where(advance, chain[:, None] + 1, layout.start)[:, None, :]
    rewards[1, :n] = np.where(advance, -layout.cost, 0.0)[:, None, :]

    next_states[layout.gate] = layout.done
    rewards[1, layout.gate] = np.where(
        np.arange(num_a) == layout.guard_action, 0.0, 1.0
    )[:, None]
    next_states[layout.done] = layout.done
    rewards[0] = -rewards[1]

    guard_mask = np.zeros((num_s, num_a), dtype=bool)
    guard_mask[:, 0] = True
    guard_mask[layout.gate] = True
    explorer_mask = np.zeros((num_s, num_a), dtype=bool)
    explorer_mask[:, 0] = True
    explorer_mask[:n] = True
    terminal = np.zeros(num_s, dtype=bool)
    terminal[layout.done] = True
    mu0 = np.zeros(num_s)
    mu0[layout.start] = 1.0
    labels = (*(f"chain {k}" for k in range(n)), "gate", "done")
    return TabularMarkovGame(
        num_actions=(num_a, num_a),
        next_states=next_states.reshape(num_s, num_a * num_a),
        next_probs=np.ones((num_s, num_a * num_a)),
        rewards=rewards.reshape(2, num_s, num_a * num_a),
        legal_masks=(guard_mask, explorer_mask),
        initial_distribution=mu0,
        gamma=gamma,
        horizon=horizon,
        terminal=terminal,
        name="chain",
        state_labels=labels,
    )


def exploit_gain(
    layout: ChainLayout,
    guard_error: float,
    *,
    gamma: float = 0.95,
    horizon: int | None = None,
) -> float:
    """The explorer's best-response gain against a guard that errs at the gate.

    Closed form of the module docstring: against a guard that plays a wrong
    action at the gate with probability ``guard_error`` and an explorer that
    never advances, the best response walks the secret sequence at once and
    gains ``max(0, q * gamma^N - cost * sum_{t<N} gamma^t)``. This is player_1's
    term of the Nash gap of such a profile (for any ``horizon >= N + 1``).

    Args:
        layout: The chain's layout.
        guard_error: Probability ``q`` of a wrong guard action at the gate.
        gamma: The game's discount factor.
        horizon: The game's horizon (only checked to be long enough).

    Returns:
        The gain (>= 0).

    Raises:
        ValueError: If ``guard_error`` is not a probability or ``horizon`` is
            shorter than ``length + 1``.

    Example:
        >>> layout = chain_layout(length=2, cost=0.01)
        >>> round(exploit_gain(layout, 1.0, gamma=1.0, horizon=3), 12)
        0.98
    """
    if not 0.0 <= guard_error <= 1.0:
        raise ValueError(f"guard_error must be a probability, got {guard_error!r}")
    if horizon is not None and horizon < layout.length + 1:
        raise ValueError(
            f"horizon must be >= length + 1 = {layout.length + 1}, got {horizon!r}"
        )
    n = layout.length
    walk_cost = layout.cost * (n if gamma == 1.0 else (1.0 - gamma**n) / (1.0 - gamma))
    return max(0.0, guard_error * gamma**n - walk_cost)


def default_max_cycles(length: int, horizon: int | None = None) -> int:
    """Default truncation of the chain envs: ``horizon``, else ``max(50, 2 (N + 1))``."""
    return horizon if horizon is not None else max(50, 2 * (length + 1))


_PARALLEL_DOC = """Parallel env of the chain game.

    Args:
        length: Passed to :func:`make_chain_game`.
        num_actions: Passed to :func:`make_chain_game`.
        gamma: Passed to :func:`make_chain_game`.
        horizon: Passed to :func:`make_chain_game`.
        cost: Passed to :func:`make_chain_game`.
        seed: Seed of the secret (not of the env's random stream, which
            ``reset(seed=...)`` sets; the chain is deterministic anyway).
        max_cycles: Truncation length; default :func:`default_max_cycles`.
        render_mode: ``"ansi"``, ``"rgb_array"``, ``"human"`` or None.
        illegal_action: As in :class:`~mail_envs.tabular_env.TabularParallelEnv`.
        illegal_reward: As in :class:`~mail_envs.tabular_env.TabularParallelEnv`.

    Attributes:
        layout: The game's :class:`ChainLayout` (its secret).

    Example:
        >>> env = ChainParallelEnv(length=2, num_actions=2, seed=0)
        >>> obs, infos = env.reset(seed=0)
        >>> s = env.layout.secret
        >>> _ = env.step({"player_0": 0, "player_1": s[0]})
        >>> _, rewards, terms, _, _ = env.step({"player_0": 0, "player_1": s[1]})
        >>> env.game.state_labels[env.state_index]
        'gate'
    """

_AEC_DOC = """AEC env of the chain game (PettingZoo's ``raw_env``).

    Takes the arguments of :class:`ChainParallelEnv`; :func:`env` wraps it in
    PettingZoo's order enforcement.
    """


def _layout_attribute(args: Mapping[str, Any]) -> dict[str, ChainLayout]:
    layout = chain_layout(
        args["length"], args["num_actions"], cost=args["cost"], seed=args["seed"]
    )
    return {"layout": layout}


def _default_max_cycles(game: TabularMarkovGame) -> int:
    # The chain's length + 2 states: the chain, the gate and done.
    return default_max_cycles(game.num_states - 2, game.horizon)


def _render_rgb(env: Any) -> np.ndarray:
    # The chain states, the gate and done, with the walker on the current one.
    return chain_image(env.layout.length, env.state_index)


_CLASSES = tabular_env_classes(
    make_chain_game,
    name="chain_v0",
    default_max_cycles=_default_max_cycles,
    attributes=_layout_attribute,
    class_names=("ChainAECEnv", "ChainParallelEnv"),
    render_rgb=_render_rgb,
    docs=(_AEC_DOC, _PARALLEL_DOC),
)
ChainAECEnv, ChainParallelEnv = _CLASSES

#: PettingZoo's entry points: ``raw_env`` is :class:`ChainAECEnv`, ``env``
#: wraps it in order enforcement, ``parallel_env`` builds a
#: :class:`ChainParallelEnv`; all take its arguments.
raw_env, env, parallel_env = env_factories_of(_CLASSES)
