"""The Python API: try an entry in a notebook before opening a pull request.

Everything here is re-exported from :mod:`regimebench`::

    import regimebench as rb

    rb.list_problems()                     # ['active-turbulence', 'allen-cahn', ...]
    rb.list_entries()                      # ['deeponet', 'fno', 'pinn-causal', ...]
    base = rb.load_entry("pinn-mlp-adam")  # a catalogue entry, or a folder with a solver.toml
    wide = rb.entry_from_mapping({         # an entry from a dict, checked exactly like TOML
        "name": "pinn-mlp-adam-wide", "version": 1, "tasks": ["forward"],
        "dtype": "float64",
        "architecture": {"kind": "mlp", "width": 128, "depth": 4},
        "phases": [{"kind": "adam", "lr": 1e-3}],
    })
    runs = rb.run("helmholtz", wide, seeds=3, budget="smoke")   # trains, writes records
    runs.records                           # one record (a dict) per seed, in seed order
    rows = rb.curves_table(runs.records)   # [{'solver': ..., 'seed': 0, 'evals': 10,
                                           #   'value': 0.93, ...}, ...] for plotting
    table = rb.records_table(rb.load_records("results", problem="helmholtz"))

:func:`run` goes through the same planner and executors as ``bench run`` (so the records, their
paths and resume are the same), and returns a :class:`Runs`. Records are written to disk because
records *are* the interface between training and everything after it (labels, maps, the site):
with ``out=None`` they go to a new temporary folder (``runs.out``), which the operating system
cleans up eventually; pass ``out=`` to keep them. Tables are lists of flat dicts, so they need no
pandas (and ``pandas.DataFrame(rows)`` works if you have it).

**Records are dicts, on purpose.** :func:`run` and :func:`load_records` return each record as the
JSON-ready dict stored on disk (schema of :mod:`regimebench.record`), already checked against the
record's JSON Schema by the one loader. That is what every consumer takes — the tables here, the
statistics (:mod:`regimebench.stats`), the regime maps, the site — and what ``json.dump`` and
pandas take, so a notebook needs no conversion. The typed view is one call away when you want
attribute access and enumerations: ``regimebench.record.RunRecord.from_dict(rec)``.

**Entries that carry code.** An entry folder with a ``module.py`` (or any Python file) is imported
only with ``trust_code=True`` (or ``REGIMEBENCH_TRUST_CODE=1``): code in someone else's folder is
not run by accident (:mod:`regimebench.solver`).

Importing this module imports no JAX; :func:`run` does, and sets the process's numeric policy
(float64 enabled, ``highest`` matmul precision) the first time, as the command line does.
"""

from __future__ import annotations

import math
import shlex
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .solver import SolverSpec

__all__ = ["Runs", "list_problems", "list_entries", "load_entry", "entry_from_mapping", "run",
           "load_records", "records_table", "curves_table"]


def list_problems() -> list[str]:
    """Names of the catalogue's problems (``problems/<name>/``), sorted."""
    from .problem import list_problems as names

    return names()


def list_entries() -> list[str]:
    """Names of the catalogue's solver entries (``solvers/<name>/``), sorted."""
    from .solver import list_solvers

    return list_solvers()


def load_entry(name_or_folder: str | Path, *, trust_code: bool | None = None) -> SolverSpec:
    """A solver entry: a catalogue name (``"pinn-mlp-adam"``) or a folder holding ``solver.toml``.

    Raises :class:`~regimebench.solver.SolverSpecError` (a one-line message) for a malformed
    entry, :class:`~regimebench.solver.EntryNeedsReview` for an entry that carries code unless
    ``trust_code=True`` (or ``REGIMEBENCH_TRUST_CODE=1``), and :class:`KeyError` for an unknown
    name (with the closest names).
    """
    from .solver import load_solver, load_solver_file

    path = Path(name_or_folder)
    if path.suffix == ".toml" or (path / "solver.toml").is_file():
        return load_solver_file(path, trust_code=trust_code)
    return load_solver(str(name_or_folder), trust_code=trust_code)


def entry_from_mapping(table: Mapping[str, Any], *, where: str | None = None) -> SolverSpec:
    """A solver entry from a Python mapping with the keys and tables of ``solver.toml``.

    It is validated exactly like a TOML file (:func:`regimebench.solver.parse_solver`: unknown
    keys, unknown components and bad options fail with a one-line
    :class:`~regimebench.solver.SolverSpecError`). ``where`` names it in those messages (default
    ``entry 'name'``). An entry built this way has no folder: its records carry its full
    configuration (``spec.config``) but no ``bench run`` command can reproduce it, so they record
    the Python process's own command line instead.
    """
    from .solver import parse_solver

    label = where or f"entry {table.get('name', '?')!r}"
    return parse_solver(dict(table), where=label)


@dataclass(frozen=True)
class Runs:
    """What :func:`run` trained (or found finished): one record per seed, in seed order.

    Attributes:
        records: the run records (dicts, see the module docstring; crashed seeds have
            ``status == "crashed"``).
        paths: where each record is, in the same order.
        out: the results folder.
        command: the ``bench run`` command that reproduces the run, or ``None``.
        trained: how many seeds this call trained (the others were finished before).
    """

    records: list[dict]
    paths: list[Path]
    out: Path
    command: str | None = None
    trained: int = 0
    warnings: list[str] = field(default_factory=list)

    def table(self) -> list[dict[str, Any]]:
        """:func:`records_table` of these records."""
        return records_table(self.records)

    def curves(self, curve: str = "rel_l2") -> list[dict[str, Any]]:
        """:func:`curves_table` of these records."""
        return curves_table(self.records, curve)


def run(problem: str, entry: str | Path | SolverSpec | None = None, *, task: str | None = None,
        seeds: int = 3, seed_start: int = 0, budget: str = "cpu", evals: int | None = None,
        difficulty: Any = None, data: int | None = None, out: str | Path | None = None,
        force: bool = False, diagnostics: str = "auto", seed_layout: str | int = "auto",
        platform: str | None = None, executor: str = "local",
        executor_options: Mapping[str, Any] | None = None,
        progress: Callable[[int, int], None] | None = None,
        trust_code: bool | None = None, allow_many_seeds: bool = False) -> Runs:
    """Train ``entry`` on ``problem`` for seeds ``seed_start … seed_start + seeds - 1``.

    Arguments:
        problem: a catalogue problem name (:func:`list_problems`).
        entry: a catalogue entry name, a folder, or a :class:`~regimebench.solver.SolverSpec`
            from :func:`load_entry` / :func:`entry_from_mapping`; ``None``: the task's default.
        task: the problem's task (default: its first).
        seeds, seed_start: how many seeds, from which.
        budget: a tier (``smoke``, ``cpu``, ``standard``, ``long``; :class:`~regimebench.Tier`).
        evals: an explicit budget in gradient evaluations, overriding the tier's.
        difficulty, data: a regime-map cell (the task's difficulty parameter, its data count).
        out: the results folder; ``None`` makes a new temporary folder.
        force: retrain seeds whose record exists (otherwise they are read back: resume).
        diagnostics, seed_layout, platform: as ``bench run``'s options.
        executor, executor_options: where to train (``local``, ``ray``, ``slurm``) and the
            executor's options (e.g. ``{"address": "auto"}``). Remote workers plan the run again
            in their own process, so an entry there must be a catalogue name or a folder.
        progress: ``progress(done, total)`` in gradient evaluations (local executor only).
        trust_code: import an entry folder that carries code (``None``: the environment).
        allow_many_seeds: confirm more than 10 000 seeds (at most 1 000 000).

    Returns:
        A :class:`Runs`. Bad input raises :class:`~regimebench.planner.BenchError` (a one-line
        message) before anything trains; a seed whose training fails is a record, not an error.
    """
    from . import _config
    from .executors import make_executor, run_plans
    from .planner import RunRequest, at_cell, check_seed_range, plan

    check_seed_range(seed_start, seeds, allow_many=allow_many_seeds)
    if not _config._CONFIGURED:
        _config.configure(platform=platform)
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="regimebench-"))
    request = RunRequest(problem=problem, task=task,
                         solver=str(entry) if isinstance(entry, Path) else entry,
                         seeds=list(range(seed_start, seed_start + seeds)), budget=budget,
                         out=folder, force=force, evals=evals, diagnostics=diagnostics,
                         seed_layout=seed_layout, platform=platform, trust_code=trust_code)
    planned = plan(at_cell(request, difficulty, data))
    job_progress = None if progress is None else (lambda job, done, total: progress(done, total))
    summary = run_plans([planned], make_executor(str(executor), **dict(executor_options or {})),
                        job_progress=job_progress)
    records = [r for r in summary.records_of(planned) if r is not None]
    command = planned.request.command
    return Runs(records=records, paths=list(planned.paths), out=folder,
                command=shlex.join(command) if command else None,
                trained=len(summary.fresh), warnings=list(summary.warnings))


def load_records(folder: str | Path, *, problem: str | None = None, task: str | None = None,
                 solver: str | None = None, budget: str | None = None) -> list[dict]:
    """Every run record under ``folder`` (recursively), optionally only those that match.

    Read with the one loader (:func:`regimebench.record.iter_records`): a file that is not a
    valid, countable record — corrupt, a duplicate of another record, a link, a FIFO — is
    skipped with one :class:`UserWarning` naming it; the regime maps that ``bench regimes``
    writes beside records are left out quietly. Records come back in path order.
    """
    from .record import iter_records

    wanted = {"problem": problem, "task": task, "solver": solver, "budget": budget}
    out = []
    for _, rec in iter_records(Path(folder)):
        if isinstance(rec, Exception):
            warnings.warn(f"skipped {rec}", stacklevel=2)
            continue
        spec = rec.get("spec") or {}
        if all(v is None or spec.get(k) == v for k, v in wanted.items()):
            out.append(rec)
    return out


_IDENTITY = ("problem", "problem_version", "task", "solver", "config_hash", "budget", "evals",
             "seed")


def records_table(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per record: identity, cell, outcome, labels, every metric, seconds.

    Columns: ``problem``, ``problem_version``, ``task``, ``solver``, ``config_hash``, ``budget``,
    ``evals``, ``seed``; the cell's values under their parameter names (e.g. ``a2``, ``pde``);
    ``status``, ``failure``, ``regime``, ``regime_stability``, ``failure_modes`` (a tuple);
    every metric under its name (``rel_l2``, ``loss``, …; a metric whose name clashes with a
    column above gets a ``metric_`` prefix); ``seconds`` (one seed's training time).
    Missing or non-finite numbers are ``None``.
    """
    rows = []
    for rec in records:
        spec = rec.get("spec") or {}
        labels = rec.get("labels") or {}
        row: dict[str, Any] = {k: spec.get(k) for k in _IDENTITY}
        row.update(rec.get("cell") or {})
        row.update(status=rec.get("status"), failure=rec.get("failure"),
                   regime=labels.get("regime"), regime_stability=labels.get("regime_stability"),
                   failure_modes=tuple(labels.get("failure_modes") or ()))
        for name, value in (rec.get("metrics") or {}).items():
            row[f"metric_{name}" if name in row else name] = _finite(value)
        row["seconds"] = _finite((rec.get("timing") or {}).get("seed_wall_s"))
        rows.append(row)
    return rows


def curves_table(records: Iterable[Mapping[str, Any]], curve: str = "rel_l2"
                 ) -> list[dict[str, Any]]:
    """One row per point of one training curve of every record, for plotting.

    Each row: ``problem``, ``task``, ``solver``, ``config_hash``, ``budget``, ``seed``, the
    cell's values, ``evals`` (gradient evaluations so far) and ``value`` (the curve there;
    ``None`` where it was not finite). ``curve`` names a key of the records' ``curves``
    (``rel_l2``, ``loss``, ``loss_pde``, …); records without it contribute no rows.
    """
    rows = []
    for rec in records:
        spec = rec.get("spec") or {}
        curves = rec.get("curves") or {}
        values, steps = curves.get(curve), curves.get("evals")
        if not isinstance(values, list) or not isinstance(steps, list):
            continue
        base = {k: spec.get(k) for k in ("problem", "task", "solver", "config_hash", "budget",
                                         "seed")}
        base.update(rec.get("cell") or {})
        for step, value in zip(steps, values):
            rows.append({**base, "evals": step, "value": _finite(value)})
    return rows


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

