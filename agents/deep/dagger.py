"""DAgger-style interactive BC: the learner's own current profile explores.

DAgger (Ross, Gordon & Bagnell, AISTATS 2011) for a Markov game: in round 0
every seat plays its expert (expert self-play data); after each round every
player is cloned on ALL its labels so far, and in the next round every seat
plays the current learned profile — the learner included — while the expert
still labels each of the learner's decisions. The data so moves to the states
the learned profile itself reaches, where its mistakes are. The budget of
``num_games`` labelled games per player is split evenly over ``rounds``.

Every round reuses each player's :class:`~agents.imitation.LearnerSession`
(one env stack, one recorder, one explorer stream), whose seats play
switchable policies; episode ids run on across rounds. In round 0 the learner
plays its own draw from the expert (a second sample of the labelled
distribution, the same move for a deterministic expert).

Example:
    >>> import functools
    >>> from mail_envs.chain import env, make_chain_game
    >>> from mail_envs.solvers import nash_gap, solve_zero_sum
    >>> from mail_wrappers.table_policy import TablePolicy
    >>> from agents.bc.profile import BCConfig
    >>> from agents.imitation import ImitationProblem
    >>> game = make_chain_game(length=3)
    >>> experts = tuple(TablePolicy(game, i, p) for i, p in enumerate(solve_zero_sum(game).policies))
    >>> problem = ImitationProblem("mail/chain-v0", functools.partial(env, length=3), experts, model=game)
    >>> result = DAggerBC(problem, num_games=6, rounds=3, bc=BCConfig(min_steps=100), device="cpu").run()
    >>> result.info["round_games"], nash_gap(game, result.policies).nash_conv >= 0.0
    ([2, 2, 2], True)
"""

from __future__ import annotations

import time

import numpy as np

from agents.bc.profile import BCConfig, fit_bc_profile
from agents.common import check_positive_int
from agents.deep.explorers import PolicyExplorer
from agents.imitation import (
    Exploration,
    Explorer,
    ImitationProblem,
    ImitationResult,
    InteractiveBC,
    LearnerSession,
)
from agents.monitor import RunMonitor
from mail_envs.core import BatchedPolicy

__all__ = ["DAggerBC", "SwitchablePolicy"]


class SwitchablePolicy:
    """A batched policy whose target can be replaced between rounds.

    Example:
        >>> first = lambda obs, masks: masks / masks.sum(axis=1, keepdims=True)
        >>> policy = SwitchablePolicy(first)
        >>> policy.target = lambda obs, masks: np.eye(masks.shape[1])[[0] * len(masks)]
        >>> policy(np.zeros((1, 1)), np.ones((1, 2), bool)).tolist()
        [[1.0, 0.0]]
    """

    def __init__(self, target: BatchedPolicy) -> None:
        self.target = target

    def __call__(
        self, observations: np.ndarray, action_masks: np.ndarray
    ) -> np.ndarray:
        return self.target(observations, action_masks)


class DAggerBC(InteractiveBC):
    """DAgger-style interactive BC (see the module docstring).

    Args:
        problem: The game, its experts (and model).
        num_games: Expert-labelled games per learning player, over all rounds.
        rounds: Rounds of (play the current profile, label, clone); round 0
            is expert self-play. Default: 4, or ``num_games`` when smaller.
        seed: Master seed.
        bc: Behaviour-cloning settings (every round clones afresh).
        device: Torch device of BC.
        monitor: Progress reports and logs (:class:`~agents.monitor.RunMonitor`):
            stage ``"rounds"`` after every round, the explorer's games as
            ``"explore <agent> round <r>"``, the intermediate clones' BC logs as
            ``"<agent>/bc_round<r>"`` and the final clone's as ``"<agent>/bc"``.

    Raises:
        ValueError: If ``rounds`` is not a positive integer or exceeds
            ``num_games``.
    """

    name = "dagger"

    def __init__(
        self,
        problem: ImitationProblem,
        *,
        num_games: int,
        rounds: int | None = None,
        seed: int = 0,
        bc: BCConfig | None = None,
        device: str = "auto",
        monitor: RunMonitor | None = None,
    ) -> None:
        super().__init__(
            problem,
            num_games=num_games,
            seed=seed,
            bc=bc,
            device=device,
            monitor=monitor,
        )
        self.rounds = (
            min(4, self.num_games)
            if rounds is None
            else check_positive_int("rounds", rounds)
        )
        if self.rounds > self.num_games:
            raise ValueError(
                f"rounds ({rounds}) must not exceed num_games ({num_games}): every "
                "round plays at least one game"
            )
        #: The seat policies every session plays, switched after each round
        #: (the experts again at the start of every :meth:`run`).
        self.profile = [SwitchablePolicy(e) for e in problem.experts]

    def explorer(self, session: LearnerSession) -> Explorer:
        """The explorer seat plays its current learned (round 0: expert) policy."""
        agents = self.problem.agents
        return PolicyExplorer(self.profile[agents.index(session.explorer_agent)])

    def run(self) -> ImitationResult:
        """Play, label and clone for every round; the last round's profile."""
        start = time.perf_counter()
        agents = self.problem.agents
        for switch, expert in zip(self.profile, self.problem.experts, strict=True):
            switch.target = expert  # round 0: expert self-play, whatever ran before
        sessions = [
            self.session(
                i,
                learner_policy=self.profile[i],
                seat_policies={a: self.profile[k] for k, a in enumerate(agents)},
            )
            for i in range(self.problem.num_players)
        ]
        games = [
            len(part) for part in np.array_split(np.arange(self.num_games), self.rounds)
        ]
        steps = [0] * len(sessions)
        for r, round_games in enumerate(games):
            for k, s in enumerate(sessions):
                s.stage = f"explore {s.agent} round {r}"
                steps[k] += self.explorer(s).explore(s, round_games).steps
            if r + 1 < len(games):  # the last round's clone is the result's
                policies, _ = fit_bc_profile(
                    [s.dataset() for s in sessions],
                    self.bc,
                    seeds=[s.bc_seed for s in sessions],
                    device=self.device,
                    monitor=self.monitor,
                    agents=[s.agent for s in sessions],
                    log_name=f"bc_round{r}",
                )
                for switch, policy in zip(self.profile, policies, strict=True):
                    switch.target = policy
            self.monitor.report("rounds", r + 1, len(games))
        return self._clone(
            sessions,
            [s.dataset() for s in sessions],
            [Exploration(steps=n) for n in steps],
            start,
            info={"round_games": games},
        )
