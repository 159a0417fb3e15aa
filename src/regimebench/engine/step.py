"""Per-seed functions of the engine: initialise a seed, start a phase, take a step, log.

All are pure functions of ``(setup, phase, …, state)``; :mod:`.programs` vmaps them over the
seeds of a group and compiles them. A step is the phase's own step (:class:`~regimebench.
components.optimizers.AbstractPhase`), then — for phases that adapt — the weighting's and the
sampler's updates, then the per-seed freeze of a non-finite result. Nothing here branches on the
kind of a phase, weighting or sampler.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..components.optimizers import AbstractPhase, Objective
from ..components.weightings import WeightingContext
from ..problem import squared_residuals
from .setup import PhaseBudget, Setup
from .state import SeedState, all_finite, cast_floating, commit

__all__ = ["init_seed", "init_phase", "train_step", "log_seed", "final_seed", "objective",
           "gradient", "log_keys"]


def objective(setup: Setup, s: SeedState) -> Objective:
    """The training objective of seed ``s`` at its current batch and weights."""
    return Objective(setup.task, setup.weighting, s.weight_state, s.batch, setup.static,
                     s.key, setup.exact_terms, form=setup.loss_form)


def init_seed(setup: Setup, key_data: jax.Array) -> SeedState:
    """The initial state of one seed from its key: parameters, points, weighting state.

    The optimizer state is ``None`` until the first phase starts (:func:`init_phase`).
    """
    key = jax.random.wrap_key_data(key_data)
    k_model, k_sample, k_run = jax.random.split(key, 3)
    dtype = setup.jnp_dtype
    model = cast_floating(setup.model.build(setup.task, k_model), dtype)
    batch = setup.sampler.init(setup.task, k_sample, setup.sizes_dict, dtype)
    model = setup.model.initialise(setup.task, model, batch)
    params = eqx.partition(model, eqx.is_inexact_array)[0]
    if setup.weighting.init_reads_residuals:
        res = setup.task.residuals(model, batch)
    else:  # shapes suffice: do not put the PDE into the init program
        shapes = jax.eval_shape(setup.task.residuals, model, batch)
        res = jax.tree.map(lambda sd: jnp.zeros(sd.shape, sd.dtype), shapes)
    return SeedState(params=params, opt_state=None, weight_state=setup.weighting.init(res),
                     batch=batch, key=jax.random.key_data(k_run),
                     evals=jnp.zeros((), jnp.float32), failed=jnp.asarray(False),
                     failed_step=jnp.asarray(-1, jnp.int32))


def init_phase(setup: Setup, phase: AbstractPhase, s: SeedState) -> SeedState:
    """Start ``phase``: its optimizer state, and the evaluations its start costs (not charged to
    a failed seed)."""
    opt_state, cost = phase.init(objective(setup, s), s.params)
    evals = jnp.where(s.failed, s.evals, s.evals + cost)
    return eqx.tree_at(lambda t: (t.opt_state, t.evals), s, (opt_state, evals),
                       is_leaf=lambda x: x is None)


def _term_grads(setup: Setup, params, batch):
    """Lazy per-term gradients of the unweighted mean-square terms (for weightings that ask)."""

    def one_term(p, name):
        res = setup.task.residuals(eqx.combine(p, setup.static), batch)
        return squared_residuals(res[name]).mean()

    return lambda: {k: jax.grad(one_term)(params, k) for k in setup.task.term_names}


def _adapt(setup: Setup, old: SeedState, new: SeedState, residuals, gstep) -> SeedState:
    """The weighting's and the sampler's update after a step from ``old`` to ``new``."""
    if residuals is None:
        residuals = objective(setup, old).residuals(old.params)
    ctx = WeightingContext(residuals, old.batch, gstep,
                           _term_grads(setup, old.params, old.batch))
    weight_state = setup.weighting.update(old.weight_state, ctx)
    key, k_sample = jax.random.split(jax.random.wrap_key_data(old.key))
    task, static = setup.task, setup.static
    batch = setup.sampler.update(
        task, old.batch, k_sample, gstep, setup.sizes_dict, setup.jnp_dtype,
        residual_fn=lambda pts: task.residuals(eqx.combine(new.params, static), pts))
    return eqx.tree_at(lambda t: (t.weight_state, t.batch, t.key), new,
                       (weight_state, batch, jax.random.key_data(key)))


def train_step(setup: Setup, phase: AbstractPhase, budget: PhaseBudget, s: SeedState,
               phase_step: jax.Array, gstep: jax.Array) -> SeedState:
    """One step of ``phase`` for one seed.

    The seed steps only if it has not failed and at least ``budget.max_step_cost`` evaluations
    remain before ``budget.end`` (so a phase never spends more than its budget); a non-finite
    loss or parameter freezes it. ``phase_step`` (steps since the phase began) reaches the
    optimizer as the optax extra argument ``step``; ``gstep`` (steps since the run began) drives
    the weighting's and the sampler's schedules. Both are shared by the seeds of a group.
    """
    active = (~s.failed) & (s.evals + budget.max_step_cost <= budget.end)
    out = phase.step(objective(setup, s), s.params, s.opt_state, phase_step)
    cost = budget.step_cost if out.cost is None else out.cost
    new = SeedState(out.params, out.opt_state, s.weight_state, s.batch, s.key,
                    s.evals + cost, s.failed, s.failed_step)
    if phase.adapts:  # a declared property of the phase kind, static
        new = _adapt(setup, s, new, out.residuals, gstep)
    ok = jnp.isfinite(out.value) & all_finite(out.params)
    return commit(s, new, active, ok, gstep)


def gradient(setup: Setup, s: SeedState):
    """One gradient of the weighted training loss of seed ``s`` (the unit of the budget: the
    FLOP count of a measured phase's step is divided by this program's)."""
    return jax.grad(objective(setup, s).value)(s.params)


def log_keys(term_names) -> list[str]:
    return ([f"loss_{k}" for k in term_names] + ["loss", "loss_weighted"]
            + [f"weight_{k}" for k in term_names] + ["rel_l2", "evals", "failed"])


def log_seed(setup: Setup, s: SeedState, full: bool = False) -> dict[str, jax.Array]:
    """One curve point: per-term unweighted losses, their sum, the weighted loss, the term
    weights, rel. L2 (on the curve subsample; the full evaluation set if ``full``), evaluations."""
    obj = objective(setup, s)
    total, (terms, _) = obj.loss(s.params)
    model = obj.model(s.params)
    out = {f"loss_{k}": v for k, v in terms.items()}
    out["loss"] = sum(terms.values())
    out["loss_weighted"] = total
    # Term weights over training (constant for fixed weightings): evidence for balancing.
    tw = setup.weighting.term_weights(s.weight_state, setup.task.term_names)
    out.update({f"weight_{k}": jnp.asarray(v, total.dtype) for k, v in tw.items()})
    out["rel_l2"] = setup.task.error(model) if full else setup.task.curve_error(model)
    out["evals"] = s.evals
    out["failed"] = s.failed
    return out


def final_seed(setup: Setup, s: SeedState) -> dict[str, jax.Array]:
    """End-of-run metrics of one seed: the log on the full evaluation set, the curve-subsample
    rel. L2 (``rel_l2_curve``, the first curve point) and the task's extra metrics."""
    out = log_seed(setup, s, full=True)
    model = eqx.combine(s.params, setup.static)
    out["rel_l2_curve"] = setup.task.curve_error(model)
    out.update(setup.task.extra_metrics(model))
    return out
