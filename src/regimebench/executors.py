"""Executors: where planned runs train — this process, a Ray cluster, or SLURM.

Every command that trains hands its plans (:mod:`regimebench.planner`) to :func:`run_plans`,
which skips finished seeds (:func:`regimebench.planner.resume`), groups the rest into jobs and
runs them on an executor. Every backend runs the same function, :func:`run_job`, which calls
:func:`regimebench.runner.run_seeds`: it re-plans the job's request where it runs, trains,
labels, and writes each record atomically into the shared results folder. What differs is only
*where* that call happens:

``local`` (default)
    In this process, one job after another. On one machine the process-wide JAX policy (platform,
    float64, matmul precision) is the same for every run, so a process per run would only add a
    JAX import and a fresh compilation (seconds each, more than a ``smoke`` run) while isolating
    nothing that matters here: exceptions and out-of-memory errors are already turned into
    ``crashed`` records by the runner, and a hard kill loses only the run in flight. It is the
    only executor that reports progress within a job (gradient evaluations).
``ray``
    One Ray task per job (``pip install "regimebench[dist]"``), each in a fresh worker process
    (``max_calls=1``) holding ``gpus_per_run`` of a GPU; completions stream back as they finish.
``slurm``
    One SLURM array task per job through submitit (``cluster="local"`` runs the same code in
    local subprocesses, which is how the tests exercise it).

A *job* is one run: the seeds of one plan (problem, task, solver, budget, cell), trained
together as ``bench run`` trains them (seeds are a batch dimension). ``isolate_seeds=True`` makes
one job per seed instead, trading that speed for failure isolation. A job that dies without
writing its records (an exception outside training, a killed worker, a failed array task)
becomes ``crashed`` records written by the driver, with the traceback, so the failure is counted.

Finished records are never re-run (resume), a corrupt one is moved aside as ``*.corrupt`` and
re-run, and because records are written atomically an interrupted sweep leaves whole records or
none. Add a backend with ``@executors.register("name")``: a class whose ``submit(jobs,
progress=None)`` yields one :class:`Outcome` per job.

This module imports neither JAX nor the planner at import time (the command line lists the
registered executors at start-up); what it needs of them is imported where it is used.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._registry import Registry
from .errors import BenchError
from .outcomes import FailureReason
from .record import RecordError, RunSpec, read_record, record_path, write_record

if TYPE_CHECKING:
    from .planner import Planned, RunRequest

__all__ = [
    "Job",
    "Outcome",
    "Executor",
    "SweepSummary",
    "executors",
    "make_executor",
    "make_jobs",
    "run_job",
    "run_jobs",
    "run_plans",
    "LocalExecutor",
    "RayExecutor",
    "SlurmExecutor",
]

executors: Registry[type] = Registry("executor")

# A job's progress within training: (job, evaluations done, evaluations in total).
JobProgress = Callable[["Job", int, int], None]


def _require(module: str, what: str):
    """Import an optional dependency, or fail with the command that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise BenchError(f"the {what} executor needs {module!r}: pip install "
                           '"regimebench[dist]"') from None


# --------------------------------------------------------------------------------------- jobs
@dataclass(frozen=True)
class Job:
    """One unit of work: a plan's request narrowed to some of its seeds, and their specs.

    Picklable (shipped to workers). The worker plans ``request`` again and checks that it gets
    ``specs``, so a catalogue that changed in between cannot write records to unexpected paths.
    """

    request: RunRequest
    specs: tuple[RunSpec, ...]
    cell: Mapping[str, Any] = field(default_factory=dict)

    @property
    def out(self) -> Path:
        return Path(self.request.out)

    @property
    def command(self) -> list[str] | None:
        return self.request.command

    @property
    def evals(self) -> int:
        """Gradient evaluations of the whole job (every seed)."""
        return sum(s.evals for s in self.specs)

    @property
    def paths(self) -> list[Path]:
        return [record_path(self.out, s, self.cell or None) for s in self.specs]

    @property
    def label(self) -> str:
        s = self.specs[0]
        cell = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in sorted(self.cell.items()))
        seeds = ",".join(str(x.seed) for x in self.specs)
        return (f"{s.problem}/{s.task}/{s.solver}/{s.budget}" + (f"[{cell}]" if cell else "")
                + f" seed {seeds}")


def run_job(job: Job, progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Train one job and write its records; the function every executor runs on a worker.

    ``progress(done, total)`` counts gradient evaluations over the job's seeds.
    """
    from . import _config
    from .runner import run_seeds

    if not _config._CONFIGURED:  # a fresh worker process; the CLI configured the local one
        _config.configure(platform=job.request.platform)
    return run_seeds(job.request, job.specs, progress=progress)


@dataclass
class Outcome:
    """What an executor reports for a finished job: its records, or why it has none."""

    job: Job
    records: list[dict] | None = None
    error: str | None = None  # traceback or the backend's message
    kind: FailureReason = FailureReason.EXCEPTION  # for the crashed records of a dead job


class Executor(Protocol):
    """Runs jobs somewhere and yields one :class:`Outcome` per job, as jobs finish.

    ``progress(job, done, total)`` reports gradient evaluations within a job, from executors
    that can see them (the local one); others ignore it.
    """

    def submit(self, jobs: Sequence[Job], progress: JobProgress | None = None
               ) -> Iterator[Outcome]: ...


def _failure_kind(text: str) -> FailureReason:
    if "MemoryError" in text or "RESOURCE_EXHAUSTED" in text or "Out of memory" in text:
        return FailureReason.OUT_OF_MEMORY
    return FailureReason.EXCEPTION


# --------------------------------------------------------------------------------------- local
@executors.register("local")
class LocalExecutor:
    """Run jobs one after another in this process (see the module docstring for why).

    ``worker`` replaces :func:`run_job` (tests use it to inject faults); it is called as
    ``worker(job)``, or ``worker(job, progress=...)`` when progress is asked for.
    """

    def __init__(self, *, worker: Callable[..., list[dict]] = run_job, **_ignored: Any):
        self.worker = worker

    def submit(self, jobs: Sequence[Job], progress: JobProgress | None = None
               ) -> Iterator[Outcome]:
        for job in jobs:
            try:
                if progress is None:
                    records = self.worker(job)
                else:
                    records = self.worker(job, progress=functools.partial(progress, job))
            except BenchError:
                raise  # bad input or an unwritable folder: stop the sweep, nothing to count
            except Exception:  # noqa: BLE001 - anything else is a counted crash
                tb = traceback.format_exc()
                yield Outcome(job, error=tb, kind=_failure_kind(tb))
            else:
                yield Outcome(job, records=records)


# --------------------------------------------------------------------------------------- ray
@executors.register("ray")
class RayExecutor:
    """One Ray task per job, each in a fresh worker process with ``gpus_per_run`` of a GPU.

    Arguments:
        address: a running cluster (``"auto"``, ``"ray://host:10001"``); ``None`` starts a
            private local instance for the sweep and stops it afterwards.
        gpus_per_run: the GPU share of one job; fractions pack several small PINNs on one card
            (each then gets ``XLA_PYTHON_CLIENT_MEM_FRACTION`` of about that share, because Ray's
            resources are only bookkeeping). Default: 1 if the cluster has GPUs, else 0.
        cpus_per_run: CPU share of one job (default 1).
        max_retries: Ray retries of a job whose worker died (default 0: a crash is data).
        init_kwargs: extra arguments for ``ray.init`` (tests pass ``num_cpus=2``).
    """

    def __init__(self, *, address: str | None = None, gpus_per_run: float | None = None,
                 cpus_per_run: float = 1, max_retries: int = 0,
                 init_kwargs: Mapping[str, Any] | None = None,
                 worker: Callable[..., list[dict]] = run_job, **_ignored: Any):
        self.address = address
        self.gpus_per_run = gpus_per_run
        self.cpus_per_run = cpus_per_run
        self.max_retries = max_retries
        self.init_kwargs = dict(init_kwargs or {})
        self.worker = worker

    def _env(self, gpus: float, local: bool) -> dict[str, str]:
        env = {}
        if 0 < gpus < 1:
            env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
            env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{0.9 * gpus:.2f}"
        if local:
            # Workers of a private instance run elsewhere than this process's folder; make a
            # relative PYTHONPATH (a source checkout) absolute so they import the same package.
            paths = [str(Path(__file__).resolve().parents[1])]  # the folder holding regimebench/
            paths += [str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(
                os.pathsep) if p]
            env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        return env

    def submit(self, jobs: Sequence[Job], progress: JobProgress | None = None
               ) -> Iterator[Outcome]:
        ray = _require("ray", "ray")
        owns = not ray.is_initialized()
        if owns:
            kwargs = {"include_dashboard": False, "log_to_driver": False, **self.init_kwargs}
            try:
                ray.init(address=self.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise BenchError(
                    f"cannot start or reach Ray at {self.address or 'local'}: "
                    f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
        try:
            yield from self._submit(ray, jobs, local=owns and self.address is None)
        finally:
            if owns:
                ray.shutdown()

    def _submit(self, ray, jobs: Sequence[Job], local: bool) -> Iterator[Outcome]:
        gpus = self.gpus_per_run
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) else 0.0
        remote = ray.remote(num_gpus=gpus, num_cpus=self.cpus_per_run, max_calls=1,
                            max_retries=self.max_retries)(self.worker)
        remote = remote.options(runtime_env={"env_vars": self._env(gpus, local)})
        pending = {remote.remote(job): job for job in jobs}
        try:
            while pending:
                # ray.wait streams completions in the order they finish, not the order submitted.
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        yield Outcome(job, records=ray.get(ref))
                    except ray.exceptions.RayError as e:
                        text = str(e)
                        if isinstance(e, ray.exceptions.OutOfMemoryError):
                            kind = FailureReason.OUT_OF_MEMORY
                        elif isinstance(e, ray.exceptions.WorkerCrashedError):
                            kind = FailureReason.WORKER_DIED
                        else:
                            kind = _failure_kind(text)
                        yield Outcome(job, error=f"{type(e).__name__}: {text}", kind=kind)
        finally:
            for ref in pending:  # interrupted: stop what is still running, keep what finished
                ray.cancel(ref, force=True)


# --------------------------------------------------------------------------------------- slurm
@executors.register("slurm")
class SlurmExecutor:
    """One SLURM array task per job through submitit (``cluster="local"``: local subprocesses).

    Arguments:
        folder: submitit's logs and pickles (default ``<out>/.submitit``).
        gpus_per_run: GPUs per array task (rounded up; SLURM does not share cards).
        timeout_min, partition, array_parallelism, cpus_per_run: passed to SLURM.
        cluster: ``None`` (SLURM when ``srun`` exists, else local), ``"slurm"``, ``"local"``,
            ``"debug"``.
        poll_s: how often to look for finished jobs.
    """

    def __init__(self, *, folder: str | Path | None = None, gpus_per_run: float | None = None,
                 timeout_min: int = 240, partition: str | None = None,
                 array_parallelism: int = 32, cpus_per_run: int = 2, cluster: str | None = None,
                 poll_s: float = 2.0, worker: Callable[..., list[dict]] = run_job,
                 **_ignored: Any):
        self.folder = folder
        self.gpus = 0 if not gpus_per_run else math.ceil(gpus_per_run)
        self.timeout_min = timeout_min
        self.partition = partition
        self.array_parallelism = array_parallelism
        self.cpus = cpus_per_run
        self.cluster = cluster
        self.poll_s = poll_s
        self.worker = worker

    def submit(self, jobs: Sequence[Job], progress: JobProgress | None = None
               ) -> Iterator[Outcome]:
        if not jobs:
            return
        submitit = _require("submitit", "slurm")
        folder = Path(self.folder or jobs[0].out / ".submitit") / "%j"
        ex = submitit.AutoExecutor(folder=str(folder), cluster=self.cluster)
        params: dict[str, Any] = {"timeout_min": self.timeout_min, "gpus_per_node": self.gpus,
                                  "cpus_per_task": self.cpus, "tasks_per_node": 1,
                                  "slurm_array_parallelism": self.array_parallelism}
        if self.partition:
            params["slurm_partition"] = self.partition
        ex.update_parameters(**params)
        submitted = ex.map_array(self.worker, list(jobs))
        pending = dict(zip(submitted, jobs))
        try:
            while pending:
                finished = [j for j in pending if j.done()]
                for sjob in finished:
                    job = pending.pop(sjob)
                    try:
                        yield Outcome(job, records=sjob.result())
                    except Exception as e:  # noqa: BLE001 - submitit re-raises the job's failure
                        text = f"{type(e).__name__}: {e}"
                        yield Outcome(job, error=text, kind=_failure_kind(text))
                if pending and not finished:
                    time.sleep(self.poll_s)
        finally:
            for sjob in pending:  # interrupted: cancel what has not finished
                try:
                    sjob.cancel(check=False)
                except Exception:  # noqa: BLE001 - best effort; records are atomic either way
                    pass


def make_executor(name: str, **options: Any) -> Executor:
    """The executor registered as ``name`` (unknown names fail with the closest ones)."""
    return executors.get(name)(**options)


# --------------------------------------------------------------------------------------- sweeps
@dataclass
class SweepSummary:
    """What :func:`run_plans` did: counts of seeds, and every record by its path."""

    total: int = 0
    skipped: int = 0  # finished before (resume)
    trained: int = 0  # records written by workers in this sweep
    crashed: int = 0  # records the driver wrote for jobs that died
    records: list[dict] = field(default_factory=list)
    fresh: list[dict] = field(default_factory=list)  # the records this sweep wrote
    by_path: dict[Path, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, path: Path, record: dict, *, fresh: bool) -> None:
        self.records.append(record)
        self.by_path[Path(path)] = record
        if fresh:
            self.fresh.append(record)

    def records_of(self, planned: Planned) -> list[dict | None]:
        """The records of one plan in seed order (``None`` for a seed that has none)."""
        return [self.by_path.get(Path(p)) for p in planned.paths]


def make_jobs(plans: Iterable[Planned], *, isolate_seeds: bool = False,
              warn: Callable[[str], None] | None = None) -> tuple[list[Job], SweepSummary]:
    """The jobs that train the unfinished seeds of ``plans``, and a summary of the finished ones.

    Finished seeds are found by :func:`regimebench.planner.resume` (the one rule: a readable
    record at the seed's path; an unreadable one is moved aside and trained again). A seed that
    two plans share (the same record path) is trained once.
    """
    from .planner import resume

    summary = SweepSummary()

    def warn_all(message: str) -> None:
        summary.warnings.append(message)
        if warn is not None:
            warn(message)

    jobs: list[Job] = []
    seen: set[Path] = set()
    for planned in plans:
        try:
            finished = resume(planned, warn_all)
        except OSError as e:  # a corrupt record that cannot be moved aside (read-only folder)
            raise BenchError(f"cannot set a corrupt record aside under {planned.request.out}: "
                               f"{e.strerror or e}") from None
        todo = []
        for i, (spec, path) in enumerate(zip(planned.specs, planned.paths)):
            if path in seen:
                continue
            seen.add(path)
            summary.total += 1
            if i in finished:
                summary.skipped += 1
                summary.add(path, finished[i], fresh=False)
            else:
                todo.append(spec)
        groups = [[s] for s in todo] if isolate_seeds else ([todo] if todo else [])
        for group in groups:
            request = dataclasses.replace(planned.request, seeds=[s.seed for s in group])
            jobs.append(Job(request=request, specs=tuple(group), cell=dict(planned.cell)))
    return jobs, summary


def run_jobs(jobs: Sequence[Job], executor: Executor | str, summary: SweepSummary | None = None,
             *, progress: Callable[[int, int, Outcome], None] | None = None,
             job_progress: JobProgress | None = None) -> SweepSummary:
    """Run ``jobs`` on ``executor``, adding their records to ``summary``.

    ``progress(done, todo, outcome)`` is called as each job finishes (``done`` and ``todo`` count
    seeds); ``job_progress`` is passed to the executor (see :class:`Executor`). Raises
    :class:`~regimebench.errors.BenchError` before anything runs if a results folder cannot be
    written, and when a record cannot be written later (a full disk); records already written
    stay. ``KeyboardInterrupt`` propagates after the executor has stopped its in-flight jobs.
    """
    from .planner import check_writable
    from .recording import crash_record

    summary = summary if summary is not None else SweepSummary()
    if isinstance(executor, str):
        executor = make_executor(executor)
    for out in dict.fromkeys(job.out for job in jobs):
        check_writable(out)
    todo, done = sum(len(j.specs) for j in jobs), 0
    for outcome in executor.submit(jobs, progress=job_progress):
        job = outcome.job
        if outcome.records is not None:
            summary.trained += len(outcome.records)
            for path, rec in zip(job.paths, outcome.records):
                summary.add(path, rec, fresh=True)
        else:
            for spec, path in zip(job.specs, job.paths):
                # The worker may have written this seed's record before it died. A job's seeds had
                # no finished record when it started (resume), so a finished one is the job's; a
                # crashed one may be the previous attempt's, and is replaced.
                try:
                    rec = read_record(path, follow_symlinks=False) if path.is_file() else None
                except RecordError:
                    rec = None
                if rec is not None and rec.get("status") != "crashed":
                    summary.add(path, rec, fresh=True)
                    summary.trained += 1
                    continue
                rec = crash_record(spec, job.cell, outcome.error or "", outcome.kind,
                                   command=job.command)
                try:
                    write_record(path, rec)
                except RecordError as e:
                    raise BenchError(str(e)) from None
                summary.add(path, rec, fresh=True)
                summary.crashed += 1
        done += len(job.specs)
        if progress is not None:
            progress(done, todo, outcome)
    return summary


def run_plans(plans: Iterable[Planned], executor: Executor | str = "local", *,
              isolate_seeds: bool = False,
              progress: Callable[[int, int, Outcome], None] | None = None,
              job_progress: JobProgress | None = None,
              warn: Callable[[str], None] | None = None) -> SweepSummary:
    """Train every planned seed that has no record yet on ``executor``; the one way to train.

    :func:`make_jobs` then :func:`run_jobs` (see both). Returns a :class:`SweepSummary` holding
    every record of ``plans``, finished before or written now.
    """
    jobs, summary = make_jobs(plans, isolate_seeds=isolate_seeds, warn=warn)
    return run_jobs(jobs, executor, summary, progress=progress, job_progress=job_progress)
