"""Smoke test of scripts/fig1c.py (tiny budget and networks) and its evaluation."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "fig1c.py"
METHODS = {"bc", "uniform", "dqn-explore", "dqn-explore-paper"}


@pytest.fixture(scope="module")
def fig1c() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fig1c_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_both_readings(
    fig1c: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out, runs = tmp_path / "out", tmp_path / "runs"
    fig1c.main(["--quick", "--out", str(out), "--runs", str(runs)])
    assert sorted(p.name for p in out.iterdir()) == [
        "fig1c.png",
        "results.json",
        "summary.md",
    ]
    payload = json.loads((out / "results.json").read_text())
    assert payload["config"]["game"] == "tictactoe-fig1c"
    assert payload["config"]["augment"] is False
    assert payload["config"]["budgets"] == [2] and payload["config"]["seeds"] == [0]
    assert payload["protocol"]["noise_prob"] == 0.1
    assert payload["protocol"]["uniform_weight"] == 0.4
    assert {r["method"] for r in payload["records"]} == METHODS
    for record in payload["records"]:
        metrics = record["metrics"]
        total = metrics["loss:first"] + metrics["draw:first"] + metrics["win:first"]
        assert total == pytest.approx(1.0)
        assert record["nash_conv"] == pytest.approx(sum(record["gains"]))
        assert 0.0 <= metrics["exploitability:first"] <= 1.0
    for metric in ("loss:first", "nash_conv", "exploitability:first"):
        assert set(payload["readings"][metric]) == METHODS
    # The summary is generated from the JSON alone.
    text = (out / "summary.md").read_text()
    again = fig1c.write_summary(out / "results.json", tmp_path / "again.md")
    assert again.read_text() == text
    assert "## Paper claim" in text and "noisy expert" in text
    loss = payload["readings"]["loss:first"]["bc"]["2"]["mean"]
    assert f"{loss:.3f}" in text
    # Per-run records are kept for --resume.
    assert len(list((runs / "records").glob("*.json"))) == len(METHODS)


def test_the_expert_profile_reads_zero_both_ways(fig1c: ModuleType) -> None:
    from agents.imitation import ImitationResult
    from agents.pipeline.games import GAME_SPECS

    spec = GAME_SPECS["tictactoe-fig1c"]
    problem = spec.problem({})
    result = ImitationResult(
        method="expert",
        agents=problem.agents,
        datasets=(),
        policies=problem.experts,
        explorer_steps=(0, 0),
        explore_seconds=0.0,
        bc_seconds=0.0,
    )
    options = {"noise_prob": 0.1, "uniform_weight": 0.4}
    evaluation = spec.evaluate(problem, result, 0, options)
    assert evaluation.nash_conv == 0.0
    assert evaluation.metrics["loss:first"] == 0.0
    assert evaluation.metrics["loss:second"] == 0.0
    assert evaluation.metrics["exploitability:first"] == 0.0
    assert evaluation.metrics["win:first"] > 0.0  # the noisy expert errs


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--noise-prob", "1.5"], "noise_prob must be in \\[0, 1\\], got 1.5"),
        (
            ["--uniform-weight", "-0.2"],
            "uniform_weight must be in \\[0, 1\\], got -0.2",
        ),
    ],
)
def test_noise_outside_the_unit_interval_is_refused(
    fig1c: ModuleType, argv: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        fig1c.parse_args(argv)


def test_default_args_are_the_paper_protocol(fig1c: ModuleType) -> None:
    args = fig1c.parse_args([])
    assert args.budgets == (10, 100, 1000) and args.seeds == (0, 1, 2)
    assert args.out == "docs/results/fig1c"
    assert fig1c.parse_args(["--quick"]).out == "runs/fig1c_quick"  # not committed
    assert set(args.methods) == METHODS
    assert (args.noise_prob, args.uniform_weight) == (0.1, 0.4)
    from agents.pipeline.games import GAME_SPECS

    spec = GAME_SPECS[fig1c.GAME]
    assert spec.bc(True).augment is None  # never augmented
    assert spec.options == {"noise_prob": 0.1, "uniform_weight": 0.4}


@pytest.mark.parametrize("method", ["uniform", "dqn-explore-paper"])
def test_the_first_seat_learns_the_same_alone(fig1c: ModuleType, method: str) -> None:
    """Learning both seats gives the first seat the data and policy it gets alone."""
    import numpy as np

    from agents.bc.profile import fit_bc_profile
    from agents.methods import make_algorithm
    from agents.pipeline.games import GAME_SPECS

    problem = GAME_SPECS[fig1c.GAME].problem({})
    kwargs = {
        "budget": 3,
        "seed": 7,
        "bc": fig1c.QUICK_BC,
        "device": "cpu",
        "options": fig1c.QUICK_METHOD_OPTIONS.get(method),
    }
    alone = make_algorithm(method, problem, **kwargs)
    session = alone.session(0)
    alone.explorer(session).explore(session, 3)
    data = session.dataset(3)
    (policy,), _ = fit_bc_profile(
        [data], fig1c.QUICK_BC, seeds=[session.bc_seed], device="cpu"
    )
    both = make_algorithm(method, problem, **kwargs).run()
    assert np.array_equal(both.datasets[0].observations, data.observations)
    assert np.array_equal(both.datasets[0].expert_actions, data.expert_actions)
    game = problem.model
    assert np.array_equal(
        game.policy_table(0, both.policies[0]), game.policy_table(0, policy)
    )
