"""The mail-gym command line: list, solve, and the output folder of run."""

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
            ["--game", "tictactoe", "chain", "--size", "5"],
            "--size applies to none of the games ['tictactoe', 'chain']",
        ),
        (["--game", "chain", "chain"], "--game names a game twice"),
        (["--gpus-per-run", "0"], "--gpus-per-run must be in (0, 1], got 0.0"),
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


_RUN = ("run", "--game", "gridworld", "--budgets", "2", "--algos", "bc", "uniform")
_QUIET = ("--workers", "1", "--no-progress")


def _one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mail-gym: error: "), err
    return lines[0]


def test_run_refuses_an_out_folder_with_results_then_resumes_or_overwrites(
    tmp_path, capsys, monkeypatch
):
    import json

    from agents.pipeline import PipelineResult
    from agents.pipeline import runner as runner_module

    out = tmp_path / "sweep"
    assert main([*_RUN, "--out", str(out), *_QUIET]) == 0
    first = PipelineResult.from_json(out / "results.json")
    assert sorted(p.name for p in (out / "records").iterdir()) == [
        "bc_b2_s0.json",
        "uniform_b2_s0.json",
    ]
    capsys.readouterr()

    # Neither flag: refused before any work (not even the banner).
    assert main([*_RUN, "--out", str(out), *_QUIET]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    line = _one_error_line(captured.err)
    assert "already holds results (2 run records in records/, results.json)" in line
    assert "--resume" in line and "--overwrite" in line
    (out / "results.json").unlink()  # records alone are results too
    assert main([*_RUN, "--out", str(out), *_QUIET]) == 2
    assert "2 run records" in _one_error_line(capsys.readouterr().err)

    # --resume runs only the missing run; results.json is assembled from all.
    (out / "records" / "uniform_b2_s0.json").unlink()
    made = []
    real = runner_module.make_algorithm
    monkeypatch.setattr(
        runner_module,
        "make_algorithm",
        lambda name, *a, **k: made.append(name) or real(name, *a, **k),
    )
    assert main([*_RUN, "--out", str(out), "--resume", *_QUIET]) == 0
    assert "1 of 2 runs already recorded" in capsys.readouterr().out
    assert made == ["uniform"]
    resumed = PipelineResult.from_json(out / "results.json")
    assert resumed.records[0] == first.records[0]  # loaded, not rerun
    assert [r.nash_conv for r in resumed.records] == [
        r.nash_conv for r in first.records
    ]

    # A record of other game options is not reused.
    assert main([*_RUN, "--size", "4", "--out", str(out), "--resume", *_QUIET]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "recorded with another configuration: game_options" in _one_error_line(
        captured.err
    )

    # --overwrite clears the old records first.
    made.clear()
    stale = out / "records" / "bc_b7_s9.json"
    stale.write_text((out / "records" / "bc_b2_s0.json").read_text())
    assert main([*_RUN, "--out", str(out), "--overwrite", *_QUIET]) == 0
    assert sorted(made) == ["bc", "uniform"] and not stale.exists()
    assert json.loads((out / "results.json").read_text())["config"]["budgets"] == [2]

    with pytest.raises(SystemExit) as exc:  # argparse: they exclude each other
        main([*_RUN, "--out", str(out), "--resume", "--overwrite"])
    assert exc.value.code == 2


def test_run_with_a_failing_run_exits_1_listing_it_then_resume_retries(
    tmp_path, capsys, monkeypatch
):
    from agents.pipeline import PipelineResult
    from agents.pipeline import runner as runner_module

    out = tmp_path / "sweep"
    real = runner_module.make_algorithm

    def flaky(name, *args, **kwargs):
        if name == "bc":
            raise RuntimeError("expert\nunreachable")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(runner_module, "make_algorithm", flaky)
    assert main([*_RUN, "--out", str(out), *_QUIET]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "1 of 2 runs failed: bc_b2_s0 (RuntimeError: expert unreachable)" in line
    assert "--resume" in line
    (record,) = PipelineResult.from_json(out / "results.json").records
    assert record.method == "uniform"

    monkeypatch.setattr(runner_module, "make_algorithm", real)
    assert main([*_RUN, "--out", str(out), "--resume", *_QUIET]) == 0
    result = PipelineResult.from_json(out / "results.json")
    assert [r.method for r in result.records] == ["bc", "uniform"]
    assert result.records[1] == record  # the finished run was not rerun


def test_executor_ray_without_ray_is_one_line_before_any_work(monkeypatch, capsys):
    from agents import cli

    monkeypatch.setattr(cli, "ray_available", lambda: False)
    assert main(["run", "--executor", "ray", "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "pip install 'mail-gym[ray]'" in _one_error_line(captured.err)


def test_tensorboard_without_the_package_is_named(monkeypatch, capsys, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboard" else real(name, *a),
    )
    flags = ["--tensorboard", str(tmp_path / "tb"), "--out", str(tmp_path / "o")]
    assert main([*_RUN, *flags, *_QUIET]) == 2
    assert "pip install tensorboard" in _one_error_line(capsys.readouterr().err)


def test_several_games_run_from_one_command_with_logs_and_policies(tmp_path, capsys):
    from agents.io import load_profile
    from agents.pipeline import PipelineResult

    out = tmp_path / "sweep"
    flags = ["--budgets", "2", "--seeds", "1", "--length", "3"]
    assert (
        main(
            [
                "run",
                "--game",
                "gridworld",
                "chain",
                *flags,
                "--out",
                str(out),
                "--save-policies",
                *_QUIET,
            ]
        )
        == 0
    )
    for game, methods in (
        ("gridworld", ("bc", "uniform", "lsvi-ucb-zero")),
        ("chain", ("bc", "uniform", "dqn-explore")),
    ):
        result = PipelineResult.from_json(out / game / "results.json")
        assert len(result.records) == 3
        names = sorted(p.stem for p in (out / game / "records").glob("*.json"))
        assert names == sorted(f"{m}_b2_s1" for m in methods)
        for name in names:
            assert (out / game / "policies" / name / "profile.json").is_file()
    # chain got --length; gridworld does not take it and kept its size.
    chain = PipelineResult.from_json(out / "chain" / "results.json")
    assert chain.config["game_options"] == {"length": 3}
    profile = load_profile(out / "chain" / "policies" / "dqn-explore_b2_s1")
    assert len(profile) == 2
    logs = out / "chain" / "logs" / "dqn-explore_b2_s1"
    csvs = sorted(str(p.relative_to(logs)) for p in logs.rglob("progress.csv"))
    assert any("/dqn/" in c for c in csvs) and any("/bc/" in c for c in csvs), csvs
