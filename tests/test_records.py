"""Records: the typed record, its schema, JSON round trip, deterministic paths, atomic writes,
the one loader's rule, and clear errors."""

import json
import os
import time
from pathlib import Path

import pytest

from regimebench.harness import HARNESS_VERSION, LEGACY, comparable_harness, harness_of
from regimebench.outcomes import FailureReason, Status, TermRole
from regimebench.record import (
    SCHEMA_VERSION,
    RecordError,
    RecordKind,
    RunRecord,
    RunSpec,
    check_results,
    file_kind,
    fix_results,
    group_key,
    iter_records,
    read_record,
    record_path,
    sanitize,
    write_record,
)
from regimebench.record_schema import SCHEMA_PATH, record_schema, validate_record

ROOT = Path(__file__).parents[1]
OFFICIAL = ROOT / "leaderboard" / "runs"
FIXTURES = Path(__file__).parent / "data" / "runs"


def spec(seed=0, harness=HARNESS_VERSION):
    return RunSpec(problem="helmholtz", problem_version=1, task="forward", solver="pinn-mlp-adam",
                   solver_version=1, config_hash="abc123", budget="cpu", evals=100, seed=seed,
                   harness=harness)


def ok_record(seed=0, **fields):
    return RunRecord.ok(spec(seed), evals_done=100, metrics={"rel_l2": 0.5, "loss": 1.0},
                        terms={"pde": TermRole.RESIDUAL, "bc": TermRole.BOUNDARY}, **fields)


# ------------------------------------------------------------------------------ paths, identity
def test_path_is_a_pure_function_of_the_spec(tmp_path):
    p = record_path(tmp_path, spec(3))
    assert p == record_path(tmp_path, spec(3))
    assert p.relative_to(tmp_path).parts == (
        "helmholtz@v1", "forward", "pinn-mlp-adam@abc123", "cpu", f"harness-{HARNESS_VERSION}",
        "seed-3.json")
    cell = record_path(tmp_path, spec(3), {"a2": 6.0, "pde": 256})
    assert cell.parent.name == "a2=6,pde=256"
    # Records of the legacy harness (written before the field existed) keep their old paths.
    legacy = record_path(tmp_path, spec(3, harness=LEGACY))
    assert legacy.relative_to(tmp_path).parts[-2:] == ("cpu", "seed-3.json")


def test_harness_joins_the_group_key_and_legacy_records_are_harness_1():
    old = {"spec": {k: v for k, v in spec().as_dict().items() if k != "harness"}, "cell": {}}
    new = {"spec": spec().as_dict(), "cell": {}}
    assert harness_of(old) == LEGACY and harness_of(new) == HARNESS_VERSION
    assert group_key(old) != group_key(new)  # never pooled unless declared equivalent
    assert group_key(new) == group_key({"spec": spec(seed=7).as_dict(), "cell": {}})
    assert group_key({"spec": spec().as_dict(), "cell": {"a2": 4.0}}).cell == "a2=4"
    assert comparable_harness(HARNESS_VERSION) == HARNESS_VERSION


def test_declared_equivalent_harnesses_pool(monkeypatch):
    from regimebench import harness

    monkeypatch.setitem(harness.EQUIVALENT, "3", "2")
    a = {"spec": spec(harness="2").as_dict(), "cell": {}}
    b = {"spec": spec(harness="3").as_dict(), "cell": {}}
    assert group_key(a) == group_key(b)
    monkeypatch.setitem(harness.EQUIVALENT, "2", "3")
    with pytest.raises(ValueError, match="cycle"):
        comparable_harness("2")


# ------------------------------------------------------------------------------ the typed record
def test_constructors_set_status_and_reason():
    assert ok_record().status == Status.OK and ok_record().failure is None
    bad = RunRecord.failed(spec(), failed_step=40)
    assert bad.status == Status.FAILED and bad.failure == FailureReason.NON_FINITE
    crash = RunRecord.crashed(spec(), failure=FailureReason.OUT_OF_MEMORY, traceback="tb")
    assert crash.status == Status.CRASHED and crash.traceback == "tb" and crash.metrics == {}
    with pytest.raises(RecordError, match="must not name a failure"):
        RunRecord(spec(), Status.OK, failure=FailureReason.EXCEPTION)
    with pytest.raises(RecordError, match="must name a failure"):
        RunRecord(spec(), Status.FAILED)
    with pytest.raises(RecordError, match="not non_finite"):
        RunRecord.crashed(spec(), failure=FailureReason.NON_FINITE, traceback="")


def test_round_trip_and_non_finite_values(tmp_path):
    rec = RunRecord.failed(spec(), failed_step=3, metrics={"rel_l2": float("nan"), "loss": 1.5},
                           curves={"loss": [1.0, float("inf")]})
    path = write_record(tmp_path / "r.json", rec)
    back = read_record(path)
    assert back["metrics"] == {"rel_l2": None, "loss": 1.5}
    assert back["curves"]["loss"] == [1.0, None]
    assert back["spec"] == sanitize(spec().as_dict())
    assert back["kind"] == "run" and back["schema_version"] == SCHEMA_VERSION
    assert RunRecord.from_dict(back) == rec.__class__.from_dict(rec.to_dict())
    json.loads(path.read_text())  # strict JSON: no NaN tokens
    assert ok_record().to_dict()["terms"] == {"pde": "residual", "bc": "boundary"}


def test_atomic_write_leaves_no_partial_file(tmp_path):
    class Boom:
        pass

    with pytest.raises(TypeError):
        write_record(tmp_path / "r.json", {"x": Boom()})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_folder_is_a_record_error(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(RecordError, match="cannot write"):
            write_record(tmp_path / "sub" / "r.json", {"a": 1})
    finally:
        tmp_path.chmod(0o700)


def test_corrupt_and_foreign_files(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RecordError, match="not a readable JSON record"):
        read_record(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(RecordError, match="not a regimebench run record"):
        read_record(tmp_path / "other.json")
    (tmp_path / "future.json").write_text('{"schema_version": 99, "spec": {}}')
    with pytest.raises(RecordError, match="newer"):
        read_record(tmp_path / "future.json")
    wrong = ok_record().to_dict()
    wrong["status"] = "finished"  # not a Status
    (tmp_path / "wrong.json").write_text(json.dumps(wrong))
    with pytest.raises(RecordError, match="status"):
        read_record(tmp_path / "wrong.json")


# ------------------------------------------------------------------------------ schema
def test_committed_schema_is_generated_from_the_type():
    """``python -m regimebench.record_schema`` regenerates the file; rerun it if this fails."""
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == json.loads(json.dumps(record_schema()))
    assert set(committed["properties"]) == {f.name for f in
                                            __import__("dataclasses").fields(RunRecord)}


def test_every_committed_record_validates():
    """Every committed official record and test fixture is a valid record: schema-1 ones (no
    kind, terms or harness) read as harness 1, later ones carry the harness in their path."""
    paths = sorted(OFFICIAL.rglob("seed-*.json")) + sorted(FIXTURES.rglob("seed-*.json"))
    assert paths
    for path in paths:
        typed = validate_record(path)
        if typed.schema_version == 1:
            assert typed.spec.harness == LEGACY, path
        else:
            assert f"harness-{typed.spec.harness}" in path.parts, path


def test_validate_record_lists_every_violation(tmp_path):
    rec = ok_record().to_dict()
    rec["spec"]["seed"] = "zero"
    rec["labels"] = {"regime": "IV", "failure_modes": ["bad_luck"]}
    rec["extra"] = 1
    with pytest.raises(RecordError) as e:
        validate_record(rec)
    text = str(e.value)
    assert "4 schema violation" in text
    for where in ("spec/seed", "labels/regime", "labels/failure_modes/0", "extra"):
        assert where in text
    assert validate_record(ok_record().to_dict()) == ok_record()


# ------------------------------------------------------------------------------ the one loader
def test_loader_rule_hidden_temp_maps_foreign(tmp_path):
    good = write_record(record_path(tmp_path, spec()), ok_record())
    (tmp_path / ".wandb").mkdir()
    (tmp_path / ".wandb" / "summary.json").write_text("{}")  # tool state: not read
    (good.parent / f".{good.name}.abcd.tmp").write_text("{")  # in-flight write: not read
    # A regime map is recognised by its content, wherever it lies: never a record, never an error.
    (tmp_path / "regimes-x.json").write_text(json.dumps({"kind": "regime-map", "cells": []}))
    (good.parent / "deep-map.json").write_text(json.dumps({"kind": "regime-map"}))
    (tmp_path / "legacy-map.json").write_text(json.dumps(
        {"schema_version": 1, "axes": {}, "cells": []}))  # a map written before `kind`
    (tmp_path / "foreign.json").write_text('{"hello": 1}')
    items = dict(iter_records(tmp_path))
    assert set(items) == {good, tmp_path / "foreign.json"}
    assert items[good]["status"] == "ok" and isinstance(items[tmp_path / "foreign.json"],
                                                        RecordError)
    assert file_kind({"schema_version": 1, "spec": {}}) == RecordKind.RUN


def test_check_results_reports_and_fixes(tmp_path):
    good = write_record(record_path(tmp_path, spec()), ok_record())
    copy = write_record(good.with_name("seed-9.json"), ok_record())  # a copy of seed 0
    moved = write_record(good.with_name("seed-8.json"), ok_record(5))  # seed 5, elsewhere
    bad = good.with_name("seed-1.json")
    bad.write_text("{half")
    stale = good.parent / ".seed-2.json.x.tmp"  # a killed write: old, no live writer
    stale.write_text("{")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    live = good.parent / f".seed-3.json.{os.getpid()}-y.tmp"  # a write in progress
    live.write_text("{")
    health = check_results(tmp_path)
    kinds = sorted((k, p.name) for k, p, _ in health.problems)
    assert health.healthy == 1 and kinds == [("corrupt", "seed-1.json"),
                                            ("duplicate", "seed-9.json"),
                                            ("misplaced", "seed-8.json"),
                                            ("stray temp", ".seed-2.json.x.tmp")]
    assert health.live == [live]
    assert fix_results(health) == 1  # the misplaced one is the user's to move
    assert bad.with_name("seed-1.json.corrupt").is_file() and moved.is_file()
    assert copy.with_name("seed-9.json.duplicate").is_file() and not copy.exists()
    assert not stale.exists() and live.exists()  # a live write is never deleted
    assert [k for k, _, _ in check_results(tmp_path).problems] == ["misplaced"]
