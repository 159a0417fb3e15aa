"""Regime maps: a (difficulty × data) grid of runs, summarised by majority regime per cell.

The multi-regime paper (Wang et al. 2026) draws its phase diagrams over (physical difficulty) ×
(data availability). Here a *cell* is one (difficulty value, data count) pair of a problem's task
for one solver entry, budget and harness; its records are the seeds run there (``bench sweep``),
i.e. one group (:func:`regimebench.record.group_key`). Each cell reports the statistics of
:mod:`regimebench.stats` — the majority regime (ties shown as ties, e.g. ``"tie: I / III"``), the
agreement, the mean ±20 % label stability, the median test rel. L2 with its order-statistic
interval, failure-mode counts — so the map, the CLI and the site agree number for number.

``bench regimes`` writes the map as JSON beside the records (``kind: "regime-map"``, which the
record loader passes over). Everything here is a pure function of records; relabelling lives in
:mod:`regimebench.relabel`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .harness import comparable_harness, harness_of
from .record import SCHEMA_VERSION, RecordError, RecordKind, iter_records, pinned_command
from .relabel import relabel_dir
from .stats import group_stats

__all__ = ["find_records", "regime_map", "map_cell", "problem_regime_map",
           "write_regime_map", "relabel_dir", "map_path", "MAP_FILE_PREFIX"]

# `bench regimes` writes its map beside the records it summarises under this name by default;
# the loader tells maps from records by their ``kind``, not by this prefix.
MAP_FILE_PREFIX = "regimes-"


def map_path(runs: Path, problem: str, solver: str) -> Path:
    """Where `bench regimes` writes a map by default: ``<runs>/regimes-<problem>-<solver>.json``."""
    return Path(runs) / f"{MAP_FILE_PREFIX}{problem}-{solver}.json"




def find_records(root: Path, warn: Callable[[str], None] | None = None
                 ) -> Iterable[tuple[Path, dict]]:
    """Every valid run record under ``root``: :func:`~regimebench.record.iter_records` without
    the files it reports as errors (passed to ``warn``, one line each; ``bench doctor`` shows
    them too)."""
    for p, r in iter_records(root):
        if not isinstance(r, RecordError):
            yield p, r
        elif warn is not None:
            warn(f"skipped {r}")


def _select(records: Iterable[Mapping], problem: str, solver: str | None, task: str | None,
            budget: str | None, harness: str | None) -> list[Mapping]:
    out = []
    for rec in records:
        spec = rec.get("spec", {})
        if spec.get("problem") != problem:
            continue
        if solver is not None and spec.get("solver") != solver:
            continue
        if task is not None and spec.get("task") != task:
            continue
        if budget is not None and spec.get("budget") != budget:
            continue
        if harness is not None and comparable_harness(harness_of(rec)) != comparable_harness(
                harness):
            continue
        out.append(rec)
    return out


def _cell_value(rec: Mapping, name: str, default: Any) -> Any:
    cell = rec.get("cell") or {}
    return cell[name] if name in cell else default


def _order(value: Any) -> tuple[bool, float]:
    """Sort key of an axis value: numbers ascending, an unknown value (``None``) first."""
    return (value is not None, float(value) if value is not None else 0.0)


def _target(records: Sequence[Mapping]) -> float | None:
    for r in records:
        value = ((r.get("labels") or {}).get("thresholds") or {}).get("target")
        if value is not None:
            return float(value)
    return None


def map_cell(records: Sequence[Mapping], target: float | None = None) -> dict[str, Any]:
    """The JSON summary of one cell's seeds (the statistics of :func:`~regimebench.stats.group_stats`).

    ``target`` defaults to the threshold recorded with the labels.
    """
    st = group_stats(records, target if target is not None else _target(records))

    def num(x: float) -> float | None:
        return x if x == x and abs(x) != float("inf") else None

    return {
        "seeds": st.n,
        "majority": st.majority.label,
        "majority_regimes": [r.value for r in st.majority.regimes],
        "tie": st.majority.is_tie,
        "agreement": st.majority.agreement,
        "counts": {r.value: k for r, k in st.regimes.items()},
        "stability": st.stability,
        "median_rel_l2": num(st.median),
        "failed": st.failed,
        "interval": {"low": num(st.interval.low), "high": num(st.interval.high),
                     "coverage": st.interval.coverage, "label": st.interval.label,
                     "low_failed": st.interval.low == float("inf"),
                     "high_failed": st.interval.high == float("inf")},
        "successes": st.success.k,
        "failure_modes": dict(st.failure_modes),
        "commands": sorted({pinned_command(r) for r in records}),
    }


def regime_map(records: Iterable[Mapping], *, problem: str, difficulty: str, data: str,
               canonical_difficulty: Any = None, canonical_data: Any = None,
               solver: str | None = None, task: str | None = None,
               budget: str | None = None, harness: str | None = None) -> dict[str, Any]:
    """The map of ``records`` (already loaded) as a JSON-ready dict.

    ``difficulty``/``data`` name the axes (the problem's); records without a value in their cell
    take the canonical one (plain ``bench run`` records). Several budgets, solvers or harness
    versions must not be mixed in one map: pass ``solver``/``budget``/``harness`` to select, or
    the map fails loudly (``ValueError``). ``median_rel_l2`` is ``null`` when the median seed
    failed (+∞).
    """
    recs = _select(records, problem, solver, task, budget, harness)
    keys = {(r["spec"]["solver"], r["spec"]["config_hash"], r["spec"]["task"], r["spec"]["budget"],
             comparable_harness(harness_of(r))) for r in recs}
    if len(keys) > 1:
        raise ValueError("records of several solver configurations, tasks, budgets or harness "
                         "versions match: "
                         + "; ".join(f"{s}@{h}/{t}/{b} (harness {v})"
                                     for s, h, t, b, v in sorted(keys))
                         + " (select one with --solver/--task/--budget)")
    cells: dict[tuple, list[Mapping]] = defaultdict(list)
    for r in recs:
        dv = _cell_value(r, difficulty, (r["spec"].get("params") or {}).get(difficulty,
                                                                        canonical_difficulty))
        # the data axis is a sampled term's count (a size) or a problem parameter (n_train)
        params = r["spec"].get("params") or {}
        nv = _cell_value(r, data, (r["spec"].get("sizes") or {}).get(
            data, params.get(data, canonical_data)))
        cells[(dv, nv)].append(r)
    out_cells = []
    for (dv, nv), rs in sorted(cells.items(), key=lambda kv: (_order(kv[0][0]), _order(kv[0][1]))):
        out_cells.append({difficulty: dv, data: nv, **map_cell(rs)})
    (solver_name, config_hash, task_name, budget_name, harness_name), = keys or {
        (solver, None, task, budget, harness)}
    return {
        "kind": RecordKind.REGIME_MAP.value, "schema_version": SCHEMA_VERSION,
        "problem": problem, "task": task_name, "solver": solver_name,
        "config_hash": config_hash, "budget": budget_name, "harness": harness_name,
        "axes": {"difficulty": difficulty, "data": data},
        "difficulty_values": sorted({c[difficulty] for c in out_cells}, key=_order),
        "data_values": sorted({c[data] for c in out_cells}, key=_order),
        "cells": out_cells,
    }


def problem_regime_map(runs: Path, problem: str, *, solver: str | None = None,
                       task: str | None = None, budget: str | None = None,
                       harness: str | None = None,
                       warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The map of ``problem`` from the records under ``runs``, with the task's axes and canonical
    values from the catalogue (what ``bench regimes`` prints and writes).

    Raises ``KeyError``/:class:`~regimebench.problem.ProblemError` for an unknown problem or
    task and ``ValueError`` when several configurations match (select one). Files the loader
    skips are passed to ``warn`` (one line each).
    """
    from .problem import load_problem

    p = load_problem(problem)
    info = p.task_info(task)
    return regime_map((r for _, r in find_records(runs, warn)), problem=problem,
                      difficulty=info.difficulty.name, data=info.data.name,
                      canonical_difficulty=p.params.get(info.difficulty.name),
                      solver=solver, task=info.name, budget=budget, harness=harness)


def write_regime_map(regime_map: Mapping[str, Any], path: Path) -> Path:
    """Write a map atomically (the record writer; the map's ``kind`` keeps it out of the record
    loader wherever it lies)."""
    from .record import write_record

    return write_record(Path(path), regime_map)
