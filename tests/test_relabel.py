"""Relabelling stored records per group: the runner's call at the end of a run and
``bench relabel`` give the same labels (issue 13: labels are a pure function of the group)."""

from __future__ import annotations

from regimebench.labels import label_group
from regimebench.outcomes import FailureReason, TermRole
from regimebench.problem import Thresholds
from regimebench.record import RunRecord, RunSpec, read_record, record_path, write_record
from regimebench.relabel import relabel_dir, relabel_group

TH = Thresholds(train_loss=1e-3, test_error=0.1, target=1e-2)


def _spec(seed, budget="cpu"):
    return RunSpec(problem="helmholtz", problem_version=1, task="forward", solver="s",
                   solver_version=1, config_hash="h", budget=budget, evals=10, seed=seed)


def _write(root, seed, lam, budget="cpu", cell=None):
    rec = RunRecord.ok(_spec(seed, budget), cell=cell or {}, evals_done=10,
                       metrics={"rel_l2": 0.01, "normalized_loss": 1e-4, "loss": 1e-4},
                       terms={"pde": TermRole.RESIDUAL}, diagnostics={"hessian_lambda_max": lam})
    return write_record(record_path(root, rec.spec, cell), rec)


def test_runner_and_relabel_give_the_same_labels(tmp_path):
    lams = (1.0, 10.0, 100.0, 1000.0, 1e4)
    paths = [_write(tmp_path, k, lam) for k, lam in enumerate(lams)]
    # another group beside it (a cell of the same entry and budget): not part of the family
    _write(tmp_path, 0, 1e9, cell={"a2": 8.0})
    crashed = RunRecord.crashed(_spec(7), failure=FailureReason.EXCEPTION, traceback="tb")
    write_record(record_path(tmp_path, crashed.spec), crashed)  # in the group, no eigenvalue
    assert relabel_group(paths[0], TH) == 6  # every seed of the group, the crashed one too
    labels = [read_record(p)["labels"] for p in paths]
    assert labels[-1]["family"]["size"] == 5
    assert "deceptive_sharpness" in labels[-1]["failure_modes"]
    # the same labels from bench relabel over the folder: nothing left to rewrite ...
    assert relabel_dir(tmp_path, lambda problem, task: TH) == 1  # only the cell's lone record
    assert [read_record(p)["labels"] for p in paths] == labels
    # ... and they are label_group's, the pure function
    recs = [read_record(p) for p in sorted(paths[0].parent.glob("seed-*.json"))]
    assert [r["labels"] for r in recs] == label_group(recs, TH)  # enums equal their values
