"""The rows of the CLI's tables, computed from :mod:`regimebench.stats`.

The CLI only lays these out (``rich``); the values — every median, interval and majority regime
— come from the same :func:`~regimebench.stats.group_stats` as the regime-map JSON and the site,
so all of them print the same numbers (``tests/test_one_definition.py`` checks it over the
committed official records).

* :func:`run_table` — ``bench run`` / ``bench batch``: one row per seed, then summary rows
  (median with the ok count and the majority regime; the median's interval with its coverage).
* :func:`regime_grid` — ``bench regimes``: the (data × difficulty) grid of a regime map.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .record import group_key
from .stats import GroupStats, group_stats

__all__ = ["Table", "run_table", "regime_grid", "fmt_number"]


def fmt_number(x: Any, spec: str = ".3e") -> str:
    """A number as the CLI prints it: ``—`` when missing, ``failed (∞)`` for +∞ errors."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "failed (∞)" if x > 0 else "—"
    return format(x, spec)


@dataclass(frozen=True)
class Table:
    """A table to print: title, column names (``right`` ones right-aligned), body rows and
    summary rows (printed after a separator). Cells are strings, exactly as printed."""

    title: str
    columns: tuple[str, ...]
    right: frozenset[str]
    rows: tuple[tuple[str, ...], ...]
    summary: tuple[tuple[str, ...], ...] = ()
    stats: GroupStats | None = None


RUN_COLUMNS = ("seed", "rel. L2", "final loss", "status", "regime", "failure modes", "seconds")


def _target(records: Sequence[Mapping[str, Any]]) -> float | None:
    for r in records:
        value = ((r.get("labels") or {}).get("thresholds") or {}).get("target")
        if value is not None:
            return float(value)
    return None


def run_table(records: Sequence[Mapping[str, Any]]) -> Table:
    """``bench run``'s table of one group's records (empty dicts — seeds without a record — are
    left out). Raises ``ValueError`` for records of several groups."""
    records = [r for r in records if r]
    if not records:
        raise ValueError("no records to tabulate")
    keys = {group_key(r) for r in records}
    if len(keys) > 1:
        raise ValueError("run_table needs the records of one group, got "
                         + "; ".join(map(str, sorted(keys))))
    spec = records[0]["spec"]
    cell = next(iter(keys)).cell
    title = (f"{spec['problem']}@v{spec['problem_version']} / {spec['task']} / "
             f"{spec['solver']}@{spec['config_hash']} / {spec['budget']}"
             + (f" / {cell}" if cell else "") + f" ({spec['evals']} gradient evaluations)")
    rows = []
    for rec in sorted(records, key=lambda r: r["spec"]["seed"]):
        m, labels = rec.get("metrics") or {}, rec.get("labels") or {}
        rows.append((str(rec["spec"]["seed"]), fmt_number(m.get("rel_l2")),
                     fmt_number(m.get("loss")), str(rec.get("status", "?")),
                     str(labels.get("regime", "—")),
                     ", ".join(map(str, labels.get("failure_modes") or [])) or "—",
                     fmt_number((rec.get("timing") or {}).get("seed_wall_s"), ".1f")))
    st = group_stats(records, _target(records))
    iv = st.interval
    interval = ("—" if not iv.exists
                else f"{fmt_number(iv.low)} – {fmt_number(iv.high)}")
    summary = (
        ("median", fmt_number(st.median), "", f"{st.ok}/{st.n} ok", st.majority.label,
         f"majority {st.majority.count}/{st.n}", ""),
        ("interval", interval, "", iv.label, "", "", ""),
    )
    return Table(title, RUN_COLUMNS, frozenset({"seed", "rel. L2", "final loss", "regime",
                                                "seconds"}), tuple(rows), summary, st)


def regime_grid(regime_map: Mapping[str, Any]) -> Table:
    """``bench regimes``' grid of a map from :func:`regimebench.regime_map.regime_map`: rows are
    data counts (growing upward, as in the paper's plots), columns difficulty values; a cell
    reads ``"<majority> <agree>/<seeds> s<stability>"`` over ``"L2 <median>"``; ``·`` where no
    run exists."""
    m = regime_map
    d, n = m["axes"]["difficulty"], m["axes"]["data"]
    title = (f"Regime map: {m['problem']}/{m['task']} / {m['solver']}@{m['config_hash']} / "
             f"{m['budget']}  (rows: {n}, columns: {d}; majority regime, seeds agreeing, mean "
             "±20 % stability, median rel. L2)")

    def value(v: Any) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    columns = (f"{n} \\ {d}", *(value(v) for v in m["difficulty_values"]))
    by = {(c[d], c[n]): c for c in m["cells"]}
    rows = []
    for nv in sorted(m["data_values"], key=float, reverse=True):
        row = [str(nv)]
        for dv in m["difficulty_values"]:
            c = by.get((dv, nv))
            if c is None:
                row.append("·")
                continue
            stab = "—" if c["stability"] is None else f"{c['stability']:.2f}"
            agree = round(c["agreement"] * c["seeds"])
            err = ("failed (∞)" if c["median_rel_l2"] is None else f"{c['median_rel_l2']:.3g}")
            row.append(f"{c['majority']} {agree}/{c['seeds']} s{stab}\nL2 {err}")
        rows.append(tuple(row))
    return Table(title, columns, frozenset(columns[1:]), tuple(rows))
