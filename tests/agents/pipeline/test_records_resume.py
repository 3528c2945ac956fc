"""Per-run record files, resumed sweeps, failed runs and user executors."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
import torch

import mail_envs
from agents.bc.profile import BCConfig
from agents.pipeline import Pipeline, PipelineResult, RunRecord
from agents.pipeline import runner as runner_module
from agents.pipeline.records import FailedRun, read_run_file, run_name, write_run_file
from agents.pipeline.runner import SweepFailedError

torch.set_num_threads(1)

SWEEP = {"game": "gridworld", "budgets": [2, 3], "seeds": [0, 1], "progress": False}
TIMINGS = ("wall_seconds", "explore_seconds", "bc_seconds")
MAKE_ALGORITHM = runner_module.make_algorithm


def _pipeline(**kwargs):
    return Pipeline(**{**SWEEP, "threads": 1, **kwargs})


def _untimed(records):
    """The records without their (machine-dependent) timings."""
    return [dataclasses.replace(r, **dict.fromkeys(TIMINGS, 0.0)) for r in records]


def _counting(monkeypatch, fail=None):
    """Count make_algorithm calls (in this process); raise for the job ``fail``."""
    calls = []

    def make_algorithm(name, problem, *, budget, seed, **kwargs):
        calls.append((name, budget, seed))
        if (name, budget, seed) == fail:
            raise RuntimeError("the expert server went away")
        return MAKE_ALGORITHM(name, problem, budget=budget, seed=seed, **kwargs)

    monkeypatch.setattr(runner_module, "make_algorithm", make_algorithm)
    return calls


@pytest.fixture(scope="module")
def full_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    return out, _pipeline().run(out)


def test_every_run_is_its_own_plain_json_file(full_sweep):
    out, result = full_sweep
    files = sorted((out / "records").iterdir())
    assert len(result.records) == 12
    assert [p.name for p in files] == sorted(
        f"{run_name(r.method, r.budget, r.seed)}.json" for r in result.records
    )
    for record in result.records:
        path = (
            out
            / "records"
            / f"{run_name(record.method, record.budget, record.seed)}.json"
        )
        payload = json.loads(path.read_text())  # plain JSON, no pickle
        assert payload["status"] == "done"
        assert payload["config"]["package_version"] == mail_envs.__version__
        assert payload["config"]["game"] == "gridworld"
        loaded, config = read_run_file(path)
        assert loaded == record
        assert config == result.config
    assert not [p for p in (out / "records").iterdir() if p.name.startswith(".")]


def test_resume_runs_only_the_missing_runs(full_sweep, tmp_path, monkeypatch):
    out, full = full_sweep
    shutil.copytree(out, tmp_path / "run")
    missing = [("bc", 3, 0), ("lsvi-ucb-zero", 2, 1), ("uniform", 3, 1)]
    for job in missing:
        (tmp_path / "run" / "records" / f"{run_name(*job)}.json").unlink()
    calls = _counting(monkeypatch)
    resumed = _pipeline().run(tmp_path / "run", resume=True)
    assert sorted(calls) == sorted(missing)
    assert _untimed(resumed.records) == _untimed(full.records)
    for old, new in zip(full.records, resumed.records, strict=True):
        if (old.method, old.budget, old.seed) not in missing:
            assert new == old  # loaded, timings and all: not rerun
    a = json.loads(full.to_json(tmp_path / "a.json").read_text())
    b = json.loads(resumed.to_json(tmp_path / "b.json").read_text())
    for payload in (a, b):
        for raw in payload["records"]:
            for key in TIMINGS:
                raw.pop(key)
    assert a["records"] == b["records"] and a["summary"] == b["summary"]
    assert len(list((tmp_path / "run" / "records").iterdir())) == 12
    calls.clear()  # a finished sweep resumes without running anything
    assert _pipeline().run(tmp_path / "run", resume=True).records == resumed.records
    assert calls == []


def test_a_failed_run_is_recorded_the_others_go_on_and_resume_retries_it(
    tmp_path, monkeypatch
):
    bad = ("uniform", 2, 1)
    calls = _counting(monkeypatch, fail=bad)
    with pytest.raises(SweepFailedError, match="1 of 12 runs failed") as info:
        _pipeline().run(tmp_path)
    assert len(calls) == 12
    message = str(info.value)
    assert "uniform_b2_s1 (RuntimeError: the expert server went away)" in message
    assert info.value.failures == (
        FailedRun("uniform", 2, 1, "RuntimeError", "the expert server went away"),
    )
    assert len(info.value.result.records) == 11
    assert len(list((tmp_path / "records").glob("*.json"))) == 12
    payload = json.loads((tmp_path / "records" / "uniform_b2_s1.json").read_text())
    assert payload["status"] == "failed"
    assert payload["failure"]["error_type"] == "RuntimeError"
    calls = _counting(monkeypatch)
    result = _pipeline().run(tmp_path, resume=True)
    assert calls == [bad]
    assert len(result.records) == 12
    retried = next(r for r in result.records if (r.method, r.budget, r.seed) == bad)
    assert read_run_file(tmp_path / "records" / "uniform_b2_s1.json")[0] == retried


def test_failed_runs_in_worker_processes_are_recorded_too(tmp_path):
    # An unknown constructor option makes every bc run raise inside its worker.
    pipeline = _pipeline(
        methods=["bc", "uniform"],
        budgets=[2],
        seeds=[0, 1],
        workers=2,
        method_options={"bc": {"no_such_option": 1}},
    )
    with pytest.raises(SweepFailedError, match="2 of 4 runs failed") as info:
        pipeline.run(tmp_path)
    assert [(f.name, f.error_type) for f in info.value.failures] == [
        ("bc_b2_s0", "TypeError"),
        ("bc_b2_s1", "TypeError"),
    ]
    assert [r.method for r in info.value.result.records] == ["uniform", "uniform"]
    statuses = {
        p.stem: json.loads(p.read_text())["status"]
        for p in (tmp_path / "records").glob("*.json")
    }
    assert statuses == {
        "bc_b2_s0": "failed",
        "bc_b2_s1": "failed",
        "uniform_b2_s0": "done",
        "uniform_b2_s1": "done",
    }


def test_a_record_of_another_configuration_is_refused(full_sweep):
    out, _ = full_sweep
    for kwargs, difference in (
        ({"game_options": {"size": 4}}, "game_options"),
        ({"bc": BCConfig(min_epochs=3)}, "bc"),
        ({"method_options": {"uniform": {"epsilon": 0.5}}}, "method_options"),
        ({"game": "chain", "methods": ["bc"]}, "game"),
    ):
        with pytest.raises(ValueError, match=f"another configuration: {difference}"):
            _pipeline(**kwargs).run(out, resume=True)
    # Execution settings may change between the first run and the resumed one.
    assert len(_pipeline(workers=2, device="cpu").load_records(out)) == 12


def test_a_folder_with_records_is_not_silently_overwritten(full_sweep, tmp_path):
    out, _ = full_sweep
    shutil.copytree(out, tmp_path / "run")
    pipeline = _pipeline(methods=["bc"], budgets=[2], seeds=[0])
    with pytest.raises(ValueError, match="already holds run records"):
        pipeline.run(tmp_path / "run")
    with pytest.raises(ValueError, match="exclude each other"):
        pipeline.run(tmp_path / "run", resume=True, overwrite=True)
    result = pipeline.run(tmp_path / "run", overwrite=True)
    assert [p.name for p in (tmp_path / "run" / "records").iterdir()] == [
        "bc_b2_s0.json"
    ]
    assert len(result.records) == 1


def test_unreadable_run_files_are_named(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "bc_b2_s0.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"bc_b2_s0.json: not a readable run file"):
        _pipeline().load_records(tmp_path)
    record = RunRecord("bc", 2, 1, 0.5, (0.5, 0.0), (20, 20), (5, 5), 0.1)
    write_run_file(records, record, _pipeline().config()).replace(
        records / "bc_b2_s0.json"
    )
    with pytest.raises(ValueError, match="holds the run 'bc_b2_s1'"):
        _pipeline().load_records(tmp_path)
    (records / "bc_b2_s0.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a run file of format"):
        _pipeline().load_records(tmp_path)


def _outcomes(result):
    return [
        (r.method, r.budget, r.seed, r.nash_conv, r.gains, r.num_queries)
        for r in result.records
    ]


def test_any_executor_gives_the_same_records(full_sweep, tmp_path):
    _, serial = full_sweep
    with ThreadPoolExecutor(max_workers=2) as threads:
        threaded = _pipeline(executor=threads).run(tmp_path / "threads")
        assert threads.submit(int, "7").result() == 7  # the caller's, still open
    assert _outcomes(threaded) == _outcomes(serial)
    assert threaded.config["executor"] == "ThreadPoolExecutor"
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
        pooled = _pipeline(executor=pool).run()
    assert _outcomes(pooled) == _outcomes(serial)


def test_executor_must_be_an_executor():
    with pytest.raises(TypeError, match=r"executor must be a concurrent\.futures"):
        _pipeline(executor="ray")


def test_the_config_is_plain_json_and_round_trips(full_sweep, tmp_path):
    _, result = full_sweep
    bc = BCConfig(min_epochs=3, trainer_kwargs={"optimizer_kwargs": {"lr": 0.01}})
    config = _pipeline(bc=bc).config()
    assert json.loads(json.dumps(config)) == config
    assert config["bc"]["min_epochs"] == 3
    assert PipelineResult.from_json(result.to_json(tmp_path / "r.json")) == result


def test_tables_widen_their_columns_for_long_method_names():
    records = tuple(
        RunRecord(method, 10, 0, value, (value, 0.0), (20, 20), (5, 6), 0.1)
        for method, value in (("uniform", 0.5), ("lsvi-ucb-discounted", 8.72))
    )
    result = PipelineResult("gridworld", records)
    for table in (result.table(), result.coverage_table()):
        header, row = table.splitlines()
        # Every column is right-aligned under its header: names never run together.
        assert "NashConvlsvi" not in header and "uniformlsvi" not in header
        assert len(header) == len(row)
    header, row = result.table().splitlines()
    assert header.endswith("  lsvi-ucb-discounted NashConv")
    assert row.endswith("8.7200")
    # Short names keep the 24-character columns of the committed tables.
    assert header.startswith(
        f"{'budget':>7}{'queries/player':>16}{'uniform NashConv':>24}"
    )
