"""The mail-gym command line: list and solve."""

from __future__ import annotations

import re

import pytest

from agents.cli import main
from mail_envs.registration import GAMES


def test_list_prints_every_registered_game(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for game in GAMES:
        assert game.id in out


def test_solve_gridworld_prints_value_and_gap(capsys):
    assert main(["solve", "gridworld"]) == 0
    out = capsys.readouterr().out
    assert "72 states" in out
    values = re.findall(r"at the start: ([+-][0-9.]+)", out)
    assert [float(v) for v in values] == [0.0, 0.0]  # the fair start is worth 0
    gap = float(re.search(r"NashConv of the equilibrium: (\S+)", out).group(1))
    assert 0.0 <= gap <= 1e-6


def test_solve_bad_parameter_is_a_clear_error(capsys):
    assert main(["solve", "gridworld", "--size", "1"]) == 2
    assert "size" in capsys.readouterr().err


def test_solve_covers_every_game_with_a_model(capsys):
    for game in (
        "chain",
        "tictactoe",
        "xor-coordination",
        "public-goods",
        "random-zero-sum",
    ):
        assert main(["solve", game]) == 0, game
        out = capsys.readouterr().out
        gap = float(re.search(r"NashConv of the equilibrium: (\S+)", out).group(1))
        assert 0.0 <= gap <= 1e-6, (game, gap)


def test_solve_refuses_an_option_of_another_game(capsys):
    assert main(["solve", "tictactoe", "--size", "5"]) == 2
    assert "takes no option 'size'" in capsys.readouterr().err


def test_version(capsys):
    import mail_envs

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"mail-gym {mail_envs.__version__}"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--device", "mps"],
            "device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'mps'",
        ),
        (["--device", "meta"], "got 'meta'"),
        (["--threads", "0"], "threads must be a positive integer, got 0"),
        (["--workers", "0"], "workers must be a positive integer, got 0"),
        (["--seeds", "-1"], "seeds must be non-negative integers, got -1"),
        (["--budgets", "1000000000000"], "budgets must be at most"),
        (["--size", "5"], "takes no option 'size'"),
        (
            ["--out", "/proc/not-here"],
            "--out '/proc/not-here' is not a writable folder",
        ),
    ],
)
def test_bad_run_flags_fail_before_any_work(flags, message, capsys):
    assert main(["run", "--no-progress", *flags]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing ran, not even the banner
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mail-gym: error: ")
    assert message in lines[0]
