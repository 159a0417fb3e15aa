"""Records from training results: what the runner writes for each seed.

:func:`result_record` turns one seed's :class:`~regimebench.train.SeedResult` into a run record
(labels included); :func:`crash_record` makes the ``crashed`` record of a seed whose training
raised or whose worker died. Both return JSON-ready dicts that :func:`regimebench.record.write_record`
writes atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .labels import label_record
from .planner import Planned
from .problem import ProblemError, load_problem
from .record import RunSpec, provenance

__all__ = ["result_record", "crashed_record", "crash_record"]


def result_record(planned: Planned, spec: RunSpec, seed_result, result, reference) -> dict:
    rec = {
        "schema_version": 1,
        "spec": spec.as_dict(),
        "cell": planned.cell,
        "status": seed_result.status,
        "failure": seed_result.failure,
        "failed_step": seed_result.failed_step,
        "evals_done": seed_result.evals,
        "metrics": seed_result.metrics,
        "curves": seed_result.curves,
        "diagnostics": getattr(seed_result, "diagnostics", {}) or {},
        "reference": reference,
        "timing": {**result.timing, "seed_wall_s": seed_result.seconds},
        "layout": result.layout,
        "solver_info": {"citation": planned.solver.citation, "honesty": dict(planned.solver.honesty)},
        "provenance": provenance(planned.solver.dtype, planned.request.command),
        "traceback": None,
    }
    rec["labels"] = label_record(rec, planned.problem.task_info(planned.task).thresholds)
    return rec


def crashed_record(planned: Planned, spec: RunSpec, tb: str, kind: str) -> dict:
    return crash_record(spec, planned.cell, tb, kind,
                        thresholds=planned.problem.task_info(planned.task).thresholds,
                        solver_info={"citation": planned.solver.citation,
                                     "honesty": dict(planned.solver.honesty)},
                        dtype=planned.solver.dtype, command=planned.request.command)


def crash_record(spec: RunSpec, cell: Mapping[str, Any] | None, tb: str, kind: str, *,
                 thresholds=None, solver_info: Mapping[str, Any] | None = None,
                 dtype: str | None = None, command: list[str] | None = None) -> dict:
    """A ``crashed`` record for ``spec``: the run raised, ran out of memory, or its worker died.

    Executors use it on the driver when a worker could not write a record itself (a killed Ray
    task, a failed SLURM job); ``thresholds`` default to the problem's, looked up by name.
    """
    if thresholds is None:
        try:
            thresholds = load_problem(spec.problem).task_info(spec.task).thresholds
        except (KeyError, ProblemError):
            thresholds = None
    rec = {
        "schema_version": 1, "spec": spec.as_dict(), "cell": dict(cell or {}),
        "status": "crashed", "failure": kind, "failed_step": None, "evals_done": 0,
        "metrics": {}, "curves": {}, "diagnostics": {}, "reference": None, "timing": {},
        "layout": {}, "solver_info": dict(solver_info or {}),
        "provenance": provenance(dtype or spec.config.get("dtype", "float32"), command),
        "traceback": tb,
    }
    rec["labels"] = (label_record(rec, thresholds) if thresholds is not None
                     else {"regime": "none", "regime_stability": None,
                           "failure_modes": ["crashed"]})
    return rec
