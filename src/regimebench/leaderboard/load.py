"""Stage 1 of the site build: find and read run records, skipping what cannot be read.

A results folder may hold records written by any version of regimebench, partial sweeps, and the
odd corrupt file (a disk filled up mid-copy, a hand edit). The leaderboard never crashes on
those: :func:`load_runs` reads every ``*.json`` below the folder, keeps the valid records and
returns one warning line per file it skipped, which ``bench leaderboard build`` prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..record import RecordError, read_record
from ..regime_map import is_map_file

__all__ = ["Loaded", "load_runs"]


@dataclass(frozen=True)
class Loaded:
    """One readable record and where it came from (``relpath`` is relative to the runs folder)."""

    record: dict[str, Any]
    relpath: str


def _check(rec: dict[str, Any]) -> str | None:
    """Why ``rec`` cannot be aggregated, or ``None``: only the fields grouping needs are required."""
    spec = rec.get("spec")
    if not isinstance(spec, dict):
        return "'spec' is not an object"
    for key in ("problem", "task", "solver", "budget", "seed"):
        if key not in spec:
            return f"spec has no {key!r}"
    if not isinstance(spec["seed"], int):
        return "spec.seed is not an integer"
    for key in ("metrics", "curves", "labels", "timing", "provenance", "diagnostics"):
        if rec.get(key) is not None and not isinstance(rec[key], dict):
            return f"{key!r} is not an object"
    return None


def load_runs(root: Path) -> tuple[list[Loaded], list[str]]:
    """All valid records under ``root`` (sorted by path) and warnings for the files skipped.

    A missing folder is not an error: the site then shows every problem with "no runs yet".
    """
    root = Path(root)
    loaded: list[Loaded] = []
    warnings: list[str] = []
    if not root.is_dir():
        return loaded, [f"runs folder {root} does not exist; building a site with no runs"]
    for path in sorted(root.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # temporary files of an interrupted atomic write
        if is_map_file(path, root):
            continue  # a regime map written by `bench regimes`; the site draws its own
        try:
            rec = read_record(path)
        except RecordError as e:
            warnings.append(f"skipped {e}")
            continue
        problem = _check(rec)
        if problem:
            warnings.append(f"skipped {path}: {problem}")
            continue
        loaded.append(Loaded(rec, path.relative_to(root).as_posix()))
    return loaded, warnings


def finite(x: Any) -> float | None:
    """``x`` as a float if it is a finite number, else ``None`` (records store NaN as null)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None
