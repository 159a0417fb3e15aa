"""Crash safety of sweeps (Ctrl-C, kill -9, resume), bench doctor, the pull-request check,
the wandb mirror, and lazy optional imports."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import tiny_entry
from typer.testing import CliRunner

from regimebench.cli import app
from regimebench.record import RecordError, iter_records, read_record, stray_temp_files
from regimebench.runner import RunRequest, execute, plan

REPO = Path(__file__).resolve().parents[1]


def _env():
    env = dict(os.environ)
    paths = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), *paths])
    return env


def _records(out):
    return sorted(Path(out).rglob("seed-*.json"))


# Enough seeds that the batch cannot finish between the first record and the signal, even on a
# loaded machine (after compilation each smoke seed takes a fraction of a second).
SEEDS = 24


def _batch_cmd(entry, out):
    args = ["batch", "--problem", "helmholtz", "--solver", str(entry), "--seeds", str(SEEDS),
            "--budget", "smoke", "--isolate-seeds", "--out", str(out)]
    # A shell that starts jobs in the background (`cmd &`) makes them ignore SIGINT, and Python
    # keeps an inherited "ignore": the child installs the default handler itself before running
    # the CLI, so Ctrl-C reaches the batch wherever the test suite was started from (no
    # preexec_fn: forking a multithreaded JAX process is unsafe).
    boot = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "sys.argv = ['bench', *sys.argv[1:]]; runpy.run_module('regimebench', run_name='__main__')")
    return [sys.executable, "-c", boot, *args]


def _start_batch(entry, out):
    return subprocess.Popen(_batch_cmd(entry, out), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())


def _wait_for_records(proc, out, n, timeout=300):
    t0 = time.time()
    while len(_records(out)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < timeout, "no record appeared"
        time.sleep(0.05)


def test_interrupt_and_kill_lose_nothing_and_resume_continues(tmp_path):
    entry, out = tiny_entry(tmp_path), tmp_path / "out"
    # Ctrl-C after the first record: a one-line message, exit 130, the record kept.
    proc = _start_batch(entry, out)
    _wait_for_records(proc, out, 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted; finished records are kept" in err and "Traceback" not in err
    after_int = {p: p.stat().st_mtime_ns for p in _records(out)}
    assert 1 <= len(after_int) < SEEDS
    # kill -9 after one more record: no partial record, at most a stray temp file.
    proc = _start_batch(entry, out)
    _wait_for_records(proc, out, len(after_int) + 1)
    proc.kill()
    proc.wait()
    after_kill = _records(out)
    for path in after_kill:
        assert read_record(path)["status"] == "ok"  # whole records only
    assert [p for p in out.rglob("*") if p.is_file() and p not in after_kill
            and not p.name.endswith(".tmp")] == []
    # Resume: the missing seeds run, the finished ones are left alone.
    r = subprocess.run(_batch_cmd(entry, out), capture_output=True, text=True, env=_env(),
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"{len(after_kill)} of {SEEDS} seed(s) already have records" in r.stderr
    assert len(_records(out)) == SEEDS
    assert all(p.stat().st_mtime_ns == t for p, t in after_int.items())
    assert all(read_record(p)["status"] == "ok" for p in _records(out))


def test_doctor_reports_corrupt_stray_and_misplaced_files(tmp_path):
    out = tmp_path / "runs"
    planned = plan(RunRequest(problem="helmholtz", seeds=[0, 1, 2], budget="smoke", out=out))

    def crash(*a, **k):  # no training needed: crashed records are real records
        raise MemoryError

    recs = execute(planned, train_fn=crash)
    assert [r["failure"] for r in recs] == ["out_of_memory"] * 3
    good, bad, moved = planned.paths
    bad.write_text("{half a record")
    shutil.move(moved, moved.with_name("seed-7.json"))
    stray = good.parent / ".seed-9.json.abcd.tmp"  # a write killed an hour ago
    stray.write_text("{")
    os.utime(stray, (time.time() - 3600, time.time() - 3600))
    (out / ".wandb").mkdir()
    (out / ".wandb" / "wandb-summary.json").write_text("{}")  # tool state, not a record

    items = dict(iter_records(out))
    assert set(items) == {good, bad, moved.with_name("seed-7.json")}
    assert isinstance(items[bad], RecordError) and items[good]["status"] == "crashed"
    assert stray_temp_files(out) == [good.parent / ".seed-9.json.abcd.tmp"]

    runner = CliRunner()
    r = runner.invoke(app, ["doctor", "--runs", str(out)])
    assert r.exit_code == 1, r.output
    assert "1 healthy record(s), 3 problem(s)" in r.output
    for word in ("corrupt", "stray temp", "misplaced", "seed-1.json", "seed-7.json"):
        assert word in r.output
    r = runner.invoke(app, ["doctor", "--runs", str(out), "--fix"])
    assert r.exit_code == 1 and "1 problem(s) left for you" in r.output  # moving is yours
    assert stray_temp_files(out) == [] and bad.with_name("seed-1.json.corrupt").is_file()
    moved.with_name("seed-7.json").rename(moved)
    r = runner.invoke(app, ["doctor", "--runs", str(out)])
    assert r.exit_code == 0 and "2 healthy record(s), 0 problem(s)" in r.output
    r = runner.invoke(app, ["doctor", "--runs", str(tmp_path / "nowhere")])
    assert r.exit_code == 2


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def test_pull_request_check_of_an_entry_with_a_typo(tmp_path):
    """What .github/workflows/validate-entries.yml runs, on a PR adding a misspelt entry."""
    repo = tmp_path / "repo"
    (repo / "solvers").mkdir(parents=True)
    (repo / "solvers" / "README.md").write_text("entries\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "checkout", "-qb", "pr")
    tiny_entry(repo / "solvers", name="my-entry", arch="mpl")  # typo: mlp
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "add my-entry")
    r = subprocess.run([str(REPO / ".ci" / "validate-entries"), "main"], cwd=repo,
                       capture_output=True, text=True, env={**_env(), "PYTHON": sys.executable},
                       timeout=300)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "bench validate solvers/my-entry" in r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "Unknown architecture 'mpl'. Did you mean 'mlp'?" in lines[0]


def test_validate_smokes_the_declared_problems_by_default(tmp_path):
    entry = tiny_entry(tmp_path, name="good")
    runner = CliRunner()
    r = runner.invoke(app, ["validate", str(entry), "--out", str(tmp_path / "smoke")])
    assert r.exit_code == 0, r.output
    assert "ok: good" in r.output and "smoke helmholtz/forward: ok" in r.output
    r = runner.invoke(app, ["validate", str(entry), "--no-smoke"])
    assert r.exit_code == 0 and "smoke" not in r.output


def test_wandb_offline_mirror_writes_a_run_directory(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no login, no settings of the user
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    entry, out = tiny_entry(tmp_path), tmp_path / "out"
    r = CliRunner().invoke(app, ["run", "--problem", "helmholtz", "--solver", str(entry),
                                 "--seeds", "1", "--budget", "smoke", "--out", str(out),
                                 "--wandb"])
    assert r.exit_code == 0, r.output
    runs = list((out / ".wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, r.output
    logs = list(runs[0].glob("run-*.wandb"))  # the offline log that `wandb sync` uploads
    assert len(logs) == 1
    # Its format is wandb-internal (protobuf records), so look for what we logged in the bytes:
    # the summary keys with the record's values, and every curve.
    rec = read_record(_records(out)[0])
    # wandb's service may still be flushing the run's last records when finish() returns on a
    # loaded machine: wait (bounded) for the summary to land.
    deadline = time.time() + 60
    while b"metrics/rel_l2" not in (data := logs[0].read_bytes()) and time.time() < deadline:
        time.sleep(0.5)
    assert b"metrics/rel_l2" in data and json.dumps(rec["metrics"]["rel_l2"]).encode() in data
    assert b"regime" in data and json.dumps(rec["labels"]["regime"]).encode() in data
    for curve in rec["curves"]:
        if curve != "evals":
            assert curve.encode() in data, curve
    assert [p for p, _ in iter_records(out)] == _records(out)  # wandb's JSON is not a record


def test_optional_dependencies_are_not_imported_unless_asked():
    code = ("import sys, regimebench.cli, regimebench.executors, regimebench.tracking as t;"
            "t.make_tracker('off'); print(sorted(m for m in ('wandb', 'ray', 'submitit') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
