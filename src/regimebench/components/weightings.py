"""Loss weightings: how the named loss terms (and their points) are weighted, per seed.

The loss is ``Σ_k w_k · mean_i(p_{k,i} r_{k,i}²)``. A :class:`Weighting` owns a per-seed state,
returns the term weights ``w`` and the optional per-point weights ``p`` from it (``weigh``, which
may also look at the current residuals), and updates it once per plain optimizer step from a
:class:`WeightingContext` (current residuals, step, and a lazy function giving per-term
gradients — computed only by weightings that ask for them). During line-search phases (L-BFGS)
the state is frozen.

Registered kinds:

=================== ======================================================================
``fixed``           constant term weights
``grad_norm``       learning-rate annealing / grad-norm balancing (Wang, Teng & Perdikaris 2021)
``inverse_dirichlet`` weights from gradient standard deviations (Maddu et al. 2021)
``rba``             residual-based attention, per point (Anagnostopoulos et al. 2024)
``causal``          causal time-chunk weights (Wang, Sankaran & Perdikaris 2022) over a base
``residual_scale``  fixed term weights, per-point weights ``1/s²`` from the task's declared
                    residual scales (:meth:`~regimebench.problem.AbstractTask.residual_scales`)
=================== ======================================================================

Weightings refreshed every K steps branch on the shared step with ``lax.cond``, so their cost
(one reverse pass per term) is paid only on refresh steps, also under the seed vmap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp

from .._registry import Registry
from ..problem import EQUATION_ROLES, squared_residuals

__all__ = ["Weighting", "WeightingContext", "weightings", "Fixed", "GradNorm", "InverseDirichlet",
           "RBA", "Causal", "ResidualScale"]


class WeightingContext(eqx.Module):
    """What a weighting may look at when it updates.

    ``residuals`` maps term → per-point residuals at the current parameters; ``batch`` holds
    the points they were evaluated at (term → ``(n, d)``); ``term_grads()``
    returns term → gradient pytree of that term's *unweighted* mean-square loss (costly: one
    reverse pass per term); ``step`` is the global optimizer step (the same for all seeds, so a
    ``lax.cond`` on it stays a real branch under vmap).
    """

    residuals: Mapping[str, jax.Array]
    batch: Mapping[str, jax.Array]
    step: jax.Array
    term_grads: Callable[[], dict] = eqx.field(static=True)


class Weighting(eqx.Module):
    """Base class. Subclasses override what they need; the defaults are "all weights 1"."""

    def init(self, residuals: Mapping[str, jax.Array]):
        return ()

    @property
    def init_reads_residuals(self) -> bool:
        """Whether :meth:`init` reads the residuals' *values* (not only shapes and dtypes).

        When it does not, the trainer passes zeros of the right shapes and skips evaluating
        the PDE at initialisation (one compiled program fewer per run).
        """
        return False

    def term_weights(self, state, names: tuple[str, ...]) -> dict[str, jax.Array | float]:
        """Weight per term. Constants are Python floats: they take the loss's dtype when
        multiplied in, so a float32 entry's loss holds no float64 value."""
        return {k: 1.0 for k in names}

    def point_weights(self, state, names: tuple[str, ...]) -> dict[str, jax.Array | None]:
        return {k: None for k in names}

    def update(self, state, ctx: WeightingContext):
        return state

    def bind(self, task) -> Weighting:
        """The weighting specialised to ``task`` (called once by the trainer; default: itself).

        Weightings that need facts about the task (e.g. which input is time) resolve them here.
        """
        return self

    def weigh(self, state, names: tuple[str, ...], residuals: Mapping[str, jax.Array],
              batch: Mapping[str, jax.Array]):
        """``(term_weights, point_weights)`` used by the loss at the current residuals.

        The default ignores ``residuals`` and ``batch``. Weightings that depend on the current
        residuals inside the loss (causal weighting) override it and must stop gradients.
        """
        return self.term_weights(state, names), self.point_weights(state, names)


weightings: Registry[Callable[..., Weighting]] = Registry("weighting")


class Fixed(Weighting):
    """Constant term weights (1 unless given)."""

    # (term, weight) pairs: a static field must be hashable (it keys the compiled programs).
    weights: tuple[tuple[str, float], ...] = eqx.field(static=True)

    def term_weights(self, state, names):
        given = dict(self.weights)
        return {k: float(given.get(k, 1.0)) for k in names}


@weightings.register("fixed")
def make_fixed(*, weights: Mapping[str, float] | None = None) -> Fixed:
    """Fixed term weights, e.g. ``weights = { bc = 10.0 }``; unnamed terms get 1.

    A weight may be 0 (the term is recorded, not trained on: the operator entries' ``pde``), never
    negative or non-finite (a negative weight would reward the residual it names)."""
    for k, v in (weights or {}).items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf"):
            raise ValueError(f"fixed weighting: weight of {k!r} must be a finite number ≥ 0, "
                             f"got {v!r}")
    return Fixed(weights=tuple(sorted((str(k), float(v)) for k, v in (weights or {}).items())))


class ResidualScale(Fixed):
    """Fixed term weights, and per-point weights ``1/s(x)²`` where the task declares a residual
    scale ``s`` (:meth:`~regimebench.problem.AbstractTask.residual_scales`; darcy: the
    coefficient ``a(x)``), so that each term is fitted in its natural units. Terms without a
    declared scale get no point weights: on such a task this is :class:`Fixed`."""

    task: object = None  # the bound training view (its arrays are program arguments)

    def bind(self, task) -> ResidualScale:
        return ResidualScale(weights=self.weights, task=task)

    def weigh(self, state, names, residuals, batch):
        scales = self.task.residual_scales(batch)
        point = {k: None if scales.get(k) is None
                 else 1.0 / jax.lax.stop_gradient(scales[k]) ** 2 for k in names}
        return self.term_weights(state, names), point


@weightings.register("residual_scale")
def make_residual_scale(*, weights: Mapping[str, float] | None = None) -> ResidualScale:
    """Fixed term weights (as ``fixed``) and per-point weights 1/s² from the task's residual
    scales (darcy: 1/a(x)², the strong form divided by the coefficient)."""
    return ResidualScale(weights=make_fixed(weights=weights).weights)


# ---------------------------------------------------------------------------------------------
# Shared helpers.


def _flat(tree) -> jax.Array:
    """All inexact leaves of a gradient pytree as one vector (the statistics are over *all* θ)."""
    leaves = [jnp.ravel(x) for x in jax.tree.leaves(tree) if eqx.is_inexact_array(x)]
    return jnp.concatenate(leaves)


def _unbiased_std(x: jax.Array) -> jax.Array:
    """Sample standard deviation (ddof = 1) of a vector with at least two entries, in its own
    dtype (``jnp.std(ddof=1)`` guards n ≤ 1 with a float64 NaN constant)."""
    return jnp.sqrt(jnp.sum((x - x.mean()) ** 2) / (x.shape[0] - 1))


def _every(every: int, step: jax.Array, refresh: Callable, state):
    """``refresh()`` on steps 0, K, 2K, … and ``state`` otherwise.

    ``step`` is shared by all seeds (unbatched), so under the trainer's vmap this stays a real
    branch: the per-term gradients (the costly part) run only on refresh steps.
    """
    return jax.lax.cond(step % every == 0, refresh, lambda: state)


def _check_positive(name: str, value, kind=int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"weighting option {name!r} must be positive, got {value!r}")
    if kind is int and int(value) != value:
        raise ValueError(f"weighting option {name!r} must be an integer, got {value!r}")


def _check_fraction(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"weighting option {name!r} must be in [0, 1], got {value!r}")


# ---------------------------------------------------------------------------------------------
# Term weightings from per-term gradients.



class _GradientBalanced(Weighting):
    """Term weights held as state (one scalar per term, starting at 1) and refreshed from the
    per-term gradients by a subclass's ``update``; the loss never differentiates through them."""

    def init(self, residuals):
        dtype = jnp.result_type(*[r.dtype for r in residuals.values()])
        return {k: jnp.ones((), dtype) for k in residuals}

    def term_weights(self, state, names):
        return {k: jax.lax.stop_gradient(state[k]) for k in names}


class GradNorm(_GradientBalanced):
    """Learning-rate annealing / grad-norm balancing (Wang, Teng & Perdikaris 2021).

    Every ``every`` steps the per-term gradients ``g_k = ∇θ L_k`` (unweighted terms, current
    parameters) and the current weights give target weights ``ŵ``, and the weights follow a moving average
    ``w ← m·w + (1 − m)·ŵ`` (``m = momentum``). Two statistics:

    * ``"max_mean"`` — the 2021 paper's rule (its Algorithm 1 and the authors' code):
      ``ŵ_k = max|g_ref| / mean|w_k·g_k|``, where ``g_ref`` is the gradient of the PDE-residual
      loss ``L_r``; the terms that make up ``L_r`` keep weight 1. ``reference = "residual"``
      (default) takes ``L_r`` as the sum of every term the task declares an equation (role
      ``residual`` or ``constraint``: :data:`regimebench.problem.EQUATION_ROLES`), as the
      authors' cavity code sums the two momentum residuals; a term name (e.g. ``"pde"``) takes
      that term alone. The denominator is the gradient of the *weighted* term, so the
      update's fixed point is ``w_k = sqrt(max|g_ref| / mean|g_k|)``: as ``L_k`` shrinks the
      weight grows only as the square root. Dividing by the *unweighted* gradient instead (an
      earlier version of this class) has no such brake: on helmholtz the bc weight ran away to
      ~1e6 and every seed collapsed to u ≈ 0;
    * ``"norm"`` — the rule of Wang et al.'s "Expert's guide" (jaxpi):
      ``ŵ_k = (Σ_j ‖g_j‖₂) / ‖g_k‖₂`` for every term.

    ``min_ratio`` (default 0: off): a term whose gradient norm is below ``min_ratio`` times the
    largest term's keeps its current weight instead of being balanced. A term the model
    satisfies by construction (periodicity under an exact periodic embedding) has a gradient
    at round-off level; balancing it would give round-off an equal share of every update (its
    weight reaches ~1e7 in float32).
    """

    every: int = eqx.field(static=True)
    momentum: float = eqx.field(static=True)
    statistic: str = eqx.field(static=True)
    reference: str = eqx.field(static=True)
    # The equation terms of the bound task (None before bind).
    equation_terms: tuple[str, ...] | None = eqx.field(static=True, default=None)
    min_ratio: float = eqx.field(static=True, default=0.0)

    def bind(self, task) -> GradNorm:
        return GradNorm(every=self.every, momentum=self.momentum, statistic=self.statistic,
                        reference=self.reference,
                        equation_terms=task.terms_with_roles(EQUATION_ROLES),
                        min_ratio=self.min_ratio)

    def targets(self, grads: Mapping[str, object],
                weights: Mapping[str, jax.Array] | None = None) -> dict[str, jax.Array]:
        """Target weights ``ŵ`` from per-term gradient pytrees (the rule, without averaging);
        terms below ``min_ratio`` of the largest gradient norm keep their current weight."""
        target = self._balanced(grads, weights)
        if not self.min_ratio:
            return target
        norms = {k: jnp.linalg.norm(_flat(g)) for k, g in grads.items()}
        top = jnp.max(jnp.stack(list(norms.values())))
        weights = weights or {}
        return {k: jnp.where(norms[k] < self.min_ratio * top,
                             jnp.asarray(weights.get(k, 1.0), v.dtype), v)
                for k, v in target.items()}

    def _balanced(self, grads: Mapping[str, object],
                  weights: Mapping[str, jax.Array] | None = None) -> dict[str, jax.Array]:
        """The balancing rule's target weights ``ŵ`` from per-term gradient pytrees.

        ``grads`` are gradients of the *unweighted* terms; ``weights`` are the current term
        weights (1 if omitted), used by ``max_mean`` as described in the class docstring.
        """
        flat = {k: _flat(g) for k, g in grads.items()}
        tiny = jnp.finfo(next(iter(flat.values())).dtype).tiny
        if self.statistic == "norm":
            norms = {k: jnp.linalg.norm(v) for k, v in flat.items()}
            total = sum(norms.values())
            return {k: total / jnp.maximum(n, tiny) for k, n in norms.items()}
        if self.reference == "residual":
            if self.equation_terms is None:
                raise RuntimeError("grad_norm weighting used before bind(task)")
            ref = self.equation_terms
        else:
            ref = (self.reference,)
        if not ref or any(k not in flat for k in ref):
            raise ValueError(f"grad_norm: reference {self.reference!r} names no loss term of "
                             f"this task ({', '.join(flat)})")
        top = jnp.max(jnp.abs(sum(flat[k] for k in ref)))
        weights = weights or {}
        return {k: (jnp.ones((), top.dtype) if k in ref
                    else top / jnp.maximum(weights.get(k, 1.0) * jnp.mean(jnp.abs(v)), tiny))
                for k, v in flat.items()}

    def update(self, state, ctx):
        def refresh():
            target = self.targets(ctx.term_grads(), state)
            m = self.momentum
            return {k: (m * state[k] + (1 - m) * target[k]).astype(state[k].dtype) for k in state}

        return _every(self.every, ctx.step, refresh, state)


@weightings.register("grad_norm")
def make_grad_norm(*, every: int = 100, momentum: float = 0.9, statistic: str = "max_mean",
                   reference: str = "residual", min_ratio: float = 0.0) -> GradNorm:
    """Grad-norm / learning-rate annealing term weights (Wang, Teng & Perdikaris 2021)."""
    _check_positive("every", every)
    _check_fraction("momentum", momentum)
    if not 0 <= min_ratio < 1:
        raise ValueError(f"grad_norm option 'min_ratio' must be in [0, 1), got {min_ratio!r}")
    if statistic not in ("max_mean", "norm"):
        raise ValueError(f"grad_norm option 'statistic' must be 'max_mean' or 'norm', "
                         f"got {statistic!r}")
    return GradNorm(every=int(every), momentum=float(momentum), statistic=statistic,
                    reference=str(reference), min_ratio=float(min_ratio))


class InverseDirichlet(_GradientBalanced):
    """Inverse-Dirichlet weighting (Maddu, Sturm, Müller & Sbalzarini 2021).

    Every ``every`` steps, ``σ_k = std(vec ∇θ L_k)`` (unbiased, over all parameters) gives the
    target ``ŵ_k = σ_ref / σ_k``, where ``σ_ref`` is ``max_j σ_j`` (``reference = "max"``, the
    paper's form) or the σ of a named term (``reference = "pde"``, the authors' code). Weights
    follow ``w ← (1 − α)·w + α·ŵ`` from ``w = 1``; they are not differentiated.
    """

    every: int = eqx.field(static=True)
    alpha: float = eqx.field(static=True)
    reference: str = eqx.field(static=True)

    def targets(self, grads: Mapping[str, object]) -> dict[str, jax.Array]:
        """Target weights ``ŵ`` from per-term gradient pytrees."""
        sigma = {k: _unbiased_std(_flat(g)) for k, g in grads.items()}
        if self.reference == "max":
            ref = jnp.max(jnp.stack(list(sigma.values())))
        elif self.reference in sigma:
            ref = sigma[self.reference]
        else:
            raise ValueError(f"inverse_dirichlet: reference {self.reference!r} is neither 'max' "
                             f"nor a loss term of this task ({', '.join(sigma)})")
        tiny = jnp.finfo(ref.dtype).tiny
        return {k: ref / jnp.maximum(s, tiny) for k, s in sigma.items()}

    def update(self, state, ctx):
        def refresh():
            target = self.targets(ctx.term_grads())
            a = self.alpha
            return {k: ((1 - a) * state[k] + a * target[k]).astype(state[k].dtype) for k in state}

        return _every(self.every, ctx.step, refresh, state)


@weightings.register("inverse_dirichlet")
def make_inverse_dirichlet(*, every: int = 5, alpha: float = 0.5,
                           reference: str = "max") -> InverseDirichlet:
    """Inverse-Dirichlet term weights from gradient standard deviations (Maddu et al. 2021)."""
    _check_positive("every", every)
    _check_fraction("alpha", alpha)
    return InverseDirichlet(every=int(every), alpha=float(alpha), reference=str(reference))


# ---------------------------------------------------------------------------------------------
# Per-point weightings.


class RBA(Weighting):
    """Residual-based attention (Anagnostopoulos, Toscano et al. 2024), per collocation point.

    Each point ``i`` of the weighted terms carries ``λ_i``, updated after every optimizer step
    from the residuals at the step's parameters, without gradients:
    ``λ_i ← γ·λ_i + η·|r_i| / max_j |r_j|``. The loss term becomes ``mean_i (λ_i r_i)²``, i.e.
    point weights ``λ_i²``. ``init = "zero"`` starts from ``λ = 0`` (the authors' default);
    ``"residual"`` from ``λ = |r|/max|r|``.

    The state is one value per point, so the points must stay put: use the ``fixed`` sampler
    (with a resampling sampler the multipliers would be attached to other points).
    """

    gamma: float = eqx.field(static=True)
    eta: float = eqx.field(static=True)
    terms: tuple[str, ...] | None = eqx.field(static=True)  # None: every term
    init_mode: str = eqx.field(static=True)

    def _weighted(self, names):
        return tuple(names) if self.terms is None else tuple(k for k in names if k in self.terms)

    @property
    def init_reads_residuals(self) -> bool:
        return self.init_mode == "residual"

    def _normalised(self, r):
        a = jnp.sqrt(squared_residuals(r))
        return a / jnp.maximum(jnp.max(a), jnp.finfo(a.dtype).tiny)

    def init(self, residuals):
        missing = [k for k in (self.terms or ()) if k not in residuals]
        if missing:
            raise ValueError(f"rba: terms {missing} are not loss terms of this task "
                             f"({', '.join(residuals)})")
        out = {}
        for k in self._weighted(tuple(residuals)):
            r = residuals[k]
            out[k] = (self._normalised(r) if self.init_mode == "residual"
                      else jnp.zeros(r.shape[:1], r.dtype))
        return out

    def point_weights(self, state, names):
        return {k: jax.lax.stop_gradient(state[k] ** 2) if k in state else None for k in names}

    def update(self, state, ctx):
        return {k: (self.gamma * lam + self.eta * self._normalised(ctx.residuals[k])
                    ).astype(lam.dtype) for k, lam in state.items()}


@weightings.register("rba")
def make_rba(*, gamma: float = 0.999, eta: float = 0.01, terms: list[str] | None = None,
             init: str = "zero") -> RBA:
    """Residual-based attention point weights (Anagnostopoulos et al. 2024)."""
    _check_fraction("gamma", gamma)
    _check_positive("eta", eta, float)
    if init not in ("zero", "residual"):
        raise ValueError(f"rba option 'init' must be 'zero' or 'residual', got {init!r}")
    return RBA(gamma=float(gamma), eta=float(eta),
               terms=None if terms is None else tuple(terms), init_mode=init)


class Causal(Weighting):
    """Causal weighting for time-dependent problems (Wang, Sankaran & Perdikaris 2022).

    The points of ``term`` (default ``pde``) are sorted by time and split into ``chunks`` groups
    of equal size (sizes differ by at most one; fewer chunks if there are fewer points); with ``L_c`` the mean squared residual of chunk ``c`` (earliest first), chunk
    ``c`` gets ``w_c = exp(−ε Σ_{k<c} L_k)`` — late times are trained only once early times are
    resolved. Weights are computed from the *current* residuals inside the loss and not
    differentiated (stop-gradient), so the term equals ``mean_c w_c L_c``.

    ``base`` is another weighting (a table with ``kind``) supplying the term weights and state,
    e.g. ``base = { kind = "grad_norm", statistic = "norm" }`` for the jaxpi recipe.

    The time coordinate is the task's ``time_axis`` (``time_axis = "auto"``) or an explicit
    input index. On a task without time, ``strict = true`` fails with a clear message and
    ``strict = false`` falls back to ``base`` alone (so one entry can run on every problem).
    """

    eps: float = eqx.field(static=True)
    chunks: int = eqx.field(static=True)
    term: str = eqx.field(static=True)
    base: Weighting
    time_axis: int | str | None = eqx.field(static=True)
    strict: bool = eqx.field(static=True)

    def bind(self, task):
        base = self.base.bind(task)
        axis = self.time_axis
        if axis == "auto":
            axis = getattr(task, "time_axis", None)
        if axis is None:
            if self.strict:
                raise ValueError(
                    f"causal weighting needs a time-dependent task; "
                    f"{getattr(task, 'problem', '?')}/{getattr(task, 'task', '?')} declares no "
                    "time_axis (set strict = false to fall back to the base weighting)")
            return base
        return Causal(eps=self.eps, chunks=self.chunks, term=self.term, base=base,
                      time_axis=int(axis), strict=self.strict)

    def init(self, residuals):
        return self.base.init(residuals)

    @property
    def init_reads_residuals(self) -> bool:
        return self.base.init_reads_residuals

    def term_weights(self, state, names):
        return self.base.term_weights(state, names)

    def point_weights(self, state, names):
        return self.base.point_weights(state, names)

    def update(self, state, ctx):
        return self.base.update(state, ctx)

    def chunk_weights(self, residual: jax.Array, times: jax.Array):
        """``(w_c, L_c, chunk index per point)`` for one term's residuals at points' ``times``."""
        sq = squared_residuals(residual)
        n = sq.shape[0]
        m = min(self.chunks, n)  # tiny batches (smoke tier): at most one point per chunk
        rank = jnp.argsort(jnp.argsort(times))
        chunk = (rank * m) // n
        counts = jnp.zeros(m, sq.dtype).at[chunk].add(1.0)
        losses = jnp.zeros(m, sq.dtype).at[chunk].add(sq) / counts
        before = jnp.cumsum(losses) - losses  # Σ_{k<c} L_k
        w = jax.lax.stop_gradient(jnp.exp(-self.eps * before))
        return w, jax.lax.stop_gradient(losses), chunk

    def weigh(self, state, names, residuals, batch):
        tw, pw = self.base.weigh(state, names, residuals, batch)
        if not isinstance(self.time_axis, int):
            raise RuntimeError("causal weighting used before bind(task)")
        if self.term not in names:
            raise ValueError(f"causal weighting: {self.term!r} is not a loss term ({names})")
        w, _, chunk = self.chunk_weights(residuals[self.term], batch[self.term][:, self.time_axis])
        n, m = chunk.shape[0], w.shape[0]
        counts = jnp.zeros(m, w.dtype).at[chunk].add(1.0)
        # mean_i p_i r_i² = mean_c w_c L_c exactly, even when chunks differ in size by one.
        p = (w * n / (m * counts))[chunk]
        base_p = pw[self.term]
        return tw, {**pw, self.term: p if base_p is None else base_p * p}


@weightings.register("causal")
def make_causal(*, eps: float = 1.0, chunks: int = 32, term: str = "pde",
                time_axis: int | str = "auto", strict: bool = True,
                base: Mapping | None = None) -> Causal:
    """Causal weights over time chunks (Wang, Sankaran & Perdikaris 2022), on top of ``base``."""
    _check_positive("eps", eps, float)
    _check_positive("chunks", chunks)
    if time_axis != "auto" and (isinstance(time_axis, bool) or not isinstance(time_axis, int)
                                or time_axis < 0):
        raise ValueError(f"causal option 'time_axis' must be 'auto' or an input index, "
                         f"got {time_axis!r}")
    base = dict(base or {"kind": "fixed"})
    if "kind" not in base:
        raise ValueError("causal option 'base' must be a table with a 'kind' key")
    kind = base.pop("kind")
    if kind == "causal":
        raise ValueError("causal option 'base' cannot itself be causal")
    try:
        inner = weightings.get(kind)(**base)
    except KeyError as e:  # an unknown kind: make it a bad-option-value error like the rest
        raise ValueError(f"causal option 'base': {e}") from None
    return Causal(eps=float(eps), chunks=int(chunks), term=str(term), base=inner,
                  time_axis=time_axis, strict=bool(strict))
