"""Training from the command line: every verb that trains hands its plans to :func:`train`.

:func:`train` skips finished seeds, tells the user what will run, runs the rest on the chosen
executor (:func:`regimebench.executors.run_plans`) under one progress bar, and turns bad input,
unwritable folders and Ctrl-C into one-line messages. :func:`print_results` is the per-seed table
``bench run`` and ``bench batch`` print (:func:`regimebench.tables.run_table`, the statistics of
:mod:`regimebench.stats`); :func:`exit_if_crashed` ends a command with exit code 1 when seeds it
trained crashed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import typer

from ._common import INTERRUPTED, echo, fail, note, print_table, progress_bar, warn

if TYPE_CHECKING:
    from ..executors import Outcome, SweepSummary
    from ..planner import Planned

__all__ = ["train", "report_job", "print_results", "exit_if_crashed"]


def train(plans: Sequence[Planned], *, executor: str = "local",
          executor_options: Mapping[str, Any] | None = None, isolate_seeds: bool = False,
          on_job: Callable[[int, int, Outcome], None] | None = None) -> SweepSummary:
    """Train the unfinished seeds of ``plans`` on ``executor``; return every record's summary.

    ``on_job(k, n, outcome)`` reports the k-th of n finished jobs (the default prints one line
    per job when there are several, and one warning per crashed job).
    """
    from .._registry import UnknownComponentError
    from ..executors import make_executor, make_jobs, run_jobs
    from ..planner import BenchError, check_writable

    try:
        jobs, summary = make_jobs(plans, isolate_seeds=isolate_seeds, warn=warn)
        for folder in dict.fromkeys(job.out for job in jobs):
            check_writable(folder)  # before saying what will train
        ex = make_executor(str(executor), **dict(executor_options or {}))
    except (BenchError, UnknownComponentError) as e:
        fail(str(e))
    out = plans[0].request.out if plans else "."
    if summary.skipped:
        note(f"{summary.skipped} of {summary.total} seed(s) already have records under {out} "
             "(use --force to retrain); skipping them.")
    if not jobs:
        return summary
    todo = sum(len(j.specs) for j in jobs)
    if len(plans) == 1:
        p = plans[0]
        note(f"Training {p.problem.name}/{p.task} with {p.solver.name} for {p.evals} gradient "
             f"evaluations × {todo} seed(s) (budget {p.specs[0].budget}) on the {executor} "
             "executor; compiling first…")
    else:
        note(f"Training {todo} seed(s) in {len(jobs)} job(s) on the {executor} executor…")
    total = sum(j.evals for j in jobs)
    finished = [0, 0]  # jobs done, evaluations of the jobs done

    with progress_bar("training", total, "evals") as update:
        def job_progress(job, done: int, _total: int) -> None:
            update(finished[1] + done)

        def job_done(_done: int, _todo: int, outcome: Outcome) -> None:
            finished[0] += 1
            finished[1] += outcome.job.evals
            update(finished[1])
            (on_job or report_job)(finished[0], len(jobs), outcome)

        try:
            run_jobs(jobs, ex, summary, progress=job_done, job_progress=job_progress)
        except BenchError as e:
            fail(str(e))
        except KeyboardInterrupt:
            fail(INTERRUPTED, 130)
    return summary


def report_job(k: int, n: int, outcome: Outcome, extra: str = "") -> None:
    """The line for the k-th of n finished jobs (only when there are several), and a warning
    when it crashed; ``extra`` is appended to the line."""
    if outcome.error is not None:
        warn(f"crashed: {outcome.job.label} ({outcome.kind})")
    if n > 1:
        records = outcome.records or []
        regimes = ", ".join(str((r.get("labels") or {}).get("regime", "?")) for r in records)
        note(f"[{k}/{n}] {outcome.job.label}: " + (f"regimes {regimes}" if records
                                                    else "crashed") + extra)


def print_results(records: Sequence[Mapping[str, Any]], command: str | None) -> None:
    """The per-seed table of one run with its summary rows (median and ok count, majority
    regime, the median's interval with its coverage), then the command that reproduces it,
    pinned to the commit that made the first record."""
    from ..record import pinned_command
    from ..tables import run_table

    records = [r for r in records if r]
    if not records:
        return
    print_table(run_table(records))
    if command:
        echo(f"reproduce: {pinned_command(records[0], command)}")


def exit_if_crashed(summary: SweepSummary) -> None:
    """Exit with code 1 (after what was printed) when seeds this command trained crashed: the
    records are kept, and rerunning the command retries exactly those seeds."""
    crashed = [r for r in summary.fresh if r.get("status") == "crashed"]
    if crashed:
        warn(f"{len(crashed)} seed(s) crashed (their records hold the traceback: bench show "
             "RECORD); rerun the same command to retry them")
        raise typer.Exit(1)
