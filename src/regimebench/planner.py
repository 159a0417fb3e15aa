"""The planner: turns a request into run specs and record paths, before anything trains.

It resolves the problem, task, solver entry, budget and sizes (bad input fails here, before any
compilation, with :class:`BenchError`, a one-line message) and plans one
:class:`~regimebench.record.RunSpec` per seed, with the path its record will have, so finished
seeds can be skipped (resume). :mod:`regimebench.runner` executes what is planned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .problem import ProblemError, load_problem
from .record import RecordError, RunSpec, record_path
from .solver import SolverSpec, SolverSpecError, load_solver, load_solver_file

__all__ = ["BenchError", "RunRequest", "Planned", "plan", "check_writable"]


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
        evals = request.evals or problem.budget(info.name, request.budget)
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
