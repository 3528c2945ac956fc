"""BC with deep-linear features learned from the BC dataset alone.

The deep-linear curve of the Gridworld Figure 1a of Viano, Freihaut et al.
("Multi-agent imitation learning with function approximation: linear Markov
games and beyond", Appendix I.1): for each learning player ``i``,
``num_episodes`` episodes of expert self-play are sampled on the model (the
same episodes, seed for seed, as :func:`agents.linear.baselines.model_bc` with
``explorer="expert"``), and the deep-linear network
(:func:`~agents.linear.features.deep_linear_head` by default) is trained
by BC on player ``i``'s ``(state, expert action)`` pairs only
(:func:`~agents.linear.features.fit_deep_linear_features`). The learned policy
is the network's: ``pi(a | s) ∝ exp(theta^T phi(s, a))`` with
``phi(s, a) = e_a (x) [h(s), 1]`` and ``theta`` its output layer. The map is
learned anew in every run, from that run's data, so the expert's behaviour on
states outside the dataset never reaches it.

Example:
    >>> from agents.linear.features import gridworld_board_observations
    >>> from agents.linear.features import tabular_features
    >>> from agents.linear.problem import linear_problem
    >>> from mail_envs.gridworld import PUBLISHED_STARTS, make_gridworld_game
    >>> from mail_envs.solvers import solve_zero_sum
    >>> game = make_gridworld_game(3, starts=PUBLISHED_STARTS)
    >>> feats = [tabular_features(game, i) for i in range(2)]
    >>> problem = linear_problem(game, solve_zero_sum(game).policies, feats)
    >>> result = deep_linear_bc(
    ...     problem, num_episodes=2, seed=0,
    ...     observations=gridworld_board_observations(game),
    ...     trainer_kwargs={"max_epochs": 5}, device="cpu")
    >>> result.method, result.num_queries, result.policies[0].shape
    ('bc-deep-linear', (20, 20), (72, 4))
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.common import check_positive_int
from agents.imitation import ImitationProblem, ImitationResult
from agents.linear.baselines import model_bc
from agents.linear.features import fit_deep_linear_features
from agents.linear.problem import model_setup
from agents.linear.softmax import softmax_linear_policy
from mail_wrappers.recorder import ExpertLabelDataset

__all__ = ["deep_linear_bc"]


def deep_linear_bc(
    problem: ImitationProblem,
    *,
    num_episodes: int,
    seed: int,
    observations: np.ndarray | None = None,
    trainer_kwargs: dict[str, Any] | None = None,
    device: str | torch.device = "cpu",
) -> ImitationResult:
    """Offline BC on expert self-play with a deep-linear map fitted to the data.

    Args:
        problem: The problem; it needs a ``model`` and a ``linear`` setup
            (expert tables, horizon). Its features are not used: the map is
            learned from each player's dataset.
        num_episodes: Episodes per learning player.
        seed: Master seed of the run (episodes, as in ``model_bc``; then the
            network's initialization and shuffling).
        observations: ``(S, ...)`` observation of every state for the network
            (default: the model's one-hot states; for the Gridworld use
            :func:`~agents.linear.features.gridworld_board_observations`).
        trainer_kwargs: Passed to
            :func:`~agents.linear.features.fit_deep_linear_features`.
        device: Torch device of the fit.

    Returns:
        The :class:`~agents.imitation.ImitationResult` of method
        ``"bc-deep-linear"``; ``info`` holds ``thetas``, ``features`` (each
        player's learned ``(S, A_i, d)`` map), ``train_accuracy``, ``horizon``
        and ``num_episodes``.

    Raises:
        ValueError: If the problem has no model or linear setup,
            ``num_episodes`` is not a positive integer or ``seed`` is negative.
    """
    num_episodes = check_positive_int("num_episodes", num_episodes)
    setup = model_setup(problem)
    game = setup.game
    maps: list[np.ndarray] = []
    accuracy: list[float] = []

    def clone(
        i: int, data: ExpertLabelDataset, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        fitted = fit_deep_linear_features(
            game,
            i,
            data.observations,
            data.expert_actions,
            rng=rng,
            observations=observations,
            device=device,
            trainer_kwargs=trainer_kwargs,
        )
        maps.append(fitted.features)
        accuracy.append(float(fitted.metrics.train_accuracy))
        table = softmax_linear_policy(
            fitted.features, game.legal_masks[i], fitted.theta
        )
        return fitted.theta, table

    return model_bc(
        problem,
        explorer="expert",
        num_episodes=num_episodes,
        seed=seed,
        clone=clone,
        method="bc-deep-linear",
        info={"features": maps, "train_accuracy": accuracy},
    )
