"""Seed groups in worker processes, one per core (the ``"<p>x<g>"`` seed layouts).

:func:`run_in_processes` splits the seeds of a plan between ``p`` worker processes. Each worker
is ``python -m regimebench.seed_worker``, started with XLA's CPU flags for one thread (set
before JAX starts, which is why these are processes and not threads), re-plans the same run for
its share of the seeds and executes it exactly as ``bench run`` does in one process: its
records are written as soon as each of its seed groups finishes. So an interrupted run keeps
every finished seed, whichever worker trained it, and a rerun trains only what is missing.

The parent reports the workers' combined progress, and turns a worker that died without
writing some of its seeds' records into ``crashed`` records (failure ``worker_died``). A worker
whose parent dies (``kill -9``) stops within a fifth of a second instead of training on unseen.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from .engine.layout import ASKED_ENV, SINGLE_THREAD_XLA_FLAGS, WORKER_ENV, Layout, in_worker

__all__ = ["run_in_processes", "in_worker", "watch_parent", "WORKER_ENV"]


def _shares(seeds: Sequence[int], processes: int) -> list[list[int]]:
    """Seeds dealt round-robin, so the workers' shares differ by at most one seed."""
    return [list(seeds[i::processes]) for i in range(processes) if seeds[i::processes]]


def run_in_processes(planned, todo: Sequence[int], layout: Layout,
                     progress: Callable[[int, int], None] | None = None,
                     crashed: Callable[[int, str], None] | None = None) -> None:
    """Train the seeds ``todo`` (indices into ``planned.specs``) of ``planned`` in
    ``layout.processes`` single-threaded workers, groups of ``layout.group`` in each.

    ``crashed(i, text)`` is called for every seed whose worker ended without writing its record.
    """
    from ._config import _CONFIGURED

    seeds = [planned.specs[i].seed for i in todo]
    shares = _shares(seeds, layout.processes)
    env = dict(os.environ)
    env["XLA_FLAGS"] = " ".join([env.get("XLA_FLAGS", ""), SINGLE_THREAD_XLA_FLAGS]).strip()
    env[WORKER_ENV] = str(len(shares))
    env[ASKED_ENV] = str(planned.request.seed_layout)
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    total = planned.evals * len(seeds)
    done = [0] * len(shares)
    lock = threading.Lock()
    workers, files, readers = [], [], []
    with tempfile.TemporaryDirectory(prefix="regimebench-workers-") as tmp:
        for w, share in enumerate(shares):
            # the worker runs its share in-process, in groups of the layout's size
            request = replace(planned.request, seeds=share, seed_layout=str(layout.group))
            path = Path(tmp) / f"worker-{w}.pkl"
            path.write_bytes(pickle.dumps({"request": request, "config": dict(_CONFIGURED),
                                           "jax": _jax_policy()}))
            err = open(Path(tmp) / f"worker-{w}.err", "w+")  # noqa: SIM115 - closed below
            files.append(err)
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "regimebench.seed_worker", str(path)], env=env,
                stdout=subprocess.PIPE, stderr=err, text=True))

        def read(w: int, proc: subprocess.Popen) -> None:
            for line in proc.stdout:
                parts = line.split()
                if len(parts) == 3 and parts[0] == "progress":
                    with lock:
                        done[w] = int(parts[1])
                        if progress is not None:
                            progress(sum(done), total)

        for w, proc in enumerate(workers):
            t = threading.Thread(target=read, args=(w, proc), daemon=True)
            t.start()
            readers.append(t)
        try:
            for proc in workers:
                proc.wait()
        finally:  # Ctrl-C or an error here: the workers must not outlive the run
            for proc in workers:
                if proc.poll() is None:
                    proc.terminate()
            for proc in workers:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for t in readers:
            t.join(timeout=5)
        index = {planned.specs[i].seed: i for i in todo}
        for w, (proc, share) in enumerate(zip(workers, shares)):
            files[w].seek(0)
            tail = files[w].read()[-4000:]
            files[w].close()
            missing = [index[s] for s in share if not planned.paths[index[s]].is_file()]
            if missing and crashed is not None:
                text = (f"worker process {w} (seeds {share}) exited with code {proc.returncode} "
                        f"before writing these records; its last output:\n{tail}")
                for i in missing:
                    crashed(i, text)


def _jax_policy() -> dict:
    """The JAX settings a worker must share with its parent beyond :func:`configure`'s (a test
    session's strict promotion)."""
    import jax

    return {"jax_numpy_dtype_promotion": jax.config.jax_numpy_dtype_promotion,
            "jax_numpy_rank_promotion": jax.config.jax_numpy_rank_promotion}


def watch_parent() -> None:
    """End this worker if the process that started it dies (``kill -9`` of ``bench run``)."""
    parent = os.getppid()

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
