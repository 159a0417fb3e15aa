"""The statistics of a group of seeds: one definition per number, used everywhere.

A *group* is every seed of one (problem@version, task, solver@config-hash, budget, cell,
harness) (:func:`regimebench.record.group_key`). The CLI table (:mod:`regimebench.tables`), the
regime map (:mod:`regimebench.regime_map`), the site and its CSV/JSON exports
(:mod:`regimebench.leaderboard`) all take their numbers from :func:`group_stats`, so a group shows
the same median, interval and majority regime wherever it appears.

Definitions (also rendered on the site from :data:`DEFINITIONS`):

**Error of a seed.** Its test rel. L2 when the seed's status is ``ok`` and the value is finite;
otherwise **+∞**. A failed or crashed seed is never dropped: it pushes the median and the upper
quartile up and lowers the success rate.

**Quantiles (median, quartiles) — on the log scale.** Over the seeds' errors sorted ascending,
the ``p``-quantile sits at position ``h = (n − 1)·p`` (``numpy.quantile``'s default, "type 7").
Where ``h`` falls between two seeds the value is interpolated *geometrically*:
``x_lo^(1−f) · x_hi^f`` (``f = h − ⌊h⌋``), i.e. linearly in ``log10`` rel. L2, and reported as a
rel. L2. For an odd number of seeds the median is the middle seed's own error (any
interpolation agrees); for an even number it is the geometric mean of the middle pair (2.81 and
1.18 give 1.82, where the arithmetic mean would give 1.99). Why this scale: errors spread over
decades and are compared as ratios ("3× better"); the site draws them on log axes, where the
geometric midpoint is the visual midpoint; and it commutes with powers, so the median of squared
errors is the square of the median error. Interpolation towards +∞ gives +∞; towards an exact 0
gives 0.

**Interval for the median — distribution-free, exact coverage.** The interval between the
``l``-th and ``(n + 1 − l)``-th smallest errors covers the population median of the seed-to-seed
distribution with probability ``P(l ≤ B ≤ n − l)``, ``B ~ Binomial(n, ½)`` (for any continuous
distribution; at least that with ties or failures, which are atoms). The narrowest such interval
whose coverage reaches :data:`LEVEL` is used, and it is labelled with its *achieved* coverage
("96.9 % interval, n = 6"). Fewer than 6 seeds cannot reach 95 %: then the widest interval (the
seeds' minimum to maximum) is shown with the coverage it has — 50 % for 2 seeds, 75 % for 3,
87.5 % for 4, 93.8 % for 5 — and one seed has no interval at all. The endpoints are seeds' own
errors, so the scale question does not arise.

**Success rate.** Successes are seeds with status ``ok`` and rel. L2 below the task's
``target``; the interval is Wilson's score interval at :data:`LEVEL`
(``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``).

**Majority regime.** The regime most seeds have (a seed without a usable result is ``none``).
Ties are shown as ties — ``"tie: I / III"`` — listing the tied regimes in the order of
:class:`~regimebench.outcomes.Regime`; no tie is broken. ``agreement`` is the share of seeds in
the majority (of one tied regime, for a tie).

>>> round(median([2.811, 1.177]), 3)          # the geometric midpoint of the middle pair
1.819
>>> median([0.1, 0.3, float("inf")])          # a failure pushes the median to the next seed
0.3
>>> iv = median_interval([0.3, 0.1, 0.2, 0.5, 0.4]); (iv.low, iv.high, iv.label)
(0.1, 0.5, '93.8 % interval, n = 5')
>>> majority_regime(["III", "I"]).label
'tie: I / III'
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .outcomes import Regime, Status

__all__ = [
    "LEVEL",
    "DEFINITIONS",
    "seed_error",
    "seed_failure_modes",
    "quantile",
    "median",
    "MedianInterval",
    "median_interval",
    "Proportion",
    "success_rate",
    "Majority",
    "majority_regime",
    "GroupStats",
    "group_stats",
    "format_percent",
]

#: Nominal level of every interval shown (median, success rate).
LEVEL = 0.95


# ------------------------------------------------------------------------------ per seed
def _finite(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def seed_error(record: Mapping[str, Any]) -> float:
    """rel. L2 of one seed's record, or +∞ if the seed failed, crashed or has no finite error.

    >>> seed_error({"status": "ok", "metrics": {"rel_l2": 0.25}})
    0.25
    >>> seed_error({"status": "failed", "metrics": {"rel_l2": 0.25}})
    inf
    """
    if record.get("status") != Status.OK:
        return math.inf
    err = _finite((record.get("metrics") or {}).get("rel_l2"))
    return err if err is not None and err >= 0 else math.inf


def seed_failure_modes(record: Mapping[str, Any]) -> list[str]:
    """The failure modes a seed counts under: its labels' ``failure_modes``; a seed with error
    +∞ whose labels name none (records labelled before its mode existed) counts under its
    failure reason, its status, or ``no_finite_error`` for an ``ok`` seed without a finite rel.
    L2, so no failure goes uncounted.

    >>> seed_failure_modes({"status": "crashed", "failure": "exception", "labels": {}})
    ['exception']
    """
    modes = [str(m) for m in (record.get("labels") or {}).get("failure_modes") or []]
    if not modes and math.isinf(seed_error(record)):
        status = record.get("status")
        modes = [str(record.get("failure")
                     or ("no_finite_error" if status == Status.OK else status) or "unknown")]
    return modes


# ------------------------------------------------------------------------------ quantiles
def quantile(values: Iterable[float], p: float) -> float:
    """The ``p``-quantile of non-negative ``values`` (+∞ allowed), interpolated on the log scale.

    See the module docstring. An order statistic is returned exactly (no round trip through
    ``log10``), so the median of an odd number of seeds *is* the middle seed's value.

    >>> quantile([1e-3, 1e-1], 0.5)               # geometric, not (1e-3 + 1e-1) / 2
    0.01
    >>> quantile([1.0, 2.0, float("inf")], 0.75)  # interpolating towards a failure
    inf
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    x = sorted(float(v) for v in values)
    if not x:
        return math.nan
    if x[0] < 0 or any(math.isnan(v) for v in x):
        raise ValueError("quantiles are defined here for non-negative errors (+inf allowed)")
    h = (len(x) - 1) * p
    lo, hi = math.floor(h), math.ceil(h)
    frac = h - lo
    if frac == 0 or x[lo] == x[hi]:
        return x[lo]
    if math.isinf(x[hi]):
        return math.inf
    if x[lo] == 0.0:
        return 0.0
    value = x[lo] * (x[hi] / x[lo]) ** frac  # = x_lo^(1-f) x_hi^f, fewer roundings
    return min(max(value, x[lo]), x[hi])  # rounding must not leave the bracketing pair


def median(values: Iterable[float]) -> float:
    """The median of ``values`` (+∞ allowed): :func:`quantile` at ½."""
    return quantile(values, 0.5)


# ------------------------------------------------------------------------------ intervals
def format_percent(fraction: float) -> str:
    """``0.9375`` → ``"93.8 %"``, ``0.5`` → ``"50 %"`` (one decimal, trailing zeros dropped)."""
    text = f"{100 * fraction:.1f}".rstrip("0").rstrip(".")
    return f"{text} %"


@dataclass(frozen=True)
class MedianInterval:
    """An order-statistic interval for the median of the seed-to-seed distribution.

    ``low``/``high`` are the ``rank``-th smallest and largest errors (``nan`` when there is no
    interval: fewer than 2 seeds); ``coverage`` is the exact probability that such an interval
    covers the population median (0 without an interval); ``level`` the coverage that was asked
    for.
    """

    low: float
    high: float
    coverage: float
    n: int
    rank: int
    level: float = LEVEL

    @property
    def exists(self) -> bool:
        return self.n >= 2

    @property
    def reaches_level(self) -> bool:
        return self.coverage >= self.level

    @property
    def label(self) -> str:
        """What every page and table prints beside the interval, e.g.
        ``"93.8 % interval, n = 5"`` or ``"no interval, n = 1"``."""
        if not self.exists:
            return f"no interval, n = {self.n}"
        return f"{format_percent(self.coverage)} interval, n = {self.n}"


def _coverage(n: int, rank: int) -> float:
    """P(rank ≤ B ≤ n − rank) for B ~ Binomial(n, ½): coverage of [x_(rank), x_(n+1−rank)]."""
    from scipy.stats import binom

    return float(binom.cdf(n - rank, n, 0.5) - binom.cdf(rank - 1, n, 0.5))


def median_interval(values: Iterable[float], level: float = LEVEL) -> MedianInterval:
    """The narrowest symmetric order-statistic interval whose coverage reaches ``level``.

    If none does (fewer than 6 seeds at 95 %), the widest one (minimum to maximum), with the
    coverage it has; with one seed, no interval. See the module docstring.

    >>> median_interval([1.0, 2.0]).coverage
    0.5
    >>> iv = median_interval(range(1, 11)); (iv.low, iv.high, round(iv.coverage, 4))
    (2.0, 9.0, 0.9785)
    """
    x = sorted(float(v) for v in values)
    n = len(x)
    if n < 2:
        return MedianInterval(math.nan, math.nan, 0.0, n, 0, level)
    best = 1  # the widest interval, kept if no narrower one reaches the level
    for rank in range(1, n // 2 + 1):
        if _coverage(n, rank) >= level:
            best = rank
        else:
            break  # coverage falls as the interval narrows
    return MedianInterval(x[best - 1], x[n - best], _coverage(n, best), n, best, level)


@dataclass(frozen=True)
class Proportion:
    """``k`` successes of ``n`` with a Wilson score interval ``[low, high]`` at ``level``."""

    k: int
    n: int
    low: float
    high: float
    level: float = LEVEL

    @property
    def rate(self) -> float:
        return self.k / self.n if self.n else math.nan

    @property
    def label(self) -> str:
        return f"Wilson {format_percent(self.level)} interval"


def success_rate(k: int, n: int, level: float = LEVEL) -> Proportion:
    """``k`` of ``n`` seeds succeeded, with Wilson's interval from scipy (``[0, 1]`` if n = 0).

    >>> p = success_rate(3, 10); (round(p.low, 4), round(p.high, 4))
    (0.1078, 0.6032)
    """
    if n == 0:
        return Proportion(0, 0, 0.0, 1.0, level)
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return Proportion(int(k), int(n), float(ci.low), float(ci.high), level)


# ------------------------------------------------------------------------------ regimes
@dataclass(frozen=True)
class Majority:
    """The most frequent regime(s) of a group; several members means a tie (never broken)."""

    regimes: tuple[Regime, ...]
    count: int
    n: int

    @property
    def is_tie(self) -> bool:
        return len(self.regimes) > 1

    @property
    def regime(self) -> Regime | None:
        """The majority regime, or ``None`` for a tie."""
        return None if self.is_tie else self.regimes[0]

    @property
    def agreement(self) -> float:
        """Share of seeds with the majority regime (with one of the tied regimes, for a tie)."""
        return self.count / self.n if self.n else math.nan

    @property
    def label(self) -> str:
        """``"I"``, or ``"tie: I / III"`` (tied regimes in :class:`Regime` order)."""
        if not self.regimes:
            return "—"
        if self.is_tie:
            return "tie: " + " / ".join(r.value for r in self.regimes)
        return self.regimes[0].value


def majority_regime(regimes: Iterable[str | Regime | None]) -> Majority:
    """The majority of per-seed regime labels (missing labels count as ``none``)."""
    counts = Counter(Regime(r) if r is not None else Regime.NONE for r in regimes)
    n = sum(counts.values())
    if not n:
        return Majority((), 0, 0)
    top = max(counts.values())
    return Majority(tuple(r for r in Regime if counts.get(r) == top), top, n)


# ------------------------------------------------------------------------------ a group
@dataclass(frozen=True)
class GroupStats:
    """Every statistic of one group of seeds (see the module docstring for the definitions)."""

    n: int
    errors: tuple[float, ...]  # per seed, in the order given; +inf for failures
    median: float
    q25: float
    q75: float
    interval: MedianInterval
    success: Proportion
    target: float | None
    regimes: Mapping[Regime, int]
    majority: Majority
    failure_modes: Mapping[str, int]
    stability: float | None  # mean ±20 % label stability over the seeds that have one
    ok: int = 0  # seeds with status ok
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        """Seeds counted as +∞ (failed, crashed, or no finite error)."""
        return sum(1 for e in self.errors if math.isinf(e))


def group_stats(records: Sequence[Mapping[str, Any]], target: float | None = None,
                level: float = LEVEL) -> GroupStats:
    """All statistics of the seeds ``records`` (one group; the caller groups them).

    Arguments:
        records: run records (dicts as stored), one per seed.
        target: the task's success threshold on rel. L2 (``thresholds.target``); ``None``
            counts no seed as a success.
        level: nominal coverage of the intervals.
    """
    errors = tuple(seed_error(r) for r in records)
    labels = [r.get("labels") or {} for r in records]
    regimes = [lb.get("regime") or Regime.NONE for lb in labels]
    stab = [float(lb["regime_stability"]) for lb in labels
            if _finite(lb.get("regime_stability")) is not None]
    successes = sum(1 for e in errors if target is not None and e < target)
    counts = Counter(Regime(r) for r in regimes)
    return GroupStats(
        n=len(errors), errors=errors, median=median(errors),
        q25=quantile(errors, 0.25), q75=quantile(errors, 0.75),
        interval=median_interval(errors, level),
        success=success_rate(successes, len(errors), level), target=target,
        regimes={r: counts[r] for r in Regime if counts.get(r)},
        majority=majority_regime(regimes),
        failure_modes=dict(Counter(m for r in records for m in seed_failure_modes(r))),
        stability=sum(stab) / len(stab) if stab else None,
        ok=sum(1 for r in records if r.get("status") == Status.OK),
    )


#: Every statistic the CLI, the regime maps and the site show, with its definition (the site's
#: definitions page renders this; a statistic without an entry here must not be shown).
DEFINITIONS: dict[str, str] = {
    "error of a seed": "the seed's test rel. L2; +∞ if the seed failed, crashed or has no finite "
                       "error (never dropped)",
    "median rel. L2": "the median of the seeds' errors, interpolated on the log scale: for an "
                      "even number of seeds, the geometric mean of the middle pair",
    "IQR": "25th to 75th percentile of the seeds' errors, interpolated on the log scale "
           "(numpy's default positions)",
    "median interval": "the distribution-free interval between two order statistics of the "
                       "seeds' errors that covers the median with the stated probability, exact "
                       "for the number of seeds (Binomial(n, ½)); the narrowest one reaching 95 %, "
                       "else the seeds' range with the coverage it has (50 % for 2 seeds, "
                       "93.8 % for 5)",
    "success rate": "seeds with status ok and rel. L2 below the task's target, of all seeds, "
                    "with Wilson's 95 % score interval",
    "majority regime": "the regime most seeds have; ties are shown as ties (\"tie: I / III\")",
    "agreement": "the share of seeds in the majority regime",
    "stability": "mean over seeds of the fraction of the 9 threshold pairs (T_train, T_test) × "
                 "{0.8, 1, 1.2} that keep the seed's regime",
    "time to target": "per seed, the first logged point of the rel. L2 curve below the target; "
                      "the group shows the median over seeds (+∞ when most never reach it)",
    "device-seconds": "the sum over seeds of the per-seed wall time, compilation included",
}
