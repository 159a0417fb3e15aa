"""Compile time of the training chunk, and what the persistent compilation cache saves.

``test_chunk_compile`` lowers and compiles the default entry's first-phase chunk (1 seed) with the
persistent cache off (see conftest). ``compile_s`` of a run is ahead-of-time compilation only
(``.lower(...).compile()``), no training inside. ``test_persistent_cache`` starts two fresh Python processes
that train the same tiny helmholtz run against one empty cache folder: the first compiles, the
second should load the programs from disk; both compile times are in ``extra_info``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from _common import GroupRunner, default_setup, device_info, present

SRC = Path(__file__).resolve().parents[1] / "src"

_CHILD = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from regimebench._config import configure
configure(platform="cpu", compile_cache=Path(sys.argv[1]))
from regimebench.problem import load_problem
from regimebench.solver import load_solver
from regimebench.train import train
p = load_problem("helmholtz")
info = p.task_info(None)
sizes = p.sizes(info.name, "smoke")
task = p.make_task(info.name, p.resolve_params(info.name), sizes)
t1 = time.perf_counter()
res = train(task, load_solver(info.default_solver), 40, sizes, [0], n_log=4)
print(json.dumps({"compile_s": res.timing["compile_s"], "train_call_s": time.perf_counter() - t1,
                  "process_s": time.perf_counter() - t0}))
"""


@pytest.mark.parametrize("problem", present())
def test_chunk_compile(benchmark, problem):
    task, solver, sizes = default_setup(problem)
    runner = GroupRunner(task, solver, sizes, 1, 1)
    benchmark.pedantic(runner.compile_seconds, rounds=2, warmup_rounds=0)
    benchmark.extra_info.update(device_info())
    benchmark.extra_info.update(problem=problem, solver=solver.name, phase=solver.phases[0].kind)


def test_persistent_cache(benchmark):
    cache = tempfile.mkdtemp(prefix="regimebench-xla-")
    env = {**os.environ, "PYTHONPATH": str(SRC), "JAX_PLATFORMS": "cpu"}

    def child():
        out = subprocess.run([sys.executable, "-c", _CHILD, cache], env=env, check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    cold = child()
    warm = benchmark.pedantic(child, rounds=1, warmup_rounds=0)
    entries = sum(1 for _ in Path(cache).rglob("*") if _.is_file())
    benchmark.extra_info.update(device_info())
    benchmark.extra_info.update(cold=cold, warm=warm, cache_entries=entries,
                                speedup_compile=cold["compile_s"] / max(warm["compile_s"], 1e-9))
    assert entries > 0, "nothing was written to the persistent compilation cache"
