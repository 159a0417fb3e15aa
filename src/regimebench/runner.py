"""The runner: turns a request into run specs, trains what is missing, writes records.

This is the effectful shell around :func:`regimebench.train.train`. Given a plan
(:mod:`regimebench.planner`: specs and record paths, bad input already rejected) it

1. skips seeds whose record exists (unless ``force``);
2. trains the remaining seeds together, and writes one record per seed atomically;
3. turns an exception during training into ``crashed`` records (with the traceback), so a sweep
   keeps going and the failure is counted.

:func:`run_seeds` re-plans and runs the seeds of one job; executors (local, Ray, SLURM) call it on
workers (:func:`regimebench.executors.run_job`).
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from .labels import label_record, landscape_family
from .planner import BenchError, Planned, RunRequest, check_writable, plan
from .record import RecordError, RunSpec, read_record, record_path, write_record
from .recording import crash_record, crashed_record, result_record

__all__ = ["BenchError", "RunRequest", "Planned", "plan", "execute", "run_one", "run_seeds",
           "crash_record", "check_writable"]


def execute(planned: Planned, *, progress: Callable[[int, int], None] | None = None,
            train_fn: Callable | None = None) -> list[dict]:
    """Train the seeds of ``planned`` that have no record yet; return all records, in seed order.

    Finished records are read back rather than retrained (resume). ``train_fn`` replaces
    :func:`regimebench.train.train` (tests use it to inject faults).
    """
    todo = planned.todo
    out = Path(planned.request.out)
    if todo:
        check_writable(out)
        from .train import train

        train_fn = train_fn or train
        seeds = [planned.specs[i].seed for i in todo]
        diag = planned.request.diagnostics_config()
        extra = {"diagnostics": diag} if diag is not None else {}
        try:
            task = planned.problem.make_task(planned.task, planned.params, planned.sizes)
            reference = _reference_provenance(planned)
            result = train_fn(task, planned.solver, planned.evals, planned.sizes, seeds,
                              n_log=planned.request.n_log,
                              seed_layout=planned.request.seed_layout, progress=progress,
                              **extra)
            records = {i: result_record(planned, planned.specs[i], sr, result, reference)
                       for i, sr in zip(todo, result.seeds)}
            # Landscape labels are relative to a family of runs: here, this run's seeds
            # (`bench relabel` widens it to every cell of the same entry and budget).
            family = landscape_family(records.values())
            if family is not None:
                thresholds = planned.problem.task_info(planned.task).thresholds
                for rec in records.values():
                    rec["labels"] = label_record(rec, thresholds, family)
        except MemoryError:
            records = {i: crashed_record(planned, planned.specs[i], traceback.format_exc(), "out_of_memory")
                       for i in todo}
        except Exception as e:  # noqa: BLE001 - any training failure becomes a counted record
            if "RESOURCE_EXHAUSTED" in str(e) or "Out of memory" in str(e):
                kind = "out_of_memory"
            else:
                kind = "exception"
            records = {i: crashed_record(planned, planned.specs[i], traceback.format_exc(), kind)
                       for i in todo}
        for i, rec in records.items():
            try:
                write_record(planned.paths[i], rec)
            except RecordError as e:
                raise BenchError(str(e)) from None
    return [read_record(p) if p.is_file() else {} for p in planned.paths]


def _reference_provenance(planned: Planned) -> dict | None:
    module = planned.problem.module
    if hasattr(module, "reference"):
        # problems whose tasks have different references (darcy) take the task as a keyword
        import inspect

        kwargs = ({"task": planned.task}
                  if "task" in inspect.signature(module.reference).parameters else {})
        return module.reference(planned.params, **kwargs).provenance()
    return None


def run_seeds(request: RunRequest, specs: Sequence[RunSpec], *,
              progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Train ``request`` (the seeds of ``specs``) after checking it still plans to ``specs``.

    This is what every executor runs on a worker (:func:`regimebench.executors.run_job`): the
    request is planned again where it runs (loading the problem and the entry there), and the
    result must be the very same specs the driver planned. If the entry, the problem or the
    budget changed in between, this raises :class:`BenchError` instead of writing records under a
    path that a resumed sweep would not look for. Returns the records in seed order.
    """
    if not specs:
        return []
    planned = plan(dataclasses.replace(request, seeds=[s.seed for s in specs]))
    out = Path(request.out)
    for want, got, path in zip(specs, planned.specs, planned.paths):
        if want != got or path != record_path(out, want, planned.cell or None):
            raise BenchError(
                f"run spec for {want.problem}/{want.task}/{want.solver} seed {want.seed} no longer "
                "matches the catalogue (the entry, problem or budget changed since it was planned)"
            )
    return execute(planned, progress=progress)


def run_one(request: RunRequest, spec: RunSpec) -> dict:
    """Train the single seed ``spec`` of ``request`` (see :func:`run_seeds`)."""
    return run_seeds(request, [spec])[0]
