"""The leaderboard without a browser: statistics, escaping, failures, catalogue coverage, CLI.

Fixture records under ``tests/data/runs`` are real smoke runs (see its README); records with
other shapes are written into temporary folders here. Runs in a few seconds (no training).
"""

from __future__ import annotations

import copy
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from regimebench.leaderboard import build_site, load_runs
from regimebench.leaderboard.aggregate import aggregate
from regimebench.leaderboard.load import Loaded
from regimebench.problem import list_problems, load_problem

FIXTURES = Path(__file__).parent / "data" / "runs"
XSS = "<script>alert(1)</script>"
SIX = ["active-turbulence", "allen-cahn", "burgers", "darcy", "helmholtz", "lid-driven-cavity"]


def _fixture(solver: str) -> dict:
    path = next(FIXTURES.glob(f"helmholtz@v1/forward/{solver}@*/smoke/seed-0.json"))
    return json.loads(path.read_text())


def _synthetic(seed: int, rel_l2: float | None, status: str = "ok", curve=None,
               wall: float = 2.0, evals_done: int = 20) -> Loaded:
    rec = copy.deepcopy(_fixture("pinn-mlp-adam-lbfgs"))
    rec["spec"]["seed"] = seed
    rec["status"] = status
    rec["failure"] = None if status == "ok" else "non_finite"
    rec["metrics"]["rel_l2"] = rel_l2
    rec["labels"]["failure_modes"] = [] if status == "ok" else ["non_finite"]
    rec["curves"] = {"evals": [0, 10, 20], "rel_l2": curve or [1.0, 1.0, 1.0]}
    rec["timing"] = {"seed_wall_s": wall, "seed_steps_per_s": 10.0}
    rec["evals_done"] = evals_done
    return Loaded(rec, f"seed-{seed}.json")


# ----------------------------------------------------------------------------------- statistics
# The definitions themselves are tested in tests/test_stats.py; here, that the site uses them.
def test_failed_seeds_count_as_infinite_error_and_are_never_dropped():
    target = load_problem("helmholtz").tasks["forward"].thresholds.target  # 1e-2
    loaded = [_synthetic(0, 1e-3, curve=[1.0, 5e-3, 1e-3]), _synthetic(1, 1e-1, wall=3.0),
              _synthetic(2, None, status="failed", wall=50.0, evals_done=7)]
    (g,) = aggregate(loaded, {"helmholtz": load_problem("helmholtz")})
    assert g.n == 3 and g.failed == 1
    assert g.median == 0.1  # the worse finite seed, exactly: the failure pushed it up
    assert g.q75 == math.inf
    assert (g.interval.low, g.interval.high, g.interval.label) == (1e-3, math.inf,
                                                                  "75 % interval, n = 3")
    assert g.successes == 1 and g.target == target
    assert g.failure_modes == {"non_finite": 1}
    assert g.reached == 1 and g.evals_to_target == math.inf  # 1 of 3 reached: median is never
    assert g.seeds[0].evals_to_target == 10 and g.seeds[0].seconds_to_target == pytest.approx(1.0)
    # The cost is per seed, never summed over seeds: the median seed's wall time and budget spent
    # (the failed seed stopped early at 7 equivalents; it still counts in both medians).
    assert g.seconds_per_seed == 3.0 and g.evals_spent == 20
    assert g.budget_evals == 60  # what the records were given (the fixture's smoke budget)
    assert g.devices == ["cpu"]


def test_step_costs_are_read_defensively():
    """The trainer's per-step cost (gradient-evaluation equivalents) is read from any of the
    shapes it may take in ``timing``; anything else is no cost, never an error."""
    from regimebench.leaderboard.aggregate import step_costs

    assert step_costs({"timing": {"phases": [{"kind": "adam", "step_cost": 1.0},
                                             {"kind": "natural_gradient", "step_cost": 53.2}]}}) \
        == [("adam", 1.0), ("natural_gradient", 53.2)]
    assert step_costs({"timing": {"step_costs": {"lbfgs": 1.4}}}) == [("lbfgs", 1.4)]
    assert step_costs({"timing": {"step_cost": 2}}) == [("step", 2.0)]
    # flat numeric keys (the record schema keeps timing a mapping of numbers)
    assert step_costs({"timing": {"wall_s": 3.0, "step_cost_adam": 1.0,
                                  "natural_gradient_step_cost": 44.0}}) \
        == [("adam", 1.0), ("natural_gradient", 44.0)]
    for junk in ({}, {"timing": None}, {"timing": {"phases": "x"}},
                 {"timing": {"phases": [{"kind": "adam", "step_cost": None}], "step_cost": -1}}):
        assert step_costs(junk) == []


# ----------------------------------------------------------------------------------- site
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    shutil.copytree(FIXTURES, runs, dirs_exist_ok=True)
    evil = copy.deepcopy(_fixture("pinn-mlp-adam-lbfgs"))
    evil["spec"]["solver"] = XSS
    evil["spec"]["config_hash"] = XSS
    evil["provenance"]["command"] = f"bench run --solver '{XSS}'"
    (runs / "evil.json").write_text(json.dumps(evil))
    (runs / "corrupt.json").write_text('{"schema_version": 1, "spec": ')
    (runs / "notarecord.json").write_text('{"hello": 1}')
    out = tmp_path_factory.mktemp("site") / "_site"
    report = build_site(runs, out)
    return out, report


def _pages(site: Path):
    return {p.relative_to(site).as_posix(): p.read_text() for p in site.rglob("*.html")}


def test_corrupt_records_are_skipped_with_a_warning(built):
    _, report = built
    assert report.records == 10
    assert len(report.warnings) == 2
    assert any("corrupt.json" in w for w in report.warnings)
    assert any("notarecord.json" in w for w in report.warnings)


def test_script_names_render_as_text(built):
    site, _ = built
    pages = _pages(site)
    assert not any(XSS in html for html in pages.values())
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in html for html in pages.values())
    # Generated file names never carry the raw field.
    assert all("<" not in p.as_posix() for p in site.rglob("*"))


def test_nan_seeds_show_as_failures_not_blanks(built):
    site, _ = built
    (run,) = [h for p, h in _pages(site).items() if p.startswith("runs/") and "lb-nan" in p]
    assert "3 of 3 seeds failed" in run
    assert run.count("failed (∞)") >= 4  # the median and each seed
    assert "non_finite" in run
    index = (site / "index.html").read_text()
    lbnan = re.search(r'<a href="runs/[^"]*lb-nan[^"]*" class="fail">([^<]*)</a>', index)
    assert lbnan and lbnan.group(1) == "failed (∞)"  # its cell in the overview's matrix


def test_every_catalogue_problem_appears(built):
    site, _ = built
    index = (site / "index.html").read_text()
    for name in list_problems():
        assert f">{name}</a>" in index
        assert (site / "problems" / f"{name}.html").is_file()


def test_all_six_problems_appear_and_empty_ones_say_no_runs(tmp_path, monkeypatch):
    # A catalogue with the six v1 problems (only their problem.toml); records exist for one.
    root = tmp_path / "catalogue"
    (root / "solvers").mkdir(parents=True)
    toml = (Path(load_problem("helmholtz").folder) / "problem.toml").read_text()
    for name in SIX:
        (root / "problems" / name).mkdir(parents=True)
        (root / "problems" / name / "problem.toml").write_text(
            re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', toml))
    monkeypatch.setenv("REGIMEBENCH_ROOT", str(root))
    site = tmp_path / "_site"
    build_site(FIXTURES, site)
    index = (site / "index.html").read_text()
    for name in SIX:
        assert f">{name}</a>" in index
    assert index.count("no runs yet") >= 5
    assert "no runs yet" in (site / "problems" / "darcy.html").read_text()


def test_every_number_links_to_its_source(built):
    site, _ = built
    for path, html in _pages(site).items():
        if not (path.startswith("problems/") or path.startswith("runs/")):
            continue
        for cell in re.findall(r'<td class="num[^"]*"[^>]*>(.*?)</td>', html, re.S):
            if re.search(r"\d", re.sub(r"<[^>]+>", "", cell)):
                assert "<a href=" in cell, f"{path}: unlinked number {cell!r}"
    # Run pages link each seed to its raw record, which exists in the site.
    run = next(site.glob("runs/*lb-nan*.html"))
    for href in set(re.findall(r'href="(\.\./records/[^"]+)"', run.read_text())):
        assert (run.parent / href).resolve().is_file()


def test_budget_and_device_beside_numbers(built):
    """Each ranking table sits under a heading naming its budget (groups of different budgets
    are never ranked together), and each row names the device its seconds were measured on."""
    site, _ = built
    problem = (site / "problems" / "helmholtz.html").read_text()
    tables = re.findall(r'<h3 id="([^"]+)">(.*?)</h3>.*?<table class="sortable ranking" '
                        r'id="ranking-([^"]+)">(.*?)</table>', problem, re.S)
    assert tables
    for _, heading, ident, table in tables:
        budget = ident.split("-", 1)[1]
        assert "smoke tier" in heading and budget == "smoke"
        rows = re.findall(r"<tr[^>]*>.*?</tr>", table.split("<tbody>")[1], re.S)
        assert rows and all(re.search(r'class="num secs".*?</a> <span class="muted">cpu</span>',
                                      r, re.S) for r in rows)


def test_chart_specs_are_offline_and_log_scaled(built):
    site, _ = built
    html = (site / "problems" / "helmholtz.html").read_text()
    specs = [json.loads(s) for s in
             re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', html, re.S)]
    cost = next(s for s in specs if "seconds per seed" in json.dumps(s.get("title")))
    point = cost["layer"][1]["encoding"]
    assert point["x"]["scale"]["type"] == "log" and point["y"]["scale"]["type"] == "log"
    assert point["x"]["field"] == "seconds" and "device: cpu" in json.dumps(cost["title"])
    assert all("url" not in s.get("data", {}) for s in specs)  # data is inline
    assert all(r["rel_l2"] > 0 and math.isfinite(r["rel_l2"]) for r in cost["data"]["values"])
    for page in site.rglob("*.html"):
        assert not re.search(r'(src|href)="(https?:)?//(?!github|arxiv)', page.read_text())


def test_cli_build_and_bad_out(tmp_path):
    bench = [sys.executable, "-m", "regimebench", "leaderboard", "build"]
    out = tmp_path / "site"
    ok = subprocess.run([*bench, "--runs", str(FIXTURES), "--out", str(out)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert (out / "index.html").is_file() and (out / "static/vendor/vega-bundle.js").is_file()
    # Rebuilding over a previous site is fine; over a foreign folder it is refused, untouched.
    again = subprocess.run([*bench, "--runs", str(FIXTURES), "--out", str(out)],
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    bad = subprocess.run([*bench, "--runs", str(FIXTURES), "--out", str(foreign)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert (foreign / "keep.txt").read_text() == "x"


def test_load_runs_of_missing_folder_is_empty_not_an_error(tmp_path):
    loaded, warnings = load_runs(tmp_path / "nope")
    assert loaded == [] and len(warnings) == 1


def test_regime_maps_beside_the_records_are_passed_over_by_content(tmp_path):
    """`bench regimes --runs R` writes R/regimes-<problem>-<solver>.json; the loader knows it by
    its ``kind`` (or, written before ``kind`` existed, by its axes and cells), wherever it lies,
    and still reports JSON that is neither a record nor a map."""
    from regimebench.regime_map import map_path

    map_path(tmp_path, "helmholtz", "pinn-mlp-adam").write_text(
        '{"kind": "regime-map", "cells": []}')
    (tmp_path / "helmholtz@v1").mkdir()
    map_path(tmp_path / "helmholtz@v1", "helmholtz", "x").write_text(
        '{"schema_version": 1, "axes": {}, "cells": []}')
    assert load_runs(tmp_path) == ([], [])
    (tmp_path / "helmholtz@v1" / "regimes-y.json").write_text('{"cells": []}')  # neither
    assert len(load_runs(tmp_path)[1]) == 1


# ------------------------------------------------------------------ the committed official runs
OFFICIAL = Path(__file__).parents[1] / "leaderboard" / "runs"


def test_official_records_load_and_render(tmp_path):
    """``leaderboard/runs`` (what the published site is built from) loads without a single
    skipped file, and every problem it has runs for renders them with linked numbers.
    """
    loaded, warnings = load_runs(OFFICIAL)
    if not loaded:
        pytest.skip("no official records committed")
    assert warnings == []
    covered = {r.record["spec"]["problem"] for r in loaded}
    assert covered <= set(list_problems()), "official records of a problem not in the catalogue"
    site = tmp_path / "_site"
    report = build_site(OFFICIAL, site)
    assert report.records == len(loaded)
    for name in covered:
        html = (site / "problems" / f"{name}.html").read_text()
        assert 'href="../runs/' in html, f"{name}: its official runs are not listed"
        for cell in re.findall(r'<td class="num[^"]*"[^>]*>(.*?)</td>', html, re.S):
            text = re.sub(r"<[^>]+>", "", cell)
            # A budget's name is not a number ("pinn-mlp-adam not run at cpu-40000").
            text = re.sub(r"\b(?:smoke|cpu|standard|long)-\d+\b", "", text)
            if re.search(r"\d", text):
                assert "<a href=" in cell, f"{name}: unlinked number {cell!r}"


def test_methods_page_is_built_from_the_enumerations(built):
    """Every member of every outcome vocabulary is listed with its description (the page is
    generated from regimebench.outcomes, not parsed from a docstring), every failure mode with
    its rule, every statistic with its definition; no reST markup leaks through. (These were on
    the regimes page before the methods page existed.)"""
    import html as html_module

    from regimebench.labels import FAILURE_MODES
    from regimebench.outcomes import VOCABULARIES
    from regimebench.stats import DEFINITIONS

    site, _ = built
    page = html_module.unescape((site / "methods.html").read_text())
    for vocab in VOCABULARIES:
        for member in vocab:
            row = re.search(rf'<tr id="{vocab.__name__.lower()}-{re.escape(member.value)}">(.*?)'
                            r"</tr>", page, re.S)
            assert row and member.description in row.group(1), (vocab, member)
    for mode, rule in FAILURE_MODES.items():
        assert rule in page, mode
    for name, text in DEFINITIONS.items():
        assert name in page and text in page
    assert "``" not in page and ":mod:" not in page


def test_a_failed_build_leaves_the_previous_site(tmp_path, monkeypatch):
    """The build writes into a temporary sibling and swaps it in only when every page
    rendered: a failure half-way leaves the previous site as it was, and no temporary folder."""
    from regimebench.leaderboard import charts

    out = tmp_path / "_site"
    build_site(FIXTURES, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise RuntimeError("a chart failed")

    monkeypatch.setattr(charts, "landscape_slice", broken)  # run pages come after the overview
    with pytest.raises(RuntimeError, match="a chart failed"):
        build_site(FIXTURES, out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"]


def test_run_page_draws_the_landscape_slice_and_hessian_spectrum(tmp_path):
    """A record with end-of-training probes (the shapes ``diagnostics.end`` writes) gets a 1-D
    slice chart (``alpha_1d``/``loss_1d``; the 2-D grid is not drawn as a curve) and a stem
    chart of its spectral density naming the probed objective; records without them get
    neither."""
    from regimebench.leaderboard import charts

    rec = copy.deepcopy(_fixture("pinn-mlp-adam-lbfgs"))
    rec["spec"]["solver"] = "landscape-probed"
    rec["diagnostics"] = {
        "landscape_objective": "ritz",
        "slices": {"alpha_1d": [-1.0, 0.0, 1.0], "loss_1d": [3.0, 1.0, 2.0],
                   "alpha_2d": [-1.0, 0.0, 1.0], "loss_2d": [[1.0] * 3] * 3},
        "hessian_esd": {"nodes": [-2.0, 0.5, 40.0, None], "weights": [0.25, 0.5, 0.25, 0.0],
                        "probes": 1, "steps": 4},
    }
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "probed.json").write_text(json.dumps(rec))
    (runs / "plain.json").write_text(json.dumps(_fixture("pinn-mlp-adam")))
    site = tmp_path / "_site"
    build_site(runs, site)
    page = next(site.glob("runs/*landscape-probed*.html")).read_text()
    specs = {i: json.loads(s) for i, s in re.findall(
        r'<script type="application/json" id="([^"]+)-spec">(.*?)</script>', page, re.S)}
    spectrum = specs["hessian-spectrum"]
    # the null node is dropped (records store non-finite values as null), the rest kept as is
    assert [(r["eigenvalue"], r["weight"]) for r in spectrum["data"]["values"]] == [
        (-2.0, 0.25), (0.5, 0.5), (40.0, 0.25)]
    assert "ritz" in spectrum["title"]["subtitle"]
    assert spectrum["encoding"]["x"]["scale"]["type"] == "symlog"
    curves = {r["curve"] for r in specs["landscape-slice"]["data"]["values"]}
    assert curves == {"loss_1d"}
    plain = next(p for p in site.glob("runs/*.html") if "landscape-probed" not in p.name)
    assert "hessian-spectrum" not in plain.read_text()
    # malformed spectra are skipped rather than misdrawn
    bad = type("S", (), {"seed": 0, "record": {"diagnostics": {"hessian_esd": {
        "nodes": [1.0, 2.0], "weights": [1.0]}}}})()
    assert charts.hessian_spectrum([bad]) is None
