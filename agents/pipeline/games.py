"""Every registered game with an expert, as an imitation problem and its evaluation.

:data:`GAME_SPECS` names each game the pipeline runs, how to build its
:class:`~agents.imitation.ImitationProblem` from a few options (size, length,
players, the random game's seed), the methods run by default, the BC settings
and how a learned profile is evaluated:

* games with a model (every one but Connect4): the exact NashConv and each
  player's gain (:func:`mail_envs.solvers.nash_gap`);
* Connect4: win rates, with Wilson intervals, of each learned seat against
  the solver-based opponent ladder (:func:`mail_envs.connect4.evaluation.evaluate_connect4`:
  softmax levels, the approximate best response, the perfect solver) — the
  harness of Table 1.

The Gridworld comes with its linear setup (the Nash tables and tabular
features; option ``policy_class="linear"``): ``bc`` and ``uniform`` then run
on the model with softmax-linear BC, as LSVI-UCB-ZERO does; with
``policy_class="neural"`` they run through the env with neural BC, like
DQN-Explore and every other game's methods. Its further options give the
published 5x5 setup of figure 2a: ``start="published"``
(:func:`mail_envs.gridworld.published_starts`), ``episode_length=16`` (the
env's ``max_cycles``; the game stays discounted) and ``observation="image"``
(the rendered ``32 x 32 x 3`` picture, cloned by the
:class:`~agents.policies.ImageCNNPolicy` CNN).

Example:
    >>> spec = GAME_SPECS["chain"]
    >>> problem = spec.problem({"length": 3})
    >>> problem.game_id, problem.model.num_states > 0, spec.unit
    ('mail/chain-v0', True, 'games')
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.bc.augment import dihedral_augment
from agents.bc.profile import BCConfig
from agents.imitation import ImitationProblem, ImitationResult, LinearSetup
from agents.linear.features import tabular_features
from agents.policies import ImageCNNPolicy, MLPPolicy, PolicyHead
from mail_envs import (
    chain,
    connect4,
    gridworld,
    public_goods,
    random_games,
    tictactoe,
    xor_coordination,
)
from mail_envs.connect4.evaluation import evaluate_connect4
from mail_envs.connect4.expert import Connect4Expert
from mail_envs.connect4.opponents import evaluation_opponents
from mail_envs.core import BatchedPolicy, TabularMarkovGame, check_int
from mail_envs.solvers import nash_gap, solve_zero_sum
from mail_envs.tictactoe.evaluation import (
    PAPER_NOISE_PROB,
    PAPER_UNIFORM_WEIGHT,
    CanonicalMinimaxExpert,
    noisy_expert_outcomes,
)
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_wrappers.table_policy import TablePolicy

__all__ = [
    "GAME_SPECS",
    "Evaluation",
    "GameSpec",
    "connect4_win_metrics",
    "gridworld_head",
]


@dataclass(frozen=True)
class Evaluation:
    """How good a learned profile is.

    Attributes:
        nash_conv: Exact NashConv (None without a model).
        gains: Each player's exact gain from deviating (empty without a model).
        metrics: Further numbers by name (Connect4: ``"win:<opponent>:<seat>"``
            win rates and ``"win_low:..."``/``"win_high:..."`` Wilson bounds).
    """

    nash_conv: float | None
    gains: tuple[float, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class GameSpec:
    """One game of the pipeline.

    Attributes:
        name: The CLI name (``"tictactoe"``).
        game_id: The registered PettingZoo id.
        methods: The methods run by default, in plot order.
        options: The game's options and their defaults (``size``...).
        build: ``options -> ImitationProblem``.
        unit: What a budget counts (``"games"`` or ``"episodes"``).
        bc: ``augment -> BCConfig`` for the env-based methods.
        evaluate: ``(problem, result, seed, options) -> Evaluation``.
        max_budget: The largest budget the game accepts (memory bound).
        method_options: The methods' constructor keywords on this game, under
            those a :class:`~agents.pipeline.Pipeline` is given (e.g.
            Tic-Tac-Toe's DQN explorer steps 8 games at once).
    """

    name: str
    game_id: str
    methods: tuple[str, ...]
    options: Mapping[str, Any]
    build: Callable[..., ImitationProblem]
    unit: str = "games"
    bc: Callable[[bool], BCConfig] = lambda augment: BCConfig()
    evaluate: Callable[..., Evaluation] | None = None
    max_budget: int = 100_000
    method_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def problem(self, options: Mapping[str, Any] | None = None) -> ImitationProblem:
        """The problem for ``options`` (unknown options are refused)."""
        return _cached_problem(
            self.name, tuple(sorted(self.check_options(options).items()))
        )

    def check_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The options with their defaults filled in.

        Raises:
            ValueError: If an option does not apply to this game.
        """
        given = dict(options or {})
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            allowed = sorted(self.options) or "none"
            raise ValueError(
                f"game {self.name!r} takes no option {unknown[0]!r} (options: {allowed})"
            )
        return {**self.options, **given}

    def evaluation(
        self,
        problem: ImitationProblem,
        result: ImitationResult,
        seed: int,
        options: Mapping[str, Any],
    ) -> Evaluation:
        """Evaluate a learned profile (exactly when the game has a model)."""
        if self.evaluate is not None:
            return self.evaluate(problem, result, seed, options)
        assert problem.model is not None
        gap = nash_gap(problem.model, list(result.policies))
        return Evaluation(float(gap.nash_conv), tuple(float(g) for g in gap.gains))


def _table_experts(game: TabularMarkovGame, tables: Any) -> tuple[TablePolicy, ...]:
    return tuple(TablePolicy(game, i, t) for i, t in enumerate(tables))


def _tabular_problem(
    game_id: str,
    env_fn: Callable[..., Any],
    tables: Callable[[TabularMarkovGame], Any],
    expert_name: str,
    *,
    linear: bool = False,
) -> ImitationProblem:
    game = env_fn().unwrapped.game  # the env's own model: the same game by construction
    expert_tables = tuple(np.asarray(t) for t in tables(game))
    setup = None
    if linear:
        features = tuple(tabular_features(game, i) for i in range(game.num_players))
        setup = LinearSetup(expert_tables, features)
    return ImitationProblem(
        game_id,
        env_fn,
        _table_experts(game, expert_tables),
        model=game,
        linear=setup,
        expert_name=expert_name,
    )


def _tabular(
    name: str,
    module: Any,
    methods: tuple[str, ...],
    tables: Callable[[TabularMarkovGame], Any],
    expert_name: str,
    options: Mapping[str, Any] | None = None,
    *,
    unit: str = "games",
    linear: bool = False,
    rename: Mapping[str, str] | None = None,
) -> GameSpec:
    """The spec of a tabular game: its env's options are the spec's (``rename``d)."""
    game_id = f"mail/{name}-v0"

    def build(opts: Mapping[str, Any]) -> ImitationProblem:
        kwargs = {(rename or {}).get(k, k): v for k, v in opts.items()}
        policy_class = kwargs.pop("policy_class", "linear" if linear else "neural")
        if policy_class not in ("linear", "neural"):
            raise ValueError(
                f"policy_class must be 'linear' or 'neural', got {policy_class!r}"
            )
        env_fn = functools.partial(module.env, **kwargs)
        return _tabular_problem(
            game_id, env_fn, tables, expert_name, linear=policy_class == "linear"
        )

    return GameSpec(name, game_id, methods, dict(options or {}), build, unit=unit)


def gridworld_head(
    obs_shape: tuple[int, ...], num_actions: int, seed: int
) -> PolicyHead:
    """The Gridworld's BC head: the image CNN on pictures, else BC's default MLP."""
    if len(obs_shape) == 3:
        return ImageCNNPolicy(obs_shape, num_actions, seed=seed)
    return MLPPolicy(obs_shape, num_actions, seed=seed)


def _gridworld_bc(augment: bool) -> BCConfig:
    return BCConfig(head_fn=gridworld_head)


def _gridworld() -> GameSpec:
    """The Gridworld: the 3x3 corners race by default, figure 2a's setup by options.

    Options: ``size``; ``policy_class`` (``"linear"``: model-based
    softmax-linear BC, ``"neural"``: through the env); ``observation``
    (``"onehot"`` or ``"image"``); ``start`` (``"corners"``: the goal's
    reflections, or ``"published"``: the published code's start for the
    size); ``episode_length`` (the env's ``max_cycles``, None: its default).
    """
    base = _tabular(
        "gridworld",
        gridworld,
        ("bc", "uniform", "lsvi-ucb-zero"),
        _nash,
        "nash",
        {
            "size": 3,
            "policy_class": "linear",
            "observation": "onehot",
            "start": "corners",
            "episode_length": None,
        },
        unit="episodes",
        linear=True,
    )

    def build(opts: Mapping[str, Any]) -> ImitationProblem:
        kwargs = dict(opts)
        start = kwargs.pop("start")
        if start not in ("corners", "published"):
            raise ValueError(f"start must be 'corners' or 'published', got {start!r}")
        if start == "published":
            kwargs["starts"] = gridworld.published_starts(kwargs["size"])
        length = kwargs.pop("episode_length")
        if length is not None:
            kwargs["max_cycles"] = check_int("episode_length", length, 1)
        return base.build(kwargs)

    return dataclasses.replace(base, build=build, bc=_gridworld_bc)


def _nash(game: TabularMarkovGame) -> Any:
    return solve_zero_sum(game).policies


def _tictactoe(_: Mapping[str, Any]) -> ImitationProblem:
    expert = TicTacToeMinimaxExpert(policy="uniform")
    return ImitationProblem(
        "mail/tictactoe-v0",
        tictactoe.env,
        (expert, expert),
        model=tictactoe.make_tictactoe_game(),
        expert_name="tictactoe-minimax-uniform",
    )


def _connect4(_: Mapping[str, Any]) -> ImitationProblem:
    expert = Connect4Expert(mode="uniform")
    return ImitationProblem(
        "mail/connect4-v0",
        connect4.env,
        (expert, expert),
        expert_name="bitbully-uniform",
    )


def _connect4_evaluation(
    problem: ImitationProblem,
    result: ImitationResult,
    seed: int,
    options: Mapping[str, Any],
) -> Evaluation:
    """Win rates of each learned seat against the opponent ladder (Table 1)."""
    metrics = connect4_win_metrics(result.policies, int(options["eval_games"]), seed)
    return Evaluation(None, (), metrics)


def connect4_win_metrics(
    policies: Sequence[BatchedPolicy], eval_games: int, seed: int
) -> dict[str, float]:
    """Win rates and Wilson bounds of a profile's seats against the opponent ladder.

    Args:
        policies: The first seat's and the second seat's policies.
        eval_games: Games per (opponent, seat) match.
        seed: Seed of the matches' sampling.

    Returns:
        ``{"win:<opponent>:<seat>": rate, "win_low:...": low, "win_high:...": high}``.
    """
    metrics: dict[str, float] = {}
    for seat, policy in zip(("first", "second"), policies, strict=True):
        evaluation = evaluate_connect4(
            policy,
            evaluation_opponents(),
            eval_games,
            seed=seed,
            seats=(seat,),
            progress=False,
        )
        for match in evaluation.matches:
            key = f"{match.opponent}:{seat}"
            metrics[f"win:{key}"] = float(match.win_rate)
            metrics[f"win_low:{key}"] = float(match.win_ci[0])
            metrics[f"win_high:{key}"] = float(match.win_ci[1])
    return metrics


def _board_bc(augment: bool) -> BCConfig:
    """Tic-Tac-Toe's BC: each distinct board once, until every board is fit.

    The labels' distinct ``(board, mask)`` rows with their label distributions
    (``dedupe``), each weighing the same (``weighting="states"``), fused Adam
    at ``lr = 3e-3``, 60 epochs and then until every board's greedy move is one
    the expert chose there (``stop_when_fit``, at most 5,000 steps). The same
    60 epochs as before, over the distinct boards instead of the repeated
    rows: 3-20x fewer gradient steps, every labelled board fit
    (``scripts/bench_pipeline.py`` compares the two). Stopping at the first
    fit (after 20-45 epochs) generalized worse to the boards a deviation
    reaches without labels (uniform exploration, 1,000 games: NashConv 1 for
    one of seeds 0-2; 0 for all three after 60 epochs).
    """
    return BCConfig(
        augment=dihedral_augment if augment else None,
        dedupe=True,
        weighting="states",
        stop_when_fit=True,
        min_steps=0,
        trainer_kwargs={"optimizer_kwargs": {"lr": 3e-3, "fused": "auto"}},
    )


#: The expert of ``tictactoe-fig1c`` as its datasets name it.
FIG1C_EXPERT_NAME = "tictactoe-minimax-fastest-canonical"
_FIG1C_SEATS = ("first", "second")


def _tictactoe_fig1c(_: Mapping[str, Any]) -> ImitationProblem:
    """Tic-Tac-Toe with the published deterministic expert in both seats."""
    expert = CanonicalMinimaxExpert()
    return ImitationProblem(
        "mail/tictactoe-v0",
        tictactoe.env,
        (expert, expert),
        model=tictactoe.make_tictactoe_game(),
        expert_name=FIG1C_EXPERT_NAME,
    )


def _tictactoe_fig1c_evaluation(
    problem: ImitationProblem,
    result: ImitationResult,
    seed: int,
    options: Mapping[str, Any],
) -> Evaluation:
    """Both readings of a learned Tic-Tac-Toe profile (figure 1c), exactly.

    Metrics: ``loss:<seat>``, ``draw:<seat>``, ``win:<seat>`` of each learned
    seat (``first``, ``second``) against the noisy expert in the other seat
    (the paper's reading is ``loss:first``;
    :func:`~mail_envs.tictactoe.evaluation.noisy_expert_outcomes` with the
    options ``noise_prob`` and ``uniform_weight``) and
    ``exploitability:<seat>``, the best-response value of the other player
    against that seat (the game's value is 0).
    """
    del seed  # exact: nothing is sampled
    game = problem.model
    if game is None:
        raise ValueError("tictactoe-fig1c needs the Tic-Tac-Toe model, got None")
    policies = list(result.policies)
    gap = nash_gap(game, policies)
    metrics: dict[str, float] = {}
    for seat, name in enumerate(_FIG1C_SEATS):
        outcomes = noisy_expert_outcomes(
            policies[seat],
            seat=seat,
            noise_prob=float(options["noise_prob"]),
            uniform_weight=float(options["uniform_weight"]),
            game=game,
        )
        metrics[f"loss:{name}"] = outcomes.loss
        metrics[f"draw:{name}"] = outcomes.draw
        metrics[f"win:{name}"] = outcomes.win
        metrics[f"exploitability:{name}"] = float(gap.best_response_values[1 - seat])
    return Evaluation(float(gap.nash_conv), tuple(float(g) for g in gap.gains), metrics)


GAME_SPECS: dict[str, GameSpec] = {
    spec.name: spec
    for spec in (
        GameSpec(
            "tictactoe",
            "mail/tictactoe-v0",
            ("bc", "uniform", "dqn-explore"),
            {},
            _tictactoe,
            bc=_board_bc,
            max_budget=200_000,
            # 8 games at once: faster than one at a time (scripts/bench_pipeline.py
            # measures it), with the same conclusions on seeds 0-2 (NashConv 0 at
            # 1,000 games either way).
            method_options={"dqn-explore": {"num_envs": 8}},
        ),
        # Figure 1c under the paper's protocol (``scripts/fig1c.py``): the
        # deterministic published expert, no board symmetries, both readings.
        GameSpec(
            "tictactoe-fig1c",
            "mail/tictactoe-v0",
            ("bc", "uniform", "dqn-explore", "dqn-explore-paper"),
            {"noise_prob": PAPER_NOISE_PROB, "uniform_weight": PAPER_UNIFORM_WEIGHT},
            _tictactoe_fig1c,
            bc=lambda augment: BCConfig(),  # the paper's: never augmented
            evaluate=_tictactoe_fig1c_evaluation,
            max_budget=200_000,
        ),
        GameSpec(
            "connect4",
            "mail/connect4-v0",
            ("bc", "uniform", "dqn-explore"),
            {"eval_games": 100},
            _connect4,
            evaluate=_connect4_evaluation,
            max_budget=50_000,
        ),
        _gridworld(),
        _tabular(
            "chain",
            chain,
            ("bc", "uniform", "dqn-explore"),
            _nash,
            "nash",
            {"length": 8},
        ),
        _tabular(
            "xor-coordination",
            xor_coordination,
            ("bc", "uniform", "dagger"),
            lambda game: xor_coordination.expert_profile(),
            "uniform-equilibrium",
        ),
        _tabular(
            "public-goods",
            public_goods,
            ("bc", "uniform", "dagger"),
            public_goods.dominant_profile,
            "dominant",
            {"num_players": 3},
        ),
        _tabular(
            "random-zero-sum",
            random_games,
            ("bc", "uniform", "dqn-explore"),
            _nash,
            "nash",
            {"game_seed": 0},
            rename={"game_seed": "seed"},
        ),
    )
}


@functools.cache
def _cached_problem(
    name: str, options: tuple[tuple[str, Any], ...]
) -> ImitationProblem:
    """Problems are built once per process (solving the game is the costly part)."""
    return GAME_SPECS[name].build(dict(options))
