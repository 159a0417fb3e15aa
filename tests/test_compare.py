"""Comparing entries: the rank-sum test behind "tied with the best", the margin over a baseline,
"solved", and the leaderboard's ranking built on them (no browser; a second or two)."""

from __future__ import annotations

import copy
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import mannwhitneyu, rankdata

from regimebench import stats
from regimebench.leaderboard.aggregate import aggregate
from regimebench.leaderboard.load import Loaded
from regimebench.leaderboard.ranking import (
    Published,
    baseline_for,
    best_published,
    rank,
    ranking_budget,
)
from regimebench.problem import load_problem

INF = math.inf
FIXTURES = Path(__file__).parent / "data" / "runs"


def _enumerated_p(x, y) -> float:
    """The two-sided rank-sum p-value by brute force: every way to choose which len(x) of the
    pooled seeds are "x", mid-ranks for equal values, p = 2 · min(P(T ≤ t), P(T ≥ t))."""
    pooled = np.array(list(x) + list(y), dtype=float)
    ranks = rankdata(pooled)
    observed = ranks[: len(x)].sum()
    sums = np.array([ranks[list(c)].sum()
                     for c in itertools.combinations(range(len(pooled)), len(x))])
    return min(1.0, 2 * min(np.mean(sums <= observed), np.mean(sums >= observed)))


@pytest.mark.parametrize("seed", range(12))
def test_rank_sum_p_is_the_exact_enumeration_with_ties_and_failures(seed):
    rng = np.random.default_rng(seed)
    nx, ny = rng.integers(1, 6, size=2)
    # Values on a coarse grid (ties within and across groups) and some failures (+inf).
    x = [INF if rng.random() < 0.2 else float(rng.integers(1, 5)) for _ in range(nx)]
    y = [INF if rng.random() < 0.2 else float(rng.integers(2, 7)) for _ in range(ny)]
    test = stats.rank_sum_test(x, y)
    assert test.exact and (test.n_x, test.n_y) == (nx, ny)
    if len(set(x + y)) == 1:
        assert test.p_value == 1.0
    else:
        # Both sides count the same finite set of equally likely splits: equal to round-off.
        assert test.p_value == pytest.approx(_enumerated_p(x, y), abs=1e-12)


def test_rank_sum_without_ties_is_the_exact_mann_whitney_test():
    rng = np.random.default_rng(0)
    for nx, ny in [(2, 3), (3, 3), (5, 5), (4, 6)]:
        x, y = rng.lognormal(-3, 1, nx), rng.lognormal(-2.5, 1, ny)
        want = mannwhitneyu(x, y, method="exact", alternative="two-sided").pvalue
        assert stats.rank_sum_test(x, y).p_value == pytest.approx(want, abs=1e-12)


def test_what_the_seed_count_can_resolve():
    """The definition's stated power: 3 seeds per entry never separate two entries (smallest
    p = 2/20), 5 seeds do when every seed of one is below every seed of the other (2/252)."""
    assert stats.rank_sum_test([1, 2, 3], [4, 5, 6]).p_value == pytest.approx(0.1)
    assert stats.tied([1, 2, 3], [4, 5, 6])
    five = stats.rank_sum_test([1, 2, 3, 4, 5], [6, 7, 8, 9, INF])
    assert five.p_value == pytest.approx(2 / 252) and five.distinguishable
    # One swap in the middle of the two groups is still resolved; three are not.
    assert not stats.tied([1, 2, 3, 4, 6], [5, 7, 8, 9, 10])
    assert stats.tied([1, 2, 5, 6, 7], [3, 4, 8, 9, 10])
    # Two groups that both failed on every seed are the same; a group of none ties with all.
    assert stats.rank_sum_test([INF] * 5, [INF] * 5).p_value == 1.0
    assert stats.rank_sum_test([], [1.0]).p_value == 1.0


def test_rank_sum_beyond_the_exact_limit_is_monte_carlo_and_says_so():
    rng = np.random.default_rng(1)
    x, y = rng.lognormal(-3, 1, 11), rng.lognormal(-2.2, 1, 11)  # C(22, 11) = 705 432 splits
    test = stats.rank_sum_test(x, y)
    assert not test.exact and "Monte Carlo" in test.label
    want = mannwhitneyu(x, y, method="exact", alternative="two-sided").pvalue
    # 20 000 resamples: the standard error of the estimate is below sqrt(0.25 / 20 000) = 0.0035.
    assert test.p_value == pytest.approx(want, abs=0.015)
    assert stats.rank_sum_test(x, y).p_value == test.p_value  # seeded: the same every build


def test_margin_and_solved():
    assert stats.margin(1.35, 0.0239) == pytest.approx(56.49, abs=0.01)
    assert stats.format_margin(stats.margin(1.35, 0.0239)) == "56× lower"
    assert stats.format_margin(stats.margin(1.0, 0.971)) == "1.0× lower"
    assert stats.format_margin(stats.margin(1.0, 2.0)) == "2.0× higher"
    assert math.isinf(stats.margin(INF, 0.5)) and math.isnan(stats.margin(0.5, INF))
    assert stats.format_margin(math.nan) == "—"
    assert stats.solves(0.009, 1e-2) and not stats.solves(0.01, 1e-2)
    assert not stats.solves(0.001, None)


def test_every_comparison_shown_is_defined():
    for name in ("tied with the best", "margin over the baseline", "best entry", "solved",
                 "best published", "gradient-evaluation equivalents", "seconds per seed",
                 "budget"):
        assert stats.DEFINITIONS[name]


# ------------------------------------------------------------------------------ the ranking
def _loaded(solver: str, errors, budget: str = "smoke", problem: str = "helmholtz",
            cell: dict | None = None) -> list[Loaded]:
    path = next(FIXTURES.glob("helmholtz@v1/forward/pinn-mlp-adam-lbfgs@*/smoke/seed-0.json"))
    base = json.loads(path.read_text())
    out = []
    for seed, err in enumerate(errors):
        rec = copy.deepcopy(base)
        rec["spec"].update(solver=solver, seed=seed, budget=budget, problem=problem)
        rec["cell"] = cell or {}
        ok = math.isfinite(err)
        rec["status"], rec["failure"] = ("ok", None) if ok else ("failed", "non_finite")
        rec["metrics"]["rel_l2"] = err if ok else None
        out.append(Loaded(rec, f"{solver}-{budget}-{seed}.json"))
    return out


def _groups(*items):
    return aggregate([x for item in items for x in item], {"helmholtz": load_problem("helmholtz")})


def test_ranking_best_ties_margin_and_crown():
    groups = _groups(_loaded("pinn-mlp-adam", [0.5, 0.6, 0.7, 0.8, 0.9]),
                     _loaded("good", [1e-3, 2e-3, 3e-3, 4e-3, 5e-3]),
                     _loaded("close", [1.5e-3, 2.5e-3, 3.5e-3, 4.5e-3, 6e-3]),
                     _loaded("good", [1e-4] * 5, budget="cpu"),  # another budget: not ranked
                     _loaded("good", [1e-5] * 5, cell={"a2": 1.0}))  # a map cell: not ranked
    r = rank("helmholtz", "forward", "smoke", groups, target=1e-2)
    assert [p.group.solver for p in r.placed] == ["good", "close", "pinn-mlp-adam"]
    assert r.best.group.median == 3e-3 and r.solved  # median below the target: crowned
    assert [p.group.solver for p in r.tied] == ["close"]  # interleaved seeds: indistinguishable
    assert not r.placed[2].tied  # every baseline seed above every seed of the best
    assert r.baseline.solver == baseline_for("forward") == "pinn-mlp-adam"
    assert r.best.margin == pytest.approx(0.7 / 3e-3)
    assert r.best.vs_baseline.p_value == pytest.approx(2 / 252)
    # Not solved: the lowest median is still shown, but not crowned.
    r = rank("helmholtz", "forward", "smoke", groups, target=1e-3)
    assert r.best.group.solver == "good" and not r.solved


def test_no_best_when_every_median_failed_and_operator_baseline():
    groups = _groups(_loaded("a", [INF, INF, 0.5]), _loaded("b", [INF, INF, INF]))
    r = rank("helmholtz", "forward", "smoke", groups, target=1e-2)
    assert r.placed and r.best is None and not r.solved and r.tied == []
    assert r.baseline is None  # pinn-mlp-adam was not run here
    assert baseline_for("operator") == "deeponet"


def test_ranking_budget_is_the_one_covering_most_tasks():
    groups = _groups(_loaded("a", [0.1], budget="cpu"), _loaded("a", [0.1], budget="standard"),
                     _loaded("a", [0.1], budget="cpu", problem="burgers"),
                     _loaded("a", [0.1], budget="cpu-1500", cell={"a2": 1.0}))
    assert ranking_budget(groups) == "cpu"
    assert ranking_budget(groups[:0]) is None


def test_best_published_is_ours_only():
    pubs = [Published("p", "forward", "", 1e-6, "", "", "", None, False, False),
            Published("p", "forward", "", 1e-4, "", "", "", None, False, True),
            Published("p", "operator", "", 1e-5, "", "", "", None, False, True),
            Published("p", "forward", "", None, "", "", "", None, False, True)]
    assert best_published(pubs, "forward").rel_l2 == 1e-4  # 1e-6 is another setting
    assert best_published(pubs, "inverse") is None
