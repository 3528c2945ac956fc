"""Datasets of expert labels: record queries, write and load ``.npz`` files.

:class:`ExpertLabelRecorder` collects one row per expert query —
``(observation, action mask, expert action, expert probs, agent, episode id,
step)`` — usually fed by an
:class:`~mail_wrappers.expert_query.ExpertQueryWrapper` (pass it as
``recorder=``). :meth:`ExpertLabelRecorder.write` stores the rows in one
``.npz`` file; :func:`load_expert_labels` reads it back as a frozen
:class:`ExpertLabelDataset`.

File format (``format_version`` 1), all arrays loadable with
``allow_pickle=False``:

==================  ==============  ============================================
key                 dtype           shape
==================  ==============  ============================================
``observations``    as recorded     ``(N, *obs_shape)``
``action_masks``    ``bool``        ``(N, A)``
``expert_actions``  ``int64``       ``(N,)``
``expert_probs``    ``float64``     ``(N, A)``
``agents``          ``int64``       ``(N,)`` index into ``metadata["agents"]``
``episodes``        ``int64``       ``(N,)`` episode id (resets of the env)
``steps``           ``int64``       ``(N,)`` env step within the episode
``metadata``        ``uint8``       ``(M,)`` UTF-8 JSON, see below
==================  ==============  ============================================

The metadata JSON object is stored *inside* the npz as the UTF-8 bytes of
the JSON text (a ``uint8`` array), so one file is the whole dataset. It holds
``format_version``, ``game_id``, ``game_version``, ``expert``, ``seed``,
``mail_envs_version`` (``mail_envs.__version__`` at writing time), ``agents``
(the agent names), ``num_rows`` and any ``extra`` entries the user adds.

Writes are atomic: the file is written to a temporary file in the target
directory and moved into place with ``os.replace``, so a reader never sees
a half-written dataset.

Both writing and loading validate the dataset: dtypes and shapes, float
observations finite, actions legal, ``num_rows`` equal to the number of rows,
and every ``expert_probs`` row a distribution over the legal actions of its
mask (finite, non-negative, legal mass within 1e-6 of 1, at most 1e-9 on
illegal actions: the tolerances with which the wrappers accept an expert's
output).

### Version History

* v0: initial release (file ``format_version`` 1).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import mail_envs
from mail_envs.files import atomic_write
from mail_wrappers._policy import ILLEGAL_MASS_TOL, SUM_TOL

__all__ = [
    "FORMAT_VERSION",
    "ExpertLabelDataset",
    "ExpertLabelRecorder",
    "load_expert_labels",
    "save_expert_labels",
]

#: Version of the ``.npz`` layout written by :meth:`ExpertLabelRecorder.write`.
FORMAT_VERSION = 1

_INT_KEYS = ("expert_actions", "agents", "episodes", "steps")
_KEYS = ("observations", "action_masks", "expert_probs", *_INT_KEYS, "metadata")


@dataclass(frozen=True, eq=False)
class ExpertLabelDataset:
    """Expert labels as arrays (see the module docstring for the layout).

    Attributes:
        observations: ``(N, *obs_shape)`` observations.
        action_masks: ``(N, A)`` boolean masks.
        expert_actions: ``(N,)`` sampled expert actions.
        expert_probs: ``(N, A)`` expert distributions.
        agents: ``(N,)`` indices into ``agent_names``.
        episodes: ``(N,)`` episode ids.
        steps: ``(N,)`` step within the episode.
        metadata: The JSON metadata (a dict).
    """

    observations: np.ndarray
    action_masks: np.ndarray
    expert_actions: np.ndarray
    expert_probs: np.ndarray
    agents: np.ndarray
    episodes: np.ndarray
    steps: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.expert_actions.shape[0])

    @property
    def num_queries(self) -> int:
        """Number of rows: expert queries (every row is one)."""
        return len(self)

    @property
    def num_distinct_states(self) -> int:
        """Number of distinct labelled observations: how much of the game the data covers."""
        if len(self) == 0:
            return 0
        flat = np.ascontiguousarray(self.observations.reshape(len(self), -1))
        return int(np.unique(flat, axis=0).shape[0])

    @property
    def agent_names(self) -> tuple[str, ...]:
        """Names of the agents, indexed by :attr:`agents`."""
        return tuple(self.metadata.get("agents", ()))

    def take(self, rows: np.ndarray) -> ExpertLabelDataset:
        """The selected rows (a boolean mask or indices) as a new dataset.

        ``metadata["num_rows"]`` becomes the number of rows selected; the
        agent names (and so the indices in :attr:`agents`) are kept.

        Example:
            >>> rec = ExpertLabelRecorder(game_id="mail/tictactoe-v0", expert="uniform")
            >>> for episode in range(3):
            ...     rec.add(observation=np.full(2, episode), action_mask=np.ones(2, bool),
            ...             expert_action=0, expert_probs=np.array([1.0, 0.0]),
            ...             agent="player_1", episode=episode, step=0)
            >>> data = rec.dataset()
            >>> len(data.take(data.episodes < 2)), data.take(data.episodes < 2).metadata["num_rows"]
            (2, 2)
        """
        index = np.asarray(rows)
        if index.dtype == np.bool_ and index.shape != (len(self),):
            raise ValueError(
                f"a boolean row mask must have shape ({len(self)},), got {index.shape}"
            )
        if index.dtype != np.bool_:
            index = index.astype(np.int64, copy=False)
        return ExpertLabelDataset(
            observations=self.observations[index],
            action_masks=self.action_masks[index],
            expert_actions=self.expert_actions[index],
            expert_probs=self.expert_probs[index],
            agents=self.agents[index],
            episodes=self.episodes[index],
            steps=self.steps[index],
            metadata={
                **self.metadata,
                "num_rows": int(self.expert_actions[index].shape[0]),
            },
        )

    def for_agent(self, agent: str) -> ExpertLabelDataset:
        """The rows of one agent (a new dataset; same metadata but ``num_rows``).

        The agent names (and so the indices in :attr:`agents`) are kept, and
        ``metadata["num_rows"]`` is the number of rows selected, so the result
        can be saved with :func:`save_expert_labels`.

        Raises:
            ValueError: If ``agent`` does not occur in the dataset's metadata.
        """
        names = self.agent_names
        if agent not in names:
            raise ValueError(f"agent {agent!r} not in dataset agents {names!r}")
        return self.take(self.agents == names.index(agent))


class ExpertLabelRecorder:
    """Collect expert-query rows in memory; write them as one ``.npz``.

    Args:
        game_id: Id of the game (``"mail/tictactoe-v0"``).
        expert: Name of the expert (``"tictactoe-minimax"``).
        seed: Seed of the run that produced the data (None if unseeded).
        extra: More JSON-serialisable metadata.

    Example:
        >>> import numpy as np
        >>> rec = ExpertLabelRecorder(game_id="mail/tictactoe-v0", expert="uniform")
        >>> rec.add(observation=np.zeros((3, 3, 2), np.int8),
        ...         action_mask=np.ones(9, bool), expert_action=4,
        ...         expert_probs=np.full(9, 1 / 9), agent="player_1",
        ...         episode=0, step=0)
        >>> len(rec)
        1
    """

    def __init__(
        self,
        *,
        game_id: str,
        expert: str,
        seed: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.game_id = str(game_id)
        self.expert = str(expert)
        self.seed = seed
        self.extra = dict(extra or {})
        try:
            json.dumps(self.extra)
        except TypeError as exc:
            raise TypeError(f"extra metadata must be JSON-serialisable: {exc}") from exc
        self._rows: dict[str, list[Any]] = {
            k: [] for k in ("observations", "action_masks", "expert_probs", *_INT_KEYS)
        }
        self._agent_index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._rows["expert_actions"])

    def add(
        self,
        *,
        observation: np.ndarray,
        action_mask: np.ndarray,
        expert_action: int,
        expert_probs: np.ndarray,
        agent: str,
        episode: int,
        step: int,
    ) -> None:
        """Append one labelled row (arrays are copied).

        Raises:
            ValueError: If a float ``observation`` has a NaN or inf entry (the
                message names ``'observations'`` and the row it would have
                been); nothing is recorded.
        """
        obs = np.array(observation)
        if np.issubdtype(obs.dtype, np.inexact) and not np.isfinite(obs).all():
            raise ValueError(
                f"recorder: 'observations'[{len(self)}] (the row being added) has "
                "a non-finite entry (NaN or inf); refusing to record it"
            )
        rows = self._rows
        index = self._agent_index.setdefault(str(agent), len(self._agent_index))
        rows["observations"].append(obs)
        rows["action_masks"].append(np.array(action_mask, dtype=bool))
        rows["expert_probs"].append(np.array(expert_probs, dtype=np.float64))
        rows["expert_actions"].append(int(expert_action))
        rows["agents"].append(index)
        rows["episodes"].append(int(episode))
        rows["steps"].append(int(step))

    def clear(self) -> None:
        """Drop every recorded row."""
        for rows in self._rows.values():
            rows.clear()

    def metadata(self) -> dict[str, Any]:
        """The metadata block that :meth:`write` stores."""
        name, _, version = self.game_id.rpartition("-v")
        return {
            "format_version": FORMAT_VERSION,
            "game_id": self.game_id,
            "game_version": int(version) if name and version.isdigit() else None,
            "expert": self.expert,
            "seed": self.seed,
            "mail_envs_version": mail_envs.__version__,
            "agents": list(self._agent_index),
            "num_rows": len(self),
            "extra": self.extra,
        }

    def dataset(self) -> ExpertLabelDataset:
        """The rows so far as an :class:`ExpertLabelDataset`.

        Raises:
            ValueError: If rows have observations (or masks) of different
                shapes, or a float observation has a NaN or inf entry (naming
                ``'observations'`` and the first bad row).
        """
        arrays = {}
        for key in ("observations", "action_masks", "expert_probs"):
            rows = self._rows[key]
            shapes = {r.shape for r in rows}
            if len(shapes) > 1:
                raise ValueError(
                    f"recorded {key} have different shapes {sorted(shapes)}; record "
                    "agents with different observation spaces in separate recorders"
                )
            arrays[key] = np.stack(rows) if rows else np.zeros((0, 0))
        if not self._rows["observations"]:
            arrays["action_masks"] = arrays["action_masks"].astype(bool)
        _check_finite_observations(arrays["observations"], source="recorder")
        for key in _INT_KEYS:
            arrays[key] = np.asarray(self._rows[key], dtype=np.int64)
        return ExpertLabelDataset(**arrays, metadata=self.metadata())

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the dataset atomically to ``path`` (``.npz`` appended if absent).

        Returns:
            The path written.

        Raises:
            ValueError: If shapes are inconsistent (see :meth:`dataset`) or a
                row is invalid (see :func:`save_expert_labels`).
        """
        return save_expert_labels(path, self.dataset())


def save_expert_labels(
    path: str | os.PathLike[str], dataset: ExpertLabelDataset
) -> Path:
    """Write ``dataset`` atomically (temp file in the same directory + ``os.replace``).

    Args:
        path: Target file; ``.npz`` is appended when missing.
        dataset: The labels.

    Returns:
        The path written.

    Raises:
        ValueError: If the dataset is invalid (see :func:`load_expert_labels`),
            naming the offending key (and row, for ``expert_probs`` and
            ``expert_actions``).
    """
    _validate(dataset, source="dataset")
    target = Path(path)
    if target.suffix != ".npz":
        target = target.with_name(target.name + ".npz")
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = np.frombuffer(json.dumps(dataset.metadata).encode("utf-8"), dtype=np.uint8)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: savez must not append ".npz"
            np.savez(
                f,
                observations=dataset.observations,
                action_masks=dataset.action_masks,
                expert_actions=dataset.expert_actions,
                expert_probs=dataset.expert_probs,
                agents=dataset.agents,
                episodes=dataset.episodes,
                steps=dataset.steps,
                metadata=meta,
            )

    return atomic_write(target, write)


def load_expert_labels(path: str | os.PathLike[str]) -> ExpertLabelDataset:
    """Load and validate a dataset written by :class:`ExpertLabelRecorder`.

    Args:
        path: The ``.npz`` file.

    Returns:
        The :class:`ExpertLabelDataset`.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not a readable npz (truncated, corrupt),
            lacks or has unexpected keys, has wrong dtypes, mismatched
            lengths or shapes, bad metadata, an illegal expert action, a float
            observation with a NaN or inf entry, or an ``expert_probs`` row that is not a distribution over the legal
            actions (non-finite or negative entries, mass on illegal actions,
            legal mass not 1); the message names the file, the offending key
            and, for a bad row, the row and value.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no expert-label dataset at {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            missing = sorted(set(_KEYS) - keys)
            unexpected = sorted(keys - set(_KEYS))
            if missing or unexpected:
                raise ValueError(
                    f"{str(path)!r} is not an expert-label dataset: missing keys "
                    f"{missing}, unexpected keys {unexpected}"
                )
            arrays = {k: data[k] for k in _KEYS}
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ValueError(f"{str(path)!r} is not a readable .npz file: {exc}") from exc
    except ValueError as exc:
        if "expert-label dataset" in str(exc):
            raise
        raise ValueError(f"{str(path)!r} is corrupt: {exc}") from exc
    meta_bytes = arrays.pop("metadata")
    if meta_bytes.dtype != np.uint8 or meta_bytes.ndim != 1:
        raise ValueError(
            f"{str(path)!r}: 'metadata' must be a 1-D uint8 array, got "
            f"{meta_bytes.dtype} {meta_bytes.shape}"
        )
    try:
        metadata = json.loads(meta_bytes.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(path)!r}: 'metadata' is not UTF-8 JSON: {exc}") from exc
    if not isinstance(metadata, dict):
        raise ValueError(f"{str(path)!r}: 'metadata' must be a JSON object")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r}: format_version {version!r} is not supported "
            f"(expected {FORMAT_VERSION})"
        )
    dataset = ExpertLabelDataset(**arrays, metadata=metadata)
    _validate(dataset, source=repr(str(path)))
    return dataset


def _validate(dataset: ExpertLabelDataset, *, source: str) -> None:
    """Check dtypes, lengths, shapes and values; raise ValueError naming the key.

    Every ``expert_probs`` row must be a distribution over the legal actions,
    with the tolerances of the wrappers' own check of an expert's output
    (:func:`mail_wrappers._policy.call_policy`): finite, non-negative, legal
    mass within ``SUM_TOL`` (1e-6) of 1, illegal mass at most
    ``ILLEGAL_MASS_TOL`` (1e-9).
    """
    n = dataset.expert_actions.shape[0] if dataset.expert_actions.ndim == 1 else -1
    for key in _INT_KEYS:
        arr = getattr(dataset, key)
        if arr.dtype != np.int64:
            raise ValueError(
                f"{source}: {key!r} must have dtype int64, got {arr.dtype}"
            )
        if arr.shape != (n,):
            raise ValueError(
                f"{source}: {key!r} must have shape ({n},), got {arr.shape}"
            )
    masks, probs = dataset.action_masks, dataset.expert_probs
    if masks.dtype != np.bool_:
        raise ValueError(
            f"{source}: 'action_masks' must have dtype bool, got {masks.dtype}"
        )
    if probs.dtype != np.float64:
        raise ValueError(
            f"{source}: 'expert_probs' must have dtype float64, got {probs.dtype}"
        )
    if n == 0:
        return
    if masks.ndim != 2 or masks.shape[0] != n:
        raise ValueError(
            f"{source}: 'action_masks' must have shape ({n}, A), got {masks.shape}"
        )
    if probs.shape != masks.shape:
        raise ValueError(
            f"{source}: 'expert_probs' shape {probs.shape} != 'action_masks' shape "
            f"{masks.shape}"
        )
    obs = dataset.observations
    if obs.ndim < 1 or obs.shape[0] != n or obs.dtype == object:
        raise ValueError(
            f"{source}: 'observations' must have {n} rows of a numeric dtype, got "
            f"shape {obs.shape} dtype {obs.dtype}"
        )
    _check_finite_observations(obs, source=source)
    _validate_probs(probs, masks, source=source)
    num_actions = masks.shape[1]
    actions = dataset.expert_actions
    if np.any((actions < 0) | (actions >= num_actions)):
        raise ValueError(f"{source}: 'expert_actions' out of range [0, {num_actions})")
    if not np.all(masks[np.arange(n), actions]):
        row = int(np.flatnonzero(~masks[np.arange(n), actions])[0])
        raise ValueError(f"{source}: 'expert_actions'[{row}] is an illegal action")
    rows = dataset.metadata.get("num_rows", n)
    if rows != n:
        raise ValueError(f"{source}: metadata num_rows {rows!r} != {n} rows of data")
    num_agents = len(dataset.metadata.get("agents", ()))
    if np.any((dataset.agents < 0) | (dataset.agents >= num_agents)):
        raise ValueError(
            f"{source}: 'agents' must index the {num_agents} agent names in metadata"
        )


def _check_finite_observations(observations: np.ndarray, *, source: str) -> None:
    """Raise ``ValueError`` naming ``'observations'`` and its first non-finite row.

    Only float (and complex) dtypes are scanned; integer and boolean
    observations are finite by construction.
    """
    if not np.issubdtype(observations.dtype, np.inexact) or observations.size == 0:
        return
    finite = np.isfinite(observations.reshape(observations.shape[0], -1)).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise ValueError(
            f"{source}: 'observations'[{row}] has a non-finite entry (NaN or inf); "
            f"{int((~finite).sum())} of {finite.size} rows are non-finite"
        )


def _validate_probs(probs: np.ndarray, masks: np.ndarray, *, source: str) -> None:
    """Check that each row of ``probs`` is a distribution over its legal actions.

    Raises:
        ValueError: Naming the first bad row and the offending value.
    """
    bad = ~np.isfinite(probs)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{source}: 'expert_probs'[{row}] has a non-finite entry "
            f"{float(probs[row, col])!r} at action {col}: {probs[row]}"
        )
    bad = probs < 0.0
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{source}: 'expert_probs'[{row}] has a negative entry "
            f"{float(probs[row, col])!r} at action {col}: {probs[row]}"
        )
    illegal = np.where(masks, 0.0, probs).sum(axis=1)
    bad = illegal > ILLEGAL_MASS_TOL
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        mass = float(illegal[row])
        raise ValueError(
            f"{source}: 'expert_probs'[{row}] puts mass {mass!r} on illegal actions: "
            f"probs {probs[row]}, mask {masks[row].astype(int)}"
        )
    legal = np.where(masks, probs, 0.0).sum(axis=1)
    bad = np.abs(legal - 1.0) > SUM_TOL
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        total = float(legal[row])
        raise ValueError(
            f"{source}: 'expert_probs'[{row}] sums to {total!r} over the legal "
            f"actions, not 1 (tolerance {SUM_TOL}): {probs[row]}"
        )
