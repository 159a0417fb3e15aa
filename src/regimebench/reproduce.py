"""Reproducing a record: rerun one seed and compare, and the commit-pinned reproduce command.

A record names everything that determines its numbers: the problem and its version, the solver
entry and its config hash, the budget, the cell, the seed, the harness version
(:mod:`regimebench.harness`) and, in its provenance, the commit it was made at.
:func:`reproduce_record` replans exactly that seed (``planner.plan``), trains it again
(``runner.execute``) into a temporary folder and reports how far the new rel. L2 is from the
recorded one, against a relative tolerance stated per task. :func:`pinned_command` turns a
record's command into one that first checks out the recorded commit — the only way to get the
same code, since config hashes do not change when the harness does.

**Tolerance.** ``tolerance`` (relative, on rel. L2) defaults to the task's ``reproduce_rtol``
when the catalogue declares one (``[tasks.<task>] reproduce_rtol`` in ``problem.toml``), else
:data:`DEFAULT_RTOL` = 1 %. What is measured: a rerun at the same commit on the same machine is
identical (XLA on CPU is deterministic for one program; ``tests/test_reproduce.py`` finds a
difference of 0). What is not: how far float32 training drifts between two CPUs of one kind
(vector widths, thread counts) or when a seed trained in a vmapped group is rerun alone — one
machine cannot measure that, so the default is a stated allowance, not a measured bound; a task
should declare its own ``reproduce_rtol`` once a cross-machine rerun has measured it. 1 % catches
changes of numerics like issue 13's (burgers seed 0: 0.276 recorded, 0.232 at a later commit,
16 %), and is finer than the seed-to-seed spread of every committed official group except those
saturated at rel. L2 ≈ 1, where seeds differ by 0.1–0.8 %.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .harness import HARNESS_VERSION, harness_of
from .planner import BenchError, RunRequest, plan
from .record import RecordError, RunSpec, pinned_command, read_record
from .stats import seed_error

__all__ = ["DEFAULT_RTOL", "Report", "ReproduceError", "reproduce_record", "pinned_command",
           "tolerance_for"]

DEFAULT_RTOL = 0.01


class ReproduceError(BenchError):
    """The record cannot be rerun here (the catalogue no longer plans the same spec)."""


def tolerance_for(problem: str, task: str) -> float:
    """The task's declared ``reproduce_rtol``, else :data:`DEFAULT_RTOL`."""
    from .problem import ProblemError, load_problem

    try:
        info = load_problem(problem).task_info(task)
    except (KeyError, ProblemError):
        return DEFAULT_RTOL
    value = getattr(info, "reproduce_rtol", None)
    return float(value) if value is not None else DEFAULT_RTOL


@dataclass(frozen=True)
class Report:
    """The outcome of :func:`reproduce_record`."""

    record: Path
    seed: int
    recorded: float  # rel. L2 (+inf for a failed seed)
    rerun: float
    rtol: float
    recorded_status: str
    rerun_status: str
    recorded_regime: str | None
    rerun_regime: str | None
    recorded_harness: str
    rerun_harness: str
    recorded_commit: str | None
    pinned: str
    rerun_record: dict[str, Any] = dataclasses.field(repr=False)

    @property
    def difference(self) -> float:
        """|rerun − recorded| / recorded (0 when both failed; +∞ when only one did)."""
        if math.isinf(self.recorded) or math.isinf(self.rerun):
            return 0.0 if self.recorded == self.rerun else math.inf
        if self.recorded == 0:
            return 0.0 if self.rerun == 0 else math.inf
        return abs(self.rerun - self.recorded) / abs(self.recorded)

    @property
    def within(self) -> bool:
        """Whether the rerun reproduces the record within :attr:`rtol` (and the same status)."""
        return self.recorded_status == self.rerun_status and self.difference <= self.rtol

    @property
    def same_harness(self) -> bool:
        return self.recorded_harness == self.rerun_harness

    def summary(self) -> str:
        """One paragraph for the CLI."""
        verdict = "reproduced" if self.within else "NOT reproduced"
        lines = [f"{verdict}: seed {self.seed} rel. L2 {self.recorded:.6g} recorded, "
                 f"{self.rerun:.6g} now ({100 * self.difference:.3g} % apart; tolerance "
                 f"{100 * self.rtol:.3g} %); status {self.recorded_status} → {self.rerun_status}, "
                 f"regime {self.recorded_regime} → {self.rerun_regime}"]
        if not self.same_harness:
            lines.append(f"the record was made by harness {self.recorded_harness}, this code is "
                         f"harness {self.rerun_harness}: its numbers are not expected to match; "
                         f"rerun at the recorded commit: {self.pinned}")
        return "\n".join(lines)


def _comparable(spec: RunSpec) -> dict[str, Any]:
    d = spec.as_dict()
    d.pop("harness")
    return d


def reproduce_record(record_path: Path | str, *, tolerance: float | None = None,
                     out: Path | None = None, solver: str | None = None,
                     trust_code: bool | None = None, train_fn=None) -> Report:
    """Rerun the seed of the record at ``record_path`` and compare its rel. L2 with the record's.

    Arguments:
        record_path: a run record.
        tolerance: relative tolerance on rel. L2 (default :func:`tolerance_for` the task).
        out: results folder for the rerun's record (default: a fresh temporary folder, kept so
            the new record can be inspected; its path is in the report's ``rerun_record``).
        solver: the solver entry's name or folder, if the record's entry is not in the catalogue
            under its name (a local entry).
        trust_code: import the entry's code if it carries some (see
            :func:`regimebench.solver.code_trusted`; ``None``: the environment).
        train_fn: replaces :func:`regimebench.train.train` (tests).

    Raises:
        RecordError: the file is not a valid record.
        ReproduceError: the catalogue no longer plans the same spec (entry, problem or budget
            changed): check out the recorded commit (:func:`pinned_command`).
    """
    from .runner import execute

    record_path = Path(record_path)
    rec = read_record(record_path)
    spec = RunSpec.from_dict(rec["spec"])
    cell = dict(rec.get("cell") or {})
    out = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="bench-reproduce-"))
    try:
        from .problem import ProblemError, load_problem

        problem = load_problem(spec.problem)
        info = problem.task_info(spec.task)
    except (KeyError, ProblemError) as e:
        raise ReproduceError(str(e)) from None
    tier, _, explicit = spec.budget.partition("-")  # "cpu-1500": tier cpu, 1500 evaluations
    request = RunRequest(
        problem=spec.problem, task=spec.task, solver=solver or spec.solver, seeds=[spec.seed],
        budget=tier, out=out, force=True,
        overrides={k: v for k, v in cell.items() if k in problem.params},
        data=cell.get(info.data.name), evals=spec.evals if explicit else None,
        diagnostics=None,  # diagnostics never change training; skip their cost
        command=["bench", "reproduce", str(record_path)], trust_code=trust_code)
    planned = plan(request)
    new_spec = planned.specs[0]
    if _comparable(new_spec) != _comparable(spec):
        changed = sorted(k for k, v in _comparable(spec).items() if _comparable(new_spec)[k] != v)
        raise ReproduceError(
            f"{record_path}: the catalogue now plans a different run for this seed (changed: "
            f"{', '.join(changed)}); rerun at the recorded commit: {pinned_command(rec)}")
    (new,) = execute(planned, train_fn=train_fn)
    if not new:
        raise RecordError(f"the rerun of {record_path} wrote no record")
    rtol = tolerance if tolerance is not None else tolerance_for(spec.problem, spec.task)
    return Report(
        record=record_path, seed=spec.seed, recorded=seed_error(rec), rerun=seed_error(new),
        rtol=float(rtol), recorded_status=str(rec.get("status")),
        rerun_status=str(new.get("status")),
        recorded_regime=(rec.get("labels") or {}).get("regime"),
        rerun_regime=(new.get("labels") or {}).get("regime"),
        recorded_harness=harness_of(rec), rerun_harness=harness_of(new) or HARNESS_VERSION,
        recorded_commit=(rec.get("provenance") or {}).get("git_sha"),
        pinned=pinned_command(rec), rerun_record=new)
