"""What one seed carries between steps, and the per-seed bookkeeping of a step.

Inside the engine every field is stacked over the seeds of a group (leading axis); the functions
here act on one seed and are vmapped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["SeedState", "strong", "all_finite", "commit", "cast_floating", "over_seeds"]


class SeedState(eqx.Module):
    """Everything one seed carries between steps.

    ``evals`` counts the gradient-evaluation equivalents spent so far (float32: exact for whole
    numbers below 2²⁴, and measured phases charge fractions); ``failed`` is set when the loss or
    the parameters became non-finite, after which the seed stays frozen at its last finite state;
    ``failed_step`` is the global step at which that happened (−1: never).
    """

    params: Any
    opt_state: Any
    weight_state: Any
    batch: dict
    key: jax.Array  # raw key data (uint32), so the state is plain arrays
    evals: jax.Array
    failed: jax.Array
    failed_step: jax.Array


def strong(tree):
    """Drop weak types, so the state entering a program has exactly the type leaving it.

    Optimizer ``init`` functions create weakly typed scalars (counts, step sizes) that the first
    update makes strong; without this, every chunk program would compile twice.
    """
    return jax.tree.map(lambda x: jnp.asarray(x, dtype=x.dtype) if eqx.is_array(x) else x, tree)


def cast_floating(tree, dtype):
    """Every floating array leaf of ``tree`` cast to ``dtype``."""
    return jax.tree.map(lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, tree)


def all_finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if eqx.is_inexact_array(x)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def commit(old: SeedState, new: SeedState, active, ok, gstep) -> SeedState:
    """``new`` if the seed was active and the step finite; else ``old`` (frozen), marking a seed
    whose active step was non-finite as failed at ``gstep``."""
    kept = jax.tree.map(lambda a, b: jnp.where(active & ok, a, b), new, old)
    fail_now = active & ~ok
    return eqx.tree_at(
        lambda s: (s.failed, s.failed_step),
        kept,
        (old.failed | fail_now, jnp.where(fail_now, gstep.astype(jnp.int32), old.failed_step)),
    )


def over_seeds(fn: Callable, in_axes=0) -> Callable:
    """``fn`` (of one seed) mapped over the leading seed axis of its arguments (those whose
    ``in_axes`` entry is 0; ``None`` entries are shared), like ``eqx.filter_vmap``.

    A group of one seed is *not* vmapped: the axis is dropped and put back. XLA:CPU runs the
    batched form of a PINN step (a batch dimension of size 1 on every matrix product) at about
    0.6× the speed of the same step unbatched (measured: 135 against 217 steps/s, helmholtz,
    4 × 64 tanh MLP, float32, 2-core CPU), so sequential seeds run the unbatched program.
    """

    def mapped(*args):
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        sizes = {x.shape[0] for a, ax in zip(args, axes) if ax == 0
                 for x in jax.tree.leaves(a) if eqx.is_array(x)}
        if sizes != {1}:
            return eqx.filter_vmap(fn, in_axes=in_axes)(*args)
        first = [jax.tree.map(lambda x: x[0] if eqx.is_array(x) else x, a) if ax == 0 else a
                 for a, ax in zip(args, axes)]
        return jax.tree.map(lambda x: x[None] if eqx.is_array(x) else x, fn(*first))

    return mapped
