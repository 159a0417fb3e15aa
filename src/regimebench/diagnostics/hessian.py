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

The spectrum itself is estimated by stochastic Lanczos quadrature (SLQ; Ghorbani, Krishnan &
Xiao 2019; PyHessian's ``density``):

* :func:`lanczos` — ``m`` Lanczos steps on a symmetric operator from one start vector, with full
  reorthogonalisation; returns the Ritz values (eigenvalues of the tridiagonal ``T``) and the
  Gauss-quadrature weights (squared first components of ``T``'s eigenvectors, summing to 1).
* :func:`spectral_density` — :func:`lanczos` on the Hessian from ``probes`` Rademacher vectors:
  ``Σ_j w_j δ(λ − θ_j)`` of each probe is an unbiased estimate of the spectral measure
  ``(1/n) Σ_i δ(λ − λ_i)`` whose moments of order ``≤ 2m − 1`` are exact for that probe
  (``Σ_j w_j θ_j^p = v̂ᵀ H^p v̂``, ``v̂ = v/‖v‖``).
* :func:`negative_mass` — the weight of that density clearly below zero.

Ritz values interlace the spectrum (``λ_min ≤ θ_1 < … < θ_m ≤ λ_max``) and the extreme ones
converge first, so the smallest Ritz value is an upper bound on ``λ_min`` that is usually tight
after a few dozen steps.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["hvp", "top_eigenvalue", "hutchinson_trace", "lanczos", "spectral_density",
           "negative_mass", "NEGATIVE_REL_TOL"]

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


def lanczos(matvec: Callable[[jax.Array], jax.Array], v0: jax.Array, key: jax.Array, *,
            steps: int) -> dict[str, jax.Array]:
    """``steps`` Lanczos steps of the symmetric operator ``matvec`` from ``v0``.

    Arguments:
        matvec: ``v -> A v`` for a symmetric ``A`` of size ``n = v0.size``.
        v0: the start vector (any nonzero norm; it is normalised).
        key: draws a fresh start if the Krylov space becomes invariant (see below).
        steps: ``m``; capped at ``n`` (there are no more than ``n`` orthonormal vectors).

    Returns ``{"nodes": θ (m,), "weights": w (m,)}``: the eigenvalues of the tridiagonal
    ``T = Vᵀ A V``, ascending, and the squares of the first components of its eigenvectors (they
    sum to 1). Every new vector is orthogonalised against all earlier ones, twice ("twice is
    enough", Parlett), so ``V`` stays orthonormal to rounding and no spurious copies of converged
    Ritz values appear. If the Krylov space of ``v0`` is invariant before ``m`` steps (``β`` below
    ``100 ε ‖A‖``: ``v0`` lies in a sum of fewer than ``m`` eigenspaces) Lanczos continues from a
    random vector orthogonal to ``V`` with ``β = 0``: ``T`` is then block diagonal, its later
    blocks get zero weight, and all its eigenvalues are still Ritz values of ``A``. Fixed shapes
    (a ``lax.scan``), so it ``jit``s and ``vmap``s over start vectors.
    """
    n = v0.size
    m = min(int(steps), n)
    dtype = v0.dtype
    eps = jnp.finfo(dtype).eps
    rows = jnp.arange(m)

    def orthogonalise(w, V, i):
        for _ in range(2):
            w = w - jnp.where(rows <= i, V @ w, 0.0) @ V
        return w

    def body(carry, i):
        V, v, v_prev, beta_prev, scale = carry
        V = V.at[i].set(v)
        w = matvec(v)
        scale = jnp.maximum(scale, jnp.linalg.norm(w))
        alpha = jnp.vdot(v, w)
        w = orthogonalise(w - alpha * v - beta_prev * v_prev, V, i)
        beta = jnp.linalg.norm(w)
        fresh = orthogonalise(jax.random.normal(jax.random.fold_in(key, i), (n,), dtype), V, i)
        broke = beta <= 100 * eps * scale
        v_next = jnp.where(broke, fresh / jnp.linalg.norm(fresh),
                           w / jnp.where(broke, 1.0, beta))
        beta = jnp.where(broke, 0.0, beta)
        return (V, v_next, v, beta, scale), (alpha, beta)

    v = v0.reshape(-1) / jnp.linalg.norm(v0)
    zero = jnp.asarray(0.0, dtype)
    init = (jnp.zeros((m, n), dtype), v, jnp.zeros_like(v), zero, zero)
    _, (alphas, betas) = jax.lax.scan(body, init, rows)
    off = betas[:-1]
    T = jnp.diag(alphas) + jnp.diag(off, 1) + jnp.diag(off, -1)
    nodes, vecs = jnp.linalg.eigh(T)
    return {"nodes": nodes, "weights": vecs[0] ** 2}


def spectral_density(loss: Loss, w: jax.Array, key: jax.Array, *, steps: int = 24,
                     probes: int = 3) -> dict[str, jax.Array]:
    """SLQ estimate of the Hessian's spectral density at ``w``.

    Returns ``{"nodes": (probes, m), "weights": (probes, m)}`` (``m = min(steps, w.size)``):
    per Rademacher probe, the Ritz values and quadrature weights of :func:`lanczos` on HVPs
    (``m`` HVPs per probe). Their average over probes, ``(1/probes) Σ_p Σ_j w_pj δ(λ − θ_pj)``,
    estimates ``(1/n) Σ_i δ(λ − λ_i)``; its smallest node bounds ``λ_min`` from above.
    """
    k_v, k_l = jax.random.split(key)

    def one(kv, kl):
        v = jax.random.rademacher(kv, w.shape, dtype=w.dtype)
        return lanczos(lambda x: hvp(loss, w, x), v, kl, steps=steps)

    return jax.vmap(one)(jax.random.split(k_v, probes), jax.random.split(k_l, probes))


#: Nodes below ``-NEGATIVE_REL_TOL · |λ_max|`` count as negative curvature in
#: :func:`negative_mass`. Ritz values of a positive semi-definite H are ≥ 0 in exact arithmetic
#: (T = VᵀHV), and in float32 rounding moves them by ~ε‖H‖ ≈ 1e-7 |λ_max| (times a modest
#: factor for m steps), so 1e-3 leaves four orders of magnitude of room: a node below it means
#: H truly has an eigenvalue at most that negative. It is also the scale below which a direction
#: is flat next to the sharpest one (a condition number of 1e3), where the Ritz values of the
#: bulk near 0 are unresolved averages of many tiny eigenvalues of either sign.
NEGATIVE_REL_TOL = 1e-3


def negative_mass(nodes, weights, lambda_max: float | None,
                  rel_tol: float = NEGATIVE_REL_TOL) -> float:
    """Share of the SLQ density on nodes below ``-rel_tol · |lambda_max|``.

    ``nodes`` and ``weights`` are arrays of one shape (``(probes, m)``, or flattened); the share
    is of the total weight (each probe's weights sum to 1, so with ``(probes, m)`` it is the
    mean over probes of each probe's negative weight), in ``[0, 1]``. NaN if ``lambda_max`` or a
    node or weight is not finite.
    """
    nodes, weights = np.asarray(nodes, float), np.asarray(weights, float)
    if lambda_max is None or not (np.isfinite(lambda_max) and np.all(np.isfinite(nodes))
                                  and np.all(np.isfinite(weights))):
        return float("nan")
    return float(weights[nodes < -rel_tol * abs(lambda_max)].sum() / weights.sum())
