"""Tic-Tac-Toe, figure 1c: DQN-Explore-BC vs uniform-exploration BC vs BC.

Reproduces the Tic-Tac-Toe experiment of Viano, Freihaut et al.,
"Multi-agent imitation learning with function approximation: linear Markov
games and beyond", learning BOTH players (the published code learned only the
first): for each budget of expert-labelled games per player, the exact
NashConv of the greedy masked BC profile (small CNN) for

* DQN-Explore-BC: a masked SB3 DQN explores the other seat with the elliptical
  bonus of its critic's penultimate features;
* uniform-exploration BC: the explorer plays uniformly at random;
* BC on expert self-play games (stochastic minimax expert);

once with BC on the labels as they are and once on the 8 board symmetries of
every label (no extra expert query). Mean and min-max over seeds.

Run (from the repository root):

    python scripts/tictactoe_dqn_explore.py           # budgets 100 300 1000, seeds 0 1 2
    python scripts/tictactoe_dqn_explore.py --quick   # budgets 20 50, seed 0

Runs are spread over ``--workers`` processes (default: the CPUs, at most 4);
every run seeds itself, so the numbers do not depend on it.

Writes ``<out>/<run name>_{plain,augmented}.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from agents.pipeline import Pipeline


@dataclass(frozen=True)
class Args:
    """The whole configuration of one run."""

    budgets: tuple[int, ...] = (100, 300, 1000)
    seeds: tuple[int, ...] = (0, 1, 2)
    augment: tuple[bool, ...] = (False, True)
    device: str = "auto"
    out: str = "results/tictactoe_dqn_explore"
    quick: bool = False
    workers: int = 1

    @property
    def run_name(self) -> str:
        """File stem naming budgets and seeds."""
        budgets = "-".join(map(str, self.budgets))
        seeds = "-".join(map(str, self.seeds))
        return f"tictactoe_games{budgets}_seeds{seeds}" + (
            "_quick" if self.quick else ""
        )


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--device", default=Args.device)
    parser.add_argument("--out", default=Args.out)
    parser.add_argument("--quick", action="store_true", help="budgets 20 50, seed 0")
    parser.add_argument(
        "--workers",
        type=int,
        default=min(len(os.sched_getaffinity(0)), 4),
        help="processes (the results do not depend on it; default: CPUs, at most 4)",
    )
    ns = parser.parse_args()
    return Args(
        budgets=tuple(ns.budgets or ((20, 50) if ns.quick else Args.budgets)),
        seeds=tuple(ns.seeds or ((0,) if ns.quick else Args.seeds)),
        device=ns.device,
        out=ns.out,
        quick=ns.quick,
        workers=ns.workers,
    )


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)  # small networks: one thread is fastest on a CPU
    out = Path(args.out)
    print(f"run {args.run_name}: budgets {args.budgets}, seeds {args.seeds}")
    for augment in args.augment:
        tag = "augmented" if augment else "plain"
        result = Pipeline(
            game="tictactoe",
            budgets=args.budgets,
            seeds=args.seeds,
            device=args.device,
            augment=augment,
            workers=args.workers,
            threads=1,
        ).run()
        print(
            f"\nBC {'on the 8 board symmetries of each label' if augment else 'on the labels as they are'}:"
        )
        print(result.table())
        json_path = result.to_json(out / f"{args.run_name}_{tag}.json")
        png_path = result.plot(out / f"{args.run_name}_{tag}.png")
        print(f"wrote {json_path} and {png_path}")


if __name__ == "__main__":  # worker processes re-import this file
    main()
