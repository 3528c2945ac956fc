"""BC on repeated rows vs on their distinct rows: do the loss curves match?

Cloning on the distinct ``(observation, mask)`` rows with their label mixes
as targets, each weighted by its count
(:func:`agents.bc.trainer.label_distributions`, ``BCConfig(dedupe=True,
weighting="counts")``), minimizes the same loss as cloning on every repeated
row; its minibatches draw rows in proportion to their counts, so a minibatch
is distributed as one of the repeated rows. This script checks that the two
train alike, step for step, on one player's labels of the main job
(Tic-Tac-Toe, uniform exploration, ``--games`` games, 8 board symmetries):
the same head, seed, batch size and learning rate, the same number of
gradient steps, and after every epoch the exact loss of the current weights
on all the repeated rows. A third curve shows the main job's choice
(``weighting="states"``: every board once), whose objective differs: it is
plotted on the same repeated-rows loss to show what it gives up there.

Run (from the repository root):

    python scripts/bc_loss_curves.py --out-dir docs/results/bc_loss_curves
    python scripts/bc_loss_curves.py --quick      # smoke run, seconds

Writes ``<out-dir>/bc_loss_curves.json`` (``_quick`` with ``--quick``) and a
PNG of the three curves (repeated-rows loss against gradient steps),
atomically, and prints the final losses and the largest gap between the
repeated-rows and the count-weighted curves.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("MPLBACKEND", "Agg")

import torch

from agents.bc.augment import dihedral_augment
from agents.bc.profile import BCConfig, default_head
from agents.bc.trainer import BCTrainer, label_distributions, masked_cross_entropy
from agents.methods import make_algorithm
from agents.pipeline.games import GAME_SPECS
from mail_envs.files import atomic_savefig, atomic_write_text

VARIANTS = ("repeated rows", "distinct rows, count weights", "distinct boards")


@dataclass(frozen=True)
class Args:
    """The whole configuration."""

    games: int = 1000
    seed: int = 0
    player: int = 0
    steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    out_dir: str = "results/bc_loss_curves"
    quick: bool = False


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """Command line -> :class:`Args`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--player", type=int, choices=(0, 1), default=0)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--out-dir", default="results/bc_loss_curves")
    parser.add_argument("--quick", action="store_true", help="30 games, 200 steps")
    ns = parser.parse_args(argv)
    return Args(
        games=30 if ns.quick else ns.games,
        seed=ns.seed,
        player=ns.player,
        steps=200 if ns.quick else ns.steps,
        out_dir=ns.out_dir,
        quick=ns.quick,
    )


def labels(args: Args) -> Any:
    """The player's augmented labels of a uniform-exploration run of the main job."""
    problem = GAME_SPECS["tictactoe"].problem({})
    result = make_algorithm(
        "uniform",
        problem,
        budget=args.games,
        seed=args.seed,
        bc=BCConfig(min_epochs=1, min_steps=0),
        device="cpu",
    ).run()
    return dihedral_augment(result.datasets[args.player])


def curve(
    args: Args,
    obs: np.ndarray,
    masks: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray | None,
    every: tuple[torch.Tensor, ...],
) -> dict[str, Any]:
    """Train ``args.steps`` steps; the repeated-rows loss after every epoch."""
    head = default_head(tuple(obs.shape[1:]), masks.shape[1], args.seed)
    batches = math.ceil(len(obs) / args.batch_size)
    steps, losses = [], []

    def record(epoch: int, _: int) -> None:
        head.eval()
        with torch.no_grad():
            loss = masked_cross_entropy(head(every[0], every[1]), every[1], every[2])
        steps.append(epoch * batches)
        losses.append(float(loss))

    trainer = BCTrainer(
        policy=head,
        rng=args.seed,
        device="cpu",
        batch_size=args.batch_size,
        max_epochs=math.ceil(args.steps / batches),
        validation_fraction=0.0,
        progress_bar=False,
        optimizer_kwargs={"lr": args.lr},
        progress=record,
    )
    metrics = trainer.train(obs, masks, targets, sample_weights=weights)
    return {
        "rows": len(obs),
        "steps": steps,
        "repeated_rows_loss": losses,
        "own_objective_loss": metrics.train_loss,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the three variants; print, write and plot their curves."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    data = labels(args)
    obs, masks, actions = data.observations, data.action_masks, data.expert_actions
    every = (
        torch.as_tensor(obs).float(),
        torch.as_tensor(masks),
        torch.as_tensor(actions),
    )
    u_obs, u_masks, probs, counts = label_distributions(obs, masks, actions)
    curves = {
        VARIANTS[0]: curve(args, obs, masks, actions, None, every),
        VARIANTS[1]: curve(args, u_obs, u_masks, probs, counts, every),
        VARIANTS[2]: curve(args, u_obs, u_masks, probs, None, every),
    }
    # Compare the two same-objective curves at the steps both recorded.
    a, b = curves[VARIANTS[0]], curves[VARIANTS[1]]
    grid = np.linspace(0, min(a["steps"][-1], b["steps"][-1]), 50)[5:]
    gap = np.abs(
        np.interp(grid, a["steps"], a["repeated_rows_loss"])
        - np.interp(grid, b["steps"], b["repeated_rows_loss"])
    )
    summary = {
        "final_loss": {v: c["repeated_rows_loss"][-1] for v, c in curves.items()},
        "max_gap_same_objective": float(gap.max()),
        "rows": {v: c["rows"] for v, c in curves.items()},
    }
    for variant, c in curves.items():
        print(
            f"{variant:30s} rows {c['rows']:6d}  repeated-rows loss after "
            f"{c['steps'][-1]} steps: {c['repeated_rows_loss'][-1]:.4f}"
        )
    print(
        "largest gap between the repeated-rows and count-weighted curves "
        f"(after the first 10% of steps): {summary['max_gap_same_objective']:.4f}"
    )
    payload = {
        "args": dataclasses.asdict(args),
        "curves": curves,
        "summary": summary,
    }
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = "bc_loss_curves_quick" if args.quick else "bc_loss_curves"
    atomic_write_text(out / f"{stem}.json", json.dumps(payload, indent=2))
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for variant, c in curves.items():
        ax.plot(
            c["steps"], c["repeated_rows_loss"], label=f"{variant} ({c['rows']} rows)"
        )
    ax.set_xlabel("gradient steps")
    ax.set_ylabel("masked cross-entropy on all repeated rows")
    ax.set_title(
        f"Tic-Tac-Toe, uniform exploration, {args.games} games, player {args.player}"
    )
    ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, out / f"{stem}.png")
    plt.close(fig)
    return payload


if __name__ == "__main__":
    main()
