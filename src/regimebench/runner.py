"""The runner: turns a request into run specs, trains what is missing, writes records.

This is the effectful shell around :func:`regimebench.train.train`. It

1. resolves the problem, task, solver entry, budget and sizes (bad input fails here, before any
   compilation, with :class:`BenchError` — a one-line message);
2. plans one :class:`~regimebench.record.RunSpec` per seed and skips seeds whose record exists
   (unless ``force``);
3. trains the remaining seeds together, and writes one record per seed atomically;
4. turns an exception during training into ``crashed`` records (with the traceback), so a sweep
   keeps going and the failure is counted.

:func:`run_one` runs a single spec; executors (local, Ray, SLURM) call it on workers.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .budget import tier_evals
from .labels import label_record, landscape_family
from .problem import ProblemError, load_problem
from .record import RecordError, RunSpec, provenance, read_record, record_path, write_record
from .solver import SolverSpec, SolverSpecError, load_solver, load_solver_file

__all__ = ["BenchError", "RunRequest", "Planned", "plan", "execute", "run_one", "run_seeds",
           "crash_record", "check_writable"]


class BenchError(Exception):
    """Bad input or an environment problem; the CLI prints it on one line and exits with 2."""


@dataclass
class RunRequest:
    """One (problem, task, solver, budget, cell) × seeds request.

    ``overrides`` sets problem parameters (a difficulty value); ``data`` the data-axis count;
    both make the run a regime-map *cell*, stored in its own folder.
    """

    problem: str
    task: str | None = None
    solver: str | SolverSpec | None = None  # entry name, path to a solver.toml, or a spec
    seeds: Sequence[int] = (0, 1, 2)
    budget: str = "cpu"
    out: Path = Path("results")
    force: bool = False
    seed_layout: str | int = "auto"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    data: int | None = None
    n_log: int = 100
    command: list[str] | None = None
    evals: int | None = None  # explicit budget in gradient evaluations (overrides the tier's)
    # "auto": regimebench.diagnostics.default_for_tier(budget) (off at smoke); None: off; or a
    # DiagnosticsConfig. Not part of the run's identity (it does not change training).
    diagnostics: Any = "auto"

    def diagnostics_config(self):
        from .diagnostics import default_for_tier

        return default_for_tier(self.budget) if self.diagnostics == "auto" else self.diagnostics


@dataclass
class Planned:
    request: RunRequest
    problem: Any
    task: str
    solver: Any
    params: dict
    sizes: dict
    evals: int
    cell: dict
    specs: list[RunSpec]
    paths: list[Path]

    @property
    def todo(self) -> list[int]:
        """Indices of seeds without a finished record (all of them with ``force``)."""
        if self.request.force:
            return list(range(len(self.specs)))
        return [i for i, p in enumerate(self.paths) if not p.is_file()]


def _resolve_solver(name):
    if isinstance(name, SolverSpec):  # an already validated entry (e.g. a test's tiny variant)
        return name
    path = Path(name)
    if path.suffix == ".toml" or (path.is_dir() and (path / "solver.toml").is_file()):
        return load_solver_file(path)
    return load_solver(name)


def plan(request: RunRequest) -> Planned:
    """Validate a request and plan its records. Raises :class:`BenchError` on bad input."""
    try:
        problem = load_problem(request.problem)
        info = problem.task_info(request.task)
        solver = _resolve_solver(request.solver or info.default_solver)
    except (KeyError, ProblemError, SolverSpecError, RecordError) as e:
        raise BenchError(str(e)) from None
    if not solver.supports(problem.name, info.name):
        raise BenchError(
            f"Solver {solver.name!r} does not declare support for {problem.name}/{info.name} "
            f"(tasks {list(solver.tasks)}, problems {solver.problems})."
        )
    seeds = list(request.seeds)
    if not seeds:
        raise BenchError("at least one seed is needed (--seeds must be positive)")
    if any((not isinstance(s, int)) or s < 0 for s in seeds):
        raise BenchError(f"seeds must be non-negative integers, got {seeds}")
    try:
        evals = request.evals or tier_evals(request.budget, problem.budgets)
        # The data axis names either a sampled term (collocation/sample count, set in sizes) or a
        # problem parameter (e.g. an operator task's number of training pairs, which defines
        # the dataset and hence the reference): the latter is applied as a parameter override.
        overrides = dict(request.overrides)
        data_is_param = info.data.name in problem.params
        if request.data is not None and data_is_param:
            overrides[info.data.name] = int(request.data)
        params = problem.resolve_params(info.name, overrides)
        sizes = problem.sizes(info.name, request.budget, None if data_is_param else request.data)
    except (ValueError, ProblemError) as e:
        raise BenchError(str(e)) from None
    cell = dict(request.overrides)
    if request.data is not None:
        cell[info.data.name] = int(request.data)
    budget_name = request.budget if request.evals is None else f"{request.budget}-{evals}"
    specs, paths = [], []
    for seed in seeds:
        spec = RunSpec(
            problem=problem.name, problem_version=problem.version, task=info.name,
            solver=solver.name, solver_version=solver.version, config_hash=solver.config_hash,
            budget=budget_name, evals=evals, seed=int(seed), params=params, sizes=sizes,
            config=solver.config(),
        )
        specs.append(spec)
        paths.append(record_path(Path(request.out), spec, cell or None))
    return Planned(request, problem, info.name, solver, params, sizes, evals, cell, specs, paths)


def check_writable(out: Path) -> None:
    """Fail with :class:`BenchError` unless files can be created in ``out``."""
    import os
    import tempfile

    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out, prefix=".write-test-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise BenchError(f"cannot write to results folder {out}: {e.strerror or e}") from None


def _record(planned: Planned, spec: RunSpec, seed_result, result, reference) -> dict:
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


def _crashed(planned: Planned, spec: RunSpec, tb: str, kind: str) -> dict:
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
            records = {i: _record(planned, planned.specs[i], sr, result, reference)
                       for i, sr in zip(todo, result.seeds)}
            # Landscape labels are relative to a family of runs: here, this run's seeds
            # (`bench relabel` widens it to every cell of the same entry and budget).
            family = landscape_family(records.values())
            if family is not None:
                thresholds = planned.problem.task_info(planned.task).thresholds
                for rec in records.values():
                    rec["labels"] = label_record(rec, thresholds, family)
        except MemoryError:
            records = {i: _crashed(planned, planned.specs[i], traceback.format_exc(), "out_of_memory")
                       for i in todo}
        except Exception as e:  # noqa: BLE001 - any training failure becomes a counted record
            if "RESOURCE_EXHAUSTED" in str(e) or "Out of memory" in str(e):
                kind = "out_of_memory"
            else:
                kind = "exception"
            records = {i: _crashed(planned, planned.specs[i], traceback.format_exc(), kind)
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


def run_one(spec: RunSpec, out: Path, *, cell: Mapping[str, Any] | None = None,
            force: bool = False, seed_layout: str | int = "auto",
            command: list[str] | None = None, solver: str | None = None) -> dict:
    """Run the single seed described by ``spec`` (what executors call on a worker)."""
    return run_seeds([spec], out, cell=cell, force=force, seed_layout=seed_layout,
                     command=command, solver=solver)[0]


def run_seeds(specs: Sequence[RunSpec], out: Path, *, cell: Mapping[str, Any] | None = None,
              force: bool = False, seed_layout: str | int = "auto",
              command: list[str] | None = None, solver: str | None = None,
              progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Run specs that differ only in their seed, trained together as ``bench run`` trains them.

    The specs are re-planned from their names (``solver``: the entry's name or path, default
    ``spec.solver``) and the result must be the very same specs: if the entry, the problem or the
    budget changed since the specs were made, this raises :class:`BenchError` instead of writing
    records under a path that a resumed sweep would not look for.
    """
    if not specs:
        return []
    first = specs[0]
    try:
        problem = load_problem(first.problem)
        data_name = problem.task_info(first.task).data.name
    except (KeyError, ProblemError) as e:
        raise BenchError(str(e)) from None
    cell = dict(cell or {})
    overrides = {k: v for k, v in cell.items() if k in problem.params}
    tier, _, explicit = first.budget.partition("-")  # "cpu-500": tier cpu, 500 evaluations
    request = RunRequest(problem=first.problem, task=first.task, solver=solver or first.solver,
                         seeds=[s.seed for s in specs], budget=tier, out=Path(out),
                         force=force, seed_layout=seed_layout, overrides=overrides,
                         data=cell.get(data_name), command=command,
                         evals=first.evals if explicit else None)
    planned = plan(request)
    for want, got, path in zip(specs, planned.specs, planned.paths):
        if want != got or path != record_path(Path(out), want, cell or None):
            raise BenchError(
                f"run spec for {want.problem}/{want.task}/{want.solver} seed {want.seed} no longer "
                "matches the catalogue (the entry, problem or budget changed since it was planned)"
            )
    return execute(planned, progress=progress)
