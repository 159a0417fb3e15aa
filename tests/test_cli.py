"""The ``bench`` command: list, run (with resume), validate, show, and bad-input handling."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from regimebench.runner import RunRequest, execute, plan


def bench(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "regimebench", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def records_under(root: Path):
    return sorted(p for p in Path(root).rglob("*.json"))


def test_list_problems_and_solvers():
    r = bench("list", "problems")
    assert r.returncode == 0, r.stderr
    assert "helmholtz" in r.stdout and "pinn-mlp-adam-lbfgs" in r.stdout
    r = bench("list", "solvers")
    assert r.returncode == 0 and "pinn-mlp-adam" in r.stdout
    r = bench("list", "components")
    assert r.returncode == 0 and "lbfgs" in r.stdout


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    r = bench("run", "--problem", "helmholtz", "--budget", "smoke", "--seeds", "2", "--out",
              str(out))
    return r, out


def test_run_writes_records_and_prints_table(smoke_run):
    r, out = smoke_run
    assert r.returncode == 0, r.stderr
    recs = records_under(out)
    assert len(recs) == 2
    assert "median" in r.stdout and "rel. L2" in r.stdout and "interval" in r.stdout
    # pinned to the commit that made the records (the checkout under test is a git repository)
    reproduce = next(ln for ln in r.stdout.splitlines() if ln.startswith("reproduce: "))
    assert "bench run --problem helmholtz" in reproduce
    assert reproduce.startswith("reproduce: git checkout ") or "git" not in reproduce
    rec = json.loads(recs[0].read_text())
    assert rec["status"] == "ok"
    assert rec["provenance"]["command"].startswith("bench run --problem helmholtz")
    for key in ("git_sha", "git_dirty", "python", "packages", "device_kind", "dtype",
                "matmul_precision", "x64"):
        assert key in rec["provenance"]
    assert {"jax", "jaxlib", "equinox", "optax"} <= set(rec["provenance"]["packages"])
    assert rec["reference"]["error_floor"] < 1e-14
    assert len(rec["curves"]["loss"]) <= 512
    # stderr is not a terminal here: progress comes as plain lines, the last one at 100 %
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("training: ")]
    assert lines and "(100 %)" in lines[-1], r.stderr


def test_progress_lines_report_each_tenth_once(capsys):
    from regimebench.cli._common import _progress_lines

    now = [0.0]
    update = _progress_lines("training", 1000, "evals", clock=lambda: now[0])
    for done in range(0, 1001, 25):  # 41 chunk reports, 4 per tenth
        now[0] = done / 10  # 0.1 s per evaluation
        update(done)
    lines = capsys.readouterr().err.splitlines()
    assert [ln.split("(")[1].split(")")[0] for ln in lines] == [f"{10 * k} %" for k in
                                                               range(1, 11)]
    assert lines[0] == "training: 100/1000 evals (10 %), 10 s so far, about 1 min 30 s left"
    assert lines[-1] == "training: 1000/1000 evals (100 %), 1 min 40 s so far"


def test_resume_skips_finished_seeds(smoke_run):
    _, out = smoke_run
    before = {p: p.stat().st_mtime_ns for p in records_under(out)}
    r = bench("run", "--problem", "helmholtz", "--budget", "smoke", "--seeds", "3", "--out",
              str(out))
    assert r.returncode == 0, r.stderr
    assert "2 of 3 seed(s) already have records" in r.stderr
    after = {p: p.stat().st_mtime_ns for p in records_under(out)}
    assert len(after) == 3
    assert all(after[p] == t for p, t in before.items())  # untouched


def test_show_and_validate_record(smoke_run, tmp_path):
    _, out = smoke_run
    rec = records_under(out)[0]
    r = bench("show", str(rec))
    assert r.returncode == 0 and "reproduce:" in r.stdout and "rel_l2" in r.stdout
    data = json.loads(rec.read_text())
    if data["provenance"]["git_sha"]:  # the typed record's command, pinned to its commit
        assert f"reproduce: git checkout {data['provenance']['git_sha']} && bench run" in r.stdout
    assert f"harness {data['spec']['harness']}" in r.stdout
    r = bench("validate", str(rec))
    assert r.returncode == 0 and "ok: record" in r.stdout and "status ok" in r.stdout
    # `bench validate RECORD` checks the JSON Schema and lists every violation on one line.
    data["spec"]["seed"] = "zero"
    data["labels"]["regime"] = "IV"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    r = bench("validate", str(bad))
    _assert_clean_error(r, "2 schema violation(s)", "spec/seed", "labels/regime")


def test_reproduce_command(smoke_run, tmp_path):
    _, out = smoke_run
    rec = records_under(out)[0]
    r = bench("reproduce", str(rec), "--out", str(tmp_path / "again"))
    # Same commit and machine; the seed trained in a vmapped pair then alone, so float32 sums
    # may differ in the last bits (reproduce.py's docstring): well within the 1 % default.
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("reproduced: seed 0") and "tolerance 1 %" in r.stdout
    data = json.loads(rec.read_text())
    data["metrics"]["rel_l2"] *= 1.5  # a record whose number the code no longer gives
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    r = bench("reproduce", str(tampered), "--out", str(tmp_path / "again2"))
    assert r.returncode == 1 and r.stdout.startswith("NOT reproduced"), (r.stdout, r.stderr)
    _assert_clean_error(bench("reproduce", str(tmp_path / "missing.json")), "no such record")
    _assert_clean_error(bench("reproduce", str(rec), "--tolerance", "-1"), "--tolerance")


def test_doctor_finds_the_committed_official_records_healthy():
    official = Path(__file__).parents[1] / "leaderboard" / "runs"
    n = len(list(official.rglob("seed-*.json")))
    r = bench("doctor", "--runs", str(official))
    assert r.returncode == 0, r.stdout
    assert f"{official}: {n} healthy record(s), 0 problem(s)" in r.stdout


def test_validate_solver_entry():
    from regimebench._catalogue import solvers_dir

    r = bench("validate", str(solvers_dir() / "pinn-mlp-adam"), "--no-smoke")  # smoke: own test
    assert r.returncode == 0, r.stderr
    assert "ok: pinn-mlp-adam" in r.stdout


def _assert_clean_error(r, *fragments):
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def test_bad_input_gives_one_line_and_exit_2(tmp_path):
    out = tmp_path / "out"
    _assert_clean_error(bench("run", "--problem", "helmholz", "--out", str(out)),
                        "Unknown problem 'helmholz'", "Did you mean 'helmholtz'")
    _assert_clean_error(bench("run", "--problem", "helmholtz", "--solver", "pinn-mlp-adm",
                              "--out", str(out)), "Unknown solver 'pinn-mlp-adm'")
    _assert_clean_error(bench("run", "--problem", "helmholtz", "--seeds", "0", "--out", str(out)),
                        "--seeds must be a positive integer")
    _assert_clean_error(bench("run", "--problem", "helmholtz", "--seeds", "-2", "--out",
                              str(out)), "--seeds")
    _assert_clean_error(bench("run", "--problem", "helmholtz", "--task", "inverse", "--out",
                              str(out)), "no task 'inverse'")
    _assert_clean_error(bench("run", "--problem", "helmholtz", "--budget", "huge", "--out",
                              str(out)), "Unknown budget tier 'huge'")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _assert_clean_error(bench("run", "--problem", "helmholtz", "--budget", "smoke", "--seeds",
                              "1", "--out", str(blocker / "sub")), "cannot write to results")
    bad = tmp_path / "bad-entry"
    bad.mkdir()
    (bad / "solver.toml").write_text('name = "bad-entry"\nversion = 1\n[architecture\n')
    _assert_clean_error(bench("validate", str(bad)), "malformed TOML")
    (bad / "solver.toml").write_text(
        'name = "bad-entry"\nversion = 1\ncolour = "red"\n[architecture]\nkind = "mlp"\n'
        '[[phases]]\nkind = "adam"\n')
    _assert_clean_error(bench("validate", str(bad)), "unknown key 'colour'")
    (bad / "solver.toml").write_text(
        'name = "bad-entry"\nversion = 1\n[architecture]\nkind = "mpl"\n[[phases]]\nkind = "adam"\n')
    _assert_clean_error(bench("run", "--problem", "helmholtz", "--solver", str(bad), "--out",
                              str(out)), "Did you mean 'mlp'")
    assert not out.exists() or records_under(out) == []  # nothing half-written


def test_crash_becomes_a_crashed_record(tmp_path):
    planned = plan(RunRequest(problem="helmholtz", seeds=[0, 1], budget="smoke", out=tmp_path))

    def exploding(*args, **kwargs):
        raise RuntimeError("simulated failure inside training")

    recs = execute(planned, train_fn=exploding)
    assert [r["status"] for r in recs] == ["crashed", "crashed"]
    assert "simulated failure" in recs[0]["traceback"]
    assert recs[0]["labels"]["failure_modes"] == ["crashed"]
    assert len(records_under(tmp_path)) == 2


def test_text_is_never_markup_and_controls_are_escaped(tmp_path):
    from regimebench.cli._common import plain

    assert plain("\x1b[31mred\x07").plain == "\\x1b[31mred\\x07"
    assert plain("[bold]x[/]").plain == "[bold]x[/]"
    _assert_clean_error(bench("run", "--problem", "[/]", "--out", str(tmp_path)),
                        "Unknown problem '[/]'")
    _assert_clean_error(bench("run", "--problem", "helmholtz", "--seed-layout", "bogus", "--out",
                              str(tmp_path)), "Unknown seed layout 'bogus'")
    _assert_clean_error(bench("batch", "--problem", "helmholtz", "--executor", "rya"),
                        "Unknown executor 'rya'. Did you mean 'ray'?")
    assert not any(tmp_path.iterdir())  # bad input: nothing written
