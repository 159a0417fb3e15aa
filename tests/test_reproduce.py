"""Reproducing a record (issue 13, acceptance 3): rerun one seed, compare against a stated
tolerance, and pin the reproduce command to the recorded commit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from helpers import tiny_entry

from regimebench.harness import HARNESS_VERSION, harness_of
from regimebench.record import iter_records, pinned_command, read_record, write_record
from regimebench.reproduce import (
    DEFAULT_RTOL,
    ReproduceError,
    reproduce_record,
    tolerance_for,
)
from regimebench.runner import RunRequest, execute, plan

OFFICIAL = Path(__file__).parents[1] / "leaderboard" / "runs"


def test_pinned_command_checks_out_the_recorded_commit():
    rec = {"provenance": {"git_sha": "8abf9fe", "git_dirty": False,
                          "command": "bench run --problem burgers --seeds 5"}}
    assert pinned_command(rec) == "git checkout 8abf9fe && bench run --problem burgers --seeds 5"
    assert pinned_command(rec, "bench run --seeds 1 --seed-start 3").endswith("--seed-start 3")
    rec["provenance"]["git_dirty"] = True
    assert "uncommitted changes" in pinned_command(rec)
    assert pinned_command({"provenance": {"command": "bench run"}}) == "bench run"


def test_every_official_record_has_a_pinned_command():
    for path, rec in iter_records(OFFICIAL):
        assert pinned_command(rec).startswith("git checkout "), path


def test_tolerance_default_and_unknown_problem():
    assert tolerance_for("helmholtz", "forward") == DEFAULT_RTOL  # until problem.toml states one
    assert tolerance_for("no-such-problem", "forward") == DEFAULT_RTOL


@pytest.fixture(scope="module")
def smoke_record(tmp_path_factory):
    """One seed of a tiny entry at the smoke tier (seconds to train)."""
    root = tmp_path_factory.mktemp("repro")
    entry = tiny_entry(root)
    planned = plan(RunRequest(problem="helmholtz", solver=str(entry), seeds=[3], budget="smoke",
                              out=root / "runs", diagnostics=None))
    (rec,) = execute(planned)
    assert rec["status"] == "ok"
    return planned.paths[0], entry


def test_rerun_reproduces_a_record_within_its_tolerance(smoke_record, tmp_path):
    path, entry = smoke_record
    report = reproduce_record(path, solver=str(entry), out=tmp_path)
    # Same commit, same machine, same program: XLA on CPU gives the same numbers; allow only
    # summation-order rounding (float64 entry).
    assert report.within and report.difference < 1e-12, report.summary()
    assert report.same_harness and report.rerun_harness == HARNESS_VERSION
    assert report.recorded_regime == report.rerun_regime
    assert "reproduced" in report.summary() and report.rtol == DEFAULT_RTOL
    assert read_record(next(tmp_path.rglob("seed-3.json")))["provenance"]["command"].startswith(
        "bench reproduce")


def test_a_record_off_by_more_than_the_tolerance_is_not_reproduced(smoke_record, tmp_path):
    path, entry = smoke_record
    rec = read_record(path)
    rec["metrics"]["rel_l2"] *= 1.2  # what a change of numerics looks like (burgers: 16 %)
    rec["spec"].pop("harness")  # and as if written by the legacy harness
    tampered = write_record(tmp_path / "tampered" / path.name, rec)
    report = reproduce_record(tampered, solver=str(entry), out=tmp_path / "rerun")
    assert not report.within and report.difference == pytest.approx(1 / 6, rel=1e-9)
    assert not report.same_harness and "NOT reproduced" in report.summary()
    assert "harness 1" in report.summary()
    assert reproduce_record(tampered, solver=str(entry), out=tmp_path / "again",
                            tolerance=0.2).within  # a stated tolerance is honoured


def test_a_record_the_catalogue_no_longer_plans_is_refused(smoke_record, tmp_path):
    path, entry = smoke_record
    rec = read_record(path)
    rec["spec"]["evals"] += 1
    changed = write_record(tmp_path / path.name, rec)
    with pytest.raises(ReproduceError, match="evals"):
        reproduce_record(changed, solver=str(entry), out=tmp_path / "rerun")


@pytest.mark.slow
def test_reproduce_the_cheapest_official_record_of_this_harness(tmp_path):
    """Acceptance 3 on a committed official record, once official records of the current harness
    are committed (the table is regenerated from one commit); skipped while every official
    record predates the harness field."""
    found = [(p, r) for p, r in iter_records(OFFICIAL)
             if not isinstance(r, Exception) and harness_of(r) == HARNESS_VERSION]
    if not found:
        pytest.skip("no official record of the current harness yet")
    path, _ = min(found, key=lambda pr: (pr[1].get("timing") or {}).get("seed_wall_s")
                  or math.inf)
    report = reproduce_record(path, out=tmp_path)
    assert report.within, report.summary()
    json.dumps(report.rerun_record)
