"""Shared fixtures of the agents tests: a Tic-Tac-Toe env that logs every move."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from pettingzoo.utils.wrappers import BaseWrapper

from agents.imitation import ImitationProblem
from mail_envs.core import TabularMarkovGame
from mail_envs.tictactoe import env as tictactoe_env
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

EXPERT = TicTacToeMinimaxExpert(policy="uniform")


class LoggedTicTacToe(BaseWrapper):
    """Tic-Tac-Toe that raises on an illegal move and logs every move."""

    def __init__(self) -> None:
        super().__init__(tictactoe_env())
        #: (agent, move, number of legal moves, game index)
        self.moves: list[tuple[str, int, int, int]] = []
        #: (agent, move, observation, action mask, game index)
        self.boards: list[tuple[str, int, np.ndarray, np.ndarray, int]] = []
        self.game = -1

    def reset(self, seed=None, options=None):
        self.game += 1
        super().reset(seed=seed, options=options)

    def step(self, action):
        agent = self.agent_selection
        if action is not None:
            obs = self.observe(agent)
            mask = np.asarray(obs["action_mask"], dtype=bool)
            if not mask[action]:
                raise AssertionError(f"illegal move {action} by {agent}, mask {mask}")
            self.moves.append((agent, int(action), int(mask.sum()), self.game))
            self.boards.append(
                (agent, int(action), np.array(obs["observation"]), mask, self.game)
            )
        super().step(action)


LoggedProblem = Callable[..., tuple[ImitationProblem, list[LoggedTicTacToe]]]


@pytest.fixture
def logged_problem() -> LoggedProblem:
    """``make(model=None) -> (problem, envs)``: every env the problem builds is logged."""

    def make(
        model: TabularMarkovGame | None = None,
    ) -> tuple[ImitationProblem, list[LoggedTicTacToe]]:
        envs: list[LoggedTicTacToe] = []

        def env_fn() -> LoggedTicTacToe:
            envs.append(LoggedTicTacToe())
            return envs[-1]

        problem = ImitationProblem(
            "mail/tictactoe-v0", env_fn, (EXPERT, EXPERT), model=model
        )
        return problem, envs

    return make
