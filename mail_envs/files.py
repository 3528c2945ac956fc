"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every result, dataset and checkpoint of the package is written through
:func:`atomic_write`: the content goes to a temporary file in the target's
directory, is flushed to disk (``fsync``), made world-readable (``0o644``;
``mkstemp`` creates it owner-only) and moved into place with
:func:`os.replace`. On any error the temporary file is removed and the target
is left as it was.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_text(folder / "out.json", '{"ok": true}\\n').read_text()
    '{"ok": true}\\n'
    >>> sorted(p.name for p in folder.iterdir())
    ['out.json']
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_savefig", "atomic_write", "atomic_write_text"]


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Write ``path`` through ``write(tmp)`` on a temporary file beside it.

    Args:
        path: The target; its parent directories are created.
        write: Writes the whole content to the given temporary path (which
            already exists, empty).

    Returns:
        The target path.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_savefig(fig: Any, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """``fig.savefig`` to ``path`` atomically (format from the suffix unless given)."""
    fmt = kwargs.pop("format", Path(path).suffix.lstrip(".") or None)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, **kwargs))
