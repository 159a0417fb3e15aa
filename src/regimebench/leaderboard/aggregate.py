"""Stage 2 of the site build: seed-honest statistics per (problem@version, task, solver@hash,
budget, cell).

Every statistic is over *all* seeds of a group. A seed that failed (non-finite loss, crash, or an
``ok`` record without a finite rel. L2) has error **+∞**: it is never dropped, so it pushes the
median and the upper quartile up, lowers the success rate, and is counted under its failure mode.

Per group:

``median``, ``q25``, ``q75``
    of ``log10(rel. L2)`` over seeds (linear interpolation between order statistics, as
    ``numpy.quantile``; an interpolation that touches +∞ is +∞).
``ci_low``, ``ci_high``
    a 95 % percentile-bootstrap interval of that median: :data:`BOOTSTRAP_RESAMPLES` resamples of
    the seeds with replacement, from a generator seeded with :data:`BOOTSTRAP_SEED`, so a rebuild
    gives the same numbers. With 5 seeds the interval is coarse (it can only take values of the
    seeds); it is shown to make that visible, not to hide it.
``successes`` / ``n`` and a 95 % Wilson interval
    success = status ``ok`` and rel. L2 below the task's ``target`` threshold (``problem.toml``).
``regimes``, ``failure_modes``
    counts of the per-seed labels (``none`` for seeds without a usable result).
``time_to_target``
    per seed, the first logged point of the ``rel_l2`` curve below ``target``: in gradient
    evaluations, and in seconds estimated as evaluations / the seed's measured steps per second
    (compilation excluded); the group reports the median over seeds (+∞ if most never reach it)
    and how many reached it.
``device_seconds``
    the sum over seeds of the per-seed wall time (``timing.seed_wall_s``, compilation included).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .load import Loaded, finite

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "Seed",
    "Group",
    "aggregate",
    "quantile",
    "bootstrap_median_ci",
    "wilson",
    "seed_error",
    "log10_error",
]

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261122
WILSON_Z = 1.959963984540054  # two-sided 95 %
REGIMES = ("I", "I*", "II", "III", "none")
TIER_ORDER = {"smoke": 0, "cpu": 1, "standard": 2, "long": 3}


def quantile(sorted_values: np.ndarray, p: float) -> float:
    """``p``-quantile of an ascending array that may end in +∞ (numpy's linear method).

    ``numpy.quantile`` gives NaN when it interpolates between two infinities; here the result is
    +∞ whenever the upper neighbour is +∞ and the weight on it is positive.
    """
    x = np.asarray(sorted_values, float)
    h = (len(x) - 1) * p
    lo, hi = math.floor(h), math.ceil(h)
    frac = h - lo
    if frac == 0 or x[lo] == x[hi]:
        return float(x[lo])
    if math.isinf(x[hi]):
        return math.inf
    return float(x[lo] + frac * (x[hi] - x[lo]))


def _medians(samples: np.ndarray) -> np.ndarray:
    """Row medians of an ``(B, n)`` array that may hold +∞ (mean of the middle pair if n even)."""
    s = np.sort(samples, axis=1)
    n = s.shape[1]
    if n % 2:
        return s[:, n // 2]
    a, b = s[:, n // 2 - 1], s[:, n // 2]
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(b), np.inf, (a + b) / 2)


def bootstrap_median_ci(values: Iterable[float], level: float = 0.95,
                        resamples: int = BOOTSTRAP_RESAMPLES,
                        seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile-bootstrap interval of the median of ``values`` (+∞ allowed)."""
    x = np.asarray(list(values), float)
    if x.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    meds = np.sort(_medians(x[rng.integers(0, x.size, size=(resamples, x.size))]))
    alpha = (1 - level) / 2
    return quantile(meds, alpha), quantile(meds, 1 - alpha)


def wilson(successes: int, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (``(0, 1)`` when ``n`` is 0)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def log10_error(err: float) -> float:
    """``log10`` of a rel. L2 (+∞ stays +∞; an exact zero is floored at 1e-300)."""
    return math.inf if math.isinf(err) else math.log10(max(err, 1e-300))


def seed_error(rec: Mapping[str, Any]) -> float:
    """rel. L2 of a seed, or +∞ if the seed failed or has no finite error."""
    if rec.get("status") != "ok":
        return math.inf
    err = finite((rec.get("metrics") or {}).get("rel_l2"))
    return err if err is not None and err >= 0 else math.inf


def _time_to_target(rec: Mapping[str, Any], target: float | None) -> tuple[float | None, float | None]:
    """(evaluations, seconds) at which the seed's rel. L2 curve first falls below ``target``."""
    if target is None or rec.get("status") != "ok":
        return None, None
    curves = rec.get("curves") or {}
    errs, evals = curves.get("rel_l2") or [], curves.get("evals") or []
    for e, n in zip(errs, evals):
        e = finite(e)
        if e is not None and e < target and finite(n) is not None:
            rate = finite((rec.get("timing") or {}).get("seed_steps_per_s"))
            return float(n), (float(n) / rate if rate else None)
    return None, None


@dataclass
class Seed:
    """What the pages show per seed, with the record it came from."""

    seed: int
    status: str
    failure: str | None
    rel_l2: float  # +inf for a failed seed
    success: bool
    regime: str
    failure_modes: list[str]
    wall_s: float | None
    evals_to_target: float | None
    seconds_to_target: float | None
    relpath: str
    record: dict[str, Any] = field(repr=False)


@dataclass
class Group:
    """All seeds of one (problem@version, task, solver@hash, budget, cell) and their statistics."""

    problem: str
    problem_version: int | None
    task: str
    solver: str
    config_hash: str
    budget: str
    cell: dict[str, Any]
    target: float | None
    seeds: list[Seed]
    median: float = math.nan
    q25: float = math.nan
    q75: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    successes: int = 0
    success_low: float = 0.0
    success_high: float = 1.0
    regimes: dict[str, int] = field(default_factory=dict)
    failure_modes: dict[str, int] = field(default_factory=dict)
    reached: int = 0
    evals_to_target: float = math.inf
    seconds_to_target: float = math.inf
    device_seconds: float = 0.0
    devices: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def failed(self) -> int:
        return sum(1 for s in self.seeds if math.isinf(s.rel_l2))

    @property
    def tier(self) -> str:
        """The budget tier (an explicit-evaluations budget ``cpu-1234`` belongs to ``cpu``)."""
        return self.budget.split("-")[0]

    @property
    def cell_label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.cell.items()))

    @property
    def key(self) -> tuple:
        return (self.problem, self.problem_version, self.task, self.solver, self.config_hash,
                self.budget, self.cell_label)

    @property
    def slug(self) -> str:
        """A file name for the run page: readable, safe, and unique per group."""
        from ._paths import safe_name

        parts = [f"{self.problem}-v{self.problem_version}", self.task,
                 f"{self.solver}-{self.config_hash}", self.budget]
        if self.cell:
            parts.append(self.cell_label)
        return safe_name("--".join(map(str, parts)), salt=repr(self.key))

    @property
    def command(self) -> str | None:
        """The reproduce command of the group's first seed (all seeds share it)."""
        for s in self.seeds:
            cmd = (s.record.get("provenance") or {}).get("command")
            if cmd:
                return cmd
        return None


def _target(problem: str, task: str, rec: Mapping[str, Any], catalogue: Mapping[str, Any]) -> float | None:
    spec = catalogue.get(problem)
    if spec is not None and task in spec.tasks:
        return spec.tasks[task].thresholds.target
    # A problem the catalogue no longer has: fall back on the thresholds recorded with the labels.
    return finite(((rec.get("labels") or {}).get("thresholds") or {}).get("target"))


def _seed(item: Loaded, target: float | None) -> Seed:
    rec = item.record
    err = seed_error(rec)
    labels = rec.get("labels") or {}
    modes = [str(m) for m in labels.get("failure_modes") or []]
    if math.isinf(err) and not modes:
        # A failure the labeller did not name (older records): still counted, under its status.
        modes = [str(rec.get("failure") or rec.get("status") or "unknown")]
    evals_t, secs_t = _time_to_target(rec, target)
    return Seed(
        seed=int(rec["spec"]["seed"]), status=str(rec.get("status", "unknown")),
        failure=rec.get("failure"), rel_l2=err,
        success=target is not None and err < target,
        regime=str(labels.get("regime") or "none"), failure_modes=modes,
        wall_s=finite((rec.get("timing") or {}).get("seed_wall_s")),
        evals_to_target=evals_t, seconds_to_target=secs_t, relpath=item.relpath, record=rec,
    )


def _finish(g: Group) -> Group:
    logs = np.sort([log10_error(s.rel_l2) for s in g.seeds])
    g.median, g.q25, g.q75 = quantile(logs, 0.5), quantile(logs, 0.25), quantile(logs, 0.75)
    g.ci_low, g.ci_high = bootstrap_median_ci(logs)
    g.successes = sum(s.success for s in g.seeds)
    g.success_low, g.success_high = wilson(g.successes, g.n)
    g.regimes = dict(Counter(s.regime for s in g.seeds))
    g.failure_modes = dict(Counter(m for s in g.seeds for m in s.failure_modes))
    reached = [s for s in g.seeds if s.evals_to_target is not None]
    g.reached = len(reached)
    evals = np.sort([s.evals_to_target if s.evals_to_target is not None else math.inf
                     for s in g.seeds])
    secs = np.sort([s.seconds_to_target if s.seconds_to_target is not None else math.inf
                    for s in g.seeds])
    g.evals_to_target, g.seconds_to_target = quantile(evals, 0.5), quantile(secs, 0.5)
    g.device_seconds = float(sum(s.wall_s or 0.0 for s in g.seeds))
    prov = [s.record.get("provenance") or {} for s in g.seeds]
    g.devices = sorted({_device(p) for p in prov})
    g.dtypes = sorted({str(p.get("dtype")) for p in prov if p.get("dtype")})
    g.seeds.sort(key=lambda s: s.seed)
    return g


def _device(prov: Mapping[str, Any]) -> str:
    kind, backend = prov.get("device_kind"), prov.get("backend")
    if not kind and not backend:
        return "unknown device"
    if kind and backend and str(kind).lower() != str(backend).lower():
        return f"{kind} ({backend})"
    return str(kind or backend)


def aggregate(loaded: Iterable[Loaded], catalogue: Mapping[str, Any]) -> list[Group]:
    """Group records and compute every statistic; ``catalogue`` maps problem name → ProblemSpec.

    Groups come back sorted by problem, task, tier, then median error (best first).
    """
    groups: dict[tuple, Group] = {}
    for item in loaded:
        rec = item.record
        spec = rec["spec"]
        cell = rec.get("cell") if isinstance(rec.get("cell"), dict) else {}
        problem, task = str(spec["problem"]), str(spec["task"])
        key = (problem, spec.get("problem_version"), task, str(spec["solver"]),
               str(spec.get("config_hash", "")), str(spec["budget"]),
               ",".join(f"{k}={v}" for k, v in sorted(cell.items())))
        if key not in groups:
            groups[key] = Group(problem=problem, problem_version=spec.get("problem_version"),
                                task=task, solver=str(spec["solver"]),
                                config_hash=str(spec.get("config_hash", "")),
                                budget=str(spec["budget"]), cell=dict(cell),
                                target=_target(problem, task, rec, catalogue), seeds=[])
        groups[key].seeds.append(_seed(item, groups[key].target))
    out = [_finish(g) for g in groups.values()]
    out.sort(key=lambda g: (g.problem, g.task, g.cell_label, -TIER_ORDER.get(g.tier, -1),
                            g.budget, g.median, g.solver))
    return out
