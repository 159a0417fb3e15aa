"""Samplers: how each seed's collocation points evolve during training.

A sampler draws the initial batch through the task's own ``sample`` (so the distribution is the
problem's, the same for every entry) and may replace it as training goes. ``step`` is shared by
all seeds, so schedules branch with a real ``lax.cond`` even under vmap.

Registered kinds: ``fixed`` (one draw, kept), ``resampled`` (fresh uniform points every K
steps) and ``rad`` (residual-based adaptive distribution, Wu et al. 2023). Samplers run after
every step of a phase that adapts (plain gradient phases) and are frozen during line-search
phases. The number of points per term never changes, so per-point weightings keep their shapes
(though per-point *state*, as in RBA, only makes sense with ``fixed``).

Points are drawn in the entry's ``dtype`` (the task's ``sample(key, sizes, dtype)``), so a float32
entry never draws, or casts, float64 points.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._registry import Registry

__all__ = ["Sampler", "samplers", "FixedSampler", "Resampled", "RAD"]


class Sampler(eqx.Module):
    """Base class: the points drawn at initialisation are kept for the whole run.

    ``init(task, key, sizes, dtype)`` returns the first batch; ``update(task, batch, key, step,
    sizes, dtype, residual_fn)`` the batch for the next step (``step`` is shared by all seeds;
    ``residual_fn(points)`` gives the residuals of the current network at other points).
    """

    def init(self, task, key, sizes, dtype):
        return task.sample(key, sizes, dtype)

    def update(self, task, batch, key, step, sizes, dtype, residual_fn=None):
        return batch


samplers: Registry[Callable[..., Sampler]] = Registry("sampler")


class FixedSampler(Sampler):
    pass


class Resampled(Sampler):
    """Fresh uniform points every ``every`` steps."""

    every: int = eqx.field(static=True)

    def update(self, task, batch, key, step, sizes, dtype, residual_fn=None):
        return jax.lax.cond((step + 1) % self.every == 0,
                            lambda: task.sample(key, sizes, dtype), lambda: batch)


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


class RAD(Sampler):
    """Residual-based adaptive distribution (Wu, Zhu, Tan, Kartha & Lu 2023, "RAD").

    Every ``every`` steps, for each adapted term: draw ``pool`` × n candidates from the task's
    own (uniform) sampler, evaluate the residuals there with the current network, and keep n
    candidates drawn without replacement with probability
    ``p(x) ∝ |r(x)|^k / mean|r|^k + c``. ``k = 1, c = 1`` are the paper's recommended defaults:
    half uniform, half residual-driven mass. Terms not listed in ``terms`` keep their points.
    """

    every: int = eqx.field(static=True)
    pool: int = eqx.field(static=True)
    k: float = eqx.field(static=True)
    c: float = eqx.field(static=True)
    terms: tuple[str, ...] = eqx.field(static=True)

    def probabilities(self, residual: jax.Array) -> jax.Array:
        """Selection probabilities of candidates with residuals ``residual`` (``(m,)``/``(m, c)``)."""
        a = jnp.abs(residual) if residual.ndim == 1 else jnp.linalg.norm(residual, axis=-1)
        e = a**self.k
        dens = e / jnp.maximum(e.mean(), jnp.finfo(e.dtype).tiny) + self.c
        return dens / dens.sum()

    def update(self, task, batch, key, step, sizes, dtype, residual_fn=None):
        if residual_fn is None:
            raise ValueError("the rad sampler needs residual_fn (pass it to Sampler.update)")
        missing = [t for t in self.terms if t not in batch]
        if missing:
            raise ValueError(f"rad: terms {missing} are not sampled terms ({', '.join(batch)})")

        def refine():
            k_pool, k_pick = jax.random.split(key)
            pool_sizes = {t: sizes[t] * self.pool if t in self.terms else sizes[t] for t in sizes}
            cand = task.sample(k_pool, pool_sizes, dtype)
            res = residual_fn({**batch, **{t: cand[t] for t in self.terms}})
            out = dict(batch)
            for t, kk in zip(self.terms, jax.random.split(k_pick, len(self.terms))):
                p = self.probabilities(res[t])
                idx = jax.random.choice(kk, p.shape[0], (batch[t].shape[0],), replace=False, p=p)
                out[t] = cand[t][idx]
            return out

        return jax.lax.cond((step + 1) % self.every == 0, refine, lambda: dict(batch))


@samplers.register("rad")
def make_rad(*, every: int = 100, pool: int = 8, k: float = 1.0, c: float = 1.0,
             terms: list[str] | None = None) -> RAD:
    """Residual-based adaptive resampling of the ``pde`` points (Wu et al. 2023)."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError("sampling option 'every' must be a positive integer")
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < 2:
        raise ValueError("sampling option 'pool' must be an integer ≥ 2 (candidates per point)")
    if k < 0 or c < 0 or (c == 0 and k == 0):
        raise ValueError("sampling options 'k' and 'c' must be ≥ 0 and not both 0")
    return RAD(every=int(every), pool=int(pool), k=float(k), c=float(c),
               terms=tuple(terms or ("pde",)))
