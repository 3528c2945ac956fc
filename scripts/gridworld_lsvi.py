"""Gridworld, figures 1a and 1b: BC and LSVI-UCB-ZERO-BC, NashConv against episodes K.

Reproduces the linear-features Gridworld experiment of Viano, Freihaut et al.,
"Multi-agent imitation learning with function approximation: linear Markov
games and beyond": the exact NashConv of the learned profile as a function of
the number of episodes ``K`` per learning player, for

* LSVI-UCB-ZERO-BC with tabular (one-hot) and with relational features
  (``agents.linear.features``), paper defaults ``beta = 10``, ``lambda = 0.1``,
  ``H = 10``;
* uniform-exploration BC (the explorer plays uniformly at random);
* BC on expert self-play data (the offline baseline),

each with the softmax-linear BC policy over the same feature map, mean and
min-max spread over seeds. The expert is the exact Nash equilibrium of the
discounted game (``gamma = 0.9``); NashConv is exact (``mail_envs.solvers``).
Episodes are sampled on the game's model.

Figure 1a (``--figure 1a``) is BC on expert self-play data alone, with the
three feature maps: tabular, relational and the learned deep-linear map
(``agents.linear.features.fit_deep_linear_features``: an MLP fitted by BC to the
expert's policy table on all states, so the map encodes the expert itself).

Run (from the repository root):

    python scripts/gridworld_lsvi.py                # figure 1b: 6 budgets x 5 seeds
    python scripts/gridworld_lsvi.py --figure 1a    # figure 1a
    python scripts/gridworld_lsvi.py --quick        # smoke run, seconds

Writes ``<out-dir>/<run name>.json`` (config, every number, per seed) and
``<out-dir>/<run name>.png`` (the figure).
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

os.environ.setdefault("MPLBACKEND", "Agg")

import mail_envs
from agents.linear.baselines import model_bc
from agents.linear.features import (
    fit_deep_linear_features,
    relational_features,
    tabular_features,
)
from agents.linear.lsvi_ucb_zero import LSVIUCBZeroBC
from agents.linear.problem import linear_problem
from mail_envs.files import atomic_savefig, atomic_write_text
from mail_envs.gridworld import make_gridworld_game
from mail_envs.solvers import nash_gap, solve_zero_sum


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
        return f"gridworld{self.size}_fig{self.figure}_{budgets}_seeds{seeds}{quick}"


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
        "--quick", action="store_true", help="budgets 5 20 50, seeds 0 1"
    )
    parser.add_argument(
        "--figure",
        choices=("1a", "1b"),
        default="1b",
        help="1a: BC with three feature maps; 1b: LSVI-UCB-ZERO-BC vs baselines",
    )
    ns = parser.parse_args(argv)
    if ns.figure == "1a":
        preset = {
            "features": ("tabular", "relational", "deep-linear"),
            "methods": ("bc",),
        }
    else:
        preset = {}
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
        **preset,
    )


def main() -> None:
    args = parse_args()
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"run {args.run_name}: budgets {args.budgets}, seeds {args.seeds}")

    # ---- the game, its exact expert, the feature maps
    game = make_gridworld_game(size=args.size, gamma=args.gamma)
    start = time.perf_counter()
    equilibrium = solve_zero_sum(game)
    expert = tuple(np.asarray(p) for p in equilibrium.policies)
    expert_gap = nash_gap(game, list(expert)).nash_conv
    print(
        f"expert: {game.num_states} states, solved in {time.perf_counter() - start:.2f} s, "
        f"value {equilibrium.value[0]:+.4f}, NashConv {expert_gap:.2e}"
    )

    def deep_linear(game, player):
        return fit_deep_linear_features(
            game, player, expert[player], rng=player, device="cpu"
        ).features

    feature_maps = {
        "tabular": tabular_features,
        "relational": relational_features,
        "deep-linear": deep_linear,
    }
    features = {
        name: [feature_maps[name](game, i) for i in range(game.num_players)]
        for name in args.features
    }

    def learn(method: str, feats: list[np.ndarray], budget: int, seed: int):
        """One run of ``method`` on the model with the feature map ``feats``.

        Not through the pipeline: its Gridworld has the tabular features and the
        default horizon and ridge only.
        """
        problem = linear_problem(
            game,
            expert,
            feats,
            horizon=args.horizon,
            game_id="mail/gridworld-v0",
            expert_name="nash",
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
    for feature_name, feats in features.items():
        for method in args.methods:
            for budget in args.budgets:
                gaps, seconds, queries, states = [], [], [], []
                for seed in args.seeds:
                    start = time.perf_counter()
                    result = learn(method, feats, budget, seed)
                    seconds.append(time.perf_counter() - start)
                    gaps.append(nash_gap(game, list(result.policies)).nash_conv)
                    queries.append(sum(result.num_queries))
                    states.append(list(result.distinct_states))
                g = np.array(gaps)
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
                        "expert_queries": queries,
                        "labelled_states_per_player": states,
                        "seconds": seconds,
                    }
                )
                print(
                    f"{feature_name:>10} {method:>16} K={budget:>4}: NashConv "
                    f"{g.mean():.4f} ± {g.std():.4f} (min {g.min():.4f}, max "
                    f"{g.max():.4f}), {np.mean(seconds):.2f} s/run"
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
            "expert_value": float(equilibrium.value[0]),
            "expert_nash_conv": float(expert_gap),
        },
        "versions": {
            "mail_gym": mail_envs.__version__,
            "numpy": np.__version__,
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
        "deep-linear": "tab:green",
    }
    fig, ax = plt.subplots(figsize=(8.6, 4.4))
    for feature_name in args.features:
        for method in args.methods:
            rows = [
                r
                for r in records
                if r["features"] == feature_name and r["method"] == method
            ]
            k = [r["episodes"] for r in rows]
            mean = np.array([r["nash_conv_mean"] for r in rows])
            ax.plot(
                k,
                mean,
                styles[method],
                marker="o",
                ms=3,
                color=colors[feature_name],
                label=f"{labels[method]}, {feature_name}",
            )
            ax.fill_between(
                k,
                [r["nash_conv_min"] for r in rows],
                [r["nash_conv_max"] for r in rows],
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
    ax.set_ylabel("NashConv of the learned profile")
    ax.set_title(
        f"Gridworld {args.size}x{args.size}: mean, min-max over seeds {list(args.seeds)}",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    png_path = out_dir / f"{args.run_name}.png"
    atomic_savefig(fig, png_path, dpi=150)
    print(f"wrote {json_path} and {png_path}")


if __name__ == "__main__":
    main()
