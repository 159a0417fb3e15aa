"""Pluggable training components, each kind behind one :class:`~regimebench._registry.Registry`.

* :data:`architectures` — ``factory(in_size, out_size, *, key, **options) -> eqx.Module``; the
  module maps one input (a point, or a field for operator tasks) to one output.
* :data:`optimizers` — ``factory(**options) -> AbstractPhase``: one optimizer phase (how it
  starts, how it steps, what a step costs; see :mod:`.optimizers`).
* :data:`weightings` — ``factory(**options) -> Weighting``: term and per-point loss weights with
  per-seed state.
* :data:`samplers` — ``factory(**options) -> Sampler``: how collocation points evolve.

Importing this package registers the built-in components.
"""

from . import (
    natural_gradient_phase,  # noqa: F401  (registers the natural_gradient phase)
    operators,  # noqa: F401  (registers the operator architectures: fno, deeponet)
)
from .architectures import architectures
from .optimizers import AbstractPhase, optimizers
from .samplers import Sampler, samplers
from .weightings import Weighting, WeightingContext, weightings

__all__ = [
    "architectures",
    "optimizers",
    "weightings",
    "samplers",
    "AbstractPhase",
    "Weighting",
    "WeightingContext",
    "Sampler",
]
