"""Issue 14: untrusted entries, malformed records and files, bad values, and faults.

One section per failure class of the issue's list, each with at least one case that asserts the
exit code, exactly one ``error:``/``warning:`` line on stderr (progress notes aside), the files
left behind, and that no command prints a Python traceback:

1. an entry's code never runs unless trusted (and the pull-request check, acceptance 2);
2. a malformed record (``schema_version`` a string or null, JSON nested 100 000 deep) is one
   line in every tool that reads records;
3. non-regular, out-of-tree and duplicated files (a FIFO, a link to ``/dev/zero``, a link
   leaving the folder, a copy of a record under another seed's name);
4. a corrupt record at a seed's path is set aside and retrained, a crashed seed is retried, a
   failed one is kept;
5. bad input fails before any record is written (seed layout, huge seeds, ``width = 0``,
   ``lr = nan``), and a corrupt reference cache is reported and rebuilt;
6. markup and control characters are printed as text;
7. every value of an entry is checked (types, ranges, names with "did you mean");
8. the smaller ones: live temp files, non-regular output targets, ``--platform gpu`` without a
   GPU, absurd seed counts, a full disk, a read-only folder, a broken ``module.py``, file modes.

Most cases run in this process with Typer's runner (fast); real processes only where a process
is the point: the pull-request script, a FIFO (a wrong reader would block forever: a subprocess
can be timed out), and ``--platform`` (JAX's platform is chosen once per process).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import TINY_ENTRY, tiny_entry

import regimebench as rb
from regimebench.cli import entry
from regimebench.outcomes import FailureReason, Status
from regimebench.record import (
    RecordError,
    RunRecord,
    RunSpec,
    iter_records,
    read_record,
    write_record,
)
from regimebench.recording import crash_record

REPO = Path(__file__).resolve().parents[1]
# Progress notes a training command prints on stderr besides its warnings and errors.
NOTES = ("Training ", "compiling", "already have records")


def _env(**extra):
    env = dict(os.environ)
    paths = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), *paths])
    env.update(extra)
    return env


class _EntryPoint:
    """The ``bench`` console script as Typer's test runner drives a command: through
    :func:`regimebench.cli.entry`, which is what turns usage errors into one line."""

    name = "bench"

    def main(self, args=(), prog_name=None, **extra):
        sys.exit(entry(list(args)))


def bench(*args):
    """``bench ARGS`` in this process, as the installed command runs it."""
    return CliRunner().invoke(_EntryPoint(), [str(a) for a in args])


def one_line(r, code: int, *fragments: str, strict: bool = True) -> str:
    """Assert the exit code, no traceback, and exactly one ``error:``/``warning:`` line on
    stderr containing ``fragments`` (``strict``: and nothing else on stderr); return it."""
    stdout, stderr = r.stdout, r.stderr
    code_got = r.exit_code if hasattr(r, "exit_code") else r.returncode  # runner or subprocess
    assert code_got == code, (code_got, stdout[-2000:], stderr[-2000:])
    assert "Traceback" not in stderr and "Traceback" not in stdout
    if hasattr(r, "exception") and r.exception is not None:
        assert isinstance(r.exception, SystemExit), repr(r.exception)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    problems = [ln for ln in lines if ln.startswith(("error:", "warning:"))]
    assert len(problems) == 1, stderr
    if strict:
        assert len(lines) == 1, stderr
    else:
        assert all(ln in problems or any(n in ln for n in NOTES) for ln in lines), stderr
    for f in fragments:
        assert f in problems[0], problems[0]
    return problems[0]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file() or p.is_symlink())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two real records of a tiny entry (helmholtz, smoke tier): what the cases copy around."""
    base = tmp_path_factory.mktemp("trained")
    entry = tiny_entry(base)
    runs = rb.run("helmholtz", entry, seeds=2, budget="smoke", out=base / "runs")
    assert [r["status"] for r in runs.records] == ["ok", "ok"]
    return entry, base / "runs", runs.paths


def copy_runs(trained, dest: Path) -> tuple[Path, list[Path]]:
    _, runs, paths = trained
    shutil.copytree(runs, dest)
    return dest, [dest / p.relative_to(runs) for p in paths]


# ======================================================================= 1. entries carrying code
EVIL_MODULE = """\
from pathlib import Path
Path({marker!r}).write_text("the entry's code ran")
"""


def code_entry(parent: Path, marker: Path, name: str = "evil") -> Path:
    folder = tiny_entry(parent, name=name)
    (folder / "module.py").write_text(EVIL_MODULE.format(marker=str(marker)))
    return folder


@pytest.fixture
def catalogue(tmp_path, monkeypatch):
    """The real problems with a solvers/ holding a TOML-only entry and one that carries code."""
    from regimebench._catalogue import problems_dir

    root = tmp_path / "catalogue"
    (root / "solvers").mkdir(parents=True)
    (root / "problems").symlink_to(problems_dir(), target_is_directory=True)
    tiny_entry(root / "solvers", name="good")
    marker = tmp_path / "marker"
    code_entry(root / "solvers", marker)
    monkeypatch.setenv("REGIMEBENCH_ROOT", str(root))
    monkeypatch.delenv("REGIMEBENCH_TRUST_CODE", raising=False)
    return root, marker


def test_code_of_an_entry_is_never_imported_unless_trusted(tmp_path, catalogue):
    root, marker = catalogue
    r = bench("list", "solvers")
    assert r.exit_code == 0 and "Traceback" not in r.stderr, r.stderr
    assert "needs review" in r.stdout and "good" in r.stdout
    r = bench("validate", "--no-smoke", root / "solvers" / "evil")
    one_line(r, 3, "carries code (module.py): needs review", "--trust-code")
    out = tmp_path / "out"
    r = bench("run", "-p", "helmholtz", "-s", "evil", "--budget", "smoke", "--out", out)
    one_line(r, 3, "needs review")
    assert not out.exists()
    pytest.importorskip("jinja2")
    r = bench("leaderboard", "build", "--runs", tmp_path / "no-runs", "--out", tmp_path / "site")
    assert r.exit_code == 0, r.stderr
    assert "solver evil:" in r.stderr and "needs review" in r.stderr
    assert "Traceback" not in r.stderr
    assert not marker.exists()  # listing, validating, planning and the site ran none of it
    # Asked explicitly, the code is imported (what the maintainer-approved job does).
    r = bench("validate", "--no-smoke", "--trust-code", root / "solvers" / "evil")
    assert r.exit_code == 0 and "ok: evil" in r.stdout, r.stderr
    assert marker.read_text() == "the entry's code ran"


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def test_pull_request_check_does_not_run_an_entrys_code(tmp_path):
    """Acceptance 2: what the automatic job of .github/workflows/validate-entries.yml runs, on a
    branch adding an entry whose module.py writes a file; then the maintainer-approved job."""
    repo, marker, outputs = tmp_path / "repo", tmp_path / "marker", tmp_path / "github-output"
    (repo / "solvers").mkdir(parents=True)
    (repo / "solvers" / "README.md").write_text("entries\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "checkout", "-qb", "pr")
    code_entry(repo / "solvers", marker, name="my-entry")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "add my-entry with a module.py")
    env = _env(PYTHON=sys.executable, GITHUB_OUTPUT=str(outputs))
    env.pop("REGIMEBENCH_TRUST_CODE", None)
    r = subprocess.run([str(REPO / ".ci" / "validate-entries"), "main"], cwd=repo,
                       capture_output=True, text=True, env=env, timeout=300)
    one_line(r, 0, "solvers/my-entry: carries code (module.py): needs review")
    assert "needs review: solvers/my-entry" in r.stdout
    assert not marker.exists()  # the automatic job did not run the entry's code
    assert outputs.read_text().strip() == "needs_review=true"  # the gated job is asked for
    # The job a maintainer approves imports it and smoke-trains it.
    r = subprocess.run([str(REPO / ".ci" / "validate-entries"), "--trust-code", "main"],
                       cwd=repo, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "smoke helmholtz/forward: ok" in r.stdout and marker.exists()


def test_workflows_gate_code_behind_a_review_without_secrets_or_write_tokens():
    yaml = pytest.importorskip("yaml")
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    for path in workflows:
        text = path.read_text()
        code = "\n".join(ln.split("#")[0] for ln in text.splitlines())  # not the comments
        assert "pull_request_target" not in code and "secrets." not in code, path.name
        doc = yaml.safe_load(text)
        assert doc["permissions"] == {"contents": "read"}, path.name
        for job in doc["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("actions/checkout"):
                    assert step["with"]["persist-credentials"] is False, path.name
    doc = yaml.safe_load((REPO / ".github" / "workflows" / "validate-entries.yml").read_text())
    auto, gated = doc["jobs"]["toml-entries"], doc["jobs"]["entries-with-code"]
    auto_runs = " ".join(s.get("run", "") for s in auto["steps"])
    assert ".ci/validate-entries" in auto_runs and "--trust-code" not in auto_runs
    assert "environment" not in auto
    assert gated["environment"] == "entry-review" and gated["needs"] == "toml-entries"
    assert "needs_review" in gated["if"]
    assert "--trust-code" in " ".join(s.get("run", "") for s in gated["steps"])


# ======================================================================= 2. malformed records
def _deep(path: Path) -> None:
    path.write_text("[" * 100_000 + "]" * 100_000)


def _schema_version(value):
    def write(path: Path, good: Path) -> None:
        rec = json.loads(good.read_text())
        rec["schema_version"] = value
        path.write_text(json.dumps(rec))
    return write


@pytest.mark.parametrize("make", [_schema_version("1"), _schema_version(None), "deep"],
                         ids=["schema_version-string", "schema_version-null", "nested-100000"])
def test_a_malformed_record_is_one_line_in_every_reader(tmp_path, trained, make):
    runs, (good, _) = copy_runs(trained, tmp_path / "runs")
    bad = good.with_name("seed-5.json")
    _deep(bad) if make == "deep" else make(bad, good)
    before = files_under(runs)
    # Readers of folders: one warning line, the good records used.
    r = bench("relabel", "--runs", runs)
    one_line(r, 0, str(bad))
    assert "relabelled" in r.stdout
    r = bench("regimes", "-p", "helmholtz", "-s", "tiny", "--runs", runs, "--json",
              tmp_path / "map.json")
    one_line(r, 0, str(bad))
    assert json.loads((tmp_path / "map.json").read_text())["cells"][0]["seeds"] == 2
    r = bench("doctor", "--runs", runs)
    assert r.exit_code == 1 and "corrupt" in r.stdout and "seed-5.json" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    if _has_site():
        r = bench("leaderboard", "build", "--runs", runs, "--out", tmp_path / "site")
        one_line(r, 0, str(bad))
        assert "from 2 record(s)" in r.stdout
    # Readers of one file: one error line.
    one_line(bench("show", bad), 2, "seed-5.json")
    one_line(bench("validate", bad), 2, "seed-5.json")
    assert files_under(runs) == before  # nothing moved, nothing deleted (doctor without --fix)


def _has_site() -> bool:
    try:
        import jinja2  # noqa: F401
    except ImportError:
        return False
    return True


# ======================================================================= 3. non-regular files
def test_a_fifo_named_like_a_record_is_never_opened(tmp_path, trained):
    """A FIFO blocks whoever opens it for reading: real processes, so a hang is a timeout."""
    runs, (good, _) = copy_runs(trained, tmp_path / "runs")
    fifo = good.with_name("seed-3.json")
    os.mkfifo(fifo)
    for args in (["relabel", "--runs", runs],
                 ["doctor", "--runs", runs]):
        r = subprocess.run([sys.executable, "-m", "regimebench", *map(str, args)],
                           capture_output=True, text=True, env=_env(), timeout=120)
        if args[0] == "doctor":
            assert r.returncode == 1 and "not a file" in r.stdout and "Traceback" not in r.stderr
        else:
            one_line(r, 0, "a FIFO, not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # left where it was


def test_links_and_copies_are_not_read_or_counted(tmp_path, trained):
    from regimebench.leaderboard import load_runs

    runs, (good, other) = copy_runs(trained, tmp_path / "runs")
    outside = tmp_path / "elsewhere.json"
    shutil.copy(other, outside)
    other.unlink()  # seed 1 now only outside the folder, behind a link
    (good.parent / "seed-1.json").symlink_to(outside)
    (good.parent / "seed-4.json").symlink_to("/dev/zero")
    shutil.copy(good, good.with_name("seed-7.json"))  # a misplaced copy of seed 0
    loaded, warnings = load_runs(runs)  # the site's loader
    assert [item.relpath.rsplit("/", 1)[1] for item in loaded] == ["seed-0.json"]
    assert len(warnings) == 3
    assert any("leaving the results folder" in w and "seed-1.json" in w for w in warnings)
    assert any("/dev/zero" in w for w in warnings)
    assert any("seed-7.json" in w and "same run and seed" in w for w in warnings)
    # The map counts seed 0 once; each skipped file is one warning line.
    r = bench("regimes", "-p", "helmholtz", "-s", "tiny", "--runs", runs, "--json",
              tmp_path / "map.json")
    assert r.exit_code == 0 and "Traceback" not in r.stderr
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]) == 3
    assert json.loads((tmp_path / "map.json").read_text())["cells"][0]["seeds"] == 1
    r = bench("doctor", "--runs", runs, "--fix")
    assert r.exit_code == 1 and "2 problem(s) left for you" in r.stdout  # the two links
    assert good.with_name("seed-7.json.duplicate").is_file() and outside.is_file()
    assert os.path.islink(good.parent / "seed-4.json")  # a link is the user's to remove


# ======================================================================= 4. resume rules
def test_corrupt_record_is_set_aside_and_retrained_crashed_retried_failed_kept(tmp_path,
                                                                             trained):
    entry, _, _ = trained
    runs, (s0, s1) = copy_runs(trained, tmp_path / "runs")
    s0.write_text('{"schema_version": 2, "kind": "run", "spec": ')  # a corrupt record
    rec1 = read_record(s1)
    spec1 = RunSpec.from_dict(rec1["spec"])
    write_record(s1, crash_record(spec1, {}, "RuntimeError: boom", "exception"))
    s2 = s0.with_name("seed-2.json")
    typed = RunRecord.from_dict(rec1)
    failed = dataclasses.replace(typed, spec=dataclasses.replace(typed.spec, seed=2),
                                 status=Status.FAILED, failure=FailureReason.NON_FINITE,
                                 failed_step=7)
    write_record(s2, failed)
    before2 = {k: v for k, v in read_record(s2).items() if k != "labels"}
    r = bench("run", "-p", "helmholtz", "-s", entry, "--seeds", "3", "--budget", "smoke",
              "--out", runs)
    assert r.exit_code == 0, (r.stdout, r.stderr)
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 2 and "Traceback" not in r.stderr
    assert [w for w in warnings if "seed-0.json" in w][0].endswith("running it again")
    assert "crashed last time" in [w for w in warnings if "seed-1.json" in w][0]
    assert "× 2 seed(s)" in r.stderr  # seeds 0 and 1 trained; the failed seed 2 is a result
    assert s0.with_name("seed-0.json.corrupt").is_file()
    assert read_record(s0)["status"] == "ok" and read_record(s1)["status"] == "ok"
    # the failed seed is a result, not retrained: everything but its labels is as it was (the
    # labels are relative to the group's seeds, and the group gained two, so they may change)
    assert {k: v for k, v in read_record(s2).items() if k != "labels"} == before2


# ======================================================================= 5. bad input, no records
BAD_ENTRY_VALUES = {"width-0": ("width = 8", "width = 0", "'width' must be a positive integer"),
                    "lr-nan": ("lr = 1e-3", "lr = nan", "option 'lr' of optimizer 'adam' must "
                                                        "be finite")}


@pytest.mark.parametrize("case", ["seed-layout", "seed-start", *BAD_ENTRY_VALUES])
def test_bad_input_fails_before_any_record(tmp_path, case):
    out = tmp_path / "out"
    args = ["run", "-p", "helmholtz", "--budget", "smoke", "--seeds", "1", "--out", out]
    if case == "seed-layout":
        r = bench(*args, "--seed-layout", "bogus")
        one_line(r, 2, "Unknown seed layout 'bogus'")
    elif case == "seed-start":
        r = bench(*args, "--seed-start", str(2**40))
        one_line(r, 2, "seeds must be at most 2147483647")
    else:
        old, new, message = BAD_ENTRY_VALUES[case]
        entry = tiny_entry(tmp_path, name="bad")
        toml = entry / "solver.toml"
        toml.write_text(toml.read_text().replace(old, new))
        r = bench(*args, "-s", entry)
        one_line(r, 2, message)
    assert not out.exists()  # no "crashed" record, nothing at all


def test_corrupt_reference_cache_sidecar_is_reported_and_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("REGIMEBENCH_CACHE", str(tmp_path / "cache"))
    r = bench("reference", "build", "-p", "helmholtz")
    assert r.exit_code == 0, r.stderr
    (sidecar,) = (tmp_path / "cache" / "helmholtz").glob("*.json")
    sidecar.write_text("[]")  # valid JSON, not a sidecar: crashed every later run before
    r = bench("reference", "build", "-p", "helmholtz")
    one_line(r, 0, "reference cache entry", "is corrupt", "rebuilding it")
    meta = json.loads(sidecar.read_text())
    assert isinstance(meta, dict) and meta["error_floor"] >= 0  # repaired in place
    r = bench("reference", "build", "-p", "helmholtz")
    assert r.exit_code == 0 and r.stderr == ""  # and trusted again


# ======================================================================= 6. markup and escapes
def test_markup_and_control_characters_print_as_text(tmp_path, trained):
    runs, (good, _) = copy_runs(trained, tmp_path / "runs")
    rec = read_record(good)
    rec["spec"]["solver"] = "[/]evil\x1b[31m"
    rec["metrics"]["[bold]x[/]"] = 1.0
    rec["status"], rec["failure"] = "crashed", "exception"
    rec["traceback"] = "\x1b]0;pwned\x07[red]boom[/red]"
    weird = tmp_path / "weird.json"
    weird.write_text(json.dumps(rec))
    r = bench("show", weird)
    assert r.exit_code == 0 and r.stderr == "", r.stderr
    assert "[/]evil\\x1b[31m" in r.stdout and "[bold]x[/]" in r.stdout
    assert "\\x1b]0;pwned\\x07[red]boom[/red]" in r.stdout
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    one_line(bench("run", "--problem", "[/]", "--out", tmp_path / "o"), 2,
             "Unknown problem '[/]'")
    entry = tiny_entry(tmp_path, name="typed")
    toml = entry / "solver.toml"
    toml.write_text(toml.read_text().replace("width = 8", 'width = "64"'))
    one_line(bench("validate", "--no-smoke", entry), 2,
             "solver.toml [architecture]: option 'width'", "must be an integer")
    assert not (tmp_path / "o").exists()


# ======================================================================= 7. values of an entry
VALUE_CASES = [
    ('width = "64"', "option 'width' of architecture 'mlp' must be an integer, got a string"),
    ("width = 0", "'width' must be a positive integer, got 0"),
    ("depth = 1000", "'depth' = 1000 is above the limit 128"),
    ('activation = "tnah"', "Unknown activation 'tnah'. Did you mean 'tanh'?"),
    ('embedding = { kind = "fourir" }', "Unknown embedding 'fourir'. Did you mean 'fourier'?"),
    ('embedding = { kind = "fourier", dim = 3 }', "'dim' must be an even integer"),
    ('lr = "1e-3"', "option 'lr' of optimizer 'adam' must be a number, got a string"),
    ("lr = nan", "option 'lr' of optimizer 'adam' must be finite, got nan"),
    ("lr = inf", "must be finite, got inf"),
    ('problems = ["helmholz"]', "unknown problem 'helmholz' in 'problems'. Did you mean "
                                "'helmholtz'?"),
    ("fraction = nan", "'fraction' must be in (0, 1], got nan"),
    ('dtype = "float16"', "unknown dtype 'float16'"),
    ("[sweep]\nlr = [1e-3, 1e-2]", "a [sweep] table is not supported"),
]


def _entry_with(tmp_path, line: str) -> Path:
    folder = tmp_path / "bad"
    folder.mkdir()
    toml = TINY_ENTRY.format(name="bad", arch="mlp")
    key = line.split("=")[0].strip()
    if line.startswith("["):
        toml += "\n" + line + "\n"
    elif key in ("problems", "dtype"):
        toml = "\n".join(line if ln.startswith(key + " ") else ln for ln in toml.splitlines())
    elif key in ("lr", "fraction"):
        toml = toml.replace({"lr": "lr = 1e-3", "fraction": "fraction = 1.0"}[key], line)
    else:  # an architecture option
        toml = toml.replace("depth = 2", "depth = 2\n" + line) if key != "depth" else \
            toml.replace("depth = 2", line)
        if key == "width":
            toml = toml.replace("width = 8\n", "")
    (folder / "solver.toml").write_text(toml)
    return folder


@pytest.mark.parametrize("line, message", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_every_value_of_an_entry_is_checked(tmp_path, line, message):
    entry = _entry_with(tmp_path, line)
    one_line(bench("validate", "--no-smoke", entry), 2, message)
    assert sorted(p.name for p in entry.iterdir()) == ["solver.toml"]  # nothing written


@pytest.mark.parametrize("line, option", [
    ("lr = -1e-3", "adam option 'lr' must be positive"),
    ("lr = 1e-3\nb1 = 2.0", "adam option 'b1' must be in [0, 1)"),
    ("lr = 1e-3\neps = -1.0", "adam option 'eps' must be positive"),
    ("lr = 1e-3\ndecay_steps = 0", "adam option 'decay_steps' must be a positive integer"),
])
def test_out_of_range_optimizer_options_are_refused(tmp_path, line, option):
    entry = _entry_with(tmp_path, line)  # a line starting "lr = " replaces the phase's lr line
    one_line(bench("validate", "--no-smoke", entry), 2, option)


def test_a_negative_term_weight_is_refused(tmp_path):
    from regimebench.solver import SolverSpecError, parse_solver

    raw = tomllib.loads(TINY_ENTRY.format(name="bad", arch="mlp"))
    raw["weighting"] = {"kind": "fixed", "weights": {"bc": -1.0}}
    with pytest.raises(SolverSpecError, match="weight of 'bc' must be a finite number ≥ 0"):
        parse_solver(raw, where="bad/solver.toml")
    raw["weighting"] = {"kind": "fixed", "weights": {"pde": 0.0}}  # 0: recorded, not trained
    assert parse_solver(raw, where="ok/solver.toml").weighting.options == {"weights": {"pde": 0.0}}


# ======================================================================= 8. the smaller ones
def test_doctor_fix_leaves_live_writes_alone(tmp_path, trained):
    runs, (good, _) = copy_runs(trained, tmp_path / "runs")
    live = good.parent / f".seed-8.json.{os.getpid()}-abc.tmp"  # this process is alive
    young = good.parent / ".seed-9.json.99999999-abc.tmp"  # no such process, but seconds old
    stale = good.parent / ".seed-6.json.99999999-abc.tmp"  # no such process, an hour old
    for p in (live, young, stale):
        p.write_text("{")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    os.utime(live, (time.time() - 3600, time.time() - 3600))
    r = bench("doctor", "--runs", runs, "--fix")
    assert r.exit_code == 0 and "Traceback" not in r.stderr
    (line,) = r.stderr.splitlines()  # one line, a note: nothing is wrong with a live write
    assert "2 write(s) in progress" in line and "left alone" in line
    assert live.exists() and young.exists() and not stale.exists()


def test_output_paths_refuse_non_regular_targets(tmp_path, trained):
    runs, _ = copy_runs(trained, tmp_path / "runs")
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)  # stands for /dev/null: a device node must never be replaced
    r = bench("regimes", "-p", "helmholtz", "-s", "tiny", "--runs", runs, "--json", fifo)
    one_line(r, 2, f"refusing to write {fifo}", "a FIFO")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_records_are_readable_by_the_group(tmp_path, trained):
    old = os.umask(0o022)
    try:
        path = write_record(tmp_path / "r.json", read_record(trained[2][0]))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_platform_without_the_device_is_one_line(tmp_path):
    if shutil.which("nvidia-smi") or Path("/dev/nvidia0").exists():
        pytest.skip("this machine has a GPU")
    r = subprocess.run([sys.executable, "-m", "regimebench", "run", "-p", "helmholtz",
                        "--budget", "smoke", "--seeds", "1", "--platform", "gpu", "--out",
                        str(tmp_path / "out")], capture_output=True, text=True,
                       env=_env(JAX_PLATFORMS=""), timeout=300)
    one_line(r, 2, "--platform gpu: JAX cannot use this platform here")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("seeds, message", [(str(10**12), "more than one command can plan"),
                                            ("20000", "add --allow-many-seeds")])
def test_absurd_seed_counts_need_confirmation(tmp_path, seeds, message):
    r = bench("run", "-p", "helmholtz", "--seeds", seeds, "--out", tmp_path / "out")
    one_line(r, 2, message)
    assert not (tmp_path / "out").exists()


def test_full_disk_during_leaderboard_build(tmp_path, trained, monkeypatch):
    pytest.importorskip("jinja2")
    runs, _ = copy_runs(trained, tmp_path / "runs")
    real = Path.write_text

    def full(self, *args, **kwargs):
        if str(self).startswith(str(tmp_path / ".site")):  # the build's temporary folder
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    r = bench("leaderboard", "build", "--runs", runs, "--out", tmp_path / "site")
    one_line(r, 2, "cannot write the site under", "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # no half-built site


def test_read_only_results_folder(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    r = bench("run", "-p", "helmholtz", "--budget", "smoke", "--seeds", "1", "--out",
              tmp_path / "out")
    one_line(r, 2, "cannot write to results folder", "Read-only file system")
    assert files_under(tmp_path) == []


def test_a_broken_module_is_one_row_not_the_end_of_the_list(tmp_path, catalogue, monkeypatch):
    root, _ = catalogue
    broken = tiny_entry(root / "solvers", name="broken")
    (broken / "module.py").write_text("raise RuntimeError('broken')\n")
    monkeypatch.setenv("REGIMEBENCH_TRUST_CODE", "1")
    r = bench("list", "solvers")
    assert r.exit_code == 0 and r.stderr == "", r.stderr
    assert "invalid" in r.stdout and "RuntimeError: broken" in r.stdout
    assert "good" in r.stdout and "evil" in r.stdout  # the other entries are listed


def test_loader_never_raises_on_what_a_folder_holds(tmp_path, trained):
    """The one loader over a folder holding every kind of bad file at once: one error each."""
    runs, (good, _) = copy_runs(trained, tmp_path / "runs")
    (good.parent / "seed-10.json").write_text('{"schema_version": "1", "spec": {}}')
    _deep(good.parent / "seed-11.json")
    (good.parent / "seed-12.json").mkdir()  # a folder named like a record: walked, not read
    os.mkfifo(good.parent / "seed-13.json")
    (good.parent / "seed-14.json").write_bytes(b"\xff\xfe not utf-8")
    found = dict(iter_records(runs))
    errors = {p.name: e for p, e in found.items() if isinstance(e, RecordError)}
    assert sorted(errors) == ["seed-10.json", "seed-11.json", "seed-13.json", "seed-14.json"]
    assert str(errors["seed-13.json"].problem) == "not a file"
    assert "nested too deeply" in str(errors["seed-11.json"])
    assert sum(not isinstance(r, RecordError) for r in found.values()) == 2
