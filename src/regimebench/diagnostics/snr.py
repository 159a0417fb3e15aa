"""Training-time gradient probes: gradient signal-to-noise ratio and per-term gradient norms.

Gradient SNR (Anagnostopoulos, Toscano, Stergiopulos & Karniadakis 2024, "Learning in PINNs:
phase transition, total diffusion, and generalization"): the points of one loss term are split
into B fixed, contiguous mini-batches; the gradient ``g_b`` of the training loss on each
(mini-batch of that term + all points of the other terms) is taken; per parameter
``μ = mean_b g_b`` and ``σ = std_b g_b`` (population std); and

    SNR = ‖μ‖₂ / ‖σ‖₂

with the norms over the concatenation of all *weight matrices* (arrays of rank ≥ 2; biases and
scalar coefficients are left out, as in the authors' code). High SNR: gradients of the
mini-batches agree (fitting); low: they are noise-dominated (diffusion).

All functions are pure and per seed; the trainer vmaps them over seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp

__all__ = ["gradient_snr", "term_grad_norms", "weight_leaves", "global_norm"]

SqFn = Callable[[object, Mapping[str, jax.Array]], dict[str, jax.Array]]


def global_norm(leaves) -> jax.Array:
    leaves = list(leaves)
    if not leaves:
        return jnp.asarray(0.0)
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in leaves))


def weight_leaves(tree, batch_dims: int = 0) -> list[jax.Array]:
    """The weight-matrix leaves of a gradient pytree (rank ≥ 2 once ``batch_dims`` are removed).

    Falls back to all leaves if the model has no matrices (so SNR is always defined).
    """
    leaves = [x for x in jax.tree.leaves(tree) if hasattr(x, "ndim")]
    mats = [x for x in leaves if x.ndim - batch_dims >= 2]
    return mats or leaves


def gradient_snr(sq_fn: SqFn, params, batch: Mapping[str, jax.Array], split_term: str,
                 n_batches: int, term_weights: Mapping[str, jax.Array],
                 point_weights: Mapping[str, jax.Array | None] | None = None) -> jax.Array:
    """Gradient SNR of the (weighted) training loss over ``n_batches`` fixed mini-batches.

    Arguments:
        sq_fn: ``sq_fn(params, batch) -> {term: per-point squared residual}``.
        params: the trainable parameters (a pytree).
        batch: term → points; ``batch[split_term]`` is split into contiguous blocks (the points
            are i.i.d., so contiguous blocks are random mini-batches). A remainder of fewer than
            B points is dropped.
        split_term: the batch key whose points are split (``pde`` for PINNs); the terms
            evaluated on those points (several, e.g. the cavity's momenta and continuity) are
            evaluated on each block.
        n_batches: B (clipped to the number of points).
        term_weights, point_weights: the weighting's current weights, so the SNR is that of the
            loss actually being optimised (as in the paper, which includes RBA weights).
    """
    point_weights = point_weights or {}
    pts = batch[split_term]
    n = pts.shape[0]
    b = max(2, min(int(n_batches), n))
    m = n // b
    # Terms with points of their own (bc, ic, data) see the same points in every mini-batch, so
    # their gradient is one constant added to every g_b: it shifts μ and leaves σ unchanged.
    # It is taken once on all points instead of B times (B = 16 bc gradients made the probe
    # cost more than the training steps between two logs).
    fixed = {k for k in jax.eval_shape(sq_fn, params, batch) if k in batch and k != split_term}

    def blocked(k, w) -> bool:
        # Per-point weights that live on the split points: those of the split term itself, and
        # those of terms with no points of their own (cavity: momentum_x, … on the "pde" points).
        return w is not None and (k == split_term or (k not in batch and w.shape[0] == n))

    def weighted(sq, keep, block=None):
        total = 0.0
        for k, v in sq.items():
            if keep(k):
                w = point_weights.get(k)
                if block is not None and blocked(k, w):
                    w = jax.lax.dynamic_slice_in_dim(w, block * m, m)
                total = total + term_weights[k] * (v.mean() if w is None else (w * v).mean())
        return total

    def block_loss(p, i):
        # Only the terms on the split points are summed; XLA drops the unused fixed terms.
        block = jax.lax.dynamic_slice_in_dim(pts, i * m, m)
        return weighted(sq_fn(p, {**batch, split_term: block}), lambda k: k not in fixed, i)

    def fixed_loss(p):
        return weighted(sq_fn(p, batch), lambda k: k in fixed)

    grads = jax.vmap(jax.grad(block_loss), in_axes=(None, 0))(params, jnp.arange(b))
    leaves = weight_leaves(grads, batch_dims=1)
    shared = weight_leaves(jax.grad(fixed_loss)(params)) if fixed else [0.0] * len(leaves)
    mu = [g.mean(axis=0) + c for g, c in zip(leaves, shared, strict=True)]
    sd = [g.std(axis=0) for g in leaves]
    return global_norm(mu) / global_norm(sd)


def term_grad_norms(sq_fn: SqFn, params, batch: Mapping[str, jax.Array],
                    names: tuple[str, ...]) -> dict[str, jax.Array]:
    """‖∇θ mean(r_k²)‖₂ per term k (unweighted, all parameters) and their ratio min/max.

    Returns ``{"grad_norm_<k>": …, "grad_ratio": min_k / max_k}``. A ratio ≪ 1 means one term's
    gradient dominates the update direction (the imbalance inverse-Dirichlet weighting targets).
    """
    out = {}
    for k in names:
        g = jax.grad(lambda p, k=k: sq_fn(p, batch)[k].mean())(params)
        out[f"grad_norm_{k}"] = global_norm(jax.tree.leaves(g))
    norms = jnp.stack([out[f"grad_norm_{k}"] for k in names])
    out["grad_ratio"] = norms.min() / norms.max()
    return out
