"""Hessian probes of a scalar loss ``L(w)`` of a flat parameter vector ``w``.

Hessian-vector products are forward-over-reverse (``jvp`` of ``grad``): one HVP costs a few
gradients and never forms the Hessian. Both probes follow PyHessian (Yao et al. 2020), which the
multi-regime paper (Wang et al. 2026) and its predecessor (Yang et al. 2021) use:

* :func:`top_eigenvalue` — power iteration; returns the eigenvalue of largest *magnitude*, sign
  kept; stops when the Rayleigh quotient changes by less than ``tol`` (relative).
* :func:`hutchinson_trace` — ``tr H ≈ mean_i vᵢᵀ H vᵢ`` with Rademacher ``vᵢ``; stops when the
  running mean changes by less than ``tol`` (relative) after at least ``min_samples``; returns the
  estimate, its standard error (sample std / √m) and m.

Both use ``lax.while_loop`` so they ``vmap`` over seeds (the loop runs until every seed stops).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

__all__ = ["hvp", "top_eigenvalue", "hutchinson_trace"]

Loss = Callable[[jax.Array], jax.Array]


def hvp(loss: Loss, w: jax.Array, v: jax.Array) -> jax.Array:
    """``H(w) v`` by forward-over-reverse differentiation."""
    return jax.jvp(jax.grad(loss), (w,), (v,))[1]


def top_eigenvalue(loss: Loss, w: jax.Array, key: jax.Array, *, iters: int = 200,
                   tol: float = 1e-5) -> dict[str, jax.Array]:
    """Largest-magnitude Hessian eigenvalue by power iteration.

    Returns ``{"value": λ, "iterations": k}``. Convergence is geometric in |λ₂/λ₁|; the
    Rayleigh quotient's error is about the square of the vector's, so a relative change below
    ``tol`` between iterations means the value is accurate to about ``tol`` unless the two top
    eigenvalues are nearly equal in magnitude.
    """
    v0 = jax.random.normal(key, w.shape, w.dtype)
    v0 = v0 / jnp.linalg.norm(v0)

    def cond(c):
        k, _, lam, lam_old = c
        change = jnp.abs(lam - lam_old) / (jnp.abs(lam_old) + 1e-12)
        return (k < iters) & ((k < 2) | (change >= tol))

    def body(c):
        k, v, lam, _ = c
        hv = hvp(loss, w, v)
        new = jnp.vdot(v, hv)
        nrm = jnp.linalg.norm(hv)
        v = jnp.where(nrm > 0, hv / jnp.where(nrm > 0, nrm, 1.0), v)
        return k + 1, v, new, lam

    zero = jnp.asarray(0.0, w.dtype)
    k, _, lam, _ = jax.lax.while_loop(cond, body, (jnp.asarray(0), v0, zero, zero))
    return {"value": lam, "iterations": k}


def hutchinson_trace(loss: Loss, w: jax.Array, key: jax.Array, *, samples: int = 100,
                     min_samples: int = 10, tol: float = 1e-3) -> dict[str, jax.Array]:
    """Hutchinson estimate of ``tr H`` with Rademacher probes.

    Returns ``{"value": mean, "stderr": std/√m, "samples": m}``. Each probe is unbiased, so for
    m ≳ 10 the estimate lies within a few standard errors of the true trace (normal approx.).
    """
    keys = jax.random.split(key, samples)
    dtype = w.dtype

    def probe(k_):
        v = jax.random.rademacher(k_, w.shape, dtype=dtype)
        return jnp.vdot(v, hvp(loss, w, v))

    def cond(c):
        i, _, mean, mean_old = c
        change = jnp.abs(mean - mean_old) / (jnp.abs(mean_old) + 1e-12)
        return (i < samples) & ((i < min_samples) | (change >= tol))

    def body(c):
        i, vals, mean, _ = c
        x = probe(keys[i])
        vals = vals.at[i].set(x)
        new_mean = (mean * i + x) / (i + 1)
        return i + 1, vals, new_mean, mean

    zero = jnp.asarray(0.0, dtype)
    m, vals, mean, _ = jax.lax.while_loop(
        cond, body, (jnp.asarray(0), jnp.zeros(samples, dtype), zero, zero))
    mask = jnp.arange(samples) < m
    var = jnp.sum(jnp.where(mask, (vals - mean) ** 2, 0.0)) / jnp.maximum(m - 1, 1)
    return {"value": mean, "stderr": jnp.sqrt(var / m), "samples": m}
