"""The built leaderboard in a real browser: Debian's Chromium driven by Playwright.

Builds the site from the committed fixture records (real smoke runs: ok, crashed and NaN
seeds), serves it on 127.0.0.1, and checks what a user does: the overview loads, a table sorts,
a problem page and a run page open, charts render to SVG, and no request leaves localhost.
Also loads the overview from ``file://``. Skipped (not failed) only when ``/usr/bin/chromium``
or the ``playwright`` package is absent; ``.ci/run`` installs both.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FIXTURES = Path(__file__).parent / "data" / "runs"

if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium "
                "(apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from regimebench.leaderboard import build_site

    runs = tmp_path_factory.mktemp("runs")
    shutil.copytree(FIXTURES, runs, dirs_exist_ok=True)
    # An entry named like a script: if it ever ran, the page's alert() would be caught below.
    rec = json.loads(next(FIXTURES.glob("helmholtz@v1/forward/pinn-mlp-adam-lbfgs@*/smoke/"
                                        "seed-0.json")).read_text())
    rec["spec"]["solver"] = "<script>alert(1)</script>"
    (runs / "evil.json").write_text(json.dumps(rec))
    out = tmp_path_factory.mktemp("site") / "_site"
    build_site(runs, out)
    return out


@pytest.fixture(scope="module")
def server(site):
    from regimebench.leaderboard.serve import make_server

    srv = make_server(site, 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    pg.requests = []
    pg.errors = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("dialog", lambda d: (pg.errors.append(f"dialog: {d.message}"), d.dismiss()))
    yield pg
    context.close()


def _local_only(urls):
    bad = [u for u in urls if urlparse(u).scheme not in ("file", "data", "blob", "about")
           and urlparse(u).hostname not in ("127.0.0.1", "localhost")]
    assert not bad, f"requests left localhost: {bad}"


def _seconds_column(page):
    return [float(v) for v in page.locator("table.ranking tbody td.devsec")
            .evaluate_all("cells => cells.map(c => c.getAttribute('data-value'))")]


def test_overview_problem_and_run_pages(page, server):
    expect = sync_api.expect
    page.goto(server + "index.html")
    expect(page.locator("#matrix")).to_be_visible()
    expect(page.locator("#matrix")).to_contain_text("helmholtz")
    expect(page.locator("#matrix")).to_contain_text("<script>alert(1)</script>")  # as text

    # Problem page: sort the ranking by device-seconds both ways.
    page.locator("#matrix a", has_text="helmholtz").first.click()
    page.wait_for_url("**/problems/helmholtz.html")
    header = page.locator("table.ranking thead th", has_text="device-seconds")
    header.click()
    up = _seconds_column(page)
    assert up == sorted(up) and len(set(up)) >= 3
    header.click()
    down = _seconds_column(page)
    assert down == sorted(up, reverse=True) and down != up
    expect(header).to_have_attribute("aria-sort", "descending")
    # The Pareto plot and the failure bars render as SVG.
    page.wait_for_selector("#pareto-1[data-rendered] svg", timeout=15000)
    page.wait_for_selector("#failures-1[data-rendered] svg", timeout=15000)
    # Failed entries read as failures, not blanks.
    expect(page.locator("table.ranking")).to_contain_text("failed (∞)")

    # Run page of the entry that trained (ok seeds): curves and the reproduce command.
    page.locator("table.ranking a", has_text="pinn-mlp-adam-lbfgs").first.click()
    page.wait_for_url("**/solvers/*.html")
    page.go_back()
    row = page.locator("table.ranking tbody tr", has_text="pinn-mlp-adam-lbfgs")
    row.locator("td.median a").click()
    page.wait_for_url("**/runs/*.html")
    page.wait_for_selector("#curve-loss[data-rendered] svg", timeout=15000)
    page.wait_for_selector("#curve-rel_l2[data-rendered] svg", timeout=15000)
    expect(page.locator("#reproduce")).to_contain_text("bench run --problem helmholtz")
    # Each seed's number links to its raw record, which the server returns.
    href = page.locator("#seed-0 td:nth-child(3) a").get_attribute("href")
    resp = page.request.get(page.url.rsplit("/", 1)[0] + "/" + href)
    assert resp.ok and resp.json()["spec"]["seed"] == 0

    assert not page.errors, page.errors
    _local_only(page.requests)


def test_nan_run_page_and_file_url(page, site):
    # Works from file:// too (inline chart data, classic scripts).
    page.goto(site.joinpath("index.html").as_uri())
    expect = sync_api.expect
    expect(page.locator("#matrix")).to_contain_text("lb-nan")
    cell = page.locator('#matrix a.fail[href*="lb-nan"]')
    expect(cell).to_contain_text("failed")
    cell.click()
    page.wait_for_url("**/runs/*.html")
    expect(page.locator("#summary")).to_contain_text("3 of 3 seeds failed")
    expect(page.locator("#seeds")).to_contain_text("non_finite")
    page.goto(site.joinpath("problems", "helmholtz.html").as_uri())
    page.wait_for_selector("#failures-1[data-rendered] svg", timeout=15000)
    assert not page.errors, page.errors
    _local_only(page.requests)
