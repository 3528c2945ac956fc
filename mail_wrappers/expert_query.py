"""Ask an expert what it would do, every time a chosen agent is to act.

:class:`ExpertQueryWrapper` wraps a PettingZoo AEC env and
:class:`ParallelExpertQueryWrapper` a Parallel env. Whenever an agent the user
named is to act, the wrapper calls the expert (a batched policy, see
:class:`mail_envs.core.BatchedPolicy`) on that agent's observation and action
mask and writes the answer into the agent's info:

* ``info["expert_probs"]``: the expert's ``(A,)`` float64 action distribution;
* ``info["expert_action"]``: an action sampled from it (seeded generator,
  reseeded by ``reset(seed=...)``). The generator draws from a child stream of
  the seed of its own (see :func:`~mail_wrappers._policy.component_rng`), so it
  is independent of the wrapped env's generator, which gets the seed unchanged.

"To act" means: in an AEC env, being ``agent_selection`` and neither
terminated nor truncated; in a Parallel env, being alive with at least one
legal action (PettingZoo's turn-based Parallel conversion gives the agent not
to move an all-zero mask). A state with a single legal action is no decision; by
default (``skip_forced=True``) it is not queried, so the turn-based
``Parallel`` view of a board game queries only the mover.

Queries are counted per agent and in total, and a budget can cap them: with
``on_budget_exhausted="raise"`` a query past the budget raises
:class:`ExpertBudgetExhaustedError`; with ``"flag"`` no more queries are made
and the info carries ``info["expert_budget_exhausted"] = True`` instead.

Each query can also go to a recorder (``recorder.add(...)``, see
:class:`mail_wrappers.recorder.ExpertLabelRecorder`) to build a dataset.

### Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol

import numpy as np
from pettingzoo.utils.env import ActionType, AECEnv, AgentID, ObsType, ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper, BaseWrapper

from mail_envs.core import BatchedPolicy
from mail_wrappers._policy import (
    act_one,
    call_policy,
    component_rng,
    num_discrete_actions,
    sample_actions,
    split_observation,
)

__all__ = [
    "ExpertBudgetExhaustedError",
    "ExpertQueryWrapper",
    "LabelSink",
    "ParallelExpertQueryWrapper",
]


class ExpertBudgetExhaustedError(RuntimeError):
    """Raised when an expert query is needed but the query budget is spent."""


class LabelSink(Protocol):
    """Where expert labels go (e.g. :class:`~mail_wrappers.recorder.ExpertLabelRecorder`)."""

    def add(
        self,
        *,
        observation: np.ndarray,
        action_mask: np.ndarray,
        expert_action: int,
        expert_probs: np.ndarray,
        agent: str,
        episode: int,
        step: int,
    ) -> None: ...


_BUDGET_MODES = ("raise", "flag")

#: Names the expert-sampling stream (see :func:`~mail_wrappers._policy.component_rng`).
_RNG_COMPONENT = "mail_wrappers.expert_query"


class _QueryEngine:
    """The env-independent part: which agents, which expert, budget, rng."""

    def __init__(
        self,
        expert: BatchedPolicy | Mapping[Any, BatchedPolicy],
        agents: Iterable[Any] | None,
        possible_agents: list[Any],
        query_budget: int | None,
        on_budget_exhausted: str,
        skip_forced: bool,
        recorder: LabelSink | None,
        seed: int | None,
    ) -> None:
        queried = list(possible_agents) if agents is None else list(agents)
        unknown = [a for a in queried if a not in possible_agents]
        if unknown:
            raise ValueError(
                f"agents {unknown!r} are not among possible_agents {possible_agents!r}"
            )
        if isinstance(expert, Mapping):
            missing = [a for a in queried if a not in expert]
            if missing:
                raise ValueError(f"expert mapping has no policy for agents {missing!r}")
            self.experts = {a: expert[a] for a in queried}
        elif callable(expert):
            self.experts = dict.fromkeys(queried, expert)
        else:
            raise TypeError(
                "expert must be a batched policy (callable) or a mapping from agent "
                f"to policy, got {type(expert).__name__}"
            )
        for a, e in self.experts.items():
            if not callable(e):
                raise TypeError(f"expert of agent {a!r} is not callable: {e!r}")
        if query_budget is not None and (
            int(query_budget) != query_budget or query_budget < 0
        ):
            raise ValueError(
                f"query_budget must be a non-negative integer or None, got "
                f"{query_budget!r}"
            )
        if on_budget_exhausted not in _BUDGET_MODES:
            raise ValueError(
                f"on_budget_exhausted must be one of {_BUDGET_MODES}, got "
                f"{on_budget_exhausted!r}"
            )
        self.queried = frozenset(queried)
        self.query_budget = None if query_budget is None else int(query_budget)
        self.on_budget_exhausted = on_budget_exhausted
        self.skip_forced = bool(skip_forced)
        self.recorder = recorder
        self.query_counts: dict[Any, int] = dict.fromkeys(queried, 0)
        self.total_queries = 0
        self.rng = component_rng(seed, _RNG_COMPONENT)
        self.episode = -1
        self.step = 0

    def reset(self, seed: int | None) -> None:
        if seed is not None:
            self.rng = component_rng(seed, _RNG_COMPONENT)
        self.episode += 1
        self.step = 0

    def label(
        self, pending: list[tuple[Any, np.ndarray, np.ndarray]]
    ) -> dict[Any, dict[str, Any]]:
        """Query the experts for ``(agent, observation, mask)`` triples.

        Returns the entries to merge into each agent's info.
        """
        if len(pending) == 1:  # the common turn-based case
            agent, obs, mask = pending[0]
            entries = self.label_one(agent, obs, mask, int(np.count_nonzero(mask)))
            return {} if entries is None else {agent: entries}
        if self.skip_forced:
            pending = [p for p in pending if np.count_nonzero(p[2]) > 1]
        out: dict[Any, dict[str, Any]] = {}
        if not pending:
            return out
        if self.query_budget is not None:
            left = self.query_budget - self.total_queries
            if left < len(pending):
                if self.on_budget_exhausted == "raise":
                    raise ExpertBudgetExhaustedError(
                        f"expert query budget of {self.query_budget} is exhausted "
                        f"({self.total_queries} queries made, {len(pending)} more "
                        "needed); raise query_budget or use "
                        "on_budget_exhausted='flag'"
                    )
                for agent, _, _ in pending[left:]:
                    out[agent] = {"expert_budget_exhausted": True}
                pending = pending[:left]
        # One batched call per distinct expert and shapes (agents sharing an
        # expert are stacked when their observations and masks have equal shapes).
        groups: dict[Any, list[tuple[Any, np.ndarray, np.ndarray]]]
        if len(pending) == 1:
            groups = {0: pending}
        else:
            groups = {}
            for agent, o, m in pending:
                key = (id(self.experts[agent]), o.shape, m.shape)
                groups.setdefault(key, []).append((agent, o, m))
        for items in groups.values():
            expert = self.experts[items[0][0]]
            if len(items) == 1:  # the common turn-based case: no stacking
                obs, masks = items[0][1][None], items[0][2][None]
            else:
                obs = np.stack([o for _, o, _ in items])
                masks = np.stack([m for _, _, m in items])
            probs = call_policy(expert, obs, masks, name="expert")
            actions = sample_actions(probs, self.rng)
            for (agent, o, m), p, a in zip(items, probs, actions, strict=True):
                self.query_counts[agent] += 1
                self.total_queries += 1
                out[agent] = {"expert_probs": p, "expert_action": int(a)}
                if self.recorder is not None:
                    self.recorder.add(
                        observation=o,
                        action_mask=m,
                        expert_action=int(a),
                        expert_probs=p,
                        agent=str(agent),
                        episode=self.episode,
                        step=self.step,
                    )
        return out

    def label_one(
        self, agent: Any, obs: np.ndarray, mask: np.ndarray, num_legal: int
    ) -> dict[str, Any] | None:
        """:meth:`label` for one agent (``num_legal`` legal actions).

        Returns the entries to merge into its info, or None for none.
        """
        if self.skip_forced and num_legal <= 1:
            return None
        if self.query_budget is not None and self.total_queries >= self.query_budget:
            if self.on_budget_exhausted == "raise":
                raise ExpertBudgetExhaustedError(
                    f"expert query budget of {self.query_budget} is exhausted "
                    f"({self.total_queries} queries made, 1 more needed); raise "
                    "query_budget or use on_budget_exhausted='flag'"
                )
            return {"expert_budget_exhausted": True}
        probs, action = act_one(self.experts[agent], obs, mask, self.rng, name="expert")
        self.query_counts[agent] += 1
        self.total_queries += 1
        if self.recorder is not None:
            self.recorder.add(
                observation=obs,
                action_mask=mask,
                expert_action=action,
                expert_probs=probs,
                agent=str(agent),
                episode=self.episode,
                step=self.step,
            )
        return {"expert_probs": probs, "expert_action": action}

    @property
    def budget_left(self) -> int | None:
        if self.query_budget is None:
            return None
        return max(self.query_budget - self.total_queries, 0)


class _QueryMixin:
    """Public counters shared by both wrappers."""

    _engine: _QueryEngine

    @property
    def query_counts(self) -> dict[Any, int]:
        """Expert queries made so far, per queried agent (a copy)."""
        return dict(self._engine.query_counts)

    @property
    def total_queries(self) -> int:
        """Expert queries made so far, over all agents and episodes."""
        return self._engine.total_queries

    @property
    def budget_left(self) -> int | None:
        """Queries left in the budget, or None without a budget."""
        return self._engine.budget_left

    @property
    def queried_agents(self) -> frozenset[Any]:
        """The agents whose turns are labelled."""
        return self._engine.queried


class ExpertQueryWrapper(_QueryMixin, BaseWrapper[AgentID, ObsType, ActionType]):
    """Label an AEC env's turns with an expert's action distribution.

    The labels of the agent to act are in ``env.infos[agent]`` (so also in the
    info of ``env.last()``) until the next ``step``; other agents' infos are the
    wrapped env's, untouched.

    Args:
        env: A PettingZoo AEC env with ``Discrete`` action spaces.
        expert: A batched policy for every queried agent, or a mapping from
            agent to policy.
        agents: Agents to query (default: all ``possible_agents``).
        query_budget: Maximum number of queries over the wrapper's lifetime
            (None: unlimited).
        on_budget_exhausted: ``"raise"`` or ``"flag"`` (see module docstring).
        skip_forced: Do not query states with a single legal action.
        recorder: Optional sink; every query is passed to ``recorder.add``.
        seed: Seed of the sampling generator until ``reset(seed=...)``.

    Raises:
        ValueError: If ``agents`` names an unknown agent, the budget is
            negative or the budget mode unknown.
        TypeError: If ``expert`` is not callable, or an action space is not
            ``Discrete``.

    Example:
        >>> from pettingzoo.classic import tictactoe_v3
        >>> import numpy as np
        >>> uniform = lambda obs, mask: mask / mask.sum(axis=1, keepdims=True)
        >>> env = ExpertQueryWrapper(tictactoe_v3.env(), uniform, seed=0)
        >>> env.reset(seed=0)
        >>> obs, reward, term, trunc, info = env.last()
        >>> info["expert_probs"].round(3).tolist()[:3]
        [0.111, 0.111, 0.111]
    """

    def __init__(
        self,
        env: AECEnv[AgentID, ObsType, ActionType],
        expert: BatchedPolicy | Mapping[AgentID, BatchedPolicy],
        *,
        agents: Iterable[AgentID] | None = None,
        query_budget: int | None = None,
        on_budget_exhausted: Literal["raise", "flag"] = "raise",
        skip_forced: bool = True,
        recorder: LabelSink | None = None,
        seed: int | None = None,
    ) -> None:
        if not isinstance(env, AECEnv):
            raise TypeError(
                f"ExpertQueryWrapper needs a PettingZoo AECEnv, got {type(env).__name__}"
                "; use ParallelExpertQueryWrapper for Parallel envs"
            )
        super().__init__(env)
        self._engine = _QueryEngine(
            expert,
            agents,
            list(env.possible_agents),
            query_budget,
            on_budget_exhausted,
            skip_forced,
            recorder,
            seed,
        )
        self._num_actions = {
            a: num_discrete_actions(env.action_space(a), a)
            for a in self._engine.queried
        }
        self._queried = self._engine.queried
        self._infos: dict[AgentID, dict[str, Any]] = {}
        # The observation fetched for labelling, reused by observe() until
        # the next step (saves the env a second observation per turn).
        self._observed_agent: AgentID | None = None
        self._observed: ObsType | None = None

    # The wrapped env's state, read directly: these are read on every move by
    # the wrappers above, and PettingZoo's __getattr__ forwarding is slow.
    @property
    def agents(self) -> list[AgentID]:
        """The wrapped env's live agents."""
        return self.env.agents

    @property
    def agent_selection(self) -> AgentID:
        """The wrapped env's agent to act."""
        return self.env.agent_selection

    @property
    def terminations(self) -> dict[AgentID, bool]:
        """The wrapped env's terminations."""
        return self.env.terminations

    @property
    def truncations(self) -> dict[AgentID, bool]:
        """The wrapped env's truncations."""
        return self.env.truncations

    @property
    def rewards(self) -> dict[AgentID, float]:
        """The wrapped env's rewards of the last step."""
        return self.env.rewards

    @property
    def _cumulative_rewards(self) -> dict[AgentID, float]:
        return self.env._cumulative_rewards

    def observe(self, agent: AgentID) -> ObsType | None:
        """The wrapped env's observation (the one just labelled is reused)."""
        if agent == self._observed_agent:
            return self._observed
        return self.env.observe(agent)

    @property
    def infos(self) -> dict[AgentID, dict[str, Any]]:
        """The wrapped env's infos, with labels for the agent to act."""
        return self._infos

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env (and the sampling generator when ``seed`` is given)."""
        self._engine.reset(seed)
        self.env.reset(seed=seed, options=options)
        self._relabel()

    def step(self, action: ActionType) -> None:
        """Step the env, then label the next agent to act."""
        self.env.step(action)
        self._engine.step += 1
        self._relabel()

    def _relabel(self) -> None:
        env = self.env
        infos = env.infos
        self._infos = infos  # a copy is made below only when labels are added
        self._observed_agent = None
        if not env.agents:
            return
        agent = env.agent_selection
        if (
            agent not in self._queried
            or env.terminations.get(agent, False)
            or env.truncations.get(agent, False)
        ):
            return
        base = infos.get(agent, {})
        observed = env.observe(agent)
        self._observed_agent, self._observed = agent, observed
        obs, mask = split_observation(
            observed, base, self._num_actions[agent], require_legal=False
        )
        num_legal = int(np.count_nonzero(mask))
        if not num_legal:
            raise ValueError("action mask has no legal action")
        entries = self._engine.label_one(agent, obs, mask, num_legal)
        if entries is not None:
            self._infos = {**infos, agent: {**base, **entries}}


class ParallelExpertQueryWrapper(
    _QueryMixin, BaseParallelWrapper[AgentID, ObsType, ActionType]
):
    """Label a Parallel env's live agents with an expert's action distribution.

    ``reset`` and ``step`` return infos in which every queried live agent
    (with more than one legal action, unless ``skip_forced=False``) carries
    ``"expert_probs"`` and ``"expert_action"``. One batched expert call per
    step for each distinct expert and observation/mask shape (agents with
    different action counts are not stacked).

    Args:
        env: A PettingZoo Parallel env with ``Discrete`` action spaces.
        expert: A batched policy for every queried agent, or a mapping from
            agent to policy.
        agents: Agents to query (default: all ``possible_agents``).
        query_budget: Maximum number of queries (None: unlimited).
        on_budget_exhausted: ``"raise"`` or ``"flag"``.
        skip_forced: Do not query agents with a single legal action.
        recorder: Optional sink; every query is passed to ``recorder.add``.
        seed: Seed of the sampling generator until ``reset(seed=...)``.

    Raises:
        ValueError: If ``agents`` names an unknown agent, the budget is
            negative or the budget mode unknown.
        TypeError: If ``expert`` is not callable, or an action space is not
            ``Discrete``.

    Example:
        >>> from pettingzoo.classic import rps_v2
        >>> uniform = lambda obs, mask: mask / mask.sum(axis=1, keepdims=True)
        >>> env = ParallelExpertQueryWrapper(rps_v2.parallel_env(), uniform)
        >>> obs, infos = env.reset(seed=0)
        >>> sorted(infos["player_0"])
        ['expert_action', 'expert_probs']
    """

    def __init__(
        self,
        env: ParallelEnv[AgentID, ObsType, ActionType],
        expert: BatchedPolicy | Mapping[AgentID, BatchedPolicy],
        *,
        agents: Iterable[AgentID] | None = None,
        query_budget: int | None = None,
        on_budget_exhausted: Literal["raise", "flag"] = "raise",
        skip_forced: bool = True,
        recorder: LabelSink | None = None,
        seed: int | None = None,
    ) -> None:
        if not isinstance(env, ParallelEnv):
            raise TypeError(
                "ParallelExpertQueryWrapper needs a PettingZoo ParallelEnv, got "
                f"{type(env).__name__}; use ExpertQueryWrapper for AEC envs"
            )
        super().__init__(env)
        self._engine = _QueryEngine(
            expert,
            agents,
            list(env.possible_agents),
            query_budget,
            on_budget_exhausted,
            skip_forced,
            recorder,
            seed,
        )
        self._num_actions = {
            a: num_discrete_actions(env.action_space(a), a)
            for a in self._engine.queried
        }

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the env (and the sampling generator when ``seed`` is given)."""
        self._engine.reset(seed)
        obs, infos = self.env.reset(seed=seed, options=options)
        return obs, self._label(obs, infos, None, None)

    def step(self, actions: dict[AgentID, ActionType]):
        """Step the env; label the queried agents that act next."""
        obs, rewards, terms, truncs, infos = self.env.step(actions)
        self._engine.step += 1
        return obs, rewards, terms, truncs, self._label(obs, infos, terms, truncs)

    def _label(
        self,
        obs: dict[AgentID, Any],
        infos: dict[AgentID, dict[str, Any]],
        terms: dict[AgentID, bool] | None,
        truncs: dict[AgentID, bool] | None,
    ) -> dict[AgentID, dict[str, Any]]:
        pending = []
        for agent in self.env.agents:
            if agent not in self._engine.queried or agent not in obs:
                continue
            if (terms and terms.get(agent)) or (truncs and truncs.get(agent)):
                continue
            o, m = split_observation(
                obs[agent],
                infos.get(agent),
                self._num_actions[agent],
                require_legal=False,
            )
            if m.any():  # an all-zero mask: not this agent's turn
                pending.append((agent, o, m))
        extra = self._engine.label(pending)
        if not extra:
            return infos
        out = dict(infos)
        for agent, entries in extra.items():
            out[agent] = {**infos.get(agent, {}), **entries}
        return out
