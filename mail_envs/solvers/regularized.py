"""Entropy-regularized (logit, quantal-response) equilibria of zero-sum Markov games.

With temperature ``tau > 0`` each player is paid ``tau`` times the entropy of
its own policy on top of its reward, in every state. Shapley's operator
becomes

    (T_tau V)(s) = max_x min_y  x^T Q_s y + tau H(x) - tau H(y),
    Q_s(a, b) = r_0(s, a, b) + gamma sum_s' P(s' | s, a, b) V(s'),

whose unique saddle point in every state is the logit (quantal-response)
equilibrium ``x = softmax(Q_s y / tau)``, ``y = softmax(-Q_s^T x / tau)``
(McKelvey & Palfrey 1995). ``T_tau`` is a ``gamma``-contraction, and its fixed
point gives the regularized equilibrium of the Markov game. The saddle points
are found, for all states at once, by the entropy-regularized extragradient
method of Cen, Wei & Chi (2021, "Fast policy extragradient methods for
competitive games with entropy regularization", NeurIPS), which converges
linearly; the outer value update is interleaved with it and warm-started.

As ``tau -> 0`` the profile approaches a Nash equilibrium of the unregularized
game: each player's gain is at most ``tau (log |A_0| + log |A_1|) / (1 - gamma)``
(discounted) or ``tau H (log |A_0| + log |A_1|)`` (horizon ``H``), because the
regularized values differ from the unregularized ones by at most the entropy
terms. The Nash gap of :func:`solve_logit_equilibrium`'s result is therefore
at most twice that, and the tests check it.

### Version History

* v0: initial release.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mail_envs.core import TabularMarkovGame
from mail_envs.solvers._tables import expected_next

__all__ = ["LogitEquilibrium", "solve_logit_equilibrium"]


@dataclass(frozen=True)
class LogitEquilibrium:
    """The entropy-regularized equilibrium of a two-player zero-sum game.

    Attributes:
        policies: ``(pi_0, pi_1)``, each ``(S, A_i)`` (discounted) or
            ``(H, S, A_i)`` (finite horizon); full support on legal actions.
        values: Regularized values of player_0, ``(S,)`` or ``(H, S)``
            (player_1's are the negatives).
        value: Regularized value of player_0 at the initial distribution.
        tau: The temperature.
        iterations: Extragradient steps taken (all states at once).
        residual: Largest violation of the logit fixed point
            ``|pi - softmax(Q . / tau)|`` and, for discounted games, of the
            Bellman equation, at the returned solution.
    """

    policies: tuple[np.ndarray, np.ndarray]
    values: np.ndarray
    value: float
    tau: float
    iterations: int
    residual: float


def _normalize(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


def _entropy(log_p: np.ndarray) -> np.ndarray:
    p = np.exp(log_p)
    return -(p * np.where(p > 0, log_p, 0.0)).sum(axis=-1)


class _SaddleSolver:
    """Warm-started extragradient for the regularized matrix games of all states."""

    def __init__(self, masks: tuple[np.ndarray, np.ndarray], tau: float) -> None:
        self.masks = masks
        self.tau = tau
        self.log_x = _normalize(np.where(masks[0], 0.0, -np.inf))
        self.log_y = _normalize(np.where(masks[1], 0.0, -np.inf))
        self.steps = 0

    def _mirror(
        self, log_p: np.ndarray, grad: np.ndarray, mask: np.ndarray, eta: float
    ):
        return _normalize(
            np.where(mask, (1.0 - eta * self.tau) * log_p + eta * grad, -np.inf)
        )

    def run(self, q: np.ndarray, steps: int) -> None:
        """Take ``steps`` extragradient steps on the games ``q`` (S, A_0, A_1)."""
        eta = 1.0 / (self.tau + 2.0 * max(float(np.abs(q).max()), 1e-12))
        mx, my = self.masks
        for _ in range(steps):
            x, y = np.exp(self.log_x), np.exp(self.log_y)
            bar_x = self._mirror(self.log_x, np.einsum("sab,sb->sa", q, y), mx, eta)
            bar_y = self._mirror(self.log_y, -np.einsum("sab,sa->sb", q, x), my, eta)
            x_mid, y_mid = np.exp(bar_x), np.exp(bar_y)
            self.log_x = self._mirror(
                self.log_x, np.einsum("sab,sb->sa", q, y_mid), mx, eta
            )
            self.log_y = self._mirror(
                self.log_y, -np.einsum("sab,sa->sb", q, x_mid), my, eta
            )
        self.steps += steps

    def value(self, q: np.ndarray) -> np.ndarray:
        """Regularized value ``x^T Q y + tau H(x) - tau H(y)`` per state."""
        x, y = np.exp(self.log_x), np.exp(self.log_y)
        bilinear = np.einsum("sa,sab,sb->s", x, q, y)
        return bilinear + self.tau * (_entropy(self.log_x) - _entropy(self.log_y))

    def residual(self, q: np.ndarray) -> float:
        """Largest gap between the policies and their logit responses."""
        x, y = np.exp(self.log_x), np.exp(self.log_y)
        mx, my = self.masks
        resp_x = np.exp(
            _normalize(np.where(mx, np.einsum("sab,sb->sa", q, y) / self.tau, -np.inf))
        )
        resp_y = np.exp(
            _normalize(np.where(my, -np.einsum("sab,sa->sb", q, x) / self.tau, -np.inf))
        )
        return float(max(np.abs(resp_x - x).max(), np.abs(resp_y - y).max()))


def _stage_payoffs(game: TabularMarkovGame, values: np.ndarray) -> np.ndarray:
    q = game.rewards[0] + game.gamma * expected_next(game, values)
    q = np.where(game.terminal[:, None], 0.0, q)
    return game.joint_reshape(q)


def solve_logit_equilibrium(
    game: TabularMarkovGame,
    tau: float,
    *,
    tol: float = 1e-10,
    max_steps: int = 500_000,
    steps_per_update: int = 10,
) -> LogitEquilibrium:
    """Entropy-regularized equilibrium of a two-player zero-sum Markov game.

    Args:
        game: Two-player zero-sum game (discounted or finite horizon).
        tau: Temperature ``> 0``; smaller is closer to a Nash equilibrium.
        tol: Stop when the logit fixed point and (discounted) the Bellman
            equation hold to this accuracy.
        max_steps: Cap on extragradient steps (per stage for finite horizons).
        steps_per_update: Extragradient steps between value updates
            (discounted games).

    Returns:
        A :class:`LogitEquilibrium`.

    Raises:
        ValueError: If the game is not two-player zero-sum, ``tau <= 0``, or
            the iteration does not reach ``tol`` within ``max_steps``.

    Example:
        >>> from mail_envs.random_games import make_random_zero_sum_game
        >>> eq = solve_logit_equilibrium(make_random_zero_sum_game(seed=0), tau=0.1)
        >>> eq.policies[0].shape
        (10, 3)
    """
    if game.num_players != 2 or not game.is_zero_sum:
        raise ValueError(
            f"the logit equilibrium solver needs a two-player zero-sum game, got "
            f"{game.num_players} players (zero-sum: {game.is_zero_sum})"
        )
    if not tau > 0:
        raise ValueError(f"tau must be > 0, got {tau!r}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    if steps_per_update < 1:
        raise ValueError(f"steps_per_update must be >= 1, got {steps_per_update!r}")
    masks = (game.legal_masks[0], game.legal_masks[1])
    if game.horizon is None:
        return _solve_discounted(
            game, float(tau), masks, tol, max_steps, steps_per_update
        )
    return _solve_finite(game, float(tau), masks, tol, max_steps)


def _solve_discounted(game, tau, masks, tol, max_steps, steps_per_update):
    solver = _SaddleSolver(masks, tau)
    values = np.zeros(game.num_states)
    while True:
        q = _stage_payoffs(game, values)
        solver.run(q, steps_per_update)
        new_values = np.where(game.terminal, 0.0, solver.value(q))
        bellman = float(np.abs(new_values - values).max())
        values = new_values
        if bellman <= tol * (1.0 - game.gamma):
            q = _stage_payoffs(game, values)
            residual = solver.residual(q)
            bellman = float(
                np.abs(np.where(game.terminal, 0.0, solver.value(q)) - values).max()
            )
            if residual <= tol and bellman <= tol:
                break
        if solver.steps >= max_steps:
            raise ValueError(
                f"logit equilibrium with tau={tau} did not reach tol={tol} in "
                f"{max_steps} steps (Bellman change {bellman:.3g}); raise max_steps "
                "or tau"
            )
    policies = (np.exp(solver.log_x), np.exp(solver.log_y))
    return LogitEquilibrium(
        policies=policies,
        values=values,
        value=float(game.initial_distribution @ values),
        tau=tau,
        iterations=solver.steps,
        residual=max(residual, bellman),
    )


def _solve_finite(game, tau, masks, tol, max_steps):
    horizon = game.horizon
    values = np.zeros((horizon + 1, game.num_states))
    pol_x = np.empty((horizon, *masks[0].shape))
    pol_y = np.empty((horizon, *masks[1].shape))
    steps = 0
    worst = 0.0
    solver = _SaddleSolver(masks, tau)
    for h in range(horizon - 1, -1, -1):
        q = _stage_payoffs(game, values[h + 1])
        while (residual := solver.residual(q)) > tol:
            if solver.steps - steps >= max_steps:
                raise ValueError(
                    f"logit equilibrium with tau={tau} did not reach tol={tol} at step "
                    f"{h} in {max_steps} steps (residual {residual:.3g})"
                )
            solver.run(q, 50)
        steps = solver.steps
        worst = max(worst, residual)
        values[h] = np.where(game.terminal, 0.0, solver.value(q))
        pol_x[h], pol_y[h] = np.exp(solver.log_x), np.exp(solver.log_y)
    return LogitEquilibrium(
        policies=(pol_x, pol_y),
        values=values[:horizon],
        value=float(game.initial_distribution @ values[0]),
        tau=tau,
        iterations=solver.steps,
        residual=worst,
    )
