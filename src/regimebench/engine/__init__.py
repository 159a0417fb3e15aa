"""The engine: S seeds of one (task, solver entry, budget), trained by compiled programs.

Seeds are a batch dimension. Parameters, optimizer state, weighting state and collocation points
of every seed are stacked along a leading axis, and one step is ``eqx.filter_vmap``-ed over it.
Steps run in ``lax.scan`` chunks; the host sees the state only between chunks, where it logs
per-term losses and rel. L2 for the curves and reports progress. Failures are data: a seed whose
loss or parameters become non-finite is *frozen* at its last finite state and marked failed
(with the step), while the other seeds go on.

Modules, one job each:

=============== ==============================================================================
``setup``        :class:`~.setup.Setup`: task (training view), weighting, sampler, model spec
``state``        :class:`~.state.SeedState` and the per-seed freeze of non-finite steps
``step``         per-seed functions: initialise, start a phase, step, log, final metrics
``probes``       gradient-SNR and per-term gradient-norm probes logged with the curves
``programs``     the module-level compiled programs, compiled ahead of time once per structure
``layout``       seed layouts: vmapped groups here, worker processes
                 (:mod:`regimebench.seed_processes` runs those), what ``auto`` picks
``loop``         :func:`train`: groups, phases, chunks, timing, results
``results``      :class:`~.results.SeedResult`, :class:`~.results.TrainResult`
=============== ==============================================================================

Results as they come. ``train(..., on_group=callback)`` hands each seed group's results over as
soon as the group has finished (the runner writes their records then), so an interrupted run
keeps every finished seed; what needs every seed (cross-seed diagnostics) comes at the end and
is listed in ``TrainResult.amended``.

Compile once. Every program takes the task, the components and the state as *arguments* (the
diffrax way): physics parameters (``a2``, ``ν``, ``Re``, …), the evaluation set and stored data
are array leaves of the task, so no program holds them as constants, and one compiled program
serves every seed group, every ``train()`` call and every difficulty value of a sweep with equal
shapes. Programs are lowered and compiled ahead of time (``.lower(...).compile()``) and timed
apart from training (``timing["compile_s"]`` vs ``train_s``).

Numeric policy. The task is trained in the entry's dtype (:func:`regimebench.problem.
training_view`): a float32 entry samples, trains and predicts in float32, and its errors are
computed in float64 against the float64 reference.

Budget. The budget counts gradient-evaluation equivalents. A phase declares its cost model
(:class:`~regimebench.components.optimizers.CostModel`): one per step, the evaluations its line
search made, or *measured* — the XLA FLOP count of the compiled step divided by that of one
gradient of the same loss (``compiled.cost_analysis()``, plus the LAPACK factorisations and
triangular solves it does not count: :func:`.programs.flops`), measured once per compile and
recorded in ``TrainResult.phases``. The registered measured phase is ``natural_gradient``
(:mod:`regimebench.components.natural_gradient_phase`). A seed takes a step only if the phase's remaining budget covers the
most that step may cost, so no phase spends more than its share (what it leaves passes to the
next phase).

Adding an optimizer phase
-------------------------
Register a factory returning a final subclass of
:class:`~regimebench.components.optimizers.AbstractPhase`; the loop is not edited. Example, a
damped Gauss–Newton step on the weighted residuals (a sketch)::

    from regimebench.components.optimizers import (AbstractPhase, CostModel, PhaseStep,
                                                   optimizers)

    class GaussNewtonPhase(AbstractPhase):
        cost_model: ClassVar[CostModel] = CostModel.MEASURED   # FLOPs / FLOPs of a gradient
        adapts: ClassVar[bool] = True          # weighting and sampler update after each step
        damping: float = eqx.field(static=True)

        def init(self, objective, params):
            return (), jnp.zeros((), jnp.float32)      # (optimizer state, evaluations spent)

        def step(self, objective, params, opt_state, step):
            res = objective.residuals(params)          # per-point residuals of every term
            tw, pw = objective.weights(res)            # term weights, per-point weights
            ...                                        # J, the damped normal equations
            return PhaseStep(new_params, opt_state, value=loss, cost=None, residuals=res)

    @optimizers.register("gauss_newton")
    def make_gauss_newton(*, damping: float = 1e-3) -> GaussNewtonPhase:
        return GaussNewtonPhase(damping=float(damping))

The :class:`~regimebench.components.optimizers.Objective` a step receives holds the task, the
batch, the weighting and its state. ``step`` (the phase's step count, shared by every seed of a
group) reaches optax transformations as the extra argument ``step``. Fields of a phase must be
static and hashable (they key the compiled programs); build optax transformations inside
``init``/``step`` from them, never hold closures created per call. A phase that returns
``cost=None`` is charged its measured cost; one that counts its own evaluations returns them and
overrides :meth:`~regimebench.components.optimizers.AbstractPhase.max_step_cost`.
"""

from .layout import Layout, auto_layout, group_size, resolve_layout
from .loop import measure_step_cost, train
from .results import SeedResult, TrainResult
from .setup import Setup, build_setup
from .state import SeedState

__all__ = ["train", "TrainResult", "SeedResult", "SeedState", "Setup", "build_setup",
           "resolve_layout", "group_size", "auto_layout", "Layout", "measure_step_cost"]
