"""``bench sweep``: train a (difficulty × data) grid of cells for a regime map.

Examples::

    bench sweep -p helmholtz -s pinn-mlp-adam --difficulty 1,4,16 --data 64,256,1024 --seeds 3
    bench sweep -p helmholtz --budget cpu --evals 1500 --executor ray --address auto

Every cell's seeds are planned like ``bench run``'s (each record's reproduce command is the
``bench run --difficulty V --data N …`` of its cell) and trained on the chosen executor; cells
whose records exist are reused (resume). ``bench regimes`` then draws the map.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import choices
from . import _options as o
from ._common import echo, fail, fail_on, note, setup
from ._train import exit_if_crashed, train


def sweep(
    problem: o.Problem,
    solver: Annotated[str | None, typer.Option("--solver", "-s", help="entry name or path")
                      ] = None,
    task: o.Task = None,
    difficulty: o.DifficultyList = None,
    data: o.DataList = None,
    seeds: Annotated[int, typer.Option(help="seeds per cell (0 … K-1)")] = 3,
    budget: o.Budget = choices.Tier.CPU,
    evals: o.Evals = None,
    diagnostics: o.Diagnostics = choices.DiagnosticsMode.AUTO,
    out: o.Out = Path("results"),
    seed_layout: o.SeedLayoutOpt = "auto",
    platform: o.PlatformOpt = None,
    force: o.Force = False,
    executor: o.Executor = o.ExecutorName("local"),
    address: o.Address = None,
    gpus_per_run: o.GpusPerRun = None,
    partition: o.Partition = None,
    timeout_min: o.TimeoutMin = 240,
    isolate_seeds: o.IsolateSeeds = False,
    trust_code: o.TrustCode = False,
    allow_many_seeds: o.AllowManySeeds = False,
) -> None:
    """Train a (difficulty × data) grid of cells for a regime map (finished cells are reused)."""
    import time

    from ..errors import BenchError
    from ..limits import check_seed_range

    try:
        check_seed_range(0, seeds, allow_many=allow_many_seeds)
    except BenchError as e:
        fail(str(e))
    if evals is not None and evals < 1:
        fail(f"--evals must be a positive integer, got {evals}")
    if executor == "local":
        setup(platform)
    from ..planner import RunRequest, plan_many, sweep_requests

    request = RunRequest(problem=problem, task=task, solver=solver, seeds=list(range(seeds)),
                         budget=budget, out=out, evals=evals, diagnostics=diagnostics,
                         seed_layout=seed_layout, platform=platform, force=force,
                         trust_code=o.trust(trust_code))
    try:
        plans = plan_many(sweep_requests(request, difficulty, data))  # every cell before any
    except BenchError as e:
        fail_on(e)
    for planned in plans:
        if not planned.todo:
            note(", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in planned.cell.items()) + ": reusing records")
    t0 = time.perf_counter()
    summary = train(plans, executor=executor, isolate_seeds=isolate_seeds,
                    executor_options=o.executor_options(address, gpus_per_run, partition,
                                                        timeout_min))
    echo(f"{len(plans)} cell(s) in {out} ({time.perf_counter() - t0:.1f} s); map: bench regimes "
         f"--problem {problem} --solver {plans[0].solver.name} --runs {out}")
    exit_if_crashed(summary)
