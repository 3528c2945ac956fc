"""``mail-gym run`` under SIGINT, SIGTERM and SIGKILL: no stray workers, resumable.

Each test starts a real sweep (2 forked workers, 3 neural gridworld runs of
a few seconds each) in its own session, signals it once a run is recorded, checks
that every worker process is gone within seconds, and that ``--resume`` then
runs only the missing runs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.pipeline.records import RunRecord, read_run_file

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; Linux signals"
)

#: 3 runs (BC, 3 seeds) of 3-5 s each (neural BC training), on 2 workers.
SWEEP = [
    "run",
    "--game", "gridworld",
    "--policy-class", "neural",
    "--algos", "bc",
    "--budgets", "5",
    "--seeds", "0", "1", "2",
    "--workers", "2",
    "--threads", "1",
    "--device", "cpu",
    "--no-progress",
]  # fmt: skip
RUNS = 3
#: Seconds to wait for the first record, for the sweep to exit, for its
#: workers to go, and for the resumed sweep.
FIRST_RECORD_S, EXIT_S, WORKERS_GONE_S, RESUME_S = 60.0, 20.0, 10.0, 90.0


def _command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "agents.cli", *SWEEP, "--out", str(out), *extra]


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[3])
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}",
    }


def _stat(pid: int) -> tuple[str, int] | None:
    """The state and parent pid of a process from /proc (None: gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw.rsplit(")", 1)[1].split()  # after "pid (comm)"
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _children(parent: int) -> set[int]:
    """The live processes whose parent is ``parent``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == parent and stat[0] != "Z":
                found.add(int(entry.name))
    return found


def _records(out: Path) -> dict[str, int]:
    """The run files in ``out/records`` (all must load) and their mtimes."""
    files = sorted((out / "records").glob("*.json"))
    for path in files:
        outcome, _ = read_run_file(path)
        assert isinstance(outcome, RunRecord), path
    return {path.name: path.stat().st_mtime_ns for path in files}


def _kill(pids: set[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class _Sweep:
    """A ``mail-gym run`` subprocess and every worker seen under it."""

    def __init__(self, out: Path, log: Path) -> None:
        self.stderr_path = log
        with open(log, "wb") as stderr:
            self.proc = subprocess.Popen(
                _command(out),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=_env(),
                start_new_session=True,
            )
        self.workers: set[int] = set()

    def wait_for_record(self, out: Path) -> None:
        """Poll until a run is recorded, noting the workers meanwhile."""
        deadline = time.monotonic() + FIRST_RECORD_S
        while not any((out / "records").glob("*.json")):
            self.workers |= _children(self.proc.pid)
            assert self.proc.poll() is None, self.stderr()
            assert time.monotonic() < deadline, "no run recorded in time"
            time.sleep(0.05)
        self.workers |= _children(self.proc.pid)
        assert self.workers, "the sweep started no worker process"

    def wait_workers_gone(self) -> set[int]:
        """The workers still running after :data:`WORKERS_GONE_S` seconds."""
        deadline = time.monotonic() + WORKERS_GONE_S
        while time.monotonic() < deadline:
            left = {pid for pid in self.workers if _alive(pid)}
            if not left:
                return left
            time.sleep(0.05)
        return {pid for pid in self.workers if _alive(pid)}

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def cleanup(self) -> None:
        """Leave nothing behind, even when a check failed."""
        if self.proc.poll() is None:
            self.workers |= _children(self.proc.pid)
            self.proc.kill()
        self.proc.wait(timeout=EXIT_S)
        _kill({pid for pid in self.workers if _alive(pid)})


@pytest.fixture
def sweep(tmp_path: Path) -> Iterator[tuple[_Sweep, Path]]:
    out = tmp_path / "out"
    run = _Sweep(out, tmp_path / "stderr.txt")
    try:
        yield run, out
    finally:
        run.cleanup()


def _check_resume(out: Path, before: dict[str, int]) -> None:
    """``--resume`` runs only the missing runs and ends with all of them."""
    done = subprocess.run(
        _command(out, "--resume"),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=RESUME_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(before)} of {RUNS} runs already recorded" in done.stdout
    after = _records(out)
    assert len(after) == RUNS
    assert {name: after[name] for name in before} == before  # not run again
    assert (out / "results.json").is_file()


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_interrupt_stops_workers_and_keeps_records(sweep, signum, code):
    run, out = sweep
    run.wait_for_record(out)
    if signum == signal.SIGINT:  # Ctrl-C: the terminal signals the whole group
        os.killpg(run.proc.pid, signum)
    else:
        run.proc.send_signal(signum)
    assert run.proc.wait(timeout=EXIT_S) == code, run.stderr()
    assert not run.wait_workers_gone()
    stderr = run.stderr()
    assert "Traceback" not in stderr, stderr
    before = _records(out)
    assert 1 <= len(before) < RUNS
    name = signal.Signals(signum).name
    line = (
        f"mail-gym: interrupted by {name}; {len(before)} of {RUNS} runs recorded "
        f"under {out / 'records'} (rerun with --resume)"
    )
    assert re.search(f"^{re.escape(line)}$", stderr, re.MULTILINE), stderr
    _check_resume(out, before)


def test_killed_sweep_takes_its_workers_along(sweep):
    run, out = sweep
    run.wait_for_record(out)
    run.proc.kill()
    assert run.proc.wait(timeout=EXIT_S) == -signal.SIGKILL
    assert not run.wait_workers_gone()
    before = _records(out)
    assert 1 <= len(before) < RUNS
    _check_resume(out, before)
