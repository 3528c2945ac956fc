"""The sweep's worker processes: how they start, and how they stop.

* :func:`mp_context` — fork for single-threaded CPU workers, else spawn;
* :func:`start_worker` — the pool's initializer: a worker ignores SIGINT, takes
  SIGTERM's default action and dies with its parent
  (``prctl(PR_SET_PDEATHSIG)`` on Linux, a watchdog thread elsewhere);
* :func:`terminate_pool` — cancel the queued jobs and end the workers now;
* :func:`report` and :class:`ReportRelay` — a run's progress reports, from a
  worker's queue to the sweep's progress bar.

Example:
    >>> mp_context("cpu", 1).get_start_method() in ("fork", "spawn")
    True
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm import std as tqdm_std

from agents.common import resolve_device

__all__ = ["ReportRelay", "mp_context", "report", "start_worker", "terminate_pool"]

#: ``"reports"``: the queue this worker's runs report their progress to (None:
#: not a worker of a sweep's own pool, e.g. a Ray task; the reports are dropped).
_WORKER: dict[str, Any] = {"reports": None}


def mp_context(device: str, threads: int | None) -> multiprocessing.context.BaseContext:
    """Fork for single-threaded CPU workers where the platform can; else spawn.

    CUDA cannot be used in a forked child, and neither can GNU OpenMP (torch's
    CPU thread pool) once the parent has used it: a forked worker with more
    than one thread can deadlock.
    """
    if (
        resolve_device(device).type == "cpu"
        and threads == 1
        and "fork" in multiprocessing.get_all_start_methods()
    ):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def start_worker(parent_pid: int, reports: Any = None) -> None:
    """Initializer of the sweep's worker processes: tie each to its parent.

    The worker ignores SIGINT (Ctrl-C reaches the terminal's whole process
    group; the parent decides), takes SIGTERM's default action (the parent
    terminates it; a forked worker would otherwise inherit the parent's
    handler), and exits when the parent dies, however it dies: on Linux the
    kernel sends it SIGKILL (``prctl(PR_SET_PDEATHSIG)``), elsewhere a daemon
    thread polls :func:`os.getppid`. A parent that died before this ran is
    caught by comparing :func:`os.getppid` with ``parent_pid``.

    Args:
        parent_pid: The pid of the process that runs the sweep.
        reports: A multiprocessing queue for the runs' progress reports
            (:func:`report`), read by the sweep's :class:`ReportRelay`.
    """
    _WORKER["reports"] = reports
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # tqdm's default lock holds a named semaphore under spawn, which a
    # terminated worker cannot release (the resource tracker then warns).
    tqdm_std.tqdm.set_lock(threading.RLock())
    if not _die_with_parent():
        threading.Thread(
            target=_watch_parent, args=(parent_pid,), name="watch-parent", daemon=True
        ).start()
    if os.getppid() != parent_pid:
        os._exit(1)


#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False elsewhere.

    The signal is sent when the thread that forked this process ends; the
    pool's processes are started by the thread that runs :meth:`agents.pipeline.runner.Pipeline.run`,
    which outlives the pool.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int, interval: float = 1.0) -> None:
    """Exit this process as soon as its parent is no longer ``parent_pid``."""
    while os.getppid() == parent_pid:
        time.sleep(interval)
    os._exit(1)


def terminate_pool(pool: ProcessPoolExecutor, timeout: float = 5.0) -> None:
    """Cancel ``pool``'s queued jobs and end its workers now (runs in flight are lost).

    ``ProcessPoolExecutor.shutdown`` waits for the running jobs, and has no
    way to stop them before Python 3.14 (``terminate_workers``), so the
    worker processes are terminated here (SIGTERM, then SIGKILL after
    ``timeout`` seconds); the pool's manager thread then sees them gone and
    ends.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(timeout)
    if manager is not None:
        manager.join(timeout)


def report(job: tuple[str, int, int], stage: str, done: int, total: int) -> None:
    """Send a run's progress report to the sweep (dropped outside its workers)."""
    reports = _WORKER["reports"]
    if reports is None:
        return
    try:
        reports.put_nowait((job, stage, int(done), int(total)))
    except (ValueError, OSError, queue.Full):  # the queue is closed: the sweep ends
        pass


class ReportRelay:
    """A daemon thread that hands the workers' reports to ``callback``.

    Args:
        reports: The queue the workers report to (:func:`start_worker`).
        callback: ``(job, stage, done, total) -> None``.
    """

    def __init__(
        self,
        reports: Any,
        callback: Callable[[tuple[str, int, int], str, int, int], None],
    ) -> None:
        self.reports = reports
        self.callback = callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, name="reports", daemon=True)

    def start(self) -> None:
        """Start relaying."""
        self._thread.start()

    def _relay(self) -> None:
        while not self._stop.is_set():
            try:
                job, stage, done, total = self.reports.get(timeout=0.2)
            except queue.Empty:
                continue
            except Exception:  # a worker died mid-write, or the queue closed
                return
            self.callback(tuple(job), stage, done, total)

    def stop(self) -> None:
        """Stop relaying and close the queue (reports still queued are dropped)."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.reports.close()
        self.reports.cancel_join_thread()
