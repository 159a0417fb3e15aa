"""Forward-mode PDE derivatives equal the reverse/dense results of ``jax.hessian``/``jax.jacfwd``.

Both sides are exact automatic differentiation of the same float64 program, so they differ only
by rounding in a different evaluation order: a few ulps of the largest intermediate. The
tolerance ``rtol = 1e-10`` relative to the largest entry compared leaves ~10⁵ ulps of room for
accumulation through a 3-layer network, and is still ~10⁶ times smaller than any real error (a
dropped or duplicated term changes the result by O(1) relative). The Taylor-mode biharmonic
subtracts nearly equal fourth derivatives (polarisation), so it is compared against the scale of
those derivatives, not of the result.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regimebench.components.architectures import MLP
from regimebench.derivatives import (
    biharmonic,
    directional_taylor,
    fourth_partial,
    gradient,
    laplacian,
    second_partial,
)

RTOL = 1e-10


def _close(a, b, scale=None):
    a, b = np.asarray(a), np.asarray(b)
    scale = max(np.max(np.abs(b)), 1.0) if scale is None else scale
    np.testing.assert_allclose(a, b, rtol=0, atol=RTOL * scale)


def _mlp(d, c, activation, seed):
    net = MLP(d, c, key=jax.random.key(seed), width=16, depth=3, activation=activation)
    return jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x, net)


def _analytic(x):
    """A field with known derivatives in every direction (2 outputs, so c > 1 is covered)."""
    u = jnp.sin(1.3 * x[0]) * jnp.cos(0.7 * x[1]) * jnp.exp(0.4 * x[-1])
    return jnp.stack([u, x[0] ** 3 * x[1] ** 2 + jnp.tanh(x[-1])])


def _fields():
    cases = []
    for d, c, act, seed in [(2, 1, "tanh", 0), (3, 2, "sin", 1), (2, 3, "gelu", 2)]:
        net = _mlp(d, c, act, seed)
        cases.append(pytest.param(net, d, id=f"mlp-d{d}-c{c}-{act}"))
    cases.append(pytest.param(_analytic, 2, id="analytic-d2"))
    cases.append(pytest.param(_analytic, 3, id="analytic-d3"))
    return cases


def _points(d, n=5, seed=7):
    return jax.random.uniform(jax.random.key(seed), (n, d), jnp.float64, -1.0, 1.0)


def _at_points(fn, d, n=5):
    """``fn(x)`` at n random points, compiled once (eager nested AD is needlessly slow)."""
    return jax.jit(jax.vmap(fn))(_points(d, n))


@pytest.mark.parametrize("f,d", _fields())
def test_gradient_equals_jacfwd(f, d):
    J, G, G_last = _at_points(lambda x: (jax.jacfwd(f)(x), gradient(f, x),
                                         gradient(f, x, dims=[d - 1])), d)
    _close(G, J)
    _close(G_last, J[..., d - 1:])


@pytest.mark.parametrize("f,d", _fields())
def test_second_partials_and_laplacian_equal_hessian(f, d):
    def both(x):
        # pure and mixed partials, both orders of (i, j)
        ours = jnp.stack([jnp.stack([second_partial(f, x, i, j) for j in range(d)], -1)
                          for i in range(d)], -2)
        return jax.hessian(f)(x), ours, laplacian(f, x), laplacian(f, x, dims=[0])

    H, ours, lap, lap0 = _at_points(both, d)  # H: (n, c, d, d)
    scale = max(np.abs(H).max(), 1.0)
    _close(ours, H, scale=scale)
    _close(lap, jnp.trace(H, axis1=-2, axis2=-1), scale=d * scale)
    _close(lap0, H[..., 0, 0], scale=scale)


def test_laplacian_of_analytic_field_matches_closed_form():
    x = jnp.array([0.3, -0.2, 0.5])
    s, co, e = jnp.sin(1.3 * x[0]), jnp.cos(0.7 * x[1]), jnp.exp(0.4 * x[2])
    u0 = s * co * e
    want0 = (-(1.3**2) - 0.7**2 + 0.4**2) * u0
    t = jnp.tanh(x[2])
    want1 = 6 * x[0] * x[1] ** 2 + 2 * x[0] ** 3 - 2 * t * (1 - t**2)
    _close(laplacian(_analytic, x), jnp.stack([want0, want1]))


IDX4 = [(0, 0, 0, 0), (0, 0, 1, 1), (1, 0, 1, 0), (0, 1, 1, -1)]


def _fourth_fields():
    # Fourth-order programs take seconds to compile: one network and one analytic field in 3-D.
    return [c for c in _fields() if c.id in ("mlp-d2-c1-tanh", "analytic-d3")]


@pytest.mark.parametrize("f,d", _fourth_fields())
def test_fourth_derivatives_equal_dense_derivative_tensor(f, d):
    dirs = [jnp.eye(d)[0], jnp.ones(d), jnp.arange(1.0, d + 1.0)]

    def all_of(x):
        # The dense tensor by vmapped forward mode (jacfwd⁴); it compiles ~3× faster than
        # hessian∘hessian and is built independently of our unit-vector nesting.
        H4 = jax.jacfwd(jax.jacfwd(jax.jacfwd(jax.jacfwd(f))))(x)  # (c, d, d, d, d)
        partials = jnp.stack([fourth_partial(f, x, *idx) for idx in IDX4])
        taylor = jnp.stack([directional_taylor(f, x, v, 4) for v in dirs])
        bih = (biharmonic(f, x, method="jvp"), biharmonic(f, x, method="taylor"))
        return H4, partials, taylor, bih

    H4s, partials, taylor, (bih_jvp, bih_taylor) = _at_points(all_of, d, n=2)
    for H4, p, t, bj, bt in zip(H4s, partials, taylor, bih_jvp, bih_taylor):
        scale = max(np.abs(H4).max(), 1.0)
        for idx, got in zip(IDX4, p):
            _close(got, H4[(slice(None),) + idx], scale=scale)
        for v, got in zip(dirs, t):
            want = jnp.einsum("cijkl,i,j,k,l->c", H4, v, v, v, v)
            _close(got, want, scale=scale * float(jnp.abs(v).sum()) ** 4)
        want = jnp.einsum("ciijj->c", H4)
        # Polarisation combines fourth derivatives along e_i ± e_j (|v|₁ = 2, so up to 2⁴ times
        # the largest entry) before cancelling: compare against that scale.
        _close(bj, want, scale=16 * d * scale)
        _close(bt, want, scale=16 * d * scale)


def test_biharmonic_of_analytic_field_matches_closed_form():
    # u = sin(a x) sin(b y): Δ²u = (a² + b²)² u
    a, b = 1.0 * jnp.pi, 4.0 * jnp.pi
    f = lambda z: jnp.sin(a * z[0]) * jnp.sin(b * z[1])  # noqa: E731
    x = jnp.array([0.31, -0.12])
    want = (a**2 + b**2) ** 2 * f(x)
    # b⁴ ≈ 6.6e4: the largest fourth derivative sets the rounding scale
    _close(biharmonic(f, x), want, scale=16 * b**4)
    _close(biharmonic(f, x, method="taylor"), want, scale=16 * b**4)
    with pytest.raises(ValueError, match="unknown method"):
        biharmonic(f, x, method="hessian")
