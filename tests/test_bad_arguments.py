"""Every public entry point refuses a bad argument with a message that names it.

Table-driven: each entry point below is called with valid arguments, then
with one argument replaced by each bad value of its kind (NaN, infinities,
negatives, zero, fractions, strings, booleans where an integer or a real is
expected, out-of-range values). Every such call must raise ``ValueError`` or
``TypeError`` whose message names the parameter; none may run on, or fail
deep inside numpy or torch with a message that names neither.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from agents.bc.profile import BCConfig
from agents.common import spawn_seeds
from agents.deep.baselines import ExpertBC, UniformBC
from agents.deep.critic_bonus import BonusConfig
from agents.deep.dagger import DAggerBC
from agents.deep.dqn_explore import DQNExploreBC
from agents.linear.baselines import model_bc
from agents.linear.lsvi_ucb_zero import LSVIUCBZeroBC
from agents.methods import make_algorithm
from agents.monitor import RunMonitor
from agents.pipeline import GAME_SPECS, Pipeline
from agents.pipeline.executors import RayExecutor, ray_available
from agents.pipeline.progress import SweepProgress
from mail_envs.chain import make_chain_game
from mail_envs.connect4.evaluation import evaluate_connect4
from mail_envs.connect4.opponents import SoftmaxSolverOpponent
from mail_envs.gridworld import make_gridworld_game
from mail_envs.public_goods import make_public_goods_game
from mail_envs.random_games import make_random_zero_sum_game
from mail_envs.solvers import nash_gap, solve_zero_sum
from mail_wrappers.frozen_opponent import uniform_policy

torch.set_num_threads(1)

NAN, INF = math.nan, math.inf
#: Bad values by the kind of parameter.
BAD: dict[str, tuple[Any, ...]] = {
    # a positive integer (a count, a size)
    "count": (0, -1, 2.5, NAN, INF, "3", True, None),
    # a non-negative integer (a seed)
    "seed": (-1, 2.5, NAN, "3", True, None),
    # a positive real
    "positive": (0.0, -1.0, NAN, INF, -INF, "1", None),
    # a non-negative real
    "nonnegative": (-1.0, NAN, INF, "1", None),
    # a discount in (0, 1]
    "gamma": (0.0, -0.5, 1.5, NAN, INF, "0.9", None),
}


@functools.cache
def _gridworld_problem():
    return GAME_SPECS["gridworld"].problem({"size": 3})


@functools.cache
def _chain_problem():
    return GAME_SPECS["chain"].problem({"length": 3})


def _ray(**kwargs):
    if not ray_available():
        pytest.skip("Ray is not installed")
    return RayExecutor(**{"num_cpus": 1, **kwargs, "init_kwargs": {"num_cpus": 1}})


#: (entry point, valid keywords, {parameter: kind}).
ENTRIES: list[tuple[str, Callable[..., Any], dict[str, Any], dict[str, str]]] = [
    ("make_gridworld_game", make_gridworld_game, {"size": 3},
     {"size": "count", "gamma": "gamma", "horizon": "count"}),
    ("make_chain_game", make_chain_game, {"length": 3},
     {"length": "count", "num_actions": "count", "gamma": "gamma", "horizon": "count",
      "cost": "nonnegative", "seed": "seed"}),
    ("make_random_zero_sum_game", make_random_zero_sum_game, {},
     {"seed": "seed"}),  # None: fresh entropy (documented)
    ("make_public_goods_game", make_public_goods_game, {},
     {"num_players": "count"}),
    ("Pipeline", Pipeline, {"game": "gridworld", "budgets": [2], "progress": False},
     {"workers": "count", "threads": "count"}),
    ("Pipeline.budgets", lambda b: Pipeline(game="gridworld", budgets=[b]), {"b": 2},
     {"b": "count"}),
    ("Pipeline.seeds", lambda s: Pipeline(game="gridworld", seeds=[s]), {"s": 0},
     {"s": "seed"}),
    ("make_algorithm", functools.partial(make_algorithm, "uniform", _gridworld_problem()),
     {"budget": 2, "seed": 0}, {"budget": "count", "seed": "seed"}),
    ("model_bc", functools.partial(model_bc, _gridworld_problem(), explorer="uniform"),
     {"num_episodes": 2, "seed": 0}, {"num_episodes": "count", "seed": "seed", "l2": "positive"}),
    ("LSVIUCBZeroBC", functools.partial(LSVIUCBZeroBC, _gridworld_problem()),
     {"num_episodes": 2}, {"num_episodes": "count", "seed": "seed", "beta": "nonnegative",
                           "ridge": "positive", "l2": "positive"}),
    ("UniformBC", functools.partial(UniformBC, _chain_problem()), {"num_games": 2},
     {"num_games": "count", "seed": "seed"}),
    ("ExpertBC", functools.partial(ExpertBC, _chain_problem()), {"num_games": 2},
     {"num_games": "count", "seed": "seed"}),
    ("DAggerBC", functools.partial(DAggerBC, _chain_problem()), {"num_games": 4},
     {"num_games": "count", "seed": "seed", "rounds": "count"}),
    ("DQNExploreBC", functools.partial(DQNExploreBC, _chain_problem()), {"num_games": 2},
     {"num_games": "count", "seed": "seed", "log_interval": "count"}),
    ("BCConfig", BCConfig, {}, {"batch_size": "count", "min_epochs": "count"}),
    ("BonusConfig", BonusConfig, {},
     {"beta": "nonnegative", "ridge": "positive", "rebuild_every": "count",
      "logdet_threshold": "positive"}),
    ("SoftmaxSolverOpponent", SoftmaxSolverOpponent, {"temperature": 1.0},
     {"temperature": "positive"}),
    ("evaluate_connect4", functools.partial(evaluate_connect4, uniform_policy, {"random": uniform_policy}),
     {"n_games": 1, "seed": 0, "progress": False}, {"n_games": "count", "seed": "seed"}),
    ("spawn_seeds", spawn_seeds, {"seed": 0, "n": 2}, {"seed": "seed", "n": "count"}),
    ("SweepProgress", functools.partial(SweepProgress, [("bc", 1, 0)], enabled=False),
     {"slots": 1}, {"slots": "count"}),
    ("RayExecutor", _ray, {}, {"num_cpus": "nonnegative", "num_gpus": "nonnegative",
                               "local_cpus": "count"}),
]  # fmt: skip


#: Parameters whose documented default is None.
_NONE_ALLOWED = {
    ("make_gridworld_game", "horizon"), ("make_chain_game", "horizon"),
    ("make_random_zero_sum_game", "seed"), ("BonusConfig", "rebuild_every"),
    ("RayExecutor", "local_cpus"), ("DAggerBC", "rounds"), ("Pipeline", "threads"),
}  # fmt: skip


def _cases():
    for name, call, valid, kinds in ENTRIES:
        for param, kind in kinds.items():
            for bad in BAD[kind]:
                if bad is None and (name, param) in _NONE_ALLOWED:
                    continue  # None is this parameter's documented default
                yield pytest.param(
                    call, valid, param, bad, id=f"{name}-{param}-{bad!r}"
                )


def test_the_valid_arguments_are_valid():
    for name, call, valid, _ in ENTRIES:
        if name == "RayExecutor":
            continue  # starting Ray here is the bad-argument test's business
        call(**valid)


@pytest.mark.parametrize(("call", "valid", "param", "bad"), list(_cases()))
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_bad_argument_is_refused_with_its_name(call, valid, param, bad):
    name = {"b": "budgets", "s": "seeds", "n": "n"}.get(param, param)
    with pytest.raises((ValueError, TypeError)) as raised:
        call(**{**valid, param: bad})
    message = str(raised.value)
    assert name in message, f"{param}={bad!r}: {type(raised.value).__name__}: {message}"


def test_nash_gap_refuses_a_profile_of_the_wrong_size():
    game = make_gridworld_game(3)
    with pytest.raises(ValueError, match="policies"):
        nash_gap(game, [uniform_policy])
    tables = solve_zero_sum(game).policies
    bad = np.array(tables[0], dtype=float)
    bad[0, 0] = NAN
    with pytest.raises(ValueError, match=r"NaN|finite|nan"):
        nash_gap(game, [bad, tables[1]])


def test_run_monitor_refuses_bad_names(tmp_path):
    monitor = RunMonitor(tmp_path)
    for bad in ("", "../x", "/abs", "a/./b"):
        with pytest.raises(ValueError, match="name"):
            monitor.logger(bad)
