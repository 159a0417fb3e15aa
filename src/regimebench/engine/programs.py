"""The engine's compiled programs, and the cache that compiles each of them ahead of time once.

Every program is a module-level ``eqx.filter_jit`` function whose arguments are the
:class:`~.setup.Setup` (task, weighting, sampler, model), the phase, the budget arrays and the
stacked seed state — never closure constants (the diffrax way). :func:`compiled` lowers and
compiles a program ahead of time (``.lower(...).compile()``) the first time it meets a new
argument *structure* (shapes, dtypes and static configuration) and returns the cached executable
afterwards, with the seconds it spent compiling: what the trainer records as ``compile_s``,
apart from the execution time it records as ``train_s``.

Programs (S = seeds in the group, stacked on the leading axis of the state):

=================== ========================================================================
``init_group``       keys (S,) → initial states (parameters, points, weighting state)
``init_phase``       (setup, phase), state → state with the phase's optimizer state
``run_chunk``        (setup, phase, budget, steps…), state → state after ``n`` steps, log point
``probes``           setup, state → gradient SNR and per-term gradient norms (probed logs)
``final_metrics``    setup, state → metrics on the full evaluation set, extra metrics
``predictions``      setup, params → predictions on the full evaluation set (float64)
``step_one``         one seed's phase step alone (FLOP count of measured phases)
``gradient_one``     one seed's gradient alone (the unit of the budget)
=================== ========================================================================
"""

from __future__ import annotations

import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..components.natural_gradient import cholesky_flops
from ..components.optimizers import AbstractPhase
from .probes import probe_seed
from .setup import PhaseBudget, Setup
from .state import SeedState, over_seeds, strong
from .step import final_seed, gradient, init_phase, init_seed, log_seed, objective, train_step

__all__ = ["compiled", "clear", "ChunkInputs", "init_group", "init_phase_group", "run_chunk",
           "probes", "final_metrics", "predictions", "step_one", "gradient_one", "flops"]


class ChunkInputs(eqx.Module):
    """The non-donated arguments of :func:`run_chunk` (the state is donated)."""

    setup: Setup
    phase: AbstractPhase
    budget: PhaseBudget
    phase_step0: jax.Array  # steps of this phase before the chunk (shared by all seeds)
    gstep0: jax.Array  # steps of the run before the chunk
    n_steps: int = eqx.field(static=True)


@eqx.filter_jit
def init_group(setup: Setup, keys: jax.Array) -> SeedState:
    return strong(over_seeds(lambda k: init_seed(setup, k))(keys))


@eqx.filter_jit
def init_phase_group(setup: Setup, phase: AbstractPhase, state: SeedState) -> SeedState:
    return strong(over_seeds(lambda s: init_phase(setup, phase, s))(state))


# The incoming state is dead once the chunk returns, so its buffers are donated: XLA writes the
# new state in place instead of allocating a second copy of parameters, optimizer state and
# points. Everything else travels in the first argument, which equinox does not donate (the
# task's arrays and the step counters must survive the call).
@eqx.filter_jit(donate="all-except-first")
def run_chunk(inputs: ChunkInputs, state: SeedState):
    setup, phase, budget = inputs.setup, inputs.phase, inputs.budget
    vstep = over_seeds(lambda s, i, g: train_step(setup, phase, budget, s, i, g),
                       in_axes=(0, None, None))

    def body(s, i):
        return vstep(s, inputs.phase_step0 + i, inputs.gstep0 + i), None

    state, _ = jax.lax.scan(body, state, jnp.arange(inputs.n_steps, dtype=jnp.int32))
    return state, over_seeds(lambda s: log_seed(setup, s))(state)


@eqx.filter_jit
def probes(setup: Setup, state: SeedState, snr_batches: int):
    """Gradient SNR and per-term gradient norms of every seed (the curves' probes).

    A program of its own, called after the chunks whose log point is probed: it compiles once
    (not once inside the chunk and once more for the first point), and the chunk program stays
    free of it. It reads the chunk's output state before the next chunk takes it over (the
    runtime orders the donation after this read).
    """
    return over_seeds(lambda s: probe_seed(setup, s, snr_batches))(state)


@eqx.filter_jit
def final_metrics(setup: Setup, state: SeedState) -> dict[str, jax.Array]:
    return over_seeds(lambda s: final_seed(setup, s))(state)


@eqx.filter_jit
def predictions(setup: Setup, params) -> jax.Array:
    """Predictions of every seed on the full evaluation set, cast to the reference's dtype."""
    ev = setup.task.eval_set

    def one(p):
        pred = setup.task.predict(eqx.combine(p, setup.static), ev.inputs)
        return pred.astype(ev.targets.dtype)

    return over_seeds(one)(params)


@eqx.filter_jit
def step_one(setup: Setup, phase: AbstractPhase, state: SeedState, step: jax.Array):
    """One seed's phase step alone (no weighting or sampler update): its FLOPs are what a
    measured phase's step costs."""
    out = phase.step(objective(setup, state), state.params, state.opt_state, step)
    return out.params, out.opt_state


@eqx.filter_jit
def gradient_one(setup: Setup, state: SeedState):
    return gradient(setup, state)


# ---------------------------------------------------------------------------------------------
# Ahead-of-time compilation, cached by argument structure.

#: Compiled executables kept alive at once. A run needs six to eight; a bound keeps long
#: processes (sweeps, test and benchmark sessions) from piling up executables (about 60 live
#: programs once crashed XLA:CPU, see benchmarks/conftest.py).
MAX_PROGRAMS = 32
_CACHE: OrderedDict[Any, Any] = OrderedDict()


def _abstract(leaf):
    if isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
        return ("array", leaf.shape, str(leaf.dtype), bool(getattr(leaf, "weak_type", False)))
    return ("static", leaf)


def _signature(fn: Callable, args: tuple) -> Any:
    leaves, treedef = jax.tree.flatten(args, is_leaf=lambda x: x is None)
    return (fn, treedef, tuple(_abstract(x) for x in leaves))


def compiled(fn: Callable, *args) -> tuple[Callable, float]:
    """``(executable, seconds spent compiling now)`` of program ``fn`` for ``args``.

    The first call with a new argument structure lowers and compiles ``fn`` ahead of time (the
    persistent compilation cache, when configured, still applies); later calls return the cached
    executable and 0.0. Static configuration (component options, static fields) is part of the
    structure; array *values* are not.
    """
    key = _signature(fn, args)
    try:
        hit = _CACHE.get(key)
    except TypeError as e:  # an unhashable static leaf: a component with a mutable option
        raise TypeError(f"{getattr(fn, '__name__', fn)}: an argument has an unhashable static "
                        f"part ({e}); static fields of components must be hashable") from None
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit, 0.0
    t0 = time.perf_counter()
    program = fn.lower(*args).compile()
    seconds = time.perf_counter() - t0
    _CACHE[key] = program
    while len(_CACHE) > MAX_PROGRAMS:
        _CACHE.popitem(last=False)
    return program, seconds


def clear() -> None:
    """Forget every cached executable (tests and benchmarks that must compile afresh)."""
    _CACHE.clear()


def flops(program) -> float:
    """The FLOP count of a compiled program: XLA's (``compiled.cost_analysis()``) plus the
    LAPACK calls it cannot see (:func:`lapack_flops`). The one count the budget's measured
    costs use.

    XLA counts a ``lax.scan`` body once whatever its trip count, and a ``lax.cond`` by its
    branches, so count programs without loops (:func:`step_one`, :func:`gradient_one`).
    """
    analysis = program.compiled.cost_analysis()
    analysis = analysis[0] if isinstance(analysis, list) else analysis
    return float(analysis["flops"]) + lapack_flops(program.compiled.as_text())


# A LAPACK custom call in compiled HLO: the result shape, then the target, e.g.
#   %cholesky.0 = (f64[3,200,200]{1,2,0}, s32[3]{0}) custom-call(...),
#       custom_call_target="lapack_dpotrf_ffi", ...
#   %triangular_solve.0 = f64[200,1]{0,1} custom-call(%a, %b), custom_call_target="lapack_dtrsm_ffi"
_LAPACK_CALL = re.compile(
    r"=\s*\(?\s*[a-z0-9]+\[([0-9,]*)\][^=]*?custom-call\([^\n]*?"
    r"custom_call_target=\"[a-z]*_?[sdcz]?(potrf|trsm)[a-z_]*\"")


def lapack_flops(hlo_text: str) -> float:
    """Analytic FLOPs of the LAPACK custom calls (Cholesky ``potrf``, triangular solve
    ``trsm``) in a compiled program's HLO text.

    XLA's cost analysis counts such a call as a few n² FLOPs whatever n (measured: 2.0e5 for a
    200 × 200 Cholesky, which takes n³/3 = 2.7e6), so a step that factorises its Gram matrix
    would look nearly free. A factorisation of a batch of ``b`` n × n matrices is charged
    ``b · n³/3`` (:func:`~regimebench.components.natural_gradient.cholesky_flops`), a
    triangular solve with an ``n × k`` right-hand side ``b · n² k``. (XLA's own few n² per call
    stay in its count: an overcount below 1e-2 of these terms for n ≥ 100.)
    """
    total = 0.0
    for line in hlo_text.splitlines():
        m = _LAPACK_CALL.search(line)
        if m is None:
            continue
        dims = [int(d) for d in m.group(1).split(",") if d]
        if m.group(2) == "potrf" and len(dims) >= 2:
            total += math.prod(dims[:-2]) * cholesky_flops(dims[-1], solves=0)
        elif m.group(2) == "trsm" and len(dims) >= 2:
            # result n × k (left side): the triangular factor is n × n
            total += math.prod(dims[:-2]) * float(dims[-2]) ** 2 * dims[-1]
    return total
