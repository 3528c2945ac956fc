"""Tests of the Hugging Face (Parquet) and Minari exports of expert-label datasets."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from pettingzoo.classic import tictactoe_v3

from mail_wrappers.expert_query import ExpertQueryWrapper
from mail_wrappers.recorder import (
    ExpertLabelDataset,
    ExpertLabelRecorder,
    load_expert_labels,
    save_expert_labels,
)

datasets = pytest.importorskip("datasets", reason="the 'datasets' extra is absent")
pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is absent")

from mail_wrappers.export import (  # noqa: E402
    HF_COLUMNS,
    from_hf_dataset,
    from_minari,
    load_parquet,
    save_parquet,
    to_hf_dataset,
    to_minari,
)

FIELDS = tuple(HF_COLUMNS.values())


def tilted(obs, masks):
    """Unequal, inexact probabilities (1/45, 2/45, ...): bit-exactness matters."""
    w = np.where(masks, np.arange(1, masks.shape[1] + 1), 0.0)
    return w / w.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def recorded() -> ExpertLabelDataset:
    """Four Tic-Tac-Toe games labelled by ExpertQueryWrapper (both players)."""
    recorder = ExpertLabelRecorder(
        game_id="mail/tictactoe-v0", expert="tilted", seed=5, extra={"note": "test"}
    )
    env = ExpertQueryWrapper(tictactoe_v3.env(), tilted, recorder=recorder, seed=5)
    rng = np.random.default_rng(0)
    for episode in range(4):
        env.reset(seed=5 + episode)
        for _ in env.agent_iter():
            obs, _, term, trunc, _ = env.last()
            legal = np.flatnonzero(obs["action_mask"])
            env.step(None if term or trunc else int(rng.choice(legal)))
    data = recorder.dataset()
    assert len(data) == env.total_queries > 0
    return data


def assert_identical(a: ExpertLabelDataset, b: ExpertLabelDataset) -> None:
    for key in FIELDS:
        x, y = getattr(a, key), getattr(b, key)
        assert x.dtype == y.dtype, (key, x.dtype, y.dtype)
        assert x.shape == y.shape, (key, x.shape, y.shape)
        assert x.tobytes() == y.tobytes(), key  # bit-exact, NaN-safe
    assert a.metadata == b.metadata


def synthetic(obs: np.ndarray) -> ExpertLabelDataset:
    """A valid dataset around the given observations (N rows, 3 actions)."""
    n = obs.shape[0]
    masks = np.ones((n, 3), bool)
    masks[:, 2] = np.arange(n) % 2 == 0
    probs = np.where(masks, 1.0, 0.0)
    probs /= probs.sum(axis=1, keepdims=True)
    return ExpertLabelDataset(
        observations=obs,
        action_masks=masks,
        expert_actions=np.arange(n, dtype=np.int64) % 2,
        expert_probs=probs,
        agents=np.zeros(n, np.int64),
        episodes=np.arange(n, dtype=np.int64) // 2,
        steps=np.arange(n, dtype=np.int64) % 2,
        metadata={"format_version": 1, "agents": ["a"], "num_rows": n},
    )


# ---------------------------------------------------------------- Hugging Face


def test_hf_roundtrip_in_memory_is_exact(recorded):
    hf = to_hf_dataset(recorded)
    assert hf.column_names == list(HF_COLUMNS)
    assert hf.num_rows == len(recorded)
    assert hf.features["observation"] == datasets.Array3D(shape=(3, 3, 2), dtype="int8")
    assert hf.features["agent"].names == ["player_1", "player_2"]
    back = from_hf_dataset(hf)
    assert back.observations.dtype == np.int8
    assert_identical(back, recorded)


def test_hf_roundtrip_survives_select_and_save_to_disk(recorded, tmp_path):
    hf = to_hf_dataset(recorded)
    rows = np.flatnonzero(recorded.agents == 1)
    assert_identical(from_hf_dataset(hf.select(rows)), recorded.take(rows))
    hf.save_to_disk(str(tmp_path / "disk"))
    assert_identical(
        from_hf_dataset(datasets.load_from_disk(str(tmp_path / "disk"))), recorded
    )


def test_parquet_roundtrip_is_exact_and_atomic(recorded, tmp_path):
    path = save_parquet(recorded, tmp_path / "labels")
    assert path.name == "labels.parquet"
    assert os.listdir(tmp_path) == ["labels.parquet"]  # no temp file left
    assert_identical(load_parquet(path), recorded)
    # plain HF reads typed columns; the metadata comes from the schema key
    schema = pq.read_schema(path)
    assert json.loads(schema.metadata[b"mail_gym"])["mail_gym"]["metadata"] == (
        recorded.metadata
    )
    plain = datasets.Dataset.from_parquet(str(path))
    assert plain.features == to_hf_dataset(recorded).features
    assert_identical(from_hf_dataset(plain, metadata=recorded.metadata), recorded)


def test_parquet_write_failure_keeps_the_old_file(recorded, tmp_path, monkeypatch):
    path = save_parquet(recorded, tmp_path / "d.parquet")
    before = path.read_bytes()

    def broken(table, where, **kwargs):
        open(where, "wb").write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        save_parquet(recorded.take(np.arange(3)), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["d.parquet"]


def test_npz_roundtrip_unchanged_beside_the_exports(recorded, tmp_path):
    npz = load_expert_labels(save_expert_labels(tmp_path / "d.npz", recorded))
    assert_identical(npz, recorded)
    assert_identical(load_parquet(save_parquet(npz, tmp_path / "d.parquet")), npz)


@pytest.mark.parametrize(
    "obs",
    [
        np.arange(4, dtype=np.float32) / 3,  # scalar observations
        np.linspace(0, 1, 12).reshape(4, 3),  # float64 vectors
        np.arange(4 * 2 * 3, dtype=np.uint8).reshape(4, 2, 3),  # Array2D
        (np.arange(4 * 6) % 2 == 0).reshape(4, 3, 2),  # bool boards
        np.arange(4 * 2**6, dtype=np.int16).reshape(4, 2, 2, 2, 2, 2, 2),  # 6-D: flat
    ],
    ids=["scalar-f32", "vector-f64", "2d-u8", "3d-bool", "6d-i16"],
)
def test_every_observation_shape_and_dtype_roundtrips(obs, tmp_path):
    data = synthetic(obs)
    assert_identical(from_hf_dataset(to_hf_dataset(data)), data)
    path = save_parquet(data, tmp_path / "x.parquet")
    assert_identical(load_parquet(path), data)
    if obs.ndim <= 6:  # up to 5-D rows the features alone carry the shape
        plain = datasets.Dataset.from_parquet(str(path))
        assert_identical(from_hf_dataset(plain, metadata=data.metadata), data)


def test_empty_dataset_roundtrips(tmp_path):
    empty = ExpertLabelRecorder(game_id="mail/gridworld-v0", expert="nash").dataset()
    assert_identical(from_hf_dataset(to_hf_dataset(empty)), empty)
    assert_identical(load_parquet(save_parquet(empty, tmp_path / "e")), empty)


def test_hf_rejects_wrong_columns_and_types(recorded):
    hf = to_hf_dataset(recorded)
    with pytest.raises(ValueError, match=r"missing \['step'\]"):
        from_hf_dataset(hf.remove_columns("step"))
    with pytest.raises(ValueError, match=r"unexpected \['weight'\]"):
        from_hf_dataset(hf.add_column("weight", [1.0] * hf.num_rows))
    as_f32 = hf.cast_column(
        "expert_probs", datasets.List(datasets.Value("float32"), length=9)
    )
    with pytest.raises(ValueError, match="'expert_probs' has values of type float"):
        from_hf_dataset(as_f32)
    with pytest.raises(TypeError, match="DatasetDict"):
        from_hf_dataset(datasets.DatasetDict({"train": hf}))


def test_hf_rejects_a_dataset_that_is_not_ours(recorded):
    other = datasets.Dataset.from_dict({"x": [1, 2]})
    with pytest.raises(ValueError, match="no 'mail_gym' metadata"):
        from_hf_dataset(other)
    stripped = datasets.Dataset(to_hf_dataset(recorded).data.table)  # no description
    with pytest.raises(ValueError, match="not a mail-gym expert-label export"):
        from_hf_dataset(stripped)


def test_hf_rejects_invalid_rows(recorded):
    hf = to_hf_dataset(recorded)
    cells = hf.map(
        lambda row: {"action_mask": [False, *row["action_mask"][1:]]},
        features=hf.features,
    )  # cell 0 illegal everywhere: the expert's mass on it is now illegal
    with pytest.raises(
        ValueError, match=r"Hugging Face dataset: 'expert_probs'\[0\] puts mass"
    ):
        from_hf_dataset(cells)


def test_load_parquet_rejects_foreign_and_broken_files(tmp_path):
    import pyarrow as pa

    foreign = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), foreign)
    with pytest.raises(ValueError, match=r"foreign\.parquet.*no 'mail_gym' key"):
        load_parquet(foreign)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match=r"broken\.parquet.*not a readable Parquet"):
        load_parquet(broken)
    with pytest.raises(FileNotFoundError, match=r"missing\.parquet"):
        load_parquet(tmp_path / "missing.parquet")


def test_hf_export_validates_its_input(recorded):
    bad = ExpertLabelDataset(
        **{k: getattr(recorded, k) for k in FIELDS if k != "expert_probs"},
        expert_probs=recorded.expert_probs.astype(np.float32),
        metadata=recorded.metadata,
    )
    with pytest.raises(ValueError, match="'expert_probs' must have dtype float64"):
        to_hf_dataset(bad)


# ---------------------------------------------------------------------- Minari


@pytest.fixture
def minari_root(tmp_path, monkeypatch):
    """A private Minari root: never the user's ~/.minari."""
    pytest.importorskip("minari", reason="the 'minari' extra is absent")
    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    return root


@pytest.mark.parametrize("data_format", ["hdf5", "arrow"])
def test_minari_roundtrip_is_exact(recorded, minari_root, data_format):
    pytest.importorskip("h5py" if data_format == "hdf5" else "pyarrow")
    dataset_id = f"mail-gym/tictactoe-tilted-{data_format}-v0"
    mds = to_minari(
        recorded, dataset_id, datasets_root=minari_root, data_format=data_format
    )
    pairs = {
        (int(a), int(e))
        for a, e in zip(recorded.agents, recorded.episodes, strict=True)
    }
    assert mds.total_episodes == len(pairs)
    assert mds.total_steps == len(recorded)
    assert_identical(from_minari(mds), recorded)
    assert_identical(from_minari(dataset_id, datasets_root=minari_root), recorded)
    import minari

    # Minari finds it by id through MINARI_DATASETS_PATH
    assert_identical(from_minari(minari.load_dataset(dataset_id)), recorded)
    assert sorted(p.name for p in (minari_root / "mail-gym").iterdir()) == [
        f"tictactoe-tilted-{data_format}-v0"
    ]  # no temp directory left


def test_minari_episode_layout(recorded, minari_root):
    mds = to_minari(recorded, "layout-v0", datasets_root=minari_root)
    episode = next(mds.iterate_episodes())
    t = len(episode.actions)
    rows = np.asarray(episode.infos["row"])
    assert rows[-1] == -1 and (rows[:-1] >= 0).all()
    first = rows[:-1]
    np.testing.assert_array_equal(
        episode.observations[:t], recorded.observations[first]
    )
    np.testing.assert_array_equal(episode.observations[t], episode.observations[t - 1])
    np.testing.assert_array_equal(episode.actions, recorded.expert_actions[first])
    assert (episode.rewards == 0).all() and not episode.terminations.any()
    assert episode.truncations.tolist() == [False] * (t - 1) + [True]
    assert mds.storage.metadata["mail_gym"]["metadata"] == recorded.metadata
    assert isinstance(mds.observation_space.sample(), np.ndarray)


def test_minari_roundtrip_of_a_subset_and_of_an_empty_dataset(recorded, minari_root):
    mds = to_minari(recorded, "subset-v0", datasets_root=minari_root)
    import minari

    part = minari.MinariDataset(mds.storage, episode_indices=np.array([0, 2]))
    got = from_minari(part)
    rows = np.concatenate(
        [np.asarray(e.infos["row"])[:-1] for e in part.iterate_episodes()]
    )
    assert_identical(got, recorded.take(np.sort(rows)))
    empty = ExpertLabelRecorder(game_id="g-v0", expert="e").dataset()
    assert_identical(
        from_minari(to_minari(empty, "empty-v0", datasets_root=minari_root)), empty
    )


@pytest.mark.filterwarnings("ignore::UserWarning:minari")
def test_minari_refuses_existing_ids_and_foreign_datasets(recorded, minari_root):
    to_minari(recorded, "taken-v0", datasets_root=minari_root)
    with pytest.raises(ValueError, match="'taken-v0' already exists"):
        to_minari(recorded, "taken-v0", datasets_root=minari_root)
    with pytest.raises(FileNotFoundError, match="'absent-v0'"):
        from_minari("absent-v0", datasets_root=minari_root)
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    foreign = minari.create_dataset_from_buffers(
        "foreign-v0",
        [
            EpisodeBuffer(
                observations=np.zeros((2, 1), np.float32),
                actions=np.zeros(1, np.int64),
                rewards=[0.0],
                terminations=[True],
                truncations=[False],
            )
        ],
        observation_space=gym.spaces.Box(-1, 1, (1,), np.float32),
        action_space=gym.spaces.Discrete(2),
        algorithm_name="none",
        author="me",
        author_email="me@example.org",
        code_permalink="https://example.org",
        description="not ours",
        eval_env=None,
    )
    with pytest.raises(ValueError, match="'foreign-v0' is not a mail-gym"):
        from_minari(foreign)
    with pytest.raises(TypeError, match="MinariDataset"):
        from_minari(42)


def test_minari_accepts_a_relative_root(recorded, minari_root, monkeypatch):
    monkeypatch.chdir(minari_root.parent)
    to_minari(recorded, "relative-v0", datasets_root="rel")
    assert_identical(from_minari("relative-v0", datasets_root="rel"), recorded)
    assert (minari_root.parent / "rel" / "relative-v0" / "data").is_dir()
