"""Seed layouts: how the seeds of a run are spread over vmapped groups and worker processes.

Inside one process seeds run in groups through *one* compiled program: a group of ``g`` seeds is
one vmapped program call (a group of one runs the unbatched program), and groups follow each
other. Across processes, the seeds are split between ``p`` worker processes, one per core, each
single-threaded (XLA's CPU flags are set before JAX starts in the worker), each running its
share in groups of ``g``. ``seed_layout``:

* ``"vmap"`` — one group of all seeds; ``"sequential"`` — groups of one;
* an integer ``g`` (or its string) — groups of at most ``g``, in this process;
* ``"<p>x<g>"`` (e.g. ``"2x1"``) — ``p`` single-threaded worker processes, groups of ``g``;
* ``"auto"`` — what measured fastest on this kind of device (:func:`auto_layout`).

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
           "ASKED_ENV", "run_layout", "MIN_EVALS_FOR_WORKERS"]

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


#: Below this many gradient evaluations per seed, compilation (about 10 s per process on a
#: 2-core CPU) outweighs training (~100 steps/s), so ``auto`` keeps one process: workers would
#: each compile the same programs for no gain in wall time (the smoke tier, tests, CI).
MIN_EVALS_FOR_WORKERS = 1000


def auto_layout(n_seeds: int, *, cross_seed: bool = False, evals: int | None = None,
                backend: str | None = None, cores: int | None = None) -> Layout:
    """What ``"auto"`` means for ``n_seeds`` seeds of ``evals`` evaluations on this machine.

    * Accelerators: one vmapped group of all seeds (one small PINN leaves a GPU mostly idle).
    * CPU with several cores and several seeds: one single-threaded worker process per core (at
      most one per seed), each running its seeds one at a time with the unbatched program —
      unless the seeds are short (``evals`` below :data:`MIN_EVALS_FOR_WORKERS`) or cross-seed
      diagnostics need every seed's final parameters in one process.
    * Otherwise: seeds one at a time in this process.

    Why, on CPU (2-core machine, helmholtz, 512 + 128 points, float32, Adam;
    ``benchmarks/bench_layouts.py``; the machine was shared with other jobs, so the numbers are
    noisy): one process gets no gain from XLA's intra-op threads on a PINN step (4 × 64 MLP:
    218–226 seed-steps/s with the default threads, 219–224 single-threaded; the default entry's
    modified MLP: 117 and 129), vmapped groups did not beat sequential seeds once a single seed
    runs unbatched (MLP: groups of 2 213, of 4 200; modified MLP: 122 and 109), and two
    single-threaded processes, one per core, trained four seeds at 1.4–1.9× one process (MLP
    305 against 218–226; modified MLP 250 against 129), though in runs where other jobs held a
    core they only matched it. Compilation happens once per process, in parallel.
    """
    backend = backend or jax.default_backend()
    if backend != "cpu":
        return Layout(1, max(1, n_seeds))
    cores = available_cores() if cores is None else cores
    processes = min(cores, n_seeds)
    short = evals is not None and evals < MIN_EVALS_FOR_WORKERS
    if processes >= 2 and not cross_seed and not short:
        return Layout(processes, 1)
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
