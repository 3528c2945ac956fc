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
  (:class:`agents.deep.dqn_explore.DQNExploreBC`).

The sweep is ``agents.pipeline.Pipeline(game="connect4", methods=["bc",
"dqn-explore"])``: both players are learned (each with its own budget of
labelled games) and each learned seat is evaluated from its own seat against
the full opponent ladder (softmax levels 1-5, ``abr``, ``perfect``); the
pipeline records win rates with their Wilson intervals (no draw or loss
rates). The table shows the first seat (the paper's) and the second.

Both methods get the same budget of expert-labelled games and the same BC
head (:class:`agents.policies.ResidualSEPolicy`) and BC settings. Each learned
greedy masked policy then plays ``eval_games`` seeded games from the first
seat against the approximate best response (``abr``), the softmax solver
opponents of levels 1 to 5 (temperature = level, as in the published code:
1 the strongest, 5 the noisiest) and the perfect solver
(:mod:`mail_envs.connect4.opponents`, :func:`mail_envs.connect4.evaluation.evaluate_connect4`).
Every seed repeats the whole experiment (data, BC, evaluation games); the
table reports, per seat, opponent and method, the win rate averaged over the
seeds with its spread over seeds (min-max), or with one seed its 95% Wilson
interval. With ``--with-expert`` the expert itself is
evaluated the same way, as the reference row (perfect play wins every game
from the first seat).

Table 2 (Appendix I) is each opponent's mean policy entropy in nats (bits in
the JSON): measured on ``entropy_positions`` seeded positions of random play
(:func:`mail_envs.connect4.evaluation.opponent_entropies`; the uniform policy
is the upper bound, ``log 7 ~ 1.95`` nats on a board without a full column),
and, with ``--entropy-games N``, also the published code's estimate, averaged
over the opponent's own decisions in ``N`` games per seat against the expert
(slow on CPU: the solver scores every position of 41-ply games).

Run (from the repository root):

    python scripts/connect4_table1.py --quick      # CPU smoke run: 1 seed, < 1 min
    python scripts/connect4_table1.py              # full run (3 seeds), meant for CUDA
    python scripts/connect4_table1.py --device cuda  # the same; fails at once without CUDA

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
from typing import Any

import numpy as np
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import mail_envs
from agents.bc.profile import BCConfig
from agents.common import resolve_device
from agents.deep.critic_bonus import BonusConfig
from agents.pipeline import Pipeline, PipelineResult
from agents.pipeline.games import connect4_win_metrics
from agents.policies import PolicyHead, ResidualSEPolicy, SmallCNNPolicy
from mail_envs.connect4.evaluation import (
    OpponentEntropies,
    evaluate_connect4,
    opponent_entropies,
)
from mail_envs.connect4.expert import Connect4Expert
from mail_envs.connect4.opponents import evaluation_opponents, random_positions
from mail_envs.files import atomic_savefig, atomic_write_text

METHODS = {
    "bc": "BC (expert self-play)",
    "dqn-explore": "DQN-Explore-BC",
    "expert": "expert (solver)",  # the reference row of --with-expert
}
SEATS = ("first", "second")


#: What ``--quick`` changes (each still overridable by its own flag): a smoke
#: run of the whole harness on one CPU thread in under a minute, every code
#: path of the full run (both methods and seats, the whole opponent ladder,
#: table 2, JSON and figure), with budgets far too small to reproduce table 1.
#: The solver dominates (about 60 ms a position 12 to 16 plies deep, where the
#: 12-ply opening book ends), so the games are few; the BC head is the full
#: run's architecture at a quarter of its width and half its depth.
QUICK = {
    "num_games": 10,
    "eval_games": 10,
    "seeds": (0,),
    "channels": 32,
    "blocks": 2,
    "bc_epochs": 20,
    "entropy_positions": 50,
    "threads": 1,
}


@dataclass(frozen=True)
class Args:
    """The whole configuration of one run."""

    num_games: int = 1000  # expert-labelled games per learning player
    eval_games: int = 500  # games per opponent and seat
    seeds: tuple[int, ...] = (0, 1, 2)  # each: data collection, BC and evaluation
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
    entropy_positions: int = 1000  # table 2: seeded random-play positions
    entropy_games: int = 0  # table 2: games per seat vs the expert (0: skip)
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


@dataclass(frozen=True)
class Connect4Head:
    """The BC head factory ``(obs_shape, num_actions, seed) -> PolicyHead``."""

    kind: str = "residual_se"
    channels: int = 64
    blocks: int = 4

    def __call__(
        self, obs_shape: tuple[int, ...], num_actions: int, seed: int
    ) -> PolicyHead:
        if self.kind == "small_cnn":
            return SmallCNNPolicy(obs_shape, num_actions, seed=seed)
        return ResidualSEPolicy(
            obs_shape,
            num_actions,
            channels=self.channels,
            num_blocks=self.blocks,
            seed=seed,
        )


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-games", type=int, default=None)
    parser.add_argument("--eval-games", type=int, default=None)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=None, help="default 0 1 2 (quick: 0)"
    )
    parser.add_argument(
        "--head", choices=("residual_se", "small_cnn"), default=Args.head
    )
    parser.add_argument(
        "--channels", type=int, default=None, help="default 64 (quick: 32)"
    )
    parser.add_argument("--blocks", type=int, default=None, help="default 4 (quick: 2)")
    parser.add_argument(
        "--bc-epochs", type=int, default=None, help="default 60 (quick: 20)"
    )
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
    parser.add_argument(
        "--entropy-positions",
        type=int,
        default=None,
        help="table 2: positions of random play (default 1000, quick: 50)",
    )
    parser.add_argument(
        "--entropy-games",
        type=int,
        default=Args.entropy_games,
        help="table 2: also games per seat against the expert (0: skip)",
    )
    parser.add_argument(
        "--device",
        default=Args.device,
        help="auto: CUDA if present; cuda: fail unless CUDA is present",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (quick: 1)"
    )
    parser.add_argument("--out-dir", default=Args.out_dir)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CPU smoke run in under a minute: 10 labelled games, 10 games per "
        "opponent and seat, seed 0, a 32-channel 2-block head, 20 BC epochs, "
        "50 entropy positions, 1 thread",
    )
    ns = parser.parse_args(argv)

    def setting(name: str) -> Any:
        """The flag's value, else the quick or the full run's default."""
        value = getattr(ns, name)
        if value is not None:
            return value
        return QUICK[name] if ns.quick else getattr(Args, name)

    num_games, eval_games = setting("num_games"), setting("eval_games")
    entropy_positions, bc_epochs = setting("entropy_positions"), setting("bc_epochs")
    channels, blocks = setting("channels"), setting("blocks")
    if ns.entropy_games < 0:
        parser.error(f"--entropy-games must be >= 0, got {ns.entropy_games}")
    for name, value in (
        ("--num-games", num_games),
        ("--eval-games", eval_games),
        ("--bc-epochs", bc_epochs),
        ("--entropy-positions", entropy_positions),
        ("--channels", channels),
        ("--blocks", blocks),
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
        seeds=tuple(setting("seeds")),
        head=ns.head,
        channels=channels,
        blocks=blocks,
        bc_epochs=bc_epochs,
        bc_batch_size=ns.bc_batch_size,
        bc_lr=ns.bc_lr,
        bc_targets=ns.bc_targets,
        beta=ns.beta,
        ridge=ns.ridge,
        rebuild_every=ns.rebuild_every,
        with_expert=ns.with_expert,
        entropy_positions=entropy_positions,
        entropy_games=ns.entropy_games,
        device=ns.device,
        threads=setting("threads"),
        out_dir=ns.out_dir,
        progress=not ns.no_progress,
        quick=ns.quick,
    )


def pipeline(args: Args) -> Pipeline:
    """Table 1 as a configuration of the pipeline."""
    bc = BCConfig(
        batch_size=args.bc_batch_size,
        min_epochs=args.bc_epochs,
        min_steps=0,  # exactly --bc-epochs epochs
        targets=args.bc_targets,  # type: ignore[arg-type]
        head_fn=Connect4Head(args.head, args.channels, args.blocks),
        trainer_kwargs={"optimizer_kwargs": {"lr": args.bc_lr}},
    )
    bonus = BonusConfig(
        beta=args.beta, ridge=args.ridge, rebuild_every=args.rebuild_every
    )
    return Pipeline(
        game="connect4",
        methods=["bc", "dqn-explore"],
        budgets=[args.num_games],
        seeds=args.seeds,
        game_options={"eval_games": args.eval_games},
        method_options={"dqn-explore": {"bonus": bonus}},
        device=args.device,
        augment=False,
        progress=args.progress,
        threads=args.threads or None,
        bc=bc,
    )


def expert_metrics(args: Args, seed: int) -> dict[str, float]:
    """The expert's win rates, keyed as the pipeline keys a learned profile's."""
    expert = Connect4Expert(mode="uniform")
    return connect4_win_metrics([expert, expert], args.eval_games, seed)


def table2(args: Args) -> tuple[OpponentEntropies, dict[str, dict[str, float]]]:
    """The opponents' mean policy entropies (nats): on positions, and in games.

    Returns:
        The entropies on ``args.entropy_positions`` positions of random play
        (plies 0-30, seed 0), and with ``args.entropy_games`` the mean entropy
        over each opponent's decisions in games against the expert,
        ``{opponent: {seat of the expert: nats}}`` (else empty).
    """
    opponents = evaluation_opponents()
    observations, masks = random_positions(
        args.entropy_positions, min_ply=0, max_ply=30, seed=0
    )
    on_positions = opponent_entropies(opponents, observations, masks)
    in_games: dict[str, dict[str, float]] = {}
    if args.entropy_games:
        evaluation = evaluate_connect4(
            Connect4Expert(mode="uniform"),
            opponents,
            args.entropy_games,
            seed=0,
            progress=args.progress,
        )
        for match in evaluation.matches:
            in_games.setdefault(match.opponent, {})[match.seat] = match.opponent_entropy
    return on_positions, in_games


def print_table2(
    on_positions: OpponentEntropies, in_games: dict[str, dict[str, float]]
) -> None:
    """Table 2: mean policy entropy of each opponent, nats (bits)."""
    header = f"{'opponent':<11}| {'random positions: nats (bits)':<31}"
    if in_games:
        header += "| vs expert 1st seat | vs expert 2nd seat"
    print("\nTable 2: opponents' mean policy entropy\n" + header)
    print("-" * len(header))
    bits = on_positions.mean_bits
    for k, name in enumerate(on_positions.names):
        nats = on_positions.mean_nats[k]
        row = f"{name:<11}| {f'{nats:.3f} ({bits[k]:.3f})':<31}"
        if name in in_games:
            row += "".join(
                f"| {in_games[name].get(seat, float('nan')):<19.3f}" for seat in SEATS
            )
        print(row)
    uniform = on_positions.uniform_nats
    print(
        f"{'uniform':<11}| {f'{uniform:.3f} ({uniform / np.log(2):.3f})':<31}\n"
        f"({on_positions.n_positions} positions of random play, plies 0-30, seed 0"
        + (", and games against the expert" if in_games else "")
        + ")"
    )


def per_seed_rows(
    args: Args, result: PipelineResult, experts: dict[int, dict[str, float]]
) -> list[dict]:
    """Per seed: each method's data statistics and evaluation metrics."""
    rows = []
    for seed in args.seeds:
        records = [r for r in result.records if r.seed == seed]
        rows.append(
            {
                "seed": seed,
                "data": {
                    r.method: {
                        "games": r.budget,
                        "expert_queries": list(r.num_queries),
                        "distinct_boards": list(r.distinct_states),
                        "explore_seconds": r.explore_seconds,
                        "bc_seconds": r.bc_seconds,
                        "wall_seconds": r.wall_seconds,
                    }
                    for r in records
                },
                "metrics": {
                    **{r.method: dict(r.metrics) for r in records},
                    **({"expert": experts[seed]} if seed in experts else {}),
                },
            }
        )
    return rows


def opponents_of(per_seed: list[dict]) -> list[str]:
    """The opponents, in the evaluation's order."""
    keys = next(iter(per_seed[0]["metrics"].values()))
    return list(dict.fromkeys(k.split(":")[1] for k in keys if k.startswith("win:")))


def win_bar(
    per_seed: list[dict], method: str, opponent: str, seat: str
) -> tuple[float, float, float]:
    """Mean win rate with its bar: min-max over seeds, or Wilson with one seed."""
    key = f"{opponent}:{seat}"
    wins = np.array([r["metrics"][method][f"win:{key}"] for r in per_seed])
    if len(per_seed) == 1:
        metrics = per_seed[0]["metrics"][method]
        return float(wins[0]), metrics[f"win_low:{key}"], metrics[f"win_high:{key}"]
    return float(wins.mean()), float(wins.min()), float(wins.max())


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run_start = time.perf_counter()
    print(
        f"run {args.run_name}: {args.num_games} labelled games per learning player, "
        f"{args.eval_games} evaluation games per opponent and seat, seeds "
        f"{list(args.seeds)}, device {device}"
    )
    entropies, entropies_in_games = table2(args)
    result = pipeline(args).run()
    for r in result.records:
        print(
            f"seed {r.seed} {METHODS[r.method]:>22}: labels "
            f"{'/'.join(map(str, r.num_queries))} "
            f"({'/'.join(map(str, r.distinct_states))} distinct boards) from "
            f"{r.budget} games per player; explore {r.explore_seconds:.1f} s, "
            f"BC {r.bc_seconds:.1f} s"
        )
    experts = (
        {seed: expert_metrics(args, seed) for seed in args.seeds}
        if args.with_expert
        else {}
    )
    per_seed = per_seed_rows(args, result, experts)
    wall = time.perf_counter() - run_start
    methods = list(per_seed[0]["metrics"])
    opponents = opponents_of(per_seed)

    summary: dict[str, dict[str, dict]] = {}
    for m in methods:
        summary[m] = {}
        for seat in SEATS:
            for name in opponents:
                key = f"{name}:{seat}"
                wins = [r["metrics"][m][f"win:{key}"] for r in per_seed]
                summary[m][key] = {
                    "win_mean": float(np.mean(wins)),
                    "win_min": float(np.min(wins)),
                    "win_max": float(np.max(wins)),
                    "win_per_seed": wins,
                    # The table's and the plot's bar: min-max over seeds, or
                    # with one seed the 95% Wilson interval of its games.
                    "win_bar": list(win_bar(per_seed, m, name, seat)[1:]),
                }
    bar_name = "95% Wilson" if len(per_seed) == 1 else "min-max over seeds"
    for seat in SEATS:
        header = f"{'opponent':<11}" + "".join(
            f"| {METHODS[m] + ' win [' + bar_name + ']':<42}" for m in methods
        )
        print(f"\n{seat} seat\n" + header)
        print("-" * len(header))
        for name in opponents:
            row = f"{name:<11}"
            for m in methods:
                win, low, high = win_bar(per_seed, m, name, seat)
                row += f"| {f'{win:.2f} [{low:.2f},{high:.2f}]':<42}"
            print(row)
    print(
        f"({args.eval_games} games per opponent, seat and seed, seeds "
        f"{list(args.seeds)}, win rates averaged over seeds)"
    )
    print_table2(entropies, entropies_in_games)

    # ---- results: JSON and figure
    payload = {
        "experiment": "connect4 table 1",
        "learned_players": list(SEATS),
        "config": dataclasses.asdict(args) | {"run_name": args.run_name},
        "pipeline": result.config,
        "device": str(device),
        "per_seed": per_seed,
        "summary": summary,
        "summary_bar": bar_name,
        "table2_entropy": {
            "unit": "nats (mean_bits: bits)",
            "positions": "random play, plies 0-30, seed 0",
            "on_positions": entropies.to_dict(),
            "in_games_vs_expert": entropies_in_games,
            "games_per_seat": args.entropy_games,
        },
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
    png_path = plot(args, per_seed, methods, opponents, bar_name, out_dir)
    print(f"wall time {wall:.1f} s; wrote {json_path} and {png_path}")


def plot(
    args: Args,
    per_seed: list[dict],
    methods: list[str],
    opponents: list[str],
    bar_name: str,
    out_dir: Path,
) -> Path:
    """Mean win rates with their bars, each seed a dot; one panel per seat."""
    import matplotlib.pyplot as plt

    x = np.arange(len(opponents))
    width = 0.8 / len(methods)
    fig, axes = plt.subplots(1, len(SEATS), figsize=(14.0, 3.8), sharey=True)
    for ax, seat in zip(axes, SEATS, strict=True):
        for k, method in enumerate(methods):
            bars = np.array([win_bar(per_seed, method, n, seat) for n in opponents])
            offset = x + (k - (len(methods) - 1) / 2) * width
            # Clipped at 0: a Wilson bound equal to the rate can differ by a rounding.
            errors = np.clip(
                np.stack([bars[:, 0] - bars[:, 1], bars[:, 2] - bars[:, 0]]), 0, None
            )
            ax.bar(
                offset, bars[:, 0], width, yerr=errors, capsize=3, label=METHODS[method]
            )
            if len(per_seed) > 1:
                for j, n in enumerate(opponents):
                    wins = [r["metrics"][method][f"win:{n}:{seat}"] for r in per_seed]
                    ax.scatter(
                        np.full(len(wins), offset[j]),
                        wins,
                        s=8,
                        color="black",
                        zorder=3,
                    )
        ax.set_xticks(x, opponents)
        ax.set_ylim(0.0, 1.2)
        ax.set_yticks(np.linspace(0.0, 1.0, 6))
        ax.set_ylabel(f"win rate ({seat} seat)")
        ax.legend(fontsize=8, ncol=len(methods), loc="upper center")
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(
        f"Connect Four: {args.num_games} labelled games, {args.eval_games} games per "
        f"opponent, seeds {list(args.seeds)}, bars: {bar_name}",
        fontsize=9,
    )
    fig.tight_layout()
    try:
        return atomic_savefig(fig, out_dir / f"{args.run_name}.png", dpi=150)
    finally:
        plt.close(fig)


if __name__ == "__main__":
    main()
