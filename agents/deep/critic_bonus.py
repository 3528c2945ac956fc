"""The critic-feature elliptical bonus: a configuration of the wrappers' bonus.

DQN-Explore (Viano, Freihaut et al.) rewards its explorer with the elliptical
bonus of its own critic's features::

    r(s, a) = beta * ||phi(s, a)||_{Lambda^-1},   phi(s, a) = e_a (x) h(s),

where ``h(s)`` is the Q-network's last hidden layer (``Q(s, a) = w_a^T h(s) +
b_a``), so ``Lambda = ridge * I + sum phi phi^T`` is block diagonal, one
``d x d`` block per action (the LSVI-UCB bonus of Jin et al., 2020, on the
critic's features). Nothing here re-implements that bonus: the reward is
:class:`~mail_wrappers.elliptical_reward.EllipticalBonusReward` in its block
form with ``state_features=`` :class:`CriticFeatures`, and
:class:`BonusRebuildCallback` (an SB3 callback) adds what only the learner
knows about:

* **rebuilds** — the critic moves as it trains, so ``Lambda`` is rebuilt from
  the replay buffer with the current ``h`` (and, with ``relabel_rewards``, the
  buffer's rewards are recomputed), either every ``rebuild_every`` explorer
  steps (``rebuild_rule="periodic"``) or when ``log det Lambda`` has grown by
  ``logdet_threshold`` since the last rebuild (``"logdet"``: ``log 2`` is the
  determinant doubling, the "rarely switching" rule of Abbasi-Yadkori et al.,
  2011), never sooner than ``rebuild_every`` steps after it; the log-det is
  tracked by the bonus itself (matrix determinant lemma);
* **optimism** — with ``optimistic_actions`` the explorer's greedy action
  maximizes ``Q(s, a) + bonus(s, a)`` with the current bonus of every legal
  action, as LSVI-UCB adds the bonus to ``Q`` at decision time (an action never
  tried would otherwise keep its untrained Q-value).

:class:`BonusConfig` holds these settings as one object.

Example:
    >>> config = BonusConfig(beta=3.0, rebuild_rule="logdet", rebuild_every=100)
    >>> config.rebuild_rule, round(config.logdet_threshold, 4)
    ('logdet', 0.6931)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch as th
from stable_baselines3.common.buffers import DictReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback

from agents.deep.masked_dqn import MaskedDQN
from mail_envs.core import check_int, check_real
from mail_wrappers.elliptical_reward import EllipticalBonus

__all__ = ["BonusConfig", "BonusRebuildCallback", "CriticFeatures"]


@dataclass(frozen=True)
class BonusConfig:
    """Settings of the critic-feature bonus (one object, not loose keywords).

    Attributes:
        beta: Bonus scale ``>= 0``.
        ridge: Ridge ``lambda > 0`` of ``Lambda = lambda I + sum phi phi^T``.
        rebuild_every: Rebuild ``Lambda`` from the replay buffer every this
            many explorer steps (None: never, Sherman--Morrison only); with
            ``rebuild_rule="logdet"`` the least number of steps between rebuilds.
        rebuild_rule: ``"periodic"`` or ``"logdet"`` (see the module docstring).
        logdet_threshold: Growth of ``log det Lambda`` that triggers a
            ``"logdet"`` rebuild (default ``log 2``).
        relabel_rewards: Recompute the buffer's rewards at each rebuild.
        optimistic_actions: Greedy explorer actions by ``Q + bonus``.

    Raises:
        ValueError: If a value is out of range (the message names it).
    """

    beta: float = 3.0
    ridge: float = 1.0
    rebuild_every: int | None = 500
    rebuild_rule: Literal["periodic", "logdet"] = "periodic"
    logdet_threshold: float = float(np.log(2.0))
    relabel_rewards: bool = True
    optimistic_actions: bool = True

    def __post_init__(self) -> None:
        check_real("beta", self.beta, minimum=0.0)
        check_real("ridge", self.ridge, minimum=0.0, open_minimum=True)
        every = self.rebuild_every
        if every is not None:
            check_int("rebuild_every", every, 1)
        if self.rebuild_rule not in ("periodic", "logdet"):
            raise ValueError(
                f"rebuild_rule must be 'periodic' or 'logdet', got {self.rebuild_rule!r}"
            )
        if self.rebuild_rule == "logdet" and every is None:
            raise ValueError(
                "rebuild_rule='logdet' needs rebuild_every (the least number of "
                "steps between rebuilds), got None"
            )
        check_real(
            "logdet_threshold", self.logdet_threshold, minimum=0.0, open_minimum=True
        )


class CriticFeatures:
    """``h(s)``: the last hidden layer of a :class:`MaskedDQN`'s online critic.

    A state feature map for :class:`~mail_wrappers.elliptical_reward.EllipticalBonus`
    (block form). It reads the critic's current weights on every call, so the
    features move as the critic trains. The DQN is attached after it is built
    (the env, wrapped with the bonus, must exist first).

    Example:
        >>> CriticFeatures()(np.zeros((1, 2)))
        Traceback (most recent call last):
        ...
        RuntimeError: CriticFeatures is not attached to a MaskedDQN yet (call attach)
    """

    def __init__(self) -> None:
        self.model: MaskedDQN | None = None

    def attach(self, model: MaskedDQN) -> None:
        """Read the features of ``model``'s critic from now on."""
        if not isinstance(model, MaskedDQN):
            raise TypeError(
                f"CriticFeatures needs a MaskedDQN (its critic gives the features), "
                f"got {type(model).__name__}"
            )
        self.model = model

    @property
    def dim(self) -> int:
        """The feature dimension ``d``."""
        model = self._model()
        return int(model.q_net.q_net[-1].in_features)  # type: ignore[arg-type]

    def _model(self) -> MaskedDQN:
        if self.model is None:
            raise RuntimeError(
                "CriticFeatures is not attached to a MaskedDQN yet (call attach)"
            )
        return self.model

    def __call__(self, observations: Any) -> np.ndarray:
        """Features of a batch of Dict observations, float64 ``(B, d)``."""
        model = self._model()
        obs = {
            k: th.as_tensor(np.asarray(v), device=model.device)
            for k, v in observations.items()
        }
        with th.no_grad():
            return model.q_net.penultimate_features(obs).double().cpu().numpy()

    # The DQN is run-time wiring: a copy of the features (e.g. pickled with the
    # bonus) reads no model until attached again.
    def __getstate__(self) -> dict[str, Any]:
        return {"model": None}


class BonusRebuildCallback(BaseCallback):
    """Rebuilds the bonus from the replay buffer; optimistic greedy actions.

    Attach to :meth:`MaskedDQN.learn` of a DQN whose env is wrapped in
    :class:`~mail_wrappers.elliptical_reward.EllipticalBonusReward` with
    ``state_features=`` the DQN's :class:`CriticFeatures`.

    Args:
        bonus: The wrapper's :class:`~mail_wrappers.elliptical_reward.EllipticalBonus`.
        config: The rebuild and optimism settings.
        verbose: SB3 verbosity.

    Attributes:
        bonuses: The bonus of every explorer step (``info["bonus"]``).
        rebuild_steps: The explorer steps at which ``Lambda`` was rebuilt.
    """

    def __init__(
        self, bonus: EllipticalBonus, config: BonusConfig, verbose: int = 0
    ) -> None:
        super().__init__(verbose)
        if not bonus.is_block:
            raise ValueError("the critic bonus is the block form (state_features)")
        self.bonus = bonus
        self.config = config
        self.bonuses: list[float] = []
        self.rebuild_steps: list[int] = []
        self._logdet_at_rebuild: float | None = None

    @property
    def num_rebuilds(self) -> int:
        """How often ``Lambda`` was rebuilt from the replay buffer."""
        return len(self.rebuild_steps)

    @property
    def dqn(self) -> MaskedDQN:
        """The explorer this callback is attached to."""
        if not isinstance(self.model, MaskedDQN):
            raise TypeError(
                f"BonusRebuildCallback needs a MaskedDQN, got {type(self.model).__name__}"
            )
        return self.model

    def _on_training_start(self) -> None:
        if self._logdet_at_rebuild is None:  # log det (ridge I), before any step
            num_actions = int(self.dqn.action_space.n)  # type: ignore[attr-defined]
            dim = int(self.dqn.q_net.q_net[-1].in_features)  # type: ignore[arg-type]
            self._logdet_at_rebuild = (
                num_actions * dim * float(np.log(self.bonus.ridge))
            )
        if self.config.optimistic_actions:
            self.dqn.action_bonus = self.bonus.bonus_all_actions

    def _on_training_end(self) -> None:
        if self.dqn.action_bonus == self.bonus.bonus_all_actions:
            self.dqn.action_bonus = None

    def _on_step(self) -> bool:
        self.bonuses.extend(float(info["bonus"]) for info in self.locals["infos"])
        if self._rebuild_due():
            self.rebuild()
        return True

    def _rebuild_due(self) -> bool:
        every = self.config.rebuild_every
        if every is None:
            return False
        if self.config.rebuild_rule == "periodic":
            return self.n_calls % every == 0
        last = self.rebuild_steps[-1] if self.rebuild_steps else 0
        assert self._logdet_at_rebuild is not None
        return (
            self.n_calls - last >= every
            and self.bonus.logdet - self._logdet_at_rebuild
            >= self.config.logdet_threshold
        )

    def rebuild(self) -> None:
        """Rebuild ``Lambda^{-1}`` from the buffer and this step, with the current critic.

        The transition of this step is not in the buffer yet (SB3 stores it
        after the callback) but is already in ``Lambda``: it is rebuilt with
        the buffer. With ``relabel_rewards`` the stored rewards become the
        bonuses under the rebuilt ``Lambda``.
        """
        buffer = self.dqn.replay_buffer
        if not isinstance(buffer, DictReplayBuffer):
            raise TypeError(f"expected a DictReplayBuffer, got {type(buffer).__name__}")
        size = buffer.buffer_size if buffer.full else buffer.pos
        stored = {
            k: v[:size].reshape(-1, *v.shape[2:])
            for k, v in buffer.observations.items()
        }
        last = self.dqn._last_obs
        assert isinstance(last, dict)
        observations = {
            k: np.concatenate([v, np.asarray(last[k])]) for k, v in stored.items()
        }
        actions = np.concatenate(
            [
                buffer.actions[:size].reshape(-1).astype(np.int64),
                np.asarray(self.locals["actions"]).reshape(-1).astype(np.int64),
            ]
        )
        bonuses = self.bonus.rebuild(
            observations, actions, relabel=self.config.relabel_rewards
        )
        self._logdet_at_rebuild = self.bonus.logdet
        self.rebuild_steps.append(int(self.n_calls))
        if bonuses is not None and size:
            rewards = buffer.rewards[:size]
            rewards[...] = bonuses[: rewards.size].reshape(rewards.shape)
