"""Benchmarks of the mail-gym games against their reference implementations.

One function per game, called in order by ``main()``; each prints its numbers
side by side with the reference:

* Tic-Tac-Toe: env steps/s of ``mail/tictactoe-v0`` vs PettingZoo's classic
  ``tictactoe_v3`` (random legal moves, same number of steps), model build
  time, and the exact Nash gap of a table policy and of a small torch MLP
  (one batched call over all 5,478 observations) vs OpenSpiel's
  ``exploitability.nash_conv`` on the same policy (timed once: seconds).
* Connect Four: env steps/s of ``mail/connect4-v0`` vs PettingZoo's classic
  ``connect_four_v3``, and the latency of one expert (BitBully) query with
  the LRU score cache off and on.

Usage::

    python scripts/bench_games.py                 # full run
    python scripts/bench_games.py --steps 2000 --repeats 2 --no-openspiel  # smoke
"""

from __future__ import annotations

import os

# Before pettingzoo's classic envs import pygame.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import argparse
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pettingzoo
import torch
from pettingzoo.utils.env_logger import EnvLogger

import mail_envs  # noqa: F401 - registers the mail/ games
from mail_envs.connect4 import expert as c4_expert
from mail_envs.connect4.opponents import random_positions
from mail_envs.core import TabularMarkovGame
from mail_envs.solvers import nash_gap
from mail_envs.tictactoe import make_tictactoe_game, tictactoe_states


@dataclass(frozen=True)
class Args:
    """The whole configuration of the benchmark."""

    seed: int = 0
    """seed of the random moves and random policies"""
    steps: int = 100_000
    """env steps per Tic-Tac-Toe env (ours and PettingZoo's)"""
    repeats: int = 20
    """repetitions of each exact Nash gap timing (the median is printed)"""
    openspiel: bool = True
    """time OpenSpiel's nash_conv once on the table policy (takes seconds)"""


def parse_args() -> Args:
    """One command-line flag per field of :class:`Args`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in dataclasses.fields(Args):
        if f.type in ("bool", bool):
            parser.add_argument(
                f"--{f.name}", action=argparse.BooleanOptionalAction, default=f.default
            )
        else:
            parser.add_argument(f"--{f.name}", type=int, default=f.default)
    return Args(**vars(parser.parse_args()))


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def env_steps_per_second(env, steps: int, seed: int) -> float:
    """Steps/s of an AEC env under uniformly random legal moves."""
    rng = np.random.default_rng(seed)
    draws = rng.random(steps + 16)
    done = 0
    start = time.perf_counter()
    while done < steps:
        env.reset()
        while env.agents and done < steps:
            obs, _, terminated, truncated, _ = env.last()
            if terminated or truncated:
                action = None
            else:
                legal = np.flatnonzero(obs["action_mask"])
                action = int(legal[int(draws[done] * len(legal))])
            env.step(action)
            done += 1
    return steps / (time.perf_counter() - start)


def print_env_steps_per_second(ours_id: str, theirs_id: str, args: Args) -> None:
    """Time our AEC env and PettingZoo's classic one, print them side by side."""
    ours = pettingzoo.make("aec", ours_id)
    theirs = pettingzoo.make("aec", theirs_id)
    ours_sps = env_steps_per_second(ours, args.steps, args.seed)
    theirs_sps = env_steps_per_second(theirs, args.steps, args.seed)
    print(f"env steps/s ({args.steps} random legal steps each)")
    print(f"  {ours_id:<23}{ours_sps:12,.0f}")
    print(f"  {theirs_id:<23}{theirs_sps:12,.0f}")
    print(f"  speed-up               {ours_sps / theirs_sps:12.2f}x")


def mlp_policy(
    mlp: torch.nn.Module,
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Batched policy: masked softmax of the MLP's logits, one forward pass."""

    def policy(observations: np.ndarray, action_masks: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            logits = mlp(torch.from_numpy(np.asarray(observations, dtype=np.float32)))
            logits = logits.masked_fill(
                ~torch.from_numpy(np.array(action_masks)), -torch.inf
            )
            return torch.softmax(logits.double(), dim=-1).numpy()

    return policy


def openspiel_nash_conv(
    game: TabularMarkovGame, board_table: np.ndarray
) -> tuple[float, float]:
    """OpenSpiel's ``nash_conv`` of a Tic-Tac-Toe board table, and its seconds.

    OpenSpiel is imported here, so the rest of the benchmark runs without it
    (``--no-openspiel``).
    """
    import pyspiel
    from open_spiel.python import policy as op_policy
    from open_spiel.python.algorithms import exploitability

    class BoardPolicy(op_policy.Policy):
        """OpenSpiel view of a board table (cell row * 3 + col = our cell)."""

        def __init__(self, spiel_game, table: np.ndarray) -> None:
            super().__init__(spiel_game, [0, 1])
            self.index = {label: s for s, label in enumerate(game.state_labels)}
            self.table = table

        def action_probabilities(self, state, player_id=None):
            s = self.index[str(state).replace("\n", "").upper()]
            return {a: float(self.table[s, a]) for a in state.legal_actions()}

    spiel_game = pyspiel.load_game("tic_tac_toe")
    start = time.perf_counter()
    spiel_nash_conv = exploitability.nash_conv(
        spiel_game, BoardPolicy(spiel_game, board_table)
    )
    return spiel_nash_conv, time.perf_counter() - start


def bench_tictactoe(args: Args) -> None:
    """Tic-Tac-Toe: env steps/s, model build, exact Nash gap vs OpenSpiel."""
    print("\n== Tic-Tac-Toe ==")

    # --- (a) env steps/s: ours vs PettingZoo's classic tictactoe_v3 ----------
    print_env_steps_per_second("mail/tictactoe-v0", "classic/tictactoe-v3", args)

    # --- model build -----------------------------------------------------------
    start = time.perf_counter()
    tictactoe_states.__wrapped__()
    make_tictactoe_game.__wrapped__()
    build_s = time.perf_counter() - start
    game = make_tictactoe_game()
    states = tictactoe_states()
    print(
        f"model build (uncached)   {build_s * 1e3:10.1f} ms  ({game.num_states} states)"
    )

    # --- (b) exact Nash gap: table policy and torch MLP vs OpenSpiel ----------
    rng = np.random.default_rng(args.seed)
    legal = states.action_masks.astype(bool)
    weights = rng.random(legal.shape) * legal
    sums = weights.sum(axis=1, keepdims=True)
    board_table = np.divide(weights, sums, out=np.zeros_like(weights), where=sums > 0)
    noop = np.eye(1, 9)[0]
    tables = [np.where((states.mover == p)[:, None], board_table, noop) for p in (0, 1)]

    torch.manual_seed(args.seed)
    mlp = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(18, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 9),
    )
    policy = mlp_policy(mlp)

    table_result = nash_gap(game, tables)
    table_s = median_seconds(lambda: nash_gap(game, tables), args.repeats)
    mlp_result = nash_gap(game, [policy, policy])
    mlp_s = median_seconds(lambda: nash_gap(game, [policy, policy]), args.repeats)
    print("exact Nash gap (NashConv), median time")
    print(
        f"  table policy           {table_s * 1e3:10.2f} ms   NashConv {table_result.nash_conv:.10f}"
    )
    print(
        f"  torch MLP policy       {mlp_s * 1e3:10.2f} ms   NashConv {mlp_result.nash_conv:.10f}"
    )

    if args.openspiel:
        spiel_nash_conv, spiel_s = openspiel_nash_conv(game, board_table)
        print(
            f"  OpenSpiel nash_conv    {spiel_s * 1e3:10.0f} ms   NashConv {spiel_nash_conv:.10f}"
            f"   (table policy; |diff| {abs(spiel_nash_conv - table_result.nash_conv):.1e})"
        )
        print(f"  speed-up vs OpenSpiel  {spiel_s / table_s:10.0f}x (table)")


def expert_latencies(
    observations: np.ndarray, action_masks: np.ndarray, *, use_cache: bool
) -> np.ndarray:
    """Seconds per single-position Connect Four expert query, one per position."""
    out = []
    for i in range(len(observations)):
        start = time.perf_counter()
        c4_expert.batch_move_scores(
            observations[i : i + 1], action_masks[i : i + 1], use_cache=use_cache
        )
        out.append(time.perf_counter() - start)
    return np.array(out)


def bench_connect4(args: Args) -> None:
    """Connect Four: env steps/s vs PettingZoo, expert query latency.

    Owned by the Connect4 engineer (``mail/connect4-v0`` vs PettingZoo's classic
    ``connect_four_v3``), in the same style as :func:`bench_tictactoe`.
    """
    print("\n== Connect Four ==")

    # --- (a) env steps/s: ours vs PettingZoo's classic connect_four_v3 --------
    print_env_steps_per_second("mail/connect4-v0", "classic/connect_four-v3", args)

    # --- (b) expert query latency: one position per call, LRU cache off / on ---
    # Fresh positions of random play with 0..30 stones (positions 12..16 plies
    # deep, just past the 12-ply opening book, are the slow ones); 200 in the
    # full run.
    n_positions = max(20, min(200, args.steps // 500))
    obs, masks = random_positions(n_positions, min_ply=0, max_ply=30, seed=args.seed)
    c4_expert.shared_solver()  # load the opening book outside the timings
    c4_expert.clear_score_cache()

    cold = expert_latencies(obs, masks, use_cache=False)  # first query of each
    c4_expert.batch_move_scores(obs, masks)  # fill the LRU cache
    hot = expert_latencies(obs, masks, use_cache=True)  # every query a cache hit
    print(f"expert query latency ({n_positions} positions with 0-30 stones)")
    for label, times in (("no cache (solver)", cold), ("LRU cache hit", hot)):
        print(
            f"  {label:<22} median {np.median(times) * 1e3:9.3f} ms"
            f"   p95 {np.percentile(times, 95) * 1e3:9.3f} ms"
        )


def main() -> None:
    """Run every game's benchmark with the command-line configuration."""
    args = parse_args()
    torch.set_num_threads(1)
    EnvLogger.suppress_output()
    print(f"bench_games: {args}")
    bench_tictactoe(args)
    bench_connect4(args)


if __name__ == "__main__":
    main()
