"""The pipeline and `mail-gym run`: records, exact NashConv, JSON and PNG outputs."""

from __future__ import annotations

import json

import pytest

from agents.cli import main
from agents.pipeline import Pipeline, PipelineResult


@pytest.fixture(scope="module")
def gridworld_result():
    return Pipeline(
        game="gridworld", budgets=[3, 30], seeds=[0, 1], progress=False
    ).run()


def test_records_cover_every_combination(gridworld_result):
    records = gridworld_result.records
    assert len(records) == 3 * 2 * 2
    assert {(r.method, r.budget, r.seed) for r in records} == {
        (m, b, s)
        for m in ("bc", "uniform", "lsvi-ucb-zero")
        for b in (3, 30)
        for s in (0, 1)
    }
    for r in records:
        assert r.nash_conv >= 0 and min(r.gains) >= 0
        assert r.nash_conv == pytest.approx(sum(r.gains))
        # Horizon-10 episodes: one expert query per learner decision.
        assert r.num_queries == (10 * r.budget, 10 * r.budget)
        # The 3x3 Gridworld has 72 states; every episode labels at least its start.
        assert all(
            1 <= d <= min(72, q)
            for d, q in zip(r.distinct_states, r.num_queries, strict=True)
        )
    # Exploration covers more of the game than expert self-play.
    summary = {
        (r.method, r.budget): sum(r.distinct_states) for r in records if r.seed == 0
    }
    assert summary[("uniform", 30)] > summary[("bc", 30)]


def test_interactive_methods_beat_self_play_bc_with_enough_data(gridworld_result):
    summary = gridworld_result.summary()
    assert summary["bc"][30][0] > 1.0  # self-play data never shows deviations
    assert summary["lsvi-ucb-zero"][30][0] < 0.2
    assert summary["uniform"][30][0] < 0.2


def test_outputs_are_written(gridworld_result, tmp_path):
    path = gridworld_result.to_json(tmp_path / "out" / "results.json")
    payload = json.loads(path.read_text())
    assert payload["config"]["budgets"] == [3, 30]
    assert len(payload["records"]) == 12
    png = gridworld_result.plot(tmp_path / "out" / "nashconv.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "lsvi-ucb-zero NashConv" in gridworld_result.table()
    loaded = PipelineResult.from_json(path)
    assert loaded == gridworld_result
    assert loaded.table() == gridworld_result.table()
    payload["records"][3].pop("gains")
    (tmp_path / "bad.json").write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="record 3 has keys"):
        PipelineResult.from_json(tmp_path / "bad.json")
    coverage = gridworld_result.coverage_table().splitlines()
    assert coverage[0].split() == ["budget", "bc", "uniform", "lsvi-ucb-zero"]
    assert [line.split()[0] for line in coverage[1:]] == ["3", "30"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"game": "chess"}, "game must be one of"),
        ({"methods": ["magic"]}, "registered methods"),
        ({"game": "chain", "methods": ["lsvi-ucb-zero"]}, "needs a game with linear"),
        ({"budgets": [0]}, "budgets must be a positive integer, got 0"),
        ({"budgets": [2.9]}, "budgets must be a positive integer, got 2.9"),
        ({"budgets": [10**12]}, "budgets must be at most"),
        ({"seeds": [-1]}, "seeds must be non-negative integers, got -1"),
        ({"game": "tictactoe", "game_options": {"size": 5}}, "takes no option 'size'"),
        ({"method_options": {"dagger": {}}}, "names methods not run"),
        ({"seeds": []}, "seeds must not be empty"),
        ({"budgets": [5, 5]}, r"budgets must be distinct, got \[5, 5\]"),
        ({"seeds": [1, 2, 1]}, "seeds must be distinct"),
        ({"workers": 0}, "workers must be a positive integer, got 0"),
        ({"threads": 1.5}, "threads must be a positive integer, got 1.5"),
        ({"device": "gpu"}, "device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"),
    ],
)
def test_bad_configuration_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Pipeline(**kwargs)


def _outcomes(result):
    return [
        (r.method, r.budget, r.seed, r.nash_conv, r.gains, r.num_queries)
        for r in result.records
    ]


def test_worker_processes_give_the_same_records(gridworld_result):
    parallel = Pipeline(
        game="gridworld", budgets=[3, 30], seeds=[0, 1], progress=False, workers=2
    ).run()
    assert _outcomes(parallel) == _outcomes(gridworld_result)
    assert parallel.config["workers"] == 2


def test_tictactoe_runs_are_seeded_the_same_in_workers():
    def run(workers):
        return Pipeline(
            game="tictactoe",
            methods=["uniform", "dqn-explore"],
            budgets=[4],
            seeds=[3],
            progress=False,
            workers=workers,
            threads=1,
        ).run()

    serial, parallel = run(1), run(2)
    assert _outcomes(serial) == _outcomes(parallel)
    for (
        r
    ) in serial.records:  # 4 games: every decision labelled, the profile exploitable
        assert min(r.num_queries) >= 4 and r.nash_conv > 0


def test_chain_directed_exploration_finds_the_gate_and_self_play_never_does():
    from mail_envs.chain import chain_layout, exploit_gain, make_chain_game

    result = Pipeline(
        game="chain", budgets=[20], seeds=[0], progress=False, threads=1
    ).run()
    gaps = {r.method: r.nash_conv for r in result.records}
    uniform_guard = exploit_gain(chain_layout(), 0.5, gamma=make_chain_game().gamma)
    assert gaps["bc"] == pytest.approx(uniform_guard, abs=1e-9)  # guard never labelled
    assert gaps["dqn-explore"] == pytest.approx(0.0, abs=1e-9)
    assert "dqn-explore NashConv" in result.table()


def test_cli_run_writes_results(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--game",
            "gridworld",
            "--budgets",
            "2",
            "--algos",
            "bc",
            "uniform",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "uniform NashConv" in text
    assert (out / "results.json").exists() and (out / "nashconv.png").exists()
    with pytest.raises(SystemExit) as exc:  # argparse: one line, exit code 2
        main(["run", "--game", "gridworld", "--algos", "magic", "--out", str(out)])
    assert exc.value.code == 2
    assert main(["run", "--game", "tictactoe", "--size", "5", "--out", str(out)]) == 2
    assert "takes no option 'size'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("game", "options"),
    [
        ("public-goods", ["--num-players", "3"]),
        ("random-zero-sum", ["--game-seed", "1"]),
        ("xor-coordination", []),
    ],
)
def test_cli_runs_every_tabular_game_end_to_end(game, options, tmp_path, capsys):
    out = tmp_path / game
    code = main(
        [
            *("run", "--game", game, "--budgets", "2", "--workers", "1"),
            *("--out", str(out), "--algos", "bc", "uniform", "--no-progress"),
            *options,
        ]
    )
    assert code == 0
    result = PipelineResult.from_json(out / "results.json")
    assert result.config["game"] == game and len(result.records) == 2
    for r in result.records:
        assert r.nash_conv is not None and r.nash_conv >= 0.0
        assert r.nash_conv == pytest.approx(sum(r.gains))
    assert (out / "nashconv.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_runs_connect4_with_win_rates(tmp_path, capsys):
    out = tmp_path / "c4"
    code = main(
        [
            *("run", "--game", "connect4", "--algos", "uniform", "--budgets", "2"),
            *(
                "--eval-games",
                "4",
                "--workers",
                "1",
                "--out",
                str(out),
                "--no-progress",
            ),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "perfect:first" in text and "abr:second" in text
    (record,) = PipelineResult.from_json(out / "results.json").records
    assert record.nash_conv is None and record.gains == ()
    rates = {k: v for k, v in record.metrics.items() if k.startswith("win:")}
    assert len(rates) == 2 * 7  # 7 opponents, both learned seats
    assert all(0.0 <= v <= 1.0 for v in rates.values())
    for key, rate in rates.items():
        low, high = (
            record.metrics["win_low" + key[3:]],
            record.metrics["win_high" + key[3:]],
        )
        assert low <= rate <= high
    assert (out / "winrate.png").read_bytes()[:4] == b"\x89PNG"


def test_dagger_runs_in_the_pipeline_on_tictactoe():
    result = Pipeline(
        game="tictactoe",
        methods=["dagger"],
        budgets=[8],
        progress=False,
        threads=1,
        method_options={"dagger": {"rounds": 2}},
    ).run()
    (record,) = result.records
    assert record.method == "dagger" and min(record.num_queries) >= 4
    assert record.nash_conv is not None and record.nash_conv >= 0.0


def test_the_games_method_options_lie_under_the_users() -> None:
    """Tic-Tac-Toe's DQN explorer steps 8 games at once unless told otherwise."""
    assert Pipeline(game="tictactoe").method_options == {"dqn-explore": {"num_envs": 8}}
    told = Pipeline(
        game="tictactoe",
        method_options={"dqn-explore": {"num_envs": 1, "device": "cpu"}},
    )
    assert told.method_options == {"dqn-explore": {"num_envs": 1, "device": "cpu"}}
    assert Pipeline(game="tictactoe", methods=("bc", "uniform")).method_options == {}
    assert Pipeline(game="chain").method_options == {}
