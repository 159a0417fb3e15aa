"""The ``natural_gradient`` optimizer phase inside the engine: option checks, the measured cost
(LAPACK factorisations included) charged step by step, hard constraints from an entry's TOML.

The maths of the step is tested in ``tests/test_natural_gradient.py``; seed-layout equivalence
of every registered optimizer, this one included, in ``tests/test_layout_equivalence.py``.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest
from helpers import tiny_solver

from regimebench.components import optimizers
from regimebench.components.natural_gradient import cholesky_flops
from regimebench.engine import measure_step_cost, programs
from regimebench.engine.setup import PhaseBudget, build_phases, build_setup
from regimebench.engine.step import train_step
from regimebench.problem import load_problem
from regimebench.solver import SolverSpecError
from regimebench.train import train

SIZES = {"pde": 64, "bc": 32}
HARD_MLP = {"kind": "mlp", "width": 8, "depth": 2, "hard_constraint": True}


@pytest.fixture(scope="module")
def task():
    p = load_problem("helmholtz")
    # a2 = 1: the easiest helmholtz, so a few steps of a tiny network reduce the loss clearly
    return p.make_task("forward", p.resolve_params("forward", {"a2": 1.0}), SIZES)


@pytest.mark.parametrize("options, message", [
    ({"damping": -1.0}, "'damping' must be ≥ 0"),
    ({"damping_rule": "lm"}, "'damping_rule' must be one of fixed, step, gain"),
    ({"grid_size": 0}, "'grid_size' must be a positive integer"),
    ({"grid_base": 1.0}, "'grid_base' must be > 1"),
    ({"space": "sample"}, "'space' must be one of auto, woodbury, parameter, cg"),
    ({"cg_iters": 0}, "'cg_iters' must be a positive integer"),
    ({"momentum": 1.0}, "'momentum' must be in [0, 1)"),
    ({"damping_min": 1.0, "damping_max": 0.1}, "'damping_min' must be positive and ≤"),
])
def test_bad_options_fail_with_one_line(options, message):
    with pytest.raises(ValueError) as err:
        optimizers.get("natural_gradient")(**options)
    assert message in str(err.value) and "\n" not in str(err.value)
    # and through an entry, before anything is compiled
    with pytest.raises(SolverSpecError) as err:
        tiny_solver([{"kind": "natural_gradient", **options}])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_lapack_calls_are_counted_analytically():
    """The engine's FLOP count adds what XLA's cost analysis misses: a Cholesky factorisation
    (n³/3) and its two triangular solves (n² each for one right-hand side), here exactly
    ``cholesky_flops(n, solves=1)``; a program without LAPACK calls gets nothing added."""
    n = 96

    @jax.jit
    def solve(a, b):
        chol = jnp.linalg.cholesky(a @ a.T + jnp.eye(n))
        return jax.scipy.linalg.cho_solve((chol, True), b)

    with jax.enable_x64(True):
        compiled = solve.lower(jnp.ones((n, 2 * n)), jnp.ones(n)).compile()
        plain = jax.jit(lambda a: a @ a.T).lower(jnp.ones((n, 2 * n))).compile()
    assert programs.lapack_flops(compiled.as_text()) == pytest.approx(cholesky_flops(n, 1))
    assert programs.lapack_flops(plain.as_text()) == 0.0


def test_measured_cost_is_charged_and_recorded(task):
    """A run at a budget takes ⌊budget / cost⌋ steps of the measured cost (recorded per phase),
    spends no more than the budget and less than one step short of it; the Cholesky of the
    Gram matrix is in the step's count; the loss falls."""
    solver = tiny_solver([{"kind": "natural_gradient"}], architecture=HARD_MLP,
                         sampling={"kind": "resampled", "every": 5})
    budget = 120
    res = train(task, solver, budget, SIZES, [0, 1], n_log=6)
    (info,) = res.phases
    assert info["kind"] == "natural_gradient" and info["cost_model"] == "measured"
    cost = info["step_cost"]
    # a step is a per-point Jacobian (~1 gradient), a Gram matrix, its Cholesky and 16 loss
    # evaluations on a fresh batch: several gradients, and far from the 1 an Adam step costs
    assert 2.0 < cost < 60.0, info
    assert info["step_flops"] == pytest.approx(cost * info["gradient_flops"])
    # the curves get their points although one step costs many gradients: a chunk spans
    # ⌈budget / n_log⌉ = 20 equivalents, not 20 steps
    assert info["chunk_steps"] == max(1, math.ceil(20 / cost - 1e-9))
    for r in res.seeds:
        assert r.status == "ok"
        steps = int(budget // cost + 1e-9)
        assert r.evals == pytest.approx(steps * cost, rel=1e-5)
        assert budget - cost < r.evals <= budget + 1e-3
        assert len(r.curves["evals"]) >= 4
        assert r.curves["loss"][-1] < 0.1 * r.curves["loss"][0]
        # the hard constraint holds along the run: the boundary term is round-off
        assert max(r.curves["loss_bc"]) < 1e-20


def test_hard_constraint_terms_leave_the_step(task):
    """With the boundary imposed exactly, the boundary rows leave the Jacobian: the step is
    cheaper than the same step with every term in it (helmholtz: 64 rows instead of 96; the
    Gram matrix and its Cholesky dominate, ∝ N² and N³)."""
    def cost(arch):
        solver = tiny_solver([{"kind": "natural_gradient", "fresh_line_search": False,
                               "space": "woodbury", "grid_size": 2}],
                             architecture=arch)
        setup = build_setup(task, solver, SIZES)
        (phase,) = build_phases(solver)
        keys = jnp.stack([jax.random.key_data(jax.random.key(0))])
        state = programs.init_phase_group(setup, phase, programs.init_group(setup, keys))
        return measure_step_cost(setup, phase, jax.tree.map(lambda x: x[0], state))[0]

    soft = cost({"kind": "mlp", "width": 8, "depth": 2})
    hard = cost(HARD_MLP)
    assert hard < 0.9 * soft, (hard, soft)


def test_hard_constraint_needs_a_declaration():
    cavity = load_problem("lid-driven-cavity")
    t = cavity.make_task("forward", cavity.resolve_params("forward"),
                         cavity.sizes("forward", "smoke"))
    solver = tiny_solver([{"kind": "adam"}], architecture=HARD_MLP)
    with pytest.raises(ValueError, match="declares no hard constraint"):
        train(t, solver, 2, cavity.sizes("forward", "smoke"), [0], n_log=1)
    with pytest.raises(SolverSpecError, match="'hard_constraint': expected bool"):
        tiny_solver(architecture={"kind": "mlp", "width": 8, "depth": 2,
                                  "hard_constraint": "yes"})


def test_search_batch_is_redrawn_every_search_every_steps(task):
    """The fresh line-search batch is the task's own points, independent of the training batch,
    kept for ``search_every`` steps and then redrawn (the seed's key moves on every step)."""
    solver = tiny_solver([{"kind": "natural_gradient", "search_every": 2, "grid_size": 2}],
                         architecture={"kind": "mlp", "width": 4, "depth": 1})
    setup = build_setup(task, solver, SIZES)
    (phase,) = build_phases(solver)
    keys = jnp.stack([jax.random.key_data(jax.random.key(0))])
    state = jax.tree.map(lambda x: x[0], programs.init_phase_group(
        setup, phase, programs.init_group(setup, keys)))
    step = eqx.filter_jit(lambda s, i: train_step(setup, phase, PhaseBudget.of(1e9, 1.0, 1.0),
                                                  s, i, i))
    searches = []
    for i in range(4):
        state = step(state, jnp.asarray(i, jnp.int32))
        searches.append(state.opt_state.search)
    same = [all(bool(jnp.array_equal(a[k], b[k])) for k in a)
            for a, b in zip(searches, searches[1:])]
    assert same == [True, False, True]  # redrawn at steps 2 (and 0): kept within a pair
    assert {k: v.shape for k, v in searches[0].items()} == {k: v.shape
                                                             for k, v in state.batch.items()}
    assert not jnp.array_equal(searches[0]["pde"], state.batch["pde"])
