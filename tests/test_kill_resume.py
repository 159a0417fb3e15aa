"""A real ``kill -9`` of ``bench run``: the finished seed groups' records survive, intact, and
the rerun trains only the missing seeds.

``bench run`` writes each seed group's records as soon as the group finishes (``train``'s
``on_group``), not after the last group; so a run killed while its second group trains keeps the
first group's seeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import tiny_entry

from regimebench.record import read_record

REPO = Path(__file__).resolve().parents[1]
SEEDS = 8  # groups of one seed: eight groups in one process, four in each of two workers


def _env():
    env = dict(os.environ)
    paths = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), *paths])
    env["JAX_PLATFORMS"] = "cpu"
    return env


def _cmd(entry, out, layout):
    # The cpu tier (3000 evaluations on helmholtz) makes a group of the tiny network take
    # seconds, long after the first record appears; compilation comes first.
    return [sys.executable, "-m", "regimebench", "run", "--problem", "helmholtz", "--solver",
            str(entry), "--seeds", str(SEEDS), "--budget", "cpu", "--seed-layout", layout,
            "--diagnostics", "off", "--out", str(out)]


def _records(out):
    return sorted(Path(out).rglob("seed-*.json"))


def _stable_records(out, quiet: float = 3.0, timeout: float = 30.0):
    """The records once none has appeared or changed for ``quiet`` seconds."""
    t0 = time.time()
    last = None
    while time.time() - t0 < timeout:
        now = {p: p.stat().st_mtime_ns for p in _records(out)}
        if now == last:
            return now
        last = now
        time.sleep(quiet)
    raise AssertionError("records kept changing after the kill: a worker outlived its parent")


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["1", "2x1"], ids=["one-process", "two-workers"])
def test_kill_9_keeps_finished_groups_and_the_rerun_trains_only_the_rest(tmp_path, layout):
    """In one process (groups of one) and with two single-threaded workers: the workers see
    their parent die and stop within a second, so no record appears after the kill settles."""
    entry, out = tiny_entry(tmp_path), tmp_path / "out"
    proc = subprocess.Popen(_cmd(entry, out, layout), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    t0 = time.time()
    while not _records(out):
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < 600, "no record appeared"
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no handler, no cleanup
    proc.wait()
    kept = _stable_records(out)
    assert 1 <= len(kept) < SEEDS, "the run was killed after its last group"
    for p in kept:
        rec = read_record(p)  # whole JSON, not a torn write
        assert rec["status"] == "ok" and rec["evals_done"] == 3000
    # Rerun: the kept seeds are skipped (not retrained, not rewritten), the rest train.
    r = subprocess.run(_cmd(entry, out, layout), capture_output=True, text=True, env=_env(),
                       timeout=900)
    assert r.returncode == 0, r.stderr
    assert f"{len(kept)} of {SEEDS} seed(s) already have records" in r.stderr
    assert f"× {SEEDS - len(kept)} seed(s)" in r.stderr  # trains only the missing ones
    assert len(_records(out)) == SEEDS
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())
    assert all(read_record(p)["status"] == "ok" for p in _records(out))
