"""One definition per number, over the committed official records (issue 13, acceptance 1 and 3).

For every group of ``leaderboard/runs`` the four places a result is shown — the CLI table
(:func:`regimebench.tables.run_table`), the regime-map JSON (:func:`regimebench.regime_map.
regime_map`, and the committed map file), ``leaderboard.csv`` and the rendered run page — show
the same median rel. L2 (each at its own printed precision) and the same majority regime, or the
same tie. The site's interval labels state the exact coverage for the number of seeds shown.
Before this module existed the site's median of an even seed count and its heatmap's tie-breaking
disagreed with the CLI on 2 of the 6 committed helmholtz map cells.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

import pytest

from regimebench.leaderboard import build_site, load_runs
from regimebench.problem import load_problem
from regimebench.record import cell_label, group_key
from regimebench.regime_map import regime_map
from regimebench.stats import format_percent
from regimebench.tables import run_table

OFFICIAL = Path(__file__).parents[1] / "leaderboard" / "runs"


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    loaded, warnings = load_runs(OFFICIAL)
    if not loaded:
        pytest.skip("no official records committed")
    assert warnings == []
    groups = defaultdict(list)
    for item in loaded:
        groups[group_key(item.record)].append(item.record)
    site = tmp_path_factory.mktemp("site") / "_site"
    build_site(OFFICIAL, site)
    with open(site / "leaderboard.csv", newline="") as f:
        rows = {(r["problem"], r["task"], r["solver"], r["config_hash"], r["budget"],
                 r["harness"], r["cell"]): r for r in csv.DictReader(f)}
    return groups, site, rows


def _map_cell(key, records):
    """The group as a one-cell regime map, with the task's axes."""
    info = load_problem(key.problem).task_info(key.task)
    params = load_problem(key.problem).params  # canonical values, as `bench regimes` passes
    m = regime_map(records, problem=key.problem, difficulty=info.difficulty.name,
                   data=info.data.name, canonical_difficulty=params.get(info.difficulty.name),
                   solver=key.solver, task=key.task, budget=key.budget)
    (cell,) = m["cells"]
    return cell


def _run_page(site: Path, csv_row) -> str:
    return (site / csv_row["run_page"]).read_text()


def _dd(page: str, ident: str) -> str:
    m = re.search(rf'<dd id="{ident}"[^>]*>(.*?)</dd>', page, re.S)
    assert m, ident
    return html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip()


def test_every_group_shows_the_same_median_and_majority_everywhere(official):
    groups, site, rows = official
    assert len(groups) == len(rows)
    ties = 0
    for key, records in groups.items():
        table = run_table(records)
        cli_median, cli_majority = table.summary[0][1], table.summary[0][4]
        cell = _map_cell(key, records)
        row = rows[(key.problem, key.task, key.solver, key.config_hash, key.budget, key.harness,
                    key.cell)]
        page = _run_page(site, row)
        m = cell["median_rel_l2"]
        if m is None:  # the median seed failed (+inf): every view says so, none drops it
            assert cli_median in ("failed", "inf", "∞") or "inf" in cli_median, (key, cli_median)
            assert row["median_rel_l2"] in ("", "inf"), key
            continue
        assert cli_median == f"{m:.3e}", key
        assert row["median_rel_l2"] == f"{m:.6e}", key
        assert _dd(page, "median").split(" ")[0] == f"{m:.2e}", key
        majority = cell["majority"]
        assert cli_majority == majority == row["majority_regime"], key
        assert _dd(page, "majority").startswith(majority + " ("), key
        ties += cell["tie"]
        # a tie, re-derived here from the seeds' labels alone: two regimes share the top count
        counts = sorted(Counter((r.get("labels") or {}).get("regime") or "none"
                                for r in records).values(), reverse=True)
        assert cell["tie"] == (len(counts) > 1 and counts[0] == counts[1]), key


def test_committed_maps_and_heatmaps_agree_with_the_groups(official):
    """Every committed regime map (``regimes-<problem>-<solver>.json``, written by ``bench
    regimes``) agrees cell by cell with the groups' statistics and with the heatmap on the
    problem page, which draws the task's whole declared grid and says which cells have no runs."""
    groups, site, _ = official
    maps = sorted(OFFICIAL.glob("regimes-*.json"))
    assert maps, "no committed regime map"
    for path in maps:
        committed = json.loads(path.read_text())
        assert committed["kind"] == "regime-map"
        problem, solver = committed["problem"], committed["solver"]
        info = load_problem(problem).task_info(committed["task"])
        d, n = info.difficulty.name, info.data.name
        page = (site / "problems" / f"{problem}.html").read_text()
        specs = [json.loads(s) for s in re.findall(
            r'<script type="application/json" id="regimemap-[^"]+">(.*?)</script>', page, re.S)]
        title = f"{solver} on {problem} / {committed['task']}, {committed['budget']}:"
        (heat,) = [h for h in specs if title in json.dumps(h, ensure_ascii=False)]
        heat_cells = {(r["x"], r["y"]): r["label"] for r in heat["data"]["values"]
                      if r["regime"] != "no runs"}
        on_grid = [c for c in committed["cells"]
                   if c[d] in info.difficulty.values and c[n] in info.data.values]
        assert len(on_grid) == len(heat_cells), path.name
        declared = {(f"{a:g}", str(v)) for a in info.difficulty.values for v in info.data.values}
        empty = {(r["x"], r["y"]) for r in heat["data"]["values"] if r["regime"] == "no runs"}
        assert empty == declared - set(heat_cells), path.name
        for cell in on_grid:
            label = f"{d}={cell[d]:g},{n}={cell[n]}"
            (key,) = [k for k in groups if k.problem == problem and k.solver == solver
                      and k.budget == committed["budget"] and k.cell == cell_label(
                          {d: cell[d], n: cell[n]})]
            fresh = _map_cell(key, groups[key])
            assert fresh["median_rel_l2"] == cell["median_rel_l2"], label
            assert fresh["majority"] == cell["majority"] == heat_cells[
                (f"{cell[d]:g}", str(cell[n]))], label


def _exact_coverage(n: int) -> Fraction:
    """Coverage of the interval the site must show for n seeds, by enumerating the 2^n ways the
    seeds can fall below or above the population median: the narrowest symmetric
    order-statistic interval reaching 95 %, else the seeds' range."""
    def cover(rank):
        return Fraction(sum(1 for k in range(2**n) if rank <= bin(k).count("1") <= n - rank),
                        2**n)

    ranks = [r for r in range(1, n // 2 + 1) if cover(r) >= Fraction(19, 20)]
    return cover(max(ranks) if ranks else 1)


def test_site_interval_labels_state_their_coverage(official):
    groups, site, rows = official
    for key, records in groups.items():
        n = len(records)
        want = (f"{format_percent(float(_exact_coverage(n)))} interval, n = {n}" if n >= 2
                else f"no interval, n = {n}")
        row = rows[(key.problem, key.task, key.solver, key.config_hash, key.budget, key.harness,
                    key.cell)]
        assert row["interval_label"] == want
        assert f"({want})" in _dd(_run_page(site, row), "interval")
        problem_page = html.unescape((site / "problems" / f"{key.problem}.html").read_text())
        assert f"({want})" in problem_page
    # the official table (5 seeds) and the regime-map cells (3 seeds) are both exercised
    assert {"75 % interval, n = 3", "93.8 % interval, n = 5"} <= {
        r["interval_label"] for r in rows.values()}
