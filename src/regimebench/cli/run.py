"""``bench run``: train one (problem, solver) pair across seeds and write one record per seed.

Examples::

    bench run --problem helmholtz                       # the task's default entry, 3 seeds
    bench run -p helmholtz -s pinn-mlp-adam-lbfgs --seeds 5 --budget cpu --out results
    bench run -p helmholtz --difficulty 4 --data 256    # one regime-map cell
    bench run -p burgers --executor ray --gpus-per-run 0.25

Seeds whose record exists are skipped (resume; ``--force`` retrains them); a seed whose record
says it crashed is trained again. The table printed at the end ends with the command that
reproduces the run, pinned to the commit; every record stores it too. Exit code 1 when a seed
crashed (its record keeps the traceback), 2 on bad input, 3 when the entry carries code and
``--trust-code`` was not given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import choices
from . import _options as o
from ._common import echo, fail, fail_on, note, setup
from ._train import exit_if_crashed, print_results, train


def run(
    problem: o.Problem,
    task: o.Task = None,
    solver: o.Solver = None,
    seeds: o.Seeds = 3,
    seed_start: Annotated[int, typer.Option(help="first seed")] = 0,
    budget: o.OptionalBudget = None,
    evals: o.Evals = None,
    difficulty: o.DifficultyValue = None,
    data: o.DataCount = None,
    out: o.Out = Path("results"),
    force: o.Force = False,
    seed_layout: o.SeedLayoutOpt = "auto",
    platform: o.PlatformOpt = None,
    diagnostics: o.Diagnostics = choices.DiagnosticsMode.AUTO,
    executor: o.Executor = o.ExecutorName("local"),
    address: o.Address = None,
    gpus_per_run: o.GpusPerRun = None,
    partition: o.Partition = None,
    timeout_min: o.TimeoutMin = 240,
    wandb: o.Wandb = False,
    wandb_mode: o.WandbModeOpt = None,
    trust_code: o.TrustCode = False,
    allow_many_seeds: o.AllowManySeeds = False,
) -> None:
    """Train one (problem, solver) pair across seeds and write one record per seed."""
    import shlex
    import time

    from ..errors import BenchError
    from ..limits import check_seed_range

    try:
        check_seed_range(seed_start, seeds, allow_many=allow_many_seeds)
    except BenchError as e:
        fail(str(e))
    if evals is not None and evals < 1:
        fail(f"--evals must be a positive integer, got {evals}")
    setup(platform)
    from ..budget import default_tier
    from ..planner import plan
    from ..tracking import TrackingError, make_tracker

    try:  # before training: a missing wandb or login must not cost a run
        tracker = make_tracker("wandb" if wandb else "off", out=out, mode=wandb_mode)
    except TrackingError as e:
        fail(str(e))
    try:
        planned = plan(build_request(
            problem=problem, task=task, solver=solver, seeds=seeds, seed_start=seed_start,
            budget=budget or default_tier(), evals=evals, difficulty=difficulty, data=data,
            out=out, force=force, seed_layout=seed_layout, platform=platform,
            diagnostics=diagnostics, trust_code=o.trust(trust_code)))
    except BenchError as e:
        fail_on(e)
    t0 = time.perf_counter()
    summary = train([planned], executor=executor, executor_options=o.executor_options(
        address, gpus_per_run, partition, timeout_min))
    records = [r for r in summary.records_of(planned) if r is not None]
    command = planned.request.command
    print_results(records, shlex.join(command) if command else None)
    echo(f"{len(records)} record(s) in {out} ({time.perf_counter() - t0:.1f} s)")
    for rec in summary.fresh:  # mirror only what this command trained
        where = tracker.mirror(rec)
        if where:
            note(f"wandb: seed {rec['spec']['seed']} mirrored to {where}")
    exit_if_crashed(summary)


def build_request(*, problem: str, task: str | None, solver: str | None, seeds: int,
                  seed_start: int, budget: str, evals: int | None, difficulty: float | None,
                  data: int | None, out: Path, force: bool, seed_layout: str | int,
                  platform: str | None, diagnostics: str, trust_code: bool | None = None):
    """The :class:`~regimebench.planner.RunRequest` of ``bench run``'s options.

    :func:`regimebench.planner.reproduce_command` writes the options that bring a request back
    here; the tests check that the round trip plans the same records.
    """
    from ..planner import RunRequest, at_cell

    request = RunRequest(problem=problem, task=task, solver=solver,
                         seeds=list(range(seed_start, seed_start + seeds)), budget=budget,
                         out=out, force=force, evals=evals, seed_layout=seed_layout,
                         diagnostics=diagnostics, platform=platform, trust_code=trust_code)
    return at_cell(request, difficulty, data)
