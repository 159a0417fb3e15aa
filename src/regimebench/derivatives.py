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

import jax
import jax.numpy as jnp

__all__ = ["directional", "partial", "second_partial", "laplacian", "gradient"]

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
