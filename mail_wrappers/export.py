"""Expert-label datasets as Hugging Face ``datasets`` (Parquet) and as Minari datasets.

The package's own format stays the ``.npz`` file of
:mod:`mail_wrappers.recorder`. This module converts an
:class:`~mail_wrappers.recorder.ExpertLabelDataset` to and from two
ecosystems' formats, exactly: every array comes back with its dtype, shape and
bits (``int8`` boards stay ``int8``, ``float64`` probabilities are bit-exact)
and the metadata dict comes back equal.

* **Hugging Face** (:func:`to_hf_dataset` / :func:`from_hf_dataset`, in memory;
  :func:`save_parquet` / :func:`load_parquet`, one Parquet file). One row per
  expert query, columns:

  =================  ===============================================  ==============
  column             feature                                          npz key
  =================  ===============================================  ==============
  ``observation``    ``Array2D``-``Array5D`` / ``List`` / ``Value``   ``observations``
  ``action_mask``    ``List(Value("bool"), length=A)``                ``action_masks``
  ``expert_action``  ``Value("int64")``                               ``expert_actions``
  ``expert_probs``   ``List(Value("float64"), length=A)``             ``expert_probs``
  ``agent``          ``ClassLabel(names=agent names)``                ``agents``
  ``episode``        ``Value("int64")``                               ``episodes``
  ``step``           ``Value("int64")``                               ``steps``
  =================  ===============================================  ==============

  The observation feature has the observation's own dtype and shape
  (``Array3D(shape=(3, 3, 2), dtype="int8")`` for Tic-Tac-Toe); observations
  of more than five dimensions are stored flat and reshaped on import. The
  metadata (and the observation shape and dtype) is a JSON document: the
  in-memory dataset carries it as ``info.description``, the Parquet file in
  its schema metadata under the key ``mail_gym`` (beside the ``huggingface``
  key with the features, so ``datasets.Dataset.from_parquet`` gets typed
  columns). Read the values through :func:`from_hf_dataset`: the ``"numpy"``
  format of ``datasets`` widens ``int8`` to ``int64`` and ``float64`` lists to
  ``float32``.

* **Minari** (:func:`to_minari` / :func:`from_minari`). Minari stores
  single-agent episodes of a Gymnasium env. An expert-label dataset is the
  labelled decisions of the learning players, so one Minari episode is one
  ``(agent, episode)`` pair: its observations are that agent's labelled
  observations in step order, its actions the expert's actions, and the
  ``infos`` carry ``action_mask``, ``expert_probs``, ``step``, ``agent``,
  ``episode`` and ``row`` (the row in the original dataset). What does not
  fit: the labels hold no rewards, no observation after the last decision and
  no game outcome, while Minari requires all three. The export writes rewards
  ``0.0``, repeats the last labelled observation as the final observation
  (its info row is ``-1``), sets no termination and marks the last decision as
  a truncation. These are placeholders: offline-RL code that reads Minari's
  rewards or terminations learns nothing meaningful from them; BC code that
  reads ``(observations[:-1], actions)`` gets exactly the expert labels. No
  env spec is stored (the games are PettingZoo envs; Minari's ``env_spec`` is
  a Gymnasium one), so ``recover_environment`` is not available; the game id
  is in the metadata.

Both imports are lazy: ``datasets``/``pyarrow`` and ``minari``/``h5py`` are
optional extras (``pip install "mail-gym[datasets]"``,
``pip install "mail-gym[minari]"``).

Example:
    >>> import numpy as np
    >>> from mail_wrappers.recorder import ExpertLabelRecorder
    >>> rec = ExpertLabelRecorder(game_id="mail/tictactoe-v0", expert="uniform")
    >>> rec.add(observation=np.zeros((3, 3, 2), np.int8), action_mask=np.ones(9, bool),
    ...         expert_action=4, expert_probs=np.full(9, 1 / 9), agent="player_1",
    ...         episode=0, step=0)
    >>> hf = to_hf_dataset(rec.dataset())
    >>> hf.features["observation"]
    Array3D(shape=(3, 3, 2), dtype='int8')
    >>> back = from_hf_dataset(hf)
    >>> back.observations.dtype, back.expert_probs[0, 4] == 1 / 9, back.metadata["expert"]
    (dtype('int8'), np.True_, 'uniform')

### Version History

* v0: initial release (export ``format_version`` 1).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mail_envs.files import atomic_write
from mail_wrappers.recorder import ExpertLabelDataset, _validate

__all__ = [
    "EXPORT_FORMAT_VERSION",
    "HF_COLUMNS",
    "from_hf_dataset",
    "from_minari",
    "load_parquet",
    "save_parquet",
    "to_hf_dataset",
    "to_minari",
]

#: Version of the layout of the exported metadata document (HF and Minari).
EXPORT_FORMAT_VERSION = 1

#: Hugging Face column -> :class:`ExpertLabelDataset` field, in column order.
HF_COLUMNS: dict[str, str] = {
    "observation": "observations",
    "action_mask": "action_masks",
    "expert_action": "expert_actions",
    "expert_probs": "expert_probs",
    "agent": "agents",
    "episode": "episodes",
    "step": "steps",
}

#: Key of the exported metadata document (HF description, Parquet, Minari).
_KEY = "mail_gym"
_ARRAY_FEATURES = {2: "Array2D", 3: "Array3D", 4: "Array4D", 5: "Array5D"}


def _import_datasets() -> Any:
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError(
            "Hugging Face export needs the 'datasets' package: "
            'pip install "mail-gym[datasets]"'
        ) from exc
    return datasets


def _import_minari() -> Any:
    try:
        import minari
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError(
            "Minari export needs the 'minari' package: pip install \"mail-gym[minari]\""
        ) from exc
    return minari


def _document(data: ExpertLabelDataset) -> dict[str, Any]:
    """The JSON document that travels with every export."""
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "observation_shape": list(data.observations.shape[1:]),
        "observation_dtype": data.observations.dtype.str,
        "num_actions": int(data.action_masks.shape[1]),
        "metadata": data.metadata,
    }


def _check_document(doc: Any, *, source: str) -> dict[str, Any]:
    """Check the exported document's keys and version; return it."""
    keys = {
        "format_version",
        "observation_shape",
        "observation_dtype",
        "num_actions",
        "metadata",
    }
    if not isinstance(doc, dict) or set(doc) != keys:
        found = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(
            f"{source}: the {_KEY!r} document must have the keys {sorted(keys)}, "
            f"got {found}"
        )
    if doc["format_version"] != EXPORT_FORMAT_VERSION:
        raise ValueError(
            f"{source}: export format_version {doc['format_version']!r} is not "
            f"supported (expected {EXPORT_FORMAT_VERSION})"
        )
    if not isinstance(doc["metadata"], dict):
        raise ValueError(f"{source}: 'metadata' must be a JSON object")
    try:
        np.dtype(doc["observation_dtype"])
    except TypeError as exc:
        raise ValueError(
            f"{source}: bad observation_dtype {doc['observation_dtype']!r}"
        ) from exc
    return doc


def _parse_document(text: str | bytes, *, source: str) -> dict[str, Any]:
    try:
        wrapper = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{source} is not a mail-gym expert-label export: its metadata is not "
            f"JSON ({exc})"
        ) from exc
    if not isinstance(wrapper, dict) or _KEY not in wrapper:
        raise ValueError(
            f"{source} is not a mail-gym expert-label export: no {_KEY!r} metadata"
        )
    return _check_document(wrapper[_KEY], source=source)


def _observation_feature(datasets: Any, shape: tuple[int, ...], dtype: str) -> Any:
    if len(shape) == 0:
        return datasets.Value(dtype)
    if len(shape) in _ARRAY_FEATURES:
        return getattr(datasets, _ARRAY_FEATURES[len(shape)])(shape=shape, dtype=dtype)
    return datasets.List(datasets.Value(dtype), length=int(np.prod(shape)))


def _features(datasets: Any, data: ExpertLabelDataset) -> Any:
    obs_shape = tuple(data.observations.shape[1:])
    obs_dtype = np.dtype(data.observations.dtype).name
    num_actions = int(data.action_masks.shape[1])
    return datasets.Features(
        {
            "observation": _observation_feature(datasets, obs_shape, obs_dtype),
            "action_mask": datasets.List(datasets.Value("bool"), length=num_actions),
            "expert_action": datasets.Value("int64"),
            "expert_probs": datasets.List(
                datasets.Value("float64"), length=num_actions
            ),
            "agent": datasets.ClassLabel(names=list(data.agent_names)),
            "episode": datasets.Value("int64"),
            "step": datasets.Value("int64"),
        }
    )


def to_hf_dataset(data: ExpertLabelDataset) -> Any:
    """The dataset as a Hugging Face ``datasets.Dataset`` (one row per query).

    Args:
        data: The expert labels (validated first).

    Returns:
        A ``datasets.Dataset`` with the columns of :data:`HF_COLUMNS` and the
        metadata as the JSON ``info.description`` (see the module docstring).

    Raises:
        ImportError: If ``datasets`` is not installed (the ``datasets`` extra).
        ValueError: If ``data`` is invalid (the recorder's checks).
    """
    datasets = _import_datasets()
    _validate(data, source="dataset")
    obs = data.observations
    if obs.ndim - 1 > max(_ARRAY_FEATURES):
        obs = obs.reshape(obs.shape[0], -1)
    columns = {
        "observation": obs,
        "action_mask": data.action_masks,
        "expert_action": data.expert_actions,
        "expert_probs": data.expert_probs,
        "agent": data.agents,
        "episode": data.episodes,
        "step": data.steps,
    }
    description = json.dumps({_KEY: _document(data)})
    features = _features(datasets, data)
    info = datasets.DatasetInfo(description=description, features=features)
    return datasets.Dataset.from_dict(columns, features=features, info=info)


def from_hf_dataset(
    dataset: Any, *, metadata: dict[str, Any] | None = None
) -> ExpertLabelDataset:
    """The :class:`ExpertLabelDataset` of a dataset made by :func:`to_hf_dataset`.

    Args:
        dataset: A ``datasets.Dataset`` (row selections and ``save_to_disk`` /
            ``load_from_disk`` keep what is needed).
        metadata: The export document's metadata, when the dataset lost its
            ``info.description`` (``Dataset.from_parquet`` does; prefer
            :func:`load_parquet` for files). Its ``num_rows`` is set to the
            number of rows. Without the description the observation shape
            comes from the features, so observations of more than five
            dimensions (stored flat) come back flat.

    Returns:
        The labels, with the dtypes and shapes they were exported with.

    Raises:
        ImportError: If ``datasets`` is not installed.
        TypeError: If ``dataset`` is not a ``datasets.Dataset``.
        ValueError: If the columns are not exactly :data:`HF_COLUMNS`, a
            column has the wrong type or shape, the description is not ours
            (and no ``metadata`` was given), or the rows are invalid; the
            message names the offending column or value.
    """
    datasets = _import_datasets()
    if not isinstance(dataset, datasets.Dataset):
        raise TypeError(
            f"expected a datasets.Dataset, got {type(dataset).__name__}; "
            "for a DatasetDict pick a split first"
        )
    source = "Hugging Face dataset"
    description = dataset.info.description or ""
    if metadata is None:
        if not description:
            raise ValueError(
                f"{source} is not a mail-gym expert-label export: no {_KEY!r} "
                "metadata (its info.description is empty; Dataset.from_parquet "
                "drops it: read the file with load_parquet, or pass metadata=)"
            )
        doc = _parse_document(description, source=source)
    elif description:
        doc = {**_parse_document(description, source=source), "metadata": metadata}
    else:
        doc = _document_from_table(dataset, metadata, source=source)
    table = dataset.with_format("arrow")[:]
    return _from_table(table, doc, source=source)


def _document_from_table(
    dataset: Any, metadata: dict[str, Any], *, source: str
) -> dict[str, Any]:
    """Rebuild the export document from the features when only metadata is given."""
    feature = dataset.features.get("observation")
    mask = dataset.features.get("action_mask")
    if feature is None or mask is None:
        _check_columns(list(dataset.column_names), source=source)
    shape = getattr(feature, "shape", None)
    if shape is None:
        length = getattr(feature, "length", -1)
        shape = () if length in (-1, None) and hasattr(feature, "dtype") else (length,)
    dtype = feature.dtype if hasattr(feature, "dtype") else feature.feature.dtype
    return _check_document(
        {
            "format_version": EXPORT_FORMAT_VERSION,
            "observation_shape": list(shape),
            "observation_dtype": np.dtype(dtype).str,
            "num_actions": int(mask.length),
            "metadata": dict(metadata),
        },
        source=source,
    )


def _check_columns(names: list[str], *, source: str) -> None:
    expected = list(HF_COLUMNS)
    if sorted(names) != sorted(expected):
        missing = sorted(set(expected) - set(names))
        unexpected = sorted(set(names) - set(expected))
        raise ValueError(
            f"{source} is not an expert-label dataset: columns {names}; expected "
            f"{expected} (missing {missing}, unexpected {unexpected})"
        )


def _column_array(
    table: Any, name: str, dtype: np.dtype, shape: tuple[int, ...], *, source: str
) -> np.ndarray:
    """Column ``name`` of an Arrow table as an exact ``(N, *shape)`` array."""
    import pyarrow as pa

    column = table.column(name).combine_chunks()
    if isinstance(column, pa.ChunkedArray):  # an empty table
        column = pa.concat_arrays(column.chunks) if column.chunks else None
    n = table.num_rows
    if column is None or n == 0:
        return np.zeros((0, *shape), dtype=dtype)
    if isinstance(column, pa.ExtensionArray):
        column = column.storage
    if column.null_count:
        raise ValueError(f"{source}: column {name!r} has {column.null_count} nulls")
    values = column
    while (
        pa.types.is_list(values.type)
        or pa.types.is_fixed_size_list(values.type)
        or pa.types.is_large_list(values.type)
    ):
        if values.null_count:
            raise ValueError(f"{source}: column {name!r} has null entries")
        values = values.flatten()
    if values.null_count:
        raise ValueError(f"{source}: column {name!r} has null entries")
    if np.dtype(values.type.to_pandas_dtype()) != dtype:
        raise ValueError(
            f"{source}: column {name!r} has values of type {values.type}, expected "
            f"{dtype.name}"
        )
    size = int(np.prod(shape, dtype=np.int64))
    if len(values) != n * size:
        raise ValueError(
            f"{source}: column {name!r} must hold {n} rows of shape {shape} "
            f"({n * size} values), got {len(values)} values"
        )
    array = values.to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(array, dtype=dtype).reshape(n, *shape)


def _from_table(table: Any, doc: dict[str, Any], *, source: str) -> ExpertLabelDataset:
    """Arrow table (HF columns) + export document -> validated dataset."""
    _check_columns(list(table.column_names), source=source)
    obs_shape = tuple(int(d) for d in doc["observation_shape"])
    num_actions = int(doc["num_actions"])
    int64 = np.dtype(np.int64)
    spec: dict[str, tuple[np.dtype, tuple[int, ...]]] = {
        "observation": (np.dtype(doc["observation_dtype"]), obs_shape),
        "action_mask": (np.dtype(np.bool_), (num_actions,)),
        "expert_action": (int64, ()),
        "expert_probs": (np.dtype(np.float64), (num_actions,)),
        "agent": (int64, ()),
        "episode": (int64, ()),
        "step": (int64, ()),
    }
    arrays = {
        HF_COLUMNS[name]: _column_array(table, name, dtype, shape, source=source)
        for name, (dtype, shape) in spec.items()
    }
    metadata = {**doc["metadata"], "num_rows": int(table.num_rows)}
    data = ExpertLabelDataset(**arrays, metadata=metadata)
    _validate(data, source=source)
    return data


def save_parquet(data: ExpertLabelDataset, path: str | os.PathLike[str]) -> Path:
    """Write ``data`` as one Parquet file, atomically (temp file + ``os.replace``).

    The file holds the columns of :func:`to_hf_dataset`, the Hugging Face
    features (schema metadata ``huggingface``) and the export document
    (schema metadata ``mail_gym``). ``datasets.Dataset.from_parquet(path)``
    reads it with typed columns; :func:`load_parquet` reads it back exactly.

    Args:
        data: The expert labels.
        path: Target file; ``.parquet`` is appended when missing.

    Returns:
        The path written.

    Raises:
        ImportError: If ``datasets`` is not installed.
        ValueError: If ``data`` is invalid.
    """
    import pyarrow.parquet as pq

    table = to_hf_dataset(data).data.table
    schema_metadata = dict(table.schema.metadata or {})
    schema_metadata[_KEY.encode()] = json.dumps({_KEY: _document(data)}).encode()
    table = table.replace_schema_metadata(schema_metadata)
    target = Path(path)
    if target.suffix != ".parquet":
        target = target.with_name(target.name + ".parquet")
    return atomic_write(target, lambda tmp: pq.write_table(table, tmp))


def load_parquet(path: str | os.PathLike[str]) -> ExpertLabelDataset:
    """Load a file written by :func:`save_parquet`.

    Args:
        path: The ``.parquet`` file.

    Returns:
        The labels, exactly as saved.

    Raises:
        ImportError: If ``datasets`` (and so ``pyarrow``) is not installed.
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not Parquet, has no ``mail_gym`` metadata
            (not written by :func:`save_parquet`), has other columns, or
            holds invalid rows; the message names the file and the value.
    """
    _import_datasets()
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    source = repr(str(path))
    if not path.exists():
        raise FileNotFoundError(f"no expert-label Parquet file at {source}")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(f"{source} is not a readable Parquet file: {exc}") from exc
    raw = (table.schema.metadata or {}).get(_KEY.encode())
    if raw is None:
        raise ValueError(
            f"{source} is not a mail-gym expert-label export: no {_KEY!r} key in "
            "its Parquet schema metadata"
        )
    doc = _parse_document(raw, source=source)
    return _from_table(table, doc, source=source)


# --------------------------------------------------------------------- Minari


def _observation_space(dtype: np.dtype, shape: tuple[int, ...]) -> Any:
    import gymnasium as gym

    if dtype == np.bool_:
        return gym.spaces.Box(low=0, high=1, shape=shape, dtype=np.bool_)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return gym.spaces.Box(low=info.min, high=info.max, shape=shape, dtype=dtype)
    if np.issubdtype(dtype, np.floating):
        return gym.spaces.Box(low=-np.inf, high=np.inf, shape=shape, dtype=dtype)
    raise ValueError(
        f"Minari export supports bool, integer and float observations, got {dtype}"
    )


def _minari_root(datasets_root: str | os.PathLike[str] | None) -> Path:
    if datasets_root is not None:
        # absolute: Minari's size bookkeeping breaks on relative data paths
        return Path(datasets_root).absolute()
    from minari.storage import get_dataset_path

    return Path(get_dataset_path()).absolute()


def to_minari(
    data: ExpertLabelDataset,
    dataset_id: str,
    *,
    datasets_root: str | os.PathLike[str] | None = None,
    description: str | None = None,
    author: str | None = None,
    author_email: str | None = None,
    code_permalink: str | None = None,
    data_format: str = "hdf5",
) -> Any:
    """Write ``data`` as the Minari dataset ``dataset_id``; one episode per (agent, episode).

    The episode layout and what does not fit Minari's format (rewards, final
    observations and terminations are placeholders) are in the module
    docstring. The dataset is written into a temporary directory beside its
    target and moved into place, so a reader never sees half of it.

    Args:
        data: The expert labels (validated first).
        dataset_id: Minari id, ``"[namespace/]name-v<N>"`` (e.g.
            ``"mail-gym/tictactoe-minimax-v0"``).
        datasets_root: Minari's datasets directory; default Minari's own
            (``$MINARI_DATASETS_PATH``, else ``~/.minari/datasets``).
            ``minari.load_dataset(dataset_id)`` finds the dataset when
            ``MINARI_DATASETS_PATH`` names this directory.
        description: Minari's ``description`` (default: one line naming the
            game and expert).
        author: Minari's ``author``.
        author_email: Minari's ``author_email``.
        code_permalink: Minari's ``code_permalink``.
        data_format: Minari storage, ``"hdf5"`` (default) or ``"arrow"``.

    Returns:
        The ``minari.MinariDataset``.

    Raises:
        ImportError: If ``minari`` is not installed (the ``minari`` extra).
        ValueError: If ``data`` is invalid or has observations Minari cannot
            type, or a dataset ``dataset_id`` already exists under the root.
    """
    minari = _import_minari()
    import gymnasium as gym
    from minari.data_collector import EpisodeBuffer
    from minari.dataset.minari_storage import MinariStorage

    _validate(data, source="dataset")
    if not isinstance(dataset_id, str) or not dataset_id:
        raise ValueError(f"dataset_id must be a non-empty string, got {dataset_id!r}")
    obs_shape = tuple(data.observations.shape[1:])
    num_actions = int(data.action_masks.shape[1])
    observation_space = _observation_space(data.observations.dtype, obs_shape)
    action_space = gym.spaces.Discrete(max(num_actions, 1))
    target = _minari_root(datasets_root) / dataset_id
    if target.exists():
        raise ValueError(
            f"a Minari dataset {dataset_id!r} already exists at {str(target)!r}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(
        tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    )
    try:
        storage = MinariStorage.new(
            tmp / "data",
            observation_space=observation_space,
            action_space=action_space,
            data_format=data_format,
            jpeg_encoding=False,
        )
        metadata = data.metadata
        extra: dict[str, Any] = {
            "dataset_id": dataset_id,
            "minari_version": minari.__version__,
            "algorithm_name": f"expert labels of {metadata.get('expert')!s}",
            "description": description
            or (
                f"mail-gym expert labels of {metadata.get('expert')!s} on "
                f"{metadata.get('game_id')!s}: one episode per (agent, episode); "
                "rewards, final observations and terminations are placeholders"
            ),
            _KEY: _document(data),
        }
        if author is not None:
            extra["author"] = {author}
        if author_email is not None:
            extra["author_email"] = {author_email}
        if code_permalink is not None:
            extra["code_permalink"] = code_permalink
        storage.update_metadata(extra)
        storage.update_episodes(_episode_buffers(data, EpisodeBuffer))
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return minari.MinariDataset(target / "data")


def _episode_buffers(data: ExpertLabelDataset, buffer_cls: Any) -> list[Any]:
    """One Minari episode buffer per (agent, episode), in order of first row."""
    n = len(data)
    if n == 0:
        return []
    rows = np.arange(n, dtype=np.int64)
    keys = np.stack([data.agents, data.episodes], axis=1)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    buffers = []
    for group in np.argsort(first, kind="stable"):
        idx = rows[inverse == group]
        idx = idx[np.argsort(data.steps[idx], kind="stable")]
        padded = np.append(idx, idx[-1])  # the final observation: a placeholder
        row_info = np.append(idx, -1)
        t = len(idx)
        truncations = np.zeros(t, dtype=bool)
        truncations[-1] = True
        buffers.append(
            buffer_cls(
                observations=data.observations[padded],
                actions=data.expert_actions[idx],
                rewards=np.zeros(t, dtype=np.float64),
                terminations=np.zeros(t, dtype=bool),
                truncations=truncations,
                infos={
                    "action_mask": data.action_masks[padded],
                    "expert_probs": data.expert_probs[padded],
                    # Python ints: Minari's arrow storage cannot read back
                    # 1-D numpy infos (it stores an empty shape).
                    "agent": data.agents[padded].tolist(),
                    "episode": data.episodes[padded].tolist(),
                    "step": data.steps[padded].tolist(),
                    "row": row_info.tolist(),
                },
            )
        )
    return buffers


def from_minari(
    dataset: Any, *, datasets_root: str | os.PathLike[str] | None = None
) -> ExpertLabelDataset:
    """The :class:`ExpertLabelDataset` of a Minari dataset made by :func:`to_minari`.

    Rows come back in their original order. A Minari dataset narrowed to some
    episodes gives those episodes' rows (``num_rows`` counts them).

    Args:
        dataset: A ``minari.MinariDataset`` or a dataset id.
        datasets_root: Where to find an id (default: Minari's own root).

    Returns:
        The labels, exactly as exported.

    Raises:
        ImportError: If ``minari`` is not installed.
        FileNotFoundError: If the id is not found under the root.
        ValueError: If the dataset was not written by :func:`to_minari` (no
            ``mail_gym`` metadata, missing infos) or its rows are invalid.
    """
    minari = _import_minari()
    if isinstance(dataset, str):
        path = _minari_root(datasets_root) / dataset / "data"
        if not path.is_dir():
            raise FileNotFoundError(
                f"no Minari dataset {dataset!r} under {str(path.parent.parent)!r}"
            )
        dataset = minari.MinariDataset(path)
    if not isinstance(dataset, minari.MinariDataset):
        raise TypeError(
            f"expected a minari.MinariDataset or a dataset id, got "
            f"{type(dataset).__name__}"
        )
    source = f"Minari dataset {dataset.spec.dataset_id!r}"
    meta = dataset.storage.metadata
    if _KEY not in meta:
        raise ValueError(
            f"{source} is not a mail-gym expert-label export: no {_KEY!r} metadata"
        )
    doc = _check_document(meta[_KEY], source=source)
    obs_dtype = np.dtype(doc["observation_dtype"])
    obs_shape = tuple(int(d) for d in doc["observation_shape"])
    num_actions = int(doc["num_actions"])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in (*HF_COLUMNS.values(), "row")}
    info_keys = ("action_mask", "expert_probs", "agent", "episode", "step", "row")
    for episode in dataset.iterate_episodes():
        infos = episode.infos or {}
        missing = [k for k in info_keys if k not in infos]
        if missing:
            raise ValueError(
                f"{source}: episode {episode.id} lacks the infos {missing}"
            )
        t = len(episode.actions)
        parts["observations"].append(np.asarray(episode.observations)[:t])
        parts["expert_actions"].append(np.asarray(episode.actions))
        for field_name, key in (
            ("action_masks", "action_mask"),
            ("expert_probs", "expert_probs"),
            ("agents", "agent"),
            ("episodes", "episode"),
            ("steps", "step"),
            ("row", "row"),
        ):
            parts[field_name].append(np.asarray(infos[key])[:t])

    def cat(key: str, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        chunks = parts[key]
        if not chunks:
            return np.zeros((0, *shape), dtype=dtype)
        array = np.concatenate(chunks)
        if array.dtype != dtype or array.shape[1:] != shape:
            raise ValueError(
                f"{source}: {key!r} has dtype {array.dtype} and row shape "
                f"{array.shape[1:]}, expected {dtype.name} and {shape}"
            )
        return array

    int64 = np.dtype(np.int64)
    order = np.argsort(cat("row", int64, ()), kind="stable")
    fields = {
        "observations": cat("observations", obs_dtype, obs_shape),
        "action_masks": cat("action_masks", np.dtype(np.bool_), (num_actions,)),
        "expert_actions": cat("expert_actions", int64, ()),
        "expert_probs": cat("expert_probs", np.dtype(np.float64), (num_actions,)),
        "agents": cat("agents", int64, ()),
        "episodes": cat("episodes", int64, ()),
        "steps": cat("steps", int64, ()),
    }
    fields = {k: np.ascontiguousarray(v[order]) for k, v in fields.items()}
    metadata = {**doc["metadata"], "num_rows": int(order.shape[0])}
    data = ExpertLabelDataset(**fields, metadata=metadata)
    _validate(data, source=source)
    return data
