"""Uniform exploration vs our DQN-Explore vs the published DQN-Explore, three games.

Does DQN-Explore-BC explore better than uniform play? Our explorer
(``"dqn-explore"``: SB3 DQN, epsilon-greedy, block-diagonal bonus of the
critic's last hidden layer, optimistic actions) and the authors' published one
(``"dqn-explore-paper"``: the action concatenated after the first layer,
softmax actions, a bonus frozen until ``det Lambda`` doubles;
:mod:`agents.deep.paper_dqn`) against uniform-exploration BC
(``"uniform"``), all through :class:`~agents.pipeline.Pipeline` on

* the chain of lengths 4, 8 and 16 (Viano, Freihaut et al., figure 2b),
* the Gridworld (figure 2a; ``policy_class="neural"``: every method plays the
  env and clones a neural policy),
* Tic-Tac-Toe (figure 1c).

For each game and budget of expert-labelled games per player: the exact
NashConv of the learned profile (mean [min, max] over seeds) and the distinct
states the labels cover (mean over seeds of the per-player mean).

Run (from the repository root):

    python scripts/dqn_explore_variants.py            # the sizes below (~45 min, 2 workers)
    python scripts/dqn_explore_variants.py --quick    # seconds: tiny games and budgets

Writes ``<out>/<game>.json`` and ``<game>.png`` per game (``chain<N>.json`` per
chain length) and ``<out>/summary.md`` (the tables), each atomically.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.bc.profile import BCConfig
from agents.deep.critic_bonus import BonusConfig
from agents.deep.paper_dqn import PaperDQNConfig
from agents.pipeline import Pipeline, PipelineResult
from mail_envs.files import atomic_write_text

METHODS = ("uniform", "dqn-explore", "dqn-explore-paper")
GAMES = ("chain", "gridworld", "tictactoe")


@dataclass(frozen=True)
class Args:
    """The whole configuration of one sweep."""

    games: tuple[str, ...] = GAMES
    chain_lengths: tuple[int, ...] = (4, 8, 16)
    chain_budgets: tuple[int, ...] = (5, 10, 20)
    gridworld_size: int = 3
    gridworld_budgets: tuple[int, ...] = (5, 20)
    tictactoe_budgets: tuple[int, ...] = (100, 300, 1000)
    seeds: tuple[int, ...] = (0, 1, 2)
    tictactoe_seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"
    workers: int = 1
    out: str = "docs/results/dqn_variants"
    quick: bool = False
    game_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def budgets(self, game: str) -> tuple[int, ...]:
        """The budgets of ``game``."""
        return {
            "chain": self.chain_budgets,
            "gridworld": self.gridworld_budgets,
            "tictactoe": self.tictactoe_budgets,
        }[game]

    def game_seeds(self, game: str) -> tuple[int, ...]:
        """The seeds of ``game``."""
        return self.tictactoe_seeds if game == "tictactoe" else self.seeds

    def panels(self, game: str) -> list[tuple[str, dict[str, Any]]]:
        """``(file stem, the pipeline's game options)`` of each sweep of ``game``.

        One per chain length (``chain4``, ``chain8``...), one for the others.
        """
        if game == "chain":
            return [(f"chain{n}", {"length": n}) for n in self.chain_lengths]
        if game == "gridworld":
            return [(game, {"size": self.gridworld_size, "policy_class": "neural"})]
        return [(game, {})]


#: Quick mode: small explorers and BC, so that a sweep takes seconds.
QUICK_METHOD_OPTIONS: dict[str, dict[str, Any]] = {
    "dqn-explore": {
        "bonus": BonusConfig(rebuild_every=20),
        "dqn_kwargs": {"learning_starts": 5, "policy_kwargs": {"net_arch": [16]}},
    },
    "dqn-explore-paper": {"config": PaperDQNConfig(hidden_dim=16, batch_size=8)},
}
QUICK_BC = BCConfig(min_epochs=1, min_steps=5)


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", nargs="+", choices=GAMES, default=list(GAMES))
    parser.add_argument("--chain-lengths", type=int, nargs="+", default=None)
    parser.add_argument("--chain-budgets", type=int, nargs="+", default=None)
    parser.add_argument("--gridworld-size", type=int, default=Args.gridworld_size)
    parser.add_argument("--gridworld-budgets", type=int, nargs="+", default=None)
    parser.add_argument("--tictactoe-budgets", type=int, nargs="+", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--tictactoe-seeds", type=int, nargs="+", default=None)
    parser.add_argument("--device", default=Args.device)
    parser.add_argument("--workers", type=int, default=Args.workers)
    parser.add_argument(
        "--out",
        default=None,
        help=f"default {Args.out} (quick: runs/dqn_variants_quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="chain of 3, budgets 2, seed 0, tiny nets"
    )
    ns = parser.parse_args(argv)
    quick = ns.quick
    return Args(
        games=tuple(ns.games),
        chain_lengths=tuple(
            ns.chain_lengths or ((3,) if quick else Args.chain_lengths)
        ),
        chain_budgets=tuple(
            ns.chain_budgets or ((2,) if quick else Args.chain_budgets)
        ),
        gridworld_size=ns.gridworld_size,
        gridworld_budgets=tuple(
            ns.gridworld_budgets or ((2,) if quick else Args.gridworld_budgets)
        ),
        tictactoe_budgets=tuple(
            ns.tictactoe_budgets or ((2,) if quick else Args.tictactoe_budgets)
        ),
        seeds=tuple(ns.seeds or ((0,) if quick else Args.seeds)),
        tictactoe_seeds=tuple(
            ns.tictactoe_seeds or ns.seeds or ((0,) if quick else Args.tictactoe_seeds)
        ),
        device=ns.device,
        workers=ns.workers,
        # A smoke run never writes into the committed results.
        out=ns.out or ("runs/dqn_variants_quick" if quick else Args.out),
        quick=quick,
    )


def markdown_table(result: PipelineResult) -> str:
    """NashConv mean [min, max] and mean distinct labelled states, per method and budget."""
    methods = list(dict.fromkeys(r.method for r in result.records))
    budgets = sorted({r.budget for r in result.records})
    summary = result.summary("nash_conv")
    head = "| budget | " + " | ".join(f"{m} NashConv | {m} states" for m in methods)
    lines = [head + " |", "|---" * (1 + 2 * len(methods)) + "|"]
    for budget in budgets:
        cells = [str(budget)]
        for method in methods:
            mean, low, high = summary[method][budget]
            states = [
                np.mean(r.distinct_states)
                for r in result.records
                if r.method == method and r.budget == budget
            ]
            cells += [f"{mean:.3f} [{low:.3f}, {high:.3f}]", f"{np.mean(states):.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_game(args: Args, game: str, options: Mapping[str, Any]) -> PipelineResult:
    """The sweep of one game setup: every method, budget and seed."""
    return Pipeline(
        game=game,
        methods=METHODS,
        budgets=args.budgets(game),
        seeds=args.game_seeds(game),
        game_options=dict(options),
        method_options=QUICK_METHOD_OPTIONS if args.quick else None,
        device=args.device,
        bc=QUICK_BC if args.quick else None,
        progress=False,
        workers=args.workers,
        threads=1,
    ).run()


def result_paths(out: Path) -> list[Path]:
    """The sweeps' JSON files in ``out``: by game, the chains by length."""

    def key(path: Path) -> tuple[int, int]:
        stem = path.stem
        for k, game in enumerate(GAMES):
            if stem == game:
                return k, 0
            if stem.startswith(game) and stem[len(game) :].isdigit():
                return k, int(stem[len(game) :])
        return len(GAMES), 0

    return sorted((p for p in out.glob("*.json") if key(p)[0] < len(GAMES)), key=key)


def write_summary(out: Path, quick: bool = False) -> Path:
    """``out/summary.md``: the table of every sweep's JSON file in ``out``."""
    sections = [
        "# Uniform vs DQN-Explore (ours) vs DQN-Explore (published configuration)",
        "",
        "NashConv: mean [min, max] over seeds; states: distinct labelled states,"
        " mean over seeds of the per-player mean. Written by"
        " `scripts/dqn_explore_variants.py`"
        + (" --quick" if quick else "")
        + " from the JSON files beside it.",
    ]
    for path in result_paths(out):
        result = PipelineResult.from_json(path)
        sections += [
            "",
            f"## {result.game} {result.config.get('game_options', {})}, seeds "
            f"{result.config.get('seeds')} ({path.name})",
            "",
            markdown_table(result),
        ]
    return atomic_write_text(out / "summary.md", "\n".join(sections) + "\n")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)  # small networks, a shared CPU
    out = Path(args.out)
    for game in args.games:
        for stem, options in args.panels(game):
            result = run_game(args, game, options)
            print(f"\n{game} {options}, seeds {list(args.game_seeds(game))}:")
            print(markdown_table(result))
            json_path = result.to_json(out / f"{stem}.json")
            png_path = result.plot(out / f"{stem}.png")
            print(f"wrote {json_path} and {png_path} ({result.elapsed_seconds:.0f} s)")
    print(f"wrote {write_summary(out, args.quick)}")


if __name__ == "__main__":  # worker processes re-import this file
    main()
