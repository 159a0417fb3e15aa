"""Stage 1 of the site build: find and read run records, skipping what cannot be read.

A results folder may hold records written by any version of regimebench, partial sweeps,
regime maps and the odd corrupt file (a disk filled up mid-copy, a hand edit). The leaderboard
never crashes on those: :func:`load_runs` reads the folder with the one record loader,
:func:`regimebench.record.iter_records` (same rule as every other reader: hidden folders and
temporary files are not read, regime maps are passed over, anything that is not a valid record
is reported), keeps the valid records and returns one warning line per file it skipped, which
``bench leaderboard build`` prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..record import RecordError, iter_records

__all__ = ["Loaded", "load_runs", "finite"]


@dataclass(frozen=True)
class Loaded:
    """One readable record and where it came from (``relpath`` is relative to the runs folder)."""

    record: dict[str, Any]
    relpath: str


def load_runs(root: Path) -> tuple[list[Loaded], list[str]]:
    """All valid records under ``root`` (sorted by path) and warnings for the files skipped.

    A missing folder is not an error: the site then shows every problem with "no runs yet".
    """
    root = Path(root)
    if not root.is_dir():
        return [], [f"runs folder {root} does not exist; building a site with no runs"]
    loaded: list[Loaded] = []
    warnings: list[str] = []
    for path, rec in iter_records(root):
        if isinstance(rec, RecordError):
            warnings.append(f"skipped {rec}")
            continue
        loaded.append(Loaded(rec, path.relative_to(root).as_posix()))
    return loaded, warnings


def finite(x: Any) -> float | None:
    """``x`` as a float if it is a finite number, else ``None`` (records store NaN as null)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None
