"""Optimizer phases: what one phase of training does per step, and what a step costs.

An entry lists phases (``[[phases]]`` in ``solver.toml``), each taking a fraction of the run's
budget, counted in **gradient-evaluation equivalents** (:mod:`regimebench.budget`). The registry
maps a phase ``kind`` to a factory returning an :class:`AbstractPhase`: a final module that says
how to start the phase (:meth:`~AbstractPhase.init`), how to take one step
(:meth:`~AbstractPhase.step`), and what a step costs (its :class:`CostModel`):

* ``unit`` — one gradient evaluation per step (Adam, SOAP: :class:`GradientPhase`);
* ``line_search`` — as many evaluations as the line search made, read from the optimizer state
  (L-BFGS: :class:`LineSearchPhase`); at most :meth:`~AbstractPhase.max_step_cost` per step;
* ``measured`` — the XLA FLOP count of the compiled step divided by that of one gradient of the
  same loss on the same points, measured by the engine once per compiled program (a natural-
  gradient or Gauss–Newton step that solves a linear system per step).

A phase sees the training objective of one seed through an :class:`Objective` (the task, the
current batch, the weighting and its state): the loss and its gradient, the per-point residuals
of every term, the term and point weights. The engine vmaps phases over seeds and never branches
on their kind; see ``regimebench.engine`` ("Adding an optimizer phase").

Phases are static configuration: their fields are hashable (``eqx.field(static=True)``), and an
optax transformation is *built* from them inside the traced step (:attr:`GradientPhase.transform`),
so two runs of the same entry share one compiled program. Optimizers receive the shared step
counter of the phase as the optax extra argument ``step`` (the same for every seed of a vmapped
group, so a schedule that branches on it keeps a real ``lax.cond``; SOAP's eigenbasis refresh
does).
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from .._registry import Registry
from ..problem import AbstractTask, model_dtype, squared_residuals, traced_in

__all__ = ["AbstractLossForm", "StrongForm", "strong_terms", "AbstractPhase", "GradientPhase", "LineSearchPhase", "PhaseStep", "CostModel",
           "Objective", "optimizers", "scale_by_soap", "SoapState", "frozen_options"]


class CostModel(enum.StrEnum):
    """How a phase's steps are charged to the budget (gradient-evaluation equivalents)."""

    UNIT = "unit"  # one gradient evaluation per step
    LINE_SEARCH = "line_search"  # the evaluations the step reports
    MEASURED = "measured"  # FLOPs of the compiled step / FLOPs of one gradient, measured once

    @property
    def fixed(self) -> bool:
        """Whether every step costs the same (known before the step runs)."""
        return self is not CostModel.LINE_SEARCH


def frozen_options(options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """``options`` as a sorted tuple of pairs, lists and tables frozen too (hashable, so usable
    as a static field of a component: equal options then mean one compiled program)."""

    def freeze(v):
        if isinstance(v, Mapping):
            return tuple(sorted((str(k), freeze(x)) for k, x in v.items()))
        if isinstance(v, (list, tuple)):
            return tuple(freeze(x) for x in v)
        return v

    return tuple(sorted((str(k), freeze(v)) for k, v in options.items()))


class AbstractLossForm(eqx.Module):
    """How an objective turns a model into the scalar a phase minimises (its *loss form*).

    :meth:`loss` returns ``(weighted total, (unweighted mean-square loss per term, residuals))``:
    whatever the form minimises, the per-term values it reports are the task's strong-form
    mean squares, so curves, labels and the smoke matrix judge every entry on the same
    quantities. The strong form (:class:`StrongForm`, the default) is the residual least squares
    of :mod:`regimebench.problem`; other forms (the Deep Ritz energy,
    :mod:`regimebench.loss_forms`) replace some terms. Subclasses are final; their fields are
    static configuration. ``least_squares``: whether the total is ``Σ_k w_k mean(p r²)`` (what
    Gauss–Newton phases linearise through :meth:`Objective.residuals`).

    :meth:`unweighted` is the same objective with every term weight 1 and no point weights —
    the landscape the end-of-training probes measure (:mod:`regimebench.diagnostics.end`), so a
    form's landscape is that of the loss it minimises; ``landscape_name`` names it in records
    (``diagnostics.landscape_objective``; it equals the form's registry name).
    """

    least_squares: eqx.AbstractClassVar[bool]
    landscape_name: eqx.AbstractClassVar[str]

    @abc.abstractmethod
    def loss(self, objective: Objective, params) -> tuple[jax.Array, tuple[dict, dict]]:
        """``(weighted total, (unweighted strong-form loss per term, residuals))``."""

    @abc.abstractmethod
    def unweighted(self, task: AbstractTask, model, batch: Mapping[str, jax.Array]) -> jax.Array:
        """The scalar this form minimises for ``model`` on ``batch``, with unit term weights and
        no point weights (what :meth:`loss` returns under a fixed weighting of all ones)."""


class StrongForm(AbstractLossForm):
    """The strong-form residual least squares ``Σ_k w_k · mean_i(p_{k,i} r_{k,i}²)``."""

    least_squares: ClassVar[bool] = True
    landscape_name: ClassVar[str] = "strong"

    def loss(self, objective, params):
        res = objective.residuals(params)
        tw, pw = objective.weights(res)
        terms, total = strong_terms(objective.task.term_names, res, pw)
        return sum(tw[k] * total[k] for k in terms), (terms, res)

    def unweighted(self, task, model, batch):
        """``Σ_k mean(r_k²)`` over every term of ``task``."""
        res = task.residuals(model, batch)
        return sum(squared_residuals(res[k]).mean() for k in task.term_names)


def strong_terms(names, residuals, point_weights) -> tuple[dict, dict]:
    """``(unweighted mean squares, point-weighted mean squares)`` per term (the one definition
    of a term's loss, shared by every loss form)."""
    terms, weighted = {}, {}
    for k in names:
        sq = squared_residuals(residuals[k])
        terms[k] = sq.mean()
        weighted[k] = terms[k] if point_weights[k] is None else (point_weights[k] * sq).mean()
    return terms, weighted


class Objective(eqx.Module):
    """The training objective of one seed at one step, as a phase sees it.

    ``loss(params)`` is the loss form's (:class:`AbstractLossForm`); for the default strong form
    ``Σ_k w_k · mean_i(p_{k,i} r_{k,i}²)`` with the weighting's current term weights ``w`` and
    point weights ``p`` (see :mod:`regimebench.problem`); weights never carry gradients.
    Natural-gradient and Gauss–Newton phases use :meth:`residuals` and :meth:`weights` to form
    the per-point Jacobian of the weighted residual vector, :attr:`exact_terms` to leave out the
    terms the model satisfies by construction, and :attr:`key` to draw points of their own (a
    line search on independent points).

    Fields besides the task, weighting and batch: ``key`` — this seed's PRNG key data at this
    step (fresh every step of an adapting phase; the sampler draws from a split of it, so a phase
    must derive its own stream, e.g. ``jax.random.fold_in``); ``exact_terms`` — loss terms whose
    residuals vanish for every parameter value (those of a hard constraint,
    :func:`regimebench.components.hard_constraints.exact_terms`); ``form`` — the entry's loss
    form.
    """

    task: AbstractTask
    weighting: Any  # a bound regimebench.components.weightings.Weighting
    weight_state: Any
    batch: dict
    static: Any  # the model's non-array part (eqx.partition)
    key: jax.Array | None = None  # raw key data (uint32) of this seed at this step
    exact_terms: tuple[str, ...] = eqx.field(static=True, default=())
    form: AbstractLossForm = eqx.field(default_factory=lambda: StrongForm())

    @property
    def trained_terms(self) -> tuple[str, ...]:
        """The task's terms a step must fit: all but :attr:`exact_terms`, in declared order."""
        return tuple(t for t in self.task.term_names if t not in self.exact_terms)

    def fresh_batch(self, stream: int) -> dict:
        """A batch of new points, independent of :attr:`batch` (same sizes and dtype), drawn by
        the task's own sampler from stream ``stream`` of :attr:`key`."""
        if self.key is None:
            raise ValueError("this objective carries no PRNG key: cannot draw fresh points")
        key = jax.random.fold_in(jax.random.wrap_key_data(self.key), stream)
        sizes = {k: v.shape[0] for k, v in self.batch.items()}
        dtype = next(x.dtype for x in jax.tree.leaves(self.batch)
                     if jnp.issubdtype(x.dtype, jnp.floating))
        return self.task.sample(key, sizes, dtype)

    def model(self, params):
        return eqx.combine(params, self.static)

    def residuals(self, params) -> dict[str, jax.Array]:
        """Per-point residuals of every term at ``params`` (``(n,)`` or ``(n, c)`` each)."""
        return self.task.residuals(self.model(params), self.batch)

    def weights(self, residuals) -> tuple[dict, dict]:
        """``(term_weights, point_weights)`` at the current residuals (no gradients through
        them; a point weight of ``None`` means 1)."""
        return self.weighting.weigh(self.weight_state, self.task.term_names, residuals,
                                    self.batch)

    def loss(self, params) -> tuple[jax.Array, tuple[dict, dict]]:
        """``(weighted total, (unweighted mean-square loss per term, residuals))`` of the loss
        form."""
        return self.form.loss(self, params)

    def value(self, params) -> jax.Array:
        """The weighted total loss alone (what line searches evaluate)."""
        return self.loss(params)[0]


def in_dtype_of(params):
    """Trace optax code in the dtype of ``params`` (:func:`regimebench.problem.traced_in`):
    optax's schedules and bias corrections (``b1 ** count``) are then float32 for a float32
    entry, not float64."""
    return traced_in(model_dtype(params))


class PhaseStep(NamedTuple):
    """What one step of a phase returns (for one seed).

    ``value`` is a loss value that must be finite for the step to be kept; ``cost`` the
    evaluations the step spent (``None`` for :attr:`CostModel.MEASURED` phases: the engine
    charges the measured ratio); ``residuals`` the residuals at the step's *starting* parameters
    if the step computed them (the weighting's update reads them; ``None``: the engine evaluates
    them when an adapting weighting needs them).
    """

    params: Any
    opt_state: Any
    value: jax.Array
    cost: jax.Array | None
    residuals: dict | None = None


class AbstractPhase(eqx.Module):
    """One optimizer phase. Subclasses are final; all their fields are static configuration.

    Class variables:
        ``cost_model`` — a :class:`CostModel`;
        ``adapts`` — whether the weighting and the sampler update after each step (plain
        gradient phases) or stay frozen (line searches, which need a deterministic loss);
        ``needs_least_squares`` — whether the step linearises the residuals (Gauss–Newton,
        natural gradient) and so needs a least-squares loss form
        (:attr:`AbstractLossForm.least_squares`); checked when an entry is parsed.
    """

    cost_model: eqx.AbstractClassVar[CostModel]
    adapts: eqx.AbstractClassVar[bool]
    needs_least_squares: ClassVar[bool] = False

    def max_step_cost(self) -> float | None:
        """The most evaluations one step may cost (``None`` for measured phases: the measured
        ratio). The engine takes a step only if that many remain in the phase's budget, so no
        phase spends more than its share."""
        return 1.0

    def init(self, objective: Objective, params) -> tuple[Any, jax.Array]:
        """``(optimizer state, evaluations spent)`` at the start of the phase."""
        raise NotImplementedError

    def step(self, objective: Objective, params, opt_state, step: jax.Array) -> PhaseStep:
        """One step from ``params``. ``step`` counts the phase's steps and is shared by all seeds."""
        raise NotImplementedError


class GradientPhase(AbstractPhase):
    """A plain first-order phase: one gradient, one optax update (Adam, SOAP, ...)."""

    cost_model: ClassVar[CostModel] = CostModel.UNIT
    adapts: ClassVar[bool] = True

    build: Callable[..., optax.GradientTransformationExtraArgs] = eqx.field(static=True)
    options: tuple[tuple[str, Any], ...] = eqx.field(static=True)

    @property
    def transform(self) -> optax.GradientTransformationExtraArgs:
        return optax.with_extra_args_support(self.build(**dict(self.options)))

    def init(self, objective, params):
        with in_dtype_of(params):
            state = self.transform.init(params)
        return state, jnp.zeros((), jnp.float32)

    def step(self, objective, params, opt_state, step):
        (loss, (_, res)), grads = jax.value_and_grad(objective.loss, has_aux=True)(params)
        with in_dtype_of(params):
            updates, opt_state = self.transform.update(grads, opt_state, params, step=step)
            params = optax.apply_updates(params, updates)
        return PhaseStep(params, opt_state, loss, jnp.ones((), jnp.float32), res)


class LineSearchPhase(AbstractPhase):
    """A phase whose steps run a line search on a frozen loss (L-BFGS with zoom line search).

    The zoom line search leaves the value and gradient at the accepted point in the state, so a
    step costs exactly the line search's evaluations (at least one); the phase's start costs one.
    """

    cost_model: ClassVar[CostModel] = CostModel.LINE_SEARCH
    adapts: ClassVar[bool] = False

    build: Callable[..., optax.GradientTransformationExtraArgs] = eqx.field(static=True)
    options: tuple[tuple[str, Any], ...] = eqx.field(static=True)
    max_linesearch_steps: int = eqx.field(static=True)

    @property
    def transform(self) -> optax.GradientTransformationExtraArgs:
        return self.build(**dict(self.options))

    def max_step_cost(self) -> float:
        return float(self.max_linesearch_steps)

    def init(self, objective, params):
        value, grad = jax.value_and_grad(objective.value)(params)
        with in_dtype_of(params):
            state = optax.tree_utils.tree_set(self.transform.init(params), value=value,
                                              grad=grad)
        return state, jnp.ones((), jnp.float32)

    def step(self, objective, params, opt_state, step):
        value = optax.tree_utils.tree_get(opt_state, "value")
        grad = optax.tree_utils.tree_get(opt_state, "grad")
        # The line search calls the loss from inside optax's code: trace it under the policy in
        # force out here, not under optax's scope. (optax hands value_fn the extra arguments its
        # signature names; the loss ignores the step.)
        x64, promotion = jax.config.jax_enable_x64, jax.config.jax_numpy_dtype_promotion

        def value_fn(p, step):
            with jax.enable_x64(x64), jax.numpy_dtype_promotion(promotion):
                return objective.value(p)

        with in_dtype_of(params):
            updates, opt_state = self.transform.update(grad, opt_state, params, value=value,
                                                       grad=grad, value_fn=value_fn, step=step)
            params = optax.apply_updates(params, updates)
        n = optax.tree_utils.tree_get(opt_state, "num_linesearch_steps")
        cost = jnp.maximum(n, 1).astype(jnp.float32)
        new_value = optax.tree_utils.tree_get(opt_state, "value")
        return PhaseStep(params, opt_state, new_value, cost)


optimizers: Registry[Callable[..., AbstractPhase]] = Registry("optimizer")


def _schedule(lr, warmup_steps, decay_rate, decay_steps):
    return optax.warmup_exponential_decay_schedule(
        init_value=0.0 if warmup_steps else lr, peak_value=lr, warmup_steps=warmup_steps,
        transition_steps=decay_steps, decay_rate=decay_rate,
    )


def _check_schedule(kind: str, *, lr, b1, b2, eps, warmup_steps, decay_rate, decay_steps,
                    clip_norm) -> None:
    """The option ranges Adam-like phases share (Adam, SOAP), checked before anything is built:
    a negative or zero rate, moment decays outside [0, 1) or a non-positive ``eps`` would train
    (or diverge) silently instead of failing with a message."""
    def bad(name, value, rule):
        raise ValueError(f"{kind} option {name!r} must be {rule}, got {value!r}")

    if not lr > 0:
        bad("lr", lr, "positive")
    for name, b in (("b1", b1), ("b2", b2)):
        if not 0 <= b < 1:
            bad(name, b, "in [0, 1)")
    if not eps > 0:
        bad("eps", eps, "positive")
    if warmup_steps < 0:
        bad("warmup_steps", warmup_steps, "non-negative")
    if not decay_rate > 0:
        bad("decay_rate", decay_rate, "positive")
    if decay_steps < 1:
        bad("decay_steps", decay_steps, "a positive integer")
    if clip_norm is not None and not clip_norm > 0:
        bad("clip_norm", clip_norm, "positive")


def _adam(*, lr, b1, b2, eps, warmup_steps, decay_rate, decay_steps, clip_norm):
    chain = [optax.clip_by_global_norm(clip_norm)] if clip_norm else []
    chain.append(optax.adam(_schedule(lr, warmup_steps, decay_rate, decay_steps),
                            b1=b1, b2=b2, eps=eps))
    return optax.chain(*chain)


@optimizers.register("adam")
def make_adam(*, lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
              warmup_steps: int = 0, decay_rate: float = 1.0, decay_steps: int = 1000,
              clip_norm: float | None = None) -> GradientPhase:
    """Adam (Kingma & Ba 2015), optional linear warm-up then exponential decay of the rate."""
    opts = dict(lr=lr, b1=b1, b2=b2, eps=eps, warmup_steps=warmup_steps, decay_rate=decay_rate,
                decay_steps=decay_steps, clip_norm=clip_norm)
    _check_schedule("adam", **opts)
    return GradientPhase(build=_adam, options=frozen_options(opts))


def _lbfgs(*, memory_size, max_linesearch_steps):
    ls = optax.scale_by_zoom_linesearch(max_linesearch_steps=max_linesearch_steps)
    return optax.lbfgs(memory_size=memory_size, linesearch=ls)


@optimizers.register("lbfgs")
def make_lbfgs(*, memory_size: int = 50, max_linesearch_steps: int = 20) -> LineSearchPhase:
    """L-BFGS with a zoom line search satisfying the strong Wolfe conditions (``optax.lbfgs``)."""
    for name, v in (("memory_size", memory_size), ("max_linesearch_steps", max_linesearch_steps)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"lbfgs option {name!r} must be a positive integer, got {v!r}")
    return LineSearchPhase(build=_lbfgs,
                           options=frozen_options(dict(memory_size=memory_size,
                                                       max_linesearch_steps=max_linesearch_steps)),
                           max_linesearch_steps=int(max_linesearch_steps))


# ---------------------------------------------------------------------------------------------
# SOAP.


class SoapState(NamedTuple):
    """Per-leaf SOAP state (``None`` entries for the sides a leaf does not precondition)."""

    count: jax.Array
    mu: optax.Updates  # first moment, in the parameter basis
    nu: optax.Updates  # second moment, in the eigenbasis
    left: optax.Updates  # running G Gᵀ
    right: optax.Updates  # running Gᵀ G
    q_left: optax.Updates  # eigenvectors of `left` (ascending eigenvalues)
    q_right: optax.Updates
    null_left: optax.Updates  # how many leading columns of q_left span the null space of `left`
    null_right: optax.Updates


def _preconditioned(x, max_dim: int) -> bool:
    return x.ndim == 2 and max(x.shape) <= max_dim


def null_space_size(eigenvalues: jax.Array, rtol: float) -> jax.Array:
    """How many of the (ascending) ``eigenvalues`` of a PSD matrix are numerically zero:
    those ≤ ``rtol · λ_max`` (all of them when ``λ_max = 0``)."""
    top = eigenvalues[-1]
    return jnp.sum(eigenvalues <= rtol * top)


def _isotropic_on_null(v: jax.Array, n_left: jax.Array, n_right: jax.Array) -> jax.Array:
    """``v`` (second moments on the rotated grid) with every block that touches a null space
    replaced by its mean along the null directions.

    The eigenvectors of a rank-deficient ``G Gᵀ`` are unique only up to a rotation of its null
    space, and ``eigh`` picks an arbitrary one (the batched and unbatched programs pick different
    ones). Adam's per-coordinate scaling is not rotation invariant; a scaling that is constant
    along the null directions is. Row ``i`` is null if ``i < n_left`` (eigenvalues ascend), column
    ``j`` if ``j < n_right``.
    """
    rows = jnp.arange(v.shape[0], dtype=jnp.int32) < n_left
    cols = jnp.arange(v.shape[1], dtype=jnp.int32) < n_right

    def mean_over(mask, axis):
        w = mask.astype(v.dtype)
        w = w[:, None] if axis == 0 else w[None, :]
        total = jnp.sum(v * w, axis=axis, keepdims=True)
        return total / jnp.maximum(jnp.sum(w), 1.0)

    v = jnp.where(rows[:, None], mean_over(rows, 0), v)
    return jnp.where(cols[None, :], mean_over(cols, 1), v)


def _damped(v: jax.Array, damping: float) -> jax.Array:
    """The second moments that scale the update: at least ``damping²`` times their mean.

    Adam's ``m / (√v + eps)`` divides a rotated entry by its own size, so an entry that is zero
    in exact arithmetic but rounding noise in floating point (the off-diagonal entries of
    ``Q_Lᵀ G Q_R`` at the first refresh, where ``L ∝ G Gᵀ`` and ``R ∝ Gᵀ G`` diagonalise ``G``;
    any entry on a null space) becomes a step of size ``noise / eps``, ~1e-9 in float64, whose
    sign depends on how the program rounds (batched or not). A floor relative to the mean second
    moment (itself basis invariant: the sum of ``v`` is an average of ``‖G‖²_F``) makes the
    effective ``eps`` ``damping · rms(G)``: rounding noise (1e-16 of ``G`` in float64) then moves
    the update by ~1e-12 of a step, and entries of genuine size pass unchanged.
    """
    return jnp.maximum(v, damping**2 * jnp.mean(v))


def scale_by_soap(b1: float = 0.95, b2: float = 0.95, shampoo_beta: float | None = None,
                  eps: float = 1e-8, precondition_frequency: int = 10,
                  max_precond_dim: int = 4096, null_rtol: float | None = None,
                  damping: float = 1e-4) -> optax.GradientTransformationExtraArgs:
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

    **Basis invariance.** ``L`` and ``R`` are rank-deficient early in training (and ``G Gᵀ`` of
    an ``m × n`` layer always is when ``m > n``). On their null space (eigenvalues ≤ ``null_rtol
    · λ_max``; default 100 ε of the dtype: below that, eigenvalues are rounding noise of the
    largest) the eigenvectors are arbitrary, so the second moments there are averaged over the
    null directions (:func:`_isotropic_on_null`), which makes the update independent of the basis
    ``eigh`` picks; and the second moments are floored at ``damping²`` times their mean
    (:func:`_damped`, a relative ``eps``), so entries that are rounding noise in the rotated
    basis are not blown up into full steps. Without these, the same seed trained vmapped and
    alone drifted apart (1.7 % in 12 steps; 1e-8 with the null space alone fixed), so a record
    could not be reproduced in another seed layout; with them they agree to rounding
    (``tests/test_layout_equivalence.py``).

    **Refresh schedule.** The refresh branches on the optax extra argument ``step`` when the
    engine passes it (the phase's shared step: a real ``lax.cond`` under the seed vmap, so the
    eigendecompositions run only every ``precondition_frequency`` steps); without it, on the
    state's own count (then, under vmap, a ``select``: both branches run every step).
    """
    beta = b2 if shampoo_beta is None else shampoo_beta

    def init_fn(params):
        pre = lambda x: _preconditioned(x, max_precond_dim)  # noqa: E731
        zeros = lambda x: jnp.zeros_like(x)  # noqa: E731

        def side(x, i):
            return jnp.zeros((x.shape[i], x.shape[i]), x.dtype) if pre(x) else None

        def eye(x, i):
            return jnp.eye(x.shape[i], dtype=x.dtype) if pre(x) else None

        def count0(x):
            return jnp.zeros((), jnp.int32) if pre(x) else None

        return SoapState(
            count=jnp.zeros((), jnp.int32),
            mu=jax.tree.map(zeros, params),
            nu=jax.tree.map(zeros, params),
            left=jax.tree.map(lambda x: side(x, 0), params),
            right=jax.tree.map(lambda x: side(x, 1), params),
            q_left=jax.tree.map(lambda x: eye(x, 0), params),
            q_right=jax.tree.map(lambda x: eye(x, 1), params),
            null_left=jax.tree.map(count0, params),
            null_right=jax.tree.map(count0, params),
        )

    def update_fn(updates, state, params=None, *, step=None, **extra_args):
        del params, extra_args
        count = state.count + 1
        clock = state.count if step is None else step
        refresh = (clock % precondition_frequency) == 0
        is_none = lambda x: x is None  # noqa: E731

        def leaf(g, m, v, L, R, QL, QR, NL, NR):
            c1 = 1 - b1 ** count.astype(g.dtype)  # Adam's bias corrections
            c2 = 1 - b2 ** count.astype(g.dtype)
            m = b1 * m + (1 - b1) * g
            if L is None:  # plain Adam
                v = b2 * v + (1 - b2) * g**2
                u = (m / c1) / (jnp.sqrt(v / c2) + eps)
                return u, m, v, L, R, QL, QR, NL, NR
            L = beta * L + (1 - beta) * g @ g.T
            R = beta * R + (1 - beta) * g.T @ g
            rtol = 100 * float(jnp.finfo(g.dtype).eps) if null_rtol is None else null_rtol

            def eig():
                (wl, ql), (wr, qr) = jnp.linalg.eigh(L), jnp.linalg.eigh(R)
                return (ql, qr, null_space_size(wl, rtol).astype(jnp.int32),
                        null_space_size(wr, rtol).astype(jnp.int32))

            QL, QR, NL, NR = jax.lax.cond(refresh, eig, lambda: (QL, QR, NL, NR))
            g_rot = QL.T @ g @ QR
            m_rot = QL.T @ m @ QR
            v = _isotropic_on_null(b2 * v + (1 - b2) * g_rot**2, NL, NR)
            n_rot = (m_rot / c1) / (jnp.sqrt(_damped(v, damping) / c2) + eps)
            return QL @ n_rot @ QR.T, m, v, L, R, QL, QR, NL, NR

        out = jax.tree.map(leaf, updates, state.mu, state.nu, state.left, state.right,
                           state.q_left, state.q_right, state.null_left, state.null_right,
                           is_leaf=is_none)
        # Unzip the tuple leaves back into one tree per field.
        treedef = jax.tree.structure(updates)
        parts = treedef.flatten_up_to(out)
        fields = [treedef.unflatten([p[i] for p in parts]) for i in range(9)]
        return fields[0], SoapState(count, *fields[1:])

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _soap(*, lr, b1, b2, shampoo_beta, eps, precondition_frequency, max_precond_dim,
          damping, warmup_steps, decay_rate, decay_steps, clip_norm):
    chain = [optax.clip_by_global_norm(clip_norm)] if clip_norm else []
    chain += [scale_by_soap(b1, b2, shampoo_beta, eps, int(precondition_frequency),
                            int(max_precond_dim), damping=float(damping)),
              optax.scale_by_learning_rate(_schedule(lr, warmup_steps, decay_rate, decay_steps))]
    return optax.chain(*chain)


@optimizers.register("soap")
def make_soap(*, lr: float = 1e-3, b1: float = 0.95, b2: float = 0.95,
              shampoo_beta: float | None = None, eps: float = 1e-8,
              precondition_frequency: int = 10, max_precond_dim: int = 1024,
              damping: float = 1e-4, warmup_steps: int = 0, decay_rate: float = 1.0,
              decay_steps: int = 1000, clip_norm: float | None = None) -> GradientPhase:
    """SOAP (Vyas et al. 2024): Adam in Shampoo's eigenbasis; same schedule options as Adam.

    ``damping``: the floor of the rotated second moments relative to their mean (see
    :func:`scale_by_soap`)."""
    if not 0 <= damping < 1:
        raise ValueError(f"soap option 'damping' must be in [0, 1), got {damping}")
    if precondition_frequency < 1:
        raise ValueError("soap option 'precondition_frequency' must be a positive integer")
    _check_schedule("soap", lr=lr, b1=b1, b2=b2, eps=eps, warmup_steps=warmup_steps,
                    decay_rate=decay_rate, decay_steps=decay_steps, clip_norm=clip_norm)
    if shampoo_beta is not None and not 0 <= shampoo_beta < 1:
        raise ValueError(f"soap option 'shampoo_beta' must be in [0, 1), got {shampoo_beta!r}")
    opts = dict(lr=lr, b1=b1, b2=b2, shampoo_beta=shampoo_beta, eps=eps,
                precondition_frequency=precondition_frequency, max_precond_dim=max_precond_dim,
                damping=damping, warmup_steps=warmup_steps, decay_rate=decay_rate, decay_steps=decay_steps,
                clip_norm=clip_norm)
    return GradientPhase(build=_soap, options=frozen_options(opts))
