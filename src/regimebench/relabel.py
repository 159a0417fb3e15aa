"""Recompute the labels of stored records, per group, and rewrite the ones that change.

Labels are a pure function of a group's records and the task's thresholds
(:func:`regimebench.labels.label_group`). Two callers use it, identically:

* the runner, when a run ends: :func:`relabel_group` on the group the run wrote into, so the
  landscape labels see every seed of the group on disk (earlier runs' seeds included);
* ``bench relabel``: :func:`relabel_dir` on a whole results folder, after thresholds or rules
  change.

Records whose labels do not change are left untouched; the others are rewritten atomically.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .labels import label_group
from .record import RecordError, group_key, iter_records, read_record, write_record

__all__ = ["relabel_records", "relabel_group", "relabel_dir"]

ThresholdsOf = Callable[[str, str], Any]  # (problem, task) -> Thresholds


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def relabel_records(found: Iterable[tuple[Path, dict[str, Any]]],
                    thresholds_of: ThresholdsOf) -> int:
    """Relabel ``(path, record)`` pairs group by group; returns the number of records rewritten.

    Pass every record of each group (a group's landscape family is the records given).
    """
    groups: dict[Any, list[tuple[Path, dict]]] = defaultdict(list)
    for path, rec in found:
        groups[group_key(rec)].append((path, rec))
    changed = 0
    for key, members in groups.items():
        labels = label_group([rec for _, rec in members], thresholds_of(key.problem, key.task))
        for (path, rec), new in zip(members, labels):
            new = json.loads(json.dumps(new, default=str))  # enums → their values, as stored
            if not _same(new, rec.get("labels")):
                rec["labels"] = new
                write_record(path, rec)
                changed += 1
    return changed


def relabel_group(record_path: Path, thresholds) -> int:
    """Relabel the group of the record at ``record_path``: every ``seed-*.json`` beside it with
    the same group key (what the runner calls when a run ends). Returns records rewritten."""
    record_path = Path(record_path)
    key = group_key(read_record(record_path))
    found = []
    for path in sorted(record_path.parent.glob("seed-*.json")):
        try:
            rec = read_record(path, follow_symlinks=False)  # never a link, a FIFO or a device
        except RecordError:
            continue  # `bench doctor` reports it; a corrupt neighbour must not stop the run
        if group_key(rec) == key:
            found.append((path, rec))
    return relabel_records(found, lambda problem, task: thresholds)


def relabel_dir(root: Path, thresholds_of: ThresholdsOf,
                warn: Callable[[str], None] | None = None) -> int:
    """Relabel every record under ``root`` (:func:`~regimebench.record.iter_records`), per group.

    ``thresholds_of(problem, task)`` returns the task's current
    :class:`~regimebench.problem.Thresholds`. Files that are not valid records (corrupt,
    duplicates, links, FIFOs: never opened) are skipped and passed to ``warn``, one line each
    (``bench doctor`` reports them too). Returns the number of records rewritten.
    """
    found = []
    for p, r in iter_records(root):
        if not isinstance(r, RecordError):
            found.append((p, r))
        elif warn is not None:
            warn(f"skipped {r}")
    return relabel_records(found, thresholds_of)
