"""DQN-Explore-BC: deep reward-free exploration for interactive multi-agent imitation.

The deep variant of LSVI-UCB-ZERO-BC (Viano, Freihaut et al., "Multi-agent
imitation learning with function approximation: linear Markov games and
beyond"): for every learning player ``i`` the explorer seat is a masked SB3
DQN whose only reward is the elliptical bonus of its critic's features
(:class:`~agents.deep.explorers.DQNExplorer`), while ``i`` plays its expert and
every decision of ``i`` is labelled; behaviour cloning on each player's labels
gives the learned greedy masked profile.

Example:
    >>> from mail_envs.tictactoe import env
    >>> from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
    >>> from agents.bc.profile import BCConfig
    >>> from agents.imitation import ImitationProblem
    >>> expert = TicTacToeMinimaxExpert()
    >>> problem = ImitationProblem("mail/tictactoe-v0", env, (expert, expert))
    >>> algo = DQNExploreBC(problem, num_games=3, bonus=BonusConfig(rebuild_every=20),
    ...                     bc=BCConfig(min_epochs=1, min_steps=1), device="cpu")
    >>> result = algo.run()
    >>> [len(info["bonuses"]) for info in result.info["explorations"]] == list(result.explorer_steps)
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.bc.profile import BCConfig
from agents.common import check_positive_int
from agents.deep.critic_bonus import BonusConfig
from agents.deep.explorers import DQNExplorer
from agents.imitation import Explorer, ImitationProblem, InteractiveBC, LearnerSession
from agents.monitor import RunMonitor

__all__ = ["BonusConfig", "DQNExploreBC"]


class DQNExploreBC(InteractiveBC):
    """DQN-Explore-BC: bonus-driven DQN explorer, expert labels, BC.

    Args:
        problem: The game, its experts (and model).
        num_games: Expert-labelled games per learning player.
        seed: Master seed.
        bonus: The critic-feature bonus (:class:`~agents.deep.critic_bonus.BonusConfig`).
        dqn_kwargs: Overrides of the explorer's SB3 DQN keywords
            (:data:`~agents.deep.explorers.DQN_DEFAULTS`).
        bc: Behaviour-cloning settings.
        device: Torch device of the DQN and BC (``"auto"``: CUDA when present).
        monitor: Progress reports and logs (:class:`~agents.monitor.RunMonitor`):
            each explorer's SB3 logs go to ``"<agent>/dqn"``, BC's to
            ``"<agent>/bc"``.
        log_interval: The explorer dumps its SB3 logs every this many games.
        num_envs: Env stacks the explorer's DQN steps at once (an SB3
            ``DummyVecEnv``; see :class:`~agents.deep.explorers.DQNExplorer`).
    """

    name = "dqn-explore"

    def __init__(
        self,
        problem: ImitationProblem,
        *,
        num_games: int,
        seed: int = 0,
        bonus: BonusConfig | None = None,
        dqn_kwargs: Mapping[str, Any] | None = None,
        bc: BCConfig | None = None,
        device: str = "auto",
        monitor: RunMonitor | None = None,
        log_interval: int = 10,
        num_envs: int = 1,
    ) -> None:
        super().__init__(
            problem,
            num_games=num_games,
            seed=seed,
            bc=bc,
            device=device,
            monitor=monitor,
        )
        self.bonus = bonus or BonusConfig()
        self.dqn_kwargs = dict(dqn_kwargs or {})
        self.log_interval = check_positive_int("log_interval", log_interval)
        self.num_envs = check_positive_int("num_envs", num_envs)

    def explorer(self, session: LearnerSession) -> Explorer:
        """The bonus-driven masked DQN."""
        return DQNExplorer(
            self.bonus,
            self.dqn_kwargs,
            self.device,
            log_interval=self.log_interval,
            num_envs=self.num_envs,
        )
