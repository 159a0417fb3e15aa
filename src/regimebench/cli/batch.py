"""``bench batch``: the seeds of one pair, or the whole official matrix, on any executor.

Examples::

    bench batch --problem helmholtz --solver pinn-mlp-adam --seeds 8 --budget standard \\
        --executor ray --address auto --gpus-per-run 0.25
    bench batch --problem helmholtz --seeds 5 --executor slurm --partition gpu
    bench batch --all --dry-run                       # the matrix: plan and time estimate only
    bench batch --all --out leaderboard/runs          # every entry × every task it declares
    nohup bench batch --all --nice 15 --out leaderboard/runs > matrix.log 2>&1 &
    bench batch --all --solver my-entry --budget smoke  # filters: --problem/--solver/--task

``--all`` plans every entry × every (problem, task) it declares (seeds 0 … N-1, default 5),
skips finished records, and trains the rest cheapest first, with an estimate of the time left
(:mod:`regimebench.costs`, calibrated from the records under ``--out`` and ``--calibrate``).
Interrupting a batch (Ctrl-C, ``kill -9``, a closed laptop) keeps every finished record; rerun
the same command to resume, in this session or the next.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .. import choices
from . import _options as o
from ._common import console, echo, fail, fail_on, plain, setup, warn
from ._train import exit_if_crashed, print_results, report_job, train


def batch(
    problem: Annotated[list[str] | None, typer.Option(
        "--problem", "-p", help="catalogue problem (with --all: keep only these; repeatable)")
    ] = None,
    task: Annotated[list[str] | None, typer.Option(
        help="task (default: the problem's first; with --all: keep only these; repeatable)")
    ] = None,
    solver: Annotated[list[str] | None, typer.Option(
        "--solver", "-s", help="entry name or path (default: the task's default entry; with "
                               "--all: keep only these entries; repeatable)")] = None,
    all_pairs: Annotated[bool, typer.Option(
        "--all", help="the official matrix: every entry × every (problem, task) it declares")
    ] = False,
    seeds: Annotated[int | None, typer.Option(
        help="number of seeds (0 … N-1; default 3, or 5 with --all)")] = None,
    budget: o.Budget = choices.Tier.CPU,
    out: Annotated[Path, typer.Option(help="results folder (shared by all workers)")] = Path(
        "results"),
    dry_run: Annotated[bool, typer.Option(
        help="print the plan and the time estimate; train nothing")] = False,
    calibrate: Annotated[list[Path] | None, typer.Option(
        help="more record folders to calibrate the time estimate from (repeatable; default: "
             "--out and leaderboard/runs)")] = None,
    nice: Annotated[int, typer.Option(
        min=0, max=19, help="lower this process's CPU priority by this much (os.nice)")] = 0,
    executor: o.Executor = o.ExecutorName("local"),
    address: o.Address = None,
    gpus_per_run: o.GpusPerRun = None,
    partition: o.Partition = None,
    timeout_min: o.TimeoutMin = 240,
    isolate_seeds: o.IsolateSeeds = False,
    force: o.Force = False,
    platform: o.PlatformOpt = None,
    seed_layout: o.SeedLayoutOpt = "auto",
    diagnostics: o.Diagnostics = choices.DiagnosticsMode.AUTO,
    trust_code: o.TrustCode = False,
    allow_many_seeds: o.AllowManySeeds = False,
) -> None:
    """Train the seeds of one (problem, solver) pair, or the whole matrix (--all), on an executor."""
    import time

    from ..errors import BenchError
    from ..limits import check_seed_range

    n_seeds = seeds if seeds is not None else (5 if all_pairs else 3)
    try:
        check_seed_range(0, n_seeds, allow_many=allow_many_seeds)
    except BenchError as e:
        fail(str(e))
    if not all_pairs:
        for name, values in (("--problem", problem), ("--task", task), ("--solver", solver)):
            if values and len(values) > 1:
                fail(f"{name} takes one value without --all, got {len(values)}")
        if not problem:
            fail("--problem is required (or --all for the whole matrix)")
    if nice:
        os.nice(nice)
    if executor == "local" and not dry_run:
        setup(platform)  # workers elsewhere configure JAX in their own process
    from ..planner import RunRequest, plan

    base = RunRequest(problem=problem[0] if problem else "", task=task[0] if task else None,
                      solver=solver[0] if solver else None, seeds=list(range(n_seeds)),
                      budget=budget, out=out, force=force, seed_layout=seed_layout,
                      diagnostics=diagnostics, platform=platform,
                      trust_code=o.trust(trust_code))
    try:
        plans = _matrix(base, problem, solver, task) if all_pairs else [plan(base)]
    except BenchError as e:
        fail_on(e)
    # One pair is reported like the matrix, so a dry run always says what it would train.
    plans, model, remaining = _order_and_report(plans, out, calibrate or [])
    on_job = _count_down(model, remaining) if all_pairs else None
    if dry_run:
        return
    t0 = time.perf_counter()
    summary = train(plans, executor=executor, isolate_seeds=isolate_seeds, on_job=on_job,
                    executor_options=o.executor_options(address, gpus_per_run, partition,
                                                        timeout_min))
    if not all_pairs:
        command = plans[0].request.command
        import shlex

        print_results([r for r in summary.records_of(plans[0]) if r is not None],
                      shlex.join(command) if command else None)
    crashed = sum(r.get("status") == "crashed" for r in summary.records)
    echo(f"{len(summary.records)} record(s) in {out}: {summary.skipped} resumed, "
         f"{summary.trained + summary.crashed} new, {crashed} crashed "
         f"({time.perf_counter() - t0:.1f} s)")
    exit_if_crashed(summary)


def _matrix(base, problems, solvers, tasks):
    """Plan every declared (entry, problem, task) of the catalogue, or fail listing what cannot."""
    from ..planner import BenchError, matrix_requests, plan

    requests, errors = matrix_requests(base, problems=problems or (), solvers=solvers or (),
                                       tasks=tasks or ())
    plans = []
    for request in requests:
        try:
            plans.append(plan(request))
        except BenchError as e:
            errors.append(f"{request.problem}/{request.task}/{request.solver}: {e}")
    if errors:
        raise BenchError(f"cannot plan {len(errors)} pair(s) of the matrix: "
                         + "; ".join(errors) + " (leave them out with --problem/--solver/--task)")
    if not plans:
        raise BenchError("no entry declares any of the selected (problem, task) pairs")
    return plans


def _order_and_report(plans, out: Path, calibrate: list[Path]):
    """Cheapest first; print the plan with its time estimate. Changes nothing on disk.

    Returns the ordered plans, the cost model and the estimated seconds left.
    """
    from rich.table import Table

    from .._catalogue import catalogue_root
    from ..costs import CostModel, format_seconds
    from ..planner import resume
    from ..record import iter_records

    folders = [out, *calibrate]
    official = catalogue_root() / "leaderboard" / "runs"
    if not calibrate and official.is_dir():
        folders.append(official)
    seen, calibration = set(), []
    for folder in folders:
        for path, rec in iter_records(folder):
            if not isinstance(rec, Exception) and path.resolve() not in seen:
                seen.add(path.resolve())
                calibration.append(rec)
    model = CostModel(calibration)
    rows = []
    for planned in plans:
        todo = len(planned.specs) - len(resume(planned, warn, set_aside=False))
        rows.append((model.estimate_planned(planned, todo), planned))
    rows.sort(key=lambda row: row[0].seconds)
    what = "The matrix" if len(plans) > 1 else "The plan"
    table = Table(title=plain(f"{what}: {len(plans)} (entry, problem, task) pair(s), "
                              f"cheapest first"))
    for col in ("#", "problem", "task", "entry", "seeds to train", "evals", "points",
                "estimate", "calibrated by"):
        table.add_column(col, justify="right" if col in ("#", "evals", "points", "estimate")
                         else "left")
    for k, (est, planned) in enumerate(rows, 1):
        table.add_row(str(k), plain(planned.problem.name), plain(planned.task),
                      plain(planned.solver.name), f"{est.seeds}/{len(planned.specs)}",
                      str(est.evals), str(est.points), format_seconds(est.seconds),
                      plain(f"{est.source} ({est.calibration_records})"))
    console.print(table)
    remaining = sum(est.seconds for est, _ in rows)
    seeds_left = sum(est.seeds for est, _ in rows)
    total = sum(len(p.specs) for p in plans)
    echo(f"{total - seeds_left} of {total} seed(s) finished; {seeds_left} to train in "
         f"{sum(1 for est, _ in rows if est.seeds)} run(s): about {format_seconds(remaining)} "
         f"of sequential training (calibrated from {len(calibration)} record(s))")
    return [planned for _, planned in rows], model, remaining


def _count_down(model, remaining: float):
    """A job report that ends with the estimated time left (for logs of background runs)."""
    from ..costs import format_seconds

    left = [remaining]

    def on_job(k: int, n: int, outcome) -> None:
        spec = outcome.job.specs[0]
        left[0] = max(0.0, left[0] - model.estimate(
            spec.problem, spec.task, spec.solver, spec.config_hash, spec.sizes, evals=spec.evals,
            seeds=len(outcome.job.specs)).seconds)
        report_job(k, n, outcome, extra=f"; about {format_seconds(left[0])} left")

    return on_job
