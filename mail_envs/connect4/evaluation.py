"""Win rates of a Connect Four policy against a set of opponents.

:func:`evaluate_connect4` plays a :class:`~mail_envs.core.BatchedPolicy`
against each opponent from each seat; every game of a match runs in one batch
(one batched policy call per ply for all unfinished games), on the bitboard
rules of :mod:`mail_envs.connect4.rules`, with PettingZoo's rules: a column
that is full ends the game as a loss for the player who chose it. Actions are
sampled from the returned probabilities with a seeded generator, so a result
is reproducible from ``seed``.

Every match also records the opponent's mean policy entropy over its own
decisions (:attr:`MatchResult.opponent_entropy`, nats), the estimate the
paper's public code reports as Table 2; :func:`opponent_entropies` measures
the same quantity on a fixed set of positions instead, independent of the
evaluated policy.

Rates come with Wilson score intervals (:func:`wilson_interval`; E. B. Wilson,
"Probable inference, the law of succession, and statistical inference",
JASA 22, 1927), which stay inside [0, 1] and keep their coverage for rates
near 0 or 1, where a learner's loss rate against a good opponent usually is.

Example:
    >>> from mail_envs.connect4.expert import Connect4Expert
    >>> from mail_envs.connect4.opponents import SoftmaxSolverOpponent
    >>> result = evaluate_connect4(
    ...     Connect4Expert(), {"softmax-1": SoftmaxSolverOpponent.level(1)},
    ...     n_games=4, seed=0, seats=("first",), progress=False)
    >>> result.result("softmax-1", "first").losses
    0
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from math import sqrt
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from tqdm.auto import tqdm

from mail_envs.connect4 import rules
from mail_envs.core import BatchedPolicy, check_int
from mail_envs.files import atomic_write_text

__all__ = [
    "Connect4Evaluation",
    "MatchOutcomes",
    "MatchResult",
    "OpponentEntropies",
    "evaluate_connect4",
    "opponent_entropies",
    "play_connect4_games",
    "policy_entropy",
    "wilson_interval",
]

Seat = Literal["first", "second"]
_SEATS: tuple[str, ...] = ("first", "second")


def wilson_interval(
    successes: int, trials: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    ``(p + z^2 / 2n -/+ z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n)``
    with ``p = successes / trials`` and ``z`` the ``(1 + confidence) / 2``
    normal quantile.

    Args:
        successes: Number of successes, ``0 <= successes <= trials``.
        trials: Number of trials, ``>= 1``.
        confidence: Coverage in ``(0, 1)``.

    Returns:
        ``(low, high)``.

    Raises:
        ValueError: If the counts or the confidence are out of range.

    Example:
        >>> [round(x, 4) for x in wilson_interval(0, 10)]
        [0.0, 0.2775]
    """
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(
            f"need 0 <= successes <= trials and trials >= 1, got {successes}/{trials}"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class MatchOutcomes:
    """Raw outcomes of a batch of games between two policies.

    Attributes:
        winner: ``(n,)`` int8: ``1`` first player won, ``-1`` second won, ``0``
            draw.
        length: ``(n,)`` number of plies played (an illegal move counts).
        illegal: ``(n,)`` bool, the game ended by an illegal move (its author
            lost).
        entropy: ``(n, 2)`` sum over each player's decisions of the entropy
            (nats) of its move distribution; column 0 the first player.
        decisions: ``(n, 2)`` number of decisions of each player.
    """

    winner: np.ndarray
    length: np.ndarray
    illegal: np.ndarray
    entropy: np.ndarray
    decisions: np.ndarray


def policy_entropy(probs: np.ndarray) -> np.ndarray:
    """Row-wise Shannon entropy in nats, ``-sum_a p(a) log p(a)`` (``0 log 0 = 0``).

    Args:
        probs: ``(B, A)`` move distributions.

    Returns:
        ``(B,)`` float64 entropies.

    Example:
        >>> round(float(policy_entropy(np.full((1, 7), 1 / 7))[0]), 4)  # log 7
        1.9459
    """
    probs = np.asarray(probs, dtype=np.float64)
    logs = np.log(probs, out=np.zeros_like(probs), where=probs > 0)
    return -(probs * logs).sum(axis=-1)


def _probabilities(
    policy: BatchedPolicy, obs: np.ndarray, legal: np.ndarray, name: str
) -> np.ndarray:
    probs = np.asarray(policy(obs, legal), dtype=np.float64)
    if probs.shape != legal.shape:
        raise ValueError(
            f"{name} returned probabilities of shape {probs.shape}, expected {legal.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(probs).all(axis=1) | (probs < 0).any(axis=1))
    if bad.size:
        raise ValueError(
            f"{name} returned invalid probabilities {probs[bad[0]]} in row {bad[0]}"
        )
    sums = probs.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6)
    if bad.size:
        raise ValueError(
            f"{name} probabilities in row {bad[0]} sum to {sums[bad[0]]!r}, expected 1"
        )
    return probs


def play_connect4_games(
    first: BatchedPolicy,
    second: BatchedPolicy,
    n_games: int,
    rng: np.random.Generator,
    *,
    on_finish: Callable[[int], object] | None = None,
) -> MatchOutcomes:
    """Play ``n_games`` games at once, ``first`` moving first.

    Each ply makes one batched call of the policy to move with the
    observations ``(B, 6, 7, 2)`` and masks ``(B, 7)`` of the ``B`` unfinished
    games, and samples one action per game from the returned probabilities.

    Args:
        first: Policy of the first player.
        second: Policy of the second player.
        n_games: Number of games, ``>= 1``.
        rng: Source of the action samples.
        on_finish: Optional callable ``on_finish(k)`` told that ``k`` more
            games have ended (for progress bars).

    Returns:
        The :class:`MatchOutcomes`.

    Raises:
        ValueError: If ``n_games < 1`` or a policy returns probabilities of the
            wrong shape, negative or non-finite entries, or rows that do not
            sum to 1.
    """
    n_games = check_int("n_games", n_games, 1)
    stones = np.zeros((2, n_games), dtype=np.uint64)
    mask = np.zeros(n_games, dtype=np.uint64)
    winner = np.zeros(n_games, dtype=np.int8)
    length = np.zeros(n_games, dtype=np.int64)
    illegal = np.zeros(n_games, dtype=bool)
    entropy = np.zeros((n_games, 2))
    decisions = np.zeros((n_games, 2), dtype=np.int64)
    live = np.arange(n_games)
    policies = (first, second)
    for ply in range(rules.NUM_CELLS):
        mover = ply % 2
        me, them = stones[mover, live], stones[1 - mover, live]
        legal = rules.batch_legal(mask[live])
        name = "first policy" if mover == 0 else "second policy"
        probs = _probabilities(
            policies[mover], rules.planes_from_bitboards(me, them), legal, name
        )
        entropy[live, mover] += policy_entropy(probs)
        decisions[live, mover] += 1
        cdf = np.cumsum(probs, axis=1)
        u = rng.random(len(live))[:, None] * cdf[:, -1:]
        action = np.argmax(cdf > u, axis=1)
        length[live] = ply + 1
        bad = ~legal[np.arange(len(live)), action]
        cell = rules.batch_drop(mask[live], action)
        me = me | np.where(bad, np.uint64(0), cell)
        stones[mover, live] = me
        mask[live] |= np.where(bad, np.uint64(0), cell)
        won = ~bad & rules.batch_has_four(me)
        sign = np.int8(1 if mover == 0 else -1)
        winner[live[won]] = sign
        winner[live[bad]] = -sign
        illegal[live[bad]] = True
        done = bad | won | (mask[live] == np.uint64(rules.ALL_CELLS))
        if on_finish is not None and done.any():
            on_finish(int(done.sum()))
        live = live[~done]
        if live.size == 0:
            break
    return MatchOutcomes(
        winner=winner,
        length=length,
        illegal=illegal,
        entropy=entropy,
        decisions=decisions,
    )


@dataclass(frozen=True)
class MatchResult:
    """Results of the evaluated policy against one opponent from one seat.

    Attributes:
        opponent: Opponent name.
        seat: ``"first"`` or ``"second"``: where the evaluated policy sat.
        n_games: Games played.
        wins: Games the evaluated policy won.
        draws: Drawn games.
        losses: Games it lost.
        illegal_losses: Losses by an illegal move of the evaluated policy.
        illegal_wins: Wins by an illegal move of the opponent.
        win_rate: ``wins / n_games``.
        draw_rate: ``draws / n_games``.
        loss_rate: ``losses / n_games``.
        win_ci: Wilson interval of the win rate.
        draw_ci: Wilson interval of the draw rate.
        loss_ci: Wilson interval of the loss rate.
        mean_length: Mean number of plies per game.
        opponent_entropy: The opponent's mean move entropy (nats) over all
            its decisions in the match (the published code's Table 2
            estimate: ``scipy.stats.entropy`` of each softmax move
            distribution, averaged over the opponent's moves).
    """

    opponent: str
    seat: str
    n_games: int
    wins: int
    draws: int
    losses: int
    illegal_losses: int
    illegal_wins: int
    win_rate: float
    draw_rate: float
    loss_rate: float
    win_ci: tuple[float, float]
    draw_ci: tuple[float, float]
    loss_ci: tuple[float, float]
    mean_length: float
    opponent_entropy: float = 0.0

    @classmethod
    def from_outcomes(
        cls, opponent: str, seat: str, outcomes: MatchOutcomes, confidence: float = 0.95
    ) -> MatchResult:
        """Count wins, draws and losses of the policy in ``seat``."""
        sign = 1 if seat == "first" else -1
        them = 1 if seat == "first" else 0
        moves = int(outcomes.decisions[:, them].sum())
        mine = outcomes.winner.astype(np.int64) * sign
        n = int(mine.size)
        wins, draws, losses = (
            int((mine > 0).sum()),
            int((mine == 0).sum()),
            int((mine < 0).sum()),
        )
        return cls(
            opponent=opponent,
            seat=seat,
            n_games=n,
            wins=wins,
            draws=draws,
            losses=losses,
            illegal_losses=int((outcomes.illegal & (mine < 0)).sum()),
            illegal_wins=int((outcomes.illegal & (mine > 0)).sum()),
            win_rate=wins / n,
            draw_rate=draws / n,
            loss_rate=losses / n,
            win_ci=wilson_interval(wins, n, confidence),
            draw_ci=wilson_interval(draws, n, confidence),
            loss_ci=wilson_interval(losses, n, confidence),
            mean_length=float(outcomes.length.mean()),
            opponent_entropy=(
                float(outcomes.entropy[:, them].sum() / moves) if moves else 0.0
            ),
        )


@dataclass(frozen=True)
class Connect4Evaluation:
    """Results of :func:`evaluate_connect4`: one :class:`MatchResult` per match.

    Attributes:
        matches: Results in the order (opponent, seat) were played.
        n_games: Games per match.
        seed: Seed of the evaluation.
        confidence: Coverage of the intervals.
    """

    matches: tuple[MatchResult, ...]
    n_games: int
    seed: int
    confidence: float = 0.95

    def result(self, opponent: str, seat: str) -> MatchResult:
        """The match against ``opponent`` from ``seat``.

        Raises:
            KeyError: If no such match was played.
        """
        for match in self.matches:
            if match.opponent == opponent and match.seat == seat:
                return match
        played = [(m.opponent, m.seat) for m in self.matches]
        raise KeyError(
            f"no match against {opponent!r} from seat {seat!r}; played {played}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: ``{"n_games", "seed", "confidence", "matches": [...]}``."""
        return asdict(self)

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` as JSON atomically (temporary file, then rename).

        Args:
            path: Destination file; its directory must exist.
        """
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    def summary(self) -> str:
        """One line per match: win/draw/loss rates with the loss interval."""
        lines = []
        for m in self.matches:
            lines.append(
                f"{m.opponent:>12} {m.seat:>6}: W {m.win_rate:.3f} D {m.draw_rate:.3f} "
                f"L {m.loss_rate:.3f} (L {self.confidence:.0%} CI {m.loss_ci[0]:.3f}-"
                f"{m.loss_ci[1]:.3f}, n={m.n_games})"
            )
        return "\n".join(lines)


def evaluate_connect4(
    policy: BatchedPolicy,
    opponents: Mapping[str, BatchedPolicy],
    n_games: int,
    *,
    seed: int,
    seats: Sequence[str] = ("first", "second"),
    progress: bool = True,
    confidence: float = 0.95,
) -> Connect4Evaluation:
    """Win/draw/loss rates of ``policy`` against each opponent from each seat.

    Every (opponent, seat) match plays ``n_games`` games as one batch with its
    own random stream, derived from ``seed``, the opponent's name and the seat,
    so a match's result does not depend on which other opponents are
    evaluated.

    Args:
        policy: The evaluated batched policy.
        opponents: Opponents by name.
        n_games: Games per match, ``>= 1``.
        seed: Seed of the action sampling.
        seats: Seats the evaluated policy takes: ``"first"`` and/or
            ``"second"``.
        progress: Show a tqdm progress bar over games.
        confidence: Coverage of the Wilson intervals.

    Returns:
        A :class:`Connect4Evaluation`.

    Raises:
        ValueError: If ``n_games < 1``, a seat is unknown, ``opponents`` is
            empty, or a policy returns invalid probabilities.
    """
    n_games = check_int("n_games", n_games, 1)
    seed = check_int("seed", seed, 0)
    bad = [s for s in seats if s not in _SEATS]
    if bad or not seats:
        raise ValueError(
            f"seats must be a non-empty subset of {_SEATS}, got {tuple(seats)}"
        )
    if not opponents:
        raise ValueError("opponents must name at least one opponent")
    matches = []
    total = len(opponents) * len(seats) * n_games
    with tqdm(
        total=total, disable=not progress, desc="connect4 eval", unit="game"
    ) as bar:
        for name, opponent in opponents.items():
            for seat in seats:
                bar.set_postfix_str(f"{name} ({seat})")
                rng = np.random.default_rng(
                    [seed, zlib.crc32(name.encode()), _SEATS.index(seat)]
                )
                pair = (policy, opponent) if seat == "first" else (opponent, policy)
                outcomes = play_connect4_games(
                    *pair, n_games, rng, on_finish=bar.update
                )
                matches.append(
                    MatchResult.from_outcomes(name, seat, outcomes, confidence)
                )
    return Connect4Evaluation(
        matches=tuple(matches), n_games=n_games, seed=seed, confidence=confidence
    )


@dataclass(frozen=True)
class OpponentEntropies:
    """Mean policy entropies of opponents on one fixed set of positions (Table 2).

    Attributes:
        names: The opponents, in the order given.
        mean_nats: Each opponent's mean move entropy over the positions (nats).
        standard_error_nats: Standard error of each mean over the positions.
        uniform_nats: Mean entropy of the uniform distribution over the legal
            moves of the same positions (the upper bound; ``log 7 ~ 1.95`` on
            a board without a full column).
        n_positions: Number of positions.
    """

    names: tuple[str, ...]
    mean_nats: tuple[float, ...]
    standard_error_nats: tuple[float, ...]
    uniform_nats: float
    n_positions: int

    @property
    def mean_bits(self) -> tuple[float, ...]:
        """The means in bits (``nats / log 2``)."""
        return tuple(m / np.log(2.0) for m in self.mean_nats)

    def entropy(self, name: str) -> float:
        """Mean entropy (nats) of the opponent ``name``.

        Raises:
            KeyError: If ``name`` was not measured.
        """
        if name not in self.names:
            raise KeyError(f"no opponent {name!r}; measured {list(self.names)}")
        return self.mean_nats[self.names.index(name)]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, the bits included."""
        return asdict(self) | {"mean_bits": list(self.mean_bits)}

    def summary(self) -> str:
        """One line per opponent: mean entropy in nats (with its standard error)
        and in bits."""
        lines = [
            f"{name:>12}: {nats:.3f} +- {se:.3f} nats ({nats / np.log(2.0):.3f} bits)"
            for name, nats, se in zip(
                self.names, self.mean_nats, self.standard_error_nats, strict=True
            )
        ]
        lines.append(
            f"{'uniform':>12}: {self.uniform_nats:.3f} nats "
            f"({self.uniform_nats / np.log(2.0):.3f} bits), "
            f"{self.n_positions} positions"
        )
        return "\n".join(lines)


def opponent_entropies(
    opponents: Mapping[str, BatchedPolicy],
    observations: np.ndarray,
    action_masks: np.ndarray,
) -> OpponentEntropies:
    """Each opponent's mean policy entropy over one set of positions (Table 2).

    Appendix I of the paper reports the entropies of the softmax opponents to
    show how noisy each level is; the published code averages
    ``scipy.stats.entropy`` (nats) of the softmax move distribution over the
    opponent's decisions in the evaluation games (see
    :attr:`MatchResult.opponent_entropy`). Here every opponent is measured on
    the same given positions, e.g. from
    :func:`mail_envs.connect4.opponents.random_positions`, so the numbers do
    not depend on a learned policy and the levels are compared on equal
    footing.

    Args:
        opponents: Opponents by name (batched policies).
        observations: ``(N, 6, 7, 2)`` positions from the point of view of the
            player to move.
        action_masks: ``(N, 7)`` legal moves; every row has one.

    Returns:
        An :class:`OpponentEntropies`, in nats.

    Raises:
        ValueError: If there are no positions, a row has no legal move, or an
            opponent returns invalid probabilities.

    Example:
        >>> from mail_envs.connect4.opponents import SoftmaxSolverOpponent
        >>> from mail_envs.connect4.opponents import random_positions
        >>> obs, masks = random_positions(5, min_ply=10, max_ply=12, seed=0)
        >>> levels = {f"softmax-{k}": SoftmaxSolverOpponent.level(k) for k in (1, 5)}
        >>> table = opponent_entropies(levels, obs, masks)
        >>> table.mean_nats[0] < table.mean_nats[1] <= table.uniform_nats
        True
    """
    masks = np.asarray(action_masks, dtype=bool)
    if masks.ndim != 2 or masks.shape[0] < 1:
        raise ValueError(f"need a non-empty (N, 7) batch of masks, got {masks.shape}")
    empty = np.flatnonzero(~masks.any(axis=1))
    if empty.size:
        raise ValueError(f"position {empty[0]} has no legal move")
    n = masks.shape[0]
    means, errors = [], []
    for name, opponent in opponents.items():
        entropy = policy_entropy(_probabilities(opponent, observations, masks, name))
        means.append(float(entropy.mean()))
        errors.append(float(entropy.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0)
    return OpponentEntropies(
        names=tuple(opponents),
        mean_nats=tuple(means),
        standard_error_nats=tuple(errors),
        uniform_nats=float(np.log(masks.sum(axis=1)).mean()),
        n_positions=n,
    )
