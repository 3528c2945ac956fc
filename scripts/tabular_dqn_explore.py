"""Figures 2a and 2b: DQN-Explore-BC vs uniform-exploration BC on tabular games.

Reproduces the deep-exploration experiment of Viano, Freihaut et al.,
"Multi-agent imitation learning with function approximation: linear Markov
games and beyond" on two small zero-sum games with exact NashConv:

* figure 2a, the 3x3 **Gridworld** race (``mail_envs.gridworld``, discounted,
  ``gamma = 0.9``, episodes truncated after 50 cycles);
* figure 2b, the **Chain** game (``mail_envs.chain``, two actions,
  ``gamma = 0.95``) with ``N = 4, 8`` and ``16`` chain states as in the paper
  (``--chain-lengths``, one panel each): player_1 must walk one secret
  ``N``-step action sequence to reach the gate, the only state where player_0
  (the guard) has a real decision. The equilibrium never visits the gate, so a
  guard learned without it errs there and player_1 exploits it.

For each game, method, budget ``K`` (expert-labelled games per learning
player) and seed, BOTH players are learned: player ``i`` plays the expert
(the exact Nash equilibrium of the model, ``mail_envs.solvers.solve_zero_sum``,
played through ``TablePolicy``) and every real decision it takes (two or more
legal actions) is labelled, while the other seat is played by

* ``dqn-explore``: the masked SB3 DQN explorer whose only reward is the
  elliptical bonus on its critic's features
  (``agents.deep.dqn_explore.DQNExploreBC``, its default settings but the
  bonus scale ``--beta``), or
* ``uniform``: an explorer uniform among legal actions
  (``agents.deep.baselines.UniformBC``).

Both games run through ``agents.pipeline.Pipeline``; the Gridworld with
``policy_class="neural"``, so that both methods play the env and clone an MLP
(the pipeline's default Gridworld runs its baselines on the model with
softmax-linear BC). Every run is a ``RunRecord``.

Both methods get the same budgets, seeds and behaviour-cloning settings. BC
fits one MLP per player on the one-hot observations
(``agents.bc.profile.fit_bc_profile`` with ``BCConfig``: hard labels, batch
128) for at least 60 epochs and at least 1,000 gradient
steps: with ``fit_bc_profile``'s 60 epochs alone, 250 Gridworld labels get
120 steps, too few to fit them, and NashConv then measures the optimizer,
not the data. The learned profile is greedy and masked. **A
player with no labelled decision gets the uniform policy over its legal
actions** (BC has nothing to fit; on the chain this is the guard whenever the
explorer never reached the gate, and the uniform guard errs there with
probability 1/2). The exact NashConv and per-player gains of the profile are
computed on the model (``mail_envs.solvers.nash_gap``).

Recorded per run: NashConv, gains, expert queries, distinct states labelled,
wall times and, on the chain, the guard's gate labels (its expert queries:
the guard's only decision is at the gate; 0 when the explorer never reached
it). The seeds of the two players' collections are drawn from the run seed
(``SeedSequence``), identically for both methods.

Run (from the repository root):

    python scripts/tabular_dqn_explore.py --workers 2   # budgets 1..100, seeds 0-4
    python scripts/tabular_dqn_explore.py --games chain --budgets 5 10 20 50 \
        --seeds 0 1 2 --out-dir docs/results/chain_lengths   # N = 4, 8, 16
    python scripts/tabular_dqn_explore.py --quick       # smoke run, under 2 minutes

Writes ``<out-dir>/<run name>.json`` (config and every number, per seed,
written atomically) and ``<out-dir>/<run name>.png`` (NashConv against the
budget, mean and min-max over seeds, one panel per game and chain length)
and prints a table. Results are keyed by panel: ``gridworld`` and
``chain-N<length>``; every run records its ``game`` and ``chain_length``.
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

from agents.bc.profile import BCConfig
from agents.deep.critic_bonus import BonusConfig
from agents.pipeline import GAME_SPECS, Pipeline, PipelineResult, RunRecord
from mail_envs.chain import chain_layout, exploit_gain
from mail_envs.files import atomic_savefig, atomic_write_text
from mail_envs.solvers import nash_gap

GAMES = ("gridworld", "chain")
METHODS = ("dqn-explore", "uniform")
#: The chain of the pipeline's game spec: two actions, layout seed 0.
CHAIN_ACTIONS = 2
CHAIN_SEED = 0


@dataclass(frozen=True)
class Args:
    """The whole configuration of one run."""

    games: tuple[str, ...] = GAMES
    methods: tuple[str, ...] = METHODS
    budgets: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    grid_size: int = 3
    chain_lengths: tuple[int, ...] = (4, 8, 16)
    beta: float = 3.0
    bc_batch_size: int = 128
    bc_min_epochs: int = 60
    bc_min_steps: int = 1000
    threads: int = 1
    workers: int = 1
    out_dir: str = "results/tabular_dqn_explore"
    quick: bool = False

    @property
    def run_name(self) -> str:
        """File stem naming the games, budgets and seeds."""
        contiguous = list(self.seeds) == list(
            range(self.seeds[0], self.seeds[0] + len(self.seeds))
        )
        seeds = (
            f"{self.seeds[0]}-{self.seeds[-1]}"
            if contiguous and len(self.seeds) > 1
            else "+".join(str(s) for s in self.seeds)
        )
        budgets = f"K{self.budgets[0]}-{self.budgets[-1]}"
        quick = "_quick" if self.quick else ""
        games = "-".join(
            "chain" + "-".join(str(n) for n in self.chain_lengths)
            if g == "chain"
            else g
            for g in self.games
        )
        return f"dqn_explore_{games}_{budgets}_seeds{seeds}{quick}"

    @property
    def panels(self) -> tuple[str, ...]:
        """One panel per game and chain length: ``gridworld``, ``chain-N<length>``."""
        return tuple(
            p
            for g in self.games
            for p in (
                [f"chain-N{n}" for n in self.chain_lengths] if g == "chain" else [g]
            )
        )

    @property
    def bc(self) -> BCConfig:
        """The BC settings of both methods (MLP head, hard labels)."""
        return BCConfig(
            batch_size=self.bc_batch_size,
            min_epochs=self.bc_min_epochs,
            min_steps=self.bc_min_steps,
        )

    @property
    def method_options(self) -> dict[str, dict[str, object]]:
        """Constructor keywords per method: the DQN explorer's bonus scale."""
        if "dqn-explore" not in self.methods:
            return {}
        return {"dqn-explore": {"bonus": BonusConfig(beta=self.beta)}}


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", nargs="+", choices=GAMES, default=None)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=None)
    parser.add_argument("--budgets", type=int, nargs="+", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--grid-size", type=int, default=Args.grid_size)
    parser.add_argument(
        "--chain-lengths",
        type=int,
        nargs="+",
        default=None,
        help="chain states N, one panel each (default 4 8 16)",
    )
    parser.add_argument("--beta", type=float, default=Args.beta)
    parser.add_argument("--bc-min-steps", type=int, default=Args.bc_min_steps)
    parser.add_argument(
        "--workers", type=int, default=Args.workers, help="processes (fork)"
    )
    parser.add_argument("--out-dir", default=Args.out_dir)
    parser.add_argument("--quick", action="store_true", help="budgets 1 2 5, seeds 0 1")
    ns = parser.parse_args(argv)
    budgets = ns.budgets or ((1, 2, 5) if ns.quick else Args.budgets)
    if min(budgets) < 1:
        parser.error(f"budgets must be positive, got {budgets}")
    lengths = tuple(sorted(set(ns.chain_lengths or Args.chain_lengths)))
    if min(lengths) < 1:
        parser.error(f"chain lengths must be positive, got {lengths}")
    return Args(
        games=tuple(ns.games or GAMES),
        methods=tuple(ns.methods or METHODS),
        budgets=tuple(sorted(set(budgets))),
        seeds=tuple(ns.seeds or ((0, 1) if ns.quick else Args.seeds)),
        grid_size=ns.grid_size,
        chain_lengths=lengths,
        beta=ns.beta,
        bc_min_steps=ns.bc_min_steps,
        workers=ns.workers,
        out_dir=ns.out_dir,
        quick=ns.quick,
    )


def panel_game(panel: str) -> str:
    """The game of a panel (``chain-N8`` -> ``chain``)."""
    return panel.split("-")[0]


def panel_length(panel: str) -> int | None:
    """The chain length of a panel (None for the Gridworld)."""
    return int(panel.split("-N")[1]) if panel_game(panel) == "chain" else None


def game_options(panel: str, args: Args) -> dict[str, object]:
    """The pipeline options of a panel: the Gridworld with neural BC through the env."""
    if panel_game(panel) == "chain":
        return {"length": panel_length(panel)}
    return {"size": args.grid_size, "policy_class": "neural"}


def run_game(panel: str, args: Args) -> PipelineResult:
    """Every (method, budget, seed) run of one panel, through the pipeline."""
    return Pipeline(
        game=panel_game(panel),
        methods=args.methods,
        budgets=args.budgets,
        seeds=args.seeds,
        game_options=game_options(panel, args),
        method_options=args.method_options,
        device="cpu",
        augment=False,
        progress=False,
        workers=args.workers,
        threads=args.threads,
        bc=args.bc,
    ).run()


def gate_labels(name: str, record: RunRecord) -> int | None:
    """The chain guard's expert queries: it decides only at the gate (0: never reached)."""
    return int(record.num_queries[0]) if panel_game(name) == "chain" else None


def uniform_players(record: RunRecord) -> list[int]:
    """Players without a labelled decision: BC gives them the uniform policy."""
    return [i for i, q in enumerate(record.num_queries) if q == 0]


def row_text(name: str, r: RunRecord) -> str:
    gains = "/".join(f"{g:.4f}" for g in r.gains)
    queries = "/".join(str(q) for q in r.num_queries)
    n_states = "/".join(str(s) for s in r.distinct_states)
    unif = ",".join(str(k) for k in uniform_players(r)) or "-"
    gate = gate_labels(name, r)
    return (
        f"{name:<11}{r.method:<13}{r.budget:>5}{r.seed:>5}"
        f"{r.value():>10.4f}{gains:>17}{queries:>12}{n_states:>9}"
        f"{'-' if gate is None else gate:>6}{unif:>6}{r.explore_seconds:>8.1f}"
        f"{r.bc_seconds:>7.1f}"
    )


def summarize(
    args: Args, results: dict[str, PipelineResult]
) -> dict[str, dict[str, list[dict]]]:
    """Mean and min-max over seeds of every (game, method, budget)."""
    summary: dict[str, dict[str, list[dict]]] = {}
    for name, result in results.items():
        summary[name] = {}
        for method in args.methods:
            cells = []
            for budget in args.budgets:
                rows = [
                    r
                    for r in result.records
                    if r.method == method and r.budget == budget
                ]
                gaps = np.array([r.value() for r in rows])
                cell = {
                    "budget": budget,
                    "nash_conv_mean": float(gaps.mean()),
                    "nash_conv_min": float(gaps.min()),
                    "nash_conv_max": float(gaps.max()),
                    "gains_mean": np.mean([r.gains for r in rows], axis=0).tolist(),
                    "distinct_states_mean": np.mean(
                        [r.distinct_states for r in rows], axis=0
                    ).tolist(),
                }
                if panel_game(name) == "chain":
                    gates = [gate_labels(name, r) or 0 for r in rows]
                    cell["gate_reached_seeds"] = sum(g > 0 for g in gates)
                    cell["gate_labels_mean"] = float(np.mean(gates))
                cells.append(cell)
            summary[name][method] = cells
    return summary


def plot(args: Args, summary: dict[str, dict[str, list[dict]]], path: Path) -> Path:
    """NashConv against the budget, mean and min-max over seeds, one panel per game."""
    import matplotlib.pyplot as plt

    titles = {
        p: f"Chain N={panel_length(p)} (fig. 2b)"
        if panel_game(p) == "chain"
        else f"Gridworld {args.grid_size}x{args.grid_size} (fig. 2a)"
        for p in args.panels
    }
    panels = args.panels
    fig, axes = plt.subplots(
        1, len(panels), figsize=(max(6.5, 5 * len(panels)), 4), squeeze=False
    )
    for ax, name in zip(axes[0], panels, strict=True):
        for method in args.methods:
            rows = summary[name][method]
            x = [c["budget"] for c in rows]
            (line,) = ax.plot(
                x, [c["nash_conv_mean"] for c in rows], marker="o", label=method
            )
            ax.fill_between(
                x,
                [c["nash_conv_min"] for c in rows],
                [c["nash_conv_max"] for c in rows],
                color=line.get_color(),
                alpha=0.2,
            )
        ax.set_xscale("log")
        ax.set_xticks(args.budgets, [str(b) for b in args.budgets])
        ax.minorticks_off()
        ax.set_xlabel("expert-labelled games per player K")
        ax.set_ylabel("NashConv of the BC profile")
        ax.set_title(titles[name])
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(
        f"DQN-Explore-BC vs uniform exploration, seeds {list(args.seeds)}",
        fontsize=10,
    )
    fig.tight_layout()
    try:
        return atomic_savefig(fig, path, dpi=150)
    finally:
        plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"run {args.run_name}: budgets {args.budgets}, seeds {args.seeds}")

    # ---- the games, their exact experts
    expert_gaps = {}
    chain_gamma = 0.0
    for name in args.panels:
        problem = GAME_SPECS[panel_game(name)].problem(game_options(name, args))
        if problem.model is None:
            raise ValueError(f"the {name} problem has no model")
        if panel_game(name) == "chain":
            chain_gamma = problem.model.gamma
        expert_gaps[name] = float(
            nash_gap(problem.model, list(problem.experts)).nash_conv
        )
        print(
            f"{name}: {problem.model.num_states} states, "
            f"expert NashConv {expert_gaps[name]:.2e}"
        )
    chain_panels = [p for p in args.panels if panel_game(p) == "chain"]
    layouts = {
        p: chain_layout(panel_length(p) or 1, CHAIN_ACTIONS, seed=CHAIN_SEED)
        for p in chain_panels
    }
    # A guard that never saw the gate plays uniformly there; player_1's gain then:
    uniform_guard_gains = {
        p: exploit_gain(layout, 1.0 - 1.0 / CHAIN_ACTIONS, gamma=chain_gamma)
        for p, layout in layouts.items()
    }

    # ---- the sweep
    print(
        f"{'game':<11}{'method':<13}{'K':>5}{'seed':>5}{'NashConv':>10}{'gains':>17}"
        f"{'queries':>12}{'states':>9}{'gate':>6}{'unif':>6}{'expl s':>8}{'bc s':>7}"
    )
    sweep_start = time.perf_counter()
    results: dict[str, PipelineResult] = {}
    for name in args.panels:
        results[name] = run_game(name, args)
        for record in results[name].records:
            print(row_text(name, record), flush=True)
    sweep_seconds = time.perf_counter() - sweep_start

    # ---- summary: mean and min-max over seeds
    summary = summarize(args, results)
    print(
        f"\nsummary (mean [min, max] over {len(args.seeds)} seeds), "
        f"{sweep_seconds:.0f} s"
    )
    for name, by_method in summary.items():
        for method, rows in by_method.items():
            for c in rows:
                extra = ""
                if panel_game(name) == "chain":
                    extra = (
                        f"  gate reached in {c['gate_reached_seeds']}/"
                        f"{len(args.seeds)} seeds, {c['gate_labels_mean']:.1f} "
                        "gate labels on average"
                    )
                print(
                    f"{name:<11}{method:<13}K={c['budget']:<5}NashConv "
                    f"{c['nash_conv_mean']:.4f} [{c['nash_conv_min']:.4f}, "
                    f"{c['nash_conv_max']:.4f}]  gains "
                    + "/".join(f"{g:.4f}" for g in c["gains_mean"])
                    + extra
                )
    for name, gain in uniform_guard_gains.items():
        print(
            f"{name}: player_1's gain against a uniform guard = "
            f"{gain:.4f} (exploit_gain with error 1/2)"
        )

    # ---- write everything (atomically)
    payload = {
        "args": dataclasses.asdict(args),
        "run_name": args.run_name,
        "platform": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "machine": platform.machine(),
        },
        "expert_nash_conv": expert_gaps,
        "chain_layouts": {p: dataclasses.asdict(lay) for p, lay in layouts.items()},
        "chain_uniform_guard_gain": uniform_guard_gains,
        "sweep_seconds": sweep_seconds,
        "summary": summary,
        "runs": [
            {
                "game": panel_game(name),
                "panel": name,
                "chain_length": panel_length(name),
                **dataclasses.asdict(r),
                "gate_labels": gate_labels(name, r),
                "uniform_players": uniform_players(r),
            }
            for name, result in results.items()
            for r in result.records
        ],
    }
    json_path = out_dir / f"{args.run_name}.json"
    atomic_write_text(json_path, json.dumps(payload, indent=2))
    png_path = plot(args, summary, out_dir / f"{args.run_name}.png")
    print(f"wrote {json_path} and {png_path}")


if __name__ == "__main__":
    main()
