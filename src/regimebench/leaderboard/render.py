"""Stage 3 of the site build: Jinja2 pages, static assets, raw records, downloads.

The site is plain files with relative links, so it works from ``file://``, from
``bench leaderboard serve`` and from GitHub Pages alike::

    index.html                overview: problems × solvers matrix
    problems/<name>.html      ranking, Pareto plot, regime maps, failures, published context
    solvers/<name>.html       results across problems, solver.toml, README
    runs/<group>.html         one per (problem, task, solver@hash, budget, cell): seeds, curves
    regimes.html, about.html  definitions; how to cite and submit
    records/<group>/seed-<k>.json   the raw records every number links to
    leaderboard.csv, runs.json      the aggregates as data
    static/                   CSS, our sort and chart glue, the vendored Vega bundle

Autoescaping is on for every template and undefined variables are errors, so a solver named
``<script>alert(1)</script>`` is shown as text and a template typo fails the build. File names
come from :func:`safe_name`, never from raw record fields.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
import re
import shutil
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import stats
from ._paths import safe_name  # re-exported: the site's file names
from .aggregate import REGIMES, Group, aggregate
from .load import finite, load_runs

__all__ = ["build_site", "BuildReport", "SiteError", "check_out", "safe_name"]

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass
class BuildReport:
    """What a build did: counts for the CLI, and the warnings about skipped files."""

    out: Path
    records: int
    groups: int
    pages: int
    warnings: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------- formatting
def _fmt_err(x: float | None) -> str:
    """A rel. L2 in scientific notation; +∞ is a failure, never a blank."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if math.isinf(x):
        return "failed (∞)" if x > 0 else "0"
    return f"{x:.2e}"


def _fmt_sci(x: Any, digits: int = 2) -> str:
    v = finite(x)
    if v is None:
        return "∞" if isinstance(x, float) and math.isinf(x) and x > 0 else "—"
    return f"{v:.{digits}e}"


def _fmt_secs(x: Any) -> str:
    if isinstance(x, float) and math.isinf(x):
        return "never"
    v = finite(x)
    if v is None:
        return "—"
    return f"{v:.0f} s" if v >= 100 else f"{v:.1f} s"


def _fmt_evals(x: Any) -> str:
    if isinstance(x, float) and math.isinf(x):
        return "never"
    v = finite(x)
    return "—" if v is None else f"{v:,.0f}"


def _sort_value(x: Any) -> str:
    """``data-value`` for the table sorter: missing and +∞ sort after every number."""
    v = finite(x)
    if v is None:
        return "-Infinity" if isinstance(x, float) and x == -math.inf else "Infinity"
    return repr(v)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _markdown(text: str):
    """README text as HTML: CommonMark with raw HTML disabled (so it is escaped, never run)."""
    from markdown_it import MarkdownIt
    from markupsafe import Markup

    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    return Markup(md.render(text))  # noqa: S704 - markdown-it escapes all raw HTML with html=False


def _doc_text(text: str):
    """The first paragraph of a docstring as HTML: ````x```` and ``:role:`x``` become code."""
    from markupsafe import Markup, escape

    first = " ".join((text or "").split("\n\n")[0].split())
    html = re.sub(r"(?::[a-z]+:)?`{1,2}~?([^`]+?)`{1,2}", lambda m: f"<code>{m.group(1)}</code>",
                  str(escape(first)))
    return Markup(html)  # noqa: S704 - built from escaped text


def _environment():
    try:
        import jinja2
    except ImportError:  # pragma: no cover - the CLI turns this into a one-line hint
        raise ImportError("the leaderboard needs Jinja2: pip install 'regimebench[site]'") from None
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(err=_fmt_err, sci=_fmt_sci, secs=_fmt_secs, evals=_fmt_evals,
                       sortval=_sort_value, pct=_pct, markdown=_markdown, doc=_doc_text)
    from ..outcomes import Status

    env.globals.update(regimes=REGIMES, isinf=math.isinf, isnan=math.isnan, Status=Status)
    return env


# ----------------------------------------------------------------------------------- views
@dataclass
class TaskView:
    name: str
    info: Any  # TaskInfo or None (a task only seen in records)
    groups: list[Group]  # canonical cell, best first within tier
    cell_groups: list[Group]  # regime-map cells
    charts: dict[str, Any]


@dataclass
class ProblemView:
    name: str
    href: str
    spec: Any  # ProblemSpec or None
    tasks: list[TaskView]
    published: list[dict[str, Any]]
    readme: str | None

    @property
    def has_runs(self) -> bool:
        return any(t.groups or t.cell_groups for t in self.tasks)


@dataclass
class SolverView:
    name: str
    href: str
    spec: Any  # SolverSpec or None
    toml: str | None
    readme: str | None
    groups: list[Group]


def _catalogue() -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Problem and solver specs from the catalogue; entries that fail to load become warnings."""
    from ..problem import list_problems, load_problem
    from ..solver import list_solvers, load_solver

    problems, solvers, warnings = {}, {}, []
    for name in list_problems():
        try:
            problems[name] = load_problem(name)
        except Exception as e:  # noqa: BLE001 - a broken entry must not take the site down
            warnings.append(f"problem {name}: {e}")
    for name in list_solvers():
        try:
            solvers[name] = load_solver(name)
        except Exception as e:  # noqa: BLE001
            warnings.append(f"solver {name}: {e}")
    return problems, solvers, warnings


def _published() -> dict[str, list[dict[str, Any]]]:
    return tomllib.loads((PACKAGE_DIR / "published.toml").read_text())


def _read_text(path: Path | None) -> str | None:
    try:
        return path.read_text() if path is not None and path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


def _problem_views(groups: list[Group], problems: Mapping[str, Any],
                   hrefs: Mapping[tuple, str]) -> list[ProblemView]:
    from . import charts

    published = _published()
    names = list(problems) + sorted({g.problem for g in groups} - set(problems))
    views = []
    for name in names:
        spec = problems.get(name)
        mine = [g for g in groups if g.problem == name]
        task_names = list(spec.tasks) if spec else []
        task_names += sorted({g.task for g in mine} - set(task_names))
        tasks = []
        for t in task_names:
            info = spec.tasks.get(t) if spec else None
            canon = [g for g in mine if g.task == t and not g.cell]
            cells = [g for g in mine if g.task == t and g.cell]
            rel = {k: "../" + v for k, v in hrefs.items()}
            chart = {
                "pareto": charts.pareto(canon, rel, f"{name} / {t}: error vs device-seconds"),
                "failures": charts.failure_bars(canon + cells, f"{name} / {t}: failure modes"),
                "regime_map": (charts.regime_map(cells, info.difficulty.name, info.data.name,
                                                 f"{name} / {t}: majority regime per cell")
                               if info else None),
            }
            tasks.append(TaskView(t, info, canon, cells, chart))
        readme = _read_text(spec.folder / "README.md") if spec else None
        views.append(ProblemView(name, f"problems/{safe_name(name)}.html", spec, tasks,
                                 published.get(name, []), readme))
    return views


def _solver_views(groups: list[Group], solvers: Mapping[str, Any]) -> list[SolverView]:
    names = list(solvers) + sorted({g.solver for g in groups} - set(solvers))
    views = []
    for name in names:
        spec = solvers.get(name)
        folder = getattr(spec, "folder", None)
        views.append(SolverView(
            name, f"solvers/{safe_name(name, salt=name)}.html", spec,
            _read_text(folder / "solver.toml") if folder else None,
            _read_text(folder / "README.md") if folder else None,
            [g for g in groups if g.solver == name]))
    return views


def _citation() -> tuple[str | None, str | None]:
    """CITATION.cff text and a BibTeX entry derived from its top-level fields."""
    from .._catalogue import catalogue_root

    text = _read_text(catalogue_root() / "CITATION.cff")
    if not text:
        return None, None
    fields: dict[str, str] = {}
    authors: list[str] = []
    for line in text.splitlines():
        m = re.match(r"^([a-z-]+):\s*\"?(.*?)\"?\s*$", line)
        if m and m.group(2):
            fields[m.group(1)] = m.group(2)
        m = re.match(r"^\s*-\s*name:\s*\"?(.*?)\"?\s*$", line)
        if m:
            authors.append("{" + m.group(1) + "}")
    year = fields.get("date-released", "")[:4]
    bib = ("@software{regimebench,\n"
           f"  title   = {{{fields.get('title', 'regimebench')}}},\n"
           f"  author  = {{{' and '.join(authors) or 'The regimebench developers'}}},\n"
           f"  version = {{{fields.get('version', '')}}},\n"
           f"  year    = {{{year}}},\n"
           f"  url     = {{{fields.get('repository-code', '')}}}\n}}")
    return text, bib


# ----------------------------------------------------------------------------------- downloads
def _num(x: float | None) -> float | str | None:
    """A statistic for CSV/JSON: +∞ (a failed median or endpoint) as ``"inf"``, NaN as null."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return "inf" if math.isinf(x) else x


CSV_COLUMNS = ["problem", "problem_version", "task", "solver", "config_hash", "budget", "harness",
               "cell", "seeds", "failed", "median_rel_l2", "q25_rel_l2", "q75_rel_l2",
               "interval_low", "interval_high", "interval_coverage", "interval_label",
               "successes", "success_low", "success_high", "success_level", "majority_regime",
               "agreement", "evals_to_target", "device_seconds", "devices", "run_page"]


def _csv(groups: list[Group], hrefs: Mapping[tuple, str]) -> str:
    """``leaderboard.csv``: one row per group, every statistic from :mod:`regimebench.stats`
    (rel. L2 values with 6 significant digits; ``inf`` for a failed median or endpoint)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)

    def e(x):
        v = _num(x)
        return "" if v is None else (v if isinstance(v, str) else f"{v:.6e}")

    for g in groups:
        iv = g.interval
        w.writerow([g.problem, g.problem_version, g.task, g.solver, g.config_hash, g.budget,
                    g.harness, g.cell_label, g.n, g.failed, e(g.median), e(g.q25), e(g.q75),
                    e(iv.low), e(iv.high), f"{iv.coverage:.4f}", iv.label, g.successes,
                    f"{g.success_low:.4f}", f"{g.success_high:.4f}", f"{g.success.level:g}",
                    g.majority.label, f"{g.majority.agreement:.4f}", g.evals_to_target,
                    f"{g.device_seconds:.2f}", ";".join(g.devices), hrefs[g.key]])
    return buf.getvalue()


def _json_groups(groups: list[Group], hrefs: Mapping[tuple, str]) -> str:
    """``runs.json``: the groups with their statistics (see ``definitions``)."""
    rows = [{
        "problem": g.problem, "problem_version": g.problem_version, "task": g.task,
        "solver": g.solver, "config_hash": g.config_hash, "budget": g.budget,
        "harness": g.harness, "cell": g.cell,
        "seeds": [{"seed": s.seed, "status": s.status, "rel_l2": _num(s.rel_l2),
                   "regime": s.regime, "record": f"records/{g.slug}/seed-{s.seed}.json"}
                  for s in g.seeds],
        "rel_l2": {"median": _num(g.median), "q25": _num(g.q25), "q75": _num(g.q75),
                   "interval": {"low": _num(g.interval.low), "high": _num(g.interval.high),
                                "coverage": g.interval.coverage, "label": g.interval.label}},
        "success": {"k": g.successes, "n": g.n, "wilson": [g.success_low, g.success_high],
                    "level": g.success.level, "target": g.target},
        "majority_regime": {"label": g.majority.label, "tie": g.majority.is_tie,
                            "regimes": [r.value for r in g.majority.regimes],
                            "agreement": g.majority.agreement},
        "regimes": {r.value: k for r, k in g.regimes.items()},
        "failure_modes": g.failure_modes,
        "time_to_target": {"reached": g.reached, "median_evals": _num(g.evals_to_target),
                           "median_seconds": _num(g.seconds_to_target)},
        "device_seconds": g.device_seconds, "devices": g.devices, "run_page": hrefs[g.key],
    } for g in groups]
    return json.dumps({"definitions": stats.DEFINITIONS, "groups": rows}, indent=1)


# ----------------------------------------------------------------------------------- build
def _copy_static(out: Path) -> None:
    from .vendor import verify_bundle

    verify_bundle()
    shutil.copytree(PACKAGE_DIR / "static", out / "static",
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))


SITE_MARKER = ".regimebench-site"


class SiteError(ValueError):
    """The output folder cannot be used (the CLI shows it on one line)."""


def check_out(out: Path) -> None:
    """Refuse to replace a non-empty folder that is not a previous build (it would be deleted)."""
    if out.exists() and not out.is_dir():
        raise SiteError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / SITE_MARKER).is_file():
        raise SiteError(f"--out {out} is a non-empty folder that is not a site built by "
                        "regimebench; refusing to replace it (choose an empty or new folder)")


def build_site(runs: Path, out: Path) -> BuildReport:
    """Build the whole site from the records under ``runs`` into ``out`` (replaced atomically).

    Pages are written into a temporary sibling folder that replaces ``out`` only when every
    page rendered, so a failed build leaves the previous site intact.
    """
    from ..labels import FAILURE_MODES
    from ..outcomes import VOCABULARIES
    from ..reproduce import tolerance_for
    from . import charts

    out = Path(out)
    check_out(out)
    loaded, warnings = load_runs(Path(runs))
    problems, solvers, cat_warnings = _catalogue()
    warnings += cat_warnings
    groups = aggregate(loaded, problems)
    hrefs = {g.key: f"runs/{g.slug}.html" for g in groups}
    pviews = _problem_views(groups, problems, hrefs)
    sviews = _solver_views(groups, solvers)
    phref = {p.name: p.href for p in pviews}
    shref = {s.name: s.href for s in sviews}
    cff, bib = _citation()
    env = _environment()
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    common = {"built": now, "n_records": len(loaded), "n_groups": len(groups),
              "skipped": warnings, "problem_href": phref, "solver_href": shref,
              "run_href": hrefs, "failure_defs": FAILURE_MODES, "regime_colours":
              charts.REGIME_COLOURS, "stat_defs": stats.DEFINITIONS}

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    pages = 0
    try:
        def page(template: str, path: str, **ctx: Any) -> None:
            nonlocal pages
            root = "../" * path.count("/")
            html = env.get_template(template).render(root=root, page_path=path, **common, **ctx)
            target = tmp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html)
            pages += 1

        page("index.html", "index.html", problems=pviews, solvers=sviews)
        for p in pviews:
            page("problem.html", p.href, p=p)
        for s in sviews:
            page("solver.html", s.href, s=s)
        for g in groups:
            run_charts = {
                "loss": charts.seed_curves(g.seeds, "loss"),
                "rel_l2": charts.seed_curves(g.seeds, "rel_l2", g.target),
                "snr": charts.seed_curves(g.seeds, "snr"),
                "slice": charts.landscape_slice(g.seeds),
            }
            page("run.html", hrefs[g.key], g=g, charts=run_charts,
                 reproduce_rtol=tolerance_for(g.problem, g.task))
            for s in g.seeds:
                dest = tmp / "records" / g.slug / f"seed-{s.seed}.json"
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(json.dumps(s.record, indent=1))
        from collections import Counter

        totals = Counter()
        for g in groups:
            totals.update(g.failure_modes)
        page("regimes.html", "regimes.html", groups=groups, problems=pviews,
             vocabularies=VOCABULARIES, mode_totals=dict(totals))
        page("about.html", "about.html", cff=cff, bibtex=bib)
        (tmp / "leaderboard.csv").write_text(_csv(groups, hrefs))
        (tmp / "runs.json").write_text(_json_groups(groups, hrefs))
        _copy_static(tmp)
        (tmp / ".nojekyll").write_text("")  # GitHub Pages: serve files as they are
        (tmp / SITE_MARKER).write_text("built by bench leaderboard build; safe to replace\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildReport(out, len(loaded), len(groups), pages, warnings)
