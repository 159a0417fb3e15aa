"""The statistics module against hand computations (regimebench.stats)."""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import permutations

import numpy as np
import pytest

from regimebench.outcomes import Regime
from regimebench.stats import (
    DEFINITIONS,
    format_percent,
    group_stats,
    majority_regime,
    median,
    median_interval,
    quantile,
    seed_error,
    success_rate,
)

INF = math.inf


# ------------------------------------------------------------------------------ quantiles
def test_odd_median_is_the_middle_seed_exactly():
    assert median([0.3, 0.1, 0.2]) == 0.2
    assert median([0.1, 0.3, INF]) == 0.3  # a failure pushes the median to the next seed
    assert median([0.1, INF, INF]) == INF


def test_even_median_is_the_geometric_mean_of_the_middle_pair():
    # the helmholtz cell a2 = 4, pde = 1024 of issue 13: 1.994 (arithmetic) vs 1.819 (log scale)
    assert median([2.811, 1.177]) == pytest.approx(math.sqrt(2.811 * 1.177), rel=1e-14)
    assert median([1e-3, 1e-1]) == pytest.approx(1e-2, rel=1e-14)
    assert median([0.1, INF]) == INF
    assert median([0.0, 0.5]) == 0.0  # geometric interpolation towards an exact zero


def test_quantiles_are_numpy_positions_on_the_log_scale():
    x = np.sort(np.random.default_rng(0).lognormal(size=8))
    for p in (0.0, 0.25, 0.5, 0.75, 1.0):
        assert quantile(x, p) == pytest.approx(10 ** np.quantile(np.log10(x), p), rel=1e-12)
    assert quantile([1.0, 2.0, INF], 0.75) == INF  # numpy would give nan between infinities
    assert quantile([1.0, INF, INF], 0.5) == INF
    assert math.isnan(quantile([], 0.5))
    with pytest.raises(ValueError):
        quantile([-1.0, 2.0], 0.5)


def test_median_commutes_with_powers():
    """Why the log scale: the median of squared errors is the square of the median error."""
    e = [0.02, 0.5, 0.07, 1.3]
    assert median([v**2 for v in e]) == pytest.approx(median(e) ** 2, rel=1e-12)


# ------------------------------------------------------------------------------ interval
def _coverage_by_enumeration(n: int, rank: int) -> Fraction:
    """P(x_(rank) ≤ median ≤ x_(n+1−rank)): count the 2^n sign patterns (which seeds fall
    below the population median) in which at least ``rank`` fall below and ``rank`` above."""
    hits = sum(1 for mask in range(2**n) if rank <= bin(mask).count("1") <= n - rank)
    return Fraction(hits, 2**n)


@pytest.mark.parametrize("n", range(2, 13))
def test_interval_coverage_is_exact_for_the_seed_count(n):
    iv = median_interval(range(1, n + 1))
    assert iv.coverage == pytest.approx(float(_coverage_by_enumeration(n, iv.rank)), abs=1e-15)
    assert (iv.low, iv.high) == (iv.rank, n + 1 - iv.rank)
    # narrowest reaching 95 %, if any interval does; else the widest
    if iv.reaches_level:
        assert iv.rank == max(r for r in range(1, n // 2 + 1)
                              if _coverage_by_enumeration(n, r) >= Fraction(95, 100))
    else:
        assert iv.rank == 1 and _coverage_by_enumeration(n, 1) < Fraction(95, 100)


def test_interval_labels_state_the_achieved_coverage():
    labels = {n: median_interval([0.1 * k for k in range(1, n + 1)]).label for n in range(1, 7)}
    assert labels == {1: "no interval, n = 1", 2: "50 % interval, n = 2",
                      3: "75 % interval, n = 3", 4: "87.5 % interval, n = 4",
                      5: "93.8 % interval, n = 5", 6: "96.9 % interval, n = 6"}
    one = median_interval([0.3])
    assert not one.exists and math.isnan(one.low) and one.coverage == 0.0
    assert format_percent(0.9375) == "93.8 %" and format_percent(0.5) == "50 %"


def test_interval_endpoints_are_seeds_and_failures_stay_infinite():
    iv = median_interval([0.2, INF, 0.1, 0.4, 0.3])
    assert (iv.low, iv.high) == (0.1, INF)


def test_interval_coverage_holds_in_simulation():
    """A Monte-Carlo check of the exact coverage for n = 5 (93.75 %): 20 000 draws of 5 seeds
    from a lognormal, standard error 0.17 %, so a 4-SE band (±0.7 %) cannot flake."""
    rng = np.random.default_rng(7)
    draws = rng.lognormal(mean=-2.0, sigma=1.0, size=(20000, 5))
    true_median = math.exp(-2.0)
    hits = 0
    for row in draws:
        iv = median_interval(row)
        hits += iv.low <= true_median <= iv.high
    assert abs(hits / 20000 - 0.9375) < 0.007


# ------------------------------------------------------------------------------ success rate
def test_wilson_interval_matches_the_closed_form():
    z = 1.959963984540054
    for k, n in ((0, 5), (5, 5), (3, 10), (2, 3)):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        got = success_rate(k, n)
        assert got.low == pytest.approx(max(0.0, centre - half), abs=1e-12)
        assert got.high == pytest.approx(min(1.0, centre + half), abs=1e-12)
    assert success_rate(0, 0).low == 0.0 and success_rate(0, 0).high == 1.0


# ------------------------------------------------------------------------------ majority
def test_majority_shows_ties_as_ties_whatever_the_seed_order():
    for order in permutations(["III", "I"]):
        m = majority_regime(order)
        assert m.label == "tie: I / III" and m.is_tie and m.regime is None
        assert m.agreement == 0.5
    for order in permutations(["II", "III"]):
        assert majority_regime(order).label == "tie: II / III"
    m = majority_regime(["II", "II", "III"])
    assert m.label == "II" and m.regime is Regime.UNDER and m.count == 2
    assert majority_regime(["I", None]).label == "tie: I / none"  # a missing label is none
    assert majority_regime([]).label == "—"


# ------------------------------------------------------------------------------ a group
def _rec(err, status="ok", regime="I", modes=()):
    return {"status": status, "failure": None if status == "ok" else "non_finite",
            "metrics": {"rel_l2": err}, "labels": {"regime": regime, "regime_stability": 1.0,
                                                  "failure_modes": list(modes)}}


def test_group_stats_by_hand():
    recs = [_rec(0.01), _rec(0.5, regime="III"), _rec(None, status="failed", regime="none",
                                                       modes=["non_finite"]),
            _rec(0.02), _rec(float("nan"), regime="II")]
    st = group_stats(recs, target=0.05)
    assert st.errors == (0.01, 0.5, INF, 0.02, INF)
    assert st.n == 5 and st.failed == 2 and st.ok == 4
    assert st.median == 0.5  # sorted: 0.01, 0.02, 0.5, inf, inf
    assert st.q25 == 0.02 and st.q75 == INF
    assert (st.interval.low, st.interval.high) == (0.01, INF)
    assert st.success.k == 2
    assert st.majority.label == "I" and st.majority.count == 2
    assert st.regimes == {Regime.WELL: 2, Regime.UNDER: 1, Regime.OVER: 1, Regime.NONE: 1}
    # the failed seed counts under its mode; the non-finite "ok" seed had no mode named
    assert st.failure_modes == {"non_finite": 1, "no_finite_error": 1}
    assert st.stability == 1.0


def test_seed_error():
    assert seed_error(_rec(0.25)) == 0.25
    assert seed_error(_rec(0.25, status="crashed")) == INF
    assert seed_error(_rec(-1.0)) == INF and seed_error({"status": "ok"}) == INF


def test_every_statistic_shown_is_defined():
    for name in ("median rel. L2", "IQR", "median interval", "success rate", "majority regime"):
        assert DEFINITIONS[name]
