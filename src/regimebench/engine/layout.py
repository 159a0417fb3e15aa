"""Seed layouts: how the seeds of a run are spread over vmapped groups and worker processes.

Inside one process seeds run in groups through *one* compiled program: a group of ``g`` seeds is
one vmapped program call (a group of one runs the unbatched program), and groups follow each
other. Across processes, the seeds are split between ``p`` worker processes, one per core, each
single-threaded (XLA's CPU flags are set before JAX starts in the worker), each running its
share in groups of ``g``. ``seed_layout``:

* ``"vmap"`` — one group of all seeds; ``"sequential"`` — groups of one;
* an integer ``g`` (or its string) — groups of at most ``g``, in this process;
* ``"<p>x<g>"`` (e.g. ``"2x1"``) — ``p`` single-threaded worker processes, groups of ``g``;
* ``"auto"`` — what measured fastest on this kind of device (:func:`auto_layout`): on a CPU,
  seeds one at a time in this process; on an accelerator, one vmapped group.

The layout a run used is recorded in every record (``layout``: ``processes``, ``threads``,
``group_size``, ``groups``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import jax

from ..choices import SeedLayout, WorkerLayout, parse_seed_layout

__all__ = ["Layout", "resolve_layout", "group_size", "auto_layout", "available_cores",
           "SINGLE_THREAD_XLA_FLAGS", "threads_in_this_process", "in_worker", "WORKER_ENV",
           "ASKED_ENV", "run_layout"]

#: XLA flags that make a CPU process single-threaded (set in a worker before JAX starts).
SINGLE_THREAD_XLA_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
#: Set in the environment of a worker process (:mod:`regimebench.seed_processes`) to the number
#: of worker processes of its run; :data:`ASKED_ENV` to the layout the run was asked for.
WORKER_ENV = "REGIMEBENCH_SEED_WORKER"
ASKED_ENV = "REGIMEBENCH_SEED_LAYOUT"


def in_worker() -> bool:
    """Whether this process is a seed worker (it never starts workers of its own)."""
    return bool(os.environ.get(WORKER_ENV))


def run_layout(seed_layout, group: int) -> dict:
    """How this process's seeds are laid out, for records: the layout asked for, the number of
    processes of the run, threads per process, the group size."""
    if in_worker():
        asked, processes = os.environ.get(ASKED_ENV, str(seed_layout)), int(os.environ[WORKER_ENV])
    else:
        asked, processes = str(seed_layout), 1
    return {"seed_layout": asked, "processes": processes, "threads": threads_in_this_process(),
            "group_size": group}



@dataclass(frozen=True)
class Layout:
    """A resolved layout: ``processes`` worker processes, ``group`` seeds per vmapped group."""

    processes: int
    group: int

    def __str__(self) -> str:
        return f"{self.processes}x{self.group}" if self.processes > 1 else str(self.group)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def threads_in_this_process() -> int | None:
    """1 when this process runs XLA single-threaded (:data:`SINGLE_THREAD_XLA_FLAGS`), else
    ``None`` (XLA's default)."""
    return 1 if "intra_op_parallelism_threads=1" in os.environ.get("XLA_FLAGS", "") else None


def auto_layout(n_seeds: int, *, cross_seed: bool = False, evals: int | None = None,
                backend: str | None = None, cores: int | None = None) -> Layout:
    """What ``"auto"`` means for ``n_seeds`` seeds of ``evals`` evaluations on this machine.

    * Accelerators: one vmapped group of all seeds (one small PINN leaves a GPU mostly idle).
    * CPU: the seeds one at a time in this process, each with the unbatched program.

    Why, on CPU. Measured on the project's 2-core machine with nothing else running (helpers'
    jobs paused), 2026-11-30, commit 88c0019 (``benchmarks/README.md``): on helmholtz (4 × 64
    MLP, 512 + 128 points, Adam, 4 seeds × 500 steps, ``benchmarks/bench_layouts.py``) one
    process ran 384 seed-steps/s one seed at a time, 429 in vmapped groups of 2 and 416 in one
    group of 4; two single-threaded worker processes ran 426 (0.99× the best single process),
    and for 3 seeds two and three workers ran 392 and 394. The main command, ``bench run
    --problem helmholtz`` (3 seeds, ``cpu`` tier, empty caches), took 55.0 and 47.3 s one seed
    at a time, 57.0 and 58.5 s with two workers (each compiles the same programs) and 67.2 and
    69.8 s in vmapped groups of 2 (two programs to compile: the group and the last seed alone).
    One process already keeps both of these cores busy, so neither workers nor vmapped groups
    pay for their extra compilation here. ``evals``, ``cores`` and ``cross_seed`` are accepted
    so that callers need not know the rule; on a machine with many physical cores, pass an
    explicit ``"<p>x1"`` layout after measuring it with ``benchmarks/bench_layouts.py``.
    """
    backend = backend or jax.default_backend()
    if backend != "cpu":
        return Layout(1, max(1, n_seeds))
    return Layout(1, 1)


def resolve_layout(layout: str | int, n_seeds: int, *, cross_seed: bool = False,
                   evals: int | None = None) -> Layout:
    """The :class:`Layout` of ``layout`` (see the module docstring) for ``n_seeds`` seeds of
    ``evals`` evaluations each."""
    n_seeds = max(1, n_seeds)
    parsed = parse_seed_layout(layout)
    if isinstance(parsed, int):
        return Layout(1, max(1, min(parsed, n_seeds)))
    if isinstance(parsed, WorkerLayout):
        p = min(parsed.processes, n_seeds)
        return Layout(p, max(1, min(parsed.group, math.ceil(n_seeds / p))))
    if parsed is SeedLayout.VMAP:
        return Layout(1, n_seeds)
    if parsed is SeedLayout.SEQUENTIAL:
        return Layout(1, 1)
    return auto_layout(n_seeds, cross_seed=cross_seed, evals=evals)


def group_size(layout: str | int, n_seeds: int) -> int:
    """Seeds per vmapped group when ``layout`` runs ``n_seeds`` seeds in *this* process (a
    worker of a multi-process layout runs its share with the layout's group size)."""
    return resolve_layout(layout, n_seeds).group
