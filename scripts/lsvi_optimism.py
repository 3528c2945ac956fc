"""Does optimism help? LSVI-UCB-ZERO-BC over its bonus scale beta vs uniform BC.

A test of the optimism of LSVI-UCB-ZERO (Viano, Freihaut et al., "Multi-agent
imitation learning with function approximation: linear Markov games and
beyond", Algorithm LSVI-UCB-ZERO-BC; Jin et al. 2020, Algorithm 1 with zero
reward, ``agents.linear.lsvi_ucb_zero``). Its optimistic values are
``Q_h = min(H, phi^T w_h + beta sqrt(phi^T Lambda_h^-1 phi))``. With zero
reward, an unclipped ``Q`` is ``beta`` times a function of the data alone, so
the explorer's greedy actions do not depend on ``beta`` at all, **except
through the cap** ``H``: once every legal ``Q`` of a state is at ``H`` the
argmax is a uniform tie break and the explorer plays at random. At the
paper's ``beta = 10``, ``lambda = 0.1``, ``H = 10`` an unseen pair's bonus is
``beta / sqrt(lambda) = 31.6 > H``, so the values sit at the cap and
LSVI-UCB-ZERO explores like uniform exploration. This script sweeps ``beta``
(``--betas``, default 0.1, 0.3, 1, 3, 10; ``lambda``, ``H`` fixed) and records
the fraction of the explorer's decisions (two or more legal actions) where
every legal optimistic ``Q`` was clipped at ``H``
(``LSVIExploration.clipped_fraction``, reported in the result's ``info``).

Two games, both with tabular one-hot features (``agents.linear.features.
tabular_features``; a tabular game is a linear game with ``d = S A``), the
softmax-linear BC policy class over the same features and exact NashConv
(``mail_envs.solvers.nash_gap``):

* ``gridworld``: the 3x3 Gridworld race from the published start
  (``mail_envs.gridworld.PUBLISHED_STARTS``), ``gamma = 0.9``, ``H = 10``,
  expert an exact equilibrium (``--expert``: ``deterministic``, the solver's,
  as in figure 1b; or ``mixed``);
* ``chain-N<N>``: the hard-exploration chain (``mail_envs.chain``, two
  actions, ``gamma = 0.95``, ``--chain-lengths``, default 8 and 12) with
  ``H = max(--horizon, N + 2)``: the walker (player_1) must play one secret
  ``N``-step sequence, any wrong action sends it back to the start, so a
  uniform explorer reaches the gate with probability about ``2^-N`` per
  episode; the guard (player_0) decides only at the gate, and a guard that
  never saw it plays uniformly there and is exploited (player_1's gain
  ``mail_envs.chain.exploit_gain(layout, 1/2)``). The guard's labels are its
  gate labels.

Baseline: uniform-exploration BC (``agents.linear.baselines.model_bc`` with
``explorer="uniform"``) with the same budgets ``K`` (episodes of ``H`` steps per
learning player), seeds, features and BC.

Run (from the repository root):

    python scripts/lsvi_optimism.py --out-dir docs/results/lsvi_optimism
    python scripts/lsvi_optimism.py --quick      # smoke run, seconds

Writes ``<out-dir>/<run name>.json`` (config, every run, the summary) and
``<out-dir>/<run name>.png`` (per game: NashConv and clipped fraction against
``K``, one line per ``beta`` and uniform BC; mean and min-max over seeds),
both atomically (``mail_envs.files``), and prints the summary.
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

os.environ.setdefault("MPLBACKEND", "Agg")

import torch

import mail_envs
from agents.imitation import ImitationResult
from agents.linear.baselines import model_bc
from agents.linear.features import tabular_features
from agents.linear.lsvi_ucb_zero import LSVIUCBZeroBC
from agents.linear.problem import linear_problem
from mail_envs.chain import chain_layout, exploit_gain, make_chain_game
from mail_envs.core import TabularMarkovGame
from mail_envs.files import atomic_savefig, atomic_write_text
from mail_envs.gridworld import PUBLISHED_STARTS, make_gridworld_game
from mail_envs.solvers import nash_gap, solve_zero_sum
from mail_envs.solvers.mixed import mixed_zero_sum_equilibrium

GAMES = ("gridworld", "chain")
EXPERTS = ("deterministic", "mixed")
#: The chain's layout: two actions, layout seed 0 (as the pipeline's chain).
CHAIN_ACTIONS = 2
CHAIN_SEED = 0


@dataclass(frozen=True)
class Args:
    """The whole configuration of one run."""

    betas: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0)
    budgets: tuple[int, ...] = (10, 20, 50, 100, 200)
    seeds: tuple[int, ...] = (0, 1, 2)
    games: tuple[str, ...] = GAMES
    chain_lengths: tuple[int, ...] = (8, 12)
    ridge: float = 0.1
    horizon: int = 10
    l2: float = 1e-4
    expert: str = "deterministic"
    out_dir: str = "results/lsvi_optimism"
    quick: bool = False

    @property
    def panels(self) -> tuple[str, ...]:
        """One panel per game and chain length: ``gridworld``, ``chain-N<N>``."""
        return tuple(
            p
            for g in self.games
            for p in (
                [f"chain-N{n}" for n in self.chain_lengths] if g == "chain" else [g]
            )
        )

    @property
    def methods(self) -> tuple[str, ...]:
        """``lsvi-beta=<beta>`` for every beta, then ``uniform``."""
        return (*(method_name(b) for b in self.betas), "uniform")

    @property
    def run_name(self) -> str:
        """File stem naming the panels, budgets and seeds."""
        seeds = (
            f"{self.seeds[0]}-{self.seeds[-1]}"
            if len(self.seeds) > 1
            else str(self.seeds[0])
        )
        panels = "-".join(p.replace("-N", "") for p in self.panels)
        quick = "_quick" if self.quick else ""
        return (
            f"lsvi_optimism_{panels}_K{self.budgets[0]}-{self.budgets[-1]}"
            f"_seeds{seeds}{quick}"
        )


def method_name(beta: float) -> str:
    """The method key of LSVI-UCB-ZERO-BC with bonus scale ``beta``."""
    return f"lsvi-beta={beta:g}"


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--betas", type=float, nargs="+", default=None)
    parser.add_argument("--budgets", type=int, nargs="+", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--games", nargs="+", choices=GAMES, default=None)
    parser.add_argument("--chain-lengths", type=int, nargs="+", default=None)
    parser.add_argument("--ridge", type=float, default=Args.ridge)
    parser.add_argument("--horizon", type=int, default=Args.horizon)
    parser.add_argument("--expert", choices=EXPERTS, default=Args.expert)
    parser.add_argument("--out-dir", default=Args.out_dir)
    parser.add_argument(
        "--quick", action="store_true", help="budgets 10 50, seed 0, chain N=8"
    )
    ns = parser.parse_args(argv)
    budgets = tuple(sorted(set(ns.budgets or ((10, 50) if ns.quick else Args.budgets))))
    if min(budgets) < 1:
        parser.error(f"budgets must be positive, got {budgets}")
    betas = tuple(sorted(set(ns.betas or Args.betas)))
    if min(betas) < 0:
        parser.error(f"betas must be >= 0, got {betas}")
    lengths = tuple(
        sorted(set(ns.chain_lengths or ((8,) if ns.quick else Args.chain_lengths)))
    )
    if min(lengths) < 1:
        parser.error(f"chain lengths must be positive, got {lengths}")
    return Args(
        betas=betas,
        budgets=budgets,
        seeds=tuple(ns.seeds or ((0,) if ns.quick else Args.seeds)),
        games=tuple(ns.games or GAMES),
        chain_lengths=lengths,
        ridge=ns.ridge,
        horizon=ns.horizon,
        expert=ns.expert,
        out_dir=ns.out_dir,
        quick=ns.quick,
    )


@dataclass(frozen=True)
class Panel:
    """One game of the sweep: model, expert, horizon and chain facts."""

    name: str
    game: TabularMarkovGame
    expert: tuple[np.ndarray, ...]
    horizon: int
    chain_length: int | None
    uniform_guard_gain: float | None


def make_panel(name: str, args: Args) -> Panel:
    """Build the game, its exact expert and horizon of a panel."""
    length: int | None = None
    gain: float | None = None
    if name == "gridworld":
        game = make_gridworld_game(size=3, gamma=0.9, starts=PUBLISHED_STARTS)
        horizon = args.horizon
    else:
        length = int(name.removeprefix("chain-N"))
        game = make_chain_game(length, CHAIN_ACTIONS, seed=CHAIN_SEED)
        horizon = max(args.horizon, length + 2)
        layout = chain_layout(length, CHAIN_ACTIONS, seed=CHAIN_SEED)
        gain = exploit_gain(layout, 1.0 - 1.0 / CHAIN_ACTIONS, gamma=game.gamma)
    if args.expert == "mixed":
        expert = tuple(mixed_zero_sum_equilibrium(game).policies)
    else:
        expert = tuple(np.asarray(p) for p in solve_zero_sum(game).policies)
    return Panel(name, game, expert, horizon, length, gain)


def learn(
    panel: Panel, method: str, budget: int, seed: int, args: Args
) -> ImitationResult:
    """One run of LSVI-UCB-ZERO-BC (``lsvi-beta=...``) or uniform BC on a panel."""
    game = panel.game
    features = [tabular_features(game, i) for i in range(game.num_players)]
    problem = linear_problem(
        game,
        panel.expert,
        features,
        horizon=panel.horizon,
        game_id=f"mail/{panel.name.split('-')[0]}-v0",
        expert_name=f"nash-{args.expert}",
    )
    if method == "uniform":
        return model_bc(
            problem, explorer="uniform", num_episodes=budget, seed=seed, l2=args.l2
        )
    beta = float(method.removeprefix("lsvi-beta="))
    return LSVIUCBZeroBC(
        problem,
        num_episodes=budget,
        seed=seed,
        beta=beta,
        ridge=args.ridge,
        l2=args.l2,
    ).run()


def clipped_fraction(result: ImitationResult) -> float | None:
    """Share of all explorers' decisions with every legal Q at the cap (LSVI only)."""
    if "clipped_fraction" not in result.info:
        return None
    fractions = np.asarray(result.info["clipped_fraction"], dtype=float)
    decisions = np.asarray(result.info["explorer_decisions"], dtype=float)
    total = decisions.sum()
    return float((fractions * decisions).sum() / total) if total else 0.0


def run_record(
    panel: Panel, method: str, budget: int, seed: int, args: Args
) -> dict[str, Any]:
    """One run's numbers: NashConv, gains, clipped fraction, gate labels."""
    start = time.perf_counter()
    result = learn(panel, method, budget, seed, args)
    seconds = time.perf_counter() - start
    gap = nash_gap(panel.game, list(result.policies))
    return {
        "panel": panel.name,
        "method": method,
        "beta": None
        if method == "uniform"
        else float(method.removeprefix("lsvi-beta=")),
        "budget": budget,
        "seed": seed,
        "nash_conv": float(gap.nash_conv),
        "gains": [float(g) for g in gap.gains],
        "max_gain": float(gap.gains.max()),
        "clipped_fraction": clipped_fraction(result),
        "explorer_decisions": list(result.info.get("explorer_decisions", ())),
        "num_queries": list(result.num_queries),
        "distinct_states": list(result.distinct_states),
        # the guard decides only at the gate: its labels are gate labels
        "gate_labels": None
        if panel.chain_length is None
        else int(result.num_queries[0]),
        "seconds": seconds,
    }


def summarize(args: Args, runs: list[dict[str, Any]]) -> dict[str, dict[str, list]]:
    """Mean and min-max over seeds of every (panel, method, budget)."""
    summary: dict[str, dict[str, list]] = {}
    for panel in args.panels:
        summary[panel] = {}
        for method in args.methods:
            cells = []
            for budget in args.budgets:
                rows = [
                    r
                    for r in runs
                    if (r["panel"], r["method"], r["budget"]) == (panel, method, budget)
                ]
                gaps = np.array([r["nash_conv"] for r in rows])
                gains = np.array([r["max_gain"] for r in rows])
                clipped = [r["clipped_fraction"] for r in rows]
                cell: dict[str, Any] = {
                    "budget": budget,
                    "nash_conv_mean": float(gaps.mean()),
                    "nash_conv_min": float(gaps.min()),
                    "nash_conv_max": float(gaps.max()),
                    "max_gain_mean": float(gains.mean()),
                    "clipped_fraction_mean": None
                    if None in clipped
                    else float(np.mean(clipped)),
                }
                if rows[0]["gate_labels"] is not None:
                    cell["gate_reached_seeds"] = sum(r["gate_labels"] > 0 for r in rows)
                    cell["gate_labels_mean"] = float(
                        np.mean([r["gate_labels"] for r in rows])
                    )
                cells.append(cell)
            summary[panel][method] = cells
    return summary


def plot(args: Args, summary: dict[str, dict[str, list]], path: Path) -> Path:
    """Per panel: NashConv and clipped fraction against ``K``, one line per method."""
    import matplotlib.pyplot as plt

    panels = args.panels
    fig, axes = plt.subplots(
        2, len(panels), figsize=(4.8 * len(panels), 7), squeeze=False
    )
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(args.betas)))
    for col, panel in enumerate(panels):
        top, bottom = axes[0, col], axes[1, col]
        for method in args.methods:
            rows = summary[panel][method]
            x = [c["budget"] for c in rows]
            style: dict[str, Any] = (
                {"color": "tab:red", "linestyle": "--", "marker": "s"}
                if method == "uniform"
                else {
                    "color": colors[args.methods.index(method)],
                    "marker": "o",
                }
            )
            label = "uniform BC" if method == "uniform" else method.replace("lsvi-", "")
            top.plot(x, [c["nash_conv_mean"] for c in rows], label=label, **style)
            top.fill_between(
                x,
                [c["nash_conv_min"] for c in rows],
                [c["nash_conv_max"] for c in rows],
                color=style["color"],
                alpha=0.12,
            )
            if method != "uniform":
                bottom.plot(
                    x, [c["clipped_fraction_mean"] for c in rows], label=label, **style
                )
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.set_xticks(args.budgets, [str(b) for b in args.budgets])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
        top.set_title(panel)
        top.set_ylabel("NashConv")
        bottom.set_ylabel("decisions with all legal Q clipped at H")
        bottom.set_ylim(-0.03, 1.03)
        bottom.set_xlabel("episodes per learning player K")
        top.legend(fontsize=7)
    fig.suptitle(
        f"LSVI-UCB-ZERO-BC over beta (lambda={args.ridge:g}) vs uniform BC, "
        f"tabular features, seeds {list(args.seeds)}",
        fontsize=10,
    )
    fig.tight_layout()
    try:
        return atomic_savefig(fig, path, dpi=130)
    finally:
        plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"run {args.run_name}: betas {args.betas}, budgets {args.budgets}")

    panels = [make_panel(name, args) for name in args.panels]
    games = {}
    for p in panels:
        expert_gap = float(nash_gap(p.game, list(p.expert)).nash_conv)
        start = int(p.game.initial_distribution.argmax())
        games[p.name] = {
            "num_states": p.game.num_states,
            "num_actions": list(p.game.num_actions),
            "gamma": p.game.gamma,
            "horizon": p.horizon,
            "start": p.game.state_labels[start] if p.game.state_labels else str(start),
            "expert_nash_conv": expert_gap,
            "chain_length": p.chain_length,
            "uniform_guard_gain": p.uniform_guard_gain,
        }
        print(
            f"{p.name}: {p.game.num_states} states, H = {p.horizon}, expert "
            f"NashConv {expert_gap:.2e}"
            + (
                ""
                if p.uniform_guard_gain is None
                else f", gain against a uniform guard {p.uniform_guard_gain:.4f}"
            )
        )

    sweep_start = time.perf_counter()
    runs = [
        run_record(p, method, budget, seed, args)
        for p in panels
        for method in args.methods
        for budget in args.budgets
        for seed in args.seeds
    ]
    sweep_seconds = time.perf_counter() - sweep_start
    summary = summarize(args, runs)

    print(
        f"\nsummary (mean [min, max] over seeds {list(args.seeds)}), "
        f"{sweep_seconds:.0f} s"
    )
    for panel, by_method in summary.items():
        for method, cells in by_method.items():
            for c in cells:
                clip = c["clipped_fraction_mean"]
                extra = "" if clip is None else f"  clipped {clip:.3f}"
                if "gate_reached_seeds" in c:
                    extra += (
                        f"  gate reached {c['gate_reached_seeds']}/{len(args.seeds)}"
                    )
                print(
                    f"{panel:<10}{method:<15}K={c['budget']:<5}NashConv "
                    f"{c['nash_conv_mean']:.4f} [{c['nash_conv_min']:.4f}, "
                    f"{c['nash_conv_max']:.4f}]  max gain {c['max_gain_mean']:.4f}"
                    + extra
                )

    payload = {
        "experiment": "LSVI-UCB-ZERO-BC optimism: beta sweep vs uniform BC",
        "config": dataclasses.asdict(args) | {"run_name": args.run_name},
        "games": games,
        "versions": {
            "mail_gym": mail_envs.__version__,
            "numpy": np.__version__,
            "torch": torch.__version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "sweep_seconds": sweep_seconds,
        "summary": summary,
        "runs": runs,
    }
    json_path = out_dir / f"{args.run_name}.json"
    atomic_write_text(json_path, json.dumps(payload, indent=2))
    png_path = plot(args, summary, out_dir / f"{args.run_name}.png")
    print(f"wrote {json_path} and {png_path}")


if __name__ == "__main__":
    main()
