"""Issue 20's acceptance check 1: the committed official table is complete and of one harness.

Every (entry, problem, task) the catalogue's entries declare has 5 finished ``cpu``-tier seeds
(0–4) in ``leaderboard/runs`` — planned exactly as ``bench batch --all --seeds 5 --budget cpu``
plans them (:func:`regimebench.planner.matrix_requests`), found by the rule that skips finished
seeds on resume (:func:`regimebench.planner.resume`) — and every canonical ``cpu``-tier record
there comes from one harness version and one commit.

``leaderboard/pending`` holds the finished seeds of groups past the ``cpu`` tier whose five
seeds take more than one session (see its README): the last test keeps them honest until they
move into ``leaderboard/runs``.
"""

from __future__ import annotations

from pathlib import Path

from regimebench.harness import harness_of
from regimebench.planner import RunRequest, matrix_requests, plan, resume
from regimebench.record import iter_records

OFFICIAL = Path(__file__).resolve().parents[1] / "leaderboard" / "runs"
PENDING = OFFICIAL.parent / "pending"


def test_every_declared_pair_has_five_cpu_tier_records_of_one_harness():
    base = RunRequest(problem="helmholtz", seeds=range(5), budget="cpu", out=OFFICIAL)
    requests, errors = matrix_requests(base)
    assert not errors
    missing = []
    for request in requests:
        planned = plan(request)
        done = resume(planned, set_aside=False)
        if len(done) < 5:
            missing.append(f"{request.problem}/{request.task}/{request.solver}: {len(done)}/5")
    assert not missing, "pairs without 5 cpu-tier records: " + "; ".join(missing)
    table = [rec for _, rec in iter_records(OFFICIAL)
             if isinstance(rec, dict) and rec["spec"]["budget"] == "cpu" and not rec.get("cell")]
    assert len(table) >= 5 * len(requests)
    assert len({harness_of(r) for r in table}) == 1
    assert len({(r.get("provenance") or {}).get("git_sha") for r in table}) == 1
    assert not any((r.get("provenance") or {}).get("git_dirty") for r in table)


def test_the_site_shows_no_declared_pair_without_runs(tmp_path):
    """Acceptance check 2: in the overview's entry × task matrix (cpu tier) no declared cell says
    "no runs", and no problem page or task section says "no runs yet"."""
    import re

    from regimebench.leaderboard import build_site

    out = tmp_path / "site"
    build_site(OFFICIAL, out)
    index = (out / "index.html").read_text()
    cpu = index.split('data-budget="cpu"')[1].split('data-budget="')[0]  # the cpu tier only
    assert not re.search(r'<span class="empty">no runs</span>', cpu)
    for page in (out / "problems").glob("*.html"):
        assert "no runs yet" not in page.read_text(), page.name


def test_pending_seeds_are_healthy_clean_records_of_the_tables_commit_not_yet_complete():
    """A pending seed is a healthy record at its own path, made from a clean tree at the commit
    and harness of the official table, not already in the table, and its group is still short of
    its five seeds (a complete group belongs in ``leaderboard/runs``, where the site reads it)."""
    from regimebench.record import check_results

    health = check_results(PENDING)
    assert health.ok and not health.live, health.problems
    table = [rec for _, rec in iter_records(OFFICIAL)
             if isinstance(rec, dict) and rec["spec"]["budget"] == "cpu" and not rec.get("cell")]
    commits = {(r.get("provenance") or {}).get("git_sha") for r in table}
    harnesses = {harness_of(r) for r in table}
    groups: dict[Path, list[int]] = {}
    for path, rec in iter_records(PENDING):
        assert isinstance(rec, dict), rec
        prov = rec.get("provenance") or {}
        assert prov.get("git_sha") in commits and prov.get("git_dirty") is False, path
        assert harness_of(rec) in harnesses, path
        assert not (OFFICIAL / path.relative_to(PENDING)).exists(), f"{path} is also in runs"
        groups.setdefault(path.parent, []).append(int(rec["spec"]["seed"]))
    complete = [str(g.relative_to(PENDING)) for g, seeds in groups.items()
                if set(range(5)) <= set(seeds)]
    assert not complete, "complete groups to move into leaderboard/runs: " + ", ".join(complete)
