"""The runner: turns a request into run specs, trains what is missing, writes records.

This is the effectful shell around :func:`regimebench.train.train`. Given a plan
(:mod:`regimebench.planner`: specs and record paths, bad input already rejected) it

1. skips seeds whose record exists (unless ``force``);
2. trains the remaining seeds together, and writes one record per seed atomically as soon as the
   seed's group has finished (an interrupted run keeps every finished seed);
3. turns an exception during training into ``crashed`` records (with the traceback) for the
   seeds that had not finished, so a sweep keeps going and the failure is counted.

:func:`run_seeds` re-plans and runs the seeds of one job; executors (local, Ray, SLURM) call it on
workers (:func:`regimebench.executors.run_job`).
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from .engine.layout import resolve_layout
from .planner import BenchError, Planned, RunRequest, check_writable, plan
from .record import RecordError, RunSpec, read_record, record_path, write_record
from .recording import crash_record, crashed_record, result_record
from .seed_processes import in_worker, run_in_processes

__all__ = ["BenchError", "RunRequest", "Planned", "plan", "execute", "run_one", "run_seeds",
           "crash_record", "check_writable"]


def execute(planned: Planned, *, progress: Callable[[int, int], None] | None = None,
            train_fn: Callable | None = None) -> list[dict]:
    """Train the seeds of ``planned`` that have no record yet; return all records, in seed order.

    Finished records are read back rather than retrained (resume). Each seed group's records are
    written as soon as the group finishes (``train``'s ``on_group``), so an interrupted run —
    Ctrl-C, ``kill -9``, a crash in a later group — keeps every finished seed, and the rerun
    trains only the missing ones. What can only be known once every seed has finished (mode
    connectivity and CKA across seeds with ``--diagnostics full``, and the landscape labels,
    relative to every seed of the group) is added at the end by rewriting those records,
    atomically.
    ``train_fn`` replaces :func:`regimebench.train.train` (tests use it to inject faults).
    """
    todo = planned.todo
    out = Path(planned.request.out)
    if todo:
        check_writable(out)
        from .train import train

        injected = train_fn is not None  # a test's function cannot cross into workers
        train_fn = train_fn or train
        index = {planned.specs[i].seed: i for i in todo}
        seeds = [planned.specs[i].seed for i in todo]
        diag = planned.request.diagnostics_config()
        extra = {"diagnostics": diag} if diag is not None else {}
        written: dict[int, dict] = {}
        reference = None

        def write(i: int, rec: dict) -> None:
            try:
                write_record(planned.paths[i], rec)
            except RecordError as e:
                raise BenchError(str(e)) from None
            written[i] = rec

        cross_seed = diag is not None and diag.landscape and len(todo) > 1
        layout = _layout(planned.request.seed_layout, len(todo), cross_seed, planned.evals)
        if layout.processes > 1 and not in_worker() and not injected:
            # one single-threaded worker per core; each writes its seeds' records itself
            run_in_processes(planned, todo, layout, progress, crashed=lambda i, text: write(
                i, crashed_record(planned, planned.specs[i], text, "worker_died")))
            _relabel(planned)
            return [read_record(p) if p.is_file() else {} for p in planned.paths]

        def on_group(group, snapshot) -> None:
            for sr in group:
                i = index[sr.seed]
                write(i, result_record(planned, planned.specs[i], sr, snapshot, reference))

        try:
            task = planned.problem.make_task(planned.task, planned.params, planned.sizes)
            reference = planned.problem.reference(planned.task, planned.params).provenance()
            result = train_fn(task, planned.solver, planned.evals, planned.sizes, seeds,
                              n_log=planned.request.n_log,
                              seed_layout=planned.request.seed_layout, progress=progress,
                              on_group=on_group, **extra)
            amended = {index[s] for s in getattr(result, "amended", ())}
            for sr in result.seeds:
                i = index[sr.seed]
                if i not in written or i in amended:
                    write(i, result_record(planned, planned.specs[i], sr, result, reference))
        except BenchError:
            raise
        except MemoryError:
            for i in todo:
                if i not in written:
                    write(i, crashed_record(planned, planned.specs[i], traceback.format_exc(),
                                            "out_of_memory"))
        except Exception as e:  # noqa: BLE001 - any training failure becomes a counted record
            if "RESOURCE_EXHAUSTED" in str(e) or "Out of memory" in str(e):
                kind = "out_of_memory"
            else:
                kind = "exception"
            tb = traceback.format_exc()
            for i in todo:
                if i not in written:  # seeds of finished groups keep their records
                    write(i, crashed_record(planned, planned.specs[i], tb, kind))
        _relabel(planned)
    return [read_record(p) if p.is_file() else {} for p in planned.paths]


def _relabel(planned: Planned) -> None:
    """Relabel the group this run wrote into, once every seed is on disk.

    The landscape labels (deceptive sharpness/flatness) are relative to the group's family, so
    a seed written when its group finished carries only the family-free labels until now. The
    labels are :func:`regimebench.labels.label_group` of every record of the group — earlier
    runs' seeds included — exactly what ``bench relabel`` computes.
    """
    from .relabel import relabel_group

    path = next((p for p in planned.paths if p.is_file()), None)
    if path is not None:
        relabel_group(path, planned.problem.task_info(planned.task).thresholds)


def _layout(seed_layout, n_seeds: int, cross_seed: bool, evals: int):
    """The resolved seed layout, or :class:`BenchError` for a bad one (before any training)."""
    try:
        layout = resolve_layout(seed_layout, n_seeds, cross_seed=cross_seed, evals=evals)
    except ValueError as e:
        raise BenchError(str(e)) from None
    if layout.processes > 1 and cross_seed:
        raise BenchError(f"seed layout {seed_layout!r} trains in {layout.processes} processes, "
                         "but cross-seed diagnostics (--diagnostics full) need every seed in one "
                         "process: use --seed-layout auto, sequential or a group size")
    return layout


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
