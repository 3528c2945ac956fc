"""Tests of the run monitor (agents/monitor.py) and its threading through the methods.

The central property: watching a run never changes it. Every method is run
with and without a :class:`RunMonitor` and the datasets and learned policies
must be bit-identical; the CSV/TensorBoard logs and progress reports must be
what the methods promise.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import pickle
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.bc.profile import BCConfig
from agents.deep.critic_bonus import BonusConfig
from agents.imitation import ImitationProblem, ImitationResult
from agents.linear.features import tabular_features
from agents.linear.problem import linear_problem
from agents.methods import make_algorithm
from agents.monitor import NULL_MONITOR, RunMonitor, progress_every, resolve_monitor
from mail_envs.gridworld import make_gridworld_game
from mail_envs.solvers import solve_zero_sum
from mail_envs.tictactoe import env as tictactoe_env
from mail_envs.tictactoe import make_tictactoe_game
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

torch.set_num_threads(1)

EXPERT = TicTacToeMinimaxExpert(policy="uniform")
GAME = make_tictactoe_game()
PROBLEM = ImitationProblem(
    "mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT), model=GAME
)
AGENTS = PROBLEM.agents
TINY_BC = BCConfig(min_epochs=3, min_steps=10)
DQN_OPTIONS = {
    "bonus": BonusConfig(rebuild_every=20),
    "dqn_kwargs": {
        "learning_starts": 10,
        "buffer_size": 2_000,
        "policy_kwargs": {"net_arch": [32, 32]},
    },
    "log_interval": 4,
}
NUM_GAMES = 10


class Progress:
    """A picklable progress callback that keeps every report."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, int, int]] = []

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.reports.append((stage, done, total))

    def stages(self) -> dict[str, list[tuple[int, int]]]:
        out: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for stage, done, total in self.reports:
            out[stage].append((done, total))
        return dict(out)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def assert_same_result(a: ImitationResult, b: ImitationResult) -> None:
    """Bit-identical datasets and policies (on every labelled and model state)."""
    assert a.explorer_steps == b.explorer_steps
    for x, y in zip(a.datasets, b.datasets, strict=True):
        for field in ("observations", "action_masks", "expert_actions", "episodes"):
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field))
    for player, (p, q) in enumerate(zip(a.policies, b.policies, strict=True)):
        if isinstance(p, np.ndarray):
            np.testing.assert_array_equal(p, q)
            continue
        data = a.datasets[player]
        np.testing.assert_array_equal(
            p(data.observations, data.action_masks),
            q(data.observations, data.action_masks),
        )
        obs = GAME.all_observations(player)
        masks = GAME.legal_masks[player]
        live = masks.sum(axis=1) > 0
        np.testing.assert_array_equal(
            p(obs[live], masks[live]), q(obs[live], masks[live])
        )
        if hasattr(p, "head"):
            for (k, v), (k2, v2) in zip(
                p.head.state_dict().items(), q.head.state_dict().items(), strict=True
            ):
                assert k == k2
                assert torch.equal(v, v2)


# ------------------------------------------------------------------ the monitor


def test_null_monitor_is_a_cheap_no_op(tmp_path):
    monitor = RunMonitor()
    assert not monitor.enabled and resolve_monitor(None) is NULL_MONITOR
    assert RunMonitor.null() is NULL_MONITOR
    logger = monitor.logger("player_0/dqn")
    assert logger.output_formats == []
    logger.record("x", 1.0)
    logger.dump(1)
    monitor.report("explore player_0", 1, 2)
    monitor.close()
    assert list(tmp_path.iterdir()) == []


def test_logger_writes_csv_under_the_name_and_closes(tmp_path):
    progress = Progress()
    with RunMonitor(tmp_path / "logs", progress=progress) as monitor:
        logger = monitor.logger("player_0/bc")
        for step in (1, 2):
            logger.record("bc/train_loss", 1.0 / step)
            logger.dump(step=step)
        monitor.report("bc player_0", 2, 2)
    rows = read_csv(tmp_path / "logs" / "player_0" / "bc" / "progress.csv")
    assert [float(r["bc/train_loss"]) for r in rows] == [1.0, 0.5]
    assert progress.reports == [("bc player_0", 2, 2)]
    assert monitor._open == []


@pytest.mark.parametrize("name", ["", "/abs", "../up", "a/./b", "a//b"])
def test_logger_names_must_be_plain_relative_paths(tmp_path, name):
    with pytest.raises(ValueError, match="name must be a relative path"):
        RunMonitor(tmp_path).logger(name)


def test_missing_tensorboard_is_a_clear_error(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboard" else real(name, *a),
    )
    with pytest.raises(ValueError, match=r"tensorboard_dir=.*pip install tensorboard"):
        RunMonitor(tensorboard_dir=tmp_path)


def test_bad_arguments():
    with pytest.raises(TypeError, match="progress must be callable"):
        RunMonitor(progress=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="monitor must be a RunMonitor"):
        resolve_monitor("logs")  # type: ignore[arg-type]
    assert progress_every(0) == 1 and progress_every(250) == 2


def test_monitor_pickles_without_its_open_loggers(tmp_path):
    monitor = RunMonitor(tmp_path, progress=Progress())
    monitor.logger("player_0/bc")
    copy = pickle.loads(pickle.dumps(monitor))
    assert copy.log_dir == tmp_path and copy._open == []
    assert isinstance(copy.progress, Progress)
    monitor.close()


# ------------------------------------------------------ methods: same results


def run(name, monitor, problem=PROBLEM, budget=NUM_GAMES, options=None):
    return make_algorithm(
        name,
        problem,
        budget=budget,
        seed=3,
        bc=TINY_BC,
        device="cpu",
        options=options,
        monitor=monitor,
    ).run()


def test_dqn_explore_is_bit_identical_with_a_monitor_and_logs(tmp_path):
    progress = Progress()
    plain = run("dqn-explore", None, options=DQN_OPTIONS)
    with RunMonitor(tmp_path, progress=progress) as monitor:
        watched = run("dqn-explore", monitor, options=DQN_OPTIONS)
    assert_same_result(plain, watched)
    for agent, steps in zip(AGENTS, watched.explorer_steps, strict=True):
        rows = read_csv(tmp_path / agent / "dqn" / "progress.csv")
        # Dumps at games 4 and 8, and the final one after the last game.
        assert len(rows) == NUM_GAMES // 4 + 1
        assert {"train/loss", "time/fps", "rollout/exploration_rate"} <= set(rows[0])
        assert any(r["train/loss"] for r in rows)
        assert {"explore/bonus_mean", "explore/num_rebuilds", "explore/games"} <= set(
            rows[0]
        )
        games = [int(float(r["explore/games"])) for r in rows if r["explore/games"]]
        assert games == [4, 8, 10]
        assert max(int(float(r["time/total_timesteps"] or 0)) for r in rows) <= steps
    stages = progress.stages()
    for agent in AGENTS:
        done = [d for d, _ in stages[f"explore {agent}"]]
        assert done == sorted(done) and done[-1] == NUM_GAMES
        assert {t for _, t in stages[f"explore {agent}"]} == {NUM_GAMES}
    check_bc_logs(tmp_path, watched, progress)


def check_bc_logs(root: Path, result: ImitationResult, progress: Progress) -> None:
    """One CSV row per BC epoch with the promised columns; epochs reported."""
    stages = progress.stages()
    for agent, metrics in zip(result.agents, result.info["bc_metrics"], strict=True):
        rows = read_csv(root / agent / "bc" / "progress.csv")
        assert len(rows) == metrics.epochs_run
        assert [int(float(r["bc/epoch"])) for r in rows] == list(
            range(1, metrics.epochs_run + 1)
        )
        assert {"bc/train_loss", "bc/seconds"} <= set(rows[0])
        np.testing.assert_allclose(
            [float(r["bc/train_loss"]) for r in rows], metrics.train_loss_history
        )
        reports = stages[f"bc {agent}"]
        assert [d for d, _ in reports] == list(range(1, metrics.epochs_run + 1))


@pytest.mark.parametrize("name", ["bc", "uniform", "dagger"])
def test_policy_explorer_methods_are_bit_identical_with_a_monitor(tmp_path, name):
    progress = Progress()
    plain = run(name, None)
    with RunMonitor(tmp_path, progress=progress) as monitor:
        watched = run(name, monitor)
    assert_same_result(plain, watched)
    check_bc_logs(tmp_path, watched, progress)
    stages = progress.stages()
    if name == "dagger":
        rounds = min(4, NUM_GAMES)
        assert stages["rounds"] == [(r, rounds) for r in range(1, rounds + 1)]
        assert (tmp_path / AGENTS[0] / "bc_round0" / "progress.csv").exists()
        assert stages[f"explore {AGENTS[0]} round 0"][-1] == (3, 3)
    else:
        for agent in AGENTS:
            assert stages[f"explore {agent}"] == [
                (k, NUM_GAMES) for k in range(1, NUM_GAMES + 1)
            ]


def test_bc_validation_split_logs_val_loss(tmp_path):
    bc = BCConfig(
        min_epochs=2,
        min_steps=1,
        trainer_kwargs={"validation_fraction": 0.3, "patience": 1},
    )
    progress = Progress()
    with RunMonitor(tmp_path, progress=progress) as monitor:
        result = make_algorithm(
            "bc", PROBLEM, budget=6, seed=0, bc=bc, device="cpu", monitor=monitor
        ).run()
    for agent, metrics in zip(AGENTS, result.info["bc_metrics"], strict=True):
        rows = read_csv(tmp_path / agent / "bc" / "progress.csv")
        np.testing.assert_allclose(
            [float(r["bc/val_loss"]) for r in rows], metrics.val_loss_history
        )
        assert progress.stages()[f"bc {agent}"][-1][0] in (
            metrics.epochs_run,
            2,  # early stopping reports the stage as done
        )


@functools.cache
def gridworld_problem() -> ImitationProblem:
    game = make_gridworld_game(size=3)
    feats = [tabular_features(game, i) for i in range(2)]
    return linear_problem(game, solve_zero_sum(game).policies, feats)


@pytest.mark.parametrize("name", ["lsvi-ucb-zero", "uniform"])
def test_model_based_methods_are_bit_identical_with_a_monitor(tmp_path, name):
    problem = gridworld_problem()
    progress = Progress()
    plain = run(name, None, problem=problem, budget=30)
    with RunMonitor(tmp_path, progress=progress) as monitor:
        watched = run(name, monitor, problem=problem, budget=30)
    assert_same_result(plain, watched)
    stages = progress.stages()
    assert stages["players"] == [(1, 2), (2, 2)]
    for agent in problem.agents:
        done = [d for d, _ in stages[f"episodes {agent}"]]
        assert done == sorted(done) and done[-1] == 30
    for agent, data in zip(problem.agents, watched.datasets, strict=True):
        (row,) = read_csv(tmp_path / agent / "bc" / "progress.csv")
        assert int(float(row["bc/num_queries"])) == data.num_queries
        assert {"explore/steps", "bc/distinct_states", "bc/seconds"} <= set(row)
    if name == "lsvi-ucb-zero":
        rows = read_csv(tmp_path / problem.agents[0] / "lsvi" / "progress.csv")
        assert [int(float(r["lsvi/episode"])) for r in rows] == list(range(1, 31))
        assert {"lsvi/steps", "lsvi/episode_length", "lsvi/optimistic_value"} <= set(
            rows[0]
        )
        assert int(float(rows[-1]["lsvi/steps"])) == watched.explorer_steps[0]


@pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None, reason="tensorboard not installed"
)
def test_tensorboard_event_files_appear(tmp_path):
    with RunMonitor(
        tmp_path / "csv", tensorboard_dir=tmp_path / "tb", progress=None
    ) as monitor:
        result = run("bc", monitor, budget=3)
    for agent in result.agents:
        assert list((tmp_path / "tb" / agent / "bc").glob("events.out.tfevents.*"))
        assert (tmp_path / "csv" / agent / "bc" / "progress.csv").exists()
