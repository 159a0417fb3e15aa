"""The leaderboard: a static site built from run records, ``load → aggregate → render``.

``bench leaderboard build [--runs leaderboard/runs] [--out leaderboard/_site]`` reads every record
under ``--runs`` (skipping corrupt files with a warning), aggregates seeds per
(problem@version, task, solver@config-hash, budget, cell, harness) — failed seeds count as +∞
error and are never dropped — ranks the entries of each (problem, task) per budget, and renders
the pages with Jinja2 (autoescaped). Charts are Vega-Lite specs drawn
client-side by a vendored bundle (``static/vendor``), so the site needs no network at view time
and works from ``file://``. ``bench leaderboard serve`` serves the result on 127.0.0.1.

Modules: :mod:`.load` (records in), :mod:`.aggregate` (per-group statistics, from
:mod:`regimebench.stats`), :mod:`.ranking` (best entry, ties, margin over the baseline, published
numbers), :mod:`.views` (what each page shows), :mod:`.charts` (Vega-Lite specs),
:mod:`.palette` (one colour per entry), :mod:`.render` (pages, the methods page, the atomic
build), :mod:`.exports` (CSV/JSON), :mod:`.serve` (local server), :mod:`.vendor` (the JS bundle),
:mod:`.screenshots` (the README's screenshots: ``python -m regimebench.leaderboard.screenshots``).
"""

from .aggregate import Group, aggregate
from .load import load_runs
from .render import BuildReport, SiteError, build_site

__all__ = ["build_site", "BuildReport", "SiteError", "load_runs", "aggregate", "Group"]
