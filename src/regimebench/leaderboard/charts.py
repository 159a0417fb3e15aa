"""Vega-Lite specifications of the site's charts, as plain dictionaries.

Specs are data: tests assert on them without a browser, and the pages embed them as
``<script type="application/json">`` blocks that ``static/charts.js`` hands to the vendored
``vegaEmbed`` (SVG renderer, no actions menu, so nothing links off-site). Data is always inline,
which is what makes the pages work from ``file://`` (a ``fetch`` of a sibling file is blocked
there). Every function returns ``None`` when it has nothing to draw, and templates skip it.

Encodings shared by every chart: an entry has one colour and point shape on the whole site
(:func:`~regimebench.leaderboard.palette.solver_styles`), and its name is in the legend and
tooltip; a regime is written as its label (``I``, ``tie: I / III``) on top of its colour. Each
chart shows one budget and either the canonical setting or one regime map, never both pooled.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .. import stats
from ..outcomes import FailureMode, Regime
from .aggregate import Group
from .load import finite
from .palette import NO_RUNS_COLOUR, REGIME_COLOURS, TIE_COLOUR, Style

__all__ = ["cost_chart", "error_curves", "failure_heatmap", "regime_bars", "regime_map",
           "seed_curves", "landscape_slice", "hessian_spectrum", "entry_labels", "REGIME_COLOURS", "TIE_COLOUR"]

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier; never fetched
_TIE = "tie"
_NO_RUNS = "no runs"
_REGIME_SCALE = {"domain": [r.value for r in Regime] + [_TIE, _NO_RUNS],
                 "range": [REGIME_COLOURS[r] for r in Regime] + [TIE_COLOUR, NO_RUNS_COLOUR]}
_DARK_REGIMES = {Regime.WELL.value, Regime.OVER.value, Regime.NONE.value}  # white text on these
ANY_MODE = "any mode"


def _base(title: str, subtitle: str | None = None, width: int = 460,
          height: int = 260) -> dict[str, Any]:
    spec: dict[str, Any] = {"$schema": SCHEMA, "width": width, "height": height,
                            "title": {"text": title, "anchor": "start"},
                            "config": {"font": "system-ui, sans-serif",
                                       "legend": {"labelLimit": 260}}}
    if subtitle:
        spec["title"]["subtitle"] = subtitle
    return spec


def entry_labels(groups: Sequence[Group]) -> dict[Any, str]:
    """``{group key: label}``: the solver's name, with ``@config-hash`` (and harness) only where
    one chart holds two versions of the same entry."""
    count: dict[str, int] = {}
    for g in groups:
        count[g.solver] = count.get(g.solver, 0) + 1
    out = {}
    for g in groups:
        label = g.solver
        if count[g.solver] > 1:
            label += f"@{g.config_hash}" + (f" (harness {g.harness})" if g.harness != "1" else "")
        out[g.key] = label
    return out


def _entry_scales(groups: Sequence[Group], labels: Mapping[Any, str],
                  styles: Mapping[str, Style]) -> tuple[dict, dict]:
    """Colour and shape scales mapping each entry label to its solver's site-wide style."""
    domain, colours, shapes = [], [], []
    for g in groups:
        if labels[g.key] in domain:
            continue
        style = styles.get(g.solver, Style("#555555", "circle"))
        domain.append(labels[g.key])
        colours.append(style.colour)
        shapes.append(style.shape)
    return {"domain": domain, "range": colours}, {"domain": domain, "range": shapes}


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


# ------------------------------------------------------------------------------ cost
def cost_chart(groups: Sequence[Group], hrefs: Mapping[Any, str], styles: Mapping[str, Style],
               title: str) -> dict | None:
    """Median rel. L2 (bars: the median's interval) against seconds per seed, one point per
    entry of one budget. The x axis is the machine's, so the subtitle names the device(s).

    Entries whose median failed (+∞) or that recorded no time cannot be placed on log axes; the
    subtitle says how many were left out (the ranking table lists them).
    """
    labels = entry_labels(groups)
    rows, left_out, devices = [], 0, set()
    for g in groups:
        if not math.isfinite(g.median) or g.median <= 0 or not g.seconds_per_seed:
            left_out += 1
            continue
        devices.update(g.devices)
        rows.append({
            "entry": labels[g.key], "device": ", ".join(g.devices),
            "seconds": g.seconds_per_seed, "rel_l2": g.median,
            "low": _num(g.interval.low) if g.interval.exists else None,
            "high": _num(g.interval.high) if g.interval.exists else None,
            "interval": g.interval.label, "seeds": f"{g.n - g.failed}/{g.n} finite",
            "href": hrefs[g.key]})
    if not rows:
        return None
    sub = [f"device: {', '.join(sorted(devices))}; seconds per seed = median over seeds, "
           "compilation excluded"]
    if left_out:
        sub.append(f"{left_out} entr{'y' if left_out == 1 else 'ies'} with a failed (+∞) median "
                   "or no timing not plotted")
    spec = _base(title, sub)
    colour, shape = _entry_scales([g for g in groups if labels[g.key] in
                                   {r["entry"] for r in rows}], labels, styles)
    x = {"field": "seconds", "type": "quantitative", "scale": {"type": "log", "nice": False,
         "padding": 12}, "title": "seconds per seed (median)"}
    y = {"field": "rel_l2", "type": "quantitative", "scale": {"type": "log"},
         "title": "median rel. L2 (bars: median interval)"}
    col = {"field": "entry", "type": "nominal", "scale": colour, "title": "entry"}
    spec["data"] = {"values": rows}
    spec["layer"] = [
        {"mark": {"type": "rule"}, "transform": [{"filter": "datum.low != null && "
                                                  "datum.high != null"}],
         "encoding": {"x": x, "y": {**y, "field": "low"}, "y2": {"field": "high"},
                      "color": col}},
        {"mark": {"type": "point", "filled": True, "size": 110, "cursor": "pointer"},
         "encoding": {"x": x, "y": y, "color": col,
                      "shape": {"field": "entry", "type": "nominal", "scale": shape,
                                "legend": None},
                      "href": {"field": "href"},
                      "tooltip": [{"field": "entry"}, {"field": "device"},
                                  {"field": "rel_l2", "format": ".3e", "title": "median rel. L2"},
                                  {"field": "interval"},
                                  {"field": "seconds", "format": ".1f",
                                   "title": "seconds per seed"}, {"field": "seeds"}]}},
    ]
    return spec


def _median_curve(g: Group) -> list[tuple[float, float]]:
    """(evaluations, median over seeds of rel. L2) at each logged point the seeds share.

    A seed with no finite value at a point (failed, or not logged) counts as +∞ there, as in
    every statistic; points whose median is +∞ are dropped (log axis)."""
    curves = [(s.record.get("curves") or {}) for s in g.seeds]
    grid = next((c.get("evals") for c in curves if c.get("evals")), None) or []
    out = []
    for i, n in enumerate(grid):
        n = finite(n)
        if n is None:
            continue
        values = []
        for c in curves:
            ev, err = c.get("evals") or [], c.get("rel_l2") or []
            v = finite(err[i]) if i < len(err) and i < len(ev) and finite(ev[i]) == n else None
            values.append(v if v is not None and v >= 0 else math.inf)
        m = stats.median(values)
        if math.isfinite(m) and m > 0:
            out.append((n, m))
    return out


def error_curves(groups: Sequence[Group], hrefs: Mapping[Any, str], styles: Mapping[str, Style],
                 title: str, target: float | None = None) -> dict | None:
    """Median over seeds of the rel. L2 curve against gradient-evaluation equivalents spent, one
    line per entry of one budget: the error each method buys per unit of budget."""
    labels = entry_labels(groups)
    rows, drawn = [], []
    for g in groups:
        pts = _median_curve(g)
        if pts:
            drawn.append(g)
        rows += [{"entry": labels[g.key], "evals": n, "rel_l2": v, "href": hrefs[g.key]}
                 for n, v in pts]
    if not rows:
        return None
    spec = _base(title, "median over seeds at each logged point (a failed seed counts as +∞); "
                        "dashed: the task's target")
    colour, _ = _entry_scales(drawn, labels, styles)
    line = {"mark": {"type": "line", "clip": True, "strokeWidth": 2},
            "encoding": {
                "x": {"field": "evals", "type": "quantitative",
                      "title": "gradient-evaluation equivalents spent"},
                "y": {"field": "rel_l2", "type": "quantitative", "scale": {"type": "log"},
                      "title": "median rel. L2"},
                "color": {"field": "entry", "type": "nominal", "scale": colour, "title": "entry"},
                "tooltip": [{"field": "entry"}, {"field": "evals", "title": "equivalents"},
                            {"field": "rel_l2", "format": ".3e", "title": "median rel. L2"}]}}
    spec["data"] = {"values": rows}
    spec["layer"] = [line]
    if target:
        spec["layer"].append({"mark": {"type": "rule", "strokeDash": [4, 4], "color": "#555"},
                              "data": {"values": [{"target": target}]},
                              "encoding": {"y": {"field": "target", "type": "quantitative"}}})
    return spec


# ------------------------------------------------------------------------------ failures
def _mode_order(modes: Iterable[str]) -> list[str]:
    declared = [m.value for m in FailureMode]
    present = set(modes)
    return ([m for m in declared if m in present]
            + sorted(m for m in present if m not in declared))


def failure_heatmap(groups: Sequence[Group], hrefs: Mapping[Any, str], title: str) -> dict | None:
    """Seeds with each failure mode, per entry of one budget and setting: ``k/n`` in every cell,
    ``0/n`` written out where no seed has the mode (an entry without failures is a row of
    zeros, not a missing row). A seed may have several modes, so rows do not add up; the first
    column counts seeds with at least one."""
    if not groups:
        return None
    labels = entry_labels(groups)
    modes = _mode_order(m for g in groups for m in g.failure_modes)
    rows = []
    for g in groups:
        anyk = sum(1 for s in g.seeds if s.failure_modes)
        for mode in [ANY_MODE, *modes]:
            k = anyk if mode == ANY_MODE else g.failure_modes.get(mode, 0)
            share = k / g.n if g.n else 0.0
            rows.append({"entry": labels[g.key], "mode": mode, "k": k, "n": g.n,
                         "share": share, "fill": _shade(share), "text": f"{k}/{g.n}",
                         "href": hrefs[g.key]})
    sub = "seeds (not seed × mode pairs) with each mode; 0/n: checked, none"
    if not modes:
        sub = "no seed of any entry has a failure mode"
    spec = _base(title, sub, width=max(90, 92 * (len(modes) + 1)),
                 height=max(40, 26 * len(groups)))
    x = {"field": "mode", "type": "nominal", "sort": [ANY_MODE, *modes], "title": None,
         "axis": {"orient": "top", "labelAngle": -30, "labelLimit": 180}}
    y = {"field": "entry", "type": "nominal", "sort": None, "title": None,
         "axis": {"labelLimit": 220}}
    spec["data"] = {"values": rows}
    spec["layer"] = [
        {"mark": {"type": "rect", "stroke": "#ccc", "cursor": "pointer"},
         "encoding": {"x": x, "y": y, "href": {"field": "href"},
                      # the fill is computed here, so that 0 seeds is exactly white
                      "color": {"field": "fill", "type": "nominal", "scale": None,
                                "legend": None},
                      "tooltip": [{"field": "entry"}, {"field": "mode"},
                                  {"field": "text", "title": "seeds"}]}},
        {"mark": {"type": "text", "fontSize": 12},
         "encoding": {"x": x, "y": y, "text": {"field": "text"},
                      "color": {"condition": {"test": "datum.share > 0.55", "value": "white"},
                                "value": "black"}}},
    ]
    return spec


def _shade(share: float) -> str:
    """White (no seed) to red (every seed), linearly in RGB."""
    lo, hi = (255, 255, 255), (179, 38, 30)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(lo, hi))


# ------------------------------------------------------------------------------ regimes
def regime_bars(groups: Sequence[Group], hrefs: Mapping[Any, str], title: str) -> dict | None:
    """Seeds per regime for each entry of one budget and setting, as stacked bars with the
    regime written in each segment and the majority (or the tie) at the end of the bar."""
    if not groups:
        return None
    labels = entry_labels(groups)
    rows = []
    for g in groups:
        start = 0
        for r in Regime:
            k = g.regimes.get(r, 0)
            if not k:
                continue
            rows.append({"entry": labels[g.key], "regime": r.value, "k": k, "n": g.n,
                         "x0": start, "x1": start + k, "mid": start + k / 2,
                         "text": f"{r.value} ×{k}", "majority": g.majority.label,
                         "dark": r.value in _DARK_REGIMES, "href": hrefs[g.key]})
            start += k
    n_max = max(g.n for g in groups)
    spec = _base(title, "seeds per regime; at the end of each bar: the majority regime "
                        "(a tie is shown as a tie)", width=380, height=max(40, 28 * len(groups)))
    y = {"field": "entry", "type": "nominal", "sort": None, "title": None,
         "axis": {"labelLimit": 220}}
    xs = {"domain": [0, n_max * 1.45]}
    spec["data"] = {"values": rows}
    spec["layer"] = [
        {"mark": {"type": "bar", "stroke": "white", "cursor": "pointer"},
         "encoding": {"y": y,
                      "x": {"field": "x0", "type": "quantitative", "title": "seeds", "scale": xs,
                            "axis": {"tickMinStep": 1, "values": list(range(n_max + 1))}},
                      "x2": {"field": "x1"}, "href": {"field": "href"},
                      "color": {"field": "regime", "type": "nominal", "scale": _REGIME_SCALE,
                                "legend": None},
                      "tooltip": [{"field": "entry"}, {"field": "regime"},
                                  {"field": "k", "title": "seeds"}, {"field": "n", "title": "of"},
                                  {"field": "majority"}]}},
        {"mark": {"type": "text", "fontSize": 11},
         "encoding": {"y": y, "x": {"field": "mid", "type": "quantitative", "scale": xs},
                      "text": {"field": "text"},
                      "color": {"condition": {"test": "datum.dark", "value": "white"},
                                "value": "black"}}},
        {"transform": [{"aggregate": [{"op": "max", "field": "x1", "as": "end"}],
                        "groupby": ["entry", "majority"]}],
         "mark": {"type": "text", "align": "left", "dx": 6, "fontWeight": "bold"},
         "encoding": {"y": y, "x": {"field": "end", "type": "quantitative", "scale": xs},
                      "text": {"field": "majority"}}},
    ]
    return spec


def regime_map(groups: Sequence[Group], difficulty: Any, data: Any, title: str,
               hrefs: Mapping[Any, str] | None = None) -> dict | None:
    """Heatmap of one entry's regime map at one budget over the task's *declared* grid.

    Every declared (difficulty, data) cell is drawn: a cell with runs shows its majority regime
    (:func:`regimebench.stats.majority_regime`, as in ``bench regimes``: a tie is drawn blank and
    labelled ``"tie: I / III"``, never broken) as colour *and* label, with ``k/n`` seeds agreeing;
    a declared cell without runs is grey and says so; the canonical cell is outlined. Each cell is
    one group: the canonical-setting runs are never pooled into it.

    Arguments:
        groups: the regime-map groups (non-empty ``cell``) of one entry and budget.
        difficulty, data: the task's :class:`~regimebench.problem.Axis` objects (``name``,
            ``values``, ``canonical``).
    """
    hrefs = hrefs or {}
    xs = [_axis_value(v) for v in difficulty.values]
    ys = [_axis_value(v) for v in data.values]
    by_cell: dict[tuple[str, str], Group] = {}
    for g in groups:
        if not g.cell or not (difficulty.name in g.cell or data.name in g.cell):
            continue
        x = _axis_value(g.cell.get(difficulty.name, difficulty.canonical))
        y = _axis_value(g.cell.get(data.name, data.canonical))
        by_cell[(x, y)] = g
        if x not in xs:
            xs.append(x)
        if y not in ys:
            ys.append(y)
    if not by_cell:
        return None
    canon = (_axis_value(difficulty.canonical), _axis_value(data.canonical))
    rows = []
    for x in xs:
        for y in ys:
            g = by_cell.get((x, y))
            row = {"x": x, "y": y, "canonical": (x, y) == canon}
            if g is None:
                row.update(regime=_NO_RUNS, label="no runs", detail="", seeds=0, dark=False)
            else:
                maj = g.majority
                row.update(regime=_TIE if maj.is_tie else maj.label, label=maj.label,
                           detail=f"{maj.count}/{g.n} seeds" + (" each" if maj.is_tie else ""),
                           seeds=g.n, median=_num(g.median), median_text=_fmt(g.median),
                           dark=(not maj.is_tie) and maj.label in _DARK_REGIMES,
                           href=hrefs.get(g.key))
            rows.append(row)
    declared = len(difficulty.values) * len(data.values)
    have = sum(1 for (x, y) in by_cell
               if x in {_axis_value(v) for v in difficulty.values}
               and y in {_axis_value(v) for v in data.values})
    sub = [f"{have} of {declared} declared cells have runs; grey: declared, not run; outlined: "
           "the canonical cell",
           "each cell is its own group of seeds (never pooled with the canonical-setting runs)"]
    spec = _base(title, sub, width=max(240, 86 * len(xs)), height=max(120, 46 * len(ys)))
    ex = {"field": "x", "type": "ordinal", "title": f"{difficulty.name} (difficulty)",
          "sort": xs, "axis": {"labelAngle": 0}}
    ey = {"field": "y", "type": "ordinal", "title": f"{data.name} (data)",
          "sort": list(reversed(ys))}
    text_colour = {"condition": [{"test": "datum.dark", "value": "white"},
                                 {"test": "datum.seeds == 0", "value": "#888888"}],
                   "value": "black"}
    spec["data"] = {"values": rows}
    spec["layer"] = [
        {"mark": {"type": "rect", "stroke": "#999", "cursor": "pointer"},
         "encoding": {
             "x": ex, "y": ey, "href": {"field": "href"},
             "color": {"field": "regime", "type": "nominal", "scale": _REGIME_SCALE,
                       "title": "majority regime"},
             "tooltip": [{"field": "x", "title": difficulty.name},
                         {"field": "y", "title": data.name},
                         {"field": "label", "title": "majority"},
                         {"field": "detail", "title": "agreement"},
                         {"field": "median_text", "title": "median rel. L2"},
                         {"field": "seeds"}]}},
        {"transform": [{"filter": "datum.canonical"}],
         "mark": {"type": "rect", "fill": None, "stroke": "#111", "strokeWidth": 3},
         "encoding": {"x": ex, "y": ey}},
        {"mark": {"type": "text", "dy": -7, "fontSize": 12, "fontWeight": "bold"},
         "encoding": {"x": ex, "y": ey, "text": {"field": "label"}, "color": text_colour}},
        {"mark": {"type": "text", "dy": 8, "fontSize": 10},
         "encoding": {"x": ex, "y": ey, "text": {"field": "detail"}, "color": text_colour}},
    ]
    return spec


def _fmt(x: float) -> str:
    return "failed (∞)" if math.isinf(x) else f"{x:.3g}"


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


def _axis_value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


_SLICE_X = ("alpha_1d", "alpha", "alphas", "t", "offsets", "x")


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
            # the 2-D slice (``alpha_2d``, ``loss_2d``) is another grid: never a curve over xs
            if (name in _SLICE_X or name.endswith("_2d") or not isinstance(ys, list)
                    or len(ys) != len(xs)):
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


def hessian_spectrum(seeds: Sequence[Any]) -> dict | None:
    """Stem chart of each seed's Hessian spectral density (``diagnostics.hessian_esd``: the SLQ
    nodes and weights of :func:`regimebench.diagnostics.spectral_density`, all probes pooled).

    One rule per node, as high as its weight, on a symmetric-log abscissa (a PINN spectrum spans
    decades on both sides of 0); the subtitle names the probed objective
    (``landscape_objective``). ``None`` if no seed carries a well-formed spectrum.
    """
    rows, objectives = [], set()
    for s in seeds:
        d = s.record.get("diagnostics") or {}
        esd = d.get("hessian_esd")
        if not (isinstance(esd, Mapping) and isinstance(esd.get("nodes"), list)
                and isinstance(esd.get("weights"), list)
                and len(esd["nodes"]) == len(esd["weights"])):
            continue
        for x, w in zip(esd["nodes"], esd["weights"]):
            x, w = finite(x), finite(w)
            if x is not None and w is not None and w > 0:
                rows.append({"eigenvalue": x, "weight": w, "seed": f"seed {s.seed}"})
        if isinstance(d.get("landscape_objective"), str):
            objectives.add(d["landscape_objective"])
    if not rows:
        return None
    sub = ("landscape of the " + " / ".join(sorted(objectives)) + " objective, "
           "stochastic Lanczos quadrature") if objectives else "stochastic Lanczos quadrature"
    spec = _base("Hessian spectral density at the end of training", sub)
    spec["data"] = {"values": rows}
    spec["mark"] = {"type": "rule", "strokeWidth": 2, "opacity": 0.7}
    spec["encoding"] = {
        "x": {"field": "eigenvalue", "type": "quantitative", "scale": {"type": "symlog"},
              "title": "eigenvalue (Ritz value)"},
        "y": {"field": "weight", "type": "quantitative", "title": "spectral weight"},
        "y2": {"datum": 0},
        "color": {"field": "seed", "type": "nominal"},
        "tooltip": [{"field": "seed"}, {"field": "eigenvalue", "format": ".3e"},
                    {"field": "weight", "format": ".3f"}]}
    return spec
