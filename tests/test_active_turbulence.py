"""Active-turbulence tasks: the vorticity residual, the inverse task's coefficients, smoke runs.

The canonical reference is built once per session (~75 s on 2 idle cores; >3 min on a loaded
machine) through the session cache that tests/references shares.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regimebench._catalogue import load_problem_module
from regimebench.components import architectures
from regimebench.problem import load_problem
from regimebench.runner import RunRequest, execute, plan

at = load_problem_module("active-turbulence", "problem")
C_TRUE = jnp.array([3.5, -1.0, 0.5, -0.045, 0.045**3])


def _net(width=16):
    net = architectures.get("mlp")(3, 2, key=jax.random.key(1), width=width, depth=2)
    return jax.tree.map(lambda x: x.astype(jnp.float64) if isinstance(x, jax.Array) else x, net)


def test_vorticity_residual_matches_nested_autodiff():
    """Taylor-mode partials + polarisation against brute-force nested jacfwd/hessian on a random
    network with anisotropic input scaling: equal to float64 round-off (measured 4e-16 relative;
    1e-9 allows for the polarisation solve's conditioning, any wrong term is O(1))."""
    net = _net()
    field = lambda z: net(jnp.array([1.3, 0.7, 0.9]) * z)  # noqa: E731
    z = jnp.array([0.2, -0.3, 0.4])
    r, div = at.vorticity_residuals(field, z, C_TRUE)

    def omega(p):
        j = jax.jacfwd(field)(p)
        return j[1, 1] - j[0, 2]

    def lap(g):
        return lambda p: jnp.trace(jax.hessian(g)(p)[1:, 1:])

    u, v = field(z)
    j = jax.jacfwd(field)(z)
    ux, uy, vx, vy = j[0, 1], j[0, 2], j[1, 1], j[1, 2]
    w, gw = omega(z), jax.jacfwd(omega)(z)
    m, mx, my = u * u + v * v, 2 * (u * ux + v * vx), 2 * (u * uy + v * vy)
    expected = (gw[0] + C_TRUE[0] * (u * gw[1] + v * gw[2]) + C_TRUE[1] * w
                + C_TRUE[2] * (m * w + mx * v - my * u) - C_TRUE[3] * lap(omega)(z)
                + C_TRUE[4] * lap(lap(omega))(z))
    assert abs(float(r - expected)) < 1e-9 * abs(float(expected))
    assert abs(float(div - (ux + vy))) < 1e-12


@pytest.fixture(scope="module")
def spec():
    return load_problem("active-turbulence")


@pytest.mark.slow
def test_inverse_coefficients_and_metrics(spec):
    params = spec.resolve_params("inverse", {"duration": 0.1, "noise": 0.05})
    task = spec.make_task("inverse", params, {"data": 100, "pde": 4, "div": 4})
    assert task.obs_points.shape == (100, 3) and task.obs_values.shape == (100, 2)
    model = task.build_model(_net())
    assert np.all(np.asarray(model.coefficients) == 0.0)  # initial guess: all zero
    m0 = task.extra_metrics(model)
    for name in at.COEFFICIENTS:
        assert float(m0[f"coef_{name}"]) == 0.0
        assert float(m0[f"coef_{name}_rel_error"]) == pytest.approx(1.0)
    exact = model.__class__(model.net, C_TRUE / jnp.asarray(at.COEFFICIENT_SCALES), model.scales)
    m1 = task.extra_metrics(exact)
    assert float(m1["coef_max_rel_error"]) < 1e-12
    # the noise is 5 % of the velocity's standard deviation
    clean = task.window.values
    idx = np.asarray([np.flatnonzero(np.all(np.asarray(task.window.points) == p, axis=1))[0]
                      for p in np.asarray(task.obs_points)[:20]])
    rel = np.std(np.asarray(task.obs_values)[:20] - np.asarray(clean)[idx]) / np.std(clean)
    assert 0.02 < rel < 0.09


@pytest.mark.slow
@pytest.mark.parametrize("task", ["forward", "inverse"])
def test_smoke_run(spec, task, tmp_path):
    req = RunRequest(problem="active-turbulence", task=task, seeds=[0], budget="smoke",
                     out=tmp_path, overrides={"duration": 0.1})
    records = execute(plan(req))
    rec = records[0]
    assert rec["status"] == "ok", rec.get("traceback")
    for k in ("loss", "rel_l2", "rel_l2_u", "rel_l2_v"):
        assert math.isfinite(rec["metrics"][k])
    if task == "inverse":
        assert math.isfinite(rec["metrics"]["coef_lambda0"])
    assert rec["reference"]["error_floor"] < 1e-4
