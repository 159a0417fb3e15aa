"""Allen–Cahn v1: the spectral reference satisfies the residuals the PINN is trained on."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regimebench._catalogue import load_problem_module
from regimebench.problem import load_problem
from regimebench.runner import RunRequest, execute, plan

ac = load_problem_module("allen-cahn", "reference")
EPS = 1e-4
N = 2048  # spectral resolution of the test solution (the interface width √(2ε/5) ≈ 6e-3 is ~6 h)
DT_OUT = 1e-3  # output spacing: 4th-order time differences err by ~DT_OUT⁴·|∂⁵u/∂t⁵| ≈ 1e-10


@pytest.fixture(scope="module")
def problem():
    return load_problem("allen-cahn")


@pytest.fixture(scope="module")
def task(problem):
    return problem.make_task("forward", problem.resolve_params("forward"),
                             problem.sizes("forward", "smoke"))


@pytest.fixture(scope="module")
def trajectory():
    """The reference module's ETDRK4 solution at N = 2048, stored every 1e-3 (about 2 s)."""
    t, x, u = ac.solve(EPS, N, ac.DT_REFERENCE, np.arange(1001) * DT_OUT)
    return t, u


class SpectralModel(eqx.Module):
    """A differentiable (t, x) field from five consecutive time slices of the spectral solution.

    In x: the exact trigonometric interpolant of each slice (periodic, spectrally accurate). In t:
    the degree-4 Lagrange polynomial through the five slice times, so at the middle time its
    t-derivative is the 4th-order central difference. Valid near ``t_nodes[2]`` only. Inputs are
    the model's rescaled ``z ∈ [−1, 1]²`` (t = (z0 + 1)/2, x = z1).
    """

    t_nodes: jax.Array  # (5,)
    coeffs: jax.Array  # (5, N/2 + 1) complex: u = Re Σ c_m exp(iπm(x + 1))
    k: jax.Array

    def __init__(self, t, u, i):
        sl = slice(max(i - 2, 0), max(i - 2, 0) + 5)
        c, k = ac._fourier_series(u[sl])
        self.t_nodes, self.coeffs, self.k = jnp.asarray(t[sl]), jnp.asarray(c), jnp.asarray(k)

    def __call__(self, z):
        t, x = (z[0] + 1.0) / 2.0, z[1]
        phase = self.k * (x + 1.0)
        slices = jnp.real(self.coeffs @ jnp.exp(jax.lax.complex(jnp.zeros_like(phase), phase)))
        idx = jnp.arange(5)
        lag = jnp.stack([
            jnp.prod(jnp.where(idx == j, 1.0, (t - self.t_nodes) / (
                self.t_nodes[j] - self.t_nodes + (idx == j).astype(self.t_nodes.dtype))))
            for j in range(5)
        ])
        return jnp.atleast_1d(lag @ slices)


def _residuals(task, model, batch):
    return eqx.filter_jit(task.residuals)(model, batch)


@pytest.mark.parametrize("t0", [0.25, 0.5, 0.95])
def test_reference_has_small_pde_residual(task, trajectory, t0):
    t, u = trajectory
    i = int(round(t0 / DT_OUT))
    model = SpectralModel(t, u, i)
    x = jax.random.uniform(jax.random.key(i), (300,), minval=-1.0, maxval=1.0)
    pts = jnp.stack([jnp.full_like(x, t[i]), x], axis=-1)
    res = _residuals(task, model, {"pde": pts, "ic": pts[:2], "bc": pts[:2]})
    # Terms are O(1): 5u and 5u³ up to 5, ε u_xx up to ε/δ² ≈ 2.5 in the interfaces. The test
    # solution is spectrally accurate (N = 2048 agrees with N = 8192 to ~1e-9 at t ≥ 0.1, see the
    # reference's convergence table) and the time difference errs by ~1e-10, so residuals are
    # ~1e-8 at most; 1e-6 still catches a wrong sign or factor (O(1) residuals, next test).
    assert float(jnp.max(jnp.abs(res["pde"]))) < 1e-6


def test_wrong_diffusion_has_nonzero_residual(task, trajectory):
    t, u = trajectory
    wrong = type(task)(eps=1e-3, eval_set=task.eval_set)  # no reference build needed
    model = SpectralModel(t, u, 500)
    x = jnp.linspace(-1.0, 1.0, 301)
    pts = jnp.stack([jnp.full_like(x, t[500]), x], axis=-1)
    res = _residuals(wrong, model, {"pde": pts, "ic": pts[:2], "bc": pts[:2]})
    # (1e-3 − 1e-4) · max|u_xx| at t = 0.5 is ~0.1: 1e5 times the tolerance of the test above
    assert float(jnp.max(jnp.abs(res["pde"]))) > 1e-2


def test_initial_and_periodic_terms(task, trajectory):
    t, u = trajectory
    model = SpectralModel(t, u, 2)  # slices 0..4; slice 0 is u0 sampled on the grid
    xg = jnp.asarray(ac.grid(N)[::7])  # the interpolant reproduces grid values exactly
    ic = jnp.stack([jnp.zeros_like(xg), xg], axis=-1)
    tb = jnp.linspace(0.0, 4 * DT_OUT, 50)
    bc = jnp.stack([tb, -jnp.ones_like(tb)], axis=-1)
    res = _residuals(task, model, {"pde": ic[:2], "ic": ic, "bc": bc})
    assert float(jnp.max(jnp.abs(res["ic"]))) < 1e-12
    assert res["bc"].shape == (50, 2)  # (u jump, u_x jump) between x = −1 and x = 1
    assert float(jnp.max(jnp.abs(res["bc"][:, 0]))) < 1e-12  # a trigonometric sum is periodic
    assert float(jnp.max(jnp.abs(res["bc"][:, 1]))) < 1e-9  # u_x terms are O(N)·1e-16 each

    def ramp(z):  # u = x: continuous values differ by 2 across the period, slopes agree
        return jnp.atleast_1d(z[1])

    res = _residuals(task, ramp, {"pde": ic[:2], "ic": ic[:2], "bc": bc})
    np.testing.assert_allclose(np.asarray(res["bc"]), np.tile([-2.0, 0.0], (50, 1)), atol=1e-12)


def test_evaluation_grid_and_time_windows(task):
    ev = task.eval_set
    assert ev.grid_shape == (201, 512) and ev.axes == ("t", "x")
    assert ev.inputs.shape == (201 * 512, 2) and ev.targets.shape == (201 * 512, 1)
    grid = np.asarray(ev.inputs).reshape(201, 512, 2)
    np.testing.assert_allclose(grid[:, 0, 0], np.linspace(0, 1, 201), atol=1e-15)
    np.testing.assert_allclose(grid[0, :, 1], ac.grid(512), atol=1e-15)
    u0 = np.asarray(ev.targets).reshape(201, 512)[0]
    np.testing.assert_allclose(u0, ac.initial_condition(ac.grid(512)), atol=1e-15)

    def u_at_t0(z):  # the initial condition frozen in time: exact at t = 0 only
        x = z[1]
        return jnp.atleast_1d(x**2 * jnp.cos(jnp.pi * x))

    # the time windows come from the generic field probes (one definition: regimebench.timewise)
    from regimebench.diagnostics.fields import field_metrics

    pred = np.asarray(task.predict(u_at_t0, ev.inputs), np.float64)
    m, _ = field_metrics(pred, np.asarray(ev.targets), ev.grid_shape, ev.axes)
    assert {"rel_l2_t_q1", "rel_l2_t_q2", "rel_l2_t_q3", "rel_l2_t_q4", "rel_l2_t_last"} <= set(m)
    assert task.extra_metrics(u_at_t0) == {}  # nothing shadows the probes' names
    # the frozen field drifts away from the solution: error grows window by window
    q = [float(m[f"rel_l2_t_q{k}"]) for k in range(1, 5)]
    assert q == sorted(q) and q[0] > 0.05


def test_samplers_put_points_where_the_terms_live(task):
    b = eqx.filter_jit(task.sample)(jax.random.key(0), {"pde": 300, "ic": 50, "bc": 60})
    assert b["pde"].shape == (300, 2) and b["ic"].shape == (50, 2) and b["bc"].shape == (60, 2)
    assert np.all(np.asarray(b["ic"][:, 0]) == 0.0)
    assert np.all(np.asarray(b["bc"][:, 1]) == -1.0)
    assert np.asarray(b["bc"][:, 0]).std() > 0.2  # times spread over [0, 1]


def test_smoke_run_of_default_entry_writes_finite_record(tmp_path):
    planned = plan(RunRequest(problem="allen-cahn", budget="smoke", seeds=[0], out=tmp_path))
    (rec,) = execute(planned)
    assert rec["status"] == "ok", rec.get("traceback")
    assert rec["spec"]["solver"] == load_problem("allen-cahn").task_info(None).default_solver
    m = rec["metrics"]
    for k in ("rel_l2", "loss_pde", "loss_ic", "loss_bc", "rel_l2_t_q1", "rel_l2_t_q4"):
        assert m[k] is not None and np.isfinite(m[k]), k
    assert rec["reference"]["error_floor"] < 1e-9
