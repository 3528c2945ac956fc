"""Benchmark: Tic-Tac-Toe env steps/s, raw env vs the full wrapper stack.

The stack is the interactive pipeline's (DESIGN.md, "Data flow"):
``ExpertQueryWrapper`` labels every move of the frozen player (``player_1``),
``FrozenOpponentWrapper`` plays those labelled expert moves
(``opponent="expert"``) while the Gymnasium user controls ``player_2``, and
``EllipticalBonusReward`` replaces the reward by the bonus (default block
features, Lambda updated every step).

Both sides do the same game work and the work a user's loop does, and speed
is counted in *moves* (calls of the Tic-Tac-Toe env's ``step``):

* raw: PettingZoo's loop on the bare env: ``env.last()`` (observation, reward,
  termination), ``reset()`` at game end, else a uniformly random legal move
  (``np.flatnonzero`` of the mask, a seeded ``Generator``) for whichever
  player is to move, and ``step``. Every move is a user move.
* stack: Gymnasium's loop: a uniformly random legal move for ``player_2`` the
  same way, ``step`` (which also plays ``player_1``'s labelled expert reply),
  the reward read, ``reset()`` at game end (which plays ``player_1``'s
  opening). Moves = user moves + expert moves.

Both players move uniformly at random on both sides, so the games (and
resets per move) have the same distribution. The expert is first a trivial
constant policy (uniform over legal moves: the expert call itself is not the
stack's cost), then the real minimax expert. Measurements are interleaved
(raw, then every stack, ``repeats`` times) and reported as the best and the
median over repeats; the cost ratio is raw moves/s over stack moves/s within
each round (median) and of the best runs (best). Target: the full stack with
the constant expert costs at most 3x the raw env.

Run: ``python scripts/bench_wrappers.py`` (add ``--moves 50000`` for longer).
With ``--json PATH`` it also writes every round's numbers, the configuration
and the machine (CPUs, library versions: the moves/s are machine-dependent,
the ratios less so) there; the README's Benchmarks block is rendered from that
file by ``scripts/readme_tables.py``.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread: set before numpy (and torch) are imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import dataclasses
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.common import machine_info
from mail_envs.files import atomic_write_text
from mail_envs.tictactoe import env as tictactoe_env
from mail_wrappers import (
    EllipticalBonusReward,
    ExpertQueryWrapper,
    FrozenOpponentWrapper,
)


@dataclass(frozen=True)
class Args:
    moves: int = 20_000
    """Env moves per measurement."""
    seed: int = 0
    repeats: int = 3
    """Interleaved measurements; best and median are reported."""
    json: str | None = None
    """Write the numbers here as JSON (no file when ``None``)."""


def uniform_expert(observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
    """The trivial constant expert: uniform over legal moves."""
    masks = action_masks.astype(np.float64)
    return masks / masks.sum(axis=1, keepdims=True)


def raw_moves_per_second(args: Args) -> float:
    """Moves/s of PettingZoo's user loop on the bare env (both players random)."""
    env = tictactoe_env()
    rng = np.random.default_rng(args.seed)
    env.reset(seed=args.seed)
    moves = 0
    total_reward = 0.0
    start = time.perf_counter()
    while moves < args.moves:
        obs, reward, term, trunc, _ = env.last()
        total_reward += reward
        if term or trunc:
            env.reset()
            continue
        legal = np.flatnonzero(obs["action_mask"])
        env.step(int(legal[rng.integers(legal.size)]))
        moves += 1
    return moves / (time.perf_counter() - start)


def build_stack(layers: str, expert):
    """``"frozen"``: FrozenOpponent only (the opponent calls ``expert``);
    ``"query"``: + ExpertQuery (opponent replays its labels); ``"full"``: + bonus."""
    if layers == "frozen":
        return FrozenOpponentWrapper(tictactoe_env(), "player_2", expert, seed=0)
    query = ExpertQueryWrapper(tictactoe_env(), expert, agents=["player_1"], seed=0)
    frozen = FrozenOpponentWrapper(query, "player_2", "expert", seed=0)
    return frozen if layers == "query" else EllipticalBonusReward(frozen, beta=0.1)


def stack_moves_per_second(args: Args, env) -> tuple[float, float]:
    """(moves/s, Gymnasium steps/s) of a single-agent view of Tic-Tac-Toe."""
    rng = np.random.default_rng(args.seed)
    obs, _ = env.reset(seed=args.seed)
    moves = steps = 0
    total_reward = 0.0
    start = time.perf_counter()
    while moves < args.moves:
        legal = np.flatnonzero(obs["action_mask"])
        obs, reward, term, trunc, info = env.step(int(legal[rng.integers(legal.size)]))
        total_reward += reward
        steps += 1
        moves += 1 + len(info["opponent_actions"].get("player_1", ()))
        if term or trunc:
            obs, info = env.reset()
            moves += len(info["opponent_actions"].get("player_1", ()))
    elapsed = time.perf_counter() - start
    return moves / elapsed, steps / elapsed


def parse_args(argv: list[str] | None = None) -> Args:
    """Command line -> :class:`Args`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=Args.moves)
    parser.add_argument("--seed", type=int, default=Args.seed)
    parser.add_argument("--repeats", type=int, default=Args.repeats)
    parser.add_argument("--json", default=None, help="write the numbers here")
    ns = parser.parse_args(argv)
    for name in ("moves", "repeats"):
        if getattr(ns, name) < 1:
            parser.error(f"--{name} must be >= 1")
    return Args(**vars(ns))


def machine() -> dict[str, Any]:
    """Where the numbers come from (every moves/s is machine-dependent)."""
    return machine_info("gymnasium", "pettingzoo")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print it and write ``--json`` if asked.

    Returns:
        The numbers as written to ``--json``: per configuration, every round's
        moves/s (and Gymnasium steps/s), the best, the median and the cost
        ratios to the raw env.
    """
    args = parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

    minimax = TicTacToeMinimaxExpert()
    configs = {
        "frozen opponent only, constant expert": ("frozen", uniform_expert),
        "+ expert query, constant expert": ("query", uniform_expert),
        "full stack (+ bonus), constant expert": ("full", uniform_expert),
        "full stack, minimax expert": ("full", minimax),
    }
    # Interleave the measurements: the machine may be shared, and a round's
    # raw and stack runs see about the same load.
    runs: dict[str, list[tuple[float, float]]] = {
        name: [] for name in ["raw", *configs]
    }
    for _ in range(args.repeats):
        runs["raw"].append((raw_moves_per_second(args), 0.0))
        for name, (layers, expert) in configs.items():
            env = build_stack(layers, expert)
            runs[name].append(stack_moves_per_second(args, env))
    raw = [r[0] for r in runs["raw"]]
    print(
        f"{'raw env':40s}: {max(raw):9,.0f} moves/s best, "
        f"{statistics.median(raw):9,.0f} median"
    )
    record: dict[str, Any] = {
        "args": dataclasses.asdict(args),
        "machine": machine(),
        "raw": {
            "moves_per_second": raw,
            "best": max(raw),
            "median": statistics.median(raw),
        },
        "stacks": {},
        "target_cost": 3.0,
    }
    for name in configs:
        moves = [r[0] for r in runs[name]]
        steps = [r[1] for r in runs[name]]
        ratios = [r / m for r, m in zip(raw, moves, strict=True)]
        record["stacks"][name] = {
            "moves_per_second": moves,
            "gym_steps_per_second": steps,
            "best": max(moves),
            "median": statistics.median(moves),
            "cost_best": max(raw) / max(moves),
            "cost_median": statistics.median(ratios),
        }
        print(
            f"{name:40s}: {max(moves):9,.0f} moves/s best "
            f"({max(steps):7,.0f} gym steps/s), cost {max(raw) / max(moves):5.2f}x "
            f"raw best, {statistics.median(ratios):5.2f}x median"
        )
    print("target: the full stack with the constant expert costs <= 3x the raw env")
    record["wall_seconds"] = time.perf_counter() - start
    if args.json is not None:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(record, indent=2) + "\n")
        print(f"wrote {path}")
    return record


if __name__ == "__main__":
    main()
