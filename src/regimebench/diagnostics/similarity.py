"""Linear centred kernel alignment (CKA, Kornblith et al. 2019) between models' outputs.

For predictions X, Y of shape (N, c) on the same N evaluation points (columns centred):

    CKA(X, Y) = ‖Yᵀ X‖²_F / (‖Xᵀ X‖_F ‖Yᵀ Y‖_F)

computed with c × c Gram matrices (never N × N). For scalar outputs it equals the squared
Pearson correlation of the two prediction vectors. CKA(X, X) = 1; it is invariant to scaling and
offset of either argument.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["linear_cka", "cka_matrix"]


def linear_cka(x: jax.Array, y: jax.Array) -> jax.Array:
    x = x.reshape(x.shape[0], -1)
    y = y.reshape(y.shape[0], -1)
    x = x - x.mean(axis=0, keepdims=True)
    y = y - y.mean(axis=0, keepdims=True)
    num = jnp.sum((y.T @ x) ** 2)
    den = jnp.linalg.norm(x.T @ x) * jnp.linalg.norm(y.T @ y)
    return num / den


def cka_matrix(preds: jax.Array) -> jax.Array:
    """S × S CKA matrix of stacked predictions ``(S, N, c)``."""
    return jax.vmap(lambda a: jax.vmap(lambda b: linear_cka(a, b))(preds))(preds)
