"""PettingZoo envs (Parallel and AEC) that step any :class:`TabularMarkovGame`.

The env is the *Env* view of a game whose *Model* view is the
:class:`~mail_envs.core.TabularMarkovGame`: every step follows the model's
arrays exactly, so trajectories sampled from the env are trajectories of the
model (``tests/mail_envs/test_tabular_env.py`` checks this state by state).

Conventions, shared by :class:`TabularParallelEnv` and :class:`TabularAECEnv`:

* **Agents** are ``game.player_names``; an agent's index is its player index.
* **Observations** follow PettingZoo's classic games: a dict with
  ``"observation"`` (``game.observe(player, state)``: the one-hot state index as
  float32 by default, or the game's own observation array; boolean arrays are
  given as int8) and ``"action_mask"`` (int8, 1 for legal actions).
* **Actions** are ints in ``Discrete(A_i)``. An action outside the space (or
  not an integer) raises a :class:`ValueError` naming it.
* **Illegal actions** (inside the space, masked out in the current state)
  follow ``illegal_action``:

  - ``"lose"`` (default, PettingZoo's classic rule as implemented by
    ``pettingzoo.utils.wrappers.TerminateIllegalWrapper``): the episode ends at
    once, every agent is terminated, the state does not change, each agent that
    played an illegal action receives ``illegal_reward`` (default ``-1``) and
    every other agent ``0``; ``infos[agent]["illegal_action"]`` is True for the
    offenders. In the AEC env the joint action is never completed, so only the
    offending agent is punished.
  - ``"raise"``: a :class:`ValueError` naming the agent, the action and the
    legal actions; the env is left unchanged.

* **Randomness**: the initial state is drawn from ``game.initial_distribution``
  and stochastic successors from ``game.next_probs`` with one
  ``np.random.Generator``, re-seeded by ``reset(seed=...)``; ``reset()``
  without a seed continues the current stream. Deterministic transitions draw
  no random numbers.
* **Episode end**: reaching a ``game.terminal`` state terminates every agent;
  otherwise the episode is truncated after ``max_cycles`` joint steps
  (default: ``game.horizon`` if the game has one, else
  :data:`DEFAULT_MAX_CYCLES`). ``max_cycles`` is a plain attribute and may be
  changed between episodes.
* **Rewards** of a joint step are ``game.rewards[:, state, joint_action]``.
* ``env.game`` is the model, ``env.state_index`` the current state and
  ``infos[agent]["state"]`` the state after the last step (or reset).
* Render modes: ``"ansi"`` returns the state label (``game.state_labels`` or
  ``"state <index>"``) with the step count; ``"human"`` prints it.

The AEC env asks the agents one after another in ``possible_agents`` order and
applies the joint action once the last agent has acted (rewards are zero until
then), like PettingZoo's ``parallel_to_aec`` conversion.

### Version History

* v0: initial release.
"""

from __future__ import annotations

import operator
from typing import Any, ClassVar, Literal

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv

from mail_envs.core import TabularMarkovGame
from mail_envs.rendering import state_index_image

__all__ = [
    "DEFAULT_MAX_CYCLES",
    "TabularAECEnv",
    "TabularObservation",
    "TabularParallelEnv",
]

#: Truncation length of infinite-horizon games when neither the caller nor the
#: game gives one.
DEFAULT_MAX_CYCLES = 100

#: One agent's observation: ``{"observation": array, "action_mask": int8 array}``.
TabularObservation = dict[str, np.ndarray]

IllegalActionRule = Literal["lose", "raise"]


class _TabularEnvBase:
    """State and helpers shared by the Parallel and the AEC env."""

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi", "human", "rgb_array"],
        "name": "tabular_v0",
        "is_parallelizable": True,
        "render_fps": 4,
    }

    def _setup(
        self,
        game: TabularMarkovGame,
        *,
        max_cycles: int | None,
        render_mode: str | None,
        illegal_action: IllegalActionRule,
        illegal_reward: float,
    ) -> None:
        if not isinstance(game, TabularMarkovGame):
            raise TypeError(
                f"game must be a TabularMarkovGame, got {type(game).__name__}"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        if illegal_action not in ("lose", "raise"):
            raise ValueError(
                f"illegal_action must be 'lose' or 'raise', got {illegal_action!r}"
            )
        if not np.isfinite(illegal_reward):
            raise ValueError(f"illegal_reward must be finite, got {illegal_reward!r}")
        # Always an array after TabularMarkovGame.__post_init__.
        terminal = np.zeros(game.num_states, dtype=bool)
        if game.terminal is not None:
            terminal |= game.terminal
        start_terminal = np.flatnonzero((game.initial_distribution > 0) & terminal)
        if start_terminal.size:
            raise ValueError(
                "initial_distribution puts mass on terminal state "
                f"{int(start_terminal[0])}; an episode could not start"
            )
        self.game = game
        self._terminal = terminal
        self.max_cycles = _resolve_max_cycles(game, max_cycles)
        self.render_mode = render_mode
        self.illegal_action: IllegalActionRule = illegal_action
        self.illegal_reward = float(illegal_reward)
        self.possible_agents: list[str] = list(game.player_names)
        self._agent_index = {agent: i for i, agent in enumerate(self.possible_agents)}

        # Successor sampling: cumulative probabilities renormalised so that the
        # last entry of every row is exactly 1 (searchsorted never runs off).
        cum = np.cumsum(game.next_probs, axis=2)
        self._cum_probs = cum / cum[:, :, -1:]
        self._stochastic = game.next_states.shape[2] > 1
        self._masks = tuple(m.astype(np.int8) for m in game.legal_masks)
        # Row-major strides of the joint-action index (joint_action_index).
        self._strides = tuple(
            int(np.prod(game.num_actions[i + 1 :])) for i in range(game.num_players)
        )

        self._observation_spaces: dict[str, spaces.Dict] = {}
        self._action_spaces: dict[str, spaces.Discrete] = {}
        for i, agent in enumerate(self.possible_agents):
            self._observation_spaces[agent] = spaces.Dict(
                {
                    "observation": _observation_box(game, i),
                    "action_mask": spaces.Box(
                        0, 1, shape=(game.num_actions[i],), dtype=np.int8
                    ),
                }
            )
            self._action_spaces[agent] = spaces.Discrete(game.num_actions[i])
        self.state_space = spaces.Box(
            0.0, 1.0, shape=(game.num_states,), dtype=np.float32
        )

        self._rng: np.random.Generator | None = None
        self._state: int | None = None
        self._num_steps = 0

    # ------------------------------------------------------------- interface
    def observation_space(self, agent: str) -> spaces.Dict:
        """The ``Dict(observation, action_mask)`` space of ``agent``."""
        return self._observation_spaces[self._check_agent(agent)]

    def action_space(self, agent: str) -> spaces.Discrete:
        """The ``Discrete(A_i)`` action space of ``agent``."""
        return self._action_spaces[self._check_agent(agent)]

    @property
    def state_index(self) -> int:
        """Index of the current state of the model.

        Raises:
            RuntimeError: Before the first ``reset``.
        """
        if self._state is None:
            raise RuntimeError("the env has no state before reset() is called")
        return self._state

    @property
    def num_steps(self) -> int:
        """Joint steps taken since the last ``reset``."""
        return self._num_steps

    def state(self) -> np.ndarray:
        """Global state: the one-hot state index (float32, ``(S,)``)."""
        out = np.zeros(self.game.num_states, dtype=np.float32)
        out[self.state_index] = 1.0
        return out

    def render(self) -> str | np.ndarray | None:
        """Render the current state.

        ``"ansi"`` returns it as text, ``"human"`` prints the text, and
        ``"rgb_array"`` returns an ``(H, W, 3)`` uint8 picture: the game's own
        (Gridworld, chain) or one cell per state with the current state marked.
        """
        if self.render_mode is None:
            gymnasium.logger.warn(
                "render() was called without a render_mode; pass render_mode='ansi', "
                "'rgb_array' or 'human' to the env"
            )
            return None
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        labels = self.game.state_labels
        state = self.state_index
        label = labels[state] if labels is not None else f"state {state}"
        text = f"step {self._num_steps}: {label}"
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def _render_rgb(self) -> np.ndarray:
        """The ``rgb_array`` picture; games with a geometry override it."""
        return state_index_image(
            self.game.num_states, self.state_index, terminal=self._terminal
        )

    def close(self) -> None:
        """Release resources (the env holds none)."""

    # --------------------------------------------------------------- helpers
    def _check_agent(self, agent: str) -> str:
        if agent not in self._agent_index:
            raise ValueError(
                f"unknown agent {agent!r}; agents are {self.possible_agents}"
            )
        return agent

    def _seed(self, seed: int | None) -> np.random.Generator:
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        return self._rng

    def _reset_state(self, seed: int | None) -> int:
        rng = self._seed(seed)
        mu0 = self.game.initial_distribution
        support = np.flatnonzero(mu0 > 0)
        if support.size == 1:
            state = int(support[0])
        else:
            cum = np.cumsum(mu0)
            state = int(np.searchsorted(cum / cum[-1], rng.random(), side="right"))
        self._state = state
        self._num_steps = 0
        return state

    def _observe_state(self, agent: str) -> TabularObservation:
        i = self._agent_index[agent]
        state = self.state_index
        if self.game.observations is None:
            obs = np.zeros(self.game.num_states, dtype=np.float32)
            obs[state] = 1.0
        else:
            obs = np.array(self.game.observations[i][state])
            if obs.dtype == np.bool_:
                obs = obs.astype(np.int8)
        return {
            "observation": obs,
            "action_mask": self._masks[i][state].copy(),
        }

    def _check_action(self, agent: str, action: Any) -> int:
        """Validate that ``action`` lies in ``agent``'s action space; return it as int."""
        n = self.game.num_actions[self._agent_index[agent]]
        try:
            if isinstance(action, bool | np.bool_):
                raise TypeError
            value = operator.index(action)
        except TypeError:
            raise ValueError(
                f"action {action!r} of {agent} is not an integer in Discrete({n})"
            ) from None
        if not 0 <= value < n:
            raise ValueError(f"action {action!r} of {agent} is not in Discrete({n})")
        return value

    def _is_legal(self, agent: str, action: int) -> bool:
        legal = self.game.legal_masks[self._agent_index[agent]][
            self.state_index, action
        ]
        if not legal and self.illegal_action == "raise":
            mask = self.game.legal_masks[self._agent_index[agent]][self.state_index]
            raise ValueError(
                f"action {action} of {agent} is illegal in state {self.state_index}; "
                f"legal actions are {np.flatnonzero(mask).tolist()}"
            )
        return bool(legal)

    def _transition(self, actions: tuple[int, ...]) -> tuple[int, np.ndarray]:
        """Apply a joint action: return the next state and the rewards ``(n,)``."""
        game = self.game
        state = self.state_index
        joint = sum(
            a * stride for a, stride in zip(actions, self._strides, strict=True)
        )
        k = 0
        if self._stochastic:
            assert self._rng is not None  # set by reset()
            k = int(
                np.searchsorted(
                    self._cum_probs[state, joint], self._rng.random(), side="right"
                )
            )
        next_state = int(game.next_states[state, joint, k])
        rewards = game.rewards[:, state, joint]
        self._state = next_state
        self._num_steps += 1
        return next_state, rewards

    def _episode_over(self) -> tuple[bool, bool]:
        """``(terminated, truncated)`` for the current state and step count."""
        terminated = bool(self._terminal[self.state_index])
        truncated = not terminated and self._num_steps >= self.max_cycles
        return terminated, truncated


def _resolve_max_cycles(game: TabularMarkovGame, max_cycles: int | None) -> int:
    if max_cycles is None:
        return game.horizon if game.horizon is not None else DEFAULT_MAX_CYCLES
    if isinstance(max_cycles, bool) or int(max_cycles) != max_cycles or max_cycles < 1:
        raise ValueError(
            f"max_cycles must be a positive integer or None, got {max_cycles!r}"
        )
    return int(max_cycles)


def _observation_box(game: TabularMarkovGame, player: int) -> spaces.Box:
    if game.observations is None:
        return spaces.Box(0.0, 1.0, shape=(game.num_states,), dtype=np.float32)
    obs = game.observations[player]
    if obs.dtype == np.bool_:
        return spaces.Box(0, 1, shape=obs.shape[1:], dtype=np.int8)
    if not np.issubdtype(obs.dtype, np.number):
        raise TypeError(
            f"observations[{player}] must be numeric or boolean, got dtype {obs.dtype}"
        )
    low, high = obs.min(), obs.max()
    return spaces.Box(low, high, shape=obs.shape[1:], dtype=obs.dtype)


class TabularParallelEnv(_TabularEnvBase, ParallelEnv[str, TabularObservation, int]):
    """PettingZoo ``ParallelEnv`` whose every step follows a :class:`TabularMarkovGame`.

    See the module docstring for the observation, action, illegal-action,
    seeding and episode-end conventions.

    Args:
        game: The model to step.
        max_cycles: Joint steps after which the episode is truncated; default
            ``game.horizon``, or :data:`DEFAULT_MAX_CYCLES` for infinite-horizon
            games.
        render_mode: ``"ansi"``, ``"rgb_array"``, ``"human"`` or None.
        illegal_action: ``"lose"`` (PettingZoo's classic rule) or ``"raise"``.
        illegal_reward: Reward of an agent whose illegal action ends the game
            under the ``"lose"`` rule.

    Raises:
        ValueError: If ``max_cycles``, ``render_mode`` or ``illegal_action`` is
            invalid, or the game can start in a terminal state.

    Example:
        >>> from mail_envs.gridworld import make_gridworld_game
        >>> env = TabularParallelEnv(make_gridworld_game(), max_cycles=10)
        >>> obs, infos = env.reset(seed=0)
        >>> obs, rewards, terms, truncs, infos = env.step({"player_0": 2, "player_1": 1})
        >>> env.game.state_labels[env.state_index]
        'p0=(1,2) p1=(0,1)'
    """

    def __init__(
        self,
        game: TabularMarkovGame,
        *,
        max_cycles: int | None = None,
        render_mode: str | None = None,
        illegal_action: IllegalActionRule = "lose",
        illegal_reward: float = -1.0,
    ) -> None:
        self._setup(
            game,
            max_cycles=max_cycles,
            render_mode=render_mode,
            illegal_action=illegal_action,
            illegal_reward=illegal_reward,
        )
        self.agents: list[str] = []

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, TabularObservation], dict[str, dict[str, Any]]]:
        """Start an episode in a state drawn from ``game.initial_distribution``.

        Args:
            seed: Re-seeds the env's generator; None continues the current stream.
            options: Ignored.

        Returns:
            Observations and infos (``{"state": index}``) of every agent.
        """
        state = self._reset_state(seed)
        self.agents = self.possible_agents[:]
        observations = {agent: self._observe_state(agent) for agent in self.agents}
        return observations, {agent: {"state": state} for agent in self.agents}

    def step(
        self, actions: dict[str, int]
    ) -> tuple[
        dict[str, TabularObservation],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Apply one joint action.

        Args:
            actions: One action per live agent.

        Returns:
            ``(observations, rewards, terminations, truncations, infos)`` of the
            agents that were live before the step; they are all removed from
            ``agents`` when the episode ends.

        Raises:
            RuntimeError: If no episode is running (call ``reset()``).
            ValueError: If an agent's action is missing, unknown, outside its
                space, or illegal under ``illegal_action="raise"``.
        """
        if not self.agents:
            raise RuntimeError("step() called with no live agents; call reset() first")
        missing = [agent for agent in self.agents if agent not in actions]
        extra = [agent for agent in actions if agent not in self._agent_index]
        if missing or extra:
            raise ValueError(
                f"actions must hold one action per agent {self.agents}; missing "
                f"{missing}, unknown {extra}"
            )
        chosen = tuple(
            self._check_action(agent, actions[agent]) for agent in self.agents
        )
        legal = [
            self._is_legal(agent, a)
            for agent, a in zip(self.agents, chosen, strict=True)
        ]
        live = self.agents
        if not all(legal):
            state = self.state_index
            rewards = {
                agent: 0.0 if ok else self.illegal_reward
                for agent, ok in zip(live, legal, strict=True)
            }
            infos = {
                agent: {"state": state, "illegal_action": not ok}
                for agent, ok in zip(live, legal, strict=True)
            }
            terminated, truncated = True, False
        else:
            state, reward_vector = self._transition(chosen)
            rewards = {agent: float(reward_vector[i]) for i, agent in enumerate(live)}
            infos = {agent: {"state": state} for agent in live}
            terminated, truncated = self._episode_over()
        observations = {agent: self._observe_state(agent) for agent in live}
        terminations = dict.fromkeys(live, terminated)
        truncations = dict.fromkeys(live, truncated)
        if terminated or truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos


class TabularAECEnv(_TabularEnvBase, AECEnv[str, TabularObservation, int]):
    """PettingZoo ``AECEnv`` over a :class:`TabularMarkovGame`.

    The agents act one after another in ``possible_agents`` order; the joint
    action is applied when the last agent has acted, and its rewards are
    credited to every agent at that moment. See the module docstring for the
    remaining conventions.

    Args:
        game: The model to step.
        max_cycles: Joint steps (one action of every agent) after which the
            episode is truncated; default ``game.horizon``, or
            :data:`DEFAULT_MAX_CYCLES` for infinite-horizon games.
        render_mode: ``"ansi"``, ``"rgb_array"``, ``"human"`` or None.
        illegal_action: ``"lose"`` (PettingZoo's classic rule) or ``"raise"``.
        illegal_reward: Reward of an agent whose illegal action ends the game
            under the ``"lose"`` rule.

    Raises:
        ValueError: If ``max_cycles``, ``render_mode`` or ``illegal_action`` is
            invalid, or the game can start in a terminal state.

    Example:
        >>> from mail_envs.chain import make_chain_game
        >>> env = TabularAECEnv(make_chain_game(length=3))
        >>> env.reset(seed=0)
        >>> for agent in env.agent_iter(4):
        ...     obs, reward, terminated, truncated, info = env.last()
        ...     env.step(int(obs["action_mask"].argmax()))
        >>> env.num_steps
        2
    """

    def __init__(
        self,
        game: TabularMarkovGame,
        *,
        max_cycles: int | None = None,
        render_mode: str | None = None,
        illegal_action: IllegalActionRule = "lose",
        illegal_reward: float = -1.0,
    ) -> None:
        super().__init__()
        self._setup(
            game,
            max_cycles=max_cycles,
            render_mode=render_mode,
            illegal_action=illegal_action,
            illegal_reward=illegal_reward,
        )
        self.agents: list[str] = []
        self._pending: dict[str, int] = {}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> None:
        """Start an episode in a state drawn from ``game.initial_distribution``.

        Args:
            seed: Re-seeds the env's generator; None continues the current stream.
            options: Ignored.
        """
        state = self._reset_state(seed)
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {agent: {"state": state} for agent in self.agents}
        self._pending = {}
        self.agent_selection = self.agents[0]
        self._skip_agent_selection = None

    def observe(self, agent: str) -> TabularObservation:
        """Observation and action mask of ``agent`` in the current state."""
        return self._observe_state(self._check_agent(agent))

    def step(self, action: int | None) -> None:
        """Record the selected agent's action; after the last agent, apply them all.

        Args:
            action: The selected agent's action (None once it is done).

        Raises:
            ValueError: If the action is outside the agent's space, or illegal
                under ``illegal_action="raise"``.
        """
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        chosen = self._check_action(agent, action)
        legal = self._is_legal(agent, chosen)
        self._cumulative_rewards[agent] = 0.0
        if not legal:
            self._end_by_illegal_action(agent)
            return
        self._pending[agent] = chosen
        index = self._agent_index[agent]
        if index == len(self.possible_agents) - 1:
            joint = tuple(self._pending[a] for a in self.possible_agents)
            self._pending = {}
            state, reward_vector = self._transition(joint)
            terminated, truncated = self._episode_over()
            for i, name in enumerate(self.possible_agents):
                self.rewards[name] = float(reward_vector[i])
                self.terminations[name] = terminated
                self.truncations[name] = truncated
                self.infos[name] = {"state": state}
        else:
            self._clear_rewards()
        self.agent_selection = self.possible_agents[
            (index + 1) % len(self.possible_agents)
        ]
        self._accumulate_rewards()

    def _end_by_illegal_action(self, offender: str) -> None:
        state = self.state_index
        for agent in self.agents:
            self.rewards[agent] = self.illegal_reward if agent == offender else 0.0
            self.terminations[agent] = True
            self.infos[agent] = {"state": state, "illegal_action": agent == offender}
        self._pending = {}
        self._accumulate_rewards()
        self._deads_step_first()
