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
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=Args.moves)
    parser.add_argument("--seed", type=int, default=Args.seed)
    parser.add_argument("--repeats", type=int, default=Args.repeats)
    args = Args(**vars(parser.parse_args()))
    torch.set_num_threads(1)
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
    for name in configs:
        moves = [r[0] for r in runs[name]]
        steps = [r[1] for r in runs[name]]
        ratios = [r / m for r, m in zip(raw, moves, strict=True)]
        print(
            f"{name:40s}: {max(moves):9,.0f} moves/s best "
            f"({max(steps):7,.0f} gym steps/s), cost {max(raw) / max(moves):5.2f}x "
            f"raw best, {statistics.median(ratios):5.2f}x median"
        )
    print("target: the full stack with the constant expert costs <= 3x the raw env")


if __name__ == "__main__":
    main()
