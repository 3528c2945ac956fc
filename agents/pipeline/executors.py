"""Where a sweep's runs execute: the local process pool, or Ray (one machine or a cluster).

:class:`~agents.pipeline.runner.Pipeline` takes any
:class:`concurrent.futures.Executor`. :class:`RayExecutor` is one backed by
`Ray <https://docs.ray.io>`_ (optional extra ``mail-gym[ray]``): every
submitted call becomes a Ray task that reserves ``num_cpus`` CPUs (and
``num_gpus``, a fraction of a GPU, for CUDA runs). Without an address it
joins the cluster named by the ``RAY_ADDRESS`` environment variable, and
starts a local Ray instance when there is none; ``shutdown`` cancels what is
still pending or running (``cancel_futures=True``) and stops the local
instance it started. The runs seed themselves, so their records are the same
as the local pool's. A local instance dies with the process that started it,
even by SIGKILL (a :mod:`~agents.pipeline.reaper` process watches it).

On a cluster, every node needs the same ``mail-gym`` installed (or pass a
Ray ``runtime_env`` through ``init_kwargs``)::

    ray start --head                       # on the head node
    ray start --address=<head>:6379        # on every other node
    RAY_ADDRESS=<head>:6379 mail-gym run --executor ray --seeds 0 1 2 3 4

Example:
    >>> executor_names()
    ('local', 'ray')
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, InvalidStateError
from typing import Any

from agents.common import check_positive_int
from agents.pipeline import reaper
from mail_envs.core import check_real

__all__ = ["RayExecutor", "executor_names", "ray_available"]


def executor_names() -> tuple[str, ...]:
    """The names ``mail-gym run --executor`` accepts."""
    return ("local", "ray")


def ray_available() -> bool:
    """Whether Ray can be imported here."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ValueError(
            "the Ray executor needs Ray, which is not installed: "
            "pip install 'mail-gym[ray]'"
        ) from exc
    return ray


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What a Ray task runs: the submitted call."""
    return fn(*args, **kwargs)


class _RayFuture(Future):
    """A future whose ``cancel`` also cancels its Ray task (pending or running)."""

    def __init__(self, ray: Any, ref: Any) -> None:
        super().__init__()
        self._ray = ray
        self._ref = ref
        ref.future().add_done_callback(self._copy)

    def _copy(self, inner: Future) -> None:
        try:
            if inner.cancelled():
                super().cancel()
            elif inner.exception() is not None:
                self.set_exception(_unwrap(inner.exception()))
            else:
                self.set_result(inner.result())
        except InvalidStateError:  # cancelled meanwhile
            pass

    def cancel(self) -> bool:
        """Cancel the Ray task (forcefully if it runs) and this future."""
        if self.done():
            return False
        try:
            self._ray.cancel(self._ref, force=True)
        except Exception:  # the task finished or its worker is gone
            pass
        return super().cancel()


def _unwrap(exc: BaseException | None) -> BaseException | None:
    """The user's exception inside a Ray task error, if Ray kept it."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


class RayExecutor(Executor):
    """A :class:`concurrent.futures.Executor` that runs every call as a Ray task.

    Args:
        address: The Ray cluster to join (default: ``RAY_ADDRESS`` when set,
            else a new local instance). Ignored when Ray is already
            initialized in this process.
        num_cpus: CPUs each task reserves (positive).
        num_gpus: GPUs (a fraction is fine) each task reserves; 0 for CPU
            runs.
        local_cpus: CPUs of a local instance this executor starts (default:
            Ray's choice, all of them).
        init_kwargs: Further keywords of ``ray.init`` (e.g. ``runtime_env``).

    Raises:
        ValueError: If Ray is not installed (the message says how to install
            it), or a resource count is invalid.
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
        local_cpus: int | None = None,
        init_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        num_cpus = check_real("num_cpus", num_cpus, minimum=0.0)
        num_gpus = check_real("num_gpus", num_gpus, minimum=0.0)
        if local_cpus is not None:
            local_cpus = check_positive_int("local_cpus", local_cpus)
        ray = _import_ray()
        self._ray = ray
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self._lock = threading.Lock()
        self._futures: list[_RayFuture] = []
        self._closed = False
        self._reaper: subprocess.Popen[bytes] | None = None
        self.started_ray = not ray.is_initialized()
        if self.started_ray:
            address = address or os.environ.get("RAY_ADDRESS") or None
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": "ERROR",
                "configure_logging": True,
                **(init_kwargs or {}),
            }
            if address is None and local_cpus is not None:
                kwargs.setdefault("num_cpus", local_cpus)
            spare = reaper.descendants(os.getpid()) if reaper.supported() else set()
            ray.init(address=address, **kwargs)
            if address is None and reaper.supported():
                # Killed outright, this process could not stop the instance.
                self._reaper = subprocess.Popen(
                    [
                        sys.executable,
                        reaper.__file__,
                        str(os.getpid()),
                        "0.5",
                        *map(str, sorted(spare)),
                    ],
                    stdin=subprocess.DEVNULL,
                )
        self._task = ray.remote(_call)

    @property
    def address(self) -> str:
        """The address of the Ray cluster the tasks go to."""
        return str(self._ray.get_runtime_context().gcs_address)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` as a Ray task; its future."""
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a RayExecutor after shutdown")
            ref = self._task.options(
                num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=0
            ).remote(fn, args, kwargs)
            future = _RayFuture(self._ray, ref)
            self._futures.append(future)
            self._futures = [f for f in self._futures if not f.done()]
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking calls; cancel the unfinished ones if asked; stop a local Ray.

        Args:
            wait: Wait for the unfinished calls first (unless cancelled).
            cancel_futures: Cancel every unfinished call, running ones
                included (their Ray workers are killed).
        """
        with self._lock:
            self._closed = True
            futures = list(self._futures)
        if cancel_futures:
            for future in futures:
                future.cancel()
        elif wait:
            for future in futures:
                try:
                    future.exception()
                except BaseException:
                    pass
        if self.started_ray and self._ray.is_initialized():
            self._ray.shutdown()
        if self._reaper is not None:
            self._reaper.terminate()
            self._reaper.wait()
            self._reaper = None
