"""What :func:`regimebench.engine.train` returns: one :class:`SeedResult` per seed, and the run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..outcomes import FailureReason, Status

__all__ = ["SeedResult", "TrainResult", "finite_or_none", "evals_number"]


def finite_or_none(x) -> float | None:
    """``float(x)``, or ``None`` if it is NaN or infinite (records hold finite numbers or null)."""
    x = float(x)
    return x if math.isfinite(x) else None


def evals_number(x) -> int | float:
    """An evaluation count for a record: an ``int`` when whole (unit and line-search phases),
    else the fractional count of a measured phase, to 1e-3."""
    x = float(x)
    return int(round(x)) if abs(x - round(x)) < 1e-6 else round(x, 3)


@dataclass
class SeedResult:
    """The outcome of one seed, before it becomes a record.

    ``seconds`` is this seed's share of its group's training, evaluation and probe time (the
    group's time divided by the group size, padding included in the divisor: a padded copy's
    time is charged to no seed); compilation is not in it (``TrainResult.timing["compile_s"]``).
    """

    seed: int
    status: Status
    failure: FailureReason | None
    failed_step: int | None
    evals: int | float
    metrics: dict[str, float | None]
    curves: dict[str, list]
    seconds: float = 0.0
    params: Any = field(repr=False, default=None)
    diagnostics: dict = field(default_factory=dict)  # end-of-training probes


@dataclass
class TrainResult:
    """The seeds of one run and what they share.

    ``timing`` (seconds unless named otherwise): ``compile_s`` (ahead-of-time compilation of the
    programs this call compiled; 0 when all were cached), ``init_s``, ``train_s`` (executing the
    training chunks and their log points), ``eval_s`` (final metrics, predictions and field
    probes), ``diagnostics_s`` (landscape probes), ``wall_s`` (the whole call),
    ``seed_steps_per_s`` (evaluations of all seeds, padding excluded, per second of ``train_s``).

    ``layout``: ``seed_layout`` (as asked), ``processes``, ``threads`` (per process, ``None``: XLA's
    default), ``group_size``, ``groups``, ``chunk_steps``, ``curve_points`` (size of the curve
    subsample of the evaluation set), and ``phases`` (a copy of :attr:`phases`, so records,
    which store the layout, carry the cost models).

    ``phases``: per optimizer phase, ``kind``, ``cost_model``, ``budget_end``, ``step_cost``
    (gradient-evaluation equivalents per step; for measured phases also ``step_flops`` and
    ``gradient_flops``: XLA's cost analysis plus the LAPACK calls it does not count,
    :func:`~regimebench.engine.programs.flops`) and ``chunk_steps`` (steps between two curve
    points in this phase: ``layout["chunk_steps"]`` divided by the step cost, so a phase of
    dear steps still gets its points).

    ``term_roles``: ``{term: role}`` as the task declares them (:class:`~regimebench.outcomes.
    TermRole` values).

    ``amended``: seeds whose result changed after ``on_group`` handed it out (cross-seed
    diagnostics).
    """

    seeds: list[SeedResult]
    timing: dict[str, float | None]
    layout: dict[str, Any]
    term_roles: dict[str, str] = field(default_factory=dict)
    phases: list[dict[str, Any]] = field(default_factory=list)
    static: Any = field(repr=False, default=None)  # the model's non-array part
    amended: list[int] = field(default_factory=list)  # seeds changed after on_group saw them
