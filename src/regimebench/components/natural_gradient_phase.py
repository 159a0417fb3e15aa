"""The ``natural_gradient`` optimizer phase: energy natural gradient / Gauss–Newton steps.

Registers ``natural_gradient`` in :data:`~regimebench.components.optimizers.optimizers`. Each
step (:func:`regimebench.components.natural_gradient.ng_step`, the maths lives there) forms
the per-point Jacobian ``J`` of the weighted residuals of every trained term, solves the damped
normal equations in sample space (Woodbury, ``N × N``), in parameter space or by conjugate
gradients, picks the step size on a fixed grid by a line search, and adapts the
Levenberg–Marquardt damping. For a linear PDE this is energy natural gradient (Müller &
Zeinhofer, ICML 2023), for a nonlinear one Gauss–Newton natural gradient (Jnini, Vella &
Zeinhofer 2024); ``momentum`` > 0 gives SPRING (Goldshlager, Abrahamsen & Lin 2024).

Cost. The phase is :attr:`~regimebench.components.optimizers.CostModel.MEASURED`: the engine
charges every step the XLA FLOP count of the compiled step over that of one gradient of the
training loss on the same points (LAPACK factorisations added analytically, see
:func:`regimebench.engine.programs.flops`), measured once per compile and recorded in
``TrainResult.phases``. The step has no loops (the grid is evaluated with ``vmap``, conjugate
gradients are unrolled), so the count is complete.

Terms a hard constraint makes exact (:attr:`Objective.exact_terms`) are left out of ``J``: their
rows are zero and would only cost. With ``fresh_line_search`` the line search compares step
sizes, and accepts the step, on an independent batch drawn by the task's sampler at every step:
with fewer rows than parameters a Gauss–Newton step can interpolate its batch, and a search on
the same batch rewards that (``experiments/second_order/README.md``, finding 3). The search
batch is redrawn every ``search_every`` steps of the phase (1: every step; 20 with a sampler
that redraws every 20 steps: one search batch per training batch, as in the phase-1
experiments). Its points carry no per-point weights. Resampling of the training batch is the sampler's job (e.g.
``[sampling] kind = "resampled", every = 20``); the phase adapts, so the weighting and the
sampler update after every step.

Example (``solver.toml``)::

    [[phases]]
    kind = "natural_gradient"
    fraction = 1.0
    damping = 1e-3
    damping_rule = "gain"
    grid_size = 16
    fresh_line_search = true
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from . import natural_gradient as ng
from .optimizers import AbstractPhase, CostModel, Objective, PhaseStep, optimizers

__all__ = ["NaturalGradientPhase", "NGPhaseState", "make_natural_gradient", "SPACES",
           "SEARCH_STREAM"]

#: Solve spaces: ``auto`` (the smaller of sample and parameter space), ``woodbury`` (sample
#: space, ``N × N``), ``parameter`` (``P × P``), ``cg`` (conjugate gradients with the stored J).
SPACES = {"auto": "auto", "woodbury": "sample", "parameter": "parameter", "cg": "cg"}

#: The stream of the seed's key the fresh line-search batch is drawn from (the sampler draws
#: from a split of the same key: a fold-in keeps the two independent).
SEARCH_STREAM = 0x5EA4C


class NGPhaseState(NamedTuple):
    """Per-seed state: the step's (:class:`~regimebench.components.natural_gradient.NGState`)
    and the current line-search batch (``None`` without ``fresh_line_search``)."""

    ng: ng.NGState
    search: Any


class NaturalGradientPhase(AbstractPhase):
    """Natural-gradient / Gauss–Newton steps (see the module docstring)."""

    cost_model: ClassVar[CostModel] = CostModel.MEASURED
    adapts: ClassVar[bool] = True
    # The step linearises the strong-form residuals; an energy (Ritz) loss has no residuals to
    # linearise, so an entry pairing the two is refused when parsed.
    needs_least_squares: ClassVar[bool] = True

    config: ng.NGConfig = eqx.field(static=True)
    fresh_line_search: bool = eqx.field(static=True)
    search_every: int = eqx.field(static=True, default=1)

    def max_step_cost(self):
        return None  # the measured ratio

    def init(self, objective: Objective, params):
        search = objective.fresh_batch(SEARCH_STREAM) if self.fresh_line_search else None
        return NGPhaseState(ng.ng_init(params, self.config), search), jnp.zeros((), jnp.float32)

    def step(self, objective: Objective, params, opt_state, step):
        res = objective.residuals(params)  # unused (and removed by XLA) unless weights read it
        tw, pw = objective.weights(res)
        terms = objective.trained_terms
        search = opt_state.search
        if self.fresh_line_search:
            # ``step`` is shared by the seeds of a group: a real branch under the seed vmap
            search = jax.lax.cond(step % self.search_every == 0,
                                  lambda: objective.fresh_batch(SEARCH_STREAM),
                                  lambda: opt_state.search)
        new_params, state, info = ng.ng_step(
            objective.task.residuals, objective.static, params, opt_state.ng, objective.batch,
            tw, pw, self.config, terms, search)
        return PhaseStep(new_params, NGPhaseState(state, search), info.new_loss, None, res)


def _bad(name, value, rule):
    raise ValueError(f"natural_gradient option {name!r} must be {rule}, got {value!r}")


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _bad(name, value, "a positive integer")


@optimizers.register("natural_gradient")
def make_natural_gradient(*, damping: float = 1e-3, damping_rule: str = "gain",
                          damping_down: float = 0.5, damping_up: float = 10.0,
                          damping_min: float = 1e-14, damping_max: float = 1e2,
                          relative_damping: bool = False, grid_size: int = 16,
                          grid_base: float = 2.0, fresh_line_search: bool = True,
                          search_every: int = 1,
                          space: str = "auto", cg_iters: int = 50,
                          momentum: float = 0.0) -> NaturalGradientPhase:
    """Natural gradient / Gauss–Newton with a grid line search and Levenberg–Marquardt damping.

    Arguments:
        damping: initial λ of ``(JᵀJ + λI)`` (absolute; relative to the Gram's mean diagonal
            with ``relative_damping``).
        damping_rule: ``gain`` (Levenberg–Marquardt on the gain ratio: ×``damping_down`` when
            ρ > 0.75, ×``damping_up`` when ρ < 0.25 or no decrease), ``step`` (÷ on a full step,
            × on a rejection) or ``fixed``; λ stays in ``[damping_min, damping_max]``.
        grid_size, grid_base: the line search tries ``η = grid_base^{-j}``, ``j < grid_size``.
        fresh_line_search: compare step sizes on an independent batch of the task's points.
        search_every: redraw that batch every this many steps (1: every step).
        space: ``auto``, ``woodbury`` (sample space), ``parameter`` or ``cg``.
        cg_iters: conjugate-gradient iterations of ``space = "cg"``.
        momentum: SPRING momentum μ ∈ [0, 1) (0: plain Gauss–Newton).
    """
    if not damping >= 0:
        _bad("damping", damping, "≥ 0")
    if damping_rule not in ng.DAMPING_RULES:
        _bad("damping_rule", damping_rule, "one of " + ", ".join(ng.DAMPING_RULES))
    if not 0 < damping_down <= 1:
        _bad("damping_down", damping_down, "in (0, 1]")
    if not damping_up >= 1:
        _bad("damping_up", damping_up, "≥ 1")
    if not 0 < damping_min <= damping_max:
        _bad("damping_min", damping_min, f"positive and ≤ damping_max ({damping_max!r})")
    _positive_int("grid_size", grid_size)
    if not grid_base > 1:
        _bad("grid_base", grid_base, "> 1")
    if space not in SPACES:
        _bad("space", space, "one of " + ", ".join(SPACES))
    _positive_int("cg_iters", cg_iters)
    _positive_int("search_every", search_every)
    if not 0 <= momentum < 1:
        _bad("momentum", momentum, "in [0, 1)")
    config = ng.NGConfig(damping=float(damping), relative_damping=bool(relative_damping),
                         damping_rule=damping_rule, damping_down=float(damping_down),
                         damping_up=float(damping_up), damping_min=float(damping_min),
                         damping_max=float(damping_max), momentum=float(momentum),
                         grid_size=int(grid_size), grid_base=float(grid_base),
                         space=SPACES[space], cg_iters=int(cg_iters))
    return NaturalGradientPhase(config=config, fresh_line_search=bool(fresh_line_search),
                                search_every=int(search_every))
