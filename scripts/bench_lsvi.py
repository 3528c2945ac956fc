"""Benchmark of LSVI-UCB-ZERO-BC on the 3x3 Gridworld: current code vs a naive reference.

Builds the 3x3 Gridworld linear setup the way the pipeline does
(``GAME_SPECS["gridworld"]`` with ``start="published"``, the pipeline's
default features) and runs ``lsvi-ucb-zero`` (Viano, Freihaut et al.,
LSVI-UCB-ZERO-BC) with ``K`` episodes per learning player through
:func:`agents.methods.make_algorithm`, then evaluates the learned profile as
the pipeline does (exact NashConv). It prints the median over several repeats
(one CPU thread) of the seconds spent exploring (with labelling), cloning
(softmax-linear BC) and evaluating, and of the whole run.

In the same run it times a **naive reference** written here: the same
algorithm (same seeds, same BC and evaluation) with ``Lambda_h^-1``
recomputed by ``np.linalg.inv`` after every step and the bonuses of all
``(state, action)`` pairs recomputed from it at every backward pass (no
Sherman–Morrison rank-one updates), the episodes sampled with the plain
numpy sampler (:func:`agents.linear.rollouts.sample_categorical`). It prints
the ratio reference / current, which, unlike the seconds, hardly depends on
how busy the machine is. The reference rounds differently (matrix inverses
instead of rank-one updates), so its data may differ where optimistic values
tie; the printout says whether they agree.

Usage:
    python scripts/bench_lsvi.py [--episodes 50] [--repeats 5]
        [--reference-repeats 1] [--features pipeline] [--json PATH] [--quick]
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread: set before numpy (and scipy, torch) are imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import dataclasses
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.common import spawn_seeds
from agents.imitation import ImitationProblem, ImitationResult, LinearSetup
from agents.linear.baselines import model_imitation
from agents.linear.features import (
    gridworld_layout_of,
    paper_relational_features,
    relational_features,
    tabular_features,
)
from agents.linear.problem import model_setup
from agents.linear.rollouts import (
    Trajectories,
    expert_rows,
    sample_categorical,
    sample_next_states,
    terminal_mask,
)
from agents.methods import make_algorithm
from agents.pipeline.games import GAME_SPECS
from mail_envs.core import TabularMarkovGame
from mail_envs.files import atomic_write_text

#: The pipeline's game and options of the benchmark (the published start).
GAME = "gridworld"
OPTIONS = {"size": 3, "start": "published"}
METHOD = "lsvi-ucb-zero"
FEATURES = ("pipeline", "tabular", "paper-relational", "relational")
PARTS = ("explore", "bc", "evaluate", "total")


@dataclass(frozen=True)
class Args:
    """The whole configuration of the benchmark."""

    episodes: int = 50
    seed: int = 0
    repeats: int = 5
    reference_repeats: int = 1
    features: str = "pipeline"
    json: str | None = None
    quick: bool = False


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """Command line -> :class:`Args`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=Args.episodes)
    parser.add_argument("--seed", type=int, default=Args.seed)
    parser.add_argument("--repeats", type=int, default=Args.repeats)
    parser.add_argument("--reference-repeats", type=int, default=Args.reference_repeats)
    parser.add_argument(
        "--features",
        choices=FEATURES,
        default=Args.features,
        help="pipeline: the pipeline's own linear setup (default); otherwise "
        "that feature map for both players",
    )
    parser.add_argument("--json", default=None, help="write the numbers here")
    parser.add_argument(
        "--quick", action="store_true", help="K = 3, 2 repeats: a smoke run"
    )
    ns = parser.parse_args(argv)
    for name in ("episodes", "repeats", "reference_repeats"):
        if getattr(ns, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return Args(
        episodes=3 if ns.quick else ns.episodes,
        seed=ns.seed,
        repeats=2 if ns.quick else ns.repeats,
        reference_repeats=ns.reference_repeats,
        features=ns.features,
        json=ns.json,
        quick=ns.quick,
    )


def build_problem(features: str) -> ImitationProblem:
    """The pipeline's 3x3 Gridworld problem, with another feature map if asked."""
    problem = GAME_SPECS[GAME].problem(OPTIONS)
    if features == "pipeline":
        return problem
    assert problem.model is not None and problem.linear is not None
    game = problem.model
    maps: dict[str, Callable[[int], np.ndarray]] = {
        "tabular": lambda i: tabular_features(game, i),
        "paper-relational": lambda i: paper_relational_features(
            gridworld_layout_of(game), player=i
        ),
        "relational": lambda i: relational_features(
            gridworld_layout_of(game), player=i
        ),
    }
    feats = tuple(maps[features](i) for i in range(game.num_players))
    linear = LinearSetup(problem.linear.expert_tables, feats, problem.linear.horizon)
    return dataclasses.replace(problem, linear=linear)


# ------------------------------------------------------------ the reference
def naive_explore(
    game: TabularMarkovGame,
    experts: Sequence[np.ndarray],
    phi: np.ndarray,
    explorer: int,
    *,
    num_episodes: int,
    horizon: int,
    beta: float,
    ridge: float,
    rng: np.random.Generator,
) -> Trajectories:
    """LSVI-UCB-ZERO as written: ``Lambda_h^-1`` by ``inv``, every bonus recomputed.

    Jin et al. (2020), Algorithm 1 with zero reward, the explorer greedy on
    the optimistic Q (uniform tie break), the other seats sampling their
    experts; the same draws in the same order as
    :class:`agents.linear.lsvi_ucb_zero.LSVIUCBZero`.
    """
    num_s, num_a, d = phi.shape
    flat = phi.reshape(num_s * num_a, d)
    legal = game.legal_masks[explorer]
    terminal = terminal_mask(game)
    gram = np.broadcast_to(ridge * np.eye(d), (horizon, d, d)).copy()
    cov_inv = np.linalg.inv(gram)
    data: list[list[tuple[np.ndarray, int]]] = [[] for _ in range(horizon)]
    n = game.num_players
    states = np.empty((num_episodes, horizon + 1), dtype=np.int64)
    actions = np.full((n, num_episodes, horizon), -1, dtype=np.int64)
    alive = np.zeros((num_episodes, horizon), dtype=bool)
    initial = sample_categorical(
        np.broadcast_to(game.initial_distribution, (num_episodes, num_s)), rng
    )
    for k in range(num_episodes):
        q = np.empty((horizon, num_s, num_a))
        v_next = np.zeros(num_s)
        for h in range(horizon - 1, -1, -1):
            target = np.zeros(d)
            for x, s_next in data[h]:
                target += x * v_next[s_next]
            w = cov_inv[h] @ target
            quad = np.sum((flat @ cov_inv[h]) * flat, axis=1)
            bonus = beta * np.sqrt(np.maximum(quad, 0.0))
            q_h = np.minimum(flat @ w + bonus, float(horizon)).reshape(num_s, num_a)
            q[h] = np.where(legal, q_h, -np.inf)
            v_next = q[h].max(axis=1)
            v_next[terminal] = 0.0
        s = int(initial[k])
        states[k] = s
        for h in range(horizon):
            if terminal[s]:
                break
            alive[k, h] = True
            row = q[h, s]
            best = np.flatnonzero(row == row.max())
            a = int(best[rng.integers(best.size)] if best.size > 1 else best[0])
            actions[explorer, k, h] = a
            for j in range(n):
                if j != explorer:
                    probs = expert_rows(experts[j], h, np.array([s]))
                    actions[j, k, h] = sample_categorical(probs, rng)[0]
            joint = np.ravel_multi_index(tuple(actions[:, k, h]), game.num_actions)
            nxt = int(sample_next_states(game, np.array([s]), joint[None], rng)[0])
            x = phi[s, a]
            gram[h] += np.outer(x, x)
            cov_inv[h] = np.linalg.inv(gram[h])
            data[h].append((x, nxt))
            states[k, h + 1 :] = nxt
            s = nxt
    return Trajectories(states=states, actions=actions, alive=alive)


def run_reference(problem: ImitationProblem, args: Args) -> ImitationResult:
    """LSVI-UCB-ZERO-BC with :func:`naive_explore`, seeded as the real one."""
    setup = model_setup(problem)
    seeds = spawn_seeds(args.seed, setup.num_players)

    def explore(i: int, j: int) -> Trajectories:
        return naive_explore(
            setup.game,
            setup.expert_tables,
            setup.features[j],
            j,
            num_episodes=args.episodes,
            horizon=setup.horizon,
            beta=10.0,
            ridge=0.1,
            rng=np.random.default_rng(seeds[i]),
        )

    return model_imitation(setup, f"{METHOD}-naive", explore, seed=args.seed, l2=1e-4)


def run_current(problem: ImitationProblem, args: Args) -> ImitationResult:
    """The pipeline's ``lsvi-ucb-zero`` run (defaults: beta 10, ridge 0.1, l2 1e-4)."""
    return make_algorithm(METHOD, problem, budget=args.episodes, seed=args.seed).run()


# ------------------------------------------------------------------ timing
def timed(
    problem: ImitationProblem, run: Callable[[], ImitationResult]
) -> tuple[dict[str, float], ImitationResult, float]:
    """One run and its evaluation: seconds per part, the result, NashConv."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = run()
    evaluated = time.perf_counter()
    evaluation = GAME_SPECS[GAME].evaluation(problem, result, 0, OPTIONS)
    end = time.perf_counter()
    seconds = {
        "explore": result.explore_seconds,
        "bc": result.bc_seconds,
        "evaluate": end - evaluated,
        "total": end - start,
        "total_cpu": time.process_time() - start_cpu,
    }
    assert evaluation.nash_conv is not None
    return seconds, result, float(evaluation.nash_conv)


def repeat(
    problem: ImitationProblem, run: Callable[[], ImitationResult], repeats: int
) -> dict[str, Any]:
    """``repeats`` timed runs: the median of each part, every run, the last result."""
    runs = []
    result, nash_conv = None, float("nan")
    for _ in range(repeats):
        seconds, result, nash_conv = timed(problem, run)
        runs.append(seconds)
    median = {key: float(np.median([r[key] for r in runs])) for key in runs[0]}
    return {"median": median, "runs": runs, "nash_conv": nash_conv, "result": result}


def same_data(a: ImitationResult, b: ImitationResult) -> bool:
    """Whether two runs labelled the same states with the same actions."""
    return all(
        np.array_equal(x.observations, y.observations)
        and np.array_equal(x.expert_actions, y.expert_actions)
        for x, y in zip(a.datasets, b.datasets, strict=True)
    )


def report(current: dict[str, Any], reference: dict[str, Any], agree: bool) -> str:
    """The printed table and the ratio reference / current."""
    lines = [f"{'seconds (median)':18s}" + "".join(f"{p:>10s}" for p in PARTS)]
    for name, res in (("current", current), ("naive reference", reference)):
        lines.append(
            f"{name:18s}" + "".join(f"{res['median'][p]:10.4f}" for p in PARTS)
        )
    ratio = {
        p: reference["median"][p] / max(current["median"][p], 1e-12) for p in PARTS
    }
    lines.append(
        f"{'reference/current':18s}" + "".join(f"{ratio[p]:9.1f}x" for p in PARTS)
    )
    lines.append(
        f"NashConv current {current['nash_conv']:.6g}, reference "
        f"{reference['nash_conv']:.6g}; same labelled data: {agree}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print it and write ``--json`` if asked."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    problem = build_problem(args.features)  # solving the game is not timed
    assert problem.linear is not None
    run_current(problem, dataclasses.replace(args, episodes=1))  # warm-up
    current = repeat(problem, lambda: run_current(problem, args), args.repeats)
    reference = repeat(
        problem, lambda: run_reference(problem, args), args.reference_repeats
    )
    agree = same_data(current["result"], reference["result"])
    print(
        f"LSVI-UCB-ZERO-BC, 3x3 Gridworld (start published, features "
        f"{args.features}, d = {problem.linear.features[0].shape[2]}), "
        f"K = {args.episodes} per player, seed {args.seed}"
    )
    print(report(current, reference, agree))
    payload = {
        "args": dataclasses.asdict(args),
        "game": {"name": GAME, "options": OPTIONS, "method": METHOD},
        "feature_dim": int(problem.linear.features[0].shape[2]),
        "machine": {
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "numpy": np.__version__,
        },
        "results": {
            name: {key: res[key] for key in ("median", "runs", "nash_conv")}
            for name, res in (("current", current), ("reference", reference))
        },
        "ratio": {
            p: reference["median"][p] / max(current["median"][p], 1e-12) for p in PARTS
        },
        "same_data": agree,
    }
    if args.json is not None:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.json, json.dumps(payload, indent=2))
    return payload


if __name__ == "__main__":
    main()
