"""Natural-gradient / Gauss–Newton maths (issue 18, acceptance 1): exactness on linear least
squares, Woodbury = parameter-space solve, per-point Jacobian assembly, SPRING, vmap over seeds.

All in float64 (the phase's default dtype); tolerances are stated next to each assertion.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from regimebench.components import natural_gradient as ng
from regimebench.components.architectures import architectures
from regimebench.problem import load_problem

EPS = float(jnp.finfo(jnp.float64).eps)


# Jitted once per call site: eager op-by-op dispatch of the vmapped per-point Jacobians is ~5×
# slower than compiling them.
_system = eqx.filter_jit(ng.residual_system)
_step = eqx.filter_jit(ng.ng_step)


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


class Linear(eqx.Module):
    """u(x) = θ · φ(x) with fixed features φ: residuals are linear in θ."""

    theta: jax.Array

    def features(self, x):
        return jnp.stack([jnp.ones(()), x[0], x[1], x[0] * x[1], jnp.sin(x[0]), jnp.cos(x[1])])

    def __call__(self, x):
        return self.theta @ self.features(x)


def linear_residuals(model, batch):
    """Two pointwise terms sharing nothing: a data fit and a vector term on other points."""
    fit = jax.vmap(lambda x: model(x) - jnp.exp(x[0] - x[1]))(batch["a"])
    vec = jax.vmap(lambda x: jnp.stack([model(x) - 1.0, 2.0 * model(x) + x[0]]))(batch["b"])
    return {"fit": fit, "vec": vec}


def _linear_problem(n_a, n_b, seed=0):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    batch = {"a": jax.random.uniform(k1, (n_a, 2), minval=-1, maxval=1),
             "b": jax.random.uniform(k2, (n_b, 2), minval=-1, maxval=1)}
    model = Linear(jax.random.normal(k3, (6,)))
    params, static = eqx.partition(model, eqx.is_inexact_array)
    tw = {"fit": jnp.asarray(2.0), "vec": jnp.asarray(0.5)}
    pw = {"fit": jax.random.uniform(k3, (n_a,), minval=0.5, maxval=1.5), "vec": None}
    return params, static, batch, tw, pw


def _weighted_lstsq(batch, tw, pw):
    """The minimiser of Σ_k w_k mean_i(p_ki ‖r_ki‖²) by numpy's least squares (independent of
    the module: rows built by hand)."""
    m = Linear(jnp.zeros(6))
    fa = np.asarray(jax.vmap(m.features)(batch["a"]))
    ya = np.exp(np.asarray(batch["a"][:, 0] - batch["a"][:, 1]))
    sa = np.sqrt(float(tw["fit"]) * np.asarray(pw["fit"]) / len(ya))[:, None]
    fb = np.asarray(jax.vmap(m.features)(batch["b"]))
    xb = np.asarray(batch["b"][:, 0])
    sb = np.sqrt(float(tw["vec"]) / len(xb))
    A = np.concatenate([sa * fa, sb * fb, sb * 2 * fb])
    y = np.concatenate([sa[:, 0] * ya, sb * np.ones(len(xb)), -sb * xb])
    return np.linalg.lstsq(A, y, rcond=None)[0]


@pytest.mark.parametrize("space", ["parameter", "sample"])
def test_undamped_step_lands_on_least_squares_minimiser(space):
    # Overdetermined (N = 40 + 2·10 = 60 rows, P = 6): one Gauss–Newton step with λ = 0 is the
    # Newton step of a quadratic, and the line search's grid contains the exact step η = 1.
    # The sample-space solve needs N ≤ P, so that variant uses an underdetermined system: the
    # 5 rows of the "fit" term alone (the two rows of a "vec" point are linearly dependent).
    params, static, batch, tw, pw = _linear_problem(40, 10)
    terms = ("fit", "vec")
    if space == "sample":
        params, static, batch, tw, pw = _linear_problem(5, 1)
        terms = ("fit",)
    cfg = ng.NGConfig(damping=0.0, space=space, grid_size=8)
    state = ng.ng_init(params, cfg)
    new, _, info = _step(linear_residuals, static, params, state, batch, tw, pw, cfg,
                              terms)
    assert int(info.grid_index) == 0 and float(info.step_size) == 1.0
    theta = np.asarray(new.theta)
    if space == "parameter":
        # The normal equations square the condition number of the 60×6 row matrix (κ ≈ 30
        # here), so agreement to ~κ²·eps ≈ 1e-13 is expected; 1e-9 leaves a wide margin.
        np.testing.assert_allclose(theta, _weighted_lstsq(batch, tw, pw), rtol=1e-9, atol=1e-9)
    else:
        # Underdetermined: the minimiser has zero loss (any interpolant); the Woodbury step
        # reaches it up to round-off of a 5×5 solve. The initial loss is O(1), so 1e-20 on a
        # squared quantity is ~1e-10 on the residuals.
        assert float(info.new_loss) < 1e-20
        r_new = ng.weighted_loss(linear_residuals, static, new, batch, tw, pw, terms)
        assert float(r_new) < 1e-20


def test_stacked_residuals_reproduce_weighted_loss_and_gradient():
    params, static, batch, tw, pw = _linear_problem(17, 5)
    terms = ("fit", "vec")
    r, J = _system(linear_residuals, static, params, batch, tw, pw, terms)
    assert r.shape == (17 + 2 * 5,) and J.shape == (27, 6)
    loss, grad = jax.value_and_grad(
        lambda p: ng.weighted_loss(linear_residuals, static, p, batch, tw, pw, terms))(params)
    # ‖r‖² is the same sum in a different order: agreement to a few ulps of the loss.
    np.testing.assert_allclose(float(jnp.sum(r**2)), float(loss), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(2 * J.T @ r), np.asarray(ravel_pytree(grad)[0]),
                               rtol=1e-12, atol=1e-14)


@pytest.fixture(scope="module")
def helmholtz_system():
    """r, J of the real helmholtz residuals (PDE with second derivatives + boundary) of a
    2×8 tanh MLP (P = 105) on 24 + 8 points."""
    with jax.enable_x64(True):
        spec = load_problem("helmholtz")
        task = spec.make_task("forward", spec.resolve_params("forward"), {"pde": 24, "bc": 8})
        net = architectures.get("mlp")(2, 1, key=jax.random.key(3), width=8, depth=2)
        net = jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x, net)
        params, static = eqx.partition(net, eqx.is_inexact_array)
        batch = task.sample(jax.random.key(4), {"pde": 24, "bc": 8})
        tw = {"pde": jnp.asarray(1.0), "bc": jnp.asarray(10.0)}
        pw = {"pde": None, "bc": None}
        return task, static, params, batch, tw, pw


def test_jacobian_modes_agree(helmholtz_system):
    task, static, params, batch, tw, pw = helmholtz_system
    out = {m: _system(task.residuals, static, params, batch, tw, pw, ("pde", "bc"), m)
           for m in ng.JACOBIAN_MODES}
    r0, J0 = out["per_point_rev"]
    for mode in ("per_point_fwd", "batched_rev"):
        r, J = out[mode]
        # Same derivatives by different association orders: relative agreement ~1e-13 of the
        # largest entry (the PDE rows carry second derivatives of O(10²)).
        np.testing.assert_allclose(np.asarray(r), np.asarray(r0), rtol=1e-12, atol=1e-12)
        scale = float(jnp.max(jnp.abs(J0)))
        np.testing.assert_allclose(np.asarray(J), np.asarray(J0), atol=1e-12 * scale)


def test_woodbury_equals_parameter_space_solve(helmholtz_system):
    task, static, params, batch, tw, pw = helmholtz_system
    r, J = _system(task.residuals, static, params, batch, tw, pw, ("pde", "bc"))
    assert J.shape[0] < J.shape[1]  # 32 rows, 105 parameters: the Woodbury regime
    lam = 1e-3 * float(jnp.sum(J * J)) / J.shape[0]
    d_sample = ng.sample_space_direction(J, r, lam)
    d_param = ng.parameter_space_direction(J, r, lam)
    # Both solves are backward stable; the forward error is bounded by cond(JᵀJ + λI)·eps
    # (the larger of the two condition numbers), here ≤ (σ_max² + λ)/λ ≈ 1e3·N.
    cond = (float(jnp.linalg.norm(J, 2)) ** 2 + lam) / lam
    rel = float(jnp.linalg.norm(d_sample - d_param) / jnp.linalg.norm(d_param))
    assert rel < 10 * cond * EPS, (rel, cond)


def test_spring_sample_and_parameter_space_agree(helmholtz_system):
    # SPRING in parameter space is φ = (JᵀJ + λI)⁻¹(Jᵀr + λ μ φ_prev): both forms must agree.
    task, static, params, batch, tw, pw = helmholtz_system
    r, J = _system(task.residuals, static, params, batch, tw, pw, ("pde", "bc"))
    lam = 1e-2 * float(jnp.sum(J * J)) / J.shape[0]
    phi_prev = jax.random.normal(jax.random.key(0), (J.shape[1],)) * 1e-2
    mu = 0.7
    a = ng.spring_direction(J, r, phi_prev, lam, mu, space="sample")
    b = ng.spring_direction(J, r, phi_prev, lam, mu, space="parameter")
    cond = (float(jnp.linalg.norm(J, 2)) ** 2 + lam) / lam
    rel = float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))
    assert rel < 10 * cond * EPS, (rel, cond)
    # μ = 0 is the plain Gauss–Newton direction, bit for bit (same operations).
    np.testing.assert_array_equal(np.asarray(ng.spring_direction(J, r, phi_prev, lam, 0.0)),
                                  np.asarray(ng.sample_space_direction(J, r, lam)))


def test_step_decreases_loss_and_runs_under_vmap_over_seeds(helmholtz_system):
    task, static, _, batch, tw, pw = helmholtz_system

    def init(key):
        net = architectures.get("mlp")(2, 1, key=key, width=8, depth=2)
        net = jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x,
                           net)
        return eqx.partition(net, eqx.is_inexact_array)[0]

    params = jax.vmap(init)(jax.random.split(jax.random.key(0), 3))
    cfg = ng.NGConfig(damping=1e-3, damping_rule="step", momentum=0.5)
    states = jax.vmap(lambda p: ng.ng_init(p, cfg))(params)

    def step(tk, p, s):
        return ng.ng_step(tk.residuals, static, p, s, batch, tw, pw, cfg)

    vmapped = eqx.filter_jit(jax.vmap(step, in_axes=(None, 0, 0)))
    new, new_states, info = vmapped(task, params, states)
    assert np.all(np.asarray(info.new_loss) <= np.asarray(info.loss))
    assert np.all(np.asarray(info.accepted))  # a random init is far from any minimum
    one_step = eqx.filter_jit(step)
    for i in range(3):
        pi = jax.tree.map(lambda x, i=i: x[i], params)
        si = jax.tree.map(lambda x, i=i: x[i], states)
        one, _, one_info = one_step(task, pi, si)
        # vmap changes only the batching of identical float64 operations: ~1e-13 relative.
        np.testing.assert_allclose(float(one_info.new_loss), float(info.new_loss[i]),
                                   rtol=1e-10)
        np.testing.assert_allclose(np.asarray(ravel_pytree(one)[0]),
                                   np.asarray(ravel_pytree(jax.tree.map(
                                       lambda x, i=i: x[i], new))[0]), rtol=1e-8, atol=1e-10)


def test_rejected_step_keeps_parameters_and_raises_damping():
    # A right-hand side of the wrong sign makes the direction an ascent direction: every grid
    # step η raises the loss by about 2η‖P r‖² (P the projector on J's range), which at O(1)
    # residuals and η ≥ 2⁻¹⁵ is ~1e-5, far above round-off. No step may be accepted: the
    # parameters must stay, the momentum reset, and λ grow by damping_up.
    # (Starting at numpy's least-squares minimiser instead is not a rejection case: that point
    # is the float64 minimiser only to round-off, so a tiny step may lower the loss by an ulp,
    # and the rule "accept when the loss decreases" rightly accepts it on some BLAS builds.)
    params, static, batch, tw, pw = _linear_problem(40, 10)
    terms = ("fit", "vec")
    r, J = _system(linear_residuals, static, params, batch, tw, pw, terms)
    flat, unravel = ravel_pytree(params)

    def loss_fn(f):
        return ng.weighted_loss(linear_residuals, static, unravel(f), batch, tw, pw, terms)

    cfg = ng.NGConfig(damping=1e-6, damping_rule="step", momentum=0.5, damping_up=10.0)
    state = ng.ng_init(params, cfg)
    state = eqx.tree_at(lambda s: s.phi, state, jnp.ones_like(state.phi))
    update = jax.jit(lambda f, s, j, st: ng.ng_update(f, s, j, st, loss_fn, loss_fn(f), cfg))
    new_flat, new_state, info = update(flat, -r, J, state)
    assert float(loss_fn(flat)) > 0.1  # O(1) residuals: the ascent is measurable
    assert not bool(info.accepted)
    assert float(info.step_size) == 0.0 and float(info.new_loss) == float(info.loss)
    np.testing.assert_array_equal(np.asarray(new_flat), np.asarray(flat))
    np.testing.assert_array_equal(np.asarray(new_state.phi), 0.0)
    np.testing.assert_allclose(float(new_state.damping), 1e-5, rtol=1e-12)


def test_line_search_grid_is_vmapped_not_looped():
    # The line search must be visible to XLA's cost analysis, which counts a loop body once:
    # its grid is evaluated with vmap, so no while loop may appear in the step's program.
    params, static, batch, tw, pw = _linear_problem(12, 4)
    cfg = ng.NGConfig(grid_size=12)
    state = ng.ng_init(params, cfg)
    hlo = jax.jit(lambda p, s, b: ng.ng_step(linear_residuals, static, p, s, b, tw, pw, cfg)
                  ).lower(params, state, batch).as_text()
    assert "while" not in hlo


def test_cholesky_flops_is_the_textbook_count():
    assert ng.cholesky_flops(300) == 300**3 / 3 + 2 * 300**2


def test_bad_config_fails_clearly():
    with pytest.raises(ValueError, match="jacobian_mode"):
        ng.NGConfig(jacobian_mode="magic")
    with pytest.raises(ValueError, match="momentum"):
        ng.NGConfig(momentum=1.0)


def test_conjugate_gradients_reach_the_direct_solve(helmholtz_system):
    # CG on (JᵀJ + λI) d = Jᵀr terminates in at most P steps in exact arithmetic; with a
    # well-conditioned system (λ = 1e-1 of the mean diagonal, κ ≲ 1e3) it reaches the Cholesky
    # solution to ~1e-10 well before that. Few iterations give a cruder, still descending,
    # direction.
    task, static, params, batch, tw, pw = helmholtz_system
    r, J = _system(task.residuals, static, params, batch, tw, pw, ("pde", "bc"))
    lam = 1e-1 * float(jnp.sum(J * J)) / J.shape[0]
    exact = ng.parameter_space_direction(J, r, lam)
    d = ng.cg_direction(J, r, lam, iters=J.shape[1])
    assert float(jnp.linalg.norm(d - exact) / jnp.linalg.norm(exact)) < 1e-8
    rough = ng.cg_direction(J, r, lam, iters=3)
    assert float(jnp.dot(rough, J.T @ r)) > 0  # a descent direction of ‖r‖²
