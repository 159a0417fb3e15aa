"""Natural-gradient / Gauss–Newton steps for PINN losses, as pure JAX functions.

The training loss of a pointwise task is ``L(θ) = Σ_k w_k · mean_i(p_{k,i} ‖r_{k,i}(θ)‖²)``
(:mod:`regimebench.problem`). Stack the *scaled* residuals ``r̃_{k,i} = √(w_k p_{k,i} / N_k) r_{k,i}``
of every term (one row per point and residual component) into ``r ∈ R^N`` and their parameter
Jacobian into ``J ∈ R^{N×P}``; then ``L = ‖r‖²``, ``∇L = 2 Jᵀr`` and ``G = JᵀJ`` is the
Gauss–Newton matrix. For a linear PDE ``G`` is the energy Gram matrix of energy natural gradient
(Müller & Zeinhofer, ICML 2023); for a nonlinear one it is the Gauss–Newton natural gradient
(Jnini, Vella & Zeinhofer 2024). The step is

    d = (JᵀJ + λI)⁻¹ Jᵀ r = Jᵀ (JJᵀ + λI)⁻¹ r          (Woodbury, when N ≤ P)
    θ ← θ − η* d,   η* = argmin over a fixed logarithmic grid of L(θ − η d).

With SPRING momentum (Goldshlager, Abrahamsen & Lin 2024; for ENGD Guzmán-Cordero et al. 2025):
``φ_k = μ φ_{k−1} + Jᵀ (JJᵀ + λI)⁻¹ (r − μ J φ_{k−1})`` replaces ``d``.

Everything here is a pure function of its arguments (residual function, parameters, batch,
weights, state) with no Python control flow on traced values, so it runs under ``jax.vmap`` over
seeds and inside ``lax.scan``. The Jacobian is assembled from **per-point** derivatives: one
reverse (or forward) pass of a single point's residual per point, vmapped over the points. This
assumes the residual of a point depends on that point only (true of every pointwise PINN task;
not of operator tasks). Reverse mode over the *batched* residual vector instead costs one
backward pass through the whole batch per row, N times the work (``jacobian_mode`` =
``"batched_rev"``, kept for measurement only).

Cost accounting: XLA's cost analysis counts a LAPACK custom call (the Cholesky factorisation on
CPU) as a few N² flops and a ``while`` loop's body once, whatever its trip count. The step
therefore has no loops (the line search evaluates its grid with ``vmap``), and
:func:`cholesky_flops` gives the analytic count a cost measurement must add per factorisation.

Example (one step; ``residual_fn(model, batch)`` is ``task.residuals``)::

    cfg = NGConfig(damping=1e-8)
    state = ng_init(params, cfg)
    params, state, info = ng_step(task.residuals, static, params, state, batch,
                                  term_weights, point_weights, cfg)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

__all__ = [
    "NGConfig",
    "NGState",
    "NGInfo",
    "JACOBIAN_MODES",
    "DAMPING_RULES",
    "term_keys",
    "residual_system",
    "weighted_loss",
    "damped_solve",
    "sample_space_direction",
    "parameter_space_direction",
    "cg_direction",
    "spring_direction",
    "step_size_grid",
    "grid_line_search",
    "stack_rows",
    "ng_init",
    "ng_update",
    "ng_step",
    "cholesky_flops",
]

ResidualFn = Callable[[Any, Mapping[str, jax.Array]], Mapping[str, jax.Array]]

#: How the Jacobian rows are formed: per-point reverse mode (default: about one gradient's
#: work), per-point forward mode (P tangents per point: for measurement), reverse mode over the
#: batched residual vector (N backward passes over the batch: for measurement).
JACOBIAN_MODES = ("per_point_rev", "per_point_fwd", "batched_rev")

#: Damping controls (see :class:`NGConfig`).
DAMPING_RULES = ("fixed", "step", "gain")


class NGConfig(eqx.Module):
    """Hyperparameters of a natural-gradient phase (all static: they shape the program).

    Arguments:
        damping: λ of ``(JJᵀ + λI)``, absolute, in the units of ``JJᵀ`` (whose entries are
            ``O(‖∂r/∂θ‖² / N_k)`` since rows carry ``√(w_k/N_k)``). With ``relative_damping``
            it multiplies the mean diagonal of ``JJᵀ`` instead.
        relative_damping: scale λ by ``trace(JJᵀ)/N`` (makes λ independent of the PDE's scale).
        damping_rule: how λ evolves between steps (clipped to ``[damping_min, damping_max]``):
            ``"fixed"``; ``"step"`` multiplies it by ``damping_down`` when the line search takes
            the full step ``η = 1`` and by ``damping_up`` when it finds no decrease;
            ``"gain"`` is Levenberg–Marquardt's rule on the gain ratio ρ = actual / predicted
            decrease (the prediction from the Gauss–Newton model ``‖r − ηJφ‖²``): ×``damping_down``
            when ρ > 0.75, ×``damping_up`` when ρ < 0.25 or no decrease.
        momentum: SPRING momentum μ (0: plain Gauss–Newton step).
        grid_size, grid_base: the line search tries ``η = grid_base^{-j}``, ``j = 0 … grid_size−1``.
        jacobian_mode: one of :data:`JACOBIAN_MODES`.
        space: ``"sample"`` (Woodbury, N×N), ``"parameter"`` (P×P), ``"auto"`` (the smaller),
            all by Cholesky; or ``"cg"``: ``cg_iters`` iterations of Jacobi-preconditioned
            conjugate gradients on ``(JᵀJ + λI) d = Jᵀ s`` with the stored ``J`` (4NP flops an
            iteration instead of the Gram's 2N²P; stopping early regularises like damping).
        cg_iters: iterations of ``space = "cg"`` (unrolled, so XLA's cost analysis counts all).
        terms: loss terms to include (``None``: every term with a nonzero weight is included;
            a term satisfied by construction, e.g. by a hard constraint, should be left out
            here so that it costs nothing).
    """

    damping: float = 1e-8
    relative_damping: bool = False
    damping_rule: str = "fixed"
    damping_down: float = 0.5
    damping_up: float = 10.0
    damping_min: float = 1e-14
    damping_max: float = 1e2
    momentum: float = 0.0
    grid_size: int = 16
    grid_base: float = 2.0
    jacobian_mode: str = "per_point_rev"
    space: str = "auto"
    cg_iters: int = 50
    terms: tuple[str, ...] | None = None

    def __check_init__(self):
        if self.jacobian_mode not in JACOBIAN_MODES:
            raise ValueError(f"jacobian_mode must be one of {JACOBIAN_MODES}, "
                             f"got {self.jacobian_mode!r}")
        if self.space not in ("sample", "parameter", "auto", "cg"):
            raise ValueError("space must be 'sample', 'parameter', 'auto' or 'cg', "
                             f"got {self.space!r}")
        if self.cg_iters < 1:
            raise ValueError(f"cg_iters must be ≥ 1, got {self.cg_iters}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if self.grid_size < 1 or self.grid_base <= 1.0:
            raise ValueError("the line search needs grid_size ≥ 1 and grid_base > 1")
        if self.damping_rule not in DAMPING_RULES:
            raise ValueError(f"damping_rule must be one of {DAMPING_RULES}, "
                             f"got {self.damping_rule!r}")
        if self.damping < 0:
            raise ValueError(f"damping must be ≥ 0, got {self.damping}")


class NGState(eqx.Module):
    """Per-seed state: the SPRING direction ``phi`` (flat, zeros without momentum) and λ."""

    phi: jax.Array
    damping: jax.Array
    count: jax.Array


class NGInfo(NamedTuple):
    """What a step saw: loss before and after, the chosen step size and grid index, λ used."""

    loss: jax.Array
    new_loss: jax.Array
    step_size: jax.Array
    grid_index: jax.Array
    damping: jax.Array
    accepted: jax.Array


# ---------------------------------------------------------------------------------------------
# The stacked residual system (r, J).


def _empty_like(v: jax.Array) -> jax.Array:
    return jnp.zeros((0,) + v.shape[1:], v.dtype)


def term_keys(residual_fn: ResidualFn, model: Any, batch: Mapping[str, jax.Array],
              terms: tuple[str, ...]) -> dict[str, str]:
    """Which batch entry each term's points come from (found from shapes at trace time).

    With only entry ``b`` non-empty, the terms that still have rows are ``b``'s. A term fed by
    two entries (not pointwise-separable) is an error.
    """
    owner: dict[str, str] = {}
    for b in batch:
        probe = {k: (v if k == b else _empty_like(v)) for k, v in batch.items()}
        shapes = jax.eval_shape(residual_fn, model, probe)
        for t in terms:
            if shapes[t].shape[0] > 0:
                if t in owner:
                    raise ValueError(f"term {t!r} uses points of both {owner[t]!r} and {b!r}; "
                                     "natural-gradient steps need pointwise residuals")
                owner[t] = b
    missing = [t for t in terms if t not in owner]
    if missing:
        raise ValueError(f"terms {missing} have no points in the batch")
    return owner


def _rows(x: jax.Array) -> jax.Array:
    """Per-point residuals ``(n,)`` or ``(n, c)`` → ``(n, c)``."""
    return x[:, None] if x.ndim == 1 else x.reshape(x.shape[0], -1)


def _value_and_jacrev(fn, flat, x):
    """``(fn(flat, x), ∂fn/∂flat)`` by one forward pass and one reverse pass per output row."""
    value, pullback = jax.vjp(lambda f: fn(f, x), flat)
    (jac,) = jax.vmap(pullback)(jnp.eye(value.shape[0], dtype=value.dtype))
    return value, jac


def _value_and_jacfwd(fn, flat, x):
    """``(fn(flat, x), ∂fn/∂flat)`` by P forward tangents (for measurement: P ≫ outputs)."""
    value, lin = jax.linearize(lambda f: fn(f, x), flat)
    jac = jax.vmap(lin, out_axes=-1)(jnp.eye(flat.shape[0], dtype=flat.dtype))
    return value, jac


def residual_system(residual_fn: ResidualFn, static: Any, params: Any,
                    batch: Mapping[str, jax.Array], term_weights: Mapping[str, jax.Array],
                    point_weights: Mapping[str, jax.Array | None], terms: tuple[str, ...],
                    mode: str = "per_point_rev") -> tuple[jax.Array, jax.Array]:
    """The scaled residual vector ``r`` (N,) and its Jacobian ``J`` (N, P) at ``params``.

    Rows are term-major in the order of ``terms``; within a term point-major, then component.
    Row ``(k, i, c)`` is ``√(w_k p_{k,i} / N_k) · r_{k,i,c}`` (``N_k`` the term's point count),
    so ``‖r‖²`` is the trainer's weighted loss. ``P`` counts the entries of
    ``ravel_pytree(params)``.

    Arguments:
        residual_fn: ``(model, batch) -> {term: (n,) or (n, c)}`` (``task.residuals``).
        static: the non-trainable part of the model (``eqx.partition``'s second half).
        params: the trainable part.
        batch: the points, one entry per sampled set.
        term_weights, point_weights: ``w_k`` and ``p_k`` (``None``: all ones).
        terms: the terms to include (static).
        mode: one of :data:`JACOBIAN_MODES`.
    """
    flat, unravel = ravel_pytree(params)

    def model_of(f):
        return eqx.combine(unravel(f), static)

    model0 = model_of(flat)
    owner = term_keys(residual_fn, model0, batch, terms)
    shapes = jax.eval_shape(residual_fn, model0, batch)
    width = {t: math.prod(shapes[t].shape[1:]) for t in terms}  # components per point
    per_term_r, per_term_j = {}, {}

    if mode == "batched_rev":
        def all_rows(f):
            res = residual_fn(model_of(f), batch)
            return jnp.concatenate([_rows(res[t]).ravel() for t in terms])

        raw, jac = all_rows(flat), jax.jacrev(all_rows)(flat)
        start = 0
        for t in terms:
            n, c = shapes[t].shape[0], width[t]
            per_term_r[t] = raw[start:start + n * c].reshape(n, c)
            per_term_j[t] = jac[start:start + n * c].reshape(n, c, -1)
            start += n * c
    else:
        for b in dict.fromkeys(owner[t] for t in terms):
            mine = tuple(t for t in terms if owner[t] == b)

            def point_rows(f, x, b=b, mine=mine):
                one = {k: (x[None] if k == b else _empty_like(v)) for k, v in batch.items()}
                res = residual_fn(model_of(f), one)
                return jnp.concatenate([_rows(res[t])[0] for t in mine])

            one_point = _value_and_jacrev if mode == "per_point_rev" else _value_and_jacfwd
            vals, jacs = jax.vmap(partial(one_point, point_rows), in_axes=(None, 0))(flat, batch[b])
            start = 0
            for t in mine:
                per_term_r[t] = vals[:, start:start + width[t]]
                per_term_j[t] = jacs[:, start:start + width[t]]
                start += width[t]

    r = stack_rows(per_term_r, term_weights, point_weights, terms)
    J = stack_rows(per_term_j, term_weights, point_weights, terms)
    return r, J


def stack_rows(values: Mapping[str, jax.Array], term_weights: Mapping[str, jax.Array],
               point_weights: Mapping[str, jax.Array | None], terms: tuple[str, ...]):
    """Scale per-term rows by ``√(w_k p_{k,i} / N_k)`` and stack them term-major.

    ``values[t]`` is ``(N_t, c)`` (residual rows) or ``(N_t, c, P)`` (Jacobian rows); the result
    is ``(Σ N_t c,)`` or ``(Σ N_t c, P)``. Used for the residuals, their Jacobian, and any other
    per-point vector that must be stacked the same way (a Ritz form's right-hand side).
    """
    out = []
    for t in terms:
        v = values[t]
        n = v.shape[0]
        w = jnp.asarray(term_weights[t], v.dtype)
        pw = point_weights.get(t)
        per_point = w / n if pw is None else w * pw.astype(v.dtype) / n
        scale = jnp.sqrt(jnp.broadcast_to(per_point, (n,))).reshape((n,) + (1,) * (v.ndim - 1))
        out.append((scale * v).reshape((-1,) + v.shape[2:]))
    return jnp.concatenate(out)


def weighted_loss(residual_fn: ResidualFn, static: Any, params: Any,
                  batch: Mapping[str, jax.Array], term_weights: Mapping[str, jax.Array],
                  point_weights: Mapping[str, jax.Array | None],
                  terms: tuple[str, ...]) -> jax.Array:
    """``Σ_k w_k mean_i(p_{k,i} ‖r_{k,i}‖²)`` over ``terms``: the trainer's weighted loss
    (``= ‖r‖²`` of :func:`residual_system`), from one batched residual evaluation."""
    res = residual_fn(eqx.combine(params, static), batch)
    total = 0.0
    for t in terms:
        sq = jnp.sum(_rows(res[t]) ** 2, axis=-1)
        pw = point_weights.get(t)
        total = total + term_weights[t] * (sq.mean() if pw is None else (pw * sq).mean())
    return total


# ---------------------------------------------------------------------------------------------
# Damped solves.


def damped_solve(K: jax.Array, rhs: jax.Array, damping: jax.Array) -> jax.Array:
    """``(K + λI)⁻¹ rhs`` for symmetric positive semi-definite ``K`` by Cholesky."""
    n = K.shape[0]
    chol = jnp.linalg.cholesky(K + damping * jnp.eye(n, dtype=K.dtype))
    return jax.scipy.linalg.cho_solve((chol, True), rhs)


def sample_space_direction(J: jax.Array, s: jax.Array, damping: jax.Array) -> jax.Array:
    """``Jᵀ (JJᵀ + λI)⁻¹ s`` (= ``(JᵀJ + λI)⁻¹ Jᵀ s``): an N×N Cholesky solve."""
    return J.T @ damped_solve(J @ J.T, s, damping)


def parameter_space_direction(J: jax.Array, s: jax.Array, damping: jax.Array) -> jax.Array:
    """``(JᵀJ + λI)⁻¹ Jᵀ s``: a P×P Cholesky solve (cheaper when P < N)."""
    return damped_solve(J.T @ J, J.T @ s, damping)


def cg_direction(J: jax.Array, s: jax.Array, damping: jax.Array, iters: int) -> jax.Array:
    """``(JᵀJ + λI)⁻¹ Jᵀ s`` approximately: ``iters`` steps of conjugate gradients from 0,
    preconditioned by the diagonal ``‖J_{:,j}‖² + λ``, each step two products with ``J``.

    The loop is unrolled in Python (``iters`` is static) so that XLA's cost analysis, which
    counts a loop body once, sees every iteration. Exact after at most P steps in exact
    arithmetic; a few tens of steps keep the dominant directions of the Gram matrix.
    """
    precond = 1.0 / (jnp.sum(J * J, axis=0) + damping)
    x = jnp.zeros(J.shape[1], J.dtype)
    r = J.T @ s
    z = precond * r
    p, rz = z, jnp.dot(r, z)
    tiny = jnp.finfo(J.dtype).tiny
    one, zero = jnp.ones((), J.dtype), jnp.zeros((), J.dtype)  # no float64 in a float32 step
    for _ in range(iters):
        ap = J.T @ (J @ p) + damping * p
        pap = jnp.dot(p, ap)
        alpha = jnp.where(pap > tiny, rz / jnp.where(pap > tiny, pap, one), zero)
        x = x + alpha * p
        r = r - alpha * ap
        z = precond * r
        rz_new = jnp.dot(r, z)
        p = z + jnp.where(rz > tiny, rz_new / jnp.where(rz > tiny, rz, one), zero) * p
        rz = rz_new
    return x


def _use_sample_space(J: jax.Array, space: str) -> bool:
    return space == "sample" or (space == "auto" and J.shape[0] <= J.shape[1])


def spring_direction(J: jax.Array, r: jax.Array, phi: jax.Array, damping: jax.Array,
                     momentum: float, space: str = "auto", cg_iters: int = 50) -> jax.Array:
    """SPRING: ``φ = μ φ_prev + (JᵀJ + λI)⁻¹ Jᵀ (r − μ J φ_prev)`` (μ = 0: Gauss–Newton)."""
    rhs = r - momentum * (J @ phi) if momentum else r
    if space == "cg":
        d = cg_direction(J, rhs, damping, cg_iters)
    elif _use_sample_space(J, space):
        d = sample_space_direction(J, rhs, damping)
    else:
        d = parameter_space_direction(J, rhs, damping)
    return momentum * phi + d if momentum else d


def cholesky_flops(n: int, solves: int = 1) -> float:
    """Analytic flops of a Cholesky factorisation of an n×n matrix and ``solves`` pairs of
    triangular solves (n³/3 + 2n² per solve), the work XLA's cost analysis does not count for
    the LAPACK custom call on CPU."""
    return n**3 / 3.0 + 2.0 * n**2 * solves


# ---------------------------------------------------------------------------------------------
# Line search.


def step_size_grid(size: int, base: float = 2.0, dtype=jnp.float64) -> jax.Array:
    """``[1, base⁻¹, …, base^{−(size−1)}]``."""
    return jnp.asarray(base, dtype) ** -jnp.arange(size, dtype=dtype)


def grid_line_search(loss_fn: Callable[[jax.Array], jax.Array], grid: jax.Array):
    """Evaluate ``loss_fn(η)`` at every grid point at once (``vmap``, no loop) and return
    ``(index of the minimum, η*, loss at η*)``. Non-finite losses never win."""
    losses = jax.vmap(loss_fn)(grid)
    losses = jnp.where(jnp.isfinite(losses), losses, jnp.asarray(jnp.inf, losses.dtype))
    j = jnp.argmin(losses)
    return j, grid[j], losses[j]


# ---------------------------------------------------------------------------------------------
# The step.


def ng_init(params: Any, config: NGConfig) -> NGState:
    """Initial state: zero momentum, λ = ``config.damping``."""
    flat, _ = ravel_pytree(params)
    return NGState(phi=jnp.zeros_like(flat), damping=jnp.asarray(config.damping, flat.dtype),
                   count=jnp.zeros((), jnp.int32))


def active_terms(names: tuple[str, ...], config: NGConfig) -> tuple[str, ...]:
    """The terms a step includes: ``config.terms`` or all of ``names``."""
    return tuple(names) if config.terms is None else tuple(config.terms)


def ng_update(flat: jax.Array, s: jax.Array, J: jax.Array, state: NGState,
              loss_fn: Callable[[jax.Array], jax.Array], loss0: jax.Array,
              config: NGConfig, model_scale: float = 1.0) -> tuple[jax.Array, NGState, NGInfo]:
    """The update shared by every objective: direction, line search, damping control.

    Arguments:
        flat: the flat parameters θ.
        s: the stacked right-hand side with ``Jᵀ s = ∇L / (2 · model_scale)`` (the scaled
            residuals ``r`` for the least-squares loss ``‖r‖²``; a Ritz form's targets for an
            energy, with ``model_scale = ½``).
        J: the stacked Jacobian whose Gram ``JᵀJ`` is the metric.
        state: :class:`NGState`.
        loss_fn: the objective as a function of flat parameters (evaluated on the grid).
        loss0: the objective at ``flat``.
        config: :class:`NGConfig`.
        model_scale: the local model is ``L(θ − ηφ) ≈ L0 − model_scale·(2η sᵀJφ − η²‖Jφ‖²)``
            (1 for ``‖r‖²``, ½ for an energy whose Hessian is modelled by ``JᵀJ``); only the
            ``"gain"`` damping rule reads it.
    """
    lam = state.damping
    if config.relative_damping:
        lam = lam * jnp.sum(J * J) / J.shape[0]
    phi = spring_direction(J, s, state.phi, lam, config.momentum, config.space,
                           config.cg_iters)
    grid = step_size_grid(config.grid_size, config.grid_base, flat.dtype)
    j, eta, new_loss = grid_line_search(lambda e: loss_fn(flat - e * phi), grid)
    # A failed factorisation (λ too small for a singular Gram) gives a non-finite direction,
    # whose every grid loss is non-finite: the step is rejected and λ grows.
    accepted = (new_loss < loss0) & jnp.all(jnp.isfinite(phi))
    # constants in the parameters' dtype: a float32 entry's step holds no float64 value
    dt = flat.dtype

    def const(v):
        return jnp.asarray(v, dt)

    eta = jnp.where(accepted, eta, const(0.0))
    new_flat = jnp.where(accepted, flat - eta * phi, flat)
    new_phi = jnp.where(accepted, phi, const(0.0)) if config.momentum else state.phi
    damping = state.damping
    if config.damping_rule == "step":
        factor = jnp.where(~accepted, const(config.damping_up),
                           jnp.where(j == 0, const(config.damping_down), const(1.0)))
        damping = jnp.clip(damping * factor, const(config.damping_min),
                           const(config.damping_max))
    elif config.damping_rule == "gain":
        jphi = J @ phi
        eta_j = grid[j]
        predicted = model_scale * (2 * eta_j * jnp.dot(s, jphi) - eta_j**2 * jnp.dot(jphi, jphi))
        rho = (loss0 - new_loss) / jnp.where(predicted > 0, predicted, const(jnp.inf))
        factor = jnp.where(~accepted | (rho < 0.25), const(config.damping_up),
                           jnp.where(rho > 0.75, const(config.damping_down), const(1.0)))
        damping = jnp.clip(damping * factor, const(config.damping_min),
                           const(config.damping_max))
    info = NGInfo(loss0, jnp.where(accepted, new_loss, loss0), eta, j, lam, accepted)
    new_state = NGState(phi=new_phi, damping=damping.astype(flat.dtype), count=state.count + 1)
    return new_flat, new_state, info


def ng_step(residual_fn: ResidualFn, static: Any, params: Any, state: NGState,
            batch: Mapping[str, jax.Array], term_weights: Mapping[str, jax.Array],
            point_weights: Mapping[str, jax.Array | None], config: NGConfig,
            terms: tuple[str, ...] | None = None,
            search_batch: Mapping[str, jax.Array] | None = None,
            search_point_weights: Mapping[str, jax.Array | None] | None = None,
            ) -> tuple[Any, NGState, NGInfo]:
    """One natural-gradient / Gauss–Newton step on the weighted least-squares loss.

    Arguments:
        residual_fn: ``(model, batch) -> {term: residuals}`` (``task.residuals``).
        static, params: the model split by ``eqx.partition(model, eqx.is_inexact_array)``.
        state: from :func:`ng_init` or the previous step.
        batch: the points of this step (fixed across the line search).
        term_weights, point_weights: the weighting's ``w_k`` and ``p_k``.
        config: :class:`NGConfig`.
        terms: the terms included (default ``config.terms``, else every key of
            ``term_weights``).
        search_batch: points on which the line search compares step sizes (default: ``batch``).
            Independent points keep a step from over-fitting a batch smaller than the network
            (N < P, where the Gauss–Newton step can interpolate the batch).
        search_point_weights: per-point weights of ``search_batch`` (default: none, i.e. all
            ones; the batch's own point weights belong to its points, not to these).

    Returns:
        ``(new params, new state, NGInfo)``. If no grid step decreases the loss the parameters
        stay, the momentum is reset and (with a damping rule) λ grows.
    """
    if terms is None:
        terms = active_terms(tuple(term_weights), config)
    flat, unravel = ravel_pytree(params)
    r, J = residual_system(residual_fn, static, params, batch, term_weights, point_weights,
                           terms, config.jacobian_mode)

    if search_batch is None:
        search_batch, search_pw, loss0 = batch, point_weights, jnp.sum(r**2)
    else:
        search_pw = search_point_weights or {t: None for t in terms}
        loss0 = weighted_loss(residual_fn, static, params, search_batch, term_weights,
                              search_pw, terms)

    def loss_fn(f):
        return weighted_loss(residual_fn, static, unravel(f), search_batch, term_weights,
                             search_pw, terms)

    new_flat, new_state, info = ng_update(flat, r, J, state, loss_fn, loss0, config)
    return unravel(new_flat), new_state, info
