"""Connect Four, table 1: win rates of BC and DQN-Explore-BC against strong opponents.

Reproduces the Connect Four experiment of Viano, Freihaut et al.,
"Multi-agent imitation learning with function approximation: linear Markov
games and beyond": the first player's policy (``player_0``, who moves first,
as in the paper) is learned from a perfect expert (the BitBully solver,
uniform over the optimal moves, :class:`mail_envs.connect4.expert.Connect4Expert`)
by

* **BC**: behaviour cloning on the first player's moves in expert self-play
  games (both seats play the expert; the offline baseline);
* **DQN-Explore-BC**: the first seat plays the expert while a masked DQN
  explorer plays the second seat with the elliptical bonus on its critic's
  features as its only reward; the first player's moves are the labels
  (:func:`agents.dqn_explore.collect_dqn_explore`).

Both methods get the same budget of expert-labelled games and the same BC
head (:class:`agents.policies.ResidualSEPolicy`) and BC settings. Each learned
greedy masked policy then plays ``eval_games`` seeded games from the first
seat against the approximate best response (``abr``), the softmax solver
opponents of levels 1 to 5 (1 the noisiest) and the perfect solver
(:mod:`mail_envs.connect4.opponents`, :func:`mail_envs.connect4.evaluation.evaluate_connect4`).
Every seed repeats the whole experiment (data, BC, evaluation games); the
table reports, per opponent and method, the win/draw/loss rates averaged over
the seeds with the spread over seeds (min-max) of the win rate, or with one
seed its 95% Wilson interval. With ``--with-expert`` the expert itself is
evaluated the same way, as the reference row (perfect play wins every game
from the first seat).

Run (from the repository root):

    python scripts/connect4_table1.py --quick      # CPU smoke run: 2 seeds, ~2 min
    python scripts/connect4_table1.py              # full run (3 seeds), meant for CUDA

Writes ``<out-dir>/<run name>.json`` (config, and per seed the data
statistics, BC metrics and every match result with its Wilson interval; the
summary over seeds) and ``<out-dir>/<run name>.png`` (mean win rates with the
spread over seeds, each seed a dot).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import mail_envs
from agents.common import resolve_device
from agents.dqn_explore import (
    ExpertLabels,
    collect_dqn_explore,
    collect_expert_self_play,
    fit_bc_profile,
)
from agents.policies import ResidualSEPolicy, SmallCNNPolicy
from mail_envs.connect4 import env as connect4_env
from mail_envs.connect4.evaluation import Connect4Evaluation, evaluate_connect4
from mail_envs.connect4.expert import Connect4Expert
from mail_envs.connect4.opponents import evaluation_opponents
from mail_envs.files import atomic_savefig, atomic_write_text

METHODS = {
    "bc": "BC (expert self-play)",
    "dqn-explore-bc": "DQN-Explore-BC",
    "expert": "expert (solver)",  # the reference row of --with-expert
}


@dataclass(frozen=True)
class Args:
    """The whole configuration of one run."""

    num_games: int = 1000  # expert-labelled games per method (first player's)
    eval_games: int = 500  # games per opponent
    seeds: tuple[int, ...] = (0, 1, 2)  # each: data collection, BC and evaluation
    levels: tuple[int, ...] = (1, 2, 3, 4, 5)  # softmax opponents
    head: str = "residual_se"  # or "small_cnn"
    channels: int = 64  # ResidualSEPolicy width
    blocks: int = 4  # ResidualSEPolicy depth
    bc_epochs: int = 60
    bc_batch_size: int = 128
    bc_lr: float = 1e-3
    bc_targets: str = "actions"  # clone the played moves ("probs": soft labels)
    beta: float = 3.0  # DQN-Explore bonus scale
    ridge: float = 1.0
    rebuild_every: int = 500
    with_expert: bool = False  # also evaluate the expert (reference row)
    device: str = "auto"
    threads: int = 0  # torch CPU threads (0: torch's default)
    out_dir: str = "results/connect4_table1"
    progress: bool = True
    quick: bool = False

    @property
    def run_name(self) -> str:
        """File stem naming the budgets, the head and the seeds."""
        quick = "_quick" if self.quick else ""
        seeds = "-".join(map(str, self.seeds))
        return (
            f"connect4_table1_G{self.num_games}_N{self.eval_games}_{self.head}"
            f"_seeds{seeds}{quick}"
        )


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-games", type=int, default=None)
    parser.add_argument("--eval-games", type=int, default=None)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="default 0 1 2 (quick: 0 1)"
    )
    parser.add_argument("--levels", type=int, nargs="+", default=list(Args.levels))
    parser.add_argument(
        "--head", choices=("residual_se", "small_cnn"), default=Args.head
    )
    parser.add_argument("--channels", type=int, default=Args.channels)
    parser.add_argument("--blocks", type=int, default=Args.blocks)
    parser.add_argument("--bc-epochs", type=int, default=Args.bc_epochs)
    parser.add_argument("--bc-batch-size", type=int, default=Args.bc_batch_size)
    parser.add_argument("--bc-lr", type=float, default=Args.bc_lr)
    parser.add_argument(
        "--bc-targets", choices=("actions", "probs"), default=Args.bc_targets
    )
    parser.add_argument("--beta", type=float, default=Args.beta)
    parser.add_argument("--ridge", type=float, default=Args.ridge)
    parser.add_argument("--rebuild-every", type=int, default=Args.rebuild_every)
    parser.add_argument(
        "--with-expert", action="store_true", help="also evaluate the expert"
    )
    parser.add_argument("--device", default=Args.device, help="auto: CUDA if present")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (quick: 1)"
    )
    parser.add_argument("--out-dir", default=Args.out_dir)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="30 labelled games, 20 games/opponent, seeds 0 1",
    )
    ns = parser.parse_args(argv)
    num_games = ns.num_games or (30 if ns.quick else Args.num_games)
    eval_games = ns.eval_games or (20 if ns.quick else Args.eval_games)
    for name, value in (
        ("--num-games", num_games),
        ("--eval-games", eval_games),
        ("--bc-epochs", ns.bc_epochs),
    ):
        if value < 1:
            parser.error(f"{name} must be positive, got {value}")
    if ns.threads is not None and ns.threads < 0:
        parser.error(f"--threads must be >= 0, got {ns.threads}")
    if ns.seeds is not None and len(set(ns.seeds)) != len(ns.seeds):
        parser.error(f"--seeds must be distinct, got {ns.seeds}")
    try:
        resolve_device(ns.device)
    except ValueError as exc:
        parser.error(str(exc))
    return Args(
        num_games=num_games,
        eval_games=eval_games,
        seeds=tuple(ns.seeds or ((0, 1) if ns.quick else Args.seeds)),
        levels=tuple(ns.levels),
        head=ns.head,
        channels=ns.channels,
        blocks=ns.blocks,
        bc_epochs=ns.bc_epochs,
        bc_batch_size=ns.bc_batch_size,
        bc_lr=ns.bc_lr,
        bc_targets=ns.bc_targets,
        beta=ns.beta,
        ridge=ns.ridge,
        rebuild_every=ns.rebuild_every,
        with_expert=ns.with_expert,
        device=ns.device,
        threads=ns.threads if ns.threads is not None else (1 if ns.quick else 0),
        out_dir=ns.out_dir,
        progress=not ns.no_progress,
        quick=ns.quick,
    )


args = parse_args()
sys.stdout.reconfigure(line_buffering=True)  # progress lines in logs
if args.threads:
    torch.set_num_threads(args.threads)
device = resolve_device(args.device)
out_dir = Path(args.out_dir)
out_dir.mkdir(parents=True, exist_ok=True)
run_start = time.perf_counter()
print(
    f"run {args.run_name}: {args.num_games} labelled games per method, "
    f"{args.eval_games} evaluation games per opponent, seeds {list(args.seeds)}, "
    f"device {device}"
)
expert = Connect4Expert(mode="uniform")
learner = connect4_env().possible_agents[0]  # player_0 moves first
opponents = evaluation_opponents(levels=args.levels)
opponents = {
    "abr": opponents["abr"],
    **{f"softmax-{lv}": opponents[f"softmax-{lv}"] for lv in args.levels},
    "perfect": opponents["perfect"],
}


def describe(labels: ExpertLabels) -> dict[str, int]:
    """Label count and distinct labelled boards of a dataset."""
    return {
        "expert_queries": labels.num_queries,
        "distinct_boards": labels.num_distinct_states,
        "games": labels.num_games,
    }


def make_head(obs_shape, num_actions, seed):
    if args.head == "small_cnn":
        return SmallCNNPolicy(obs_shape, num_actions, seed=seed)
    return ResidualSEPolicy(
        obs_shape,
        num_actions,
        channels=args.channels,
        num_blocks=args.blocks,
        seed=seed,
    )


def run_seed(seed: int) -> dict:
    """Data, BC and evaluation of both methods for one seed."""
    # ---- data: the first player's expert labels, same game budget for both methods
    datasets: dict[str, ExpertLabels] = {}
    collection: dict[str, dict[str, float | int]] = {}
    start = time.perf_counter()
    self_play = collect_expert_self_play(
        connect4_env, expert, num_games=args.num_games, seed=seed
    )
    datasets["bc"] = self_play[0].labels
    collection["bc"] = {"seconds": time.perf_counter() - start}
    start = time.perf_counter()
    explored = collect_dqn_explore(
        connect4_env,
        expert,
        learner=learner,
        num_games=args.num_games,
        seed=seed,
        beta=args.beta,
        ridge=args.ridge,
        rebuild_every=args.rebuild_every,
        device=str(device),
    )
    datasets["dqn-explore-bc"] = explored.labels
    collection["dqn-explore-bc"] = {
        "seconds": time.perf_counter() - start,
        "explorer_steps": explored.explorer_steps,
        "num_rebuilds": explored.num_rebuilds,
        "mean_bonus": float(explored.bonuses.mean()) if explored.bonuses.size else 0.0,
    }
    for method, labels in datasets.items():
        collection[method] |= describe(labels)
        stats = collection[method]
        print(
            f"seed {seed} {METHODS[method]:>22}: {stats['expert_queries']} labels "
            f"({stats['distinct_boards']} distinct boards) from {args.num_games} games "
            f"in {stats['seconds']:.1f} s"
        )

    # ---- behaviour cloning: the same head and settings for both datasets
    bc_kwargs = {
        "max_epochs": args.bc_epochs,
        "batch_size": args.bc_batch_size,
        "optimizer_kwargs": {"lr": args.bc_lr},
    }
    evaluated = {}
    bc_metrics = {}
    for method, labels in datasets.items():
        (policy,), (metrics,) = fit_bc_profile(
            [labels],
            seed=seed,
            targets=args.bc_targets,
            head_fn=make_head,
            bc_kwargs=bc_kwargs,
            device=str(device),
        )
        evaluated[method] = policy
        bc_metrics[method] = metrics
        print(
            f"seed {seed} {METHODS[method]:>22}: BC {metrics.epochs_run} epochs, train "
            f"loss {metrics.train_loss:.3f}, accuracy {metrics.train_accuracy:.3f}, "
            f"{metrics.wall_time_s:.1f} s"
        )

    # ---- evaluation from the first seat
    if args.with_expert:
        evaluated["expert"] = expert
    evaluations: dict[str, Connect4Evaluation] = {}
    eval_seconds: dict[str, float] = {}
    for method, policy in evaluated.items():
        start = time.perf_counter()
        evaluations[method] = evaluate_connect4(
            policy,
            opponents,
            args.eval_games,
            seed=seed,
            seats=("first",),
            progress=args.progress,
        )
        eval_seconds[method] = time.perf_counter() - start
    return {
        "seed": seed,
        "data": collection,
        "bc": {
            m: {k: v for k, v in dataclasses.asdict(bm).items() if "history" not in k}
            for m, bm in bc_metrics.items()
        },
        "evaluations": evaluations,
        "evaluation_seconds": eval_seconds,
    }


per_seed = [run_seed(seed) for seed in args.seeds]
wall = time.perf_counter() - run_start
methods = list(per_seed[0]["evaluations"])


def rates(method: str, opponent: str) -> dict[str, np.ndarray]:
    """Win/draw/loss rates of ``method`` against ``opponent``, one per seed."""
    results = [r["evaluations"][method].result(opponent, "first") for r in per_seed]
    return {
        key: np.array([getattr(res, f"{key}_rate") for res in results])
        for key in ("win", "draw", "loss")
    }


def win_bar(method: str, opponent: str) -> tuple[float, float, float]:
    """Mean win rate with its bar: min-max over seeds, or Wilson with one seed."""
    wins = rates(method, opponent)["win"]
    if len(per_seed) == 1:
        low, high = per_seed[0]["evaluations"][method].result(opponent, "first").win_ci
        return float(wins[0]), float(low), float(high)
    return float(wins.mean()), float(wins.min()), float(wins.max())


def summarize(method: str, opponent: str) -> dict:
    """Mean rates over seeds, the win rate's spread and the bar shown."""
    per_seed = rates(method, opponent)
    wins = per_seed["win"]
    return {
        **{f"{key}_mean": float(v.mean()) for key, v in per_seed.items()},
        "win_min": float(wins.min()),
        "win_max": float(wins.max()),
        "win_per_seed": wins.tolist(),
        # The table's and the plot's bar: min-max over seeds, or with one seed
        # the 95% Wilson interval of its games.
        "win_bar": list(win_bar(method, opponent)[1:]),
    }


summary = {m: {name: summarize(m, name) for name in opponents} for m in methods}
bar_name = "95% Wilson" if len(per_seed) == 1 else "min-max over seeds"
header = f"{'opponent':<11}" + "".join(
    f"| {METHODS[m] + ' W [' + bar_name + '] / D / L':<52}" for m in methods
)
print("\n" + header)
print("-" * len(header))
for name in opponents:
    row = f"{name:<11}"
    for m in methods:
        win, low, high = win_bar(m, name)
        s = summary[m][name]
        text = f"{win:.2f} [{low:.2f},{high:.2f}] / {s['draw_mean']:.2f} / {s['loss_mean']:.2f}"
        row += f"| {text:<52}"
    print(row)
illegal = sum(
    match.illegal_losses
    for r in per_seed
    for e in r["evaluations"].values()
    for match in e.matches
)
print(
    f"(first seat, {args.eval_games} games per opponent and seed, seeds "
    f"{list(args.seeds)}, rates averaged over seeds; illegal moves: {illegal})"
)

# ---- results: JSON and figure
payload = {
    "experiment": "connect4 table 1",
    "learned_player": learner,
    "config": dataclasses.asdict(args) | {"run_name": args.run_name},
    "device": str(device),
    "per_seed": [
        r | {"evaluations": {m: e.to_dict() for m, e in r["evaluations"].items()}}
        for r in per_seed
    ],
    "summary": summary,
    "summary_bar": bar_name,
    "wall_seconds": wall,
    "versions": {
        "mail_gym": mail_envs.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    },
}
json_path = out_dir / f"{args.run_name}.json"
atomic_write_text(json_path, json.dumps(payload, indent=2) + "\n")

import matplotlib.pyplot as plt  # noqa: E402

names = list(opponents)
x = np.arange(len(names))
width = 0.8 / len(methods)
fig, ax = plt.subplots(figsize=(8.0, 3.8))
for k, method in enumerate(methods):
    bars = np.array([win_bar(method, n) for n in names])
    offset = x + (k - (len(methods) - 1) / 2) * width
    # Clipped at 0: a Wilson bound equal to the rate can differ by a rounding.
    errors = np.clip(
        np.stack([bars[:, 0] - bars[:, 1], bars[:, 2] - bars[:, 0]]), 0, None
    )
    ax.bar(offset, bars[:, 0], width, yerr=errors, capsize=3, label=METHODS[method])
    if len(per_seed) > 1:
        for j, n in enumerate(names):
            wins = rates(method, n)["win"]
            ax.scatter(
                np.full(len(wins), offset[j]), wins, s=8, color="black", zorder=3
            )
ax.set_xticks(x, names)
ax.set_ylim(0.0, 1.2)
ax.set_yticks(np.linspace(0.0, 1.0, 6))
ax.set_ylabel("win rate (first seat)")
ax.set_title(
    f"Connect Four: {args.num_games} labelled games, {args.eval_games} games per "
    f"opponent, seeds {list(args.seeds)}, bars: {bar_name}",
    fontsize=9,
)
ax.legend(fontsize=8, ncol=len(methods), loc="upper center")
ax.grid(alpha=0.3, axis="y")
fig.tight_layout()
png_path = atomic_savefig(fig, out_dir / f"{args.run_name}.png", dpi=150)
print(f"wall time {wall:.1f} s; wrote {json_path} and {png_path}")
