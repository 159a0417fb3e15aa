"""Vega-Lite specifications of the site's charts, as plain dictionaries.

Specs are data: tests assert on them without a browser, and the pages embed them as
``<script type="application/json">`` blocks that ``static/charts.js`` hands to the vendored
``vegaEmbed`` (SVG renderer, no actions menu, so nothing links off-site). Data is always inline,
which is what makes the pages work from ``file://`` (a ``fetch`` of a sibling file is blocked
there). Every function returns ``None`` when it has nothing to draw, and templates skip it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..outcomes import Regime
from .aggregate import Group
from .load import finite

__all__ = ["pareto", "seed_curves", "failure_bars", "regime_map", "landscape_slice",
           "REGIME_COLOURS", "TIE_COLOUR"]

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier; never fetched
REGIME_COLOURS: dict[Regime, str] = {
    Regime.WELL: "#2e7d32", Regime.WELL_HIGH_LOSS: "#9ccc65", Regime.UNDER: "#f9a825",
    Regime.OVER: "#c62828", Regime.NONE: "#757575"}
TIE_COLOUR = "#ffffff"  # a tied cell is drawn blank, with its "tie: I / III" label
_TIE = "tie"
_REGIME_SCALE = {"domain": [r.value for r in Regime] + [_TIE],
                 "range": [REGIME_COLOURS[r] for r in Regime] + [TIE_COLOUR]}


def _base(title: str, width: int = 480, height: int = 280) -> dict[str, Any]:
    return {"$schema": SCHEMA, "title": title, "width": width, "height": height,
            "config": {"font": "system-ui, sans-serif"}}


def pareto(groups: Sequence[Group], hrefs: Mapping[tuple, str], title: str) -> dict | None:
    """Median rel. L2 (with IQR bars) against device-seconds, one point per group.

    Groups whose median is +∞ (most seeds failed) cannot be placed on a log axis; the page lists
    them in the ranking table, and the chart's subtitle says how many were left out.
    """
    rows, left_out = [], 0
    for g in groups:
        if math.isinf(g.median) or math.isnan(g.median) or g.device_seconds <= 0:
            left_out += 1
            continue
        rows.append({
            "solver": g.solver, "tier": g.tier, "device": ", ".join(g.devices),
            "seconds": g.device_seconds, "rel_l2": g.median,
            "q25": g.q25, "q75": g.q75 if math.isfinite(g.q75) else None,
            "seeds": f"{g.n - g.failed}/{g.n} finite", "href": hrefs[g.key],
        })
    if not rows:
        return None
    spec = _base(title)
    if left_out:
        spec["title"] = {"text": title,
                         "subtitle": f"{left_out} entr{'y' if left_out == 1 else 'ies'} with a "
                                     "failed (+∞) median or no timing not plotted"}
    x = {"field": "seconds", "type": "quantitative", "scale": {"type": "log"},
         "title": "device-seconds (sum over seeds)"}
    y = {"field": "rel_l2", "type": "quantitative", "scale": {"type": "log"},
         "title": "median rel. L2 (bars: IQR)"}
    spec["data"] = {"values": rows}
    spec["layer"] = [
        {"mark": {"type": "rule"}, "transform": [{"filter": "datum.q75 != null"}],
         "encoding": {"x": x, "y": {**y, "field": "q25"}, "y2": {"field": "q75"},
                      "color": {"field": "solver", "type": "nominal"}}},
        {"mark": {"type": "point", "filled": True, "size": 90, "cursor": "pointer"},
         "encoding": {"x": x, "y": y, "color": {"field": "solver", "type": "nominal"},
                      "shape": {"field": "tier", "type": "nominal"},
                      "href": {"field": "href"},
                      "tooltip": [{"field": "solver"}, {"field": "tier"}, {"field": "device"},
                                  {"field": "rel_l2", "format": ".3e"},
                                  {"field": "seconds", "format": ".1f"}, {"field": "seeds"}]}},
    ]
    return spec


def _curve_rows(seeds: Iterable[Any], keys: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for s in seeds:
        curves = s.record.get("curves") or {}
        evals = curves.get("evals") or []
        for key in keys:
            for n, v in zip(evals, curves.get(key) or []):
                n, v = finite(n), finite(v)
                if n is not None and v is not None and v > 0:
                    rows.append({"evals": n, "value": v, "seed": f"seed {s.seed}", "curve": key})
    return rows


def seed_curves(seeds: Sequence[Any], kind: str, target: float | None = None) -> dict | None:
    """Per-seed training curves of one kind: ``loss`` (every ``loss*`` term), ``rel_l2``, ``snr``.

    Curve names are read from the records, so new terms and diagnostics curves appear without a
    change here. Non-finite and non-positive points are skipped (log axis).
    """
    names: list[str] = []
    for s in seeds:
        for k in (s.record.get("curves") or {}):
            if k != "evals" and k.startswith(kind) and k not in names:
                names.append(k)
    rows = _curve_rows(seeds, names)
    if not rows:
        return None
    titles = {"loss": "training loss terms", "rel_l2": "rel. L2 error during training",
              "snr": "gradient signal-to-noise ratio"}
    spec = _base(titles.get(kind, kind))
    spec["data"] = {"values": rows}
    line = {"mark": {"type": "line", "point": False, "clip": True},
            "encoding": {
                "x": {"field": "evals", "type": "quantitative", "title": "gradient evaluations"},
                "y": {"field": "value", "type": "quantitative", "scale": {"type": "log"},
                      "title": kind},
                "color": {"field": "curve" if len(names) > 1 else "seed", "type": "nominal"},
                "detail": {"field": "seed"},
                "strokeDash": {"field": "seed", "type": "nominal"} if len(names) > 1 else
                {"value": [1, 0]},
                "tooltip": [{"field": "seed"}, {"field": "curve"}, {"field": "evals"},
                            {"field": "value", "format": ".3e"}]}}
    if kind == "rel_l2" and target:
        spec["layer"] = [line, {"mark": {"type": "rule", "strokeDash": [4, 4], "color": "#555"},
                                "data": {"values": [{"target": target}]},
                                "encoding": {"y": {"field": "target", "type": "quantitative"}}}]
    else:
        spec.update(line)
    return spec


def failure_bars(groups: Sequence[Group], title: str) -> dict | None:
    """Stacked bars: failure-mode counts per entry (seeds, over all tiers and cells shown)."""
    rows = [{"entry": f"{g.solver} ({g.tier})", "mode": mode, "seeds": n}
            for g in groups for mode, n in g.failure_modes.items()]
    if not rows:
        return None
    spec = _base(title, height=200)
    spec["data"] = {"values": rows}
    spec["mark"] = "bar"
    spec["encoding"] = {
        "x": {"field": "entry", "type": "nominal", "title": None},
        "y": {"field": "seeds", "type": "quantitative", "aggregate": "sum", "title": "seeds"},
        "color": {"field": "mode", "type": "nominal", "title": "failure mode"},
        "tooltip": [{"field": "entry"}, {"field": "mode"}, {"field": "seeds"}]}
    return spec


def regime_map(groups: Sequence[Group], x_axis: str, y_axis: str, title: str) -> dict | None:
    """Heatmap over two cell axes: colour = majority regime, opacity = its share of seeds, and
    the majority's label written in the cell.

    The majority is :func:`regimebench.stats.majority_regime`'s, as in ``bench regimes``: a tie
    is drawn blank and labelled ``"tie: I / III"``, never broken. Uses groups whose ``cell`` sets
    ``x_axis`` and/or ``y_axis`` (a missing axis takes the value ``canonical``). Returns ``None``
    if fewer than two cells exist.
    """
    rows = []
    for g in groups:
        if not g.cell or not (x_axis in g.cell or y_axis in g.cell):
            continue
        maj = g.majority
        rows.append({"x": _axis_value(g.cell.get(x_axis, "canonical")),
                     "y": _axis_value(g.cell.get(y_axis, "canonical")),
                     "regime": _TIE if maj.is_tie else maj.label, "label": maj.label,
                     "share": maj.agreement, "seeds": g.n})
    if len(rows) < 2:
        return None
    spec = _base(title, width=320, height=240)
    spec["data"] = {"values": rows}
    x = {"field": "x", "type": "ordinal", "title": x_axis, "sort": None}
    y = {"field": "y", "type": "ordinal", "title": y_axis, "sort": None}
    spec["layer"] = [
        {"mark": {"type": "rect", "stroke": "#999"},
         "encoding": {
             "x": x, "y": y,
             "color": {"field": "regime", "type": "nominal", "scale": _REGIME_SCALE,
                       "title": "majority regime"},
             "opacity": {"field": "share", "type": "quantitative", "scale": {"domain": [0, 1]}},
             "tooltip": [{"field": "x", "title": x_axis}, {"field": "y", "title": y_axis},
                         {"field": "label", "title": "majority"},
                         {"field": "share", "format": ".0%", "title": "agreement"},
                         {"field": "seeds"}]}},
        {"mark": {"type": "text"}, "encoding": {"x": x, "y": y, "text": {"field": "label"}}},
    ]
    return spec


def _axis_value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


_SLICE_X = ("alpha", "alphas", "t", "offsets", "x")


def landscape_slice(seeds: Sequence[Any]) -> dict | None:
    """1-D loss-landscape slices from ``diagnostics.slices`` when records carry them.

    Accepts, per seed, a mapping with one abscissa list (``alpha``, ``t``, ``offsets`` or ``x``)
    and one or more ordinate lists of the same length (e.g. ``loss``); other shapes are ignored,
    so a diagnostics format this page does not know yet is skipped rather than misdrawn.
    """
    rows = []
    for s in seeds:
        sl = (s.record.get("diagnostics") or {}).get("slices")
        if not isinstance(sl, Mapping):
            continue
        xs = next((sl[k] for k in _SLICE_X if isinstance(sl.get(k), list)), None)
        if not xs:
            continue
        for name, ys in sl.items():
            if name in _SLICE_X or not isinstance(ys, list) or len(ys) != len(xs):
                continue
            for a, v in zip(xs, ys):
                a, v = finite(a), finite(v)
                if a is not None and v is not None:
                    rows.append({"alpha": a, "value": v, "seed": f"seed {s.seed}", "curve": name})
    if not rows:
        return None
    spec = _base("loss-landscape slice (filter-normalised direction)")
    spec["data"] = {"values": rows}
    spec["mark"] = "line"
    spec["encoding"] = {
        "x": {"field": "alpha", "type": "quantitative", "title": "step along direction"},
        "y": {"field": "value", "type": "quantitative", "scale": {"type": "symlog"}},
        "color": {"field": "seed", "type": "nominal"},
        "strokeDash": {"field": "curve", "type": "nominal"}}
    return spec
