"""Figure 2a: the 5x5 image Gridworld, DQN-Explore (ours, published) vs uniform vs BC.

The deep Gridworld experiment of Viano, Freihaut et al., "Multi-agent
imitation learning with function approximation: linear Markov games and
beyond" (figure 2a; published code ``dqnexplore_vs_deepunif.py``): the 5x5
race, goal (0, 4), player_0 starting at (3, 0) and player_1 at (4, 1)
(:func:`mail_envs.gridworld.published_starts`), episodes of ``H = 16`` moves,
the discounted game (``gamma = 0.9``) and its exact Nash expert; the learners
see the rendered ``32 x 32 x 3`` picture of the grid
(``observation="image"``) and clone it with a CNN. For each budget of
expert-labelled games per learning player, four methods, all through
:class:`~agents.pipeline.Pipeline`:

* ``dqn-explore`` (ours): SB3 DQN explorer whose critic reads the picture
  through the BC CNN's trunk (:class:`~agents.policies.ImageCNNPolicy` in
  :class:`~agents.policies.extractors.HeadFeaturesExtractor`), rewarded by
  the elliptical bonus of its last hidden layer;
* ``dqn-explore-paper``: the published explorer (:mod:`agents.deep.paper_dqn`:
  three-convolution critic, the action concatenated after ``fc1``, softmax
  actions, log-det doubling rounds);
* ``uniform``: the explorer seat plays uniformly at random;
* ``bc``: expert self-play data only (the offline baseline).

Every method clones with the same CNN: by default the Gridworld's
(:func:`agents.pipeline.games.gridworld_head`, two strided convolutions,
flattened), with ``--bc-head paper`` the published BC network
(:data:`~agents.policies.PAPER_BC_CNN`: stride 1, global average pooling;
about 30 times the compute).
Each learned profile is evaluated exactly on the model (the model supplies
the picture of every state, so the CNN becomes a table in one batched call):
NashConv and the published metric, the larger of the two players' gains.

Run (from the repository root):

    python scripts/gridworld_image.py            # budgets 1 2 3 5, seeds 0-2
    python scripts/gridworld_image.py --quick    # seconds: budget 1, seed 0, tiny nets

Writes ``<out>/results.json`` (the pipeline result: configuration, seeds,
budgets, every run's gains), ``<out>/nashconv.png`` (NashConv and max gain
against the budget) and ``<out>/summary.md`` (tables generated from the
JSON). Finished runs are kept in ``<work>/records`` and reused by a rerun
(``--resume``).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("MPLBACKEND", "Agg")

import torch

from agents.bc.profile import BCConfig
from agents.deep.critic_bonus import BonusConfig
from agents.deep.paper_dqn import PaperDQNConfig
from agents.pipeline import Pipeline, PipelineResult
from agents.pipeline.games import gridworld_head
from agents.policies import PAPER_BC_CNN, ImageCNNPolicy, PolicyHead
from agents.policies.extractors import HeadFeaturesExtractor
from mail_envs.files import atomic_savefig, atomic_write_text

METHODS = ("dqn-explore", "dqn-explore-paper", "uniform", "bc")


@dataclass(frozen=True)
class Args:
    """The whole configuration of one sweep."""

    size: int = 5
    episode_length: int = 16
    budgets: tuple[int, ...] = (1, 2, 3, 5)
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = METHODS
    bc_head: str = "ours"
    bc_min_steps: int = 300
    bc_min_epochs: int = 1
    dqn_learning_starts: int = 32
    dqn_buffer_size: int = 10_000
    dqn_rebuild_every: int = 80
    paper_hidden_dim: int = 128
    paper_batch_size: int = 64
    paper_gradient_steps: int = 10
    device: str = "cpu"
    workers: int = 1
    out: str = "docs/results/gridworld_5x5"
    work: str = "runs/gridworld_5x5"
    resume: bool = False
    quick: bool = False

    def game_options(self) -> dict[str, Any]:
        """The pipeline's gridworld options: figure 2a's setup."""
        return {
            "size": self.size,
            "start": "published",
            "episode_length": self.episode_length,
            "observation": "image",
            "policy_class": "neural",
        }

    def method_options(self) -> dict[str, dict[str, Any]]:
        """Per-method keywords: the CNN critic of ours, the published explorer's config."""
        options: dict[str, dict[str, Any]] = {
            "dqn-explore": {
                "bonus": BonusConfig(rebuild_every=self.dqn_rebuild_every),
                "dqn_kwargs": {
                    "learning_starts": self.dqn_learning_starts,
                    "buffer_size": self.dqn_buffer_size,
                    "policy_kwargs": {
                        "features_extractor_class": HeadFeaturesExtractor,
                        "features_extractor_kwargs": {
                            "architecture": "image_cnn",
                            "config": {"hidden_size": 64 if not self.quick else 8},
                        },
                        "net_arch": [64] if not self.quick else [8],
                    },
                },
            },
            "dqn-explore-paper": {
                "config": PaperDQNConfig(
                    hidden_dim=self.paper_hidden_dim,
                    batch_size=self.paper_batch_size,
                    gradient_steps=self.paper_gradient_steps,
                )
            },
        }
        return {m: o for m, o in options.items() if m in self.methods}

    def bc(self) -> BCConfig:
        """BC of every method: the Gridworld's CNN head, or the published one."""
        return BCConfig(
            head_fn=gridworld_head if self.bc_head == "ours" else paper_bc_head,
            min_epochs=self.bc_min_epochs,
            min_steps=self.bc_min_steps,
        )


def paper_bc_head(
    obs_shape: tuple[int, ...], num_actions: int, seed: int
) -> PolicyHead:
    """The published Gridworld BC network (``--bc-head paper``)."""
    return ImageCNNPolicy(obs_shape, num_actions, seed=seed, **PAPER_BC_CNN)


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """The command line as :class:`Args`."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=None)
    parser.add_argument("--bc-head", choices=("ours", "paper"), default=Args.bc_head)
    parser.add_argument("--bc-min-steps", type=int, default=None)
    parser.add_argument("--device", default=Args.device)
    parser.add_argument("--workers", type=int, default=Args.workers)
    parser.add_argument("--out", default=None)
    parser.add_argument("--work", default=None)
    parser.add_argument(
        "--resume", action="store_true", help="reuse the runs recorded in --work"
    )
    parser.add_argument(
        "--quick", action="store_true", help="budget 1, seed 0, tiny networks"
    )
    ns = parser.parse_args(argv)
    quick = bool(ns.quick)
    return Args(
        budgets=tuple(ns.budgets or ((1,) if quick else Args.budgets)),
        seeds=tuple(ns.seeds or ((0,) if quick else Args.seeds)),
        methods=tuple(ns.methods or METHODS),
        bc_head=ns.bc_head,
        bc_min_steps=ns.bc_min_steps or (5 if quick else Args.bc_min_steps),
        paper_hidden_dim=8 if quick else Args.paper_hidden_dim,
        paper_batch_size=8 if quick else Args.paper_batch_size,
        paper_gradient_steps=2 if quick else Args.paper_gradient_steps,
        dqn_buffer_size=100 if quick else Args.dqn_buffer_size,
        dqn_learning_starts=4 if quick else Args.dqn_learning_starts,
        device=ns.device,
        workers=ns.workers,
        out=ns.out or ("runs/gridworld_5x5_quick" if quick else Args.out),
        work=ns.work or (Args.work + "_quick" if quick else Args.work),
        resume=bool(ns.resume),
        quick=quick,
    )


def run(args: Args) -> PipelineResult:
    """Every method, budget and seed of the sweep (runs recorded in ``args.work``)."""
    pipeline = Pipeline(
        game="gridworld",
        methods=args.methods,
        budgets=args.budgets,
        seeds=args.seeds,
        game_options=args.game_options(),
        method_options=args.method_options(),
        device=args.device,
        bc=args.bc(),
        progress=False,
        workers=args.workers,
        threads=1,
    )
    return pipeline.run(args.work, resume=args.resume, overwrite=not args.resume)


def statistics(
    records: Sequence[Mapping[str, Any]],
) -> dict[str, dict[int, dict[str, float]]]:
    """Mean, min and max over seeds of NashConv and max gain, per method and budget.

    Args:
        records: The ``records`` of a ``results.json``.

    Returns:
        ``{method: {budget: {"nash_conv_mean": ..., "max_gain_min": ..., ...}}}``.
    """
    out: dict[str, dict[int, dict[str, float]]] = {}
    for method in dict.fromkeys(r["method"] for r in records):
        out[method] = {}
        for budget in sorted({int(r["budget"]) for r in records}):
            rows = [
                r for r in records if r["method"] == method and r["budget"] == budget
            ]
            if not rows:
                continue
            cell: dict[str, float] = {}
            for name, values in (
                ("nash_conv", [float(r["nash_conv"]) for r in rows]),
                ("max_gain", [max(float(g) for g in r["gains"]) for r in rows]),
                ("states", [float(np.mean(r["distinct_states"])) for r in rows]),
                ("seconds", [float(r["wall_seconds"]) for r in rows]),
            ):
                cell[f"{name}_mean"] = float(np.mean(values))
                cell[f"{name}_min"] = float(np.min(values))
                cell[f"{name}_max"] = float(np.max(values))
            out[method][budget] = cell
    return out


def summary_markdown(payload: Mapping[str, Any]) -> str:
    """``summary.md``: the setup and the tables, generated from ``results.json``."""
    config = payload["config"]
    stats = statistics(payload["records"])
    seeds = config["seeds"]
    lines = [
        "# Figure 2a: the 5x5 image Gridworld",
        "",
        f"Written by `scripts/gridworld_image.py` from `results.json`. Game options "
        f"{config['game_options']}; seeds {seeds}; budgets {config['budgets']} "
        "expert-labelled games per learning player. Exact NashConv and the larger "
        "of the two players' gains (the published metric) of the learned CNN "
        "profile: mean [min, max] over seeds; states: distinct labelled states "
        "per player (mean).",
        "",
    ]
    for metric, title in (("nash_conv", "NashConv"), ("max_gain", "max gain")):
        methods = list(stats)
        lines += [
            f"## {title}",
            "",
            "| budget | " + " | ".join(methods) + " |",
            "|---" * (1 + len(methods)) + "|",
        ]
        budgets = sorted({b for m in stats.values() for b in m})
        for budget in budgets:
            cells = []
            for method in methods:
                c = stats[method].get(budget)
                cells.append(
                    "-"
                    if c is None
                    else f"{c[metric + '_mean']:.3f} [{c[metric + '_min']:.3f}, "
                    f"{c[metric + '_max']:.3f}] ({c['states_mean']:.0f} states)"
                )
            lines.append(f"| {budget} | " + " | ".join(cells) + " |")
        lines.append("")
    methods = list(stats)
    lines += [
        "## Wall time per run (s, mean over seeds; machine-dependent)",
        "",
        "| budget | " + " | ".join(methods) + " |",
        "|---" * (1 + len(methods)) + "|",
    ]
    for budget in sorted({b for m in stats.values() for b in m}):
        cells = [
            "-" if budget not in stats[m] else f"{stats[m][budget]['seconds_mean']:.0f}"
            for m in methods
        ]
        lines.append(f"| {budget} | " + " | ".join(cells) + " |")
    lines.append("")
    extra = payload.get("script_args")
    if extra:
        lines += ["Script settings: `" + json.dumps(extra, sort_keys=True) + "`", ""]
    return "\n".join(lines)


def plot(payload: Mapping[str, Any], path: Path) -> Path:
    """NashConv and max gain (mean, min-max band over seeds) against the budget."""
    import matplotlib.pyplot as plt

    stats = statistics(payload["records"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, (metric, title) in zip(
        axes, (("nash_conv", "NashConv"), ("max_gain", "max gain")), strict=True
    ):
        for k, (method, cells) in enumerate(stats.items()):
            budgets = sorted(cells)
            mean = [cells[b][f"{metric}_mean"] for b in budgets]
            low = [cells[b][f"{metric}_min"] for b in budgets]
            high = [cells[b][f"{metric}_max"] for b in budgets]
            (line,) = ax.plot(
                budgets,
                mean,
                marker="osD^v"[k % 5],
                linestyle=("-", "--", "-.", ":")[k % 4],
                label=method,
            )
            ax.fill_between(budgets, low, high, alpha=0.2, color=line.get_color())
        ax.set_xscale("log")
        ax.set_xlabel("expert-labelled games per player")
        ax.set_ylabel(title)
        ax.set_title(f"5x5 image Gridworld: {title}")
        ax.grid(alpha=0.3)
    axes[0].legend()
    atomic_savefig(fig, path)
    plt.close(fig)
    return path


def write_outputs(result: PipelineResult, args: Args) -> tuple[Path, Path, Path]:
    """``results.json`` (with the script's settings), the figure and the summary."""
    out = Path(args.out)
    json_path = result.to_json(out / "results.json")
    payload = json.loads(json_path.read_text())
    payload["script_args"] = {
        k: list(v) if isinstance(v, tuple) else v for k, v in asdict(args).items()
    }
    atomic_write_text(json_path, json.dumps(payload, indent=2))
    png_path = plot(payload, out / "nashconv.png")
    md_path = atomic_write_text(out / "summary.md", summary_markdown(payload))
    return json_path, png_path, md_path


def main(argv: Sequence[str] | None = None) -> None:
    """Run the sweep and write its files."""
    args = parse_args(argv)
    torch.set_num_threads(1)  # small networks, a shared CPU
    result = run(args)
    paths = write_outputs(result, args)
    print(summary_markdown(json.loads(paths[0].read_text())))
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":  # worker processes re-import this file
    main()
