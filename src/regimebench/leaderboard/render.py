"""Stage 3 of the site build: Jinja2 pages, static assets, raw records, downloads.

The site is plain files with relative links, so it works from ``file://``, from
``bench leaderboard serve`` and from GitHub Pages alike::

    index.html                overview: the best entry per (problem, task), then the matrix
    problems/<name>.html      per task and budget: ranking, charts; regime maps; published context
    solvers/<name>.html       results across problems, solver.toml, README
    runs/<group>.html         one per (problem, task, solver@hash, budget, cell): seeds, curves,
                              the reproduce block
    methods.html              the definition of every statistic, label and budget unit shown
    regimes.html, about.html  regimes across problems and docs/regimes.md; how to cite and submit
    records/<group>/seed-<k>.json   the raw records every number links to
    leaderboard.csv, runs.json      the aggregates as data
    static/                   CSS, our sort/filter/chart glue, the vendored Vega bundle

Autoescaping is on for every template and undefined variables are errors, so a solver named
``<script>alert(1)</script>`` is shown as text and a template typo fails the build. File names
come from :func:`safe_name`, never from raw record fields.

**Every statistic shown is defined.** Templates write a statistic's label only through
``stat(name)``, which links it to its definition on the methods page and fails the build when
``name`` is not in :data:`regimebench.stats.DEFINITIONS`; the names used are collected in
:attr:`BuildReport.displayed` (the tests check them and scan the pages for unlinked labels).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import stats
from ._paths import safe_name  # re-exported: the site's file names
from .aggregate import REGIMES, aggregate
from .exports import to_csv, to_json
from .load import finite, load_runs
from .palette import REGIME_COLOURS, solver_styles
from .ranking import BASELINE_NOTES, BASELINES, DEFAULT_BASELINE, budget_sort_key, load_published
from .views import budget_description, overview, problem_views, solver_views

__all__ = ["build_site", "BuildReport", "SiteError", "check_out", "safe_name", "def_anchor",
           "SITE_MARKER", "FAVICON"]

PACKAGE_DIR = Path(__file__).resolve().parent
SITE_MARKER = ".regimebench-site"
#: Inline SVG favicon (a data URI: nothing to fetch, no 404 for /favicon.ico).
FAVICON = ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
           "%3Crect width='16' height='16' rx='3' fill='%2312263f'/%3E"
           "%3Cpath d='M3 12h2V8H3zm4 0h2V4H7zm4 0h2V6h-2z' fill='%23fff'/%3E%3C/svg%3E")


@dataclass
class BuildReport:
    """What a build did: counts for the CLI, the warnings about skipped files, and the names of
    the statistics its pages show (each links to its definition)."""

    out: Path
    records: int
    groups: int
    pages: int
    warnings: list[str] = field(default_factory=list)
    displayed: set[str] = field(default_factory=set)


class SiteError(ValueError):
    """The output folder cannot be used (the CLI shows it on one line)."""


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
    if v >= 3600:
        return f"{v / 3600:.1f} h"
    if v >= 600:
        return f"{v / 60:.0f} min"
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


def _p(x: float) -> str:
    """A p-value with two significant digits."""
    return f"{x:.2g}"


def _markdown(text: str, shift: int = 2):
    """Markdown as HTML: CommonMark plus GFM tables and strikethrough, raw HTML disabled (so it
    is escaped, never run); headings shifted down ``shift`` levels to sit under the page's."""
    from markdown_it import MarkdownIt
    from markupsafe import Markup

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"])
    html = md.render(text or "")
    if shift:
        html = re.sub(r"<(/?)h([1-6])\b", lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + shift)}",
                      html)
    html = html.replace("<table>", '<div class="scroll"><table>').replace(
        "</table>", "</table></div>")
    return Markup(html)  # noqa: S704 - markdown-it escapes all raw HTML with html=False


def _markdown_inline(text: str):
    """One line of Markdown (code spans, emphasis, links) as inline HTML, raw HTML escaped."""
    from markdown_it import MarkdownIt
    from markupsafe import Markup

    return Markup(MarkdownIt("commonmark", {"html": False}).renderInline(text or ""))  # noqa: S704


def _doc_text(text: str):
    """The first paragraph of a docstring as HTML: ````x```` and ``:role:`x``` become code."""
    from markupsafe import Markup, escape

    first = " ".join((text or "").split("\n\n")[0].split())
    html = re.sub(r"(?::[a-z]+:)?`{1,2}~?([^`]+?)`{1,2}", lambda m: f"<code>{m.group(1)}</code>",
                  str(escape(first)))
    return Markup(html)  # noqa: S704 - built from escaped text


def def_anchor(name: str) -> str:
    """The methods page's anchor of a statistic: ``"median rel. L2"`` → ``"def-median-rel-l2"``."""
    return "def-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _environment(displayed: set[str]):
    try:
        import jinja2
    except ImportError:  # pragma: no cover - the CLI turns this into a one-line hint
        raise ImportError("the leaderboard needs Jinja2: pip install 'regimebench[site]'") from None
    from markupsafe import Markup, escape

    from ..outcomes import FailureMode, FailureReason, Regime, Status

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )

    @jinja2.pass_context
    def stat(ctx, name: str, text: str | None = None):
        """A statistic's label, linked to its definition; unknown names fail the build."""
        if name not in stats.DEFINITIONS:
            raise KeyError(f"statistic {name!r} is shown but not defined in "
                           "regimebench.stats.DEFINITIONS")
        displayed.add(name)
        return Markup(f'<a class="stat" href="{escape(ctx["root"])}methods.html#'
                      f'{def_anchor(name)}">{escape(text or name)}</a>')

    @jinja2.pass_context
    def label(ctx, member):
        """An outcome label (regime, failure mode, status) linked to its definition."""
        kind = type(member).__name__.lower() if not isinstance(member, str) else None
        if kind is None:  # a plain string: find its vocabulary
            for vocab in (Regime, FailureMode, Status, FailureReason):
                if member in {m.value for m in vocab}:
                    member, kind = vocab(member), vocab.__name__.lower()
                    break
        if kind is None:
            return Markup(f'<a class="label" href="{escape(ctx["root"])}methods.html#'
                          f'other-failure-labels">{escape(member)}</a>')
        return Markup(f'<a class="label" href="{escape(ctx["root"])}methods.html#{kind}-'
                      f'{escape(member.value)}">{escape(member.value)}</a>')

    env.filters.update(err=_fmt_err, sci=_fmt_sci, secs=_fmt_secs, evals=_fmt_evals,
                       sortval=_sort_value, pct=_pct, p=_p, markdown=_markdown, inline=_markdown_inline, doc=_doc_text,
                       margin=stats.format_margin, budget=budget_description)
    env.globals.update(regimes=REGIMES, isinf=math.isinf, isnan=math.isnan, Status=Status,
                       stat=stat, label=label, def_anchor=def_anchor, favicon=FAVICON,
                       solves=stats.solves,
                       regime_colours=REGIME_COLOURS)
    return env


# ----------------------------------------------------------------------------------- catalogue
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


README_LIMIT = 1 << 20  # no README, solver.toml or CITATION.cff of the catalogue is near 1 MiB


def _read_text(path: Path | None) -> str | None:
    """A catalogue text file, or ``None``: regular files only, never through a link (a README
    linked to a file outside the catalogue must not be published), at most 1 MiB."""
    from ..safe_io import UnsafeFile, read_regular

    if path is None:
        return None
    try:
        return read_regular(path, README_LIMIT).decode()
    except (UnsafeFile, OSError, UnicodeDecodeError):
        return None


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


def _regimes_guide() -> str | None:
    """``docs/regimes.md`` of the checkout (absent from an installed wheel: the page says so),
    without its generated findings block: the page renders the verdicts itself, from the same
    records it shows (:mod:`regimebench.findings`), so a stale copy is never displayed."""
    from .._catalogue import catalogue_root
    from ..findings import DOCS_BEGIN, DOCS_END

    text = _read_text(catalogue_root() / "docs" / "regimes.md")
    if text is None or DOCS_BEGIN not in text or DOCS_END not in text:
        return text
    head, rest = text.split(DOCS_BEGIN, 1)
    return (head + "*The verdicts are in the [Findings](#findings) section at the top of this "
            "page, computed from the records the site shows.*" + rest.split(DOCS_END, 1)[1])


def _budget_table(problems: dict[str, Any]) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """Tiers and, per problem, the gradient-evaluation equivalents of each tier."""
    from ..budget import TIERS, tier_evals

    return list(TIERS), [(name, [tier_evals(t, spec.budgets) for t in TIERS])
                         for name, spec in problems.items()]


# ----------------------------------------------------------------------------------- build
def _copy_static(out: Path) -> None:
    from .vendor import verify_bundle

    verify_bundle()
    shutil.copytree(PACKAGE_DIR / "static", out / "static",
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))


def check_out(out: Path) -> None:
    """Refuse to replace a non-empty folder that is not a previous build (it would be deleted)."""
    if out.exists() and not out.is_dir():
        raise SiteError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / SITE_MARKER).is_file():
        raise SiteError(f"--out {out} is a non-empty folder that is not a site built by "
                        "regimebench; refusing to replace it (choose an empty or new folder)")


def _swap_in(tmp: Path, out: Path) -> None:
    """Put the finished build ``tmp`` at ``out``: the old site is renamed aside first and
    removed only after the new one is in place, so ``out`` is never half-written."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
        os.replace(out, old / "site")
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old / "site", out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_site(runs: Path, out: Path) -> BuildReport:
    """Build the whole site from the records under ``runs`` into ``out`` (replaced atomically).

    Pages are written into a temporary sibling folder that replaces ``out`` only when every
    page rendered, so a failed build leaves the previous site intact.
    """
    from ..findings import assess_all
    from ..labels import FAILURE_MODES
    from ..outcomes import VOCABULARIES, Verdict
    from ..reproduce import tolerance_for
    from . import charts

    out = Path(out)
    check_out(out)
    loaded, warnings = load_runs(Path(runs))
    problems, solvers, cat_warnings = _catalogue()
    warnings += cat_warnings
    groups = aggregate(loaded, problems)
    hrefs = {g.key: f"runs/{g.slug}.html" for g in groups}
    solver_names = list(solvers) + sorted({g.solver for g in groups} - set(solvers))
    styles = solver_styles(solver_names)
    pviews = problem_views(groups, problems, load_published(), hrefs, styles, _read_text)
    sviews = solver_views(groups, solvers, styles, _read_text)
    ov = overview(groups, pviews, solvers, solver_names)
    phref = {p.name: p.href for p in pviews}
    shref = {s.name: s.href for s in sviews}
    cff, bib = _citation()
    displayed: set[str] = set()
    env = _environment(displayed)
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode_totals = Counter()  # seeds with each failure mode, over every group
    for g in groups:
        mode_totals.update(g.failure_modes)
    tiers, budget_rows = _budget_table(problems)
    common = {"built": now, "n_records": len(loaded), "n_groups": len(groups),
              "skipped": warnings, "problem_href": phref, "solver_href": shref,
              "run_href": hrefs, "styles": styles, "failure_defs": FAILURE_MODES,
              "stat_defs": stats.DEFINITIONS, "baselines": BASELINES,
              "baseline_notes": BASELINE_NOTES,
              "default_baseline": DEFAULT_BASELINE, "default_budget": ov.default,
              "runs_dir": Path(runs).as_posix()}

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

        page("index.html", "index.html", ov=ov, problems=pviews, solvers=sviews)
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
                "spectrum": charts.hessian_spectrum(g.seeds),
            }
            page("run.html", hrefs[g.key], g=g, charts=run_charts,
                 reproduce_rtol=tolerance_for(g.problem, g.task))
            for s in g.seeds:
                dest = tmp / "records" / g.slug / f"seed-{s.seed}.json"
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(json.dumps(s.record, indent=1))
        explicit = sorted({g.budget for g in groups if "-" in g.budget}, key=budget_sort_key)
        page("methods.html", "methods.html", vocabularies=VOCABULARIES,
             mode_totals=dict(mode_totals), tiers=tiers, budget_rows=budget_rows,
             explicit_budgets=explicit)
        page("regimes.html", "regimes.html", groups=groups, guide=_regimes_guide(),
             findings=assess_all(loaded), verdicts=tuple(Verdict))
        page("about.html", "about.html", cff=cff, bibtex=bib)
        (tmp / "leaderboard.csv").write_text(to_csv(groups, hrefs))
        (tmp / "runs.json").write_text(to_json(groups, hrefs))
        _copy_static(tmp)
        (tmp / ".nojekyll").write_text("")  # GitHub Pages: serve files as they are
        (tmp / SITE_MARKER).write_text("built by bench leaderboard build; safe to replace\n")
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildReport(out, len(loaded), len(groups), pages, warnings, displayed)
