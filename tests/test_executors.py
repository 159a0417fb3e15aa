"""Executors: local, a real local Ray instance, submitit's local executor; resume and crashes;
``bench sweep --executor ray`` against a local sweep.

Every test trains the tiny entry of ``helpers.tiny_entry`` at the ``smoke`` tier, so runtime is
dominated by JAX imports and compilation in worker processes (Ray: ~40-60 s on a 2-core CPU,
most of it starting Ray and a worker; submitit: ~15-25 s).
"""

import os
from pathlib import Path

import pytest
from helpers import tiny_entry

from regimebench.executors import (
    LocalExecutor,
    RayExecutor,
    SlurmExecutor,
    make_executor,
    make_jobs,
    run_job,
    run_plans,
)
from regimebench.record import read_record, write_record
from regimebench.runner import BenchError, RunRequest, plan


def _plans(entry, out, seeds, **kwargs):
    return [plan(RunRequest(problem="helmholtz", solver=str(entry), seeds=list(seeds),
                            budget="smoke", out=out, **kwargs))]


def _records(out):
    return sorted(p for p in Path(out).rglob("seed-*.json"))


@pytest.fixture(autouse=True)
def absolute_pythonpath(monkeypatch):
    # Worker processes (Ray, submitit) may start in another folder; a relative PYTHONPATH
    # (``PYTHONPATH=src pytest``) would then import another copy of regimebench, or none.
    paths = [str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
             if p]
    if paths:
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))


def test_unknown_executor_names_the_closest():
    with pytest.raises(KeyError, match="Did you mean 'ray'"):
        make_executor("rya")


def test_grouping_batches_seeds_unless_isolated(tmp_path):
    entry = tiny_entry(tmp_path)
    plans = _plans(entry, tmp_path / "out", range(3))
    jobs, summary = make_jobs(plans)
    assert (len(jobs), len(jobs[0].specs), summary.records, summary.total) == (1, 3, [], 3)
    assert jobs[0].request.seeds == [0, 1, 2] and jobs[0].command == plans[0].request.command
    jobs, _ = make_jobs(plans, isolate_seeds=True)
    assert [len(j.specs) for j in jobs] == [1, 1, 1]
    assert [j.request.seeds for j in jobs] == [[0], [1], [2]]
    jobs, summary = make_jobs(plans + plans)  # the same seeds planned twice train once
    assert len(jobs) == 1 and summary.total == 3


def test_local_executor_resumes_and_moves_corrupt_records_aside(tmp_path):
    entry, out = tiny_entry(tmp_path), tmp_path / "out"
    plans = _plans(entry, out, range(2))
    summary = run_plans(plans, "local")
    assert (summary.trained, summary.skipped) == (2, 0)
    assert [r["status"] for r in summary.records] == ["ok", "ok"]
    paths = _records(out)
    assert len(paths) == 2
    paths[1].write_text('{"schema_version": 1, "spec": {"truncat')  # corrupt one record
    calls = []

    def counting(job):
        calls.append([s.seed for s in job.specs])
        return run_job(job)

    warnings = []
    summary = run_plans(_plans(entry, out, range(2)), LocalExecutor(worker=counting),
                        warn=warnings.append)
    assert calls == [[1]]  # only the corrupt seed is redone
    assert summary.skipped == 1 and summary.trained == 1
    assert "not a readable JSON record" in warnings[0]
    assert read_record(paths[1])["status"] == "ok"
    assert paths[1].with_name("seed-1.json.corrupt").is_file()  # kept for inspection


def test_a_job_that_dies_becomes_crashed_records(tmp_path):
    entry, out = tiny_entry(tmp_path), tmp_path / "out"

    def dies(job):
        raise RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 9 GiB")

    summary = run_plans(_plans(entry, out, range(2)), LocalExecutor(worker=dies))
    assert summary.crashed == 2
    for path in _records(out):
        rec = read_record(path)
        assert rec["status"] == "crashed" and rec["failure"] == "out_of_memory"
        assert "RESOURCE_EXHAUSTED" in rec["traceback"]
        assert rec["labels"]["failure_modes"] == ["crashed"]


def test_full_disk_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    entry, out = tiny_entry(tmp_path), tmp_path / "out"

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)  # the disk fills while a record is written
    with pytest.raises(BenchError, match="No space left on device"):
        run_plans(_plans(entry, out, [0]), "local")
    assert [p for p in out.rglob("*") if p.is_file()] == []  # no record, no temp file


def test_unwritable_results_folder_fails_before_running(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    entry = tiny_entry(tmp_path)
    with pytest.raises(BenchError, match="cannot write to results folder"):
        run_plans(_plans(entry, blocker / "out", [0]), "local")


def test_ray_local_instance_runs_a_sweep_and_records_a_dead_worker(tmp_path):
    pytest.importorskip("ray")
    entry, out = tiny_entry(tmp_path), tmp_path / "out"
    # A 4-record sweep in two runs (one Ray task each, seeds batched): the canonical cell
    # trains; the a2 = 2 cell's worker dies, as an OOM kill or a segfault would make it.
    plans = _plans(entry, out, range(2)) + _plans(entry, out, range(2), overrides={"a2": 2.0})

    def dies_in_the_a2_cell(job):  # defined here so Ray ships it by value to the workers
        if job.cell:
            os._exit(1)
        from regimebench.executors import run_job

        return run_job(job)

    events = []
    ex = RayExecutor(init_kwargs={"num_cpus": 2}, worker=dies_in_the_a2_cell)
    summary = run_plans(plans, ex, progress=lambda done, todo, o: events.append((done, todo)))
    assert events == [(2, 4), (4, 4)]  # streamed as each task finished
    recs = [read_record(p) for p in _records(out)]
    assert len(recs) == 4
    ok = sorted(r["spec"]["seed"] for r in recs if r["status"] == "ok" and not r["cell"])
    crashed = [r for r in recs if r["status"] == "crashed"]
    assert ok == [0, 1] and len(crashed) == 2
    assert all(r["cell"] == {"a2": 2.0} and "Worker" in r["traceback"] for r in crashed)
    assert summary.crashed == 2 and summary.trained == 2
    # The same seed in this process gives the same numbers: the worker ran the same code.
    seed0 = next(r for r in recs if r["status"] == "ok" and r["spec"]["seed"] == 0)
    local = run_plans(_plans(entry, tmp_path / "local", [0]), "local").records[0]
    assert local["metrics"]["rel_l2"] == pytest.approx(seed0["metrics"]["rel_l2"], rel=1e-9)


def test_submitit_local_executor(tmp_path):
    pytest.importorskip("submitit")
    entry, out = tiny_entry(tmp_path), tmp_path / "out"
    ex = SlurmExecutor(cluster="local", poll_s=0.5, timeout_min=10)
    summary = run_plans(_plans(entry, out, range(2)), ex)
    assert summary.trained == 2
    assert [read_record(p)["status"] for p in _records(out)] == ["ok", "ok"]
    assert list((out / ".submitit").iterdir())  # submitit's logs live in a hidden folder


def test_crashed_record_is_written_once_even_if_the_worker_wrote_part(tmp_path):
    entry, out = tiny_entry(tmp_path), tmp_path / "out"
    plans = _plans(entry, out, range(2))
    jobs, _ = make_jobs(plans)
    first = jobs[0].paths[0]

    def half(job):
        write_record(first, {"schema_version": 1, "spec": job.specs[0].as_dict(),
                             "status": "ok", "metrics": {"rel_l2": 0.5}})
        raise RuntimeError("died after the first seed")

    summary = run_plans(plans, LocalExecutor(worker=half))
    assert summary.crashed == 1 and summary.trained == 1
    assert read_record(first)["status"] == "ok"


def test_sweep_on_ray_writes_the_records_of_a_local_sweep(tmp_path):
    """``bench sweep --executor ray`` (a private local Ray instance) against the same sweep in
    this process: the same record paths, the same specs, cells, statuses, labels and reproduce
    commands, and the same numbers. Numbers are compared to a relative 1e-9: both processes run
    the same compiled program on the same inputs, so they agree to round-off (XLA's CPU thread
    pool may order a reduction differently; that moves the last few of 16 digits, while any real
    difference in what ran moves the first ones)."""
    pytest.importorskip("ray")
    from typer.testing import CliRunner

    from regimebench.cli import app

    entry = tiny_entry(tmp_path)
    sweeps = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        r = CliRunner().invoke(app, ["sweep", "-p", "helmholtz", "-s", str(entry),
                                     "--difficulty", "1,4", "--data", "64", "--seeds", "2",
                                     "--budget", "smoke", "--out", str(out),
                                     "--executor", executor])
        assert r.exit_code == 0, r.output
        assert f"on the {executor} executor" in r.output
        sweeps[executor] = {p.relative_to(out): read_record(p) for p in _records(out)}
    local, ray = sweeps["local"], sweeps["ray"]
    assert len(local) == 4 and sorted(local) == sorted(ray)
    for path, a in local.items():
        b = ray[path]
        for key in ("spec", "cell", "status", "failure", "labels", "evals_done"):
            assert a[key] == b[key], (path, key)
        assert a["provenance"]["command"] == b["provenance"]["command"]
        assert "--difficulty" in a["provenance"]["command"]  # one cell's bench run command
        assert set(a["metrics"]) == set(b["metrics"])
        for name, value in a["metrics"].items():
            if isinstance(value, float):
                assert b["metrics"][name] == pytest.approx(value, rel=1e-9, abs=1e-300), name
        assert b["curves"]["rel_l2"] == pytest.approx(a["curves"]["rel_l2"], rel=1e-9)
