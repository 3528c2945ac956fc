"""What every algorithm shares: devices, seeds and argument checks.

* :func:`resolve_device` — ``"auto"`` to CUDA when present, else CPU; a CUDA
  device on a machine without one is a clear error;
* :func:`spawn_seeds` / :func:`int_seed` — THE seeding scheme: one
  ``numpy.random.SeedSequence`` per run, spawned per player and per component,
  turned into integers only where an API wants one (SB3, torch);
* :func:`check_positive_int` — integer arguments, named in the error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = [
    "check_positive_int",
    "fused_adam",
    "int_seed",
    "machine_info",
    "resolve_device",
    "spawn_seeds",
]


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an ``int`` if it is a positive integer (not a bool, not 2.9).

    Raises:
        ValueError: Naming ``name`` and the value otherwise.

    Example:
        >>> check_positive_int("num_games", 3)
        3
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def spawn_seeds(
    seed: int | np.random.SeedSequence, n: int
) -> list[np.random.SeedSequence]:
    """``n`` independent child seed sequences of ``seed`` (``SeedSequence.spawn``).

    Children of a ``SeedSequence`` are spawned afresh from its entropy and
    spawn key, so the same ``seed`` always gives the same children.

    Raises:
        ValueError: If ``seed`` is a negative or non-integer number.

    Example:
        >>> [int_seed(s) for s in spawn_seeds(0, 2)] == [int_seed(s) for s in spawn_seeds(0, 2)]
        True
    """
    if isinstance(seed, np.random.SeedSequence):
        root = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)
    else:
        if (
            isinstance(seed, bool)
            or not isinstance(seed, (int, np.integer))
            or seed < 0
        ):
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        root = np.random.SeedSequence(int(seed))
    return root.spawn(check_positive_int("n", n))


def int_seed(seed: np.random.SeedSequence) -> int:
    """A 31-bit integer drawn from a seed sequence, for APIs that take an int."""
    return int(seed.generate_state(1, dtype=np.uint32)[0] >> 1)


def fused_adam(device: str | torch.device) -> bool:
    """Whether ``torch.optim.Adam(fused=True)`` runs on ``device``.

    The fused kernel updates all parameters in one call: the same Adam
    update (up to floating-point rounding) at a third less time per step for
    the package's small networks on a CPU. CUDA has it, and CPUs from torch
    2.4 on.

    Example:
        >>> isinstance(fused_adam("cpu"), bool)
        True
    """
    resolved = resolve_device(device)
    if resolved.type == "cuda":
        return True
    major, minor = (int(p) for p in torch.__version__.split(".")[:2])
    return (major, minor) >= (2, 4)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Resolve ``"auto"`` to CUDA when available, else CPU.

    Args:
        device: ``"auto"``, or anything :class:`torch.device` accepts.

    Returns:
        The torch device.

    Raises:
        ValueError: If ``device`` is not ``"auto"``, a CPU or a CUDA device
            (``"mps"``, ``"meta"``... are refused: the package runs on CPU and
            CUDA only), or names a CUDA device that this machine (or this
            torch build) does not have.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = device if isinstance(device, torch.device) else torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}"
        ) from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {str(device)!r} "
            "(only CPU and CUDA are supported)"
        )
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(
                f"device {str(device)!r} needs CUDA, which is not available here "
                f"(torch {torch.__version__}); use 'cpu' or 'auto'"
            )
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(
                f"device {str(device)!r}: this machine has {count} CUDA device(s)"
            )
    return resolved


def machine_info(*packages: str) -> dict[str, Any]:
    """Where a benchmark's numbers come from: CPUs, platform, threads, versions.

    Args:
        packages: Further packages whose ``__version__`` to record (those
            that cannot be imported are left out); Python, numpy and torch
            are always recorded.

    Example:
        >>> info = machine_info("scipy")
        >>> info["cpus"] >= 1 and {"python", "numpy", "torch", "scipy"} <= set(info["versions"])
        True
    """
    import importlib
    import os
    import platform

    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }
    for name in packages:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        versions[name] = getattr(module, "__version__", "installed")
    return {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "omp_threads": os.environ.get("OMP_NUM_THREADS"),
        "versions": versions,
    }
