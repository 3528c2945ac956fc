"""Kill a process's descendants the moment it dies, however it dies (Linux).

A local Ray instance started by a sweep (:class:`~agents.pipeline.executors.RayExecutor`)
is a tree of processes under the sweep's process (GCS server, raylet, its
agents and workers). Killed outright (SIGKILL), the sweep cannot stop them,
and some of them linger for a minute or more. This script, started beside the
instance, records the sweep's descendants every ``interval`` seconds and,
once the sweep is gone, SIGKILLs every one it recorded.

It is run by path (``python reaper.py <pid>``), so it imports nothing but the
standard library, and reads the process tree from ``/proc``; elsewhere it
exits at once (:func:`supported`).

Example:
    >>> import os
    >>> supported() == os.path.isdir("/proc/self/task")
    True
    >>> os.getpid() in descendants(os.getppid()) or not supported()
    True
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

__all__ = ["descendants", "reap", "supported"]


def supported() -> bool:
    """Whether the process tree can be read here (``/proc``, i.e. Linux)."""
    return Path("/proc/self/task").is_dir()


def _parents() -> dict[int, int]:
    """``pid -> parent pid`` of every process that can be read now."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` in the process tree now."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """``pid`` runs and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def reap(pid: int, interval: float = 0.5, spare: frozenset[int] = frozenset()) -> int:
    """Watch ``pid``; when it is gone, SIGKILL its last known descendants.

    Args:
        pid: The process to watch.
        interval: Seconds between two looks at the process tree.
        spare: Processes (and their descendants) never to kill: those that
            were there before the reaper started.

    Returns:
        How many processes were sent SIGKILL.
    """
    me = os.getpid()
    known: set[int] = set()
    while _alive(pid):
        spared = set(spare).union(*(descendants(p) for p in spare))
        known |= descendants(pid) - {me} - spared
        time.sleep(interval)
    killed = 0
    for victim in sorted(known):
        try:
            os.kill(victim, signal.SIGKILL)
            killed += 1
        except OSError:  # already gone
            pass
    return killed


def main(argv: list[str]) -> int:
    """``reaper.py <pid> <interval> [spared pid ...]``."""
    if not supported():
        return 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the sweep's Ctrl-C is not ours
    reap(int(argv[1]), float(argv[2]), frozenset(int(p) for p in argv[3:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
