"""Deep Ritz energies (issue 18, acceptance 1): the exact helmholtz solution minimises the energy,
and the energies' first variations are the tasks' own strong residuals (sign conventions)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regimebench.components import natural_gradient as ng
from regimebench.components.architectures import architectures
from regimebench.components.hard_constraints import BoxConstraint
from regimebench.problem import load_problem
from regimebench.ritz import energy_density, ritz_energy, ritz_forms, ritz_ng_step, ritz_rows

QUAD = 64  # Gauss–Legendre nodes per dimension: exact to ~1e-15 for these smooth integrands


# Jitted once per call site: eager op-by-op dispatch of the vmapped per-point Jacobians is ~5×
# slower than compiling them.
_system = eqx.filter_jit(ng.residual_system)
_step = eqx.filter_jit(ng.ng_step)


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


class Closed(eqx.Module):
    """A closed-form field of the model's rescaled input z ∈ [-1, 1]² (shape (1,))."""

    fn: object = eqx.field(static=True)
    eps: jax.Array = eqx.field(default_factory=lambda: jnp.zeros(()))
    pert: object = eqx.field(static=True, default=None)

    def __call__(self, z):
        out = self.fn(z)
        if self.pert is not None:
            out = out + self.eps * self.pert(z)
        return jnp.atleast_1d(out)


def _quadrature(lower, upper):
    g, w = np.polynomial.legendre.leggauss(QUAD)
    lo, hi = np.asarray(lower), np.asarray(upper)
    pts = [lo[i] + (g + 1) * (hi[i] - lo[i]) / 2 for i in range(2)]
    X, Y = np.meshgrid(*pts, indexing="ij")
    W = np.outer(w, w) * np.prod(hi - lo) / 4
    return jnp.asarray(np.stack([X.ravel(), Y.ravel()], -1)), jnp.asarray(W.ravel())


def _energy(form, task, model):
    x, w = _quadrature(task.lower, task.upper)
    u = task.field(model)
    return jnp.sum(w * jax.vmap(lambda p: energy_density(form, u, p))(x))


@pytest.fixture(scope="module")
def helmholtz():
    with jax.enable_x64(True):
        spec = load_problem("helmholtz")
        assert spec.params["k"] == 1.0  # the canonical k: k² = 1 < π²/2, E bounded below
        return spec.make_task("forward", spec.resolve_params("forward"), {"pde": 8, "bc": 8})


def _exact(z):  # the task's solution at a1 = 1, a2 = 4 (z = x on [-1, 1]²)
    return jnp.sin(jnp.pi * z[0]) * jnp.sin(4 * jnp.pi * z[1])


PERTURBATIONS = [
    lambda z: (1 - z[0] ** 2) * (1 - z[1] ** 2),
    lambda z: jnp.sin(2 * jnp.pi * z[0]) * jnp.sin(jnp.pi * z[1]),
    lambda z: (1 - z[0] ** 2) * (1 - z[1] ** 2) * jnp.exp(z[0] + 0.5 * z[1]),
    lambda z: jnp.sin(jnp.pi * z[0]) * jnp.sin(3 * jnp.pi * z[1]),  # a neighbouring mode
]


@pytest.mark.parametrize("pert", PERTURBATIONS)
@pytest.mark.parametrize("eps", [-0.2, -0.01, 0.01, 0.2])
def test_exact_helmholtz_solution_has_lower_energy_than_perturbed_fields(helmholtz, pert, eps):
    form = ritz_forms.get("helmholtz")(helmholtz)
    e_star = float(_energy(form, helmholtz, Closed(_exact)))
    e_pert = float(_energy(form, helmholtz, Closed(_exact, jnp.asarray(eps), pert)))
    # E is quadratic and u* is its stationary point, so E(u* + εv) − E(u*) = ε²/2 · a(v, v) with
    # a(v, v) = ∫|∇v|² − k²v² > 0 (k² < π²/2). The smallest gap here, ε = 0.01, is ~1e-4·a(v,v)
    # ≥ 1e-4, far above the quadrature error (~1e-13 of |E| ≈ 200).
    assert e_pert > e_star + 1e-6, (e_pert, e_star)
    # and the gap is the quadratic form: its ratio to ε² does not depend on ε (to 1e-6)
    e_pert2 = float(_energy(form, helmholtz, Closed(_exact, jnp.asarray(2 * eps), pert)))
    np.testing.assert_allclose((e_pert2 - e_star) / 4, e_pert - e_star, rtol=1e-6)


def _first_variation_matches_strong_residual(task, form, sign):
    """δE(u)[v] = sign · ∫ R(u) v for u smooth and v = 0 on ∂Ω, R the task's pde residual."""
    u_fn = lambda z: jnp.cos(0.7 * z[0] + 0.2) * jnp.exp(0.3 * z[1]) + 0.5 * z[0] * z[1]  # noqa: E731
    v_fn = lambda z: (1 - z[0] ** 2) * (1 - z[1] ** 2) * (1 + 0.4 * z[0] - 0.3 * z[1] ** 2)  # noqa: E731
    x, w = _quadrature(task.lower, task.upper)

    def energy(eps):
        return _energy(form, task, Closed(u_fn, eps, v_fn))

    dE = float(jax.jvp(energy, (jnp.zeros(()),), (jnp.ones(()),))[1])
    batch = {"pde": x, "bc": jnp.zeros((0, 2))}
    R = task.residuals(Closed(u_fn), batch)["pde"]
    v = jax.vmap(lambda p: task.field(Closed(v_fn))(p)[0])(x)
    rhs = sign * float(jnp.sum(w * R * v))
    # Integration by parts is exact for v vanishing on ∂Ω; the two sides differ only by
    # quadrature error (~1e-12 relative for 64² Gauss nodes on these smooth integrands).
    np.testing.assert_allclose(dE, rhs, rtol=1e-9)


def test_helmholtz_energy_variation_is_minus_the_strong_residual(helmholtz):
    # The task's residual is R = Δu + k²u − q; E's Euler–Lagrange equation is −Δu − k²u + q = 0.
    _first_variation_matches_strong_residual(helmholtz, ritz_forms.get("helmholtz")(helmholtz),
                                             sign=-1.0)


def test_darcy_energy_variation_is_the_strong_residual():
    spec = load_problem("darcy")
    task = spec.make_task("forward", spec.resolve_params("forward"), {"pde": 8, "bc": 8})
    # R = −∇·(a∇u) − 1, which is E's Euler–Lagrange expression itself.
    _first_variation_matches_strong_residual(task, ritz_forms.get("darcy")(task), sign=1.0)


def test_ritz_rows_give_the_energy_gradient(helmholtz):
    # Jᵀs = ∇E: the natural-gradient step preconditions the true energy gradient.
    net = architectures.get("mlp")(2, 1, key=jax.random.key(0), width=8, depth=2)
    net = jax.tree.map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, net)
    params, static = eqx.partition(net, eqx.is_inexact_array)
    form = ritz_forms.get("helmholtz")(helmholtz)
    batch = helmholtz.sample(jax.random.key(1), {"pde": 30, "bc": 10})
    beta = 5.0
    tw = {"energy": form.measure, "bc": beta * form.boundary_measure}
    pw = {"energy": None, "bc": None}
    terms = ("energy", "bc")

    def rows(model, b):
        return ritz_rows(form, helmholtz, model, b, mass=0.3)[0]

    _, J = _system(rows, static, params, batch, tw, pw, terms)
    s = ng.stack_rows(ritz_rows(form, helmholtz, net, batch, mass=0.3)[1], tw, pw, terms)
    grad = jax.grad(lambda p: ritz_energy(form, helmholtz, eqx.combine(p, static), batch,
                                          beta))(params)
    flat_grad = jax.flatten_util.ravel_pytree(grad)[0]
    # Same sums in different orders: relative agreement to ~1e-13 of the gradient's size.
    np.testing.assert_allclose(np.asarray(J.T @ s), np.asarray(flat_grad),
                               atol=1e-11 * float(jnp.max(jnp.abs(flat_grad))))


def test_ritz_step_with_hard_constraint_decreases_the_energy(helmholtz):
    net = architectures.get("mlp")(2, 1, key=jax.random.key(2), width=8, depth=2)
    net = jax.tree.map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, net)
    model = BoxConstraint(net, faces=((0, -1), (0, 1), (1, -1), (1, 1)),
                          lower=helmholtz.lower, upper=helmholtz.upper)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    form = ritz_forms.get("helmholtz")(helmholtz)
    batch = helmholtz.sample(jax.random.key(3), {"pde": 40, "bc": 4})
    cfg = ng.NGConfig(damping=1e-3, relative_damping=True)
    new, _, info = eqx.filter_jit(ritz_ng_step)(form, helmholtz, static, params, ng.ng_init(params, cfg), batch,
                                cfg)
    assert bool(info.accepted) and float(info.new_loss) < float(info.loss)
    e_new = ritz_energy(form, helmholtz, eqx.combine(new, static), batch)
    np.testing.assert_allclose(float(e_new), float(info.new_loss), rtol=1e-12)
