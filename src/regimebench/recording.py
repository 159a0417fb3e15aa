"""Records from training results: what the runner writes for each seed.

:func:`result_record` turns one seed's :class:`~regimebench.train.SeedResult` into a run record
(a :class:`~regimebench.record.RunRecord` built by its ``ok``/``failed`` constructor);
:func:`crash_record` makes the ``crashed`` record of a seed whose training raised or whose worker
died. Both return the record's JSON-ready dict, which :func:`regimebench.record.write_record`
writes atomically (it also accepts a :class:`~regimebench.record.RunRecord`).

The labels written here are :func:`~regimebench.labels.label_record`'s family-free labels of the
seed alone. The landscape labels, which compare a seed with the rest of its group, are added when
the group is complete: the runner calls :func:`regimebench.relabel.relabel_group` when a run ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .labels import label_record
from .outcomes import FailureMode, FailureReason, Regime, Status
from .planner import Planned
from .problem import ProblemError, load_problem
from .record import RunRecord, RunSpec, provenance

__all__ = ["result_record", "crashed_record", "crash_record"]


def _solver_info(solver) -> dict[str, Any]:
    return {"citation": solver.citation, "honesty": dict(solver.honesty)}


def result_record(planned: Planned, spec: RunSpec, seed_result, result, reference) -> dict:
    """The record of one trained seed (status ``ok`` or ``failed``), labelled, as a dict.

    ``result`` is the :class:`~regimebench.train.TrainResult`; its ``term_roles`` (``{term:
    TermRole}``, declared by the task) are stored as the record's ``terms``.
    """
    fields = dict(
        cell=planned.cell,
        evals_done=seed_result.evals,
        metrics=seed_result.metrics,
        curves=seed_result.curves,
        terms=dict(getattr(result, "term_roles", None) or {}),
        diagnostics=getattr(seed_result, "diagnostics", {}) or {},
        reference=reference,
        timing={**result.timing, "seed_wall_s": seed_result.seconds},
        layout=result.layout,
        solver_info=_solver_info(planned.solver),
        provenance=provenance(planned.solver.dtype, planned.request.command),
    )
    if Status(seed_result.status) == Status.OK:
        rec = RunRecord.ok(spec, **fields)
    else:
        rec = RunRecord.failed(spec, failed_step=seed_result.failed_step,
                               failure=FailureReason(seed_result.failure), **fields)
    thresholds = planned.problem.task_info(planned.task).thresholds
    return rec.with_labels(label_record(rec.to_dict(), thresholds)).to_dict()


def crashed_record(planned: Planned, spec: RunSpec, tb: str, kind: str) -> dict:
    """:func:`crash_record` for a seed of ``planned`` (thresholds and entry from the plan)."""
    return crash_record(spec, planned.cell, tb, kind,
                        thresholds=planned.problem.task_info(planned.task).thresholds,
                        solver_info=_solver_info(planned.solver),
                        dtype=planned.solver.dtype, command=planned.request.command)


def crash_record(spec: RunSpec, cell: Mapping[str, Any] | None, tb: str, kind: str, *,
                 thresholds=None, solver_info: Mapping[str, Any] | None = None,
                 dtype: str | None = None, command: list[str] | None = None) -> dict:
    """A ``crashed`` record for ``spec``: the run raised, ran out of memory, or its worker died.

    ``kind`` is a :class:`~regimebench.outcomes.FailureReason` value. Executors use this on the
    driver when a worker could not write a record itself (a killed Ray task, a failed SLURM job);
    ``thresholds`` default to the problem's, looked up by name.
    """
    if thresholds is None:
        try:
            thresholds = load_problem(spec.problem).task_info(spec.task).thresholds
        except (KeyError, ProblemError):
            thresholds = None
    rec = RunRecord.crashed(
        spec, failure=FailureReason(kind), traceback=tb, cell=dict(cell or {}),
        solver_info=dict(solver_info or {}),
        provenance=provenance(dtype or spec.config.get("dtype", "float32"), command))
    labels = (label_record(rec.to_dict(), thresholds) if thresholds is not None
              else {"regime": Regime.NONE, "regime_stability": None,
                    "failure_modes": [FailureMode.CRASHED]})
    return rec.with_labels(labels).to_dict()
