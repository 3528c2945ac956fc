"""Tests of the expert-label recorder and its .npz format."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from pettingzoo.classic import tictactoe_v3

import mail_envs
from mail_wrappers.expert_query import ExpertQueryWrapper
from mail_wrappers.recorder import (
    ExpertLabelDataset,
    ExpertLabelRecorder,
    load_expert_labels,
    save_expert_labels,
)


def tilted(obs, masks):
    w = np.where(masks, np.arange(1, masks.shape[1] + 1), 0.0)
    return w / w.sum(axis=1, keepdims=True)


def _recorded(episodes: int = 3) -> tuple[ExpertLabelRecorder, ExpertQueryWrapper]:
    recorder = ExpertLabelRecorder(
        game_id="mail/tictactoe-v0", expert="tilted", seed=5, extra={"note": "test"}
    )
    env = ExpertQueryWrapper(tictactoe_v3.env(), tilted, recorder=recorder, seed=5)
    for episode in range(episodes):
        env.reset(seed=5 + episode)
        for _ in env.agent_iter():
            obs, _, term, trunc, _ = env.last()
            env.step(
                None if term or trunc else int(np.flatnonzero(obs["action_mask"])[-1])
            )
    return recorder, env


def test_roundtrip_keeps_every_row_and_the_metadata(tmp_path):
    recorder, env = _recorded()
    path = recorder.write(tmp_path / "labels")
    assert path.name == "labels.npz"
    data = load_expert_labels(path)
    original = recorder.dataset()
    assert len(data) == len(original) == env.total_queries
    for key in (
        "observations",
        "action_masks",
        "expert_actions",
        "expert_probs",
        "agents",
        "episodes",
        "steps",
    ):
        np.testing.assert_array_equal(getattr(data, key), getattr(original, key))
    assert data.observations.dtype == np.int8
    assert data.metadata == {
        "format_version": 1,
        "game_id": "mail/tictactoe-v0",
        "game_version": 0,
        "expert": "tilted",
        "seed": 5,
        "mail_envs_version": mail_envs.__version__,
        "agents": ["player_1", "player_2"],
        "num_rows": len(data),
        "extra": {"note": "test"},
    }
    # steps count env steps within an episode: the agents alternate
    first = data.episodes == 0
    assert data.steps[first].tolist() == list(range(first.sum()))
    # the file is loadable by numpy without pickle
    with np.load(path, allow_pickle=False) as raw:
        assert json.loads(raw["metadata"].tobytes())["expert"] == "tilted"


def test_for_agent_selects_rows(tmp_path):
    recorder, env = _recorded(episodes=2)
    data = load_expert_labels(recorder.write(tmp_path / "x.npz"))
    p2 = data.for_agent("player_2")
    assert len(p2) == env.query_counts["player_2"]
    assert set(p2.agents.tolist()) == {data.agent_names.index("player_2")}
    with pytest.raises(ValueError, match="player_9"):
        data.for_agent("player_9")


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    recorder, _ = _recorded(episodes=1)
    path = recorder.write(tmp_path / "d.npz")
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        recorder.write(path)
    assert path.read_bytes() == before  # the old dataset is intact
    assert os.listdir(tmp_path) == ["d.npz"]  # and the temp file is gone
    monkeypatch.undo()
    recorder.write(path)  # overwriting works
    assert os.listdir(tmp_path) == ["d.npz"]


def test_empty_recorder_roundtrip(tmp_path):
    rec = ExpertLabelRecorder(game_id="mail/gridworld-v0", expert="nash")
    data = load_expert_labels(rec.write(tmp_path / "empty.npz"))
    assert len(data) == 0 and data.metadata["num_rows"] == 0


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as raw:
        arrays = {k: raw[k] for k in raw.files}
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.fixture
def written(tmp_path):
    recorder, _ = _recorded(episodes=2)
    return recorder.write(tmp_path / "ok.npz")


def test_truncated_file_is_rejected(written):
    raw = written.read_bytes()
    written.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"readable \.npz|corrupt"):
        load_expert_labels(written)


def test_garbage_file_is_rejected(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match=r"garbage\.npz"):
        load_expert_labels(path)
    with pytest.raises(FileNotFoundError):
        load_expert_labels(tmp_path / "missing.npz")


def test_wrong_or_missing_key_is_rejected(written):
    with np.load(written) as raw:
        steps = raw["steps"]
    _rewrite(written, steps=None, step=steps)
    with pytest.raises(
        ValueError, match=r"missing keys \['steps'\], unexpected keys \['step'\]"
    ):
        load_expert_labels(written)


def test_wrong_dtype_is_rejected(written):
    with np.load(written) as raw:
        actions = raw["expert_actions"]
    _rewrite(written, expert_actions=actions.astype(np.float32))
    with pytest.raises(
        ValueError, match="'expert_actions' must have dtype int64, got float32"
    ):
        load_expert_labels(written)


def test_mismatched_lengths_are_rejected(written):
    with np.load(written) as raw:
        episodes = raw["episodes"]
    _rewrite(written, episodes=episodes[:-1])
    with pytest.raises(ValueError, match="'episodes' must have shape"):
        load_expert_labels(written)


def test_mismatched_probs_shape_is_rejected(written):
    with np.load(written) as raw:
        probs = raw["expert_probs"]
    _rewrite(written, expert_probs=probs[:, :-1])
    with pytest.raises(ValueError, match="'expert_probs' shape"):
        load_expert_labels(written)


def test_bad_metadata_is_rejected(written):
    _rewrite(written, metadata=np.frombuffer(b"{not json", dtype=np.uint8))
    with pytest.raises(ValueError, match="not UTF-8 JSON"):
        load_expert_labels(written)
    _rewrite(
        written,
        metadata=np.frombuffer(json.dumps({"format_version": 9}).encode(), np.uint8),
    )
    with pytest.raises(ValueError, match="format_version 9"):
        load_expert_labels(written)


def test_illegal_expert_action_is_rejected(tmp_path):
    rec = ExpertLabelRecorder(game_id="g-v1", expert="e")
    rec.add(
        observation=np.zeros(2),
        action_mask=np.array([True, False]),
        expert_action=1,
        expert_probs=np.array([1.0, 0.0]),
        agent="a",
        episode=0,
        step=0,
    )
    with pytest.raises(ValueError, match=r"'expert_actions'\[0\] is an illegal action"):
        rec.write(tmp_path / "bad.npz")


def test_observations_of_different_shapes_are_rejected():
    rec = ExpertLabelRecorder(game_id="g-v1", expert="e")
    for shape in [(2,), (3,)]:
        rec.add(
            observation=np.zeros(shape),
            action_mask=np.ones(2, bool),
            expert_action=0,
            expert_probs=np.array([1.0, 0.0]),
            agent="a",
            episode=0,
            step=0,
        )
    with pytest.raises(ValueError, match="different shapes"):
        rec.dataset()


def test_save_validates_a_hand_made_dataset(tmp_path):
    bad = ExpertLabelDataset(
        observations=np.zeros((1, 2)),
        action_masks=np.ones((1, 2), dtype=np.int8),
        expert_actions=np.zeros(1, np.int64),
        expert_probs=np.array([[1.0, 0.0]]),
        agents=np.zeros(1, np.int64),
        episodes=np.zeros(1, np.int64),
        steps=np.zeros(1, np.int64),
        metadata={"agents": ["a"], "format_version": 1},
    )
    with pytest.raises(ValueError, match="'action_masks' must have dtype bool"):
        save_expert_labels(tmp_path / "bad.npz", bad)


def test_non_json_extra_metadata_is_rejected():
    with pytest.raises(TypeError, match="JSON"):
        ExpertLabelRecorder(game_id="g-v0", expert="e", extra={"x": object()})


def test_a_per_agent_dataset_can_be_saved_and_reloaded(tmp_path):
    # /tmp/review/rec.py: for_agent used to keep the parent's num_rows
    recorder, env = _recorded(episodes=2)
    data = recorder.dataset()
    for agent in ("player_1", "player_2"):
        part = data.for_agent(agent)
        assert part.metadata["num_rows"] == len(part) == env.query_counts[agent]
        assert data.metadata["num_rows"] == len(data)  # the parent is untouched
        back = load_expert_labels(save_expert_labels(tmp_path / agent, part))
        assert back.metadata == part.metadata
        np.testing.assert_array_equal(back.expert_probs, part.expert_probs)
        np.testing.assert_array_equal(back.agents, part.agents)
        assert back.agent_names == data.agent_names


def _one_row(probs, mask=(True, True)) -> ExpertLabelRecorder:
    rec = ExpertLabelRecorder(game_id="g-v0", expert="e")
    for step, p in enumerate([[0.5, 0.5], probs]):  # a good row, then the bad one
        rec.add(
            observation=np.zeros(3),
            action_mask=np.array([True, True]) if step == 0 else np.array(mask),
            expert_action=0,
            expert_probs=np.array(p),
            agent="a",
            episode=0,
            step=step,
        )
    return rec


@pytest.mark.parametrize(
    ("probs", "mask", "match"),
    [
        ([-3.0, 7.0], (True, False), r"'expert_probs'\[1\] has a negative entry -3\.0"),
        (
            [np.nan, 1.0],
            (True, True),
            r"'expert_probs'\[1\] has a non-finite entry nan",
        ),
        (
            [np.inf, 0.0],
            (True, True),
            r"'expert_probs'\[1\] has a non-finite entry inf",
        ),
        ([0.5, 0.5], (True, False), r"'expert_probs'\[1\] puts mass 0\.5 on illegal"),
        ([0.7, 0.7], (True, True), r"'expert_probs'\[1\] sums to 1\.4"),
        ([0.4, 0.0], (True, True), r"'expert_probs'\[1\] sums to 0\.4"),
        ([1 - 2e-6, 0.0], (True, False), r"'expert_probs'\[1\] sums to 0\.999998"),
    ],
)
def test_rows_that_are_not_distributions_over_legal_actions_are_rejected(
    tmp_path, probs, mask, match
):
    rec = _one_row(probs, mask)
    with pytest.raises(ValueError, match=match):
        rec.write(tmp_path / "bad.npz")
    # and a file written by other means does not load either
    good = _one_row([0.5, 0.5]).write(tmp_path / "good.npz")
    with np.load(good) as raw:
        expert_probs, masks = raw["expert_probs"].copy(), raw["action_masks"].copy()
    expert_probs[1], masks[1] = probs, mask
    _rewrite(good, expert_probs=expert_probs, action_masks=masks)
    with pytest.raises(ValueError, match=r"good\.npz.*" + match):
        load_expert_labels(good)


def test_probs_within_the_tolerances_of_the_policy_check_are_accepted(tmp_path):
    # the bounds call_policy accepts an expert's output with (1e-6, 1e-9)
    rec = _one_row([1 - 5e-7, 5e-10], (True, False))
    data = load_expert_labels(rec.write(tmp_path / "ok.npz"))
    np.testing.assert_array_equal(data.expert_probs[1], [1 - 5e-7, 5e-10])
