"""Darcy tasks: the forward residual on the reference, smoke runs of both tasks and the CLI.

The operator runs use a reduced dataset (3 training and 2 test pairs: the same cache entry as
tests/references/test_darcy_reference.py) so that no test waits for the 1200-pair canonical
build.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from regimebench._catalogue import load_problem_module
from regimebench.problem import load_problem
from regimebench.runner import RunRequest, execute, plan

darcy = load_problem_module("darcy", "problem")
SMALL = {"n_train": 3, "n_test": 2}


def test_forward_reference_satisfies_strong_form():
    """The PINN residual −a Δu − ∇a·∇u − 1 of the reference, by 4th-order central differences
    on the 100 × 100 cell centres (h = 0.01): the coefficient varies on scales ≥ 1/4, so the
    truncation error is ~(πk h)^4/30 · |terms| ≲ 1e-3 of the O(10) terms; measured rel. residual
    is asserted below 1e-2 (a sign error in ∇a·∇u gives O(1))."""
    ref = darcy.reference({"sigma": 1.0}, "forward")
    x, u = ref.arrays["x"], ref.arrays["u"]
    h = x[1] - x[0]

    def d1(f, ax):
        f = np.moveaxis(f, ax, -1)
        r = (f[..., :-4] - 8 * f[..., 1:-3] + 8 * f[..., 3:-1] - f[..., 4:]) / (12 * h)
        return np.moveaxis(r, -1, ax)

    def d2(f, ax):
        f = np.moveaxis(f, ax, -1)
        r = (-f[..., :-4] + 16 * f[..., 1:-3] - 30 * f[..., 2:-2] + 16 * f[..., 3:-1]
             - f[..., 4:]) / (12 * h * h)
        return np.moveaxis(r, -1, ax)

    X, Y = np.meshgrid(x[2:-2], x[2:-2], indexing="ij")
    rm = load_problem_module("darcy", "reference")
    a = rm.coefficient(X, Y, 1.0)
    ax, ay = rm.coefficient_gradient(X, Y, 1.0)
    ux, uy = d1(u, 0)[:, 2:-2], d1(u, 1)[2:-2, :]
    lap = d2(u, 0)[:, 2:-2] + d2(u, 1)[2:-2, :]
    res = -a * lap - ax * ux - ay * uy - 1.0
    assert np.sqrt(np.mean(res**2)) < 1e-2


def test_forward_task_residual_on_exact_field_is_small():
    """The task's residual (autodiff of the model) on a model that *is* the 4th-order-accurate
    interpolant is not available cheaply; instead check the task's PDE residual on a manufactured
    model u = x(1−x)y(1−y) against the closed form −a Δu − ∇a·∇u − 1 computed by hand."""
    task = darcy.make_task("forward", {"sigma": 1.0}, {"pde": 8, "bc": 8})
    rm = load_problem_module("darcy", "reference")

    def model(s):  # s in [-1, 1]^2 -> x in [0, 1]^2
        x = (s + 1.0) / 2.0
        return jnp.array([x[0] * (1 - x[0]) * x[1] * (1 - x[1])])

    pts = jax.random.uniform(jax.random.key(0), (8, 2), dtype=jnp.float64)
    res = task.residuals(model, {"pde": pts, "bc": pts})
    x, y = np.asarray(pts).T
    lap = -2 * y * (1 - y) - 2 * x * (1 - x)
    ux, uy = (1 - 2 * x) * y * (1 - y), (1 - 2 * y) * x * (1 - x)
    a = rm.coefficient(x, y, 1.0)
    ax, ay = rm.coefficient_gradient(x, y, 1.0)
    np.testing.assert_allclose(np.asarray(res["pde"]), -a * lap - ax * ux - ay * uy - 1.0,
                               rtol=1e-10, atol=1e-12)


def _check(rec):
    assert rec["status"] == "ok", rec.get("traceback")
    assert math.isfinite(rec["metrics"]["loss"]) and math.isfinite(rec["metrics"]["rel_l2"])


def test_forward_smoke_run(tmp_path):
    _check(execute(plan(RunRequest(problem="darcy", task="forward", seeds=[0], budget="smoke",
                                   out=tmp_path)))[0])


@pytest.mark.parametrize("solver", ["fno", "deeponet", "pino"])
def test_operator_smoke_runs(tmp_path, solver):
    rec = execute(plan(RunRequest(problem="darcy", task="operator", solver=solver, seeds=[0],
                                  budget="smoke", out=tmp_path, overrides=SMALL)))[0]
    _check(rec)
    for k in ("rel_l2_pooled", "rel_l2_max", "loss_data", "loss_pde"):
        assert math.isfinite(rec["metrics"][k])
    assert rec["reference"]["key"]  # provenance of the *operator* reference
    assert "FNO Darcy pairs" in rec["reference"]["method"]


def test_operator_data_axis_is_a_parameter(tmp_path):
    p = plan(RunRequest(problem="darcy", task="operator", seeds=[0], budget="smoke",
                        out=tmp_path, data=3, overrides={"n_test": 2}))
    assert p.params["n_train"] == 3 and p.cell["n_train"] == 3
    assert "n_train" not in p.sizes


def test_cli_operator_smoke(tmp_path, monkeypatch):
    """``bench run --problem darcy --task operator --budget smoke`` end to end. The canonical
    dataset (1000 + 200 pairs) takes minutes to build, so the loaded spec's parameters are
    reduced to the small dataset for this test; everything else is the real catalogue entry."""
    import dataclasses

    from regimebench import _problem_toml
    from regimebench.cli import app

    spec = load_problem("darcy")
    assert spec.task_info("operator").default_solver == "fno"
    small = dataclasses.replace(spec, params={**spec.params, **SMALL})
    monkeypatch.setitem(_problem_toml._SPECS, spec.folder, small)
    result = CliRunner().invoke(app, ["run", "--problem", "darcy", "--task", "operator",
                                      "--budget", "smoke", "--seeds", "1", "--out",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
