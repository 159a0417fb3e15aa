"""Entry options wired from the task (issue 18): the exact periodic embedding with the task's
declared periods, and PirateNet's physics-informed initialisation (least-squares output layer)."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_solver

from regimebench.engine import programs
from regimebench.engine.setup import build_setup
from regimebench.engine.state import cast_floating
from regimebench.physics_init import fit_output_layer, init_residual_vector, output_layer
from regimebench.planner import BenchError, RunRequest, plan
from regimebench.problem import list_problems, load_problem
from regimebench.solver import SolverSpecError, parse_solver


def _periodic_tasks() -> list[tuple[str, str]]:
    out = []
    for p in list_problems():
        spec = load_problem(p)
        out += [(p, t) for t in spec.tasks if getattr(spec.task_class(t), "periods", None)]
    return out


PERIODIC = _periodic_tasks()


def test_the_periodic_problems_are_found():
    assert {p for p, _ in PERIODIC} >= {"allen-cahn", "active-turbulence"}


def _make_task(problem, task):
    spec = load_problem(problem)
    return spec.make_task(task, spec.resolve_params(task), spec.sizes(task, "smoke"))


def _solver(architecture, **extra):
    return parse_solver({"name": "wired", "version": 1, "dtype": "float64",
                         "tasks": ["forward", "inverse"], "architecture": architecture,
                         "phases": [{"kind": "adam"}], **extra})


@pytest.mark.parametrize("arch", ["mlp", "piratenet"])
@pytest.mark.parametrize("problem,task", PERIODIC)
def test_task_periods_make_the_model_exactly_periodic(problem, task, arch):
    """Built by the engine from ``periods = "task"``, the model is periodic in every declared
    input with the declared (physical) period, to round-off."""
    with jax.enable_x64(True):
        t = _make_task(problem, task)
        embedding = [{"kind": "periodic", "periods": "task", "harmonics": 2}]
        if arch == "piratenet":
            embedding.append({"kind": "fourier", "dim": 8})
        options = {"kind": arch, "width": 8, "embedding": embedding,
                   **({"blocks": 1} if arch == "piratenet" else {"depth": 2})}
        setup = build_setup(t, _solver(options), {})
        model = cast_floating(setup.model.build(setup.task, jax.random.key(0)), jnp.float64)
        if arch == "piratenet":  # open the gates so the blocks take part
            model = jax.tree.map(lambda a: a + 0.3 if a.ndim == 0 else a, model)
        u = t.field(model)
        lo, hi = np.asarray(t.lower), np.asarray(t.upper)
        x = lo + (hi - lo) * np.asarray(jax.random.uniform(jax.random.key(1), (16, lo.size),
                                                           jnp.float64))
        base = jax.vmap(u)(jnp.asarray(x))
        for dim, period in type(t).periods.items():
            shifted = x.copy()
            shifted[:, dim] += period
            moved = jax.vmap(u)(jnp.asarray(shifted))
            # the phase 2πk·z/p is rounded at ~1e-16 relative, so the outputs agree to ~1e-14
            # of their size; a wrong period would differ at O(1)
            np.testing.assert_allclose(np.asarray(moved), np.asarray(base),
                                       atol=1e-12 * float(jnp.max(jnp.abs(base))))
            half = x.copy()
            half[:, dim] += period / 2
            assert float(jnp.max(jnp.abs(jax.vmap(u)(jnp.asarray(half)) - base))) > 1e-6


def test_task_periods_on_a_task_without_periods_fail_at_plan_time(tmp_path):
    solver = dataclasses.replace(_solver({"kind": "mlp", "width": 8, "depth": 1, "embedding": [
        {"kind": "periodic", "periods": "task"}]}), name="periodic-entry")
    with pytest.raises(BenchError) as err:
        plan(RunRequest(problem="helmholtz", task="forward", solver=solver, seeds=[0],
                        budget="smoke", out=tmp_path))
    assert "\n" not in str(err.value) and "declares no periods" in str(err.value)


def test_physics_init_needs_a_linear_head_architecture():
    with pytest.raises(SolverSpecError, match="physics_init needs"):
        _solver({"kind": "mlp", "width": 8, "depth": 1, "physics_init": True})
    with pytest.raises(SolverSpecError, match="ridge"):
        _solver({"kind": "piratenet", "width": 8, "physics_init": {"ridge": -1.0}})


def test_physics_init_terms_must_exist(tmp_path):
    solver = _solver({"kind": "piratenet", "width": 8, "blocks": 1,
                      "physics_init": {"terms": ["initial"]}})
    with pytest.raises(BenchError, match="physics_init fits the terms"):
        plan(RunRequest(problem="allen-cahn", task="forward", solver=solver, seeds=[0],
                        budget="smoke", out=tmp_path))


@pytest.fixture(scope="module")
def allen_cahn():
    with jax.enable_x64(True):
        return _make_task("allen-cahn", "forward")


def test_physics_init_is_the_least_squares_fit_of_the_output_layer(allen_cahn):
    """After the fit, the residual of the initial/boundary terms is orthogonal to the columns of
    their Jacobian in the output layer (the features): the normal equations hold, so — the
    residuals being affine in that layer — the layer is the least-squares solution."""
    with jax.enable_x64(True):
        t = allen_cahn
        setup = build_setup(t, _solver({"kind": "piratenet", "width": 16, "blocks": 1}), {})
        net = cast_floating(setup.model.build(t, jax.random.key(2)), jnp.float64)
        batch = t.sample(jax.random.key(3), {"pde": 8, "ic": 64, "bc": 32}, jnp.float64)
        terms = ("ic", "bc")
        # jitted: eager op-by-op dispatch of the per-point derivatives is ~10× slower
        fitted = eqx.filter_jit(fit_output_layer)(net, t, batch, terms)
        where = output_layer(fitted)

        @eqx.filter_jit
        def residual(layer_params, model, task):
            w, b = layer_params
            m = eqx.tree_at(lambda m: (where(m).weight, where(m).bias), model, (w, b))
            return init_residual_vector(task, m, batch, terms)

        @eqx.filter_jit
        def jacobian(layer_params, model, task):
            return jax.jacrev(residual)(layer_params, model, task)

        theta = (where(fitted).weight, where(fitted).bias)
        r = residual(theta, fitted, t)
        J = jnp.concatenate([a.reshape(r.shape[0], -1)
                             for a in jax.tree.leaves(jacobian(theta, fitted, t))], axis=1)
        # the premise: r is affine in the layer (so one Gauss–Newton step is exact)
        delta = jax.random.normal(jax.random.key(4), (J.shape[1],), jnp.float64)
        w_d, b_d = delta[:theta[0].size].reshape(theta[0].shape), delta[theta[0].size:]
        np.testing.assert_allclose(np.asarray(residual((theta[0] + w_d, theta[1] + b_d),
                                                       fitted, t)),
                                   np.asarray(r + J @ delta), atol=1e-10)
        # normal equations: |Jᵀr| at rounding level, eps · cond(J) · ‖J‖‖r‖
        s = np.linalg.svd(np.asarray(J), compute_uv=False)
        bound = 1e-15 * (s[0] / s[-1]) * s[0] * float(jnp.linalg.norm(r)) * 10
        assert float(jnp.max(jnp.abs(J.T @ r))) < bound
        before = float(jnp.sum(residual((where(net).weight, where(net).bias), net, t) ** 2))
        assert float(jnp.sum(r**2)) < 0.1 * before


@eqx.filter_jit
def _losses(setup, state):
    def one(params, batch):
        res = setup.task.residuals(eqx.combine(params, setup.static), batch)
        return {k: jnp.mean(v**2) for k, v in res.items()}

    return jax.vmap(one)(state.params, state.batch)


def test_engine_fits_the_output_layer_at_seed_initialisation(allen_cahn):
    """An entry with ``physics_init`` starts every seed from the fitted layer: on its first
    batch, the initial-condition loss is far below the unfitted network's; spread over the box
    (``points = "pde"``) the fit leaves the PDE residual tame."""
    with jax.enable_x64(True):
        sizes = {"pde": 128, "ic": 32, "bc": 16}  # more points than the 17 fitted parameters
        arch = {"kind": "piratenet", "width": 16, "blocks": 1}
        losses = {}
        spread = {"terms": ["ic"], "points": "pde"}
        for name, init in (("none", False), ("t0", True), ("spread", spread)):
            solver = tiny_solver(architecture={**arch, "physics_init": init})
            setup = build_setup(allen_cahn, solver, sizes)
            keys = jnp.stack([jax.random.key_data(jax.random.key(s)) for s in (0, 1)])
            state = programs.init_group(setup, keys)
            losses[name] = {k: np.asarray(v) for k, v in _losses(setup, state).items()}
        # both seeds: the LS fit of 17 parameters to a smooth x² cos(πx) leaves little
        assert np.all(losses["t0"]["ic"] < 0.1 * losses["none"]["ic"]), losses
        assert np.all(losses["spread"]["ic"] < 0.1 * losses["none"]["ic"]), losses
        # fitting at t = 0 alone leaves u_t free (a huge PDE residual); the initial data spread
        # over the box does not (measured: ~1e7 against ~1 for these seeds)
        assert np.all(losses["spread"]["pde"] < 1e-2 * losses["t0"]["pde"]), losses
