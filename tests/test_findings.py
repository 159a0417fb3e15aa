"""The published findings the suite re-tests (issue 20): verdict rules on synthetic records, the
registry's contract, and the generated block of docs/regimes.md against the committed records."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from regimebench import findings as F
from regimebench.leaderboard.load import Loaded, load_runs
from regimebench.outcomes import Verdict
from regimebench.record import cell_label

ROOT = Path(__file__).resolve().parents[1]


def _rec(problem, task, solver, seed, *, err=0.5, regime="II", phase_at=None, phases=True,
         budget="cpu", cell=None, harness="2", diagnostics=None, modes=()):
    return Loaded({
        "schema_version": 2, "kind": "run", "status": "ok",
        "spec": {"problem": problem, "problem_version": 1, "task": task, "solver": solver,
                 "config_hash": "abc", "budget": budget, "seed": seed, "harness": harness},
        "cell": cell or {},
        "metrics": {"rel_l2": err},
        "labels": {"regime": regime, "failure_modes": list(modes),
                   "phases": ({"final_phase": "total_diffusion" if phase_at else "diffusion",
                               "total_diffusion_start": phase_at} if phases else {})},
        "diagnostics": diagnostics or {},
        "provenance": {"git_sha": "0123456789abcdef"},
    }, f"{problem}/{task}/{solver}/{budget}/{cell_label(cell or {})}/seed-{seed}.json")


def _part(finding, loaded, setting_prefix):
    parts = finding.parts(F._groups(loaded, "2"))
    return next(p for p in parts if p.setting.startswith(setting_prefix))


# ----------------------------------------------------------------------------- the rule
def test_a_comparison_is_reproduced_only_when_the_rank_sum_test_separates_the_groups():
    sep = F.Comparison("rel. L2", "a", "b", (1, 2, 3, 4, 5), (6, 7, 8, 9, 10))
    assert sep.in_direction and sep.verdict is Verdict.REPRODUCED  # p = 2/252 < 0.05
    # Same medians' order, overlapping seeds: the direction holds, the test cannot tell.
    overlap = F.Comparison("rel. L2", "a", "b", (1, 2, 6, 7, 8), (3, 4, 9, 10, 11))
    assert overlap.in_direction and overlap.verdict is Verdict.DIRECTION_ONLY
    backwards = F.Comparison("rel. L2", "a", "b", (6, 7, 8, 9, 10), (1, 2, 3, 4, 5))
    assert backwards.verdict is Verdict.NOT_REPRODUCED
    # Neither group ever reaches the phase: equal medians (+inf) are no direction at all.
    never = F.Comparison("steps", "a", "b", (math.inf,) * 5, (math.inf,) * 5, unit="evaluations")
    assert never.verdict is Verdict.NOT_REPRODUCED and "never" in never.sentence()
    # 3 seeds each cannot reach p < 0.05: at most "in direction only".
    three = F.Comparison("rel. L2", "a", "b", (1, 2, 3), (4, 5, 6))
    assert three.verdict is Verdict.DIRECTION_ONLY


def test_the_overall_verdict_is_the_weakest_measured_part():
    assert F.overall_verdict([Verdict.REPRODUCED, Verdict.NO_RECORDS]) is Verdict.REPRODUCED
    assert F.overall_verdict([Verdict.REPRODUCED, Verdict.NOT_REPRODUCED,
                              Verdict.DIRECTION_ONLY]) is Verdict.NOT_REPRODUCED
    assert F.overall_verdict([Verdict.NO_RECORDS] * 2) is Verdict.NO_RECORDS
    assert F.overall_verdict([]) is Verdict.NO_RECORDS


# ----------------------------------------------------------------------------- the findings
def test_rba_finding_compares_phase_onsets_and_errors_per_problem():
    rba = [_rec("allen-cahn", "forward", "pinn-rba", s, err=0.1 + 0.01 * s, phase_at=1000 + s)
           for s in range(5)]
    adam = [_rec("allen-cahn", "forward", "pinn-mlp-adam", s, err=0.9 + 0.01 * s, phase_at=None)
            for s in range(5)]
    part = _part(F.RbaTotalDiffusion(), rba + adam, "allen-cahn")
    assert part.verdict is Verdict.REPRODUCED
    assert "5/5 `pinn-rba` seeds and 0/5 `pinn-mlp-adam`" in part.text
    assert len(part.records) == 10 and part.commits == ("0123456789",)
    # Lower error but no earlier diffusion (both never): the conjunction fails.
    rba_late = [_rec("allen-cahn", "forward", "pinn-rba", s, err=0.1, phase_at=None)
                for s in range(5)]
    assert _part(F.RbaTotalDiffusion(), rba_late + adam, "allen-cahn").verdict \
        is Verdict.NOT_REPRODUCED
    # helmholtz has no records: that part says so, and the finding is judged on the rest.
    assessment = F.Assessment(F.RbaTotalDiffusion(), tuple(F.RbaTotalDiffusion().parts(
        F._groups(rba + adam, "2"))))
    helm = next(p for p in assessment.parts if p.setting.startswith("helmholtz"))
    assert helm.verdict is Verdict.NO_RECORDS and assessment.verdict is Verdict.REPRODUCED
    assert assessment.coverage == " (1 of 2 settings measured)"


def test_records_of_another_harness_are_not_judged():
    old = [_rec("active-turbulence", "forward", e, s, err=0.1 if e == "pinn-inverse-dirichlet"
                else 0.9, harness="1")
           for e in ("pinn-inverse-dirichlet", "pinn-mlp-adam") for s in range(5)]
    parts = F.InverseDirichlet().parts(F._groups(old, "2"))
    assert all(p.verdict is Verdict.NO_RECORDS for p in parts)
    parts = F.InverseDirichlet().parts(F._groups(old, "1"))
    assert parts[0].verdict is Verdict.REPRODUCED and parts[1].verdict is Verdict.NO_RECORDS


def _map_records(problem, regime_of, seeds=3):
    from regimebench.problem import load_problem

    info = load_problem(problem).task_info("forward")
    d, n = info.difficulty, info.data
    out = []
    for i, dv in enumerate(d.values):
        for j, nv in enumerate(n.values):
            for s in range(seeds):
                out.append(_rec(problem, "forward", "pinn-mlp-adam", s,
                                regime=regime_of(i, j, s), cell={d.name: dv, n.name: nv}))
    return out


def test_regime_map_finding_needs_the_whole_declared_grid_and_three_majorities():
    def three(i, j, s):  # II at the hardest difficulties, III with little data, else I
        return "II" if i >= 3 else ("III" if j == 0 else "I")

    part = _part(F.ThreeRegimes(), _map_records("helmholtz", three), "helmholtz")
    assert part.verdict is Verdict.REPRODUCED and "| pde \\ a2 |" in part.text
    # Over-Trained only as a minority (one seed of three): present, but no cell's majority.
    def minority(i, j, s):
        return "III" if (j == 0 and s == 0) else ("II" if i >= 3 else "I")

    assert _part(F.ThreeRegimes(), _map_records("helmholtz", minority), "helmholtz").verdict \
        is Verdict.DIRECTION_ONLY
    assert _part(F.ThreeRegimes(), _map_records("helmholtz", lambda *a: "II"),
                 "helmholtz").verdict is Verdict.NOT_REPRODUCED
    # Two seeds per cell do not complete the map.
    short = _part(F.ThreeRegimes(), _map_records("helmholtz", three, seeds=2), "helmholtz")
    assert short.verdict is Verdict.NO_RECORDS and "0 of the 20 declared cells" in short.text



def test_markdown_keeps_a_regime_map_table_apart_from_its_records_line():
    """The records of a map part follow its table as their own paragraph: every table row is
    a whole row (starts and ends with a pipe) and the records line is not one of them."""
    def three(i, j, s):
        return "II" if i >= 3 else ("III" if j == 0 else "I")

    loaded = _map_records("helmholtz", three)
    groups = F._groups(loaded, "2")
    parts = tuple(p for p in F.ThreeRegimes().parts(groups) if p.setting.startswith("helmholtz"))
    md = F.to_markdown([F.Assessment(F.ThreeRegimes(), parts, "2")])
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 4  # header, rule and the four data sizes
    assert all(line.rstrip().endswith("|") and "Records:" not in line for line in rows)
    assert "\n\nRecords: `helmholtz/forward/pinn-mlp-adam/" in md

def _landscape(lmin, mass, slice_1d, mc=-1e-4, loss=1.0):
    return {"hessian_lambda_max": 10.0, "hessian_lambda_min": lmin,
            "hessian_negative_mass": mass, "mc_linear_mean": mc, "landscape_loss": loss,
            "slices": {"loss_1d": slice_1d, "alpha_1d": [i / 10 for i in range(-10, 11)]}}


CELL = {"a2": 1.0, "pde": 512}


def test_ritz_landscape_finding_judges_scale_free_landscape_properties():
    bowl = [x * x for x in range(-10, 11)]
    bumpy = [x * x + 30 * (-1) ** x for x in range(-10, 11)]
    good = _landscape(-0.01, 0.0, bowl)
    recs = [_rec("helmholtz", "forward", e, s, budget="cpu-6000", cell=CELL, diagnostics=good)
            for e in F.RitzLandscape.entries for s in range(3)]
    assert _part(F.RitzLandscape(), recs, "helmholtz").verdict is Verdict.REPRODUCED
    # The same landscapes, but the twins are not near the solution (rel. L2 above T_test).
    for r in recs:
        r.record["metrics"]["rel_l2"] = 0.5
        r.record["labels"]["thresholds"] = {"test_error": 0.1}
    far = _part(F.RitzLandscape(), recs, "helmholtz")
    assert far.verdict is Verdict.DIRECTION_ONLY and "not near the solution" in far.text
    # The strong twin's slice is rough: both near-convex, not both smooth.
    rough = [_rec("helmholtz", "forward", e, s, budget="cpu-6000", cell=CELL,
                  diagnostics=good if e == "deep-ritz-mlp" else _landscape(-0.01, 0.0, bumpy))
             for e in F.RitzLandscape.entries for s in range(3)]
    assert _part(F.RitzLandscape(), rough, "helmholtz").verdict is Verdict.DIRECTION_ONLY
    # A large negative eigenvalue (a saddle, 30 % of λ_max) is not near-convex.
    saddle = [_rec("helmholtz", "forward", e, s, budget="cpu-6000", cell=CELL,
                   diagnostics=_landscape(-3.0, 0.2, bowl))
              for e in F.RitzLandscape.entries for s in range(3)]
    assert _part(F.RitzLandscape(), saddle, "helmholtz").verdict is Verdict.NOT_REPRODUCED
    # Records without the full diagnostics do not count as landscapes.
    plain = [_rec("helmholtz", "forward", e, s, budget="cpu-6000", cell=CELL)
             for e in F.RitzLandscape.entries for s in range(3)]
    assert _part(F.RitzLandscape(), plain, "helmholtz").verdict is Verdict.NO_RECORDS


def test_every_registered_finding_declares_its_contract():
    letters = set()
    for name in F.findings.names():
        cls = F.findings.get(name)
        assert cls.key == name and cls.letter not in letters
        letters.add(cls.letter)
        for attr in ("title", "claim", "source", "budget_why"):
            assert isinstance(getattr(cls, attr), str) and getattr(cls, attr).strip()
        assert cls.commands and all(c.startswith("bench ") for c in cls.commands)
        # On no records at all every part says so, and nothing raises.
        parts = cls().parts({})
        assert parts and all(p.verdict is Verdict.NO_RECORDS for p in parts)
    assert letters == {"a", "b", "c", "d"}


def test_docs_regimes_holds_the_verdicts_of_the_committed_records():
    """The block in docs/regimes.md is what `bench findings --write-docs` makes from
    leaderboard/runs: a record added or removed without regenerating it fails here."""
    loaded, _ = load_runs(ROOT / "leaderboard" / "runs")
    block = F.to_markdown(F.assess_all(loaded))
    doc = (ROOT / "docs" / "regimes.md").read_text(encoding="utf-8")
    assert F.replace_docs_block(doc, block) == doc, (
        "docs/regimes.md is stale: run `bench findings --write-docs`")


def test_replace_docs_block_needs_both_markers():
    doc = f"a\n{F.DOCS_BEGIN}\nold\n{F.DOCS_END}\nb\n"
    assert F.replace_docs_block(doc, "new\n") == f"a\n{F.DOCS_BEGIN}\nnew\n{F.DOCS_END}\nb\n"
    with pytest.raises(ValueError, match="markers"):
        F.replace_docs_block("no markers", "x")
