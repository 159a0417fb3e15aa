"""The zoo smoke matrix: every solver entry × every (problem, task) it declares, at tiny sizes.

Used by ``tests/test_zoo_smoke.py``, which runs this file as worker processes::

    python tests/zoo_matrix.py OUT [SOLVER:PROBLEM:TASK ...]   (more cases on stdin)

Each case trains a *tiny variant* of the entry (:func:`tiny_variant`: the same architecture kind,
embedding, optimizer phases, weighting, sampler and dtype, with the widths and depths of
:data:`TINY`) for :data:`SMOKE_EVALS` gradient evaluations at the problem's ``smoke`` collocation
sizes, one seed, through the real runner (so a record is written), and writes
``OUT/<case>.json`` with the record's path and the wall time.

Why tiny: compilation, not training, dominates a smoke case, and XLA's compile time grows with
the size of the program; the matrix (~70 cases) has to fit in CI's budget. Why separate worker
processes: XLA compiles on one thread, so two workers use CI's two cores, and the workers can
compile with XLA's cheap optimisation level (:data:`FAST_COMPILE_FLAGS`, set before JAX starts)
without changing how the rest of the test suite compiles.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import sys
import time
from pathlib import Path

import pytest

# 200 gradient evaluations: enough for every entry's objective to fall measurably. (At 400, the
# tiny PirateNet on active-turbulence/inverse trades its PDE residual for the data term — pde loss
# 24 → 260 while grad-norm raises the data and divergence weights to ~80 — so the objective
# with the final weights rises; a dynamic of the tiny network, reported, not hidden.)
SMOKE_EVALS = 200
# Level 0 skips LLVM's expensive passes: ~1.5x faster compiles of these small programs, slower
# execution, which does not matter for 200 steps of a width-8 network.
FAST_COMPILE_FLAGS = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"

# Options replaced in the tiny variant, per architecture kind. Everything else stays the entry's.
TINY = {
    "mlp": {"width": 8, "depth": 1},
    "modified-mlp": {"width": 8, "depth": 1},
    "piratenet": {"width": 8, "blocks": 1},
    "fno": {"modes": 4, "width": 8, "n_layers": 2, "proj_width": 16, "padding": 2},
    "deeponet": {"latent": 16, "branch_width": 16, "branch_depth": 2, "trunk_width": 16,
                 "trunk_depth": 2},
}
# Operator tasks: a small dataset (the data axis is the number of training pairs), small test set.
OPERATOR_CELL = {"data": 8, "overrides": {"n_test": 4}}
# Per-problem cells. Helmholtz runs at its easiest difficulty (a2 = 1; analytic reference, so
# nothing extra to build): at the canonical a2 = 4 the loss of a width-8 network is dominated by
# the source term and does not move measurably within the smoke budget (measured: 6.5e3 → 7.7e3
# for pinn-mlp-adam, mini-batch noise ±25 %), while at a2 = 1 it falls to 0.56×. The other
# problems run at their canonical values, whose references the rest of the suite builds anyway.
CELLS = {"helmholtz": {"overrides": {"a2": 1.0}}}


def tiny_variant(spec):
    """``spec`` with the :data:`TINY` sizes (an explicit embedding dimension shrinks with them)."""
    from regimebench.solver import Component

    arch = spec.architecture
    options = {**arch.options, **TINY.get(arch.kind, {})}
    emb = options.get("embedding")
    if isinstance(emb, dict) and "dim" in emb:
        options["embedding"] = {**emb, "dim": 8}
    return dataclasses.replace(spec, architecture=Component(arch.kind, options))


def cases() -> list[tuple[str, str, str]]:
    """Every (solver, problem, task) an entry declares and the catalogue has."""
    from regimebench.problem import list_problems, load_problem
    from regimebench.solver import list_solvers, load_solver

    problems = {name: load_problem(name) for name in list_problems()}
    out = []
    for name in list_solvers():
        spec = load_solver(name)
        out += [(name, pname, task) for pname, prob in problems.items() for task in prob.tasks
                if spec.supports(pname, task)]
    return out


def case_id(case) -> str:
    return "-".join(case)


def run_case(case, out: Path) -> dict:
    from regimebench.runner import RunRequest, execute, plan
    from regimebench.solver import load_solver

    solver, problem, task = case
    extra = OPERATOR_CELL if task == "operator" else CELLS.get(problem, {})
    t0 = time.perf_counter()
    request = RunRequest(problem=problem, task=task, solver=tiny_variant(load_solver(solver)),
                         seeds=[0], budget="smoke", evals=SMOKE_EVALS, out=out / "records",
                         n_log=20, command=["pytest", "tests/test_zoo_smoke.py"], **extra)
    planned = plan(request)
    execute(planned)
    return {"path": str(planned.paths[0]), "seconds": time.perf_counter() - t0}


# conftest.py keeps the session's MatrixRun here; the matrix fixture reads it.
MATRIX_RUN = pytest.StashKey["MatrixRun"]()


class MatrixRun:
    """The matrix trained in the background by worker processes, started as early as possible.

    ``tests/conftest.py`` starts one right after collection, so the workers train while the
    rest of the suite runs in the main process (that process mostly compiles, on one thread:
    on CI's two cores the suite and the matrix overlap instead of following each other).
    Cases go out dearest first (``cost``), each to whichever worker has just finished one, so
    the workers finish together. :meth:`wait` blocks until every case is done and returns the
    output folder (``<case-id>.json`` per case and ``workers.log``).
    """

    def __init__(self, cases, out: Path, cost, workers: int = 2):
        import subprocess
        import threading

        self.out = out
        env = {**os.environ, "XLA_FLAGS": " ".join(
            [os.environ.get("XLA_FLAGS", ""), FAST_COMPILE_FLAGS]).strip()}
        src = str(Path(__file__).parents[1] / "src")
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self._todo = sorted(cases, key=cost, reverse=True)
        self._workers = [subprocess.Popen([sys.executable, __file__, str(out)], env=env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True)
                         for _ in range(min(workers, len(self._todo)))]
        self._log: list[str] = []
        self._thread = threading.Thread(target=self._dispatch, daemon=True)
        self._thread.start()

    def _dispatch(self) -> None:
        import selectors

        pending = {w.pid: b"" for w in self._workers}
        with selectors.DefaultSelector() as sel:
            for w in self._workers:
                # raw reads: a buffered readline could hold a "done" line back from select()
                sel.register(w.stdout.fileno(), selectors.EVENT_READ, w)
                self._feed(w)
            while sel.get_map():
                for key, _ in sel.select():
                    w, data = key.data, os.read(key.fd, 1 << 16)
                    if not data:  # the worker exited
                        sel.unregister(key.fd)
                        continue
                    *lines, pending[w.pid] = (pending[w.pid] + data).split(b"\n")
                    for line in lines:
                        self._log.append(line.decode(errors="replace"))
                        if line.startswith(b"done "):
                            self._feed(w)
        for w in self._workers:
            w.wait()
        (self.out / "workers.log").write_text("\n".join(self._log))

    def _feed(self, worker) -> None:
        """The next case to ``worker``, or end of input when none is left."""
        if self._todo:
            worker.stdin.write(":".join(self._todo.pop(0)) + "\n")
            worker.stdin.flush()
        elif not worker.stdin.closed:
            worker.stdin.close()

    def wait(self) -> Path:
        self._thread.join()
        return self.out

    def stop(self) -> None:
        """End the workers (a session interrupted before the matrix tests ran)."""
        for w in self._workers:
            if w.poll() is None:
                w.kill()
        self._thread.join(timeout=10)


def main(argv: list[str]) -> int:
    """Train the cases named on the command line, then those read from stdin, one per line.

    After each case a line ``done <case-id> <seconds>`` goes to stdout, so a parent can hand
    the next case to whichever worker is idle (the matrix fixture does).
    """
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    from regimebench._config import configure

    configure(platform="cpu")
    # the test session's policy (tests/conftest.py): no implicit dtype or rank promotion
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    jax.config.update("jax_numpy_rank_promotion", "raise")
    out = Path(argv[0])
    for text in itertools.chain(argv[1:], (line.strip() for line in sys.stdin)):
        if not text:
            continue
        case = tuple(text.split(":"))
        try:
            result = run_case(case, out)
        except Exception as e:  # reported by the test of this case, with the message
            result = {"error": f"{type(e).__name__}: {e}"}
        tmp = out / f".{case_id(case)}.json.tmp"
        tmp.write_text(json.dumps(result))
        tmp.replace(out / f"{case_id(case)}.json")
        print(f"done {case_id(case)} {result.get('seconds', float('nan')):.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
