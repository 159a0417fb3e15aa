"""Executors: where the runs of a sweep train — this process, a Ray cluster, or SLURM.

Every backend runs the same function, :func:`run_job`, which calls
:func:`regimebench.runner.run_seeds` (``run_one`` for a single seed): it re-plans the specs,
trains, labels, and writes each record atomically into the shared results folder. What differs
is only *where* that call happens:

``local`` (default)
    In this process, one job after another. On one machine the process-wide JAX policy (platform,
    float64, matmul precision) is the same for every run, so a process per run would only add a
    JAX import and a fresh compilation (seconds each, more than a ``smoke`` run) while isolating
    nothing that matters here: exceptions and out-of-memory errors are already turned into
    ``crashed`` records by the runner, and a hard kill loses only the run in flight.
``ray``
    One Ray task per job (``pip install "regimebench[dist]"``), each in a fresh worker process
    (``max_calls=1``) holding ``gpus_per_run`` of a GPU; completions stream back as they finish.
``slurm``
    One SLURM array task per job through submitit (``cluster="local"`` runs the same code in
    local subprocesses, which is how the tests exercise it).

A *job* is one run: the seeds of one (problem, task, solver, budget, cell), trained together as
``bench run`` trains them (seeds are a batch dimension). ``isolate_seeds=True`` makes one job per
seed instead, trading that speed for failure isolation. A job that dies without writing its
records (an exception outside training, a killed worker, a failed array task) becomes ``crashed``
records written by the driver, with the traceback, so the failure is counted.

Finished records are never re-run (resume), a corrupt one is moved aside as ``*.corrupt`` and
re-run, and because records are written atomically an interrupted sweep leaves whole records or
none. Use :func:`run_specs`; add a backend with ``@executors.register("name")``.
"""

from __future__ import annotations

import json
import math
import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ._registry import Registry
from .record import RecordError, RunSpec, read_record, record_path, write_record
from .runner import BenchError, check_writable, crash_record

__all__ = [
    "Job",
    "Outcome",
    "Executor",
    "SweepSummary",
    "executors",
    "make_executor",
    "run_job",
    "run_specs",
    "plan_jobs",
    "LocalExecutor",
    "RayExecutor",
    "SlurmExecutor",
]

executors: Registry[type] = Registry("executor")


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
    """One unit of work: specs that differ only in their seed. Picklable (shipped to workers)."""

    specs: tuple[RunSpec, ...]
    out: str
    cell: Mapping[str, Any] = field(default_factory=dict)
    solver: str | None = None  # the entry's name or path the specs were planned from
    command: tuple[str, ...] | None = None
    seed_layout: str | int = "auto"
    platform: str | None = None

    @property
    def paths(self) -> list[Path]:
        return [record_path(Path(self.out), s, self.cell or None) for s in self.specs]

    @property
    def label(self) -> str:
        s = self.specs[0]
        cell = ",".join(f"{k}={v}" for k, v in sorted(self.cell.items()))
        seeds = ",".join(str(x.seed) for x in self.specs)
        return (f"{s.problem}/{s.task}/{s.solver}/{s.budget}" + (f"[{cell}]" if cell else "")
                + f" seed {seeds}")


def run_job(job: Job) -> list[dict]:
    """Train one job and write its records; the function every executor runs on a worker."""
    from . import _config
    from .runner import run_seeds

    if not _config._CONFIGURED:  # a fresh worker process; the CLI configured the local one
        _config.configure(platform=job.platform)
    return run_seeds(list(job.specs), Path(job.out), cell=job.cell, solver=job.solver,
                     seed_layout=job.seed_layout,
                     command=list(job.command) if job.command else None)


@dataclass
class Outcome:
    """What an executor reports for a finished job: its records, or why it has none."""

    job: Job
    records: list[dict] | None = None
    error: str | None = None  # traceback or the backend's message
    kind: str = "exception"  # failure kind for the crashed records: exception, out_of_memory, …


class Executor(Protocol):
    """Runs jobs somewhere and yields one :class:`Outcome` per job, as jobs finish."""

    def submit(self, jobs: Sequence[Job]) -> Iterator[Outcome]: ...


def _failure_kind(text: str) -> str:
    if "MemoryError" in text or "RESOURCE_EXHAUSTED" in text or "Out of memory" in text:
        return "out_of_memory"
    return "exception"


# --------------------------------------------------------------------------------------- local
@executors.register("local")
class LocalExecutor:
    """Run jobs one after another in this process (see the module docstring for why)."""

    def __init__(self, *, worker: Callable[[Job], list[dict]] = run_job, **_ignored: Any):
        self.worker = worker

    def submit(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        for job in jobs:
            try:
                records = self.worker(job)
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
                 worker: Callable[[Job], list[dict]] = run_job, **_ignored: Any):
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
            import regimebench

            paths = [str(Path(regimebench.__file__).resolve().parents[1])]
            paths += [str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(
                os.pathsep) if p]
            env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        return env

    def submit(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        ray = _require("ray", "ray")
        owns = not ray.is_initialized()
        if owns:
            kwargs = {"include_dashboard": False, "log_to_driver": False, **self.init_kwargs}
            try:
                ray.init(address=self.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise BenchError(f"cannot start or reach Ray at {self.address or 'local'}: "
                                 f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
                                 ) from None
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
                        kind = ("out_of_memory" if isinstance(e, ray.exceptions.OutOfMemoryError)
                                else _failure_kind(text))
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
                 poll_s: float = 2.0, worker: Callable[[Job], list[dict]] = run_job,
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

    def submit(self, jobs: Sequence[Job]) -> Iterator[Outcome]:
        if not jobs:
            return
        submitit = _require("submitit", "slurm")
        folder = Path(self.folder or Path(jobs[0].out) / ".submitit") / "%j"
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
    total: int = 0
    skipped: int = 0  # finished before (resume)
    trained: int = 0  # records written by workers in this sweep
    crashed: int = 0  # records the driver wrote for jobs that died
    records: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _run_key(spec: RunSpec, cell: Mapping[str, Any]) -> str:
    d = spec.as_dict()
    d.pop("seed")
    return json.dumps([d, dict(cell)], sort_keys=True, default=str)


def plan_jobs(specs_with_cells: Iterable[tuple[RunSpec, Mapping[str, Any] | None]], out: Path, *,
              force: bool = False, isolate_seeds: bool = False, solver: str | None = None,
              command: Sequence[str] | None = None, seed_layout: str | int = "auto",
              platform: str | None = None, warn: Callable[[str], None] | None = None,
              ) -> tuple[list[Job], list[dict], int]:
    """Split ``(spec, cell)`` pairs into jobs for the unfinished ones.

    Returns ``(jobs, finished records, total)``. A record that exists but cannot be read is
    renamed to ``<name>.corrupt`` (kept for inspection) and its seed is run again.
    """
    out = Path(out)
    groups: dict[str, list[tuple[RunSpec, dict]]] = {}
    finished, total = [], 0
    for spec, cell in specs_with_cells:
        total += 1
        cell = dict(cell or {})
        path = record_path(out, spec, cell or None)
        if path.is_file() and not force:
            try:
                finished.append(read_record(path))
                continue
            except RecordError as e:
                aside = path.with_name(path.name + ".corrupt")
                os.replace(path, aside)
                if warn:
                    warn(f"{e}; moved aside to {aside.name} and running it again")
        key = _run_key(spec, cell) + (f"#{spec.seed}" if isolate_seeds else "")
        groups.setdefault(key, []).append((spec, cell))
    jobs = [Job(specs=tuple(s for s, _ in members), out=str(out), cell=members[0][1],
                solver=solver, command=tuple(command) if command else None,
                seed_layout=seed_layout, platform=platform)
            for members in groups.values()]
    return jobs, finished, total


def run_specs(specs_with_cells: Iterable[tuple[RunSpec, Mapping[str, Any] | None]],
              executor: Executor | str, out: Path,
              progress: Callable[[int, int, Outcome], None] | None = None, *,
              force: bool = False, isolate_seeds: bool = False, solver: str | None = None,
              command: Sequence[str] | None = None, seed_layout: str | int = "auto",
              platform: str | None = None, warn: Callable[[str], None] | None = None,
              ) -> SweepSummary:
    """Run every ``(spec, cell)`` that has no record under ``out`` on ``executor``.

    ``progress(done, todo, outcome)`` is called as each job finishes (``done`` and ``todo`` count
    seeds). Raises :class:`BenchError` before anything runs if ``out`` cannot be written, and
    when a record cannot be written later (a full disk); records already written stay.
    ``KeyboardInterrupt`` propagates after the executor has stopped its in-flight jobs.
    """
    if isinstance(executor, str):
        executor = make_executor(executor)
    summary = SweepSummary()

    def warn_all(message: str) -> None:
        summary.warnings.append(message)
        if warn is not None:
            warn(message)

    check_writable(Path(out))
    jobs, finished, summary.total = plan_jobs(
        specs_with_cells, out, force=force, isolate_seeds=isolate_seeds, solver=solver,
        command=command, seed_layout=seed_layout, platform=platform, warn=warn_all)
    summary.skipped = len(finished)
    summary.records.extend(finished)
    todo, done = sum(len(j.specs) for j in jobs), 0
    for outcome in executor.submit(jobs):
        job = outcome.job
        if outcome.records is not None:
            summary.trained += len(outcome.records)
            summary.records.extend(outcome.records)
        else:
            for spec, path in zip(job.specs, job.paths):
                if path.is_file():  # the worker got this far before it died
                    summary.records.append(read_record(path))
                    summary.trained += 1
                    continue
                rec = crash_record(spec, job.cell, outcome.error or "", outcome.kind,
                                   command=list(job.command) if job.command else None)
                try:
                    write_record(path, rec)
                except RecordError as e:
                    raise BenchError(str(e)) from None
                summary.records.append(rec)
                summary.crashed += 1
        done += len(job.specs)
        if progress is not None:
            progress(done, todo, outcome)
    return summary
