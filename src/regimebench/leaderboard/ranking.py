"""Which entry is best on each (problem, task), and by how much: the overview's answer.

A :class:`Ranking` is every canonical-setting group of one (problem, task) at one budget,
ordered by median rel. L2 (failures as +∞). Every number in it comes from
:mod:`regimebench.stats`:

* the **best entry** is the first (lowest median); it is *crowned* only if it solves the task
  (:func:`~regimebench.stats.solves`: median below the target), and there is none when every
  entry's median failed;
* an entry is **tied with the best** when :func:`~regimebench.stats.tied` (an exact rank-sum
  test of the two groups' per-seed errors) cannot tell it apart from the best;
* the **margin over the baseline** is :func:`~regimebench.stats.margin` of the task's vanilla
  entry (:func:`baseline_for`) and the best, with the rank-sum test of the two;
* the **best published** number is the lowest of ``published.toml`` for the same problem and
  task whose setting is ours (``same_setting``, default true).

Groups of different budgets are never ranked together, nor regime-map cells with the canonical
setting; :func:`ranking_budget` picks the budget the overview opens on (the one covering the
most (problem, task) pairs), which every page names.
"""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import stats
from ..stats import RankSum
from .aggregate import TIER_ORDER, Group

__all__ = ["BASELINES", "DEFAULT_BASELINE", "BASELINE_NOTES", "baseline_for", "Published", "load_published",
           "best_published", "Placed", "Ranking", "rank", "ranking_budget", "budget_sort_key"]

PUBLISHED_FILE = Path(__file__).resolve().parent / "published.toml"

#: The vanilla entry each task is measured against. PINN tasks: ``pinn-mlp-adam`` (a tanh MLP,
#: Adam, fixed unit weights: Raissi et al. 2019 as every later method's starting point). The
#: operator task: ``deeponet``, the plain operator network (MLP branch and trunk, no spectral
#: layers, no physics loss), against which FNO and PINO are the improvements being measured.
BASELINES: dict[str, str] = {"operator": "deeponet"}
DEFAULT_BASELINE = "pinn-mlp-adam"
#: What each baseline is, for the methods page.
BASELINE_NOTES: dict[str, str] = {
    "pinn-mlp-adam": "a tanh MLP trained by Adam with fixed unit weights (Raissi et al. 2019)",
    "deeponet": "the plain operator network: MLP branch and trunk, no spectral layers, no "
                "physics loss (Lu et al. 2021)",
}


def baseline_for(task: str) -> str:
    """The baseline entry's name for a task (see :data:`BASELINES`)."""
    return BASELINES.get(task, DEFAULT_BASELINE)


# ------------------------------------------------------------------------------ published
@dataclass(frozen=True)
class Published:
    """One number from the literature (a ``published.toml`` entry)."""

    problem: str
    task: str
    setting: str
    rel_l2: float | None
    method: str
    budget: str
    source: str
    url: str | None
    second_hand: bool
    same_setting: bool

    @classmethod
    def of(cls, problem: str, entry: Mapping[str, Any]) -> Published:
        value = entry.get("rel_l2")
        return cls(problem, str(entry.get("task", "forward")), str(entry.get("setting", "")),
                   float(value) if isinstance(value, (int, float)) else None,
                   str(entry.get("method", "")), str(entry.get("budget", "—")),
                   str(entry.get("source", "")), entry.get("url"),
                   bool(entry.get("second_hand", False)), bool(entry.get("same_setting", True)))


def load_published(path: Path = PUBLISHED_FILE) -> dict[str, list[Published]]:
    """``{problem: [Published, ...]}`` from ``published.toml``."""
    raw = tomllib.loads(path.read_text())
    return {problem: [Published.of(problem, e) for e in entries]
            for problem, entries in raw.items()}


def best_published(entries: Iterable[Published], task: str) -> Published | None:
    """The lowest published rel. L2 for ``task`` in our setting (None if none was collected)."""
    usable = [e for e in entries if e.task == task and e.same_setting and e.rel_l2 is not None]
    return min(usable, key=lambda e: e.rel_l2) if usable else None


# ------------------------------------------------------------------------------ ranking
@dataclass
class Placed:
    """One group in a ranking, compared with the best and with the baseline."""

    group: Group
    is_best: bool = False
    vs_best: RankSum | None = None  # None for the best itself
    vs_baseline: RankSum | None = None  # None for the baseline itself or without one
    margin: float = math.nan  # baseline median / this median

    @property
    def tied(self) -> bool:
        """Statistically indistinguishable from the best (the best is not "tied")."""
        return self.vs_best is not None and not self.vs_best.distinguishable


@dataclass
class Ranking:
    """The canonical-setting groups of one (problem, task) at one budget, best first."""

    problem: str
    task: str
    budget: str
    target: float | None
    placed: list[Placed]
    baseline_name: str
    baseline: Group | None
    published: Published | None
    published_other: list[Published] = field(default_factory=list)  # other settings, for context

    @property
    def tier(self) -> str:
        return self.budget.split("-")[0]

    @property
    def best(self) -> Placed | None:
        """The entry with the lowest median, or None when every median failed (+∞)."""
        if self.placed and math.isfinite(self.placed[0].group.median):
            return self.placed[0]
        return None

    @property
    def solved(self) -> bool:
        """Whether the best entry solves the task (then, and only then, it is crowned)."""
        return self.best is not None and stats.solves(self.best.group.median, self.target)

    @property
    def tied(self) -> list[Placed]:
        return [p for p in self.placed if p.tied]

    @property
    def beats_published(self) -> bool | None:
        """Whether the best median is below the best published number (None: nothing to
        compare, no best or no published number in our setting)."""
        if self.best is None or self.published is None:
            return None
        return self.best.group.median < self.published.rel_l2

    @property
    def budget_evals(self) -> int | None:
        """The budget in gradient-evaluation equivalents (the largest any group was given)."""
        values = [p.group.budget_evals for p in self.placed if p.group.budget_evals]
        return max(values) if values else None


def _order(g: Group) -> tuple:
    return (g.median, g.q75, g.solver, g.config_hash, g.harness)


def rank(problem: str, task: str, budget: str, groups: Sequence[Group],
         published: Sequence[Published] = (), target: float | None = None) -> Ranking:
    """Rank the canonical-setting ``groups`` of (problem, task) at ``budget`` (others ignored).

    Arguments:
        groups: any groups; those of another problem, task, budget or a regime-map cell are
            left out, so the caller may pass a whole task's groups.
        published: the problem's ``published.toml`` entries (any task).
        target: the task's success threshold (defaults to the groups' own).
    """
    mine = sorted((g for g in groups if g.problem == problem and g.task == task
                   and g.budget == budget and not g.cell), key=_order)
    if target is None:
        target = next((g.target for g in mine if g.target is not None), None)
    placed = [Placed(g) for g in mine]
    base_name = baseline_for(task)
    bases = [g for g in mine if g.solver == base_name]
    baseline = bases[0] if bases else None  # the best-placed version of the baseline entry
    if placed and math.isfinite(placed[0].group.median):
        best = placed[0]
        best.is_best = True
        for p in placed[1:]:
            p.vs_best = stats.rank_sum_test(best.group.stats.errors, p.group.stats.errors)
    for p in placed:
        if baseline is not None and p.group is not baseline:
            p.margin = stats.margin(baseline.median, p.group.median)
            p.vs_baseline = stats.rank_sum_test(baseline.stats.errors, p.group.stats.errors)
    pubs = [e for e in published if e.task == task]
    return Ranking(problem, task, budget, target, placed, base_name, baseline,
                   best_published(pubs, task),
                   [e for e in pubs if not e.same_setting and e.rel_l2 is not None])


def budget_sort_key(budget: str) -> tuple:
    """Tiers in their order (smoke, cpu, standard, long), explicit budgets after their tier."""
    tier, _, rest = budget.partition("-")
    return (TIER_ORDER.get(tier, len(TIER_ORDER)), tier, rest != "", rest)


def ranking_budget(groups: Iterable[Group]) -> str | None:
    """The budget the overview ranks at: the one whose canonical-setting groups cover the most
    (problem, task) pairs; on a tie the higher tier (more evaluations, closer to converged)."""
    pairs: dict[str, set] = {}
    for g in groups:
        if not g.cell:
            pairs.setdefault(g.budget, set()).add((g.problem, g.task))
    if not pairs:
        return None
    count = Counter({b: len(p) for b, p in pairs.items()})
    return max(count, key=lambda b: (count[b], TIER_ORDER.get(b.split("-")[0], -1), "-" not in b))
