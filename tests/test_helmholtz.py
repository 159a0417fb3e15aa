"""Helmholtz v1: the manufactured solution satisfies the equations the PINN is trained on."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regimebench.problem import load_problem


@pytest.fixture(scope="module")
def task():
    p = load_problem("helmholtz")
    return p.make_task("forward", p.resolve_params("forward"), p.sizes("forward", "smoke"))


class ExactModel:
    """The exact solution in the model's input convention (inputs rescaled to [-1, 1]²)."""

    def __call__(self, z):
        return jnp.atleast_1d(jnp.sin(jnp.pi * z[0]) * jnp.sin(4 * jnp.pi * z[1]))


def test_exact_solution_has_zero_residual(task):
    batch = task.sample(jax.random.key(0), {"pde": 512, "bc": 256})
    res = task.residuals(ExactModel(), batch)
    q_scale = (1 + 16) * np.pi**2  # size of the source term, what "relative" is relative to
    # float64 forward-mode second derivatives of sin products: round-off ~1e-13 relative.
    assert float(jnp.max(jnp.abs(res["pde"]))) / q_scale < 1e-8
    assert float(jnp.max(jnp.abs(res["bc"]))) < 1e-12


def test_wrong_solution_has_nonzero_residual(task):
    batch = task.sample(jax.random.key(0), {"pde": 512, "bc": 256})

    def wrong(z):  # right shape and boundary values, wrong wavenumber
        return jnp.atleast_1d(jnp.sin(jnp.pi * z[0]) * jnp.sin(3 * jnp.pi * z[1]))

    assert float(jnp.sqrt(jnp.mean(task.residuals(wrong, batch)["pde"] ** 2))) > 1.0


def test_evaluation_grid_and_reference(task):
    ev = task.eval_set
    assert ev.grid_shape == (201, 201)
    assert ev.inputs.shape == (201 * 201, 2) and ev.targets.shape == (201 * 201, 1)
    assert ev.targets.dtype == jnp.float64
    assert float(task.error(ExactModel())) < 1e-12


def test_boundary_samples_lie_on_the_boundary(task):
    pts = task.sample(jax.random.key(3), {"pde": 10, "bc": 400})["bc"]
    on_edge = np.isclose(np.abs(np.asarray(pts)), 1.0).any(axis=1)
    assert on_edge.all()
    # every one of the four edges is hit (uniform by length)
    assert {(int(np.sign(x)) if abs(x) == 1 else 0) for x in np.asarray(pts)[:, 0]} >= {-1, 1}
