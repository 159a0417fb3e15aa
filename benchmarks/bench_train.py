"""Steady-state training throughput (seed-steps per second), compilation excluded.

For each problem's default entry and S seeds, the same compiled chunk runs S seeds as
``sequential`` (groups of 1), ``vmap`` (one group of S), small vmapped groups (2, 4) and ``auto``
(what the trainer picks on this device). ``extra_info["seed_steps_per_s"]`` is
S × chunk steps / median time of one timed call; compare layouts at equal S.
"""

from __future__ import annotations

import pytest
from _common import CHUNK, ROUNDS, SEEDS, GroupRunner, default_setup, device_info, present

from regimebench.engine.layout import group_size

LAYOUTS = ("sequential", "auto", "vmap", 2, 4)


def _group(layout, n_seeds):
    return group_size(layout if isinstance(layout, str) else int(layout), n_seeds)


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
@pytest.mark.parametrize("n_seeds", SEEDS)
@pytest.mark.parametrize("problem", present())
def test_seed_steps(benchmark, problem, n_seeds, layout):
    group = _group(layout, n_seeds)
    if isinstance(layout, int) and layout >= n_seeds:
        pytest.skip("group size ≥ S is the vmap layout")
    task, solver, sizes = default_setup(problem)
    runner = GroupRunner(task, solver, sizes, n_seeds, group, phase=0)
    runner.run()  # compile outside the timing
    # Few rounds for many sequential groups: each round is already S chunk calls.
    rounds = max(2, ROUNDS if n_seeds < 64 else ROUNDS // 2)
    benchmark.pedantic(runner.run, rounds=rounds, warmup_rounds=1)
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(device_info())
    benchmark.extra_info.update(
        problem=problem, solver=solver.name, phase=solver.phases[0].kind, seeds=n_seeds,
        layout=str(layout), group_size=group, chunk_steps=CHUNK, sizes=sizes,
        seed_steps_per_s=n_seeds * CHUNK / median,
    )
