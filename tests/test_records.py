"""Records: JSON round trip, deterministic paths, atomic writes, clear errors."""

import json
import os

import pytest

from regimebench.record import (
    RecordError,
    RunSpec,
    read_record,
    record_path,
    sanitize,
    write_record,
)


def spec(seed=0):
    return RunSpec(problem="helmholtz", problem_version=1, task="forward", solver="pinn-mlp-adam",
                   solver_version=1, config_hash="abc123", budget="cpu", evals=100, seed=seed)


def test_path_is_a_pure_function_of_the_spec(tmp_path):
    p = record_path(tmp_path, spec(3))
    assert p == record_path(tmp_path, spec(3))
    assert p.relative_to(tmp_path).parts == (
        "helmholtz@v1", "forward", "pinn-mlp-adam@abc123", "cpu", "seed-3.json")
    cell = record_path(tmp_path, spec(3), {"a2": 6.0, "pde": 256})
    assert cell.parent.name == "a2=6,pde=256"


def test_round_trip_and_non_finite_values(tmp_path):
    rec = {"schema_version": 1, "spec": spec().as_dict(), "status": "failed",
           "metrics": {"rel_l2": float("nan"), "loss": 1.5}, "curves": {"loss": [1.0, float("inf")]}}
    path = write_record(tmp_path / "r.json", rec)
    back = read_record(path)
    assert back["metrics"] == {"rel_l2": None, "loss": 1.5}
    assert back["curves"]["loss"] == [1.0, None]
    assert back["spec"] == sanitize(spec().as_dict())
    json.loads(path.read_text())  # strict JSON: no NaN tokens


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
