"""The planner: turns what a command asks for into run specs and record paths, before training.

Every command that trains (``bench run``, ``batch``, ``batch --all``, ``sweep``, ``validate``'s
smoke runs) and the Python API go through the same three steps:

1. *requests*: one :class:`RunRequest` per (problem, task, solver entry, budget, cell) × seeds;
   :func:`at_cell` moves one to a regime-map cell, :func:`sweep_requests` makes every cell of a
   map, :func:`matrix_requests` the official matrix (every entry × every (problem, task) it
   declares);
2. *plans*: :func:`plan` (or :func:`plan_many` for several) resolves each request — problem,
   task, entry, budget, sizes — and plans one :class:`~regimebench.record.RunSpec` per seed with
   the path its record will have. Bad input fails here with :class:`BenchError`, a one-line
   message, before any compilation or any record is written;
3. *execution*: :func:`regimebench.executors.run_plans` trains what has no record yet, on the
   ``local``, ``ray`` or ``slurm`` executor. :func:`resume` is the one rule for "finished": a
   readable record at the seed's path that did not crash. An unreadable one (corrupt, a link, a
   FIFO) is moved aside and trained again; a ``crashed`` one is trained again (a ``failed`` one
   is a result and is kept).

Seeds are integers from 0 to :data:`MAX_SEED`; a request for more than :data:`MANY_SEEDS` seeds
needs ``allow_many_seeds`` (``--allow-many-seeds``) and more than :data:`MAX_SEEDS` is refused
(:func:`regimebench.limits.check_seed_range`), before anything is planned.

The command that reproduces a request, printed under results and stored in every record, is made
by :func:`reproduce_command` (one place; it always names every option that changes what runs).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._catalogue import solvers_dir
from .choices import DiagnosticsMode, parse_choice, parse_seed_layout
from .errors import BenchError
from .limits import MANY_SEEDS, MAX_SEED, MAX_SEEDS, check_seed_range
from .outcomes import Status
from .problem import ProblemError, list_problems, load_problem
from .record import FileProblem, RecordError, RunSpec, read_record, record_path
from .solver import (
    TASKS,
    EntryNeedsReview,
    SolverSpec,
    SolverSpecError,
    list_solvers,
    load_solver,
    load_solver_file,
)
from .task_wiring import check_entry_for_task

__all__ = ["BenchError", "NeedsReview", "RunRequest", "Planned", "plan", "plan_many", "resume", "at_cell",
           "sweep_requests", "matrix_requests", "reproduce_command", "check_writable",
           "check_seed_range", "MAX_SEED", "MANY_SEEDS", "MAX_SEEDS"]

class NeedsReview(BenchError):
    """The request's entry carries code and was not trusted (the CLI exits with code 3)."""

    exit_code = 3


@dataclass
class RunRequest:
    """One (problem, task, solver, budget, cell) × seeds request.

    ``overrides`` sets problem parameters (a difficulty value); ``data`` the data-axis count;
    both make the run a regime-map *cell*, stored in its own folder. ``diagnostics`` is a
    :class:`~regimebench.choices.DiagnosticsMode` name (``"auto"``: the tier's default), ``None``
    (off) or a :class:`~regimebench.diagnostics.DiagnosticsConfig`; it is not part of a run's
    identity (it does not change training). ``platform`` is the JAX platform asked for (``None``:
    JAX's choice); executors apply it in their worker processes. ``command`` is the reproduce
    command stored in the records; :func:`plan` fills it in when it is ``None``.
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
    diagnostics: Any = "auto"
    platform: str | None = None
    trust_code: bool | None = None  # import an entry that carries code (None: the environment)

    def diagnostics_config(self):
        """The :class:`~regimebench.diagnostics.DiagnosticsConfig` to train with (or ``None``)."""
        if self.diagnostics is None or isinstance(self.diagnostics, str):
            mode = DiagnosticsMode.OFF if self.diagnostics is None else DiagnosticsMode(
                self.diagnostics)
            return mode.config(self.budget)
        return self.diagnostics


@dataclass
class Planned:
    """A validated request: the resolved problem, task, entry, sizes, and one spec per seed."""

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
        """Indices of seeds without a finished record (all of them with ``force``): no file, a
        file that is not a readable record, or a ``crashed`` record (see :func:`resume`)."""
        if self.request.force:
            return list(range(len(self.specs)))
        return [i for i, p in enumerate(self.paths) if _finished(p) is None]


def _finished(path: Path) -> dict | None:
    """The record at a seed's path if it counts as finished (readable, not crashed)."""
    if not os.path.lexists(path):
        return None
    try:
        rec = read_record(path, follow_symlinks=False)
    except RecordError:
        return None
    return None if rec.get("status") == Status.CRASHED else rec


def _resolve_solver(name, trust_code: bool | None = None):
    if isinstance(name, SolverSpec):  # an already validated entry (e.g. a test's tiny variant)
        return name
    path = Path(name)
    if path.suffix == ".toml" or (path.is_dir() and (path / "solver.toml").is_file()):
        return load_solver_file(path, trust_code=trust_code)
    return load_solver(name, trust_code=trust_code)


def _normalise(request: RunRequest) -> RunRequest:
    """Plain strings for enumeration members; bad seed layouts and modes rejected."""
    try:
        layout = parse_seed_layout(request.seed_layout)
        diagnostics = request.diagnostics
        if isinstance(diagnostics, str):
            diagnostics = parse_choice(DiagnosticsMode, diagnostics, "diagnostics mode").value
    except ValueError as e:
        raise BenchError(str(e)) from None
    return dataclasses.replace(
        request, budget=str(request.budget), out=Path(request.out), diagnostics=diagnostics,
        seed_layout=layout if isinstance(layout, int) else str(layout),
        platform=None if request.platform is None else str(request.platform))


def plan(request: RunRequest) -> Planned:
    """Validate a request and plan its records. Raises :class:`BenchError` on bad input.

    The returned plan holds a completed copy of ``request`` (choices normalised, the reproduce
    command filled in); ``request`` itself is not changed.
    """
    request = _normalise(request)
    try:
        problem = load_problem(request.problem)
        info = problem.task_info(request.task)
        solver = _resolve_solver(request.solver or info.default_solver, request.trust_code)
    except EntryNeedsReview as e:
        raise NeedsReview(str(e)) from None
    except (KeyError, ProblemError, SolverSpecError, RecordError) as e:
        raise BenchError(str(e)) from None
    if not solver.supports(problem.name, info.name):
        raise BenchError(
            f"Solver {solver.name!r} does not declare support for {problem.name}/{info.name} "
            f"(tasks {list(solver.tasks)}, problems {solver.problems})."
        )
    try:
        check_entry_for_task(solver, problem.task_class(info.name))
    except (ValueError, ProblemError) as e:
        raise BenchError(str(e)) from None
    seeds = list(request.seeds)
    if not seeds:
        raise BenchError("at least one seed is needed (--seeds must be positive)")
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int)
           or not 0 <= s <= MAX_SEED]
    if bad:
        raise BenchError(f"seeds must be integers from 0 to {MAX_SEED}, got {bad[:3]}"
                         + (f" and {len(bad) - 3} more" if len(bad) > 3 else ""))
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
    if request.command is None:
        request.command = reproduce_command(request, task=info.name, solver=solver,
                                            difficulty=info.difficulty.name)
    return Planned(request, problem, info.name, solver, params, sizes, evals, cell, specs, paths)


def plan_many(requests: Iterable[RunRequest]) -> list[Planned]:
    """Plan every request before any trains: the first bad one raises :class:`BenchError`."""
    return [plan(r) for r in requests]


def resume(planned: Planned, warn: Callable[[str], None] | None = None, *,
           set_aside: bool = True) -> dict[int, dict]:
    """The finished records of ``planned``, by seed index: the one rule for skipping seeds.

    A seed is finished when a readable record that did not crash exists at its path (never with
    ``force``). A ``failed`` record (training went non-finite) is a result and counts; a
    ``crashed`` one (training raised, or its worker died) does not: the seed is trained again
    and the new record replaces it. A file there that is not a readable record — corrupt, a
    symbolic link, a FIFO or device, too large — is reported through ``warn`` and its seed is
    trained again; with ``set_aside`` (the default) the file is first renamed
    ``<name>.corrupt`` (kept for inspection, never opened). ``set_aside=False`` changes nothing
    on disk (for dry runs). A record written by a newer regimebench raises :class:`BenchError`:
    it is not this version's to replace.
    """
    finished: dict[int, dict] = {}
    if planned.request.force:
        return finished
    for i, path in enumerate(planned.paths):
        if not os.path.lexists(path):
            continue
        try:
            rec = read_record(path, follow_symlinks=False)
        except RecordError as e:
            if e.problem == FileProblem.NEWER:
                raise BenchError(str(e)) from None
            if set_aside:
                aside = path.with_name(path.name + ".corrupt")
                os.replace(path, aside)
                message = f"{e}; moved aside to {aside.name} and running it again"
            else:
                message = f"{e}; it would be moved aside and run again"
            if warn is not None:
                warn(message)
            continue
        if rec.get("status") == Status.CRASHED:
            if warn is not None:
                warn(f"{path}: seed {rec['spec']['seed']} crashed last time "
                     f"({rec.get('failure')}); running it again")
            continue
        finished[i] = rec
    return finished


# --------------------------------------------------------------------------------------- requests
def _fmt_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _solver_argument(request: RunRequest, solver: SolverSpec) -> str | None:
    """How a command names the entry: as asked (a name or a path), or ``None`` if it cannot."""
    asked = request.solver
    if asked is None:
        return solver.name
    if isinstance(asked, SolverSpec):
        # An entry built in Python has no folder a command could point at.
        if asked.folder is None:
            return None
        in_catalogue = Path(asked.folder).resolve() == (solvers_dir() / asked.name).resolve()
        return asked.name if in_catalogue else str(asked.folder)
    # A path is recorded as typed: the command must rerun as printed, from the same folder.
    return str(asked)


def reproduce_command(request: RunRequest, *, task: str, solver: SolverSpec,
                      difficulty: str | None = None) -> list[str] | None:
    """The ``bench run`` command that trains exactly ``request`` again, as an argument list.

    It names every option that changes what runs or what is recorded: problem, task, entry,
    seeds, budget (and an explicit ``--evals``), the regime-map cell (``--difficulty``,
    ``--data``), the seed layout, the platform and the diagnostics mode. Defaults are left out
    so the command stays short. Returns ``None`` when no command can reproduce the request: an
    entry built from a Python mapping, seeds that are not a contiguous range, or parameter
    overrides other than the task's difficulty axis; the record then keeps the process's own
    command line. ``difficulty`` is the name of the task's difficulty parameter.
    """
    entry = _solver_argument(request, solver)
    seeds = sorted(int(s) for s in request.seeds)
    if entry is None or not seeds or seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        return None
    extra = set(request.overrides) - ({difficulty} if difficulty else set())
    if extra:
        return None
    cmd = ["bench", "run", "--problem", request.problem, "--task", task, "--solver", entry,
           "--seeds", str(len(seeds))]
    if seeds[0]:
        cmd += ["--seed-start", str(seeds[0])]
    cmd += ["--budget", str(request.budget)]
    if request.evals is not None:
        cmd += ["--evals", str(request.evals)]
    if difficulty and difficulty in request.overrides:
        cmd += ["--difficulty", _fmt_value(request.overrides[difficulty])]
    if request.data is not None:
        cmd += ["--data", str(int(request.data))]
    if str(request.seed_layout) != "auto":
        cmd += ["--seed-layout", str(request.seed_layout)]
    if request.platform:
        cmd += ["--platform", str(request.platform)]
    mode = _diagnostics_name(request)
    if mode not in (None, DiagnosticsMode.AUTO):
        cmd += ["--diagnostics", mode.value]
    return cmd


def _diagnostics_name(request: RunRequest) -> DiagnosticsMode | None:
    """The mode a command names for ``request.diagnostics`` (``None``: a custom config)."""
    d = request.diagnostics
    if d is None:
        return DiagnosticsMode.OFF
    if isinstance(d, str):
        return DiagnosticsMode(d)
    for mode in (DiagnosticsMode.SNR, DiagnosticsMode.FULL):
        if mode.config(request.budget) == d:
            return mode
    return None


def at_cell(request: RunRequest, difficulty: Any = None, data: int | None = None) -> RunRequest:
    """``request`` at one regime-map cell: the task's difficulty parameter set to ``difficulty``
    and its data axis to ``data`` (``None`` leaves either canonical; both ``None``: ``request``).

    Raises :class:`BenchError` for an unknown problem or task.
    """
    if difficulty is None and data is None:
        return request
    try:
        info = load_problem(request.problem).task_info(request.task)
    except (KeyError, ProblemError) as e:
        raise BenchError(str(e)) from None
    overrides = dict(request.overrides)
    if difficulty is not None:
        overrides[info.difficulty.name] = difficulty
    return dataclasses.replace(request, task=info.name, overrides=overrides, command=None,
                               data=request.data if data is None else int(data))


def sweep_requests(request: RunRequest, difficulty: Sequence[Any] | None = None,
                   data: Sequence[int] | None = None) -> list[RunRequest]:
    """One request per (difficulty, data) cell of a regime map, with ``request``'s settings.

    ``difficulty`` and ``data`` default to the grid the task declares in ``problem.toml``
    (see :func:`at_cell`). Raises :class:`BenchError` for an unknown problem or task.
    """
    try:
        info = load_problem(request.problem).task_info(request.task)
    except (KeyError, ProblemError) as e:
        raise BenchError(str(e)) from None
    dvals = list(info.difficulty.values if difficulty is None else difficulty)
    nvals = [int(n) for n in (info.data.values if data is None else data)]
    return [at_cell(request, dv, n) for dv in dvals for n in nvals]


def matrix_requests(request: RunRequest, *, problems: Sequence[str] = (),
                    solvers: Sequence[str] = (), tasks: Sequence[str] = (),
                    ) -> tuple[list[RunRequest], list[str]]:
    """The official matrix: every entry × every (problem, task) it declares, with ``request``'s
    seeds, budget and settings.

    ``problems``, ``solvers`` and ``tasks`` keep only the named ones (empty: all); an unknown
    name raises :class:`BenchError` with the closest known names. Returns the requests (in
    catalogue order) and one message per entry that cannot be loaded (a malformed
    ``solver.toml``): the caller decides whether that stops the matrix.
    """
    from ._registry import did_you_mean

    known_problems, known_solvers = list_problems(), list_solvers()
    for names, known, what in ((problems, known_problems, "problem"),
                               (solvers, known_solvers, "solver"),
                               (tasks, TASKS, "task")):
        for name in names:
            if name not in known:
                raise BenchError(f"Unknown {what} {name!r}." + did_you_mean(name, list(known)))
    errors: list[str] = []
    entries = []
    for name in solvers or known_solvers:
        try:
            entries.append(load_solver(name, trust_code=request.trust_code))
        except (KeyError, SolverSpecError) as e:
            errors.append(str(e))
    requests = []
    for pname in problems or known_problems:
        try:
            problem = load_problem(pname)
        except (KeyError, ProblemError) as e:
            errors.append(str(e))
            continue
        for task in problem.tasks:
            if tasks and task not in tasks:
                continue
            for entry in entries:
                if entry.supports(pname, task):
                    requests.append(dataclasses.replace(request, problem=pname, task=task,
                                                        solver=entry.name, command=None))
    return requests, errors


def check_writable(out: Path) -> None:
    """Fail with :class:`BenchError` unless files can be created in ``out``."""
    import tempfile

    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out, prefix=".write-test-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise BenchError(f"cannot write to results folder {out}: {e.strerror or e}") from None
