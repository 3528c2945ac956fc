"""The two baselines of every figure: expert self-play BC and uniform-exploration BC.

* :class:`ExpertBC` (``"bc"``) — offline behaviour cloning: every seat plays
  its expert, so the learner's data never leaves the expert's own lines;
* :class:`UniformBC` (``"uniform"``) — the explorer seat plays uniformly among
  its legal actions while the learner follows the expert.

Both are :class:`~agents.imitation.InteractiveBC` with a
:class:`~agents.deep.explorers.PolicyExplorer`. On a problem with a linear
setup (``problem.linear``: the model, expert tables and a feature map) they
take the model-based fast path instead
(:func:`agents.linear.baselines.model_bc`: rollouts on the model,
softmax-linear BC), with the same result type; the budget is then episodes.

Example:
    >>> from mail_envs.tictactoe import env
    >>> from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
    >>> from agents.bc.profile import BCConfig
    >>> from agents.imitation import ImitationProblem
    >>> expert = TicTacToeMinimaxExpert()
    >>> problem = ImitationProblem("mail/tictactoe-v0", env, (expert, expert))
    >>> result = UniformBC(problem, num_games=5, bc=BCConfig(min_epochs=1, min_steps=1),
    ...                    device="cpu").run()
    >>> result.method, len(result.datasets), min(result.num_queries) > 0
    ('uniform', 2, True)
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from agents.common import check_positive_int
from agents.deep.explorers import PolicyExplorer
from agents.imitation import (
    Explorer,
    ImitationProblem,
    ImitationResult,
    InteractiveBC,
    LearnerSession,
)
from agents.linear.baselines import model_bc
from mail_wrappers.frozen_opponent import uniform_policy

__all__ = ["ExpertBC", "UniformBC"]


class _FixedExplorerBC(InteractiveBC):
    """A fixed-policy explorer, with the model-based fast path for linear problems.

    Args: as :class:`~agents.imitation.InteractiveBC`, and ``num_envs``: env
    stacks the explorer steps at once (one batched policy call per step,
    :class:`~agents.deep.explorers.PolicyExplorer`; not used on the model-based
    fast path).
    """

    #: The explorer of :func:`~agents.linear.baselines.model_bc` on the model.
    model_explorer: ClassVar[Literal["uniform", "expert"]]

    def __init__(
        self, problem: ImitationProblem, *, num_envs: int = 1, **kwargs: Any
    ) -> None:
        super().__init__(problem, **kwargs)
        self.num_envs = check_positive_int("num_envs", num_envs)

    def run(self) -> ImitationResult:
        """Collect and clone (on the model when the problem has a linear setup)."""
        if self.problem.linear is not None:
            return model_bc(
                self.problem,
                explorer=self.model_explorer,
                num_episodes=self.num_games,
                seed=self.seed,
                monitor=self.monitor,
            )
        return super().run()


class ExpertBC(_FixedExplorerBC):
    """Behaviour cloning on expert self-play games (the offline baseline).

    Args: as :class:`~agents.imitation.InteractiveBC`, and ``num_envs``.
    """

    name = "bc"
    model_explorer = "expert"

    def explorer(self, session: LearnerSession) -> Explorer:
        """The explorer seat plays its own expert."""
        agents = self.problem.agents
        return PolicyExplorer(
            self.problem.experts[agents.index(session.explorer_agent)],
            num_envs=self.num_envs,
        )


class UniformBC(_FixedExplorerBC):
    """Uniform-exploration BC: the explorer seat plays uniformly among legal actions.

    Args: as :class:`~agents.imitation.InteractiveBC`, and ``num_envs`` (env
    stacks stepped at once, one batched policy call per step).
    """

    name = "uniform"
    model_explorer = "uniform"

    def explorer(self, session: LearnerSession) -> Explorer:
        """The uniform explorer."""
        return PolicyExplorer(uniform_policy, num_envs=self.num_envs)
