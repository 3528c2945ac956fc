"""The seed paper's Tic-Tac-Toe protocol, exactly: one learned seat against a noisy expert.

Figure 1c of Viano, Freihaut et al., "Multi-agent imitation learning with
function approximation: linear Markov games and beyond", does not report the
NashConv of a profile. Its public code (``tictactoe_experiment.py`` and
``tictactoe/evaluate_policy.py::evaluate_against_expert``) learns the first
mover only (``player=1``: ``X``, PettingZoo's ``player_1``, our seat 0) and
plots, as "exploitability", the rate at which that learned policy *loses*
against the expert playing the second seat with some noise, estimated from
100,000 sampled games. The noise rule, as written there::

    if random.random() < 0.1 and not any(
        winner(apply_move(board, a, to_move)) == to_move for a in probs.keys()):
        uniform_probs = {a: 1.0 for a in legal}
        mixed_probs[a] = 0.6 * p_expert + 0.4 * p_uniform
        probs = normalize_prob_dict(mixed_probs)

so on 10% of its moves, unless its own move wins on the spot, the expert's
distribution is replaced by ``(0.6 expert(a) + 0.4 [a legal]) / (0.6 + 0.4
L)`` over the ``L`` legal moves. The "uniform" weights are 1 per legal move,
*not* ``1 / L``: with ``L = 8`` the expert's own move keeps ``1 / 3.8 = 26%``
and each other move gets ``0.4 / 3.8 = 10.5%``, so a noisy move leaves the
expert's line 74% of the time (7.4% of all such moves), where "40% uniform"
would suggest 35%.

This module evaluates that protocol exactly instead of by sampling:

* :class:`CanonicalMinimaxExpert` — the published expert: deterministic
  minimax that wins fastest and loses slowest
  (:class:`~mail_envs.tictactoe.expert.TicTacToeMinimaxExpert` with
  ``prefer_fastest_win``), breaking ties as that code does: the lowest cell
  index of the board's canonical form (the lexicographically smallest of its
  8 symmetric images, ``X = 1``, ``O = -1``), mapped back to the board. It
  differs from the lowest-index tie-break in 821 of the 4,520 non-terminal
  boards and plays a different self-play game.
* :class:`NoisyExpert` — the noise rule above around any batched expert, as a
  :class:`~mail_envs.core.BatchedPolicy` (its marginal move distribution:
  the noise coin is drawn afresh at every move, so a Markov policy plays it
  exactly).
* :func:`seat_outcomes` — exact win/draw/loss probabilities of one seat of a
  profile in any game whose payoffs end the game (forward dynamic
  programming over the model's states:
  :func:`~mail_envs.solvers.occupancy_measure`, then the mass on the
  rewarded transitions).
* :func:`noisy_expert_outcomes` — the paper's number: a learned seat's exact
  loss rate (with its draw and win rates) against the noisy expert.

Example:
    >>> expert = CanonicalMinimaxExpert()
    >>> outcomes = noisy_expert_outcomes(expert)  # the expert never loses
    >>> outcomes.loss, round(outcomes.win, 3)
    (0.0, 0.172)

### Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mail_envs.core import BatchedPolicy, TabularMarkovGame, check_real
from mail_envs.solvers._tables import PolicyLike, game_support
from mail_envs.solvers.occupancy import occupancy_measure
from mail_envs.tictactoe import rules
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_envs.tictactoe.model import make_tictactoe_game

__all__ = [
    "PAPER_NOISE_PROB",
    "PAPER_UNIFORM_WEIGHT",
    "SYMMETRIES",
    "CanonicalMinimaxExpert",
    "NoisyExpert",
    "SeatOutcomes",
    "noisy_expert_outcomes",
    "seat_outcomes",
]

#: Share of the expert's moves that are perturbed in the published protocol.
PAPER_NOISE_PROB = 0.1
#: Weight of the "uniform" part of a perturbed move (1 per legal move).
PAPER_UNIFORM_WEIGHT = 0.4
#: The 8 symmetries of the board in the published code's order: image cell
#: ``j`` holds board cell ``SYMMETRIES[k, j]`` (identity, rotations by 90, 180,
#: 270 degrees, then four reflections).
SYMMETRIES = np.array(
    [
        [0, 1, 2, 3, 4, 5, 6, 7, 8],
        [6, 3, 0, 7, 4, 1, 8, 5, 2],
        [8, 7, 6, 5, 4, 3, 2, 1, 0],
        [2, 5, 8, 1, 4, 7, 0, 3, 6],
        [2, 1, 0, 5, 4, 3, 8, 7, 6],
        [6, 7, 8, 3, 4, 5, 0, 1, 2],
        [0, 3, 6, 1, 4, 7, 2, 5, 8],
        [8, 5, 2, 7, 4, 1, 6, 3, 0],
    ],
    dtype=np.int64,
)
SYMMETRIES.setflags(write=False)


@dataclass(frozen=True)
class SeatOutcomes:
    """How the games of one seat end, exactly.

    Attributes:
        player: The seat (0 = first mover).
        win: Probability that the seat receives a positive payoff.
        loss: Probability that it receives a negative payoff.
        draw: ``1 - win - loss``: the game ends without a payoff to the seat
            (a draw, or still running at the horizon).
    """

    player: int
    win: float
    loss: float
    draw: float

    @property
    def value(self) -> float:
        """``win - loss``: the seat's value when payoffs are ``+-1``."""
        return self.win - self.loss


def seat_outcomes(
    game: TabularMarkovGame, policies: Sequence[PolicyLike], player: int
) -> SeatOutcomes:
    """Exact probabilities that ``player`` wins, draws or loses under a profile.

    For games whose payoffs end the game (every legal transition that pays
    anyone a nonzero reward enters a terminal state), each game pays each
    player at most once, so ``P(win) = sum_{s, a} d(s, a) [r_i(s, a) > 0]`` and
    ``P(loss) = sum_{s, a} d(s, a) [r_i(s, a) < 0]``, where ``d`` is the
    profile's unnormalized occupancy measure (expected visits of each legal
    ``(state, joint action)``; forward dynamic programming over the model's
    states, one vectorized step per stage of the horizon,
    :func:`~mail_envs.solvers.occupancy_measure`).

    Args:
        game: A finite-horizon game whose payoffs end the game (Tic-Tac-Toe).
        policies: One policy per player: ``(S, A_i)`` tables or batched
            callables (see :func:`mail_envs.solvers.policy_evaluation`).
        player: The seat whose outcomes are returned.

    Returns:
        The seat's :class:`SeatOutcomes`.

    Raises:
        ValueError: If ``player`` is out of range, a policy is invalid, the
            game has no horizon, or a rewarded transition does not end the
            game (the message names the state and joint action).

    Example:
        >>> game = make_tictactoe_game()
        >>> uniform = [game.uniform_policy(0), game.uniform_policy(1)]
        >>> outcomes = seat_outcomes(game, uniform, player=0)
        >>> round(outcomes.win, 4), round(outcomes.loss, 4), round(outcomes.draw, 4)
        (0.5849, 0.2881, 0.127)
    """
    game._check_player(player)
    if game.horizon is None:
        raise ValueError(
            "seat_outcomes needs a finite-horizon game, got horizon=None "
            f"(game {game.name!r})"
        )
    _check_payoffs_end_the_game(game)
    occupancy = occupancy_measure(game, policies, normalized=False)
    visits = np.where(game.terminal[:, None], 0.0, occupancy.joint_state_action)
    rewards = game.rewards[player]
    win = float(visits[rewards > 0].sum())
    loss = float(visits[rewards < 0].sum())
    return SeatOutcomes(
        player=int(player), win=win, loss=loss, draw=max(0.0, 1.0 - win - loss)
    )


def _check_payoffs_end_the_game(game: TabularMarkovGame) -> None:
    """Raise unless every rewarded legal transition enters a terminal state."""
    states, next_states, next_probs, rewards = game_support(game).pairs[:4]
    paid = np.any(rewards != 0.0, axis=0)
    continues = np.any((next_probs > 0) & ~game.terminal[next_states], axis=1)
    bad = np.flatnonzero(paid & continues)
    if bad.size:
        raise ValueError(
            f"game {game.name!r} pays a reward in state {int(states[bad[0]])} on a "
            "transition that does not end the game; outcome probabilities need "
            "payoffs that end it"
        )


class CanonicalMinimaxExpert(TicTacToeMinimaxExpert):
    """The published deterministic expert: fastest-win minimax, canonical tie-break.

    Among the moves of maximal fastest-win value (win as soon, lose as late
    as possible), it plays the one whose cell index is lowest on the board's
    canonical form: the lexicographically smallest of the 8 images
    ``board[SYMMETRIES[k]]`` with ``X = 1``, ``O = -1``, empty ``0`` (the first
    symmetry on ties), the canonical cell mapped back to the board. This is
    ``tictactoe/generate_perfect_policy.py`` of the paper's code (minimax on
    the 765 canonical boards, strict ``>`` over cells in index order), as a
    table over the 5,478 boards computed in one vectorized pass.

    Example:
        >>> expert = CanonicalMinimaxExpert()
        >>> obs = np.zeros((1, 3, 3, 2), dtype=np.int8)
        >>> expert(obs, np.ones((1, 9), dtype=bool)).argmax(axis=1)
        array([0])
    """

    def __init__(self) -> None:
        super().__init__(policy="deterministic", prefer_fastest_win=True)
        st = self._states
        optimal = self.tables.optimal_moves(prefer_fastest_win=True)
        signed = np.array([0, 1, -1], dtype=np.int64)[st.boards]  # EMPTY, X, O
        images = signed[:, SYMMETRIES]  # (S, 8, 9)
        # Lexicographic order of the images: base-3 digits, cell 0 most significant.
        keys = (images + 1) @ (3 ** np.arange(rules.NUM_CELLS - 1, -1, -1))
        perm = SYMMETRIES[np.argmin(keys, axis=1)]  # (S, 9) canonical cell -> cell
        canonical_cell = np.argmax(np.take_along_axis(optimal, perm, axis=1), axis=1)
        moves = perm[np.arange(st.num_states), canonical_cell]
        live = ~st.terminal
        table = np.zeros(optimal.shape)
        table[np.flatnonzero(live), moves[live]] = 1.0
        table.setflags(write=False)
        self.state_table = table

    def __repr__(self) -> str:
        return "CanonicalMinimaxExpert()"


class NoisyExpert:
    """A Tic-Tac-Toe expert that plays a noisy move on a share of its moves.

    With probability ``noise_prob`` per move (independently), unless one of
    the expert's own moves wins on the spot (``keep_winning_moves``), the
    expert's distribution ``p`` is replaced by

    * ``((1 - w) p(a) + w [a legal]) / ((1 - w) + w L)`` (the published code,
      ``normalize_uniform=False``: weight ``w`` per legal move), or
    * ``(1 - w) p(a) + w [a legal] / L`` (``normalize_uniform=True``: a
      ``w``-mixture with the uniform distribution),

    with ``w = uniform_weight`` and ``L`` legal moves. The returned
    probabilities are the marginal ``(1 - noise_prob) p + noise_prob * noisy``
    (``p`` itself where a move of the expert wins), so one batched call
    tabulates the noisy expert exactly. The defaults are the paper's protocol
    (:data:`PAPER_NOISE_PROB`, :data:`PAPER_UNIFORM_WEIGHT`).

    Args:
        expert: The batched expert on PettingZoo planes (default
            :class:`CanonicalMinimaxExpert`).
        noise_prob: Probability that a move is perturbed, in ``[0, 1]``.
        uniform_weight: ``w`` above, in ``[0, 1]``.
        normalize_uniform: Mix with the uniform distribution instead of the
            published per-move weights.
        keep_winning_moves: Never perturb a move where the expert can win at once.

    Raises:
        ValueError: If ``noise_prob`` or ``uniform_weight`` lies outside
            ``[0, 1]`` (naming it and its value).
        TypeError: If one is not a real number, or ``expert`` is not callable.

    Example:
        >>> noisy = NoisyExpert()
        >>> obs = np.zeros((1, 3, 3, 2), dtype=np.int8)
        >>> probs = noisy(obs, np.ones((1, 9), dtype=bool))
        >>> round(float(probs[0, 0]), 4), round(float(probs[0, 1]), 4)  # 0.9 + 0.1 / 4.2
        (0.9238, 0.0095)
    """

    def __init__(
        self,
        expert: BatchedPolicy | None = None,
        *,
        noise_prob: float = PAPER_NOISE_PROB,
        uniform_weight: float = PAPER_UNIFORM_WEIGHT,
        normalize_uniform: bool = False,
        keep_winning_moves: bool = True,
    ) -> None:
        if expert is not None and not callable(expert):
            raise TypeError(f"expert must be a batched policy, got {expert!r}")
        self.expert: BatchedPolicy = (
            CanonicalMinimaxExpert() if expert is None else expert
        )
        self.noise_prob = check_real("noise_prob", noise_prob, minimum=0.0, maximum=1.0)
        self.uniform_weight = check_real(
            "uniform_weight", uniform_weight, minimum=0.0, maximum=1.0
        )
        self.normalize_uniform = bool(normalize_uniform)
        self.keep_winning_moves = bool(keep_winning_moves)

    def __repr__(self) -> str:
        return (
            f"NoisyExpert({self.expert!r}, noise_prob={self.noise_prob}, "
            f"uniform_weight={self.uniform_weight}, "
            f"normalize_uniform={self.normalize_uniform}, "
            f"keep_winning_moves={self.keep_winning_moves})"
        )

    def __call__(
        self, observations: np.ndarray, action_masks: np.ndarray
    ) -> np.ndarray:
        """Move probabilities for a batch of observations.

        Args:
            observations: ``(B, 3, 3, 2)`` PettingZoo planes (or one ``(3, 3, 2)``).
            action_masks: ``(B, 9)`` legal-action masks (or one ``(9,)``).

        Returns:
            ``(B, 9)`` float64 probabilities (``(9,)`` for one observation),
            zero on illegal moves.
        """
        obs = np.asarray(observations)
        masks = np.asarray(action_masks)
        single = obs.ndim == 3
        if single:
            obs, masks = obs[None], masks[None]
        probs = np.asarray(self.expert(obs, masks), dtype=np.float64)
        legal = masks.astype(bool)
        w = self.uniform_weight
        num_legal = legal.sum(axis=1, keepdims=True)
        if self.normalize_uniform:
            uniform = np.divide(
                legal, num_legal, out=np.zeros(legal.shape), where=num_legal > 0
            )
            noisy = (1.0 - w) * probs + w * uniform
        else:
            total = (1.0 - w) * probs.sum(axis=1, keepdims=True) + w * num_legal
            noisy = np.divide(
                (1.0 - w) * probs + w * legal,
                total,
                out=np.zeros(legal.shape),
                where=total > 0,
            )
        out = (1.0 - self.noise_prob) * probs + self.noise_prob * noisy
        if self.keep_winning_moves:
            boards, _ = rules.boards_from_planes(obs)
            wins = rules.winning_move(boards) & legal & (probs > 0)
            out = np.where(wins.any(axis=1, keepdims=True), probs, out)
        return out[0] if single else out


def noisy_expert_outcomes(
    policy: PolicyLike,
    *,
    seat: int = 0,
    opponent: BatchedPolicy | None = None,
    noise_prob: float = PAPER_NOISE_PROB,
    uniform_weight: float = PAPER_UNIFORM_WEIGHT,
    normalize_uniform: bool = False,
    game: TabularMarkovGame | None = None,
) -> SeatOutcomes:
    """The paper's Figure 1c number, exactly: a seat's outcomes against the noisy expert.

    ``policy`` plays ``seat``; the other seat plays
    ``NoisyExpert(opponent, noise_prob=..., uniform_weight=...)``. The
    paper's "exploitability" is the returned :attr:`SeatOutcomes.loss` with
    the defaults (``seat=0``: the first mover, ``player=1`` in the published
    code), which that code estimates from 100,000 sampled games.

    Args:
        policy: The learned policy of ``seat``: a batched policy on PettingZoo
            planes or an ``(S, 9)`` table over the model's states.
        seat: 0 (first mover, ``X``) or 1.
        opponent: The expert behind the noise (default
            :class:`CanonicalMinimaxExpert`).
        noise_prob: See :class:`NoisyExpert`.
        uniform_weight: See :class:`NoisyExpert`.
        normalize_uniform: See :class:`NoisyExpert`.
        game: The Tic-Tac-Toe model (default :func:`make_tictactoe_game`).

    Returns:
        The learner seat's :class:`SeatOutcomes`.

    Raises:
        ValueError: If ``seat`` is not 0 or 1, a noise parameter lies outside
            ``[0, 1]``, or the policy is invalid.
    """
    if isinstance(seat, bool) or seat not in (0, 1):
        raise ValueError(f"seat must be 0 or 1, got {seat!r}")
    noisy = NoisyExpert(
        opponent,
        noise_prob=noise_prob,
        uniform_weight=uniform_weight,
        normalize_uniform=normalize_uniform,
    )
    model = make_tictactoe_game() if game is None else game
    policies: list[Any] = [noisy, noisy]
    policies[seat] = policy
    return seat_outcomes(model, policies, seat)
