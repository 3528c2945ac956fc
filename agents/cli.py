"""The ``mail-gym`` command line: list the games, solve one, run the main job.

``mail-gym run`` stops cleanly on SIGINT (Ctrl-C) and SIGTERM (``kill``,
``timeout``, ``docker stop``, batch schedulers): the queued runs are
cancelled, the worker processes terminated, the finished runs stay recorded
under ``<out>/records`` (``--resume`` runs the rest), and it exits with
128 + the signal number (130, 143). Killed outright (SIGKILL), its workers
exit too.

Every run logs its learning (SB3 logger CSV under ``<out>/logs/<run>``;
TensorBoard with ``--tensorboard DIR``); ``--save-policies`` keeps every
learned profile; ``--executor ray`` runs the sweep on Ray (a local instance,
or the cluster at ``RAY_ADDRESS``); several games after ``--game`` run one sweep each.

Example:
    $ mail-gym list
    $ mail-gym solve gridworld --size 5
    $ mail-gym run --budgets 50 200 --seeds 0
    $ mail-gym run --game tictactoe gridworld chain --seeds 0 1 2 3 4 --executor ray
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from pathlib import Path
from types import FrameType

import gymnasium
import torch

import mail_envs
from agents.common import resolve_device
from agents.methods import METHODS
from agents.pipeline import GAME_SPECS, Pipeline, PipelineResult
from agents.pipeline.executors import RayExecutor, executor_names, ray_available
from agents.pipeline.runner import SweepFailedError
from mail_envs.registration import GAMES
from mail_envs.solvers import nash_gap

__all__ = ["main"]


def _cmd_list(args: argparse.Namespace) -> int:
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


#: CLI flags of the games' options (``--size`` -> ``size``).
_OPTION_FLAGS = (
    "size",
    "length",
    "num_players",
    "game_seed",
    "eval_games",
    "policy_class",
    "observation",
    "start",
    "episode_length",
)


def _game_options(args: argparse.Namespace) -> dict[str, object]:
    """The game options given on the command line (refused by games they don't fit)."""
    return {k: getattr(args, k) for k in _OPTION_FLAGS if getattr(args, k) is not None}


def _cmd_solve(args: argparse.Namespace) -> int:
    spec = GAME_SPECS[args.game]
    start = time.perf_counter()
    problem = spec.problem(_game_options(args))
    solve_time = time.perf_counter() - start
    game = problem.model
    if game is None:
        raise ValueError(f"game {args.game!r} has no model to solve")
    gap = nash_gap(game, list(problem.experts))
    objective = (
        f"gamma={game.gamma:g}"
        if game.horizon is None
        else f"horizon={game.horizon}, gamma={game.gamma:g}"
    )
    print(
        f"game: {args.game} ({game.num_states} states, actions {game.num_actions}, "
        f"{objective}); expert: {problem.expert_name}"
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


def _game_options_for(game: str, args: argparse.Namespace) -> dict[str, object]:
    """The given game options that ``game`` takes (several games: each its own)."""
    options = _game_options(args)
    if len(args.game) == 1:
        return options  # the game refuses an option it does not take
    taken = GAME_SPECS[game].options
    return {k: v for k, v in options.items() if k in taken}


def _check_game_options(args: argparse.Namespace) -> None:
    """With several games, an option none of them takes is refused."""
    if len(args.game) == 1:
        return
    for key in _game_options(args):
        if not any(key in GAME_SPECS[g].options for g in args.game):
            flag = "--" + key.replace("_", "-")
            raise ValueError(f"{flag} applies to none of the games {args.game}")


def _make_executor(args: argparse.Namespace) -> Executor | None:
    """The ``--executor``: None for the local pool, else a started RayExecutor."""
    if args.executor == "local":
        return None
    device = resolve_device(args.device)
    return RayExecutor(
        num_cpus=args.threads,
        num_gpus=args.gpus_per_run if device.type == "cuda" else 0,
        local_cpus=args.workers,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    if len(set(args.game)) != len(args.game):
        raise ValueError(f"--game names a game twice: {args.game}")
    _check_game_options(args)
    if args.executor == "ray" and not ray_available():
        raise ValueError(
            "--executor ray needs Ray, which is not installed: pip install 'mail-gym[ray]'"
        )
    if not 0 < args.gpus_per_run <= 1:
        raise ValueError(f"--gpus-per-run must be in (0, 1], got {args.gpus_per_run}")
    sweeps: list[tuple[Pipeline, Path]] = []
    for game in args.game:
        pipeline = Pipeline(
            game=game,
            methods=args.algos,
            budgets=args.budgets,
            seeds=args.seeds,
            game_options=_game_options_for(game, args),
            device=args.device,
            augment=args.augment,
            progress=not args.no_progress,
            workers=args.workers,
            threads=args.threads,
            tensorboard=args.tensorboard,
            save_policies=args.save_policies,
        )
        if len(args.game) == 1:
            out = Path(args.out or f"runs/{game}")
        else:
            out = Path(args.out or "runs") / game
        sweeps.append((pipeline, out))
    for pipeline, out in sweeps:  # every folder is checked before any work
        _writable_folder(out)
        held = _held_results(out)
        if held and not (args.resume or args.overwrite):
            raise ValueError(
                f"--out {str(out)!r} already holds results ({', '.join(held)}); pass "
                "--resume to continue that sweep or --overwrite to replace it"
            )
        if args.resume:
            pipeline.load_records(out)  # a foreign record is named now
    executor = None
    current = sweeps[0]
    try:
        with _interrupt_on_signals():
            executor = _make_executor(args)
        # Again: starting Ray installs its own SIGINT/SIGTERM handlers.
        with _interrupt_on_signals():
            code = 0
            for current in sweeps:
                pipeline, out = current
                if executor is not None:
                    pipeline.executor = executor
                code = max(code, _run_sweep(pipeline, args, out))
            return code
    except _Interrupted as exc:
        with _ignoring_signals():  # a second Ctrl-C does not cut the cleanup short
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
                executor = None
            return _report_interruption(exc.signum, *current)
    finally:
        if executor is not None:
            executor.shutdown(wait=True)


def _run_sweep(pipeline: Pipeline, args: argparse.Namespace, out: Path) -> int:
    """Run the sweep of ``mail-gym run`` into ``out``; print and write its results."""
    done = pipeline.load_records(out) if args.resume else {}
    torch.set_num_threads(pipeline.threads or 1)
    where = (
        f"Ray executor, {args.threads} CPU{'s' if args.threads > 1 else ''} per run"
        if pipeline.executor is not None
        else f"{args.workers} worker{'s' if args.workers > 1 else ''}"
    )
    print(
        f"mail-gym run: {pipeline.game}, methods {list(pipeline.methods)}, budgets "
        f"{list(pipeline.budgets)}, seeds {list(pipeline.seeds)}, device {args.device}, "
        f"{where}"
        + (", BC on the 8 board symmetries of each label" if pipeline.augment else "")
    )
    if args.resume:
        print(
            f"resuming {out}: {len(done)} of {len(pipeline.jobs())} runs already "
            "recorded, running the rest"
        )
    if args.overwrite:
        for name in _RESULT_FILES:
            (out / name).unlink(missing_ok=True)
    start = time.perf_counter()
    try:
        result = pipeline.run(out, resume=args.resume, overwrite=args.overwrite)
    except SweepFailedError as exc:
        if exc.result.records:
            _report(exc.result, out, start)
        print(
            f"mail-gym: error: {' '.join(str(exc).split())}; records in {out / 'records'}, rerun with "
            "--resume to retry the failed runs",
            file=sys.stderr,
        )
        return 1
    _report(result, out, start)
    return 0


class _Interrupted(BaseException):
    """SIGINT or SIGTERM reached ``mail-gym run`` (a BaseException, like
    KeyboardInterrupt, so that nothing on the way catches it as an error)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


#: The signals that interrupt ``mail-gym run``.
_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _interrupt_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`_Interrupted`.

    The first one raises; the ones after it are ignored while the sweep
    unwinds (terminating its workers). The previous handlers come back at the
    end. Outside the main thread (where Python cannot set handlers) nothing
    changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if received:
            return
        received.append(signum)
        raise _Interrupted(signum)

    previous = {s: signal.signal(s, interrupt) for s in _INTERRUPTS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def _ignoring_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM are ignored (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in _INTERRUPTS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _report_interruption(signum: int, pipeline: Pipeline, out: Path) -> int:
    """Say how much of the interrupted sweep is recorded; returns 128 + ``signum``."""
    try:
        recorded = len(pipeline.load_records(out))
    except ValueError:  # a foreign file: --resume will name it
        folder = out / "records"
        recorded = len(list(folder.glob("*.json"))) if folder.is_dir() else 0
    print(
        f"mail-gym: interrupted by {signal.Signals(signum).name}; {recorded} of "
        f"{len(pipeline.jobs())} runs recorded under {out / 'records'} (rerun with "
        "--resume)",
        file=sys.stderr,
    )
    return 128 + signum


#: The files ``mail-gym run`` writes beside ``records/``.
_RESULT_FILES = ("results.json", "nashconv.png", "winrate.png")


def _held_results(out: Path) -> list[str]:
    """What ``out`` already holds of a sweep's results (run files, results.json)."""
    held = []
    records = out / "records"
    count = len(list(records.glob("*.json"))) if records.is_dir() else 0
    if count:
        held.append(f"{count} run record{'s' if count > 1 else ''} in records/")
    if (out / "results.json").exists():
        held.append("results.json")
    return held


def _report(result: PipelineResult, out: Path, start: float) -> None:
    """Write results.json and the plot into ``out``; print the tables."""
    json_path = result.to_json(out / "results.json")
    exact = result.metric == "nash_conv"
    png_path = result.plot(out / ("nashconv.png" if exact else "winrate.png"))
    if exact:
        print("\nexact NashConv of the learned profiles (mean [min,max] over seeds):")
        print(result.table())
    else:
        print("\nwin rates of the learned seats (mean over seeds):")
        print(result.win_table())
    print("\ndistinct labelled states per player (mean over seeds and players):")
    print(result.coverage_table())
    print(f"\nwrote {json_path} and {png_path} in {time.perf_counter() - start:.0f} s")


def _writable_folder(path: Path) -> Path:
    """Create ``path`` and probe it for writing, before any work starts.

    Raises:
        ValueError: Naming the folder and why it cannot be written.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ValueError(
            f"--out {str(path)!r} is not a writable folder: {exc.strerror or exc}"
        ) from exc
    return path


def _add_game_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=None, help="gridworld side length")
    parser.add_argument(
        "--policy-class",
        choices=("linear", "neural"),
        default=None,
        help="gridworld: softmax-linear BC on the model (linear, default) or "
        "neural BC through the env",
    )
    parser.add_argument(
        "--observation",
        choices=("onehot", "image"),
        default=None,
        help="gridworld: one-hot state (default) or the rendered picture (CNN)",
    )
    parser.add_argument(
        "--start",
        choices=("corners", "published"),
        default=None,
        help="gridworld: the far corners (default) or the published code's start",
    )
    parser.add_argument(
        "--episode-length",
        type=int,
        default=None,
        help="gridworld: moves per episode (published: 10 on 3x3, 16 on 5x5)",
    )
    parser.add_argument("--length", type=int, default=None, help="chain length")
    parser.add_argument(
        "--num-players", type=int, default=None, help="public-goods players"
    )
    parser.add_argument(
        "--game-seed", type=int, default=None, help="random-zero-sum game seed"
    )
    parser.add_argument(
        "--eval-games",
        type=int,
        default=None,
        help="connect4: evaluation games per opponent",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mail-gym",
        description="Multi-agent imitation learning in Markov games.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {mail_envs.__version__}"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_list = sub.add_parser("list", help="print the registered games")
    p_list.set_defaults(func=_cmd_list)

    with_model = sorted(n for n, spec in GAME_SPECS.items() if n != "connect4")
    p_solve = sub.add_parser(
        "solve",
        help="solve a game with a model exactly; print its value and Nash gap",
    )
    p_solve.add_argument("game", choices=with_model)
    _add_game_options(p_solve)
    p_solve.set_defaults(func=_cmd_solve)

    p_run = sub.add_parser(
        "run",
        help="the main job: interactive MAIL vs BC, exact Nash gaps, a plot",
        description="Run imitation methods over budgets of expert-labelled games "
        "and print the exact NashConv (Connect4: win rates) of every learned "
        "profile. Default methods: "
        + "; ".join(f"{g}: {', '.join(s.methods)}" for g, s in GAME_SPECS.items()),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p_run.add_argument(
        "--game",
        nargs="+",
        choices=sorted(GAME_SPECS),
        default=["tictactoe"],
        help="the game, or several: one sweep each, into <out>/<game> (--out "
        "default runs); a game option applies to the games that take it",
    )
    p_run.add_argument(
        "--algos",
        nargs="+",
        choices=sorted(METHODS),
        default=None,
        help="methods (default: the game's)",
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
    p_run.add_argument("--out", default=None, help="output folder (runs/<game>)")
    _add_game_options(p_run)
    p_run.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="board games: clone on the 8 board symmetries of each label",
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
    p_run.add_argument(
        "--executor",
        choices=executor_names(),
        default="local",
        help="where the runs execute: local worker processes, or Ray tasks (needs "
        "mail-gym[ray]; a local Ray instance of --workers CPUs, or the cluster at "
        "RAY_ADDRESS), each reserving --threads CPUs",
    )
    p_run.add_argument(
        "--gpus-per-run",
        type=float,
        default=0.25,
        help="--executor ray with a CUDA --device: the GPU fraction each run reserves",
    )
    p_run.add_argument(
        "--tensorboard",
        default=None,
        metavar="DIR",
        help="also write TensorBoard logs of every run under DIR/<game>/<run> (CSV "
        "logs are always written under <out>/logs/<run>)",
    )
    p_run.add_argument(
        "--save-policies",
        action="store_true",
        help="save every learned profile under <out>/policies/<run> "
        "(safetensors + JSON; agents.io.load_profile loads them as opponents)",
    )
    p_run.add_argument("--no-progress", action="store_true", help="no progress bar")
    existing = p_run.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep in --out: load the runs recorded in "
        "<out>/records (same game, options and BC settings, else an error), run "
        "only the missing and failed ones",
    )
    existing.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the run records and results already in --out first (without "
        "--resume or --overwrite, a folder holding results is refused)",
    )
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
