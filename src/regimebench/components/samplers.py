"""Samplers: how each seed's collocation points evolve during training.

A sampler draws the initial batch through the task's own ``sample`` (so the distribution is the
problem's, the same for every entry) and may replace it as training goes. ``step`` is shared by
all seeds, so schedules branch with a real ``lax.cond`` even under vmap.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax

from .._registry import Registry

__all__ = ["Sampler", "samplers", "FixedSampler", "Resampled"]


class Sampler(eqx.Module):
    """Base class: the points drawn at initialisation are kept for the whole run."""

    def init(self, task, key, sizes):
        return task.sample(key, sizes)

    def update(self, task, batch, key, step, sizes, residual_fn=None):
        return batch


samplers: Registry[Callable[..., Sampler]] = Registry("sampler")


def _like(new, old):
    """``new`` cast to the dtypes of ``old``: tasks sample in float64, entries may train in float32."""
    return jax.tree.map(lambda a, b: a.astype(b.dtype), new, old)


class FixedSampler(Sampler):
    pass


class Resampled(Sampler):
    """Fresh uniform points every ``every`` steps."""

    every: int = eqx.field(static=True)

    def update(self, task, batch, key, step, sizes, residual_fn=None):
        # The task samples in float64; the batch is in the entry's dtype, and cond's branches
        # must agree, so a fresh draw takes the batch's dtypes.
        return jax.lax.cond(
            (step + 1) % self.every == 0,
            lambda: _like(task.sample(key, sizes), batch),
            lambda: batch,
        )


@samplers.register("fixed")
def make_fixed_sampler() -> FixedSampler:
    """One draw of uniform points at initialisation, kept throughout."""
    return FixedSampler()


@samplers.register("resampled")
def make_resampled(*, every: int = 1) -> Resampled:
    """Uniform points redrawn every ``every`` steps (``every = 1``: a fresh batch each step)."""
    if every < 1:
        raise ValueError("sampling option 'every' must be a positive integer")
    return Resampled(every=int(every))
