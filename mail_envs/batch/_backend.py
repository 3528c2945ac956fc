"""The small array namespace the batch engines are written against.

The engines use operators (``+ & | >> ==``), integer-array indexing into
lookup tables and the few functions of :class:`Backend`, which exist for numpy
arrays and for torch tensors (on any device). Integers are ``int64`` on both
(bit 63 is never used by a board), so one engine gives bit-identical results on
numpy and on torch, CPU or CUDA.

Randomness is counter-based: draw ``k`` of game ``g`` under seed ``s`` is a
pure function (SplitMix64, Steele, Lea and Flood 2014) of ``(s, g, k)``, so a
seeded batch is reproducible game by game whatever the batch size, and numpy
and torch draw the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mail_envs.core import check_seed

__all__ = ["Backend", "CounterRandom", "get_backend", "splitmix64"]

#: SplitMix64's constants as signed 64-bit integers (wrapping arithmetic).
_GOLDEN = 0x9E3779B97F4A7C15 - (1 << 64)
_MIX1 = 0xBF58476D1CE4E5B9 - (1 << 64)
_MIX2 = 0x94D049BB133111EB - (1 << 64)
_LOW53 = (1 << 53) - 1


def _shr(x: Any, k: int) -> Any:
    """Logical right shift of signed 64-bit integers."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def splitmix64(x: Any) -> Any:
    """SplitMix64's output function on ``int64`` arrays (numpy or torch), wrapping.

    ``splitmix64(x)`` is the value SplitMix64 returns from state ``x``; the
    first output from state 0 is ``0xE220A8397B1DCDAF`` (Vigna's reference
    ``splitmix64.c``).

    Example:
        >>> hex(int(splitmix64(np.array([0], dtype=np.int64))[0]) & (2**64 - 1))
        '0xe220a8397b1dcdaf'
    """
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ _shr(z, 30)) * _MIX1
        z = (z ^ _shr(z, 27)) * _MIX2
        return z ^ _shr(z, 31)


class Backend:
    """numpy or torch (on ``device``): the functions the engines need.

    Args:
        device: ``None`` or ``"numpy"`` for numpy arrays; ``"cpu"``,
            ``"cuda"``, ``"cuda:1"``, ``"auto"`` (CUDA when present) or a
            ``torch.device`` for torch tensors.

    Raises:
        ValueError: If ``device`` names neither numpy nor a torch device.
    """

    def __init__(self, device: Any = None) -> None:
        self.torch: Any = None
        if device is None or device == "numpy":
            self.device = None
            return
        import torch

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(
                f"device must be None, 'numpy', 'auto' or a torch device, got {device!r}"
            ) from err
        self.torch = torch

    @property
    def is_torch(self) -> bool:
        """Whether arrays are torch tensors."""
        return self.torch is not None

    def __repr__(self) -> str:
        return "Backend('numpy')" if self.torch is None else f"Backend({self.device})"

    def table(self, array: np.ndarray) -> Any:
        """A numpy lookup table as this backend's array (wide ints -> ``int64``)."""
        arr = np.ascontiguousarray(array)
        if arr.dtype.kind in "iu" and arr.dtype.itemsize > 2:
            arr = arr.astype(np.int64)
        if self.torch is None:
            arr.setflags(write=False)
            return arr
        return self.torch.from_numpy(arr.copy()).to(self.device)

    def int64(self, values: Any) -> Any:
        """``values`` (array-like, numpy or torch) as an ``int64`` array here."""
        if self.torch is None:
            if hasattr(values, "detach"):
                values = values.detach().cpu().numpy()
            return np.asarray(values, dtype=np.int64)
        return self.torch.as_tensor(
            np.asarray(values) if isinstance(values, list) else values,
            device=self.device,
        ).to(self.torch.int64)

    def zeros(self, n: int, dtype: str = "int64") -> Any:
        """A zero vector of ``n`` entries (``"int64"``, ``"bool"``, ``"float32"``)."""
        if self.torch is None:
            return np.zeros(n, dtype=dtype)
        return self.torch.zeros(n, dtype=getattr(self.torch, dtype), device=self.device)

    def arange(self, n: int) -> Any:
        """``0, 1, ..., n - 1`` as ``int64``."""
        if self.torch is None:
            return np.arange(n, dtype=np.int64)
        return self.torch.arange(n, device=self.device)

    def take(self, table: Any, index: Any) -> Any:
        """Rows ``table[index]`` (numpy's ``take`` is the fast gather)."""
        if self.torch is None:
            return table.take(index, axis=0)
        return table[index]

    def full(self, n: int, value: int) -> Any:
        """An ``int64`` vector of ``n`` entries equal to ``value``."""
        if self.torch is None:
            return np.full(n, value, dtype=np.int64)
        return self.torch.full((n,), value, dtype=self.torch.int64, device=self.device)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        """Elementwise ``a if cond else b``."""
        if self.torch is None:
            return np.where(cond, a, b)
        return self.torch.where(cond, a, b)

    def fill_where(self, x: Any, cond: Any, value: int) -> None:
        """Set ``x[cond] = value`` in place (``x`` must own its memory)."""
        if self.torch is None:
            np.copyto(x, value, where=cond)
        else:
            x.masked_fill_(cond, value)

    def any(self, x: Any) -> bool:
        """Whether any entry is true (a Python bool)."""
        return bool(x.any())

    def to_float(self, bits53: Any) -> Any:
        """``int64`` values below ``2**53`` times ``2**-53``, as float64."""
        if self.torch is None:
            return bits53.astype(np.float64) * (1.0 / (1 << 53))
        return bits53.to(self.torch.float64) * (1.0 / (1 << 53))

    def to_int64(self, x: Any) -> Any:
        """Cast to ``int64`` (truncating floats)."""
        if self.torch is None:
            return x.astype(np.int64, copy=False)
        return x.to(self.torch.int64)

    def to_numpy(self, x: Any) -> np.ndarray:
        """A numpy copy (or view) of ``x``."""
        if self.torch is None:
            return np.asarray(x)
        return x.detach().cpu().numpy()

    def sample(self, probs: Any, u: Any) -> Any:
        """Inverse-CDF draws: per row, the first action whose cumulative mass exceeds ``u``.

        Args:
            probs: ``(B, A)`` non-negative weights (rows need not sum to 1).
            u: ``(B,)`` uniforms in ``[0, 1)``.

        Returns:
            ``(B,)`` ``int64`` actions, clipped to ``A - 1``.
        """
        if self.torch is None:
            cumulative = np.cumsum(probs, axis=1)
            target = (u * cumulative[:, -1])[:, None]
            counts = (cumulative <= target).sum(axis=1)
            return np.minimum(counts, probs.shape[1] - 1).astype(np.int64)
        cumulative = self.torch.cumsum(probs, dim=1)
        target = (u * cumulative[:, -1])[:, None]
        counts = (cumulative <= target).sum(dim=1)
        return self.torch.clamp(counts, max=probs.shape[1] - 1).to(self.torch.int64)


class CounterRandom:
    """Per-game counter-based uniforms: draw ``k`` of game ``g`` depends on ``(seed, g, k)`` only.

    Args:
        backend: Where the arrays live.
        num_games: Batch size.
        seed: Integer seed (``None``: fresh entropy from numpy).

    Example:
        >>> rng = CounterRandom(Backend(), 3, seed=7)
        >>> first = rng.uniform()
        >>> bool((CounterRandom(Backend(), 5, seed=7).uniform()[:3] == first).all())
        True
    """

    def __init__(self, backend: Backend, num_games: int, seed: int | None) -> None:
        self.backend = backend
        self.num_games = num_games
        self.seed(seed)

    def seed(self, seed: int | None) -> None:
        """Restart every game's stream from ``seed`` (counters back to zero).

        Raises:
            ValueError: If ``seed`` is neither None nor a non-negative int.
        """
        seed = check_seed("seed", seed, allow_none=True)
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
        games = self.backend.arange(self.num_games)
        base = splitmix64(self.backend.int64([int(seed) & ((1 << 63) - 1)]))
        self.keys = splitmix64(base ^ splitmix64(games))
        self.counters = self.backend.zeros(self.num_games)

    def uniform(self, active: Any = None) -> Any:
        """One float64 uniform in ``[0, 1)`` per game; advances the games in ``active``.

        Args:
            active: ``(B,)`` bool; games whose counter advances (all if None).

        Returns:
            ``(B,)`` float64 uniforms.
        """
        with np.errstate(over="ignore"):
            bits = splitmix64(self.keys + self.counters * _GOLDEN)
        if active is None:
            self.counters = self.counters + 1
        else:
            self.counters = self.counters + active
        return self.backend.to_float(_shr(bits, 11) & _LOW53)


def get_backend(device: Any = None) -> Backend:
    """:class:`Backend` for ``device`` (a :class:`Backend` is returned as is)."""
    return device if isinstance(device, Backend) else Backend(device)
