"""The numeric policy: a float32 entry trains in float32, on every problem and task.

For every solver entry and every (problem, task) it declares — the zoo matrix's cases, with the
entries' tiny variants — the entry is made float32 and one training step of each of its phases
is traced: the step's jaxpr holds no float64 value (not a parameter, not a point, not a
constant of a schedule). Nothing is compiled: the initial state is an abstract evaluation.

The session runs with strict dtype promotion (``tests/conftest.py``), so the same trace also
proves that no implicit promotion happens inside the step.
"""

from __future__ import annotations

import dataclasses
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest
import zoo_matrix

from regimebench.engine.setup import PhaseBudget, build_phases, build_setup
from regimebench.engine.step import init_phase, init_seed, train_step
from regimebench.problem import load_problem
from regimebench.solver import load_solver

F64 = re.compile(r"f64\[")


def _task(problem: str, task: str):
    p = load_problem(problem)
    if task == "operator":  # the zoo matrix's small dataset
        cell = zoo_matrix.OPERATOR_CELL
        params = p.resolve_params(task, {**cell["overrides"],
                                         p.task_info(task).data.name: cell["data"]})
        sizes = p.sizes(task, "smoke")
    else:
        params = p.resolve_params(task, zoo_matrix.CELLS.get(problem, {}).get("overrides"))
        sizes = p.sizes(task, "smoke")
    return p.make_task(task, params, sizes), sizes


@pytest.mark.parametrize("case", [pytest.param(c, id=zoo_matrix.case_id(c))
                                  for c in zoo_matrix.cases()])
def test_float32_step_holds_no_float64_value(case):
    solver_name, problem, task_name = case
    task, sizes = _task(problem, task_name)
    solver = dataclasses.replace(zoo_matrix.tiny_variant(load_solver(solver_name)),
                                 dtype="float32")
    setup = build_setup(task, solver, sizes)
    key = jax.random.key_data(jax.random.key(0))
    state = eqx.filter_eval_shape(init_seed, setup, key)
    for phase in build_phases(solver):
        state = eqx.filter_eval_shape(init_phase, setup, phase, state)
        budget = PhaseBudget.of(100.0, phase.max_step_cost() or 1.0, 1.0)
        step = jnp.asarray(0, jnp.int32)
        jaxpr = jax.make_jaxpr(
            lambda s, i, setup=setup, phase=phase, budget=budget: train_step(
                setup, phase, budget, s, i, i))(state, step)
        wide = [line.strip() for line in str(jaxpr).splitlines() if F64.search(line)]
        assert not wide, f"{type(phase).__name__}: {len(wide)} float64 values, e.g. {wide[:3]}"


def test_the_check_sees_float64_values():
    """The same trace of a float64 entry is full of float64 values (the regex is not blind)."""
    task, sizes = _task("helmholtz", "forward")
    solver = dataclasses.replace(zoo_matrix.tiny_variant(load_solver("pinn-mlp-adam")),
                                 dtype="float64")
    setup = build_setup(task, solver, sizes)
    (phase,) = build_phases(solver)
    state = eqx.filter_eval_shape(init_seed, setup, jax.random.key_data(jax.random.key(0)))
    state = eqx.filter_eval_shape(init_phase, setup, phase, state)
    budget = PhaseBudget.of(100.0, 1.0, 1.0)
    jaxpr = jax.make_jaxpr(lambda s, i: train_step(setup, phase, budget, s, i, i))(
        state, jnp.asarray(0, jnp.int32))
    assert len(F64.findall(str(jaxpr))) > 50
