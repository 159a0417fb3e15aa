"""The Python API (``import regimebench as rb``) and the worked example under docs/examples/."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TINY_ENTRY, tiny_entry

import regimebench as rb
from regimebench.solver import SolverSpecError, load_solver_file

REPO = Path(__file__).resolve().parents[1]
TINY = {"name": "tiny", "version": 1, "authors": ["tests"], "citation": "none",
        "tasks": ["forward"], "problems": ["helmholtz"], "dtype": "float64",
        "architecture": {"kind": "mlp", "width": 8, "depth": 2},
        "phases": [{"kind": "adam", "fraction": 1.0, "lr": 1e-3}],
        "weighting": {"kind": "fixed"}, "sampling": {"kind": "fixed"}}


def test_the_package_lists_problems_and_entries():
    assert "helmholtz" in rb.list_problems()
    assert "pinn-mlp-adam" in rb.list_entries() and "_template" not in rb.list_entries()
    assert rb.load_entry("pinn-mlp-adam").name == "pinn-mlp-adam"


def test_an_entry_from_a_mapping_is_the_entry_from_its_toml(tmp_path):
    folder = tiny_entry(tmp_path)
    from_toml = load_solver_file(folder)
    from_mapping = rb.entry_from_mapping(TINY)
    assert from_mapping.config() == from_toml.config()
    assert from_mapping.config_hash == from_toml.config_hash
    assert rb.load_entry(folder).config_hash == from_toml.config_hash


def _message(error: Exception) -> str:
    return str(error).split(": ", 1)[1]  # without the location (file path or entry name)


@pytest.mark.parametrize("change, toml_line, expected", [
    ({"colour": "red"}, 'colour = "red"', "unknown key 'colour'"),
    ({"dtype": "float16"}, 'dtype = "float16"', "unknown dtype 'float16'"),
])
def test_a_mapping_is_validated_exactly_like_toml(tmp_path, change, toml_line, expected):
    with pytest.raises(SolverSpecError, match=expected) as from_mapping:
        rb.entry_from_mapping({**TINY, **change})
    text = TINY_ENTRY.format(name="tiny", arch="mlp").replace('dtype = "float64"\n', "")
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "solver.toml").write_text(text.replace("version = 1\n", f"version = 1\n{toml_line}\n"))
    with pytest.raises(SolverSpecError) as from_toml:
        load_solver_file(folder)
    assert _message(from_mapping.value) == _message(from_toml.value)


def test_a_component_typo_names_the_closest_component():
    with pytest.raises(SolverSpecError, match="Did you mean 'mlp'"):
        rb.entry_from_mapping({**TINY, "architecture": {"kind": "mpl", "width": 8}})


def test_run_writes_records_to_a_temporary_folder_and_resumes(tmp_path):
    entry = rb.entry_from_mapping(TINY)
    first = rb.run("helmholtz", entry, seeds=2, budget="smoke")
    assert first.out.is_dir() and first.trained == 2
    assert [r["spec"]["seed"] for r in first.records] == [0, 1]
    assert all(p.is_file() for p in first.paths)
    assert first.command is None  # an entry built in Python: no bench command reproduces it
    again = rb.run("helmholtz", entry, seeds=2, budget="smoke", out=first.out)
    assert again.trained == 0 and again.records == first.records  # read back, not retrained
    folder = tiny_entry(tmp_path)
    from_folder = rb.run("helmholtz", folder, seeds=1, budget="smoke", out=tmp_path / "out")
    assert from_folder.command.startswith(f"bench run --problem helmholtz --task forward "
                                          f"--solver {folder}")
    with pytest.raises(rb.BenchError, match="Unknown budget tier 'huge'"):
        rb.run("helmholtz", entry, budget="huge", out=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def _record(solver, seed, metrics, curve, cell=None):
    return {"schema_version": 1, "status": "ok", "cell": cell or {},
            "spec": {"problem": "helmholtz", "problem_version": 1, "task": "forward",
                     "solver": solver, "config_hash": "h", "budget": "smoke", "evals": 60,
                     "seed": seed},
            "metrics": metrics, "labels": {"regime": "II", "failure_modes": ["stagnated"]},
            "timing": {"seed_wall_s": 1.5},
            "curves": {"evals": list(range(len(curve))), "rel_l2": curve}}


def test_tables_are_flat_rows():
    recs = [_record("a", 0, {"rel_l2": 0.5, "seed": 3.0}, [1.0, 0.5], cell={"a2": 4.0}),
            _record("b", 1, {"rel_l2": float("nan")}, [1.0, None])]
    rows = rb.records_table(recs)
    assert rows[0]["solver"] == "a" and rows[0]["a2"] == 4.0 and rows[0]["rel_l2"] == 0.5
    assert rows[0]["seed"] == 0 and rows[0]["metric_seed"] == 3.0  # a clash is prefixed
    assert rows[0]["failure_modes"] == ("stagnated",) and rows[0]["seconds"] == 1.5
    assert rows[1]["rel_l2"] is None  # non-finite
    curve = rb.curves_table(recs)
    assert [(r["solver"], r["evals"], r["value"]) for r in curve] == [
        ("a", 0, 1.0), ("a", 1, 0.5), ("b", 0, 1.0), ("b", 1, None)]
    assert curve[0]["a2"] == 4.0 and rb.curves_table(recs, "missing") == []


def test_load_records_filters_and_warns_about_bad_files(tmp_path):
    run = rb.run("helmholtz", rb.entry_from_mapping(TINY), seeds=1, budget="smoke",
                 out=tmp_path)
    (tmp_path / "broken.json").write_text("{")
    with pytest.warns(UserWarning, match="broken.json"):
        assert rb.load_records(tmp_path) == run.records
    with pytest.warns(UserWarning):
        assert rb.load_records(tmp_path, solver="other") == []


def test_the_example_trains_two_entries_and_writes_finite_curves(tmp_path):
    """docs/examples/compare_two_entries.py, run as a user runs it (CI runs this test)."""
    out = tmp_path / "example"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO / "src"), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                              if p]])}
    r = subprocess.run([sys.executable, str(REPO / "docs" / "examples" / "compare_two_entries.py"),
                        "--out", str(out), "--seeds", "1"], capture_output=True, text=True,
                       env=env, timeout=900)
    assert r.returncode == 0, r.stderr
    records = rb.load_records(out, problem="helmholtz")
    assert sorted(rec["spec"]["solver"] for rec in records) == ["narrow-adam-lbfgs",
                                                                "pinn-mlp-adam"]
    for solver in ("pinn-mlp-adam", "narrow-adam-lbfgs"):
        points = [row for row in rb.curves_table(records) if row["solver"] == solver]
        assert len(points) > 10, solver  # a curve, not a single number
        assert all(p["value"] is not None and math.isfinite(p["value"]) for p in points), solver
    assert (out / "curves.csv").read_text().count("\n") == len(rb.curves_table(records)) + 1
    assert (out / "curves.png").is_file() or "matplotlib is not installed" in r.stdout
