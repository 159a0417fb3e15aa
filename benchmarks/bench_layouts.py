"""Seed layouts across processes as well as inside one: what ``seed_layout="auto"`` rests on.

S = 4 seeds of helmholtz (``BENCH_LAYOUT_SOLVER``, default ``pinn-mlp-adam``: 4 × 64 tanh MLP,
Adam, float32, points resampled every step; cpu-tier sizes, 512 + 128), each trained for
``BENCH_LAYOUT_STEPS`` steps (default 500) by the engine's own chunk program, timed after
compilation, in these layouts:

====================== ==========================================================================
``1p-default-g1``       one process, XLA's default threads, seeds one at a time (unbatched)
``1p-default-g2``       one process, default threads, vmapped groups of two
``1p-default-g4``       one process, default threads, one vmapped group of four
``1p-single-g1``        one process, single-threaded (the workers' XLA flags), one at a time
``2p-single-g1``        two single-threaded processes (one per core), two seeds each
``S3-2p-single-g1``     three seeds, two single-threaded workers (two seeds and one)
``S3-3p-single-g1``     three seeds, one single-threaded worker each (time-shared on two cores)
====================== ==========================================================================

Every layout runs in fresh child processes (XLA's flags must be set before JAX starts); the
children compile, then wait, and start training together, so the timing covers training only.
``extra_info["seed_steps_per_s"]`` = seeds × steps / wall time from the common start to the last
child's end (the first four layouts train four seeds). Compare ``2p-single-g1`` with the best
one-process layout, and the two ``S3`` layouts with each other: that is what ``auto`` claims.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _common import ROUNDS, device_info

from regimebench.engine.layout import SINGLE_THREAD_XLA_FLAGS, available_cores

STEPS = int(os.environ.get("BENCH_LAYOUT_STEPS", "500"))
SOLVER = os.environ.get("BENCH_LAYOUT_SOLVER", "pinn-mlp-adam")
SRC = Path(__file__).resolve().parents[1] / "src"
HERE = Path(__file__).resolve().parent

_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[4])
from regimebench._config import configure
configure(platform="cpu", compile_cache=False)
import jax
import _common
_common.CHUNK = int(sys.argv[3])
from _common import GroupRunner, default_setup
from regimebench.solver import load_solver
n_seeds, group = int(sys.argv[1]), int(sys.argv[2])
task, solver, sizes = default_setup("helmholtz", load_solver(sys.argv[5]))
runner = GroupRunner(task, solver, sizes, n_seeds, group)
runner.run()  # compile (and one warm-up chunk)
print("ready", flush=True)
sys.stdin.readline()
t0 = time.perf_counter()
runner.run()
print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)
"""

LAYOUTS = {  # name: [(seeds, group, single-threaded) per child process]
    "1p-default-g1": [(4, 1, False)],
    "1p-default-g2": [(4, 2, False)],
    "1p-default-g4": [(4, 4, False)],
    "1p-single-g1": [(4, 1, True)],
    "2p-single-g1": [(2, 1, True), (2, 1, True)],
    # three seeds on two cores: two workers (2 + 1 seeds) or one worker per seed (time-shared)
    "S3-2p-single-g1": [(2, 1, True), (1, 1, True)],
    "S3-3p-single-g1": [(1, 1, True), (1, 1, True), (1, 1, True)],
}
_RATES: dict[str, float] = {}


def _launch(seeds: int, group: int, single: bool) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC), "JAX_PLATFORMS": "cpu"}
    if single:
        env["XLA_FLAGS"] = " ".join([env.get("XLA_FLAGS", ""), SINGLE_THREAD_XLA_FLAGS]).strip()
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(seeds), str(group), str(STEPS),
                             str(HERE), SOLVER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def _run(children) -> float:
    """Seconds from the common start to the last child's end (training only)."""
    procs = [_launch(*c) for c in children]
    for p in procs:
        line = p.stdout.readline().strip()
        assert line == "ready", f"child failed before training: {line!r}"
    t0 = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        json.loads(p.stdout.readline())
    seconds = time.perf_counter() - t0
    for p in procs:
        p.wait()
    return seconds


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layout(benchmark, layout):
    children = LAYOUTS[layout]
    if available_cores() < 2 and len(children) > 1:
        pytest.skip("several processes need several cores")
    seeds = sum(c[0] for c in children)
    seconds = []
    benchmark.pedantic(lambda: seconds.append(_run(children)), rounds=max(1, ROUNDS // 2),
                       warmup_rounds=0)
    best = min(seconds)
    _RATES[layout] = seeds * STEPS / best
    benchmark.extra_info.update(device_info())
    benchmark.extra_info.update(layout=layout, seeds=seeds, steps=STEPS, cores=available_cores(),
                                solver=SOLVER, seed_steps_per_s=_RATES[layout])


def test_ratios(benchmark):
    """Two single-threaded processes against the best one-process layout."""
    one = {k: v for k, v in _RATES.items() if k.startswith("1p")}
    uneven = {}
    if "S3-2p-single-g1" in _RATES and "S3-3p-single-g1" in _RATES:
        uneven = {"three_workers_over_two_for_3_seeds":
                  _RATES["S3-3p-single-g1"] / _RATES["S3-2p-single-g1"]}
    if "2p-single-g1" not in _RATES or not one:
        pytest.skip("run with the layout cases in the same session")
    best = max(one, key=one.get)
    ratio = _RATES["2p-single-g1"] / one[best]
    benchmark.pedantic(lambda: None, rounds=1)
    benchmark.extra_info.update(rates=dict(_RATES), best_one_process=best,
                                two_processes_over_best=ratio, **uneven)
    print("\nseed-steps/s: " + ", ".join(f"{k} {v:.1f}" for k, v in _RATES.items())
          + f"; 2 processes / best one process ({best}): {ratio:.2f}x"
          + "".join(f"; {k}: {v:.2f}x" for k, v in uneven.items()))
