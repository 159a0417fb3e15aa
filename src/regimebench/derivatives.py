"""PDE derivatives of a pointwise field ``u: R^d -> R^c`` by forward mode.

PINN residuals need second (and for active turbulence fourth) derivatives with respect to a
handful of input coordinates. Forward mode costs one extra "tangent" pass per direction and
order, whereas ``jax.hessian`` (forward-over-reverse) builds the full d×d Hessian through a reverse
pass first; for the small input dimensions of PDEs, nested ``jax.jvp`` is the cheaper path
(measured in ``benchmarks/``). All functions act on a *single* point ``x`` of shape ``(d,)``;
vmap them over collocation points.

Example::

    lap = laplacian(lambda z: jnp.sin(z[0]) * jnp.sin(z[1]), jnp.array([0.3, 0.2]))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations

import jax
import jax.numpy as jnp
from jax.experimental import jet

__all__ = [
    "directional", "partial", "second_partial", "laplacian", "gradient",
    "fourth_partial", "directional_taylor", "biharmonic",
]

Field = Callable[[jax.Array], jax.Array]


def _unit(x: jax.Array, i: int) -> jax.Array:
    return jnp.zeros_like(x).at[i].set(1.0)


def directional(f: Field, x: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(f(x), Df(x)·v)`` in one forward pass."""
    return jax.jvp(f, (x,), (v,))


def partial(f: Field, x: jax.Array, i: int) -> jax.Array:
    """∂f/∂x_i at ``x``."""
    return jax.jvp(f, (x,), (_unit(x, i),))[1]


def second_partial(f: Field, x: jax.Array, i: int, j: int | None = None) -> jax.Array:
    """∂²f/∂x_i∂x_j at ``x`` (``j = i`` by default), by nested forward mode."""
    j = i if j is None else j
    return jax.jvp(lambda y: partial(f, y, j), (x,), (_unit(x, i),))[1]


def gradient(f: Field, x: jax.Array, dims: Sequence[int] | None = None) -> jax.Array:
    """Jacobian columns ∂f/∂x_i for ``i in dims``, stacked on the last axis: shape ``(c, len(dims))``."""
    dims = range(x.shape[0]) if dims is None else dims
    return jnp.stack([partial(f, x, i) for i in dims], axis=-1)


def laplacian(f: Field, x: jax.Array, dims: Sequence[int] | None = None) -> jax.Array:
    """Σ_i ∂²f/∂x_i² over ``dims`` (all coordinates by default), by nested ``jax.jvp``.

    The directions are unrolled rather than vmapped: d is 1–3 here, and unrolling lets XLA share
    the primal pass between directions.
    """
    dims = range(x.shape[0]) if dims is None else dims
    return sum(second_partial(f, x, i) for i in dims)


def fourth_partial(f: Field, x: jax.Array, i: int, j: int, k: int, m: int) -> jax.Array:
    """∂⁴f/∂x_i∂x_j∂x_k∂x_m at ``x`` by four nested ``jax.jvp`` (the exact-by-construction path).

    Naively 2⁴ tangent passes, but XLA eliminates the repeated ones (see :func:`biharmonic`).
    """
    g = lambda y: second_partial(f, y, k, m)  # noqa: E731
    return jax.jvp(lambda y: partial(g, y, j), (x,), (_unit(x, i),))[1]


def directional_taylor(f: Field, x: jax.Array, v: jax.Array, order: int) -> jax.Array:
    """The ``order``-th directional derivative Dⁿf(x)[v, …, v], in one Taylor-mode pass.

    ``jax.experimental.jet`` propagates a truncated Taylor series through ``f``: the input path is
    ``x + t v`` (first coefficient ``v``, the rest zero) and the n-th output coefficient is the
    n-th derivative of ``t ↦ f(x + t v)`` at 0 (jet's coefficients are derivatives, not divided
    by n!). Cost grows like n² rather than the 2ⁿ of nested ``jvp``.
    """
    zero = jnp.zeros_like(x)
    _, series = jet.jet(f, (x,), ((v,) + (zero,) * (order - 1),))
    return series[order - 1]


def biharmonic(f: Field, x: jax.Array, dims: Sequence[int] | None = None, *,
               method: str = "jvp") -> jax.Array:
    """Δ²f = Σ_i ∂⁴f/∂x_i⁴ + 2 Σ_{i<j} ∂⁴f/∂x_i²∂x_j² over ``dims`` (all by default).

    ``method="jvp"`` (default) nests ``jax.jvp`` four times per term (d(d+1)/2 terms).
    ``method="taylor"`` needs only pure fourth directional derivatives D⁴f[v⁴] by Taylor mode: the
    mixed term follows from polarisation, D⁴f[(e_i+e_j)⁴] + D⁴f[(e_i−e_j)⁴] = 2 f_iiii + 12 f_iijj
    + 2 f_jjjj, so d + d(d−1) Taylor passes give Δ²f. Nested ``jvp`` is the default because it
    measured faster on CPU for a 4×64 tanh MLP in 2-D (XLA shares the repeated tangent passes;
    ``benchmarks/README.md``); Taylor mode is kept for higher orders, where 2ⁿ nesting loses.
    """
    dims = list(range(x.shape[0]) if dims is None else dims)
    if method == "jvp":
        pure = sum(fourth_partial(f, x, i, i, i, i) for i in dims)
        mixed = sum(fourth_partial(f, x, i, i, j, j) for i, j in combinations(dims, 2))
        return pure + 2 * mixed
    if method != "taylor":
        raise ValueError(f"unknown method {method!r}: use 'taylor' or 'jvp'")
    d4 = {i: directional_taylor(f, x, _unit(x, i), 4) for i in dims}
    out = sum(d4.values())
    for i, j in combinations(dims, 2):
        ei, ej = _unit(x, i), _unit(x, j)
        plus = directional_taylor(f, x, ei + ej, 4)
        minus = directional_taylor(f, x, ei - ej, 4)
        # f_iijj = (plus + minus − 2 f_iiii − 2 f_jjjj) / 12; Δ² adds it twice.
        out = out + (plus + minus - 2 * d4[i] - 2 * d4[j]) / 6
    return out
