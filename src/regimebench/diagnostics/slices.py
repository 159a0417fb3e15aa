"""Filter-normalised random loss slices (Li, Xu, Taylor, Studer & Goldstein 2018).

A random Gaussian direction ``d`` is drawn with the parameters' structure; for every weight
matrix each row (the incoming weights of one neuron, a "filter" of a dense layer) is rescaled
to the norm of the same row of θ; bias vectors and scalar coefficients get a zero direction.
The slices are ``L(θ + α d₁)`` (1-D) and ``L(θ + α d₁ + β d₂)`` (2-D) for α, β in
``[-r, r]``. Filter normalisation makes slices of differently scaled networks comparable.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

__all__ = ["filter_normalized_direction", "loss_slices"]


def filter_normalized_direction(params, key: jax.Array):
    """A random direction with θ's pytree structure, filter-normalised (see module doc)."""
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(key, max(len(leaves), 1))
    out = []
    for leaf, k in zip(leaves, keys):
        if not hasattr(leaf, "ndim") or leaf.ndim < 2:
            out.append(jnp.zeros_like(leaf))
            continue
        d = jax.random.normal(k, leaf.shape, leaf.dtype)
        rows_d = d.reshape(d.shape[0], -1)
        rows_t = leaf.reshape(leaf.shape[0], -1)
        scale = jnp.linalg.norm(rows_t, axis=1, keepdims=True) / (
            jnp.linalg.norm(rows_d, axis=1, keepdims=True) + 1e-12)
        out.append((rows_d * scale).reshape(leaf.shape))
    return jax.tree.unflatten(treedef, out)


def loss_slices(loss: Callable, params, key: jax.Array, *, n1: int = 21, n2: int = 11,
                radius: float = 1.0) -> dict[str, jax.Array]:
    """1-D (``n1`` points) and 2-D (``n2 × n2``) slices of ``loss(params)`` around ``params``."""
    k1, k2 = jax.random.split(key)
    d1 = filter_normalized_direction(params, k1)
    d2 = filter_normalized_direction(params, k2)

    def at(a, b):
        return loss(jax.tree.map(lambda p, x, y: p + a * x + b * y, params, d1, d2))

    dtype = jax.tree.leaves(params)[0].dtype
    a1 = jnp.linspace(-radius, radius, n1, dtype=dtype)
    a2 = jnp.linspace(-radius, radius, n2, dtype=dtype)
    line = jax.vmap(lambda a: at(a, 0.0))(a1)
    surface = jax.vmap(lambda a: jax.vmap(lambda b: at(a, b))(a2))(a2)
    return {"alpha_1d": a1, "loss_1d": line, "alpha_2d": a2, "loss_2d": surface}
