"""Watch a run: progress callbacks and Stable-Baselines3 logs (CSV, TensorBoard).

A :class:`RunMonitor` is handed to every method (``make_algorithm(...,
monitor=...)``). It does two things and nothing else:

* :meth:`RunMonitor.report` forwards ``(stage, done, total)`` to a progress
  callback (``"explore player_0"``, ``"bc player_1"``, ``"episodes player_0"``);
* :meth:`RunMonitor.logger` gives an SB3
  :class:`~stable_baselines3.common.logger.Logger` per component
  (``"player_0/dqn"``, ``"player_1/bc"``) that writes ``progress.csv`` under
  ``log_dir/<name>`` and TensorBoard event files under
  ``tensorboard_dir/<name>``, so SB3's own ``train/``, ``rollout/`` and
  ``time/`` metrics land beside the methods' own.

Watching never changes a run: nothing here draws a random number or touches
a computation, so a run with a monitor gives bit-identical results to one
without. ``RunMonitor()`` (or :data:`NULL_MONITOR`) is a cheap no-op: its
loggers have no output formats and :meth:`~RunMonitor.report` does nothing.

A monitor holds plain paths and a callback; its open loggers are not part of
its pickled state, so a copy sent to a worker process starts with none.

Example:
    >>> import tempfile, pathlib
    >>> seen = []
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with RunMonitor(root, progress=lambda *a: seen.append(a)) as monitor:
    ...     logger = monitor.logger("player_0/bc")
    ...     logger.record("bc/train_loss", 0.5)
    ...     logger.dump(step=1)
    ...     monitor.report("bc player_0", 1, 1)
    >>> (root / "player_0" / "bc" / "progress.csv").read_text().splitlines()
    ['bc/train_loss', '0.5']
    >>> seen
    [('bc player_0', 1, 1)]
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any

from stable_baselines3.common.logger import KVWriter, Logger, make_output_format

__all__ = [
    "NULL_MONITOR",
    "ProgressCallback",
    "RunMonitor",
    "progress_every",
    "resolve_monitor",
]

#: ``progress(stage, done, total)``.
ProgressCallback = Callable[[str, int, int], None]


def progress_every(total: int, parts: int = 100) -> int:
    """Report every this many units so that a stage reports about ``parts`` times.

    Example:
        >>> progress_every(1000), progress_every(7)
        (10, 1)
    """
    return max(1, int(total) // parts)


def _check_name(name: str) -> PurePosixPath:
    """A logger name as a relative path of plain parts (``"player_0/dqn"``)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    path = PurePosixPath(name)
    parts = name.split("/")
    if not name or path.is_absolute() or any(p in ("", ".", "..") for p in parts):
        raise ValueError(
            f"name must be a relative path without '.' or '..' parts, got {name!r}"
        )
    return path


class RunMonitor:
    """Progress reports and SB3 loggers for one run (see the module docstring).

    Args:
        log_dir: Root of the CSV logs: ``logger(name)`` writes
            ``log_dir/name/progress.csv``. None: no CSV.
        tensorboard_dir: Root of the TensorBoard logs: ``logger(name)`` writes
            event files under ``tensorboard_dir/name``. None: no TensorBoard.
        progress: ``progress(stage, done, total)``, called by :meth:`report`.

    Raises:
        ValueError: If ``tensorboard_dir`` is given but the ``tensorboard``
            package is not installed.
        TypeError: If ``progress`` is given and not callable.

    Example:
        >>> monitor = RunMonitor()
        >>> monitor.enabled, monitor.logger("player_0/dqn").output_formats
        (False, [])
        >>> monitor.report("explore player_0", 1, 10)  # no callback: nothing
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str] | None = None,
        *,
        tensorboard_dir: str | os.PathLike[str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        if (
            tensorboard_dir is not None
            and importlib.util.find_spec("tensorboard") is None
        ):
            raise ValueError(
                f"tensorboard_dir={str(tensorboard_dir)!r} needs the tensorboard "
                "package: pip install tensorboard"
            )
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be callable, got {progress!r}")
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.tensorboard_dir = (
            None if tensorboard_dir is None else Path(tensorboard_dir)
        )
        self.progress = progress
        self._open: list[Logger] = []

    @classmethod
    def null(cls) -> RunMonitor:
        """The no-op monitor (:data:`NULL_MONITOR`)."""
        return NULL_MONITOR

    @property
    def enabled(self) -> bool:
        """Whether :meth:`logger` writes anything."""
        return self.log_dir is not None or self.tensorboard_dir is not None

    def logger(self, name: str) -> Logger:
        """An SB3 logger writing under ``<log_dir>/<name>`` (and ``<tensorboard_dir>/<name>``).

        Without ``log_dir`` and ``tensorboard_dir`` the logger has no output
        formats: recording into it is a dictionary write, dumping clears it.
        A second logger of the same name overwrites the first one's CSV.

        Args:
            name: Relative path of plain parts, e.g. ``"player_0/bc"``.

        Returns:
            The logger; :meth:`close` (or closing the logger) closes its files.

        Raises:
            ValueError: If ``name`` is empty, absolute or has ``.``/``..`` parts.
        """
        rel = _check_name(name)
        formats: list[KVWriter] = []
        folder: str | None = None
        if self.log_dir is not None:
            folder = str(self.log_dir.joinpath(*rel.parts))
            formats.append(make_output_format("csv", folder))
        if self.tensorboard_dir is not None:
            tb_folder = str(self.tensorboard_dir.joinpath(*rel.parts))
            formats.append(make_output_format("tensorboard", tb_folder))
            folder = folder or tb_folder
        logger = Logger(folder=folder, output_formats=formats)
        if formats:
            self._open.append(logger)
        return logger

    def report(self, stage: str, done: int, total: int) -> None:
        """Tell the progress callback that ``done`` of ``total`` units of ``stage`` are done."""
        if self.progress is not None:
            self.progress(stage, int(done), int(total))

    def close(self) -> None:
        """Close every logger this monitor opened (idempotent)."""
        while self._open:
            self._open.pop().close()

    def __enter__(self) -> RunMonitor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # Open loggers hold file handles: a copy starts with none.
        return {**self.__dict__, "_open": []}

    def __repr__(self) -> str:
        return (
            f"RunMonitor(log_dir={self.log_dir!r}, "
            f"tensorboard_dir={self.tensorboard_dir!r}, progress={self.progress!r})"
        )


#: The no-op monitor: the default of every method.
NULL_MONITOR = RunMonitor()


def resolve_monitor(monitor: RunMonitor | None) -> RunMonitor:
    """``monitor``, or :data:`NULL_MONITOR` for None.

    Raises:
        TypeError: If ``monitor`` is neither None nor a :class:`RunMonitor`.

    Example:
        >>> resolve_monitor(None) is NULL_MONITOR
        True
    """
    if monitor is None:
        return NULL_MONITOR
    if not isinstance(monitor, RunMonitor):
        raise TypeError(f"monitor must be a RunMonitor or None, got {monitor!r}")
    return monitor
