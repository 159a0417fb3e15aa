"""Optimizer phases: optax transformations and how the trainer drives them.

An entry lists phases (``[[phases]]`` in ``solver.toml``), each taking a fraction of the run's
gradient-evaluation budget. A :class:`Phase` wraps an ``optax.GradientTransformationExtraArgs``:

* plain phases (Adam, SGD, …) cost one gradient evaluation per step;
* line-search phases (L-BFGS) cost as many evaluations as the zoom line search makes, which the
  trainer reads from the optimizer state and charges to the budget. During a line-search phase the
  loss must be deterministic, so weightings and samplers are frozen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from .._registry import Registry

__all__ = ["Phase", "optimizers", "scale_by_soap", "SoapState"]


@dataclass(frozen=True)
class Phase:
    """One optimizer phase: the transformation, and whether it runs a line search."""

    transform: optax.GradientTransformationExtraArgs
    line_search: bool = False


optimizers: Registry[Callable[..., Phase]] = Registry("optimizer")


@optimizers.register("adam")
def make_adam(*, lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
              warmup_steps: int = 0, decay_rate: float = 1.0, decay_steps: int = 1000,
              clip_norm: float | None = None) -> Phase:
    """Adam (Kingma & Ba 2015), optional linear warm-up then exponential decay of the rate."""
    schedule = optax.warmup_exponential_decay_schedule(
        init_value=0.0 if warmup_steps else lr, peak_value=lr, warmup_steps=warmup_steps,
        transition_steps=decay_steps, decay_rate=decay_rate,
    )
    chain = [optax.clip_by_global_norm(clip_norm)] if clip_norm else []
    chain.append(optax.adam(schedule, b1=b1, b2=b2, eps=eps))
    return Phase(optax.with_extra_args_support(optax.chain(*chain)))


@optimizers.register("lbfgs")
def make_lbfgs(*, memory_size: int = 50, max_linesearch_steps: int = 20) -> Phase:
    """L-BFGS with a zoom line search satisfying the strong Wolfe conditions (``optax.lbfgs``)."""
    ls = optax.scale_by_zoom_linesearch(max_linesearch_steps=max_linesearch_steps)
    return Phase(optax.lbfgs(memory_size=memory_size, linesearch=ls), line_search=True)


# ---------------------------------------------------------------------------------------------
# SOAP.


class SoapState(NamedTuple):
    """Per-leaf SOAP state (``None`` entries for the sides a leaf does not precondition)."""

    count: jax.Array
    mu: optax.Updates  # first moment, in the parameter basis
    nu: optax.Updates  # second moment, in the eigenbasis
    left: optax.Updates  # running G Gᵀ
    right: optax.Updates  # running Gᵀ G
    q_left: optax.Updates  # eigenvectors of `left`
    q_right: optax.Updates


def _preconditioned(x, max_dim: int) -> bool:
    return x.ndim == 2 and max(x.shape) <= max_dim


def scale_by_soap(b1: float = 0.95, b2: float = 0.95, shampoo_beta: float | None = None,
                  eps: float = 1e-8, precondition_frequency: int = 10,
                  max_precond_dim: int = 4096) -> optax.GradientTransformation:
    """SOAP: Adam run in the eigenbasis of Shampoo's preconditioner (Vyas et al. 2024).

    For each weight matrix ``W`` (``m × n``) with gradient ``G``:

    1. ``L ← β L + (1 − β) G Gᵀ``, ``R ← β R + (1 − β) Gᵀ G`` (``β = shampoo_beta``, default
       ``b2``); their eigenvectors ``Q_L, Q_R`` are recomputed every ``precondition_frequency``
       steps (and at the first step);
    2. Adam in the rotated basis: ``G' = Q_Lᵀ G Q_R``, ``m ← b1 m + (1 − b1) G`` (kept in the
       parameter basis and rotated when used), ``v ← b2 v + (1 − b2) G'²``,
       ``update = Q_L (m̂' / (√v̂ + eps)) Q_Rᵀ`` with Adam's bias corrections.

    Vectors, scalars and matrices with a side above ``max_precond_dim`` get plain Adam. Two
    simplifications, both deliberate: the eigenbases come from ``eigh`` (exact) rather than the
    paper's one-step power iteration + QR, since our matrices are small; and the first step
    already updates the parameters (the reference implementation spends it on the
    preconditioner only). ``eigh`` sorts eigenvalues, so ``v`` stays aligned with the basis
    across refreshes up to sign flips, which do not change ``G'²``.

    Under the seed vmap the refresh condition is per seed (the optimizer count is state), so
    both branches are evaluated: the eigendecompositions cost every step. For widths ≤ 256 this
    is a small fraction of a PINN's step (which differentiates the network twice).
    """
    beta = b2 if shampoo_beta is None else shampoo_beta

    def init_fn(params):
        pre = lambda x: _preconditioned(x, max_precond_dim)  # noqa: E731
        zeros = lambda x: jnp.zeros_like(x)  # noqa: E731

        def side(x, i):
            return jnp.zeros((x.shape[i], x.shape[i]), x.dtype) if pre(x) else None

        def eye(x, i):
            return jnp.eye(x.shape[i], dtype=x.dtype) if pre(x) else None

        return SoapState(
            count=jnp.zeros((), jnp.int32),
            mu=jax.tree.map(zeros, params),
            nu=jax.tree.map(zeros, params),
            left=jax.tree.map(lambda x: side(x, 0), params),
            right=jax.tree.map(lambda x: side(x, 1), params),
            q_left=jax.tree.map(lambda x: eye(x, 0), params),
            q_right=jax.tree.map(lambda x: eye(x, 1), params),
        )

    def update_fn(updates, state, params=None):
        del params
        count = state.count + 1
        refresh = (state.count % precondition_frequency) == 0
        is_none = lambda x: x is None  # noqa: E731

        def leaf(g, m, v, L, R, QL, QR):
            c1 = 1 - b1 ** count.astype(g.dtype)  # Adam's bias corrections
            c2 = 1 - b2 ** count.astype(g.dtype)
            m = b1 * m + (1 - b1) * g
            if L is None:  # plain Adam
                v = b2 * v + (1 - b2) * g**2
                u = (m / c1) / (jnp.sqrt(v / c2) + eps)
                return u, m, v, L, R, QL, QR
            L = beta * L + (1 - beta) * g @ g.T
            R = beta * R + (1 - beta) * g.T @ g
            QL, QR = jax.lax.cond(
                refresh,
                lambda: (jnp.linalg.eigh(L)[1], jnp.linalg.eigh(R)[1]),
                lambda: (QL, QR),
            )
            g_rot = QL.T @ g @ QR
            m_rot = QL.T @ m @ QR
            v = b2 * v + (1 - b2) * g_rot**2
            n_rot = (m_rot / c1) / (jnp.sqrt(v / c2) + eps)
            return QL @ n_rot @ QR.T, m, v, L, R, QL, QR

        out = jax.tree.map(leaf, updates, state.mu, state.nu, state.left, state.right,
                           state.q_left, state.q_right, is_leaf=is_none)
        # Unzip the tuple leaves back into one tree per field.
        treedef = jax.tree.structure(updates)
        parts = treedef.flatten_up_to(out)
        fields = [treedef.unflatten([p[i] for p in parts]) for i in range(7)]
        u, mu, nu, left, right, q_left, q_right = fields
        return u, SoapState(count, mu, nu, left, right, q_left, q_right)

    return optax.GradientTransformation(init_fn, update_fn)


@optimizers.register("soap")
def make_soap(*, lr: float = 1e-3, b1: float = 0.95, b2: float = 0.95,
              shampoo_beta: float | None = None, eps: float = 1e-8,
              precondition_frequency: int = 10, max_precond_dim: int = 1024,
              warmup_steps: int = 0, decay_rate: float = 1.0, decay_steps: int = 1000,
              clip_norm: float | None = None) -> Phase:
    """SOAP (Vyas et al. 2024): Adam in Shampoo's eigenbasis; same schedule options as Adam."""
    if precondition_frequency < 1:
        raise ValueError("soap option 'precondition_frequency' must be a positive integer")
    for name, b in (("b1", b1), ("b2", b2)):
        if not 0 <= b < 1:
            raise ValueError(f"soap option {name!r} must be in [0, 1), got {b}")
    schedule = optax.warmup_exponential_decay_schedule(
        init_value=0.0 if warmup_steps else lr, peak_value=lr, warmup_steps=warmup_steps,
        transition_steps=decay_steps, decay_rate=decay_rate,
    )
    chain = [optax.clip_by_global_norm(clip_norm)] if clip_norm else []
    chain += [scale_by_soap(b1, b2, shampoo_beta, eps, int(precondition_frequency),
                            int(max_precond_dim)),
              optax.scale_by_learning_rate(schedule)]
    return Phase(optax.with_extra_args_support(optax.chain(*chain)))
