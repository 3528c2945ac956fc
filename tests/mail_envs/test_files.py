"""Atomic writes (mail_envs/files.py): all or nothing, nothing left behind."""

from __future__ import annotations

import stat

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from mail_envs.files import atomic_savefig, atomic_write, atomic_write_text


def test_write_replaces_the_target_readable_by_all(tmp_path):
    target = tmp_path / "deep" / "out.json"
    assert atomic_write_text(target, "old") == target
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_a_failing_writer_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_savefig_takes_the_format_from_the_suffix(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    png = atomic_savefig(fig, tmp_path / "plot.png", dpi=50)
    plt.close(fig)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
