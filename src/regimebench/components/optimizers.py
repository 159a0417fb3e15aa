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

import optax

from .._registry import Registry

__all__ = ["Phase", "optimizers"]


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
