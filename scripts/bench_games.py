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
* Batch engines (:mod:`mail_envs.batch`): steps/s of ``TicTacToeBatch`` and
  ``Connect4Batch`` (numpy; torch CPU) at several batch sizes, random legal
  moves with per-game auto-reset, with and without building the mover's
  observation and mask each step, against pgx (``jax.jit(jax.vmap(step))``
  with random legal actions and ``pgx.experimental.auto_reset``; only when
  pgx is installed: an optional bench extra, never a dependency), PettingZoo
  classic and OpenSpiel (one game at a time), measured in interleaved rounds
  of the same run (best round each; ratios printed). Also: the batched
  experts' cost per position, the memory of a 65,536-game Connect4 batch and
  the learner steps/s of the ``TicTacToe-vs-expert`` VectorEnv (against the
  one-game Gymnasium env) and ``TabularBatch`` on the grid world (against
  ``TabularParallelEnv``).
  Every number goes to the ``--json`` file (with the machine and the library
  versions, and what each timed step includes), the batch throughput also to
  a figure next to it (``.png``: steps/s against the batch size). Every
  timing is machine-dependent (the committed run: a shared 2-core CPU).

Usage::

    python scripts/bench_games.py                 # full run
    python scripts/bench_games.py --steps 2000 --repeats 2 --no-openspiel \
        --seconds 0.05 --rounds 1 --batch-sizes 1,64  # smoke
    python scripts/bench_games.py --no-single-env  # batch engines only
    python scripts/bench_games.py --json docs/results/bench_games/bench_games.json
    python scripts/bench_games.py --from-json docs/results/bench_games/bench_games.json
"""

from __future__ import annotations

import os

# Before pettingzoo's classic envs import pygame.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import argparse
import dataclasses
import json
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pettingzoo
import torch
from pettingzoo.utils.env_logger import EnvLogger

import mail_envs  # noqa: F401 - registers the mail/ games
from agents.common import machine_info
from mail_envs.batch import Connect4Batch, TabularBatch, TicTacToeBatch
from mail_envs.batch.connect4 import connect4_tables
from mail_envs.batch.core import BatchGame
from mail_envs.connect4 import expert as c4_expert
from mail_envs.connect4.opponents import random_positions
from mail_envs.core import TabularMarkovGame
from mail_envs.files import atomic_write_text
from mail_envs.gridworld import make_gridworld_game
from mail_envs.solvers import nash_gap
from mail_envs.tabular_env import TabularParallelEnv
from mail_envs.tictactoe import make_tictactoe_game, tictactoe_states
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert


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
    single_env: bool = True
    """run the single-game env benchmarks (Tic-Tac-Toe and Connect Four)"""
    batch: bool = True
    """run the batch-engine benchmark"""
    batch_sizes: str = "1,64,1024,8192"
    """comma-separated batch sizes of the batch-engine benchmark"""
    seconds: float = 0.5
    """seconds per batch-engine measurement (per round)"""
    rounds: int = 3
    """interleaved rounds per measurement (the best round is kept)"""
    torch_cpu: bool = True
    """also time the batch engines on torch CPU tensors"""
    pgx: bool = True
    """time pgx when it is installed"""
    json: str = "runs/bench_games.json"
    """where the results go ("" for nowhere); the figure goes next to it (.png)"""
    from_json: str = ""
    """only redraw the figure of this results file (no benchmark is run)"""


def parse_args() -> Args:
    """One command-line flag per field of :class:`Args`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    types = {"int": int, "float": float, "str": str}
    for f in dataclasses.fields(Args):
        flag = f"--{f.name.replace('_', '-')}"
        if f.type in ("bool", bool):
            parser.add_argument(
                flag,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=f.default,
            )
        else:
            parser.add_argument(
                flag, dest=f.name, type=types[str(f.type)], default=f.default
            )
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


def print_env_steps_per_second(
    ours_id: str, theirs_id: str, args: Args
) -> dict[str, float]:
    """Time our AEC env and PettingZoo's classic one, print them side by side."""
    ours = pettingzoo.make("aec", ours_id)
    theirs = pettingzoo.make("aec", theirs_id)
    ours_sps = env_steps_per_second(ours, args.steps, args.seed)
    theirs_sps = env_steps_per_second(theirs, args.steps, args.seed)
    print(f"env steps/s ({args.steps} random legal steps each)")
    print(f"  {ours_id:<23}{ours_sps:12,.0f}")
    print(f"  {theirs_id:<23}{theirs_sps:12,.0f}")
    print(f"  speed-up               {ours_sps / theirs_sps:12.2f}x")
    return {
        "ours_steps_per_second": ours_sps,
        "pettingzoo_steps_per_second": theirs_sps,
        "speedup": ours_sps / theirs_sps,
    }


def mlp_policy(mlp: torch.nn.Module) -> Any:
    """Batched policy (``(observations, masks) -> probabilities``): masked
    softmax of the MLP's logits, one forward pass."""

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
            self.index = {label: s for s, label in enumerate(game.state_labels or ())}
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


def bench_tictactoe(args: Args) -> dict[str, Any]:
    """Tic-Tac-Toe: env steps/s, model build, exact Nash gap vs OpenSpiel."""
    print("\n== Tic-Tac-Toe ==")

    # --- (a) env steps/s: ours vs PettingZoo's classic tictactoe_v3 ----------
    out: dict[str, Any] = {
        "env": print_env_steps_per_second(
            "mail/tictactoe-v0", "classic/tictactoe-v3", args
        )
    }

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
    out["model_build_ms"] = build_s * 1e3
    out["nash_gap_table_ms"] = table_s * 1e3
    out["nash_gap_mlp_ms"] = mlp_s * 1e3
    out["nash_conv_table"] = float(table_result.nash_conv)

    if args.openspiel:
        spiel_nash_conv, spiel_s = openspiel_nash_conv(game, board_table)
        print(
            f"  OpenSpiel nash_conv    {spiel_s * 1e3:10.0f} ms   NashConv {spiel_nash_conv:.10f}"
            f"   (table policy; |diff| {abs(spiel_nash_conv - table_result.nash_conv):.1e})"
        )
        print(f"  speed-up vs OpenSpiel  {spiel_s / table_s:10.0f}x (table)")
        out["openspiel_nash_conv_ms"] = spiel_s * 1e3
        out["openspiel_nash_conv"] = float(spiel_nash_conv)
    return out


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


def bench_connect4(args: Args) -> dict[str, Any]:
    """Connect Four: env steps/s vs PettingZoo, expert query latency.

    Owned by the Connect4 engineer (``mail/connect4-v0`` vs PettingZoo's classic
    ``connect_four_v3``), in the same style as :func:`bench_tictactoe`.
    """
    print("\n== Connect Four ==")

    # --- (a) env steps/s: ours vs PettingZoo's classic connect_four_v3 --------
    out: dict[str, Any] = {
        "env": print_env_steps_per_second(
            "mail/connect4-v0", "classic/connect_four-v3", args
        )
    }

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
    out["expert_positions"] = n_positions
    for key, times in (("solver", cold), ("cache_hit", hot)):
        out[f"expert_{key}_median_ms"] = float(np.median(times) * 1e3)
        out[f"expert_{key}_p95_ms"] = float(np.percentile(times, 95) * 1e3)
    return out


# ------------------------------------------------------------ batch engines
#: Batch engine, pgx id, PettingZoo classic id and OpenSpiel name of each game.
BATCH_GAMES: dict[str, tuple[type[BatchGame], str, str, str]] = {
    "tictactoe": (TicTacToeBatch, "tic_tac_toe", "classic/tictactoe-v3", "tic_tac_toe"),
    "connect4": (
        Connect4Batch,
        "connect_four",
        "classic/connect_four-v3",
        "connect_four",
    ),
}


#: Steps fused into one jitted call (``jax.lax.scan``) in the "pgx fused" timing.
PGX_FUSED_STEPS = 32
#: What one timed step of each implementation includes (also in the JSON).
#: Like for like: "ours numpy +obs+mask" against "pgx (jax cpu)", whose step
#: builds the observation and the legal-action mask of the new state.
INCLUDES = {
    "ours numpy": "uniform draws, random legal actions, step with auto-reset "
    "(rewards, flags); no observation",
    "ours numpy +obs+mask": "as 'ours numpy', plus the mover's (B, *obs) int8 "
    "observation and (B, A) action mask of the new state",
    "ours torch-cpu +obs+mask": "as 'ours numpy +obs+mask', on torch CPU tensors",
    "pgx (jax cpu)": "jit(vmap(auto_reset(step))) with categorical random legal "
    "actions; the step computes the observation and legal-action mask",
    f"pgx fused x{PGX_FUSED_STEPS}": f"the same, {PGX_FUSED_STEPS} steps per "
    "jitted call (lax.scan)",
    "pettingzoo classic": "one AEC env, env.last() + one random legal step "
    "(observation dict with mask)",
    "openspiel": "one game state, legal_actions() + apply_action(); no "
    "observation tensor",
    "gymnasium.make (one env)": "one single-agent env: the learner's random "
    "legal move and the expert's reply",
    "make_vec (vector entry)": "VectorEnv: the learner's random legal moves and "
    "the expert's replies, observations and masks",
    "TabularParallelEnv (one)": "one Parallel env: random legal joint action",
    "TabularBatch numpy": "random legal joint actions, step with auto-reset",
}


@dataclass(frozen=True)
class Throughput:
    """Best steps/s of one implementation over the interleaved rounds."""

    game: str
    impl: str
    batch_size: int
    steps_per_second: float
    rounds: tuple[float, ...]


def timed_rate(step: Callable[[], object], batch: int, seconds: float) -> float:
    """Steps/s of ``step()`` (``batch`` game steps a call) over ``seconds``."""
    step()  # warm-up (and compilation, for pgx)
    calls = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for _ in range(8):
            step()
        calls += 8
        elapsed = time.perf_counter() - start
    return calls * batch / elapsed


def ours_stepper(
    game: type[BatchGame], batch: int, seed: int, *, device: Any, observe: bool
) -> Callable[[], object]:
    """One call: random legal moves in every game, auto-reset (and the mover's view)."""
    games = game(batch, device=device)
    if device is None:
        gen = np.random.default_rng(seed)
        buffer = np.empty(batch)

        def uniforms() -> Any:
            return gen.random(out=buffer)
    else:
        torch_gen = torch.Generator().manual_seed(seed)

        def uniforms() -> Any:
            return torch.rand(batch, generator=torch_gen, dtype=torch.float64)

    def step() -> object:
        out = games.step(games.random_actions(uniforms()))
        if observe:
            return out, games.observation(), games.action_mask()
        return out

    return step


def pgx_stepper(
    pgx_id: str, batch: int, seed: int, *, fused: int = 1
) -> Callable[[], object] | None:
    """pgx's batched step (jit of vmap) with random legal actions and auto-reset.

    Args:
        pgx_id: The pgx game id.
        batch: Number of games.
        seed: PRNG seed.
        fused: Steps per jitted call (a ``lax.scan``; 1 = one step a call,
            as our engines are timed).

    Returns:
        One call of ``fused`` batched steps (blocking until done), or None when
        pgx (or jax) is not installed.
    """
    try:
        import jax
        import jax.numpy as jnp
        import pgx
        from pgx.experimental import auto_reset
    except ImportError:
        return None
    env = pgx.make(pgx_id)
    step_fn = jax.vmap(auto_reset(env.step, env.init))

    def act_and_step(carry: tuple[Any, Any], _: Any) -> tuple[tuple[Any, Any], None]:
        state, key = carry
        key, k_act, k_step = jax.random.split(key, 3)
        logits = jnp.log(state.legal_action_mask.astype(jnp.float32))
        action = jax.random.categorical(k_act, logits, axis=-1)
        return (step_fn(state, action, jax.random.split(k_step, batch)), key), None

    @jax.jit
    def run(carry: tuple[Any, Any]) -> tuple[Any, Any]:
        return jax.lax.scan(act_and_step, carry, None, length=fused)[0]

    key = jax.random.PRNGKey(seed)
    holder = {"carry": (jax.jit(jax.vmap(env.init))(jax.random.split(key, batch)), key)}

    def step() -> object:
        holder["carry"] = run(holder["carry"])
        jax.block_until_ready(holder["carry"][0].rewards)  # count finished work only
        return holder["carry"]

    return step


def openspiel_stepper(name: str, seed: int) -> Callable[[], object] | None:
    """One OpenSpiel game, one random legal move a call; None without OpenSpiel."""
    try:
        import pyspiel
    except ImportError:
        return None
    spiel_game = pyspiel.load_game(name)
    rng = np.random.default_rng(seed)
    holder = {"state": spiel_game.new_initial_state()}

    def step() -> object:
        state = holder["state"]
        if state.is_terminal():
            state = holder["state"] = spiel_game.new_initial_state()
        legal = state.legal_actions()
        state.apply_action(legal[int(rng.random() * len(legal))])
        return state

    return step


def pettingzoo_stepper(env_id: str, seed: int) -> Callable[[], object]:
    """One PettingZoo AEC game, one random legal move (or dead step) a call."""
    env = pettingzoo.make("aec", env_id)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)

    def step() -> object:
        if not env.agents:
            env.reset()
        obs, _, terminated, truncated, _ = env.last()
        if terminated or truncated:
            env.step(None)
        else:
            legal = np.flatnonzero(obs["action_mask"])
            env.step(int(legal[int(rng.random() * len(legal))]))
        return env

    return step


def bench_batch_throughput(args: Args) -> list[Throughput]:
    """Steps/s of the batch engines vs pgx, PettingZoo classic and OpenSpiel."""
    sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    results: list[Throughput] = []
    for game, (engine, pgx_id, pz_id, spiel_name) in BATCH_GAMES.items():
        print(f"\n== batch engine: {game} (random legal moves, auto-reset) ==")
        print(
            f"  {'batch':>6}  {'implementation':<26}{'steps/s':>14}"
            f"{'vs pgx':>9}   rounds (M steps/s)"
        )
        for batch in sizes:
            steppers: dict[str, Callable[[], object]] = {
                "ours numpy": ours_stepper(
                    engine, batch, args.seed, device=None, observe=False
                ),
                "ours numpy +obs+mask": ours_stepper(
                    engine, batch, args.seed, device=None, observe=True
                ),
            }
            if args.torch_cpu:
                steppers["ours torch-cpu +obs+mask"] = ours_stepper(
                    engine, batch, args.seed, device="cpu", observe=True
                )
            per_call: dict[str, int] = {}
            if args.pgx:
                pgx_step = pgx_stepper(pgx_id, batch, args.seed)
                if pgx_step is not None:
                    steppers["pgx (jax cpu)"] = pgx_step
                    steppers[f"pgx fused x{PGX_FUSED_STEPS}"] = pgx_stepper(
                        pgx_id, batch, args.seed, fused=PGX_FUSED_STEPS
                    )  # type: ignore[assignment]
                    per_call[f"pgx fused x{PGX_FUSED_STEPS}"] = PGX_FUSED_STEPS
            if batch == 1:
                steppers["pettingzoo classic"] = pettingzoo_stepper(pz_id, args.seed)
                spiel = (
                    openspiel_stepper(spiel_name, args.seed) if args.openspiel else None
                )
                if spiel is not None:
                    steppers["openspiel"] = spiel
            rates: dict[str, list[float]] = {name: [] for name in steppers}
            for _ in range(args.rounds):  # interleaved: every impl once a round
                for name, step in steppers.items():
                    steps = batch * per_call.get(name, 1)
                    rates[name].append(timed_rate(step, steps, args.seconds))
            best = {name: max(r) for name, r in rates.items()}
            pgx_best = max(
                (v for k, v in best.items() if k.startswith("pgx")), default=None
            )
            for name, r in rates.items():
                ratio = f"{best[name] / pgx_best:8.2f}x" if pgx_best else f"{'-':>9}"
                spread = "/".join(f"{x / 1e6:.3g}" for x in r)
                print(f"  {batch:>6}  {name:<26}{best[name]:>14,.0f}{ratio}   {spread}")
                results.append(Throughput(game, name, batch, best[name], tuple(r)))
    print("  (vs pgx: ratio to the best pgx timing of that batch size)")
    if not any(r.impl.startswith("pgx") for r in results):
        print(
            "  (pgx not installed or --no-pgx: pip install pgx 'jax[cpu]' to compare)"
        )
    return results


def bench_batch_experts(args: Args) -> dict[str, float]:
    """Cost per position of the batched experts on engine positions."""
    print("\n== batched experts ==")
    out: dict[str, float] = {}
    n = max([int(b) for b in args.batch_sizes.split(",") if b.strip()] + [64])
    games = TicTacToeBatch(n)
    rng = np.random.default_rng(args.seed)
    for _ in range(3):
        games.step(games.random_actions(rng.random(n)))
    expert = TicTacToeMinimaxExpert()
    table = games.backend.table(expert.state_table)
    obs, masks = games.observation(), games.action_mask()
    from_obs = median_seconds(lambda: expert(obs, masks), args.repeats)
    lookup = median_seconds(lambda: games.expert_probs(table), args.repeats)
    out["tictactoe_expert_from_observations_us_per_position"] = from_obs / n * 1e6
    out["tictactoe_expert_state_lookup_us_per_position"] = lookup / n * 1e6
    print(f"Tic-Tac-Toe minimax expert, batch of {n}")
    print(f"  from observations      {from_obs / n * 1e9:10.1f} ns/position")
    print(f"  engine state lookup    {lookup / n * 1e9:10.1f} ns/position")

    m = 64
    c4 = Connect4Batch(m)
    moves = np.random.default_rng(args.seed)
    for _ in range(int(moves.integers(8, 20))):
        c4.step(c4.random_actions(moves.random(m)))
    obs, masks = c4.observation(), c4.action_mask()
    c4_expert.shared_solver()
    c4_expert.clear_score_cache()
    solver = c4_expert.Connect4Expert()
    start = time.perf_counter()
    solver(obs, masks)
    cold = (time.perf_counter() - start) / m
    warm = median_seconds(lambda: solver(obs, masks), max(1, args.repeats // 4)) / m
    out["connect4_expert_cold_ms_per_position"] = cold * 1e3
    out["connect4_expert_cached_ms_per_position"] = warm * 1e3
    print(f"Connect Four solver expert, batch of {m} engine positions (LRU cache)")
    print(f"  first query (solver)   {cold * 1e3:10.3f} ms/position")
    print(f"  repeat (cache hits)    {warm * 1e3:10.3f} ms/position")
    return out


def bench_batch_memory(args: Args) -> dict[str, float]:
    """Memory of a 65,536-game Connect4 batch (tracemalloc, numpy backend).

    tracemalloc sees numpy's array buffers. Measured: the engine's lookup
    tables (shared by every batch, built once), the batch's state arrays, the
    mover's observation planes and action mask of one step (``(B, 6, 7, 2)``
    int8 and ``(B, 7)`` bool, held as a learner holds them), and the peak
    over 10 steps that each build them (state, planes, mask, random draws and
    every temporary of the step and of the observation).
    """
    n = 65_536
    connect4_tables.cache_clear()  # count the tables' build as well
    tracemalloc.start()
    tables = Connect4Batch(1)
    tables_bytes = tracemalloc.get_traced_memory()[0]
    games = Connect4Batch(n)
    state_bytes = tracemalloc.get_traced_memory()[0] - tables_bytes
    del tables
    rng = np.random.default_rng(args.seed)
    held: tuple[Any, ...] = ()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(10):
        held = ()  # the previous step's views are let go first
        games.step(games.random_actions(rng.random(n)))
        held = (games.observation(), games.action_mask())
    peak = tracemalloc.get_traced_memory()[1] - base + state_bytes
    view_bytes = sum(a.nbytes for a in held)
    tracemalloc.stop()
    print(f"\nConnect4Batch({n:,}) memory (tracemalloc, numpy)")
    print(f"  lookup tables (shared) {tables_bytes / 1e6:10.2f} MB")
    print(f"  state                  {state_bytes / 1e6:10.2f} MB")
    print(f"  observation + mask     {view_bytes / 1e6:10.2f} MB")
    print(f"  peak (step+obs+mask)   {peak / 1e6:10.2f} MB  (state included)")
    return {
        "connect4_tables_mb": tables_bytes / 1e6,
        "connect4_65536_state_mb": state_bytes / 1e6,
        "connect4_65536_observation_and_mask_mb": view_bytes / 1e6,
        "connect4_65536_peak_mb": peak / 1e6,
    }


def vector_stepper(env_id: str, batch: int, seed: int) -> Callable[[], object]:
    """One call: random legal learner moves in every game of the VectorEnv."""
    import gymnasium

    envs = gymnasium.make_vec(
        env_id, num_envs=batch, vectorization_mode="vector_entry_point"
    )
    rng = np.random.default_rng(seed)
    holder = {"obs": envs.reset(seed=seed)[0]}

    def step() -> object:
        masks = holder["obs"]["action_mask"]
        actions = (rng.random(masks.shape) * masks).argmax(axis=1)
        holder["obs"] = envs.step(actions)[0]
        return holder["obs"]

    return step


def bench_vector_env(args: Args) -> list[Throughput]:
    """Learner steps/s of the Tic-Tac-Toe-vs-expert view: VectorEnv vs one env.

    The learner plays random legal moves; the minimax expert replies inside
    each step (batched: one state-table lookup). The reference is the
    single-agent env (``gymnasium.make``), one game a call.
    """
    import gymnasium

    print("\n== mail_envs/TicTacToe-vs-expert-v0: learner steps/s ==")
    env_id = "mail_envs/TicTacToe-vs-expert-v0"
    results: list[Throughput] = []
    single = gymnasium.make(env_id)
    obs, _ = single.reset(seed=args.seed)
    rng = np.random.default_rng(args.seed)
    holder = {"obs": obs}

    def single_step() -> object:
        legal = np.flatnonzero(holder["obs"]["action_mask"])
        obs, _, terminated, truncated, _ = single.step(
            int(legal[int(rng.random() * len(legal))])
        )
        if terminated or truncated:
            obs, _ = single.reset()
        holder["obs"] = obs
        return obs

    sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    steppers: dict[tuple[str, int], Callable[[], object]] = {
        ("gymnasium.make (one env)", 1): single_step
    }
    for batch in sizes:
        steppers["make_vec (vector entry)", batch] = vector_stepper(
            env_id, batch, args.seed
        )
    rates: dict[tuple[str, int], list[float]] = {key: [] for key in steppers}
    for _ in range(args.rounds):  # interleaved, as the batch engines
        for (name, batch), step in steppers.items():
            rates[name, batch].append(timed_rate(step, batch, args.seconds))
    reference = max(rates["gymnasium.make (one env)", 1])
    for (name, batch), r in rates.items():
        print(f"  {batch:>6}  {name:<26}{max(r):>14,.0f}{max(r) / reference:8.1f}x")
        results.append(Throughput("tictactoe-vs-expert", name, batch, max(r), tuple(r)))
    return results


def tabular_stepper(batch: int, seed: int) -> Callable[[], object]:
    """One call: random legal joint actions in ``batch`` grid-world races."""
    games = TabularBatch(make_gridworld_game(), batch, seed=seed)
    rng = np.random.default_rng(seed)

    def step() -> object:
        actions = np.stack(
            [
                (rng.random(mask.shape) * mask).argmax(axis=1)
                for mask in (games.action_mask(0), games.action_mask(1))
            ],
            axis=1,
        )
        return games.step(actions)

    return step


def tabular_env_stepper(seed: int) -> Callable[[], object]:
    """One call: a random legal joint action in one grid-world Parallel env."""
    env = TabularParallelEnv(make_gridworld_game())
    rng = np.random.default_rng(seed)
    holder: dict[str, Any] = {"obs": env.reset(seed=seed)[0]}

    def step() -> object:
        joint = {}
        for agent, obs in holder["obs"].items():
            legal = np.flatnonzero(obs["action_mask"])
            joint[agent] = int(legal[int(rng.random() * len(legal))])
        obs, _, terminated, truncated, _ = env.step(joint)
        if any(terminated.values()) or any(truncated.values()):
            obs, _ = env.reset()
        holder["obs"] = obs
        return obs

    return step


def bench_tabular(args: Args) -> list[Throughput]:
    """Joint steps/s of ``TabularBatch`` on the grid world vs the Parallel env."""
    print("\n== batch engine: gridworld (TabularBatch, random legal joint actions) ==")
    sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    steppers: dict[tuple[str, int], Callable[[], object]] = {
        ("TabularParallelEnv (one)", 1): tabular_env_stepper(args.seed)
    }
    for batch in sizes:
        steppers["TabularBatch numpy", batch] = tabular_stepper(batch, args.seed)
    rates: dict[tuple[str, int], list[float]] = {key: [] for key in steppers}
    for _ in range(args.rounds):
        for (name, batch), step in steppers.items():
            rates[name, batch].append(timed_rate(step, batch, args.seconds))
    reference = max(rates["TabularParallelEnv (one)", 1])
    results = []
    for (name, batch), r in rates.items():
        print(f"  {batch:>6}  {name:<26}{max(r):>14,.0f}{max(r) / reference:8.1f}x")
        results.append(Throughput("gridworld", name, batch, max(r), tuple(r)))
    return results


def bench_batch(args: Args) -> dict[str, Any]:
    """All batch-view benchmarks; returns their JSON-ready results."""
    throughput = (
        bench_batch_throughput(args) + bench_vector_env(args) + bench_tabular(args)
    )
    return {
        "throughput": [dataclasses.asdict(r) for r in throughput],
        "includes": {
            impl: INCLUDES[impl] for impl in dict.fromkeys(r.impl for r in throughput)
        },
        "experts": bench_batch_experts(args),
        "memory": bench_batch_memory(args),
    }


def machine() -> dict[str, Any]:
    """Where the numbers come from (every timing is machine-dependent)."""
    return machine_info("pettingzoo", "pgx", "jax", "pyspiel")


def plot(record: dict[str, Any], path: Path) -> Path:
    """Steps/s against the batch size, one panel per game, one line per implementation.

    Returns:
        The PNG's path.
    """
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    from mail_envs.files import atomic_savefig

    rows = record["throughput"]
    games = [g for g in BATCH_GAMES if any(r["game"] == g for r in rows)]
    fig, axes = plt.subplots(1, len(games), figsize=(6.0 * len(games), 4.2))
    for ax, game in zip(np.atleast_1d(axes), games, strict=True):
        impls = dict.fromkeys(r["impl"] for r in rows if r["game"] == game)
        for impl in impls:
            points = sorted(
                (r["batch_size"], r["steps_per_second"])
                for r in rows
                if r["game"] == game and r["impl"] == impl
            )
            sizes, rates = zip(*points, strict=True)
            style = "o-" if len(points) > 1 else "s"
            ax.plot(sizes, rates, style, label=impl, markersize=4)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("games per batch")
        ax.set_ylabel("steps/s (best round)")
        ax.set_title(f"{game}: random legal moves, auto-reset")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    machine = record.get("machine", {})
    fig.suptitle(
        f"scripts/bench_games.py on {machine.get('cpus', '?')} CPUs "
        "(machine-dependent)",
        fontsize=9,
    )
    fig.tight_layout()
    try:
        return atomic_savefig(fig, path.with_suffix(".png"), dpi=120)
    finally:
        plt.close(fig)


def main() -> None:
    """Run every game's benchmark with the command-line configuration."""
    args = parse_args()
    if args.from_json:
        path = Path(args.from_json)
        print(f"wrote {plot(json.loads(path.read_text()), path)}")
        return
    torch.set_num_threads(1)
    EnvLogger.suppress_output()
    print(f"bench_games: {args}")
    start = time.perf_counter()
    record: dict[str, Any] = {"args": dataclasses.asdict(args), "machine": machine()}
    if args.single_env:
        record["tictactoe"] = bench_tictactoe(args)
        record["connect4"] = bench_connect4(args)
    if args.batch:
        record.update(bench_batch(args))
    record["wall_seconds"] = time.perf_counter() - start
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(record, indent=2) + "\n")
        print(f"\nwrote {path}")
        if "throughput" in record:
            print(f"wrote {plot(record, path)}")


if __name__ == "__main__":
    main()
