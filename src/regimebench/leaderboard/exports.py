"""The site's data downloads: ``leaderboard.csv`` and ``runs.json``, one row per group.

Every statistic comes from :mod:`regimebench.stats` through :class:`~.aggregate.Group`, so the
downloads show the numbers the pages show (``tests/test_one_definition.py`` checks the CSV
against the CLI and the regime maps). +∞ (a failed median or endpoint) is written ``inf``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from typing import Any

from .. import stats
from .aggregate import Group

__all__ = ["CSV_COLUMNS", "to_csv", "to_json"]

CSV_COLUMNS = ["problem", "problem_version", "task", "solver", "config_hash", "budget", "harness",
               "cell", "seeds", "failed", "median_rel_l2", "q25_rel_l2", "q75_rel_l2",
               "interval_low", "interval_high", "interval_coverage", "interval_label",
               "successes", "success_low", "success_high", "success_level", "majority_regime",
               "agreement", "evals_to_target", "budget_evals", "evals_spent", "seconds_per_seed",
               "devices", "run_page"]


def _num(x: float | None) -> float | str | None:
    """+∞ as ``"inf"``, NaN and missing as ``None``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return "inf" if math.isinf(x) else x


def to_csv(groups: list[Group], hrefs: Mapping[Any, str]) -> str:
    """``leaderboard.csv``: rel. L2 values with 7 significant digits, ``inf`` for failures."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)

    def e(x):
        v = _num(x)
        return "" if v is None else (v if isinstance(v, str) else f"{v:.6e}")

    def g_(x, spec=".2f"):
        return "" if x is None else format(x, spec)

    for g in groups:
        iv = g.interval
        w.writerow([g.problem, g.problem_version, g.task, g.solver, g.config_hash, g.budget,
                    g.harness, g.cell_label, g.n, g.failed, e(g.median), e(g.q25), e(g.q75),
                    e(iv.low), e(iv.high), f"{iv.coverage:.4f}", iv.label, g.successes,
                    f"{g.success_low:.4f}", f"{g.success_high:.4f}", f"{g.success.level:g}",
                    g.majority.label, f"{g.majority.agreement:.4f}", g.evals_to_target,
                    g.budget_evals if g.budget_evals is not None else "",
                    g_(g.evals_spent, ".1f"), g_(g.seconds_per_seed), ";".join(g.devices),
                    hrefs[g.key]])
    return buf.getvalue()


def to_json(groups: list[Group], hrefs: Mapping[Any, str]) -> str:
    """``runs.json``: the groups with their statistics and per-seed record links, and the
    definitions of every statistic (``stats.DEFINITIONS``)."""
    rows = [{
        "problem": g.problem, "problem_version": g.problem_version, "task": g.task,
        "solver": g.solver, "config_hash": g.config_hash, "budget": g.budget,
        "harness": g.harness, "cell": g.cell,
        "seeds": [{"seed": s.seed, "status": s.status, "rel_l2": _num(s.rel_l2),
                   "regime": s.regime, "record": f"records/{g.slug}/seed-{s.seed}.json"}
                  for s in g.seeds],
        "rel_l2": {"median": _num(g.median), "q25": _num(g.q25), "q75": _num(g.q75),
                   "interval": {"low": _num(g.interval.low), "high": _num(g.interval.high),
                                "coverage": g.interval.coverage, "label": g.interval.label}},
        "success": {"k": g.successes, "n": g.n, "wilson": [g.success_low, g.success_high],
                    "level": g.success.level, "target": g.target},
        "majority_regime": {"label": g.majority.label, "tie": g.majority.is_tie,
                            "regimes": [r.value for r in g.majority.regimes],
                            "agreement": g.majority.agreement},
        "regimes": {r.value: k for r, k in g.regimes.items()},
        "failure_modes": g.failure_modes,
        "time_to_target": {"reached": g.reached, "median_evals": _num(g.evals_to_target),
                           "median_seconds": _num(g.seconds_to_target)},
        "cost": {"budget_evals": g.budget_evals, "evals_spent": g.evals_spent,
                 "seconds_per_seed": g.seconds_per_seed, "compile_s": g.compile_s,
                 "step_costs": [{"phase": k, "step_cost": c} for k, c in g.step_costs], "devices": g.devices},
        "run_page": hrefs[g.key],
    } for g in groups]
    return json.dumps({"definitions": stats.DEFINITIONS, "groups": rows}, indent=1)
