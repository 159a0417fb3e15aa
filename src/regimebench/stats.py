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

**Comparing two entries — "tied with the best".** Two groups of seeds are *statistically
indistinguishable* when a two-sided Wilcoxon–Mann–Whitney rank-sum test of their errors (failures
as +∞) does not reject "same distribution" at :data:`TIE_ALPHA` = 5 %. The p-value is exact: the
rank sum of the pooled seeds' mid-ranks is compared with its value over all
``C(n₁ + n₂, n₁)`` ways to split them (``scipy.stats.permutation_test``), so equal errors (two
failures) are handled exactly; above :data:`EXACT_SPLITS` splits a seeded Monte-Carlo sample is
used and the label says so. Why this test: it needs no distributional assumption, +∞ is just the
largest rank, and its power is stated by the seed count alone — with 3 seeds per entry the
smallest possible p is 0.1, so *no* two entries can be told apart (everything ties); with 5 it is
2/252 ≈ 0.008 (every seed of one entry below every seed of the other). (Overlap of the two
medians' intervals is the other common rule; with 5 seeds it is the seeds' ranges overlapping,
which ties entries a rank-sum test separates.)

**Margin over a baseline.** The baseline's median divided by the entry's ("56× lower"), both at
the same budget and setting, shown with the rank-sum p-value of the two groups; +∞ when only
the baseline's median failed, undefined when the entry's did.

**Solved.** A task counts as solved by an entry when its median is below the task's target (at
least half of its seeds succeed); the site crowns a best entry only then.

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
>>> rank_sum_test([1e-3, 2e-3, 3e-3, 4e-3, 5e-3], [0.1, 0.2, 0.3, 0.4, 0.5]).label
'rank-sum p = 0.0079 (exact, 5 vs 5 seeds)'
>>> format_margin(margin(1.35, 0.0239))
'56× lower'
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
    "TIE_ALPHA",
    "EXACT_SPLITS",
    "RankSum",
    "rank_sum_test",
    "tied",
    "margin",
    "format_margin",
    "solves",
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


# ------------------------------------------------------------------------------ two groups
#: Level of the rank-sum test below which two groups are told apart (the complement of LEVEL).
TIE_ALPHA = round(1.0 - LEVEL, 12)
#: Up to this many splits of the pooled seeds the rank-sum p-value is exact (all enumerated);
#: 10 + 10 seeds give 184 756. Beyond, a seeded Monte-Carlo sample of :data:`_MC_SAMPLES`.
EXACT_SPLITS = 200_000
_MC_SAMPLES = 20_000


@dataclass(frozen=True)
class RankSum:
    """A two-sided Wilcoxon–Mann–Whitney rank-sum test of two groups' errors (see the module
    docstring): ``p_value``, whether it is ``exact``, the seed counts and the test level."""

    p_value: float
    exact: bool
    n_x: int
    n_y: int
    alpha: float = TIE_ALPHA

    @property
    def distinguishable(self) -> bool:
        """Whether the test tells the two groups apart (``p < alpha``)."""
        return self.p_value < self.alpha

    @property
    def label(self) -> str:
        """``"rank-sum p = 0.0079 (exact, 5 vs 5 seeds)"``."""
        how = "exact" if self.exact else "Monte Carlo"
        return f"rank-sum p = {self.p_value:.2g} ({how}, {self.n_x} vs {self.n_y} seeds)"


def _rank_sum(x, y, axis=-1):
    """Sum of the mid-ranks of ``x`` in the pooled sample (vectorised along ``axis``)."""
    import numpy as np
    from scipy.stats import rankdata

    pooled = np.concatenate([x, y], axis=axis)
    ranks = rankdata(pooled, axis=axis)
    return np.take(ranks, np.arange(np.shape(x)[axis]), axis=axis).sum(axis=axis)


def rank_sum_test(x: Iterable[float], y: Iterable[float], alpha: float = TIE_ALPHA) -> RankSum:
    """Two-sided rank-sum test of the errors ``x`` and ``y`` (+∞ allowed; ties by mid-ranks).

    Returns p = 1 (nothing to tell apart) when either group is empty.

    >>> rank_sum_test([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]).p_value   # 3 vs 3: never below 0.1
    0.1
    """
    import numpy as np
    from scipy.stats import permutation_test, rankdata

    xs = np.array([float(v) for v in x])
    ys = np.array([float(v) for v in y])
    if not len(xs) or not len(ys):
        return RankSum(1.0, True, len(xs), len(ys), alpha)
    if np.any(np.isnan(xs)) or np.any(np.isnan(ys)):
        raise ValueError("rank_sum_test needs errors (+inf allowed), not NaN")
    if np.all(np.concatenate([xs, ys]) == xs[0]):  # one value shared by every seed
        return RankSum(1.0, True, len(xs), len(ys), alpha)
    if min(len(xs), len(ys)) == 1:  # scipy needs two per sample; the lone seed's rank is
        # equally likely to be any of the pooled ranks, so the exact p is read off directly.
        lone, rest = (xs, ys) if len(xs) == 1 else (ys, xs)
        ranks = rankdata(np.concatenate([lone, rest]))
        below, above = np.mean(ranks <= ranks[0]), np.mean(ranks >= ranks[0])
        return RankSum(float(min(1.0, 2 * min(below, above))), True, len(xs), len(ys), alpha)
    exact = math.comb(len(xs) + len(ys), len(xs)) <= EXACT_SPLITS
    res = permutation_test((xs, ys), _rank_sum, permutation_type="independent",
                           vectorized=True, alternative="two-sided",
                           n_resamples=np.inf if exact else _MC_SAMPLES,
                           rng=np.random.default_rng(0))
    return RankSum(float(min(1.0, res.pvalue)), exact, len(xs), len(ys), alpha)


def tied(best: Iterable[float], other: Iterable[float], alpha: float = TIE_ALPHA) -> bool:
    """Whether ``other``'s errors are statistically indistinguishable from ``best``'s
    (:func:`rank_sum_test` does not reject at ``alpha``)."""
    return not rank_sum_test(best, other, alpha).distinguishable


def margin(baseline_median: float, median: float) -> float:
    """How many times lower ``median`` is than ``baseline_median`` (> 1: better than the
    baseline). +∞ when only the baseline failed (or the entry's median is exactly 0); NaN when
    the entry's median failed (+∞) or either is missing.

    >>> margin(math.inf, 0.5), margin(0.5, math.inf)
    (inf, nan)
    """
    b, m = float(baseline_median), float(median)
    if math.isnan(b) or math.isnan(m) or math.isinf(m):
        return math.nan
    if math.isinf(b) or m == 0.0:
        return math.inf
    return b / m


def format_margin(ratio: float) -> str:
    """``56.5`` → ``"56× lower"``, ``0.5`` → ``"2.0× higher"``, ``1.03`` → ``"1.0× lower"``
    (one decimal below 10, so a ratio near 1 does not read as a whole factor)."""
    if math.isnan(ratio):
        return "—"
    if math.isinf(ratio):
        return "∞× lower (the baseline failed)"
    if ratio == 1.0:
        return "1.0× (equal)"
    r = ratio if ratio > 1 else 1.0 / ratio
    text = f"{r:.0f}" if r >= 10 else f"{r:.1f}"
    return f"{text}× {'lower' if ratio > 1 else 'higher'}"


def solves(median_error: float, target: float | None) -> bool:
    """Whether a group's median rel. L2 is below the task's ``target`` (see "Solved")."""
    return target is not None and median_error < target


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
    "best entry": "on one (problem, task), at one budget and the canonical setting, the entry "
                  "with the lowest median rel. L2; crowned only if that median is below the "
                  "task's target (the task is solved), otherwise shown as the lowest median",
    "solved": "an entry solves a task when its median rel. L2 is below the task's target, i.e. "
              "at least half of its seeds succeed",
    "tied with the best": "statistically indistinguishable from the best entry: a two-sided "
                          "Wilcoxon–Mann–Whitney rank-sum test of the two entries' per-seed "
                          "errors (failures +∞, equal errors by mid-ranks) does not reject at 5 % "
                          "(p ≥ 0.05); exact over all splits of the pooled seeds. With 3 seeds "
                          "per entry the smallest possible p is 0.1, so every entry ties; with 5, "
                          "2/252 ≈ 0.008",
    "margin over the baseline": "the baseline entry's median rel. L2 divided by this entry's, at "
                                "the same budget and setting (\"56× lower\"), with the rank-sum "
                                "p-value of the two groups; the baseline is the vanilla entry of "
                                "the task's kind",
    "best published": "the lowest rel. L2 collected from the literature for the same problem, "
                      "task and setting (with its source); budgets and seed counts differ, so "
                      "\"below\" says only that our median is lower",
    "gradient-evaluation equivalents": "the budget unit: one gradient of the full training loss "
                                       "counts 1; every optimizer step is charged its cost in "
                                       "these units (Adam 1, an L-BFGS step its loss "
                                       "evaluations, a natural-gradient step the FLOP ratio of "
                                       "its compiled step to one gradient); shown as the median "
                                       "over seeds of what a seed spent (the record's "
                                       "evals_done)",
    "seconds per seed": "the median over seeds of one seed's training wall time (its share of "
                        "the vectorised group it trained in; compilation excluded), on the named "
                        "device; a property of the machine and its load, so compare it only "
                        "between records made on one device",
    "budget": "a tier name (smoke, cpu, standard, long: a count of gradient-evaluation "
              "equivalents per problem, set in problem.toml) or tier-N, an explicit budget of N "
              "equivalents with the tier's batch sizes",
}
