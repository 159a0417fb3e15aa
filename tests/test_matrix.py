"""``bench batch --all`` (the official matrix) and its time estimate, on a small catalogue.

The catalogue is the real ``problems/`` with two tiny entries in place of ``solvers/``
(``REGIMEBENCH_ROOT``), so the whole matrix is two helmholtz runs at the smoke tier.
"""

from __future__ import annotations

import re

import pytest
from helpers import tiny_entry
from typer.testing import CliRunner

from regimebench._catalogue import problems_dir
from regimebench.cli import app
from regimebench.costs import DEFAULT_COMPILE_S, DEFAULT_SECONDS_PER_POINT_EVAL, CostModel
from regimebench.record import read_record, write_record


@pytest.fixture
def catalogue(tmp_path, monkeypatch):
    root = tmp_path / "catalogue"
    (root / "solvers").mkdir(parents=True)
    (root / "problems").symlink_to(problems_dir(), target_is_directory=True)
    for name in ("tiny-a", "tiny-b"):
        tiny_entry(root / "solvers", name=name)
    monkeypatch.setenv("REGIMEBENCH_ROOT", str(root))
    return root


def _batch(*args):
    r = CliRunner().invoke(app, ["batch", "--all", "--budget", "smoke", "--seeds", "1", *args])
    return r


def _order(output: str) -> list[str]:
    return re.findall(r"\b(tiny-[ab])\b", output)


def test_batch_all_plans_trains_cheapest_first_and_resumes(tmp_path, catalogue):
    out = tmp_path / "runs"
    r = _batch("--dry-run", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert _order(r.output) == ["tiny-a", "tiny-b"]  # equal estimates keep catalogue order
    assert "0 of 2 seed(s) finished; 2 to train in 2 run(s)" in r.output
    assert not out.exists()  # a dry run writes nothing

    # Calibration that makes tiny-a ten times dearer per evaluation puts tiny-b first.
    calib = tmp_path / "calibration"
    for name, seconds in (("tiny-a", 10.0), ("tiny-b", 1.0)):
        r = CliRunner().invoke(app, ["run", "-p", "helmholtz", "-s", name, "--seeds", "1",
                                     "--budget", "smoke", "--out", str(calib)])
        assert r.exit_code == 0, r.output
        path = next(calib.rglob(f"{name}@*/smoke/**/seed-0.json"))
        rec = read_record(path)
        rec["timing"]["seed_wall_s"] = seconds
        write_record(path, rec)
    r = _batch("--dry-run", "--out", str(out), "--calibrate", str(calib))
    assert r.exit_code == 0 and _order(r.output) == ["tiny-b", "tiny-a"], r.output
    assert r.output.count("entry (1)") == 2  # each estimate from its own entry's record

    r = _batch("--out", str(out), "--calibrate", str(calib))
    assert r.exit_code == 0, r.output
    records = sorted(out.rglob("seed-*.json"))
    assert [p.parts[-4].split("@")[0] for p in records] == ["tiny-a", "tiny-b"]  # …/harness-2/
    # The cheaper run went first; each job's line says how long the rest should take.
    assert re.search(r"\[1/2\] helmholtz/forward/tiny-b/.*; about \d+ s left", r.output)
    assert re.search(r"\[2/2\] helmholtz/forward/tiny-a/.*; about 0 s left", r.output)
    assert records[1].stat().st_mtime_ns < records[0].stat().st_mtime_ns
    assert all(read_record(p)["status"] == "ok" for p in records)
    assert read_record(records[0])["provenance"]["command"].startswith(
        "bench run --problem helmholtz --task forward --solver tiny-a --seeds 1 --budget smoke")
    mtimes = [p.stat().st_mtime_ns for p in records]

    r = _batch("--out", str(out))  # a later session: nothing left to do
    assert r.exit_code == 0 and "2 of 2 seed(s) finished; 0 to train" in r.output
    assert [p.stat().st_mtime_ns for p in records] == mtimes


def test_batch_all_filters_and_bad_filters(tmp_path, catalogue):
    r = _batch("--dry-run", "--solver", "tiny-b", "--out", str(tmp_path))
    assert r.exit_code == 0 and _order(r.output) == ["tiny-b"], r.output
    r = _batch("--dry-run", "--problem", "darcy", "--out", str(tmp_path))
    assert r.exit_code == 2 and "no entry declares" in r.output
    r = _batch("--dry-run", "--solver", "tiny-c", "--out", str(tmp_path))
    assert r.exit_code == 2 and "Unknown solver 'tiny-c'" in r.output
    r = CliRunner().invoke(app, ["batch", "-p", "helmholtz", "-p", "darcy"])
    assert r.exit_code == 2 and "--problem takes one value without --all" in r.output


def test_batch_dry_run_of_one_pair_prints_its_plan_and_writes_nothing(tmp_path, catalogue):
    out = tmp_path / "runs"
    r = CliRunner().invoke(app, ["batch", "-p", "helmholtz", "-s", "tiny-a", "--seeds", "2",
                                 "--budget", "smoke", "--dry-run", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "The plan: 1 (entry, problem, task) pair(s)" in r.output
    assert _order(r.output) == ["tiny-a"]
    assert "0 of 2 seed(s) finished; 2 to train in 1 run(s)" in r.output
    assert not out.exists()


def _record(solver, seconds, evals=100, sizes=None, status="ok", compile_s=3.0, harness="2",
            problem="p", task="forward", config=None):
    spec = {"problem": problem, "task": task, "solver": solver, "config_hash": "h",
            "sizes": sizes or {"pde": 90, "bc": 10}, "harness": harness}
    if config is not None:
        spec["config"] = config
    return {"schema_version": 1, "status": status, "evals_done": evals, "spec": spec,
            "timing": {"seed_wall_s": seconds, "compile_s": compile_s}}


def _config(arch, *phases, dtype="float32"):
    return {"architecture": {"kind": arch}, "phases": [{"kind": k} for k in phases],
            "dtype": dtype}


def test_cost_model_calibrates_from_the_closest_records():
    model = CostModel([_record("a", 1.0), _record("a", 3.0), _record("b", 100.0),
                       _record("c", 5.0, status="crashed")])
    # Entry a: median 2 s per 100 evaluations × 100 points, so 2e-4 s per (evaluation × point).
    est = model.estimate("p", "forward", "a", "h", {"pde": 200}, evals=50, seeds=3)
    assert est.source == "entry" and est.calibration_records == 2
    assert est.seconds == pytest.approx(3.0 + 3 * 50 * 200 * 2e-4)
    # An entry without records takes the problem's median (a, a, b: 3 s per 10⁴).
    est = model.estimate("p", "forward", "new", "h", {"pde": 100}, evals=100, seeds=1)
    assert est.source == "problem" and est.seconds == pytest.approx(3.0 + 3.0)
    est = model.estimate("q", "forward", "a", "h", {"pde": 100}, evals=100, seeds=1)
    assert est.source == "task"
    # A rate of forward tasks says nothing about an operator task: the default is used.
    assert model.estimate("q", "operator", "a", "h", {"data": 10}, evals=10,
                          seeds=1).source == "default"
    empty = CostModel([]).estimate("q", "forward", "a", "h", {"pde": 10}, evals=10, seeds=2)
    assert empty.source == "default" and empty.seconds == pytest.approx(
        DEFAULT_COMPILE_S + 2 * 10 * 10 * DEFAULT_SECONDS_PER_POINT_EVAL)
    assert model.estimate("p", "forward", "a", "h", {"pde": 1}, evals=9, seeds=0).seconds == 0


def test_cost_model_prefers_records_of_the_running_harness():
    # The old engine took 10 s where the new one takes 1 s; another problem's new records are
    # still a worse guess than the same entry's old ones, and they rank below the new ones.
    old, new = _record("a", 10.0, harness="1"), _record("a", 1.0, harness="2")
    other = _record("z", 50.0, harness="2", problem="other")
    est = CostModel([old, new, other], harness="2").estimate(
        "p", "forward", "a", "h", {"pde": 100}, evals=100, seeds=1)
    assert est.source == "entry" and est.seconds == pytest.approx(3.0 + 1.0)
    est = CostModel([old, other], harness="2").estimate(
        "p", "forward", "a", "h", {"pde": 100}, evals=100, seeds=1)
    assert est.source == "entry (harness 1)" and est.seconds == pytest.approx(3.0 + 10.0)
    est = CostModel([other], harness="2").estimate(
        "p", "forward", "a", "h", {"pde": 100}, evals=100, seeds=1)
    assert est.source == "task" and est.seconds == pytest.approx(3.0 + 50.0)


def test_cost_model_prices_a_new_entry_at_its_methods_rate_before_the_problems():
    # The PINO case: an operator task whose records are a cheap DeepONet (x3) and a dear FNO; a
    # new FNO-architecture entry costs what FNO costs, not the task's median (DeepONet's).
    fno, deeponet = _config("fno", "adam"), _config("deeponet", "adam")
    records = [_record("deeponet", 1.0, task="operator", config=deeponet) for _ in range(3)]
    records.append(_record("fno", 40.0, task="operator", config=fno))
    model = CostModel(records)
    est = model.estimate("p", "operator", "pino", "h2", {"pde": 100}, evals=100, seeds=1,
                         config=fno)
    assert est.source == "method" and est.calibration_records == 1
    assert est.seconds == pytest.approx(3.0 + 40.0)
    # Another method (or none given) falls back to the (problem, task) median: DeepONet's rate.
    for config in (_config("fno", "natural_gradient", dtype="float64"), None):
        est = model.estimate("p", "operator", "pino", "h2", {"pde": 100}, evals=100, seeds=1,
                             config=config)
        assert est.source == "problem" and est.seconds == pytest.approx(3.0 + 1.0)
    # The entry's own records still come first.
    assert model.estimate("p", "operator", "deeponet", "h", {"pde": 100}, evals=100, seeds=1,
                          config=fno).source == "entry"
