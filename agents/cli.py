"""The ``mail-gym`` command line: list the games, solve one, run the main job.

Example:
    $ mail-gym list
    $ mail-gym solve gridworld --size 5
    $ mail-gym run --budgets 50 200 --seeds 0
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from mail_envs.core import TabularMarkovGame

__all__ = ["main"]


def _tabular_factories() -> dict[str, Callable[..., TabularMarkovGame]]:
    """Games whose model can be enumerated, by short name (imported lazily)."""
    from mail_envs.chain import make_chain_game
    from mail_envs.gridworld import make_gridworld_game
    from mail_envs.random_games import make_random_zero_sum_game
    from mail_envs.tictactoe import make_tictactoe_game

    return {
        "gridworld": make_gridworld_game,
        "chain": make_chain_game,
        "random-zero-sum": make_random_zero_sum_game,
        "tictactoe": make_tictactoe_game,
    }


def _cmd_list(args: argparse.Namespace) -> int:
    import gymnasium

    from mail_envs.registration import GAMES

    width = max(len(g.id) for g in GAMES)
    print(f"{'PettingZoo id'.ljust(width)}  views         description")
    for game in GAMES:
        views = "aec+parallel" if game.parallel else "aec"
        print(f"{game.id.ljust(width)}  {views.ljust(12)}  {game.description}")
    gym_ids = sorted(k for k in gymnasium.registry if k.startswith("mail_envs/"))
    if gym_ids:
        print("\nGymnasium single-agent views (gymnasium.make):")
        for env_id in gym_ids:
            print(f"  {env_id}")
    return 0


def _game_kwargs(args: argparse.Namespace) -> dict[str, object]:
    kwargs: dict[str, object] = {}
    if args.game == "gridworld":
        kwargs["size"] = args.size
    if args.game == "chain" and args.length is not None:
        kwargs["length"] = args.length
    if args.game in ("random-zero-sum", "chain") and args.seed is not None:
        kwargs["seed"] = args.seed
    if args.gamma is not None:
        kwargs["gamma"] = args.gamma
    return kwargs


def _cmd_solve(args: argparse.Namespace) -> int:
    from mail_envs.solvers import nash_gap, solve_zero_sum

    factories = _tabular_factories()
    game = factories[args.game](**_game_kwargs(args))
    start = time.perf_counter()
    equilibrium = solve_zero_sum(game)
    solve_time = time.perf_counter() - start
    gap = nash_gap(game, equilibrium.policies)
    objective = (
        f"gamma={game.gamma:g}"
        if game.horizon is None
        else f"horizon={game.horizon}, gamma={game.gamma:g}"
    )
    print(
        f"game: {args.game} ({game.num_states} states, actions {game.num_actions}, {objective})"
    )
    print(f"solved in {solve_time:.3f} s")
    for name, value in zip(game.player_names, gap.values, strict=True):
        print(f"equilibrium value of {name} at the start: {value:+.9f}")
    print(f"NashConv of the equilibrium: {gap.nash_conv:.3e}")
    return 0


def _default_workers() -> int:
    """Worker processes of ``mail-gym run``: the usable CPUs, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def _cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from agents.pipeline import Pipeline

    torch.set_num_threads(args.threads)
    pipeline = Pipeline(
        game=args.game,
        methods=args.algos,
        budgets=args.budgets,
        seeds=args.seeds,
        device=args.device,
        augment=args.augment,
        progress=not args.no_progress,
        workers=args.workers,
        threads=args.threads,
    )
    print(
        f"mail-gym run: {args.game}, methods {list(pipeline.methods)}, budgets "
        f"{list(pipeline.budgets)}, seeds {list(pipeline.seeds)}, device {args.device}, "
        f"{args.workers} worker{'s' if args.workers > 1 else ''}"
        + (", BC on the 8 board symmetries of each label" if pipeline.augment else "")
    )
    start = time.perf_counter()
    result = pipeline.run()
    out = Path(args.out)
    json_path = result.to_json(out / "results.json")
    png_path = result.plot(out / "nashconv.png")
    print("\nexact NashConv of the learned profiles (mean [min,max] over seeds):")
    print(result.table())
    print("\ndistinct labelled states per player (mean over seeds and players):")
    print(result.coverage_table())
    print(f"\nwrote {json_path} and {png_path} in {time.perf_counter() - start:.0f} s")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mail-gym",
        description="Multi-agent imitation learning in Markov games.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_list = sub.add_parser("list", help="print the registered games")
    p_list.set_defaults(func=_cmd_list)

    p_solve = sub.add_parser(
        "solve", help="solve a tabular zero-sum game exactly and print its value"
    )
    p_solve.add_argument(
        "game", choices=["gridworld", "chain", "random-zero-sum", "tictactoe"]
    )
    p_solve.add_argument("--size", type=int, default=3, help="gridworld side length")
    p_solve.add_argument("--length", type=int, default=None, help="chain length")
    p_solve.add_argument("--seed", type=int, default=None, help="game seed")
    p_solve.add_argument("--gamma", type=float, default=None, help="discount factor")
    p_solve.set_defaults(func=_cmd_solve)

    from agents.pipeline import GAME_METHODS

    p_run = sub.add_parser(
        "run",
        help="the main job: interactive MAIL vs BC, exact Nash gaps, a plot",
        description="Run imitation methods over budgets of expert-labelled games "
        "and print the exact NashConv of every learned profile. Methods: "
        + "; ".join(f"{g}: {', '.join(m)}" for g, m in GAME_METHODS.items()),
    )
    p_run.add_argument("--game", choices=sorted(GAME_METHODS), default="tictactoe")
    p_run.add_argument(
        "--algos", nargs="+", default=None, help="methods (default: all of the game's)"
    )
    p_run.add_argument(
        "--budgets",
        nargs="+",
        type=int,
        default=[100, 300, 1000],
        help="expert-labelled games (episodes) per learning player",
    )
    p_run.add_argument("--seeds", nargs="+", type=int, default=[0])
    p_run.add_argument(
        "--device", default="auto", help="torch device (auto: CUDA if present)"
    )
    p_run.add_argument("--out", default="runs/mail-gym-run", help="output folder")
    p_run.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Tic-Tac-Toe: clone on the 8 board symmetries of each label",
    )
    p_run.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (1 is fastest for these small networks)",
    )
    p_run.add_argument(
        "--workers",
        type=int,
        default=_default_workers(),
        help="processes running the (method, budget, seed) runs in parallel; the "
        "results do not depend on it (default: the CPU count, at most 4)",
    )
    p_run.add_argument("--no-progress", action="store_true", help="no progress bar")
    p_run.set_defaults(func=_cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mail-gym`` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:
        print(f"mail-gym: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
