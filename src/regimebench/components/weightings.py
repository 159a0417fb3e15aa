"""Loss weightings: how the named loss terms (and their points) are weighted, per seed.

The loss is ``Σ_k w_k · mean_i(p_{k,i} r_{k,i}²)``. A :class:`Weighting` owns a per-seed state,
returns the term weights ``w`` and the optional per-point weights ``p`` from it, and updates it
once per optimizer step from a :class:`WeightingContext` (current residuals, step, and a lazy
function giving per-term gradients — computed only by weightings that ask for them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp

from .._registry import Registry

__all__ = ["Weighting", "WeightingContext", "weightings", "Fixed"]


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

    def term_weights(self, state, names: tuple[str, ...]) -> dict[str, jax.Array]:
        return {k: jnp.asarray(1.0) for k in names}

    def point_weights(self, state, names: tuple[str, ...]) -> dict[str, jax.Array | None]:
        return {k: None for k in names}

    def update(self, state, ctx: WeightingContext):
        return state


weightings: Registry[Callable[..., Weighting]] = Registry("weighting")


class Fixed(Weighting):
    """Constant term weights (1 unless given)."""

    weights: dict[str, float] = eqx.field(static=True)

    def term_weights(self, state, names):
        return {k: jnp.asarray(float(self.weights.get(k, 1.0))) for k in names}


@weightings.register("fixed")
def make_fixed(*, weights: Mapping[str, float] | None = None) -> Fixed:
    """Fixed term weights, e.g. ``weights = { bc = 10.0 }``; unnamed terms get 1."""
    return Fixed(weights=dict(weights or {}))
