"""Cost estimates of planned runs, calibrated from the seconds that earlier records measured.

``bench batch --all`` orders the official matrix cheapest first and says how long the rest will
take. The estimate of one run (one plan's unfinished seeds, trained together) is::

    compile seconds + seeds × evaluations × points × seconds per (evaluation × point)

where *points* is the number of sampled points (or pairs) one gradient evaluation touches, the
sum of the run's sizes. The two constants come from records already on disk, matched as closely
as they exist, records of the running harness (:data:`~regimebench.harness.HARNESS_VERSION`)
before older ones, because a new engine changes the seconds:

1. ``entry``: records of the same (problem, task, entry configuration), any budget;
2. ``method``: records of the same (problem, task) by any entry of the same *method* — the same
   architecture kind, sequence of optimizer phase kinds and dtype (see :func:`method_of`). A new
   entry costs what its closest relatives cost: PINO is priced at FNO's rate, not at the
   operator task's median (DeepONet's, 4× cheaper a step), and a new natural-gradient entry at
   the natural-gradient entries' rate, not at the Adam entries';
3. ``problem``: records of the same (problem, task), any entry;
4. the same three levels in records of older harness versions (labelled ``… (harness N)``);
5. ``task``: records of the same task on any problem (a ``forward`` rate says nothing about an
   ``operator`` task, whose "points" are input-output pairs of whole fields);
6. ``default``: :data:`DEFAULT_SECONDS_PER_POINT_EVAL` and :data:`DEFAULT_COMPILE_S`.

A record's rate is its ``timing.seed_wall_s`` (one seed's training, compilation excluded) over
``evals_done × points``; the median over the matching records is used. Crashed records measured
nothing and are ignored. The result is wall-clock seconds of sequential training on a machine like
the one that wrote the calibrating records; it is an estimate for planning, not a measurement.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .harness import HARNESS_VERSION, harness_of

__all__ = ["Estimate", "CostModel", "DEFAULT_SECONDS_PER_POINT_EVAL", "DEFAULT_COMPILE_S",
           "format_seconds", "method_of"]

# Fallbacks when no record matches at all: the order of the helmholtz pinn-mlp-adam cpu-tier
# records in leaderboard/runs (43 s per seed for 3000 evaluations of 640 points on 2 cores,
# 2.2e-5 s; 15 s of compilation). Rounded: they only order work until real records exist.
DEFAULT_SECONDS_PER_POINT_EVAL = 2e-5
DEFAULT_COMPILE_S = 20.0


@dataclass(frozen=True)
class Estimate:
    """Estimated seconds of one run and where the constants came from."""

    seconds: float
    seeds: int
    evals: int
    points: int
    source: str  # entry, method, problem, task, default; "(harness N)" when from older records
    calibration_records: int


def method_of(config: Mapping[str, Any] | None) -> tuple | None:
    """What sets an entry's seconds per (evaluation × point), read from its configuration: the
    architecture kind, the optimizer phases' kinds in order, and the dtype. ``None`` when the
    configuration does not say (a record written without one), so such records never match.

    >>> method_of({"architecture": {"kind": "fno"}, "phases": [{"kind": "adam"}],
    ...            "dtype": "float32"})
    ('fno', ('adam',), 'float32')
    """
    if not isinstance(config, Mapping):
        return None
    arch = config.get("architecture")
    phases = config.get("phases")
    if not isinstance(arch, Mapping) or not isinstance(phases, list) or not phases:
        return None
    kinds = tuple(str(p.get("kind")) for p in phases if isinstance(p, Mapping))
    return str(arch.get("kind")), kinds, str(config.get("dtype"))


def _points(sizes: Mapping[str, Any]) -> int:
    return max(1, sum(int(v) for v in sizes.values() if isinstance(v, (int, float))))


def _measurement(record: Mapping[str, Any]) -> tuple[float, float | None] | None:
    """(seconds per evaluation × point, compile seconds) of one record, if it measured them."""
    if record.get("status") not in ("ok", "failed"):
        return None
    timing = record.get("timing") or {}
    seconds = timing.get("seed_wall_s")
    evals = record.get("evals_done") or 0
    sizes = (record.get("spec") or {}).get("sizes") or {}
    if not isinstance(seconds, (int, float)) or seconds <= 0 or evals <= 0 or not sizes:
        return None
    compile_s = timing.get("compile_s")
    compile_s = float(compile_s) if isinstance(compile_s, (int, float)) else None
    return float(seconds) / (evals * _points(sizes)), compile_s


class CostModel:
    """Per-(evaluation × point) rates and compile times, learned from records.

    ``harness`` is the version whose records are preferred (default: the running one).

    >>> CostModel([]).estimate("helmholtz", "forward", "pinn-mlp-adam", "0", {"pde": 640},
    ...                        evals=3000, seeds=1).source
    'default'
    """

    def __init__(self, records: Iterable[Mapping[str, Any]], harness: str = HARNESS_VERSION):
        self.harness = harness
        rates: dict[tuple, list[float]] = defaultdict(list)
        compiles: dict[tuple, list[float]] = defaultdict(list)
        for rec in records:
            m = _measurement(rec)
            if m is None:
                continue
            s = rec["spec"]
            version = harness_of(rec)
            for level in self._levels(s.get("problem"), s.get("task"), s.get("solver"),
                                      s.get("config_hash"), method_of(s.get("config"))):
                key = (version, *level)
                rates[key].append(m[0])
                if m[1] is not None:
                    compiles[key].append(m[1])
        self._rates = {k: statistics.median(v) for k, v in rates.items()}
        self._counts = {k: len(v) for k, v in rates.items()}
        self._compiles = {k: statistics.median(v) for k, v in compiles.items()}
        self._older = sorted({k[0] for k in rates if k[0] != harness}, reverse=True)

    @staticmethod
    def _levels(problem, task, solver, config_hash, method) -> list[tuple]:
        return [("entry", problem, task, solver, config_hash),
                ("method", problem, task, method), ("problem", problem, task), ("task", task)]

    def _search_order(self, problem, task, solver, config_hash, method) -> list[tuple]:
        """(version, level…) keys from the closest match to the loosest; the ``method`` level
        only when the method is known."""
        entry, same_method, same_problem, same_task = self._levels(problem, task, solver,
                                                                   config_hash, method)
        close = [entry, same_method, same_problem]
        if method is None:  # an entry without a resolved configuration has no method level
            close.remove(same_method)
        order = [(v, *level) for v in (self.harness, *self._older) for level in close]
        order += [(v, *same_task) for v in (self.harness, *self._older)]
        return order

    def estimate(self, problem: str, task: str, solver: str, config_hash: str,
                 sizes: Mapping[str, Any], *, evals: int, seeds: int,
                 config: Mapping[str, Any] | None = None) -> Estimate:
        """Estimated seconds to train ``seeds`` seeds of one run together (0 seeds: 0 s).
        ``config`` (the entry's resolved configuration) enables the ``method`` level."""
        points = _points(sizes)
        for key in self._search_order(problem, task, solver, config_hash, method_of(config)):
            if key in self._rates:
                rate, n = self._rates[key], self._counts[key]
                source = key[1] if key[0] == self.harness else f"{key[1]} (harness {key[0]})"
                compile_s = self._compiles.get(key, DEFAULT_COMPILE_S)
                break
        else:
            rate, source, n = DEFAULT_SECONDS_PER_POINT_EVAL, "default", 0
            compile_s = DEFAULT_COMPILE_S
        seconds = (compile_s + seeds * evals * points * rate) if seeds else 0.0
        return Estimate(seconds, seeds, evals, points, source, n)

    def estimate_planned(self, planned: Any, seeds: int) -> Estimate:
        """:meth:`estimate` for ``seeds`` seeds of a :class:`~regimebench.planner.Planned`."""
        spec = planned.specs[0]
        return self.estimate(spec.problem, spec.task, spec.solver, spec.config_hash,
                             planned.sizes, evals=planned.evals, seeds=seeds,
                             config=spec.config)


def format_seconds(seconds: float) -> str:
    """``42 s``, ``7.5 min``, ``3.2 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
