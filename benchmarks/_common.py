"""Shared builders for the benchmarks: which problems exist, a timed seed-group runner."""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp

from regimebench.engine import programs
from regimebench.engine.setup import PhaseBudget, build_phases, build_setup
from regimebench.problem import list_problems, load_problem
from regimebench.solver import load_solver

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
    the timing. The chunk is the engine's own program (:func:`regimebench.engine.programs.
    run_chunk`), with a budget so large that every seed stays active, and no curve probes.
    """

    def __init__(self, task, solver, sizes, n_seeds: int, group: int, phase: int = 0):
        self.setup = build_setup(task, solver, sizes)
        self.phase = build_phases(solver)[phase]
        huge = float(CHUNK * 512 * 1000)
        self.budget = PhaseBudget.of(huge, self.phase.max_step_cost() or 1.0, 1.0)
        seeds = list(range(n_seeds))
        self.states = []
        for g in range(0, n_seeds, group):
            members = seeds[g:g + group]
            members += [members[0]] * (group - len(members))
            keys = jnp.stack([jax.random.key_data(jax.random.key(s)) for s in members])
            state = programs.init_group(self.setup, keys)
            self.states.append(programs.init_phase_group(self.setup, self.phase, state))
        zero = jnp.asarray(0, jnp.int32)
        self.inputs = programs.ChunkInputs(self.setup, self.phase, self.budget, zero, zero, CHUNK)
        self.fn = programs.run_chunk
        self.n_seeds = n_seeds

    def compile_seconds(self) -> float:
        t0 = time.perf_counter()
        self.fn.lower(self.inputs, self.states[0]).compile()
        return time.perf_counter() - t0

    def run(self):
        for j, s in enumerate(self.states):
            self.states[j], _ = self.fn(self.inputs, s)
        return jax.block_until_ready(self.states)
