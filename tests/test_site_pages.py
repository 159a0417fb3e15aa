"""The site's pages without a browser: every statistic shown is defined and linked to its
definition, Markdown renders without raw markup, the overview says plainly what is not solved.

Built once from the committed official records (``leaderboard/runs``), which hold solved-nowhere
tasks, ties of the majority regime, a regime map and an entry with 3 seeds; a few seconds.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from regimebench.leaderboard import build_site, load_runs
from regimebench.leaderboard.render import _environment, def_anchor
from regimebench.stats import DEFINITIONS

OFFICIAL = Path(__file__).parents[1] / "leaderboard" / "runs"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
#: Text never scanned for labels: code, data, the authors' own README prose and the page title.
SKIP_TAGS = {"script", "style", "code", "pre", "title", "option", "svg"}
SKIP_CLASSES = {"readme"}
#: Statistic names distinctive enough to find in prose (several words, a hyphen, or an
#: acronym); one-word names ("budget", "solved", "stability") are checked where labels go:
#: table headers, definition terms and the narrow-screen labels.
DISTINCTIVE = [k for k in DEFINITIONS if " " in k or "-" in k or k.isupper()]
#: Table headers that name no statistic of ours.
NOT_STATISTICS = {"entry", "problem · task", "problem / task", "task", "cell", "setting",
                  "method", "budget / seeds", "source", "seed", "status", "record", "device",
                  "failed at step", "seconds", "final loss", "normalised loss", "regime",
                  "problem", "equation", "canonical parameters", "tasks",  # the problem card
                  "rel. L2"}  # rel. L2: a published paper's number, or one seed's own error


class _Text(HTMLParser):
    """Text nodes of a page with what encloses them: inside a link to a definition? skipped?
    Also the headers (``th`` of a ``thead``), ``dt`` terms and ``.lbl`` labels with theirs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.texts: list[tuple[str, bool, bool]] = []  # (text, linked to a definition, skipped)
        self.slots: list[dict] = []  # th/dt/.lbl: {"text": ..., "linked": bool}

    def _skipped(self) -> bool:
        return any(t in SKIP_TAGS or SKIP_CLASSES & set((a.get("class") or "").split())
                   for t, a in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in VOID:
            return
        self.stack.append((tag, a))
        in_thead = any(t == "thead" for t, _ in self.stack)
        if self._skipped():
            return
        if (tag == "th" and in_thead) or tag == "dt" or "lbl" in (a.get("class") or "").split():
            # a matrix column header names a (problem, task), not a statistic
            self.slots.append({"depth": len(self.stack), "text": "", "open": True,
                               "linked": "data-problem" in a})

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for slot in self.slots:
                    if slot["open"] and slot["depth"] >= i + 1:
                        slot["open"] = False
                del self.stack[i:]
                return

    def _linked(self) -> bool:
        return any(t == "a" and "methods.html#" in (a.get("href") or "") for t, a in self.stack)

    def handle_data(self, data):
        if not data.strip():
            return
        skipped = self._skipped()
        linked = self._linked()
        self.texts.append((data, linked, skipped))
        for slot in self.slots:
            if slot["open"]:
                slot["text"] += data
                slot["linked"] |= linked


def _parse(page: str) -> _Text:
    p = _Text()
    p.feed(page)
    return p


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not load_runs(OFFICIAL)[0]:
        pytest.skip("no official records committed")
    out = tmp_path_factory.mktemp("site") / "_site"
    report = build_site(OFFICIAL, out)
    return out, report


def _label_pages(site: Path) -> dict[str, str]:
    """The pages acceptance check 3 names: the overview and every problem page."""
    pages = {"index.html": (site / "index.html").read_text()}
    pages.update({f"problems/{p.name}": p.read_text() for p in (site / "problems").glob("*.html")})
    return pages


def test_every_statistic_label_links_to_its_definition(site):
    out, _ = site
    for path, page in _label_pages(out).items():
        parsed = _parse(page)
        for text, linked, skipped in parsed.texts:
            if linked or skipped:
                continue
            for name in DISTINCTIVE:
                assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.I), (
                    f"{path}: the statistic {name!r} appears without a link to its definition "
                    f"in {text.strip()!r}")
        for slot in parsed.slots:
            label = " ".join(slot["text"].split())
            if label and not slot["linked"] and label not in NOT_STATISTICS:
                raise AssertionError(f"{path}: the label {label!r} (table header, term or "
                                     "narrow-screen label) does not link to a definition")


def test_every_definition_link_resolves(site):
    out, report = site
    methods = (out / "methods.html").read_text()
    ids = set(re.findall(r'\sid="([^"]+)"', methods))
    assert {def_anchor(k) for k in DEFINITIONS} <= ids
    for page in out.rglob("*.html"):
        for anchor in re.findall(r'href="(?:\.\./)?methods\.html#([^"]+)"', page.read_text()):
            assert html.unescape(anchor) in ids, f"{page}: methods.html#{anchor} does not exist"
    # What the pages show is defined, and the overview shows what the issue asks for.
    assert report.displayed <= set(DEFINITIONS)
    assert {"best entry", "median rel. L2", "median interval", "success rate",
            "tied with the best", "margin over the baseline", "best published",
            "gradient-evaluation equivalents", "seconds per seed"} <= report.displayed


def test_a_statistic_without_a_definition_fails_the_build():
    env = _environment(set())
    with pytest.raises(KeyError, match="not defined"):
        env.from_string('{{ stat("median of the ranks") }}').render(root="")
    assert "methods.html#def-median-rel-l2" in env.from_string(
        '{{ stat("median rel. L2") }}').render(root="")


def test_markdown_renders_without_raw_markup(site):
    out, _ = site
    pages = [out / "regimes.html", *(out / "problems").glob("*.html"),
             *(out / "solvers").glob("*.html")]
    tables = 0
    for page in pages:
        text = page.read_text()
        body = re.sub(r"<(script|pre|code)\b.*?</\1>", "", text, flags=re.S)
        visible = html.unescape(re.sub(r"<[^>]+>", "", body))
        assert not re.search(r"^\s*\|.*\|\s*$", visible, re.M), f"{page}: raw Markdown table"
        assert "**" not in visible and "``" not in visible, f"{page}: raw Markdown emphasis/code"
        assert not re.search(r":(mod|class|func|math):`", visible), f"{page}: reST role"
        tables += text.count('<div class="scroll"><table>')
    assert tables >= 3  # README tables (helmholtz, burgers, ...) and docs/regimes.md's tables


def test_overview_says_plainly_what_is_solved_and_what_is_not(site):
    """Per task at the `cpu` tier, a crown (★) exactly when some entry's median rel. L2 is below
    the task's target, computed here from the records and the catalogue alone; every other row
    with runs says "not solved" and still names its lowest median; a task without runs says so."""
    from regimebench.problem import load_problem
    from regimebench.record import group_key
    from regimebench.stats import group_stats

    out, _ = site
    index = (out / "index.html").read_text()
    block = index.split('data-budget="cpu"')[1].split("</table>")[0]
    rows = dict(re.findall(r'<tr id="best-cpu-([^"]+)".*?>(.*?)</tr>', block, re.S))
    assert rows
    seeds: dict = {}
    for item in load_runs(OFFICIAL)[0]:
        key = group_key(item.record)
        if key.budget == "cpu" and not key.cell:
            seeds.setdefault(key, []).append(item.record)
    best: dict[str, float] = {}
    for key, recs in seeds.items():
        slug = f"{key.problem}-{key.task}"
        best[slug] = min(best.get(slug, float("inf")), group_stats(recs).median)
    for slug, row in rows.items():
        if slug not in best:  # "no runs yet", or "no runs at this budget" (runs at another)
            assert "no runs" in row and "★" not in row, slug
            continue
        problem, task = next((p, slug[len(p) + 1:]) for p in sorted(
            {k.problem for k in seeds}, key=len, reverse=True) if slug.startswith(p + "-"))
        target = load_problem(problem).task_info(task).thresholds.target
        assert ("★" in row) == (best[slug] < target), slug
        if best[slug] >= target:
            assert "not solved" in row and 'class="best-median' in row, slug


def test_every_page_has_an_inline_favicon(site):
    out, _ = site
    for page in out.rglob("*.html"):
        head = page.read_text().split("</head>")[0]
        assert re.search(r'<link rel="icon" type="image/svg\+xml" href="data:image/svg\+xml,', head)


def test_one_colour_per_entry_on_every_page_and_chart(site):
    """An entry's swatch and its marks in every chart have one colour, on every page."""
    import json

    out, _ = site
    seen: dict[str, set[str]] = {}
    for page in out.rglob("*.html"):
        text = page.read_text()
        for colour, name in re.findall(
                r'<span class="swatch" style="background: (#[0-9A-Fa-f]{6})" aria-hidden="true">'
                r'</span><a href="[^"]*">([^<]+)</a>', text):
            seen.setdefault(html.unescape(name), set()).add(colour.upper())
        for spec in re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>',
                               text, re.S):
            for layer in json.loads(spec).get("layer", []):
                scale = (layer.get("encoding", {}).get("color") or {}).get("scale") or {}
                if (layer.get("encoding", {}).get("color") or {}).get("field") == "entry":
                    for name, colour in zip(scale["domain"], scale["range"]):
                        seen.setdefault(name.split("@")[0], set()).add(colour.upper())
    assert len(seen) >= 5
    assert all(len(colours) == 1 for colours in seen.values()), seen
    # different entries have different colours until the palette runs out; past it an entry
    # shares a colour only with a different point shape (palette.solver_styles)
    from regimebench.leaderboard.palette import PALETTE, solver_styles

    assert len({next(iter(c)) for c in seen.values()}) == min(len(seen), len(PALETTE))
    styles = solver_styles(seen)
    assert len({(st.colour, st.shape) for st in styles.values()}) == len(seen)


def test_catalogue_text_is_read_only_from_regular_files(tmp_path):
    """A README that is a link (here to a file outside the catalogue) is never published."""
    from regimebench.leaderboard.render import _read_text

    secret = tmp_path / "secret.txt"
    secret.write_text("not for the site")
    readme = tmp_path / "README.md"
    readme.write_text("# an entry\n")
    link = tmp_path / "LINKED.md"
    link.symlink_to(secret)
    assert _read_text(readme) == "# an entry\n"
    assert _read_text(link) is None
    assert _read_text(tmp_path / "missing.md") is None


def test_regimes_page_shows_every_findings_verdict_from_the_records(site):
    """The Findings section is rendered from regimebench.findings on the records the site shows:
    each registered finding has its section, with the verdict assess_all gives, and the docs'
    generated copy of the verdicts is not shown a second time."""
    from regimebench.findings import DOCS_BEGIN, assess_all

    out, _ = site
    page = (out / "regimes.html").read_text()
    loaded, _ = load_runs(OFFICIAL)
    for a in assess_all(loaded):
        section = page.split(f'id="finding-{a.finding.key}"')[1].split("</section>")[0]
        heading = section.split("</h3>")[0]
        assert f'v-{a.verdict.value}">{html.escape(a.verdict.title)}</span>' in heading
        assert section.count('class="verdict-tag') == 1 + len(a.parts)
    assert html.escape(DOCS_BEGIN) not in page and "Findings</a> section" in page
