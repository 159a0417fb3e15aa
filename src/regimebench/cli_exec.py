"""``bench batch`` (seeds of one pair on any executor) and ``bench doctor`` (results health).

Examples::

    bench batch --problem helmholtz --solver pinn-mlp-adam --seeds 8 --budget standard \\
        --executor ray --address auto --gpus-per-run 0.25
    bench batch --problem helmholtz --seeds 5 --executor slurm --partition gpu
    bench doctor --runs results          # corrupt records, stray temp files, misplaced records
    bench doctor --runs results --fix    # delete stray temp files, move corrupt records aside

Interrupting a batch (Ctrl-C, ``kill -9``) keeps every finished record; rerun the same command
to resume.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .cli import _fail, _setup, app, console, err_console, print_results


def executor_options(executor: str, address: str | None, gpus_per_run: float | None,
                     partition: str | None, timeout_min: int) -> dict:
    """Keyword options of :func:`regimebench.executors.make_executor` from CLI flags."""
    return {"address": address, "gpus_per_run": gpus_per_run, "partition": partition,
            "timeout_min": timeout_min}


@app.command()
def batch(
    problem: Annotated[str, typer.Option("--problem", "-p", help="catalogue problem")],
    task: Annotated[str | None, typer.Option(help="task (default: the problem's first)")] = None,
    solver: Annotated[str | None, typer.Option(
        "--solver", "-s", help="entry name or path (default: the task's default entry)")] = None,
    seeds: Annotated[int, typer.Option(help="number of seeds (0 … N-1)")] = 3,
    budget: Annotated[str, typer.Option(help="tier: smoke, cpu, standard, long")] = "cpu",
    out: Annotated[Path, typer.Option(help="results folder (shared by all workers)")] = Path(
        "results"),
    executor: Annotated[str, typer.Option(help="local, ray or slurm")] = "local",
    address: Annotated[str | None, typer.Option(
        help="Ray cluster address (auto, ray://host:10001); default: a private local instance"
    )] = None,
    gpus_per_run: Annotated[float | None, typer.Option(
        help="GPU share of one run (Ray: fractions pack runs on a card; SLURM: rounded up)")
    ] = None,
    partition: Annotated[str | None, typer.Option(help="SLURM partition")] = None,
    timeout_min: Annotated[int, typer.Option(help="SLURM time limit per run")] = 240,
    isolate_seeds: Annotated[bool, typer.Option(
        help="one job per seed (failure isolation) instead of one job per run (seeds batched)")
    ] = False,
    force: Annotated[bool, typer.Option(help="retrain seeds whose record exists")] = False,
    platform: Annotated[str | None, typer.Option(help="cpu or gpu (default: JAX's)")] = None,
) -> None:
    """Train the seeds of one (problem, solver) pair on an executor; resume skips finished seeds."""
    if seeds < 1:
        _fail(f"--seeds must be a positive integer, got {seeds}")
    from ._registry import UnknownComponentError
    from .executors import executors, make_executor, run_plans
    from .runner import BenchError, RunRequest, plan

    if executor not in executors:
        _fail(f"Unknown executor {executor!r}." + _did_you_mean(executor, executors.names()))
    if executor == "local":
        _setup(platform)  # workers elsewhere configure JAX in their own process
    command = ["bench", "batch", "--problem", problem, "--seeds", str(seeds), "--budget", budget]
    try:
        planned = plan(RunRequest(problem=problem, task=task, solver=solver,
                                  seeds=list(range(seeds)), budget=budget, out=out, force=force,
                                  platform=platform))
        command += ["--task", planned.task, "--solver", solver or planned.solver.name]
        ex = make_executor(executor, **executor_options(executor, address, gpus_per_run,
                                                        partition, timeout_min))
    except (BenchError, UnknownComponentError) as e:
        _fail(str(e))
    todo = len(planned.todo) if not force else len(planned.specs)
    err_console.print(f"{len(planned.specs) - todo} of {len(planned.specs)} seed(s) already have "
                      f"records under {out}; running {todo} on the {executor} executor.")
    t0 = time.perf_counter()
    try:
        with _sweep_bar(todo) as (progress, bar):
            def on_progress(done: int, total: int, outcome) -> None:
                progress.update(bar, completed=done, total=total)
                if outcome.error:
                    err_console.print(f"crashed: {outcome.job.label} ({outcome.kind})")

            summary = run_plans([planned], ex, progress=on_progress, isolate_seeds=isolate_seeds,
                                warn=lambda m: err_console.print(f"warning: {m}",
                                                                 highlight=False))
    except BenchError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted; finished records are kept, rerun the same command to resume", 130)
    records = sorted(summary.records, key=lambda r: r["spec"]["seed"])
    print_results(records, " ".join(command))
    crashed = sum(r.get("status") == "crashed" for r in records)
    console.print(f"{len(records)} record(s) in {out}: {summary.skipped} resumed, "
                  f"{summary.trained + summary.crashed} new, {crashed} crashed "
                  f"({time.perf_counter() - t0:.1f} s)")


def _did_you_mean(name: str, known: list[str]) -> str:
    from ._registry import did_you_mean

    return did_you_mean(name, known)


class _sweep_bar:
    """A rich progress bar over seeds (disabled when stderr is not a terminal: clean CI logs)."""

    def __init__(self, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        from rich.progress import TimeElapsedColumn as Elapsed

        self.progress = Progress(TextColumn("[bold]runs"), BarColumn(), MofNCompleteColumn(),
                                 Elapsed(), console=err_console,
                                 disable=not err_console.is_terminal)
        self.total = total

    def __enter__(self):
        self.progress.__enter__()
        return self.progress, self.progress.add_task("runs", total=self.total)

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)


# --------------------------------------------------------------------------------------- doctor
@app.command()
def doctor(
    runs: Annotated[Path, typer.Option(help="results folder to check")] = Path("results"),
    fix: Annotated[bool, typer.Option(
        help="delete stray temporary files and move corrupt records aside (*.corrupt)")] = False,
) -> None:
    """Check a results folder: corrupt records, stray temp files, records in the wrong place.

    Exit code 0 when everything is healthy, 1 when problems were found (and 2 on bad input).
    """
    from .record import RunSpec, iter_records, record_path, stray_temp_files

    if not runs.is_dir():
        _fail(f"{runs} is not a results folder")
    ok, problems = 0, []
    corrupt: list[Path] = []
    for path, rec in iter_records(runs):
        if isinstance(rec, Exception):
            corrupt.append(path)
            problems.append(("corrupt", path, str(rec).removeprefix(f"{path}: ")))
            continue
        try:
            expected = record_path(runs, RunSpec(**rec["spec"]), rec.get("cell") or None)
        except TypeError as e:
            corrupt.append(path)
            problems.append(("corrupt", path, f"spec does not match the schema ({e})"))
            continue
        if expected.resolve() != path.resolve():
            problems.append(("misplaced", path,
                             f"its spec belongs at {expected.relative_to(runs)}; resume will not "
                             "find it there"))
            continue
        ok += 1
    for tmp in stray_temp_files(runs):
        problems.append(("stray temp", tmp, "left by an interrupted write; not a record"))
    console.print(f"{runs}: {ok} healthy record(s), {len(problems)} problem(s)")
    if problems:
        table = Table()
        table.add_column("problem", no_wrap=True)
        # A path is what users copy: never broken across lines, however narrow the terminal.
        table.add_column("file", no_wrap=True, overflow="ignore")
        table.add_column("detail")
        for kind, path, detail in problems:
            table.add_row(kind, str(path.relative_to(runs)), detail)
        console.print(table)
    left = len(problems)
    if fix and problems:
        for tmp in stray_temp_files(runs):
            tmp.unlink(missing_ok=True)
        for path in corrupt:
            os.replace(path, path.with_name(path.name + ".corrupt"))
        left = sum(kind == "misplaced" for kind, _, _ in problems)
        console.print("fixed: temporary files deleted, corrupt records moved aside (*.corrupt); "
                      "rerun the sweep to redo them" + (f"; {left} misplaced record(s) left for "
                                                        "you to move" if left else ""))
    raise typer.Exit(1 if left else 0)
