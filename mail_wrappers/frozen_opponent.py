"""A PettingZoo env seen by one agent: everybody else plays a frozen policy.

:class:`FrozenOpponentWrapper` turns a PettingZoo env (AEC or Parallel) into a
``gymnasium.Env`` for one *controlled* agent. Every other agent acts from a
given policy: an expert, any batched policy
(:class:`mail_envs.core.BatchedPolicy`), ``"uniform"`` (uniform over legal
actions) or ``"expert"`` (play the ``info["expert_action"]`` that an
:class:`~mail_wrappers.expert_query.ExpertQueryWrapper` underneath put in the
opponent's info, so the move played is the move labelled; a forced move,
which the query wrapper does not label, is played as it is).

* Turn-based (AEC) games: the opponents' turns are played inside ``step``,
  and inside ``reset`` when the controlled agent does not move first; the
  controlled agent's reward is everything it received since its last move
  (PettingZoo's cumulative reward). The episode ends when the controlled agent
  is terminated or truncated.
* Parallel games: opponents' actions are drawn for the same step.

The observation space is the controlled agent's (``Dict`` with an
``action_mask`` for board games), and :meth:`FrozenOpponentWrapper.action_masks`
makes sb3-contrib's ``MaskablePPO`` work unchanged. With
``flatten_observation=True`` the observation is the ``"observation"`` entry
only (for SB3 ``DQN``/``PPO``) and the mask goes to ``info["action_mask"]``.

The info of every ``reset``/``step`` is the controlled agent's info from the
env (so expert labels from an ``ExpertQueryWrapper`` underneath appear there),
plus ``"opponent_actions"`` and ``"opponent_probs"``: the opponents' actions
and the distributions they were drawn from since the controlled agent's last
move (``{agent: [action, ...]}``, ``{agent: [probs, ...]}``), and
``"action_mask"``. The optional ``on_opponent_action`` callback sees each
opponent move as it is played.

Seeding: ``reset(seed=s)`` passes ``s`` unchanged to the env and reseeds the
opponents' generator with a child stream of ``s`` of its own (see
:func:`~mail_wrappers._policy.component_rng`), independent of the env's and of
an ``ExpertQueryWrapper``'s draws; the same seed and the same controlled
actions reproduce the episode.

### Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import gymnasium
import numpy as np
from pettingzoo.utils.env import AECEnv, ParallelEnv

from mail_envs.core import BatchedPolicy
from mail_wrappers._policy import (
    act_one,
    call_policy,
    component_rng,
    num_discrete_actions,
    sample_actions,
    split_observation,
)

__all__ = ["FrozenOpponentWrapper", "OpponentPolicy", "uniform_policy"]

#: What an opponent can play: a batched policy, ``"uniform"`` or ``"expert"``.
OpponentPolicy = BatchedPolicy | Literal["uniform", "expert"]

#: Names the opponents' stream (see :func:`~mail_wrappers._policy.component_rng`).
_RNG_COMPONENT = "mail_wrappers.frozen_opponent"

OpponentCallback = Callable[[Any, np.ndarray, np.ndarray, int, np.ndarray], None]

#: The opponents' moves since the controlled agent's last one: actions and
#: probabilities per agent (``info["opponent_actions"]``/``["opponent_probs"]``).
_Moves = tuple[dict[Any, list[int]], dict[Any, list[np.ndarray]]]


def uniform_policy(observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
    """Uniform distribution over the legal actions (a batched policy).

    Example:
        >>> uniform_policy(np.zeros((1, 2)), np.array([[True, False, True]]))
        array([[0.5, 0. , 0.5]])
    """
    masks = np.asarray(action_masks, dtype=np.float64)
    return masks / masks.sum(axis=1, keepdims=True)


class FrozenOpponentWrapper(gymnasium.Env):
    """Single-agent Gymnasium view of a PettingZoo env with frozen opponents.

    Args:
        env: A PettingZoo ``AECEnv`` or ``ParallelEnv`` with ``Discrete``
            action spaces.
        controlled_agent: The agent the Gymnasium user controls.
        opponent: The policy of every other agent, or a mapping from agent to
            policy (see module docstring).
        flatten_observation: Return only the ``"observation"`` entry of a
            ``Dict`` observation (mask in ``info["action_mask"]``).
        on_opponent_action: Called as ``fn(agent, observation, mask, action,
            probs)`` for every opponent move.
        seed: Seed of the opponents' generator until ``reset(seed=...)``.

    Raises:
        ValueError: If ``controlled_agent`` is not a possible agent, or an
            opponent has no policy.
        TypeError: If ``env`` is not a PettingZoo env, a policy is neither
            callable nor ``"uniform"``/``"expert"``, or an action space is not
            ``Discrete``.

    Example:
        >>> from pettingzoo.classic import tictactoe_v3
        >>> env = FrozenOpponentWrapper(
        ...     tictactoe_v3.env(), "player_2", opponent="uniform"
        ... )
        >>> obs, info = env.reset(seed=0)
        >>> len(info["opponent_actions"]["player_1"])  # player_1 opened
        1
        >>> int(obs["action_mask"].sum())
        8
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        env: AECEnv | ParallelEnv,
        controlled_agent: Any,
        opponent: OpponentPolicy | Mapping[Any, OpponentPolicy] = "uniform",
        *,
        flatten_observation: bool = False,
        on_opponent_action: OpponentCallback | None = None,
        seed: int | None = None,
    ) -> None:
        if isinstance(env, AECEnv):
            self._parallel = False
        elif isinstance(env, ParallelEnv):
            self._parallel = True
        else:
            raise TypeError(
                f"env must be a PettingZoo AECEnv or ParallelEnv, got {type(env).__name__}"
            )
        possible = list(env.possible_agents)
        if controlled_agent not in possible:
            raise ValueError(
                f"controlled_agent {controlled_agent!r} is not among possible_agents "
                f"{possible!r}"
            )
        self.env = env
        self.controlled_agent = controlled_agent
        self.opponents = [a for a in possible if a != controlled_agent]
        self._policies: dict[Any, Any] = {}
        for agent in self.opponents:
            if isinstance(opponent, Mapping) and agent not in opponent:
                raise ValueError(f"opponent mapping has no policy for agent {agent!r}")
            pol = opponent[agent] if isinstance(opponent, Mapping) else opponent
            if isinstance(pol, str) and pol == "uniform":
                pol = uniform_policy
            elif not ((isinstance(pol, str) and pol == "expert") or callable(pol)):
                raise TypeError(
                    f"policy of opponent {agent!r} must be a batched policy, "
                    f"'uniform' or 'expert', got {pol!r}"
                )
            self._policies[agent] = pol
        self._num_actions = {
            a: num_discrete_actions(env.action_space(a), a) for a in possible
        }
        self.flatten_observation = bool(flatten_observation)
        self.on_opponent_action = on_opponent_action
        space = env.observation_space(controlled_agent)
        if flatten_observation:
            if not (
                isinstance(space, gymnasium.spaces.Dict)
                and "observation" in space.spaces
            ):
                raise ValueError(
                    "flatten_observation=True needs a Dict observation space with an "
                    f"'observation' entry, got {space!r}"
                )
            space = space["observation"]
        self.observation_space = space
        self._discrete_observation = isinstance(space, gymnasium.spaces.Discrete)
        self.action_space = env.action_space(controlled_agent)
        self.render_mode = getattr(env, "render_mode", None)
        env_metadata = getattr(env, "metadata", None) or {}
        self.metadata = {
            "render_modes": list(env_metadata.get("render_modes", [])),
            "render_fps": env_metadata.get("render_fps", 4),
        }
        self._rng = component_rng(seed, _RNG_COMPONENT)
        self._mask = np.ones(self._num_actions[controlled_agent], dtype=bool)
        self._done = True

    # ---------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the game and play the opponents up to the controlled agent's turn."""
        super().reset(seed=seed)
        if seed is not None:
            self._rng = component_rng(seed, _RNG_COMPONENT)
        moves: _Moves = ({}, {})
        if self._parallel:
            obs, infos = self.env.reset(seed=seed, options=options)
            if self.controlled_agent not in obs:
                raise RuntimeError(
                    f"controlled agent {self.controlled_agent!r} is not alive after reset"
                )
            self._obs, self._parallel_infos = obs, infos
            observation, info = (
                obs[self.controlled_agent],
                infos.get(self.controlled_agent, {}),
            )
        else:
            self.env.reset(seed=seed, options=options)
            self._play_opponents_aec(moves)
            agent = self.controlled_agent
            if self.env.terminations.get(agent) or self.env.truncations.get(agent):
                raise RuntimeError(
                    f"the episode ended before controlled agent {agent!r} could move"
                )
            observation, info = self.env.observe(agent), self.env.infos.get(agent, {})
        self._done = False
        return self._output(observation, info, moves)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Play the controlled agent's action, then the opponents'."""
        if self._done:
            raise RuntimeError(
                "step() called on a finished episode; call reset() first"
            )
        moves: _Moves = ({}, {})
        agent = self.controlled_agent
        if self._parallel:
            actions = self._opponent_actions_parallel(moves)
            actions[agent] = action
            obs, rewards, terms, truncs, infos = self.env.step(actions)
            self._obs, self._parallel_infos = obs, infos
            reward = float(rewards.get(agent, 0.0))
            terminated, truncated = bool(terms.get(agent)), bool(truncs.get(agent))
            if agent not in self.env.agents and not (terminated or truncated):
                terminated = True
            observation = obs[agent] if agent in obs else self._last_observation
            info = infos.get(agent, {})
        else:
            env = self.env
            if env.agent_selection != agent:
                raise RuntimeError(
                    f"it is {env.agent_selection!r}'s turn, not controlled agent "
                    f"{agent!r}'s"
                )
            env.step(action)
            self._play_opponents_aec(moves)
            reward = float(env._cumulative_rewards.get(agent, 0.0))
            terminations = env.terminations
            terminated = bool(
                terminations[agent]
                if agent in terminations
                else agent not in env.agents
            )
            truncated = bool(env.truncations.get(agent, False))
            observation, info = env.observe(agent), env.infos.get(agent, {})
        self._done = terminated or truncated
        out_obs, out_info = self._output(observation, info, moves)
        return out_obs, reward, terminated, truncated, out_info

    def action_masks(self) -> np.ndarray:
        """Boolean legal-action mask of the controlled agent (for MaskablePPO)."""
        return self._mask.copy()

    def render(self) -> Any:
        """Render the wrapped env (its ``render_mode``, e.g. an ``rgb_array``)."""
        return self.env.render()

    def close(self) -> None:
        """Close the wrapped env."""
        self.env.close()

    # -------------------------------------------------------------- internals
    def _output(
        self, observation: Any, info: Mapping[str, Any], moves: _Moves
    ) -> tuple[Any, dict[str, Any]]:
        _, self._mask = split_observation(
            observation,
            info,
            self._num_actions[self.controlled_agent],
            require_legal=False,
        )
        self._last_observation = observation
        out = dict(info)
        out["action_mask"] = self._mask.copy()
        out["opponent_actions"], out["opponent_probs"] = moves
        if self.flatten_observation:
            observation = observation["observation"]
        elif self._discrete_observation:
            observation = int(observation)
        return observation, out

    def _act(
        self, agents: list[Any], observations: list[Any], infos: list[Mapping[str, Any]]
    ) -> list[int]:
        """Draw actions of opponents (batched per distinct policy and shapes)."""
        split = [
            split_observation(o, i, self._num_actions[a], require_legal=False)
            for a, o, i in zip(agents, observations, infos, strict=True)
        ]
        actions = [0] * len(agents)
        probs_out: list[np.ndarray] = [np.empty(0)] * len(agents)
        groups: dict[tuple[int, tuple[int, ...], tuple[int, ...]], list[int]] = {}
        for k, a in enumerate(agents):
            pol = self._policies[a]
            if not split[k][1].any():
                # No legal action: not this agent's turn in a turn-based
                # Parallel env (PettingZoo's conversion); its action is ignored.
                probs_out[k] = np.zeros(self._num_actions[a])
                continue
            if isinstance(pol, str):  # "expert": replay the label underneath
                mask = split[k][1]
                if "expert_action" not in infos[k] and np.count_nonzero(mask) == 1:
                    # a forced move is not queried (skip_forced): play it
                    actions[k] = int(np.flatnonzero(mask)[0])
                    probs_out[k] = mask.astype(np.float64)
                    continue
                if "expert_action" not in infos[k]:
                    raise RuntimeError(
                        f"opponent {a!r} plays 'expert' but its info has no "
                        "'expert_action'; wrap the env in an ExpertQueryWrapper that "
                        "queries this agent (with a budget that is not exhausted)"
                    )
                actions[k] = int(infos[k]["expert_action"])
                probs_out[k] = np.asarray(infos[k]["expert_probs"], dtype=np.float64)
            else:
                # stack only agents whose observations and masks match in shape
                key = (id(pol), split[k][0].shape, split[k][1].shape)
                groups.setdefault(key, []).append(k)
        for idx in groups.values():
            pol = self._policies[agents[idx[0]]]
            name = f"policy of {agents[idx[0]]!r}"
            if len(idx) == 1:  # one row: the same draw, on plain floats
                k = idx[0]
                probs_out[k], actions[k] = act_one(
                    pol, split[k][0], split[k][1], self._rng, name=name
                )
                continue
            obs = np.stack([split[k][0] for k in idx])
            masks = np.stack([split[k][1] for k in idx])
            probs = call_policy(pol, obs, masks, name=name)
            drawn = sample_actions(probs, self._rng)
            for j, k in enumerate(idx):
                actions[k] = int(drawn[j])
                probs_out[k] = probs[j]
        if self.on_opponent_action is not None:
            for k, a in enumerate(agents):
                self.on_opponent_action(
                    a, split[k][0], split[k][1], actions[k], probs_out[k]
                )
        self._last_probs = probs_out
        return actions

    def _play_opponents_aec(self, moves: _Moves) -> None:
        env = self.env
        me = self.controlled_agent
        actions, probs_played = moves
        while env.agents:
            agent = env.agent_selection
            if agent == me:
                return
            terminations, truncations = env.terminations, env.truncations
            if terminations.get(me) or truncations.get(me):
                return
            if terminations.get(agent) or truncations.get(agent):
                env.step(None)
                continue
            info = env.infos[agent]
            if (
                "expert_action" in info
                and self.on_opponent_action is None
                and isinstance(self._policies[agent], str)
            ):  # replay the label underneath: nothing to compute
                action = int(info["expert_action"])
                probs = info["expert_probs"]
            else:
                (action,) = self._act([agent], [env.observe(agent)], [info])
                probs = self._last_probs[0]
            if agent in actions:
                actions[agent].append(action)
                probs_played[agent].append(probs)
            else:
                actions[agent], probs_played[agent] = [action], [probs]
            env.step(action)

    def _opponent_actions_parallel(self, moves: _Moves) -> dict[Any, Any]:
        live = [a for a in self.env.agents if a != self.controlled_agent]
        if not live:
            return {}
        actions = self._act(
            live,
            [self._obs[a] for a in live],
            [self._parallel_infos.get(a, {}) for a in live],
        )
        for a, act, p in zip(live, actions, self._last_probs, strict=True):
            moves[0][a], moves[1][a] = [act], [p]
        return dict(zip(live, actions, strict=True))
