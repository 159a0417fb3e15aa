"""Burgers v1: the exact Cole–Hopf solution satisfies the residuals the PINN is trained on."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regimebench._catalogue import load_problem_module
from regimebench.problem import load_problem
from regimebench.runner import RunRequest, execute, plan

ref_module = load_problem_module("burgers", "reference")
NU = 0.01 / np.pi


@pytest.fixture(scope="module")
def problem():
    return load_problem("burgers")


@pytest.fixture(scope="module")
def task(problem):
    return problem.make_task("forward", problem.resolve_params("forward"),
                             problem.sizes("forward", "smoke"))


class ColeHopfModel(eqx.Module):
    """The exact solution, in JAX so that the task's forward-mode derivatives apply to it.

    Same formula as the reference generator (Gauss–Hermite in z with log-sum-exp weights),
    written here in JAX: ``u = −Σ p_i sin(π y_i)``, ``y_i = x − 2√(ν t) z_i``,
    ``p = softmax(log w_i − cos(π y_i)/(2πν))``. Inputs are the model's rescaled ``z ∈ [−1, 1]²``.
    """

    nu: float
    z: jax.Array
    logw: jax.Array

    def __init__(self, nu, n=200):
        z, logw = ref_module.gauss_hermite_rule(n)
        self.nu, self.z, self.logw = float(nu), jnp.asarray(z), jnp.asarray(logw)

    def __call__(self, zz):
        t, x = (zz[0] + 1.0) / 2.0, zz[1]
        y = x - 2.0 * jnp.sqrt(self.nu * t) * self.z
        p = jax.nn.softmax(self.logw - jnp.cos(jnp.pi * y) / (2.0 * jnp.pi * self.nu))
        return jnp.atleast_1d(-jnp.sum(p * jnp.sin(jnp.pi * y)))


def _batch(key, n=400):
    kt, kx = jax.random.split(key)
    # t >= 0.02: d/dt √t is singular at t = 0 (the formula, not the solution, is singular there)
    t = jax.random.uniform(kt, (n,), minval=0.02, maxval=1.0)
    x = jax.random.uniform(kx, (n,), minval=-1.0, maxval=1.0)
    pde = jnp.stack([t, x], axis=-1)
    # include points just off the front x = 0 (where u = 0 by symmetry), where u u_x and ν u_xx
    # are largest
    tf = jnp.repeat(jnp.linspace(0.3, 1.0, 8), 5)
    xf = jnp.tile(jnp.asarray([-0.01, -0.003, 0.001, 0.005, 0.02]), 8)
    front = jnp.stack([tf, xf], axis=-1)
    ic = jnp.stack([jnp.zeros(n), x], axis=-1)
    bc = jnp.stack([t, jnp.where(x > 0, 1.0, -1.0)], axis=-1)
    return {"pde": jnp.concatenate([pde, front]), "ic": ic, "bc": bc}


def _residuals(task, model, batch):
    return eqx.filter_jit(task.residuals)(model, batch)  # compiled: op-by-op takes ~30 s


@pytest.mark.parametrize("nu", [0.1 / np.pi, 0.01 / np.pi])
def test_exact_solution_has_zero_residual(problem, nu):
    t = problem.make_task("forward", problem.resolve_params("forward", {"nu": nu}),
                          problem.sizes("forward", "smoke"))
    batch = _batch(jax.random.key(1))
    res = _residuals(t, ColeHopfModel(nu), batch)
    pts = np.asarray(batch["pde"])
    u, u_x = ref_module.solution_and_dx(pts[:, 1], pts[:, 0], nu)
    scale = np.max(np.abs(u * u_x))  # size of the terms that balance in the residual (~50 at 0.01/π)
    # The quadrature is exact to round-off (the reference measures ~1e-15 for u) and the task
    # differentiates it exactly, so what remains is round-off of exponents up to 1/(2πν) = 50
    # (measured ~1e-15 relative to the scale). 1e-10 leaves margin and still catches any slip of
    # a sign, a factor or the (t, x) rescaling (the next test: O(1) residuals).
    assert float(jnp.max(jnp.abs(res["pde"]))) < 1e-10 * scale
    assert float(jnp.max(jnp.abs(res["ic"]))) < 1e-13
    assert float(jnp.max(jnp.abs(res["bc"]))) < 1e-13


def test_wrong_viscosity_has_nonzero_residual(task):
    batch = _batch(jax.random.key(2))
    res = _residuals(task, ColeHopfModel(0.05 / np.pi), batch)  # task has ν = 0.01/π
    assert float(jnp.sqrt(jnp.mean(res["pde"] ** 2))) > 1e-2


def test_evaluation_grid_matches_exact_solution(task):
    ev = task.eval_set
    assert ev.grid_shape == (100, 256) and ev.axes == ("t", "x")
    assert ev.inputs.shape == (100 * 256, 2) and ev.targets.shape == (100 * 256, 1)
    grid = np.asarray(ev.inputs).reshape(100, 256, 2)
    np.testing.assert_allclose(grid[:, 0, 0], np.linspace(0, 0.99, 100), atol=1e-15)
    np.testing.assert_allclose(grid[0, :, 1], np.linspace(-1, 1, 256), atol=1e-15)
    # the exact model reproduces the reference on its grid (checks (t, x) order and rescaling)
    assert float(task.error(ColeHopfModel(NU))) < 1e-12
    # ... and so does it window by window (the probes' time windows, regimebench.timewise)
    from regimebench.diagnostics.fields import field_metrics

    pred = np.asarray(task.predict(ColeHopfModel(NU), ev.inputs), np.float64)
    metrics, _ = field_metrics(pred, np.asarray(ev.targets), ev.grid_shape, ev.axes)
    windows = [metrics[f"rel_l2_t_q{k}"] for k in range(1, 5)] + [metrics["rel_l2_t_last"]]
    assert max(windows) < 1e-12


def test_samplers_put_points_where_the_terms_live(task):
    b = eqx.filter_jit(task.sample)(jax.random.key(0), {"pde": 300, "ic": 50, "bc": 200})
    assert b["pde"].shape == (300, 2) and b["ic"].shape == (50, 2) and b["bc"].shape == (200, 2)
    assert np.all(np.asarray(b["ic"][:, 0]) == 0.0)
    x_bc = np.asarray(b["bc"][:, 1])
    assert set(np.unique(x_bc)) == {-1.0, 1.0}
    t_bc = np.asarray(b["bc"][:, 0])
    assert t_bc.min() >= 0 and t_bc.max() <= 1 and t_bc.std() > 0.2  # spread over [0, 1]


def test_smoke_run_of_default_entry_writes_finite_record(tmp_path):
    planned = plan(RunRequest(problem="burgers", budget="smoke", seeds=[0], out=tmp_path))
    (rec,) = execute(planned)
    assert rec["status"] == "ok", rec.get("traceback")
    assert rec["spec"]["solver"] == load_problem("burgers").task_info(None).default_solver
    m = rec["metrics"]
    for k in ("rel_l2", "loss_pde", "loss_ic", "loss_bc", "rel_l2_t_q1", "rel_l2_t_q4"):
        assert m[k] is not None and np.isfinite(m[k]), k
    assert rec["reference"]["error_floor"] < 1e-12
