"""The Ray executor: the same records as the local pool and one process, from Python and the CLI.

Skipped without Ray (``pip install 'mail-gym[ray]'``; the ``dev`` extra has it,
so CI runs these).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from agents.bc.profile import BCConfig
from agents.cli import main
from agents.pipeline import Pipeline, reaper

ray = pytest.importorskip("ray")

from agents.pipeline.executors import RayExecutor  # noqa: E402

torch.set_num_threads(1)

TIMINGS = ("wall_seconds", "explore_seconds", "bc_seconds")
#: Small BC so that the Tic-Tac-Toe runs take a second each.
SMALL_BC = BCConfig(min_epochs=2, min_steps=30)


@pytest.fixture(scope="module")
def executor():
    pool = RayExecutor(local_cpus=2)
    yield pool
    pool.shutdown()


def _outcomes(result):
    """Everything a record says but its (machine-dependent) timings."""
    return [
        dataclasses.replace(r, **dict.fromkeys(TIMINGS, 0.0)) for r in result.records
    ]


@pytest.mark.parametrize(
    "sweep",
    [
        {"game": "gridworld", "budgets": [2, 5]},
        {"game": "tictactoe", "budgets": [2, 3], "bc": SMALL_BC},
    ],
    ids=["gridworld", "tictactoe"],
)
def test_ray_gives_the_records_of_one_process_and_of_the_pool(executor, sweep):
    def run(**kwargs):
        return Pipeline(
            **sweep, seeds=[0, 1, 2], progress=False, threads=1, **kwargs
        ).run()

    serial = run(workers=1)
    on_ray = run(executor=executor)
    assert len(on_ray.records) == 3 * 2 * 3
    assert _outcomes(on_ray) == _outcomes(serial)
    assert on_ray.config["executor"] == "RayExecutor"
    assert _outcomes(run(workers=2)) == _outcomes(serial)  # the local pool


def test_a_failing_ray_task_is_recorded_with_its_own_error(executor, tmp_path):
    def boom() -> None:
        raise KeyError("the expert server went away")

    future = executor.submit(boom)
    with pytest.raises(KeyError, match="expert server"):
        future.result()
    assert executor.submit(pow, 2, 10).result() == 1024


def test_cancel_stops_a_running_ray_task(executor):
    import time

    future = executor.submit(time.sleep, 60)
    time.sleep(1.0)
    start = time.monotonic()
    assert future.cancel() and future.cancelled()
    assert time.monotonic() - start < 10
    assert executor.submit(int, "7").result() == 7  # the cluster still serves


def test_cli_runs_a_sweep_on_ray(executor, tmp_path, capsys):
    out = tmp_path / "grid"
    args = ["run", "--game", "gridworld", "--budgets", "2", "--seeds", "0", "1"]
    assert main([*args, "--executor", "ray", "--out", str(out), "--no-progress"]) == 0
    assert "Ray executor" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "local"), "--no-progress"]) == 0
    ray_records = json.loads((out / "results.json").read_text())["records"]
    local = json.loads((tmp_path / "local" / "results.json").read_text())["records"]

    def untimed(records):
        return [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]

    assert untimed(ray_records) == untimed(local)
    assert len(list((out / "records").glob("*.json"))) == 6


def test_resources_are_checked():
    with pytest.raises(ValueError, match="num_cpus must be >= 0"):
        RayExecutor(num_cpus=-1)
    with pytest.raises(ValueError, match="local_cpus must be a positive integer"):
        RayExecutor(local_cpus=0)


@pytest.mark.skipif(not reaper.supported(), reason="reads the process tree in /proc")
@pytest.mark.parametrize(
    ("signum", "code"),
    [
        # SIGTERM takes the CLI's path of SIGINT (tested on the local pool).
        pytest.param(signal.SIGTERM, 143, marks=pytest.mark.slow),
        (signal.SIGKILL, -signal.SIGKILL),
    ],
)
def test_a_signalled_ray_sweep_leaves_no_process(tmp_path, signum, code):
    """SIGTERM stops the sweep and its local Ray; SIGKILL too (the reaper)."""
    out = tmp_path / "out"
    root = str(Path(__file__).resolve().parents[3])
    command = [
        sys.executable, "-m", "agents.cli", "run",
        "--game", "gridworld", "--policy-class", "neural", "--algos", "bc",
        "--budgets", "5", "--seeds", "0", "1", "2", "3",
        "--executor", "ray", "--workers", "2", "--device", "cpu",
        "--no-progress", "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": root}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while not any((out / "records").glob("*.json")):
            seen |= reaper.descendants(proc.pid)
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no run recorded in time"
            time.sleep(0.1)
        seen |= reaper.descendants(proc.pid)
        assert len(seen) >= 3  # Ray's GCS, raylet, workers, the reaper
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == code
        deadline = time.monotonic() + 20
        left = seen
        while left and time.monotonic() < deadline:
            left = {p for p in seen if reaper._alive(p)}
            time.sleep(0.2)
        assert not left, f"processes left after {signal.Signals(signum).name}: {left}"
        if signum == signal.SIGTERM:
            assert "Traceback" not in proc.stderr.read().decode()
        assert list((out / "records").glob("*.json"))  # finished runs stay
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in seen:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
