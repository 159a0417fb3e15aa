"""Stage 2 of the site build: the statistics of each group of seeds, from :mod:`regimebench.stats`.

A group is every seed of one (problem@version, task, solver@hash, budget, cell, harness)
(:class:`regimebench.record.GroupKey`). Every statistic is over *all* seeds of a group and comes
from :func:`regimebench.stats.group_stats` — the same function the CLI table and the regime maps
use, so a group shows the same numbers everywhere: the median and quartiles of rel. L2 with
failed seeds as +∞ (interpolated on the log scale), the order-statistic interval of the median
labelled with its exact coverage, the success rate with Wilson's interval, the majority regime
(ties shown as ties) and failure-mode counts. The definitions are in :mod:`regimebench.stats`
(``stats.DEFINITIONS``, rendered on the site).

Site-only quantities computed here:

``time_to_target``
    per seed, the first logged point of the ``rel_l2`` curve below ``target``: in gradient
    evaluations, and in seconds estimated as evaluations / the seed's measured steps per second
    (compilation excluded); the group reports the median over seeds (+∞ if most never reach it)
    and how many reached it.
``evals_spent``
    the median over seeds of the gradient-evaluation equivalents a seed spent (``evals_done``;
    the budget unit, a property of the method), beside the budget it was given (``spec.evals``).
``seconds_per_seed``
    the median over seeds of ``timing.seed_wall_s`` (one seed's share of its vectorised group's
    training time, compilation excluded), on the device(s) named in ``devices`` — never a sum
    over seeds, which would grow with the seed count and the machine's load.
``step_costs``
    per optimizer phase, what one step is charged in gradient-evaluation equivalents, when the
    records say (read defensively: records written before the trainer measured it have none).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import stats
from ..outcomes import Regime, Status
from ..record import GroupKey, group_key, pinned_command
from ..stats import GroupStats, Majority, MedianInterval, Proportion, seed_error, seed_failure_modes
from .load import Loaded, finite

__all__ = ["Seed", "Group", "aggregate", "seed_error", "step_costs", "REGIMES", "TIER_ORDER"]

REGIMES: tuple[Regime, ...] = tuple(Regime)  # the order every table and chart shows them in
TIER_ORDER = {"smoke": 0, "cpu": 1, "standard": 2, "long": 3}


def _time_to_target(rec: Mapping[str, Any], target: float | None) -> tuple[float | None, float | None]:
    """(evaluations, seconds) at which the seed's rel. L2 curve first falls below ``target``."""
    if target is None or rec.get("status") != Status.OK:
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
    """All seeds of one :class:`~regimebench.record.GroupKey` and their statistics."""

    key: GroupKey
    cell: dict[str, Any]
    target: float | None
    seeds: list[Seed]
    stats: GroupStats | None = None
    reached: int = 0
    evals_to_target: float = math.inf
    seconds_to_target: float = math.inf
    evals_spent: float | None = None
    budget_evals: int | None = None
    seconds_per_seed: float | None = None
    compile_s: float | None = None
    step_costs: list[tuple[str, float]] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)

    # identity
    @property
    def problem(self) -> str:
        return self.key.problem

    @property
    def problem_version(self) -> int:
        return self.key.problem_version

    @property
    def task(self) -> str:
        return self.key.task

    @property
    def solver(self) -> str:
        return self.key.solver

    @property
    def config_hash(self) -> str:
        return self.key.config_hash

    @property
    def budget(self) -> str:
        return self.key.budget

    @property
    def harness(self) -> str:
        return self.key.harness

    @property
    def cell_label(self) -> str:
        return self.key.cell

    @property
    def tier(self) -> str:
        """The budget tier (an explicit-evaluations budget ``cpu-1234`` belongs to ``cpu``)."""
        return self.budget.split("-")[0]

    # statistics (all from regimebench.stats)
    @property
    def n(self) -> int:
        return len(self.seeds)

    @property
    def failed(self) -> int:
        return self.stats.failed

    @property
    def median(self) -> float:
        """Median rel. L2 over seeds (+∞ when the median seed failed)."""
        return self.stats.median

    @property
    def q25(self) -> float:
        return self.stats.q25

    @property
    def q75(self) -> float:
        return self.stats.q75

    @property
    def interval(self) -> MedianInterval:
        return self.stats.interval

    @property
    def success(self) -> Proportion:
        return self.stats.success

    @property
    def successes(self) -> int:
        return self.stats.success.k

    @property
    def success_low(self) -> float:
        return self.stats.success.low

    @property
    def success_high(self) -> float:
        return self.stats.success.high

    @property
    def regimes(self) -> dict[Regime, int]:
        return dict(self.stats.regimes)

    @property
    def majority(self) -> Majority:
        return self.stats.majority

    @property
    def failure_modes(self) -> dict[str, int]:
        return dict(self.stats.failure_modes)

    @property
    def slug(self) -> str:
        """A file name for the run page: readable, safe, and unique per group."""
        from ._paths import safe_name

        parts = [f"{self.problem}-v{self.problem_version}", self.task,
                 f"{self.solver}-{self.config_hash}", self.budget]
        if self.harness != "1":
            parts.append(f"harness-{self.harness}")
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

    @property
    def pinned_command(self) -> str | None:
        """:attr:`command` pinned to the commit that made the first seed's record."""
        return pinned_command(self.seeds[0].record) if self.seeds and self.command else None


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
    modes = seed_failure_modes(rec)
    evals_t, secs_t = _time_to_target(rec, target)
    return Seed(
        seed=int(rec["spec"]["seed"]), status=str(rec.get("status", "unknown")),
        failure=rec.get("failure"), rel_l2=err,
        success=target is not None and err < target,
        regime=str(labels.get("regime") or Regime.NONE), failure_modes=modes,
        wall_s=finite((rec.get("timing") or {}).get("seed_wall_s")),
        evals_to_target=evals_t, seconds_to_target=secs_t, relpath=item.relpath, record=rec,
    )


def _finish(g: Group) -> Group:
    g.seeds.sort(key=lambda s: s.seed)
    records = [s.record for s in g.seeds]
    g.stats = stats.group_stats(records, g.target)
    reached = [s for s in g.seeds if s.evals_to_target is not None]
    g.reached = len(reached)
    g.evals_to_target = stats.median(
        s.evals_to_target if s.evals_to_target is not None else math.inf for s in g.seeds)
    g.seconds_to_target = stats.median(
        s.seconds_to_target if s.seconds_to_target is not None else math.inf for s in g.seeds)
    spent = [finite(s.record.get("evals_done")) for s in g.seeds]
    spent = [v for v in spent if v is not None and v > 0]
    g.evals_spent = stats.median(spent) if spent else None
    budgets = {finite((s.record.get("spec") or {}).get("evals")) for s in g.seeds} - {None}
    g.budget_evals = int(max(budgets)) if budgets else None
    walls = [s.wall_s for s in g.seeds if s.wall_s is not None and s.wall_s > 0]
    g.seconds_per_seed = stats.median(walls) if walls else None
    compiles = [finite((s.record.get("timing") or {}).get("compile_s")) for s in g.seeds]
    compiles = [c for c in compiles if c is not None]
    g.compile_s = stats.median(compiles) if compiles else None
    g.step_costs = step_costs(g.seeds[0].record) if g.seeds else []
    prov = [s.record.get("provenance") or {} for s in g.seeds]
    g.devices = sorted({_device(p) for p in prov})
    g.dtypes = sorted({str(p.get("dtype")) for p in prov if p.get("dtype")})
    return g


_STEP_COST_KEY = re.compile(r"^(?:step_cost(?:_(?P<a>.+))?|(?P<b>.+)_step_cost)$")


def step_costs(record: Mapping[str, Any]) -> list[tuple[str, float]]:
    """``[(phase, equivalents per step), ...]`` from a record's ``timing``, if it says.

    Read defensively, since the trainer's format may grow. The record schema keeps ``timing``
    flat (numbers), so the costs are numeric keys: ``step_cost`` (one phase),
    ``step_cost_<phase>`` or ``<phase>_step_cost``, in the order stored. Lists of
    ``{"kind", "step_cost"}`` under ``timing.phases``/``layout.phases`` (or a ``{phase: cost}``
    ``timing.step_costs``) are read too. Anything else, or no finite positive cost, gives
    ``[]``: the pages then show the budget spent alone.

    >>> step_costs({"timing": {"step_cost_adam": 1.0, "step_cost_natural_gradient": 53.2}})
    [('adam', 1.0), ('natural_gradient', 53.2)]
    """
    timing = record.get("timing") or {}
    layout = record.get("layout") or {}
    if not isinstance(timing, Mapping):
        return []
    out: list[tuple[str, float]] = []
    raw = timing.get("phases") or layout.get("phases") or timing.get("step_costs")
    if isinstance(raw, Mapping):
        raw = [{"kind": k, "step_cost": v} for k, v in raw.items()]
    if isinstance(raw, list):
        for i, ph in enumerate(raw):
            if isinstance(ph, Mapping):
                cost = finite(ph.get("step_cost"))
                if cost is not None and cost > 0:
                    out.append((str(ph.get("kind") or f"phase {i + 1}"), cost))
    if out:
        return out
    for key, value in timing.items():
        m = _STEP_COST_KEY.match(str(key))
        cost = finite(value)
        if m and cost is not None and cost > 0:
            out.append((m.group("a") or m.group("b") or "step", cost))
    return out


def _device(prov: Mapping[str, Any]) -> str:
    kind, backend = prov.get("device_kind"), prov.get("backend")
    if not kind and not backend:
        return "unknown device"
    if kind and backend and str(kind).lower() != str(backend).lower():
        return f"{kind} ({backend})"
    return str(kind or backend)


def aggregate(loaded: Iterable[Loaded], catalogue: Mapping[str, Any]) -> list[Group]:
    """Group records and compute every statistic; ``catalogue`` maps problem name → ProblemSpec.

    Groups come back sorted by problem, task, cell, tier (highest first), then median error
    (best first).
    """
    groups: dict[GroupKey, Group] = {}
    for item in loaded:
        rec = item.record
        key = group_key(rec)
        if key not in groups:
            cell = rec.get("cell") if isinstance(rec.get("cell"), dict) else {}
            groups[key] = Group(key=key, cell=dict(cell),
                                target=_target(key.problem, key.task, rec, catalogue), seeds=[])
        groups[key].seeds.append(_seed(item, groups[key].target))
    out = [_finish(g) for g in groups.values()]
    out.sort(key=lambda g: (g.problem, g.task, g.cell_label, -TIER_ORDER.get(g.tier, -1),
                            g.budget, g.median, g.solver, g.harness))
    return out
