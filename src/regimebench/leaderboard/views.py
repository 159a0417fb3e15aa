"""What each page shows, assembled from the groups, the catalogue and ``published.toml``.

Pages never compute a statistic: they lay out these views, whose numbers come from
:mod:`regimebench.stats` through :class:`~.aggregate.Group` and :class:`~.ranking.Ranking`.

* :class:`Overview` — per budget, one :class:`~.ranking.Ranking` per catalogue (problem, task)
  (the "best entry" table) and the entries × (problem, task) matrix.
* :class:`ProblemView` — per task and budget, the ranking with its charts (error against budget,
  error against seconds, failure modes, regimes), and one regime map per entry and budget.
* :class:`SolverView` — an entry's groups on every problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import charts
from ._paths import safe_name
from .aggregate import Group
from .palette import Style
from .ranking import Published, Ranking, budget_sort_key, rank, ranking_budget

__all__ = ["BudgetView", "MapView", "TaskView", "ProblemView", "SolverView", "Column",
           "MatrixCell", "Overview", "problem_views", "solver_views", "overview",
           "budget_description"]


def budget_description(budget: str, evals: int | None = None) -> str:
    """``"cpu tier (3,000 equivalents)"`` or, for an explicit budget, ``"cpu-1500: 1,500
    equivalents at cpu-tier batch sizes"`` (the unit, gradient-evaluation equivalents, is
    linked to its definition wherever the pages print this)."""
    tier, _, explicit = budget.partition("-")
    if explicit:
        return f"{budget}: {int(explicit):,} equivalents at {tier}-tier batch sizes" \
            if explicit.isdigit() else budget
    amount = f" ({evals:,} equivalents)" if evals else ""
    return f"{tier} tier{amount}"


# ------------------------------------------------------------------------------ problem pages
@dataclass
class BudgetView:
    """One (problem, task) at one budget, canonical setting: ranking and charts."""

    budget: str
    ranking: Ranking
    charts: dict[str, Any]

    @property
    def anchor(self) -> str:
        return safe_name(f"{self.ranking.task}-{self.budget}")


@dataclass
class MapView:
    """One entry's regime map at one budget (the groups of its non-canonical cells)."""

    solver: str
    config_hash: str
    budget: str
    groups: list[Group]
    chart: dict | None


@dataclass
class TaskView:
    name: str
    info: Any  # TaskInfo, or None for a task seen only in records
    budgets: list[BudgetView]
    maps: list[MapView]

    @property
    def has_runs(self) -> bool:
        return bool(self.budgets or self.maps)


@dataclass
class ProblemView:
    name: str
    href: str
    spec: Any  # ProblemSpec, or None for a problem seen only in records
    tasks: list[TaskView]
    published: list[Published]
    readme: str | None

    @property
    def has_runs(self) -> bool:
        return any(t.has_runs for t in self.tasks)


def _task_names(spec: Any, groups: Sequence[Group]) -> list[str]:
    names = list(spec.tasks) if spec else []
    return names + sorted({g.task for g in groups} - set(names))


def problem_views(groups: Sequence[Group], problems: Mapping[str, Any],
                  published: Mapping[str, list[Published]], hrefs: Mapping[Any, str],
                  styles: Mapping[str, Style], read_text) -> list[ProblemView]:
    """Every catalogue problem (and any problem seen only in records), with its tasks."""
    names = list(problems) + sorted({g.problem for g in groups} - set(problems))
    rel = {k: "../" + v for k, v in hrefs.items()}
    views = []
    for name in names:
        spec = problems.get(name)
        mine = [g for g in groups if g.problem == name]
        pubs = published.get(name, [])
        tasks = []
        for t in _task_names(spec, mine):
            info = spec.tasks.get(t) if spec else None
            target = info.thresholds.target if info else None
            canon = [g for g in mine if g.task == t and not g.cell]
            budgets = []
            for b in sorted({g.budget for g in canon}, key=budget_sort_key):
                r = rank(name, t, b, canon, pubs, target)
                placed = [p.group for p in r.placed]
                where = f"{name} / {t}, {b}"
                budgets.append(BudgetView(b, r, {
                    "curves": charts.error_curves(placed, rel, styles,
                                                  f"{where}: error against budget spent",
                                                  r.target),
                    "cost": charts.cost_chart(placed, rel, styles,
                                              f"{where}: error against seconds per seed"),
                    "failures": charts.failure_heatmap(placed, rel,
                                                       f"{where}: failure modes (seeds)"),
                    "regimes": charts.regime_bars(placed, rel, f"{where}: regimes (seeds)"),
                }))
            maps = []
            cells = [g for g in mine if g.task == t and g.cell]
            for key in sorted({(g.solver, g.config_hash, g.budget) for g in cells},
                              key=lambda k: (k[0], k[1], budget_sort_key(k[2]))):
                these = [g for g in cells if (g.solver, g.config_hash, g.budget) == key]
                chart = (charts.regime_map(these, info.difficulty, info.data,
                                           f"{key[0]} on {name} / {t}, {key[2]}: majority "
                                           "regime per cell", rel) if info else None)
                maps.append(MapView(key[0], key[1], key[2], these, chart))
            tasks.append(TaskView(t, info, budgets, maps))
        readme = read_text(Path(spec.folder) / "README.md") if spec else None
        views.append(ProblemView(name, f"problems/{safe_name(name)}.html", spec, tasks, pubs,
                                 readme))
    return views


# ------------------------------------------------------------------------------ solver pages
@dataclass
class SolverView:
    name: str
    href: str
    spec: Any  # SolverSpec, or None for an entry seen only in records
    toml: str | None
    readme: str | None
    groups: list[Group]
    style: Style


def solver_views(groups: Sequence[Group], solvers: Mapping[str, Any],
                 styles: Mapping[str, Style], read_text) -> list[SolverView]:
    names = list(solvers) + sorted({g.solver for g in groups} - set(solvers))
    views = []
    for name in names:
        spec = solvers.get(name)
        folder = getattr(spec, "folder", None)
        views.append(SolverView(
            name, f"solvers/{safe_name(name, salt=name)}.html", spec,
            read_text(Path(folder) / "solver.toml") if folder else None,
            read_text(Path(folder) / "README.md") if folder else None,
            [g for g in groups if g.solver == name], styles[name]))
    return views


# ------------------------------------------------------------------------------ overview
@dataclass(frozen=True)
class Column:
    """One (problem, task) of the overview: a row of the best-entry table, a matrix column."""

    problem: str
    task: str
    problem_href: str
    target: float | None
    in_catalogue: bool


@dataclass
class MatrixCell:
    """One entry on one (problem, task) at one budget."""

    declared: bool  # the entry declares the task (and the problem)
    placed: list[Any] = field(default_factory=list)  # ranking.Placed, one per version


@dataclass
class OverviewBudget:
    budget: str
    rankings: list[Ranking]  # one per column, same order
    rows: list[tuple[str, list[MatrixCell]]]  # (solver, one cell per column)

    @property
    def covered(self) -> int:
        return sum(1 for r in self.rankings if r.placed)


@dataclass
class Overview:
    columns: list[Column]
    budgets: list[OverviewBudget]
    default: str | None  # the budget the page opens on

    @property
    def tasks(self) -> list[str]:
        return sorted({c.task for c in self.columns})


def overview(groups: Sequence[Group], pviews: Sequence[ProblemView], solvers: Mapping[str, Any],
             solver_names: Sequence[str]) -> Overview:
    """Per budget with canonical-setting runs, a ranking per (problem, task) and the matrix."""
    columns = [Column(p.name, t.name, p.href,
                      t.info.thresholds.target if t.info else None, p.spec is not None)
               for p in pviews for t in p.tasks]
    by_budget = {}
    for p in pviews:
        for t in p.tasks:
            for bv in t.budgets:
                by_budget[(p.name, t.name, bv.budget)] = bv.ranking
    budgets = []
    for b in sorted({g.budget for g in groups if not g.cell}, key=budget_sort_key):
        rankings = [by_budget.get((c.problem, c.task, b)) or
                    Ranking(c.problem, c.task, b, c.target, [], "", None, None)
                    for c in columns]
        rows = []
        for name in solver_names:
            spec = solvers.get(name)
            cells = []
            for c, r in zip(columns, rankings):
                declared = spec.supports(c.problem, c.task) if spec is not None else False
                mine = [p for p in r.placed if p.group.solver == name]
                cells.append(MatrixCell(declared, mine))
            if any(c.declared or c.placed for c in cells):
                rows.append((name, cells))
        budgets.append(OverviewBudget(b, rankings, rows))
    return Overview(columns, budgets, ranking_budget(groups))
