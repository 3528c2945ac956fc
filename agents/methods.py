"""The method registry: one name per algorithm, one line per method.

Every algorithm takes its problem and hyperparameters in the constructor and
has one ``run() -> ImitationResult``. Adding a method is one module (the
algorithm) plus one line here.

Example:
    >>> sorted(METHODS)  # doctest: +NORMALIZE_WHITESPACE
    ['bc', 'dagger', 'dqn-explore', 'dqn-explore-paper', 'lsvi-ucb-discounted',
     'lsvi-ucb-zero', 'mail-warm', 'uniform', 'uniform-all']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from agents.bc.profile import BCConfig
from agents.common import check_positive_int
from agents.deep.all_seats import UniformAllSeatsBC
from agents.deep.baselines import ExpertBC, UniformBC
from agents.deep.dagger import DAggerBC
from agents.deep.dqn_explore import DQNExploreBC
from agents.deep.paper_dqn import PaperDQNExploreBC
from agents.imitation import ImitationProblem, ImitationResult, InteractiveBC
from agents.linear.lsvi_discounted import LSVIUCBDiscountedBC
from agents.linear.lsvi_ucb_zero import LSVIUCBZeroBC
from agents.linear.mail_warm import MailWarmBC
from agents.monitor import RunMonitor

__all__ = ["METHODS", "Algorithm", "make_algorithm"]


class Algorithm(Protocol):
    """What every registered method is: built with its problem, run once."""

    def run(self) -> ImitationResult:
        """Explore, label, clone: the learned profile and its data."""
        ...


#: Name -> algorithm class. The budget is ``num_games`` labelled games per
#: learning player (``num_episodes`` for the model-based LSVI-UCB-ZERO-BC, its
#: discounted version and MAIL-WARM; ``uniform-all`` splits it over the
#: explorer seats).
METHODS: dict[str, type] = {
    "bc": ExpertBC,
    "uniform": UniformBC,
    "uniform-all": UniformAllSeatsBC,
    "dqn-explore": DQNExploreBC,
    "dqn-explore-paper": PaperDQNExploreBC,
    "dagger": DAggerBC,
    "lsvi-ucb-zero": LSVIUCBZeroBC,
    "lsvi-ucb-discounted": LSVIUCBDiscountedBC,
    "mail-warm": MailWarmBC,
}


def make_algorithm(
    name: str,
    problem: ImitationProblem,
    *,
    budget: int,
    seed: int,
    bc: BCConfig | None = None,
    device: str = "auto",
    options: Mapping[str, Any] | None = None,
    monitor: RunMonitor | None = None,
) -> Algorithm:
    """Build the registered method ``name`` for one run.

    Args:
        name: A key of :data:`METHODS`.
        problem: The problem.
        budget: Labelled games (episodes) per learning player.
        seed: The run's seed.
        bc: BC settings of the env-based methods.
        device: Torch device of the env-based methods.
        options: Further hyperparameters of the method's constructor, e.g.
            ``{"num_envs": 8}`` for ``"uniform"``, ``"bc"`` and
            ``"dqn-explore"``: env stacks their explorer steps at once
            (one batched policy call, or one SB3 ``DummyVecEnv`` step; the
            labelled games and expert queries are the same count).
        monitor: Progress reports and logs of the run
            (:class:`~agents.monitor.RunMonitor`; default the no-op monitor).
            The results do not depend on it.

    Raises:
        ValueError: If ``name`` is not registered.
    """
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; registered: {sorted(METHODS)}")
    budget = check_positive_int("budget", budget)
    cls = METHODS[name]
    kwargs: dict[str, Any] = {"seed": seed, **(options or {}), "monitor": monitor}
    if issubclass(cls, InteractiveBC):
        kwargs.update(num_games=budget, bc=bc, device=device)
    else:
        kwargs.update(num_episodes=budget)
    return cls(problem, **kwargs)
