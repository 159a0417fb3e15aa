"""The argument every compiled program takes besides the seeds' state: :class:`Setup`.

A :class:`Setup` bundles what is trained: the task (its training view, in the entry's dtype),
the bound weighting, the sampler, the architecture, the collocation sizes and the model's static
part. It is an :class:`equinox.Module` whose array leaves (physics parameters, evaluation set,
stored data) are traced arguments and whose other leaves are static and hashable. So a program
is compiled once per *structure*, never per value: two ``train()`` calls, or two difficulty
values of a sweep with equal shapes, run the same compiled program, and no array of the task is
ever baked into a program as a constant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ..components import architectures, optimizers, samplers, weightings
from ..components.hard_constraints import constrain, exact_terms
from ..components.optimizers import AbstractLossForm, AbstractPhase, StrongForm
from ..loss_forms import loss_forms
from ..physics_init import fit_output_layer
from ..problem import AbstractTask, training_view
from ..solver import SolverSpec
from ..task_wiring import default_init_terms, physics_init_config, resolve_architecture_options

__all__ = ["Setup", "ModelSpec", "PhaseBudget", "build_setup", "build_phases", "DTYPES"]

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


class ModelSpec(eqx.Module):
    """An architecture (registry kind and options, held as canonical JSON so it is hashable),
    optionally wrapped in the task's declared hard constraint (``hard_constraint = true`` in the
    entry's ``[architecture]``)."""

    kind: str = eqx.field(static=True)
    options_json: str = eqx.field(static=True)
    hard_constraint: bool = eqx.field(static=True, default=False)

    def build(self, task: AbstractTask, key: jax.Array):
        """The model of one seed, in the architecture's default dtype (the caller casts).
        Task-wired options (the task's periods) are resolved here
        (:func:`~regimebench.task_wiring.resolve_architecture_options`)."""
        in_size, out_size = task.model_io
        options = resolve_architecture_options(json.loads(self.options_json), task)
        net = architectures.get(self.kind)(in_size, out_size, key=key, **options)
        if self.hard_constraint:
            net = constrain(net, task)
        return task.build_model(net)

    def exact_terms(self, task: AbstractTask) -> tuple[str, ...]:
        """The loss terms the model satisfies by construction (a hard constraint's)."""
        return exact_terms(task) if self.hard_constraint else ()

    def initialise(self, task: AbstractTask, model, batch):
        """``model`` after the entry's data-driven initialisation on the seed's first
        ``batch`` (PirateNet's physics-informed fit of the output layer when asked), else
        unchanged."""
        config = physics_init_config(json.loads(self.options_json))
        if config is None:
            return model
        terms = config["terms"] or default_init_terms(task)
        return fit_output_layer(model, task, batch, terms, config["ridge"], config["points"])


class Setup(eqx.Module):
    """What a compiled program needs to train or evaluate the seeds of one run."""

    task: AbstractTask  # training view: floating leaves in `dtype`, reference targets float64
    weighting: Any  # bound regimebench.components.weightings.Weighting
    sampler: Any
    model: ModelSpec
    static: Any  # the model's non-array part (eqx.partition), shared by all seeds
    sizes: tuple[tuple[str, int], ...] = eqx.field(static=True)
    dtype: str = eqx.field(static=True)
    loss_form: AbstractLossForm = eqx.field(default_factory=lambda: StrongForm())

    @property
    def sizes_dict(self) -> dict[str, int]:
        return dict(self.sizes)

    @property
    def jnp_dtype(self):
        return DTYPES[self.dtype]

    @property
    def exact_terms(self) -> tuple[str, ...]:
        """Loss terms the model satisfies by construction (natural-gradient steps skip them)."""
        return self.model.exact_terms(self.task)


class PhaseBudget(eqx.Module):
    """The budget of one phase, as arrays (so every budget runs the same program).

    ``end``: the evaluation count at which the phase ends (cumulative over phases, so what a
    phase leaves unspent passes to the next); ``max_step_cost``: the most one step may cost (a step
    is taken only if that many remain); ``step_cost``: what a step of a measured phase costs.
    """

    end: jax.Array
    max_step_cost: jax.Array
    step_cost: jax.Array

    @staticmethod
    def of(end: float, max_step_cost: float, step_cost: float) -> PhaseBudget:
        f = jnp.float32
        return PhaseBudget(jnp.asarray(end, f), jnp.asarray(max_step_cost, f),
                           jnp.asarray(step_cost, f))


def _canonical_json(options: Mapping[str, Any]) -> str:
    return json.dumps(dict(options), sort_keys=True, default=str)


def build_setup(task: AbstractTask, solver: SolverSpec, sizes: Mapping[str, int]) -> Setup:
    """The :class:`Setup` of ``task`` trained by ``solver`` at ``sizes``."""
    dtype = solver.dtype
    view = training_view(task, DTYPES[dtype])
    # bound to the training view: a weighting that keeps task arrays computes in the entry's dtype
    weighting = weightings.get(solver.weighting.kind)(**solver.weighting.options).bind(view)
    sampler = samplers.get(solver.sampling.kind)(**solver.sampling.options)
    arch = dict(solver.architecture.options)
    hard = bool(arch.pop("hard_constraint", False))
    model = ModelSpec(solver.architecture.kind, _canonical_json(arch), hard)

    def static_part(key):
        return eqx.partition(model.build(view, key), eqx.is_inexact_array)[1]

    # The static part (activation functions, shapes) is the same for every seed: take it once,
    # from an abstract evaluation (nothing is computed).
    static = eqx.filter_eval_shape(static_part, jax.random.key(0))
    loss_form = loss_forms.get(solver.loss.kind)(**solver.loss.options)
    return Setup(view, weighting, sampler, model, static,
                 tuple(sorted((str(k), int(v)) for k, v in sizes.items())), dtype, loss_form)


def build_phases(solver: SolverSpec) -> tuple[AbstractPhase, ...]:
    """The entry's optimizer phases, built from the registry."""
    return tuple(optimizers.get(p.kind)(**p.options) for p in solver.phases)


def phase_ends(solver: SolverSpec, evals: int) -> list[int]:
    """Cumulative evaluation counts at which each phase ends: rounded fractions of ``evals``, the
    last phase taking the remainder."""
    ends, acc = [], 0.0
    for p in solver.phases:
        acc += p.fraction
        ends.append(int(round(acc * evals)))
    ends[-1] = int(evals)
    return ends
