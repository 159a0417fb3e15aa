"""Regime maps: a (difficulty × data) grid of runs, summarised by majority regime per cell.

The multi-regime paper (Wang et al. 2026) draws its phase diagrams over (physical difficulty) ×
(data availability). Here a *cell* is one (difficulty value, data count) pair of a problem's task
for one solver entry and budget; its records are the seeds run there (``bench sweep``). Each cell
reports the majority regime over seeds (ties broken in the order I, I*, III, II, none), the
fraction of seeds that agree with it, the mean label stability under ±20 % thresholds, the median
test rel. L2, and failure-mode counts.

Everything here is a pure function of records on disk, except :func:`relabel_dir`, which
rewrites the labels of records atomically.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .labels import label_record, landscape_family
from .record import RecordError, read_record, write_record

__all__ = ["find_records", "regime_map", "relabel_dir", "REGIME_ORDER",
           "map_path", "is_map_file"]

# `bench regimes` writes its map beside the records it summarises, under this prefix; the
# leaderboard's loader passes over these files (they are summaries, not run records).
MAP_FILE_PREFIX = "regimes-"


def map_path(runs: Path, problem: str, solver: str) -> Path:
    """Where `bench regimes` writes a map by default: ``<runs>/regimes-<problem>-<solver>.json``."""
    return Path(runs) / f"{MAP_FILE_PREFIX}{problem}-{solver}.json"


def is_map_file(path: Path, runs: Path) -> bool:
    """Whether ``path`` is a map written by `bench regimes` at its default place in ``runs``."""
    return Path(path).parent == Path(runs) and Path(path).name.startswith(MAP_FILE_PREFIX)

REGIME_ORDER = ("I", "I*", "III", "II", "none")


def find_records(root: Path) -> Iterable[tuple[Path, dict]]:
    """Every readable record under ``root`` (unreadable files are skipped silently: a sweep
    may be writing next to us, and records are written atomically)."""
    for path in sorted(Path(root).rglob("seed-*.json")):
        try:
            yield path, read_record(path)
        except RecordError:
            continue


def _select(records: Iterable[dict], problem: str, solver: str | None, task: str | None,
            budget: str | None) -> list[dict]:
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
        out.append(rec)
    return out


def _cell_value(rec: Mapping, name: str, default: Any) -> Any:
    cell = rec.get("cell") or {}
    if name in cell:
        return cell[name]
    return default


def regime_map(records: Iterable[dict], *, problem: str, difficulty: str, data: str,
               canonical_difficulty: Any = None, canonical_data: Any = None,
               solver: str | None = None, task: str | None = None,
               budget: str | None = None) -> dict[str, Any]:
    """The map of ``records`` (already loaded) as a JSON-ready dict.

    ``difficulty``/``data`` name the axes (the problem's); records without a value in their cell
    take the canonical one (plain ``bench run`` records). Several budgets or solvers must not be
    mixed in one map: pass ``solver``/``budget`` to select, or the map fails loudly.
    """
    recs = _select(records, problem, solver, task, budget)
    keys = {(r["spec"]["solver"], r["spec"]["config_hash"], r["spec"]["task"], r["spec"]["budget"])
            for r in recs}
    if len(keys) > 1:
        raise ValueError("records of several solver configurations, tasks or budgets match: "
                         + "; ".join(f"{s}@{h}/{t}/{b}" for s, h, t, b in sorted(keys))
                         + " (select one with --solver/--task/--budget)")
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for r in recs:
        dv = _cell_value(r, difficulty, (r["spec"].get("params") or {}).get(difficulty,
                                                                        canonical_difficulty))
        nv = _cell_value(r, data, (r["spec"].get("sizes") or {}).get(data, canonical_data))
        cells[(dv, nv)].append(r)
    out_cells = []
    for (dv, nv), rs in sorted(cells.items(), key=lambda kv: (float(kv[0][0]), float(kv[0][1]))):
        labels = [r.get("labels", {}) for r in rs]
        counts = Counter(lb.get("regime", "none") for lb in labels)
        majority = max(REGIME_ORDER, key=lambda k: (counts.get(k, 0), -REGIME_ORDER.index(k)))
        stab = [lb["regime_stability"] for lb in labels if lb.get("regime_stability") is not None]
        errs = [r.get("metrics", {}).get("rel_l2") for r in rs]
        errs = [e if (e is not None and r.get("status") == "ok") else math.inf
                for e, r in zip(errs, rs)]  # failures count as the worst error, never dropped
        modes = Counter(m for lb in labels for m in lb.get("failure_modes", []))
        med = statistics.median(errs)
        out_cells.append({
            difficulty: dv, data: nv, "seeds": len(rs), "majority": majority,
            "agreement": counts[majority] / len(rs), "counts": dict(counts),
            "stability": statistics.fmean(stab) if stab else None,
            "median_rel_l2": med if math.isfinite(med) else None,
            "failure_modes": dict(modes),
            "commands": sorted({(r.get("provenance") or {}).get("command") or "" for r in rs}),
        })
    (solver_name, config_hash, task_name, budget_name), = keys or {(solver, None, task, budget)}
    return {
        "schema_version": 1, "problem": problem, "task": task_name, "solver": solver_name,
        "config_hash": config_hash, "budget": budget_name,
        "axes": {"difficulty": difficulty, "data": data},
        "difficulty_values": sorted({c[difficulty] for c in out_cells}, key=float),
        "data_values": sorted({c[data] for c in out_cells}, key=float),
        "cells": out_cells,
    }


def _family_key(rec: Mapping) -> tuple:
    s = rec["spec"]
    return (s["problem"], s["problem_version"], s["task"], s["solver"], s["config_hash"],
            s["budget"])


def relabel_dir(root: Path, thresholds_of) -> int:
    """Recompute the labels of every record under ``root`` and rewrite them atomically.

    ``thresholds_of(problem, task)`` returns the task's current
    :class:`~regimebench.problem.Thresholds`. Landscape labels use the family of all records of
    the same (problem@version, task, solver@hash, budget) under ``root``. Returns the number of
    records rewritten (records whose labels did not change are left untouched).
    """
    found = list(find_records(root))
    families: dict[tuple, list[dict]] = defaultdict(list)
    for _, rec in found:
        families[_family_key(rec)].append(rec)
    fam = {k: landscape_family(v) for k, v in families.items()}
    changed = 0
    for path, rec in found:
        spec = rec["spec"]
        labels = label_record(rec, thresholds_of(spec["problem"], spec["task"]),
                              fam[_family_key(rec)])
        if json.dumps(labels, sort_keys=True, default=str) != json.dumps(
                rec.get("labels"), sort_keys=True, default=str):
            rec["labels"] = labels
            write_record(path, rec)
            changed += 1
    return changed
