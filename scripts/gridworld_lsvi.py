"""Gridworld, figures 1a and 1b: BC and LSVI-UCB-ZERO-BC, NashConv against episodes K.

Reproduces the linear-features Gridworld experiment of Viano, Freihaut et al.,
"Multi-agent imitation learning with function approximation: linear Markov
games and beyond" (Section 5, Appendix I.1): the exact NashConv of the learned
profile and the published metric, the larger of the two players' gains
(``max_gain``), as functions of the number of episodes ``K`` per learning
player, for

* LSVI-UCB-ZERO-BC, paper defaults ``beta = 10``, ``lambda = 0.1``, ``H = 10``;
* uniform-exploration BC (the explorer plays uniformly at random);
* BC on expert self-play data (the offline baseline),

each with the softmax-linear BC policy over a feature map
(``agents.linear.features``, ``--features``): ``tabular`` (one-hot, d = 288),
``relational`` (ours, d = 47, with the action's effect), ``paper-relational``
(the paper's 20 state concepts tiled over the actions, d = 80, with the
published code's sector rule) and ``deep-linear`` (figure 1a only: the paper's
layer-norm linear network on the board, trained by BC on each run's dataset
alone, ``agents.linear.deep_linear_bc``). Mean and min-max spread over seeds.

The game (``--start``): ``published`` (default) is the published code's 3x3
start, player_0 at (1, 0) and player_1 at (2, 1), goal (0, 2), three moves
each; ``corners`` puts player_0 bottom-right and player_1 top-left. The expert
(``--expert``) is an exact Nash equilibrium of the discounted game
(``gamma = 0.9``): ``mixed`` (default of figure 1a, as in the paper: the
average of the game's pure equilibria, ``mail_envs.solvers.mixed``) or
``deterministic`` (default of figure 1b: the solver's). NashConv is exact
(``mail_envs.solvers``); episodes are sampled on the game's model.

Figure 1a (``--figure 1a``) is BC on expert self-play data alone with the
tabular, paper-relational and deep-linear maps; figure 1b (default) compares
the three methods with the tabular and relational maps.

Run (from the repository root):

    python scripts/gridworld_lsvi.py                # figure 1b: 6 budgets x 5 seeds
    python scripts/gridworld_lsvi.py --figure 1a    # figure 1a
    python scripts/gridworld_lsvi.py --start corners --expert mixed
    python scripts/gridworld_lsvi.py --quick        # smoke run, seconds

Writes ``<out-dir>/<run name>.json`` (config, every number, per seed) and
``<out-dir>/<run name>.png`` (NashConv and max gain panels); the run name
holds the figure, start, expert, budgets and seeds.
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
from agents.linear.baselines import model_bc
from agents.linear.deep_linear_bc import deep_linear_bc
from agents.linear.features import (
    gridworld_board_observations,
    paper_relational_features,
    relational_features,
    tabular_features,
)
from agents.linear.lsvi_ucb_zero import LSVIUCBZeroBC
from agents.linear.problem import linear_problem
from mail_envs.files import atomic_savefig, atomic_write_text
from mail_envs.gridworld import PUBLISHED_STARTS, make_gridworld_game
from mail_envs.solvers import nash_gap, solve_zero_sum
from mail_envs.solvers.mixed import mixed_zero_sum_equilibrium

#: Start cells of ``--start``: the published code's, and the two far corners.
STARTS = {"published": PUBLISHED_STARTS, "corners": None}
FEATURES = ("tabular", "relational", "paper-relational", "deep-linear")


@dataclass(frozen=True)
class Args:
    """The whole configuration of one run."""

    size: int = 3
    gamma: float = 0.9
    budgets: tuple[int, ...] = (5, 10, 20, 50, 100, 200)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    beta: float = 10.0
    ridge: float = 0.1
    horizon: int = 10
    l2: float = 1e-4
    features: tuple[str, ...] = ("tabular", "relational")
    start: str = "published"
    expert: str = "deterministic"
    deep_epochs: int = 500
    methods: tuple[str, ...] = (
        "lsvi-ucb-zero",
        "uniform",
        "bc",
    )  # bc: expert self-play
    out_dir: str = "results/gridworld_lsvi"
    quick: bool = False
    figure: str = "1b"

    @property
    def run_name(self) -> str:
        """File stem naming the game, budgets and seeds."""
        seeds = (
            f"{self.seeds[0]}-{self.seeds[-1]}"
            if len(self.seeds) > 1
            else str(self.seeds[0])
        )
        budgets = f"K{self.budgets[0]}-{self.budgets[-1]}"
        quick = "_quick" if self.quick else ""
        return (
            f"gridworld{self.size}_fig{self.figure}_{self.start}_{self.expert}_"
            f"{budgets}_seeds{seeds}{quick}"
        )


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=Args.size)
    parser.add_argument("--budgets", type=int, nargs="+", default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--beta", type=float, default=Args.beta)
    parser.add_argument("--ridge", type=float, default=Args.ridge)
    parser.add_argument("--horizon", type=int, default=Args.horizon)
    parser.add_argument("--l2", type=float, default=Args.l2)
    parser.add_argument("--out-dir", default=Args.out_dir)
    parser.add_argument(
        "--start",
        choices=tuple(STARTS),
        default=Args.start,
        help="published: player_0 (1,0), player_1 (2,1) as in the published code; "
        "corners: player_0 bottom-right, player_1 top-left",
    )
    parser.add_argument(
        "--features",
        choices=FEATURES,
        nargs="+",
        default=None,
        help="feature maps (default: tabular relational; figure 1a: tabular "
        "paper-relational deep-linear)",
    )
    parser.add_argument(
        "--expert",
        choices=("mixed", "deterministic"),
        default=None,
        help="mixed: the average of the pure equilibria; deterministic: the "
        "solver's (default: mixed for figure 1a, deterministic for 1b)",
    )
    parser.add_argument(
        "--deep-epochs",
        type=int,
        default=Args.deep_epochs,
        help="BC epochs of the deep-linear network",
    )
    parser.add_argument(
        "--quick", action="store_true", help="budgets 5 20 50, seeds 0 1"
    )
    parser.add_argument(
        "--figure",
        choices=("1a", "1b"),
        default="1b",
        help="1a: BC with three feature maps; 1b: LSVI-UCB-ZERO-BC vs baselines",
    )
    ns = parser.parse_args(argv)
    preset: dict[str, Any] = {}
    if ns.figure == "1a":
        preset = {
            "features": ("tabular", "paper-relational", "deep-linear"),
            "methods": ("bc",),
        }
    if ns.features:
        preset["features"] = tuple(ns.features)
    if "deep-linear" in preset.get("features", ()) and preset.get("methods") != ("bc",):
        parser.error("deep-linear features are learned by BC: use --figure 1a")
    expert = ns.expert or ("mixed" if ns.figure == "1a" else "deterministic")
    budgets = ns.budgets or ((5, 20, 50) if ns.quick else Args.budgets)
    seeds = ns.seeds or ((0, 1) if ns.quick else Args.seeds)
    return Args(
        size=ns.size,
        budgets=tuple(sorted(budgets)),
        seeds=tuple(seeds),
        beta=ns.beta,
        ridge=ns.ridge,
        horizon=ns.horizon,
        l2=ns.l2,
        out_dir=ns.out_dir,
        quick=ns.quick,
        figure=ns.figure,
        start=ns.start,
        expert=expert,
        deep_epochs=ns.deep_epochs,
        **preset,
    )


def main() -> None:
    args = parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"run {args.run_name}: budgets {args.budgets}, seeds {args.seeds}")

    # ---- the game, its exact expert, the feature maps
    torch.set_num_threads(1)
    game = make_gridworld_game(
        size=args.size, gamma=args.gamma, starts=STARTS[args.start]
    )
    start = time.perf_counter()
    equilibrium = solve_zero_sum(game)
    expert: tuple[np.ndarray, ...]
    if args.expert == "mixed":
        expert = mixed_zero_sum_equilibrium(game).policies
    else:
        expert = tuple(np.asarray(p) for p in equilibrium.policies)
    expert_gap = nash_gap(game, list(expert)).nash_conv
    mixed_states = [int((p.max(axis=1) < 1.0).sum()) for p in expert]
    print(
        f"{args.expert} expert from the {args.start} start "
        f"{game.state_labels[int(game.initial_distribution.argmax())]}: "
        f"{game.num_states} states, solved in {time.perf_counter() - start:.2f} s, "
        f"value {equilibrium.value[0]:+.4f}, NashConv {expert_gap:.2e}, "
        f"mixed in {mixed_states} states"
    )

    feature_maps = {
        "tabular": tabular_features,
        "relational": relational_features,
        "paper-relational": paper_relational_features,
        # learned per run from that run's BC data (deep_linear_bc); the
        # problem only needs some valid map
        "deep-linear": tabular_features,
    }
    features = {
        name: [feature_maps[name](game, i) for i in range(game.num_players)]
        for name in args.features
    }
    board = gridworld_board_observations(game)

    def learn(feature_name: str, method: str, budget: int, seed: int):
        """One run of ``method`` on the model with the named feature map.

        Not through the pipeline: its Gridworld has the tabular features and the
        default horizon and ridge only.
        """
        problem = linear_problem(
            game,
            expert,
            features[feature_name],
            horizon=args.horizon,
            game_id="mail/gridworld-v0",
            expert_name=f"nash-{args.expert}",
        )
        if feature_name == "deep-linear":
            return deep_linear_bc(
                problem,
                num_episodes=budget,
                seed=seed,
                observations=board,
                trainer_kwargs={"max_epochs": args.deep_epochs},
            )
        if method == "lsvi-ucb-zero":
            return LSVIUCBZeroBC(
                problem,
                num_episodes=budget,
                seed=seed,
                beta=args.beta,
                ridge=args.ridge,
                l2=args.l2,
            ).run()
        return model_bc(
            problem,
            explorer="uniform" if method == "uniform" else "expert",
            num_episodes=budget,
            seed=seed,
            l2=args.l2,
        )

    # ---- the sweep
    records = []
    for feature_name in args.features:
        for method in args.methods:
            for budget in args.budgets:
                gaps, max_gains, seconds, queries, states = [], [], [], [], []
                for seed in args.seeds:
                    start = time.perf_counter()
                    result = learn(feature_name, method, budget, seed)
                    seconds.append(time.perf_counter() - start)
                    gap = nash_gap(game, list(result.policies))
                    gaps.append(gap.nash_conv)
                    max_gains.append(float(gap.gains.max()))
                    queries.append(sum(result.num_queries))
                    states.append(list(result.distinct_states))
                g, m = np.array(gaps), np.array(max_gains)
                records.append(
                    {
                        "features": feature_name,
                        "method": method,
                        "episodes": budget,
                        "seeds": list(args.seeds),
                        "nash_conv": gaps,
                        "nash_conv_mean": float(g.mean()),
                        "nash_conv_std": float(g.std()),
                        "nash_conv_min": float(g.min()),
                        "nash_conv_max": float(g.max()),
                        # the published metric: the larger of the two gains
                        "max_gain": max_gains,
                        "max_gain_mean": float(m.mean()),
                        "max_gain_std": float(m.std()),
                        "max_gain_min": float(m.min()),
                        "max_gain_max": float(m.max()),
                        "expert_queries": queries,
                        "labelled_states_per_player": states,
                        "seconds": seconds,
                    }
                )
                print(
                    f"{feature_name:>16} {method:>13} K={budget:>4}: NashConv "
                    f"{g.mean():.4f} ± {g.std():.4f} (min {g.min():.4f}, max "
                    f"{g.max():.4f}), max gain {m.mean():.4f} ± {m.std():.4f}, "
                    f"{np.mean(seconds):.2f} s/run"
                )

    # ---- results: JSON and figure
    payload = {
        "experiment": f"gridworld figure {args.figure}",
        "config": dataclasses.asdict(args) | {"run_name": args.run_name},
        "game": {
            "name": game.name,
            "num_states": game.num_states,
            "num_actions": list(game.num_actions),
            "gamma": game.gamma,
            "start": game.state_labels[int(game.initial_distribution.argmax())],
            "expert": args.expert,
            "expert_value": float(equilibrium.value[0]),
            "expert_nash_conv": float(expert_gap),
            "expert_mixed_states": mixed_states,
        },
        "versions": {
            "mail_gym": mail_envs.__version__,
            "numpy": np.__version__,
            "torch": torch.__version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "results": records,
    }
    json_path = out_dir / f"{args.run_name}.json"
    atomic_write_text(json_path, json.dumps(payload, indent=2))

    import matplotlib.pyplot as plt

    styles = {"lsvi-ucb-zero": "-", "uniform": "--", "bc": ":"}
    labels = {
        "lsvi-ucb-zero": "LSVI-UCB-ZERO-BC",
        "uniform": "uniform-exploration BC",
        "bc": "BC (expert self-play)",
    }
    colors = {
        "tabular": "tab:blue",
        "relational": "tab:orange",
        "paper-relational": "tab:red",
        "deep-linear": "tab:green",
    }
    fig, axes = plt.subplots(1, 2, figsize=(12.8, 4.4), sharey=True)
    metrics = {
        "nash_conv": "NashConv (sum of the gains)",
        "max_gain": "max gain (published metric)",
    }
    for ax, (metric, ylabel) in zip(axes, metrics.items(), strict=True):
        for feature_name in args.features:
            for method in args.methods:
                rows = [
                    r
                    for r in records
                    if r["features"] == feature_name and r["method"] == method
                ]
                k = [r["episodes"] for r in rows]
                ax.plot(
                    k,
                    [r[f"{metric}_mean"] for r in rows],
                    styles[method],
                    marker="o",
                    ms=3,
                    color=colors[feature_name],
                    label=f"{labels[method]}, {feature_name}",
                )
                ax.fill_between(
                    k,
                    [r[f"{metric}_min"] for r in rows],
                    [r[f"{metric}_max"] for r in rows],
                    color=colors[feature_name],
                    alpha=0.12,
                    lw=0,
                )
        ax.set_xscale("log")
        ax.set_xticks(list(args.budgets), [str(k) for k in args.budgets])
        ax.minorticks_off()
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("episodes K per learning player")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, which="both")
    fig.suptitle(
        f"Gridworld {args.size}x{args.size}, {args.start} start, {args.expert} "
        f"expert: mean, min-max over seeds {list(args.seeds)}",
        fontsize=10,
    )
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    png_path = out_dir / f"{args.run_name}.png"
    atomic_savefig(fig, png_path, dpi=150)
    print(f"wrote {json_path} and {png_path}")


if __name__ == "__main__":
    main()
