"""Shared builders for the benchmarks: which problems exist, a timed seed-group runner."""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp

from regimebench.problem import list_problems, load_problem
from regimebench.solver import load_solver
from regimebench.train import Trainer

# The problems the issue names; those not (yet) in the catalogue are skipped, not failed.
PROBLEMS = ("helmholtz", "allen-cahn", "burgers", "lid-driven-cavity")
SEEDS = tuple(int(s) for s in os.environ.get("BENCH_SEEDS", "1,4,16,64").split(","))
TIER = os.environ.get("BENCH_TIER", "cpu")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CHUNK = 10  # steps per compiled chunk in the throughput benchmarks


def present(names=PROBLEMS):
    import pytest

    have = set(list_problems())
    return [n if n in have else pytest.param(n, marks=pytest.mark.skip(f"{n} not in catalogue"))
            for n in names]


def default_setup(problem: str, solver=None):
    """(task, solver spec, sizes) of a problem's default task and default entry at ``TIER``."""
    spec = load_problem(problem)
    info = spec.task_info(None)
    solver = solver or load_solver(info.default_solver)
    sizes = spec.sizes(info.name, TIER)
    task = spec.make_task(info.name, spec.resolve_params(info.name), sizes)
    return task, solver, sizes


def device_info() -> dict:
    d = jax.devices()[0]
    return {"backend": jax.default_backend(), "device_kind": d.device_kind,
            "x64": bool(jax.config.jax_enable_x64)}


class GroupRunner:
    """S seeds in groups of ``group`` through one compiled chunk of ``CHUNK`` steps of ``phase``.

    ``run()`` advances every group by one chunk and blocks; it is the timed call. The states are
    carried from call to call (the chunk donates its input), so nothing is re-initialised inside
    the timing.
    """

    def __init__(self, task, solver, sizes, n_seeds: int, group: int, phase: int = 0):
        # A huge budget keeps every seed "active" (phase_end far away) for all timed steps.
        evals = CHUNK * 512 * 1000
        self.trainer = Trainer(task, solver, evals, sizes, n_log=512, seed_layout=group)
        self.trainer.chunk = CHUNK
        t = self.trainer
        for i in range(len(t.phase_ends)):
            t.phase_ends[i] = evals
        seeds = list(range(n_seeds))
        self.states = []
        for g in range(0, n_seeds, group):
            members = seeds[g:g + group]
            members += [members[0]] * (group - len(members))
            self.states.append(t._init_phase(phase, t.init(members)))
        self.fn = t._chunk_fn(phase)
        self.n_seeds, self.step0 = n_seeds, jnp.asarray(0)

    def compile_seconds(self) -> float:
        t0 = time.perf_counter()
        self.fn.lower(self.step0, self.states[0]).compile()
        return time.perf_counter() - t0

    def run(self):
        for j, s in enumerate(self.states):
            self.states[j], _ = self.fn(self.step0, s)
        return jax.block_until_ready(self.states)
