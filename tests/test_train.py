"""The seed-vectorised engine: seeds in a batch equal seeds run alone; failures stay per seed;
budgets are never overspent; a float32 entry trains in float32."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_solver

from regimebench.engine import programs
from regimebench.engine.layout import Layout, auto_layout, group_size
from regimebench.engine.setup import PhaseBudget, build_phases, build_setup
from regimebench.outcomes import Status
from regimebench.problem import load_problem
from regimebench.train import resolve_layout, train

SIZES = {"pde": 48, "bc": 16}


@pytest.fixture(scope="module")
def task():
    p = load_problem("helmholtz")
    return p.make_task("forward", p.resolve_params("forward"), SIZES)


def test_loss_decreases(task):
    solver = tiny_solver([{"kind": "adam", "lr": 2e-2}], width=16)
    res = train(task, solver, 150, SIZES, [0], n_log=6)
    curve = res.seeds[0].curves["loss"]
    assert res.seeds[0].status == Status.OK
    # The source term makes the initial loss ~1e4; a fitting network must remove most of it.
    assert curve[-1] < 0.5 * curve[0]


def test_vmapped_seeds_equal_sequential_seeds(task):
    solver = tiny_solver([{"kind": "adam", "fraction": 0.5, "lr": 1e-2},
                          {"kind": "lbfgs", "fraction": 0.5}], sampling={"kind": "resampled",
                                                                          "every": 5})
    seeds = [0, 1, 2, 3]
    together = train(task, solver, 40, SIZES, seeds, n_log=4, seed_layout="vmap")
    alone = train(task, solver, 40, SIZES, seeds, n_log=4, seed_layout="sequential")
    assert together.layout["group_size"] == 4 and alone.layout["group_size"] == 1
    for a, b in zip(together.seeds, alone.seeds):
        assert a.seed == b.seed and a.evals == b.evals
        # float64: only summation order may differ between the batched and unbatched programs.
        np.testing.assert_allclose(a.curves["loss"], b.curves["loss"], rtol=1e-9)
        np.testing.assert_allclose(a.metrics["rel_l2"], b.metrics["rel_l2"], rtol=1e-9)
    # and different seeds really are different
    assert together.seeds[0].metrics["rel_l2"] != together.seeds[1].metrics["rel_l2"]


def test_non_finite_seed_is_frozen_and_others_finish(task):
    solver = tiny_solver([{"kind": "adam", "lr": 1e-2}])
    setup = build_setup(task, solver, SIZES)
    (phase,) = build_phases(solver)
    keys = jnp.stack([jax.random.key_data(jax.random.key(s)) for s in (0, 1, 2)])
    state = programs.init_phase_group(setup, phase, programs.init_group(setup, keys))
    # Poison one collocation point of seed 1 only: its loss is NaN from the first step.
    state = eqx.tree_at(lambda s: s.batch["pde"], state,
                        state.batch["pde"].at[1, 0, 0].set(jnp.nan))
    before = jax.tree.map(lambda x: np.asarray(x)[1], state.params)
    budget = PhaseBudget.of(30, 1.0, 1.0)
    for c in range(3):
        inputs = programs.ChunkInputs(setup, phase, budget, jnp.asarray(10 * c, jnp.int32),
                                      jnp.asarray(10 * c, jnp.int32), 10)
        state, log = programs.run_chunk(inputs, state)
    assert np.asarray(state.failed).tolist() == [False, True, False]
    assert int(state.failed_step[1]) == 0
    # the failed seed kept its last finite parameters; the others trained
    after = jax.tree.map(lambda x: np.asarray(x)[1], state.params)
    for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after)):
        np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(np.asarray(log["loss"])[[0, 2]]))
    assert np.asarray(state.evals).tolist() == [30.0, 0.0, 30.0]


@pytest.mark.parametrize("budget", [25, 60])
def test_line_search_phase_never_overspends(task, budget):
    """A step is taken only if its worst case (the line search's max evaluations) fits, so the
    spent evaluations never pass the budget, and at most one step's worth is left unspent."""
    solver = tiny_solver([{"kind": "lbfgs", "max_linesearch_steps": 8}])
    res = train(task, solver, budget, SIZES, [0, 1], n_log=5)
    for r in res.seeds:
        assert budget - 8 < r.evals <= budget, r.evals
        assert r.curves["evals"][-1] == r.evals
    assert res.phases[0]["cost_model"] == "line_search"
    assert res.phases[0]["max_step_cost"] == 8


def test_unspent_line_search_budget_passes_to_the_next_phase(task):
    solver = tiny_solver([{"kind": "lbfgs", "fraction": 0.5, "max_linesearch_steps": 8},
                          {"kind": "adam", "fraction": 0.5, "lr": 1e-3}])
    res = train(task, solver, 40, SIZES, [0], n_log=8)
    # Adam steps cost exactly one evaluation, so the last phase ends on the budget exactly.
    assert res.seeds[0].evals == 40
    assert [p["budget_end"] for p in res.phases] == [20, 40]


def test_seed_layouts():
    assert group_size("vmap", 5) == 5 and group_size("sequential", 5) == 1
    assert group_size(2, 5) == 2 and group_size("3", 5) == 3
    assert resolve_layout("2x1", 5) == Layout(2, 1)
    assert resolve_layout("4x2", 3) == Layout(3, 1)  # no more processes than seeds
    for bad in ("diagonal", "0x1", "2x"):
        with pytest.raises(ValueError):
            resolve_layout(bad, 3)


def test_auto_layout_rule():
    # accelerators: every seed in one vmapped group
    assert auto_layout(8, backend="gpu", cores=2) == Layout(1, 8)
    # CPU: one single-threaded process per core (at most one per seed), seeds one at a time
    assert auto_layout(3, backend="cpu", cores=2, evals=3000) == Layout(2, 1)
    assert auto_layout(1, backend="cpu", cores=2, evals=3000) == Layout(1, 1)
    assert auto_layout(5, backend="cpu", cores=1, evals=3000) == Layout(1, 1)
    # cross-seed diagnostics need every seed in one process; short runs are compile-bound
    assert auto_layout(3, backend="cpu", cores=2, evals=3000, cross_seed=True) == Layout(1, 1)
    assert auto_layout(3, backend="cpu", cores=2, evals=60) == Layout(1, 1)


def test_padded_groups_keep_seed_results(task):
    """Seed 7 padded into a group [7, 7] gives exactly what seed 7 alone gives."""
    solver = tiny_solver([{"kind": "adam", "lr": 1e-2}])
    res = train(task, solver, 10, SIZES, [5, 6, 7], n_log=2, seed_layout=2)
    alone = train(task, solver, 10, SIZES, [7], n_log=2, seed_layout=2)
    assert [s.seed for s in res.seeds] == [5, 6, 7]
    assert res.layout["groups"] == 2 and alone.layout["group_size"] == 1
    # float64; the padded group runs the batched program, seed 7 alone the unbatched one
    np.testing.assert_allclose(res.seeds[2].curves["loss"], alone.seeds[0].curves["loss"],
                               rtol=1e-9)
    assert res.seeds[2].evals == alone.seeds[0].evals == 10
    # a padded copy's time is charged to nobody: every seed gets group time / group size
    assert res.seeds[2].seconds <= res.seeds[0].seconds * 3


def test_float32_entry_trains_in_float32(task):
    solver = tiny_solver(dtype="float32", sampling={"kind": "resampled", "every": 2})
    res = train(task, solver, 8, SIZES, [0], n_log=2, keep_params=True)
    r = res.seeds[0]
    assert r.status == Status.OK and r.evals == 8
    assert {x.dtype for x in jax.tree.leaves(r.params)} == {np.dtype(np.float32)}
    setup = build_setup(task, solver, SIZES)
    keys = jnp.stack([jax.random.key_data(jax.random.key(0))])
    state = programs.init_group(setup, keys)
    assert {x.dtype for x in jax.tree.leaves(state.batch)} == {np.dtype(np.float32)}
    # the physics parameters are cast for training; the reference stays float64
    assert setup.task.a2.dtype == jnp.float32
    assert setup.task.eval_set.targets.dtype == jnp.float64


def test_term_roles_are_reported(task):
    res = train(task, tiny_solver(), 2, SIZES, [0], n_log=1)
    assert res.term_roles == {"pde": "residual", "bc": "boundary"}
