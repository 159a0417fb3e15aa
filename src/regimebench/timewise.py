"""Errors resolved in time, for time-dependent problems (Allen–Cahn, Burgers, …).

A PINN trained on the whole space-time box at once can fit the late times of a wrong early
trajectory: the residual is small everywhere, yet the error *grows in time* because information
from the initial condition never propagated (the "causality violation" of Wang, Sankaran &
Perdikaris 2024, "Respecting causality for training physics-informed neural networks"). The
summary rel. L2 over the whole grid hides this; errors per time window show it.

This module is **the** definition of the time-window metrics: :func:`time_window_errors` turns a
prediction on a tensor evaluation grid with a time axis into::

    {"rel_l2_t_q1": …, "rel_l2_t_q2": …, "rel_l2_t_q3": …, "rel_l2_t_q4": …, "rel_l2_t_last": …}

``rel_l2_t_qk`` is the relative L2 error over the k-th quarter of the time levels, split as
evenly as possible with the earlier quarters taking the extra levels (:func:`time_windows`,
``numpy.array_split``'s convention), each normalised by the reference's norm over the same
levels, so windows are comparable even when ‖u‖ changes in time. ``rel_l2_t_last`` is the error
of the final time level alone. The ``causality_violation`` rule compares ``rel_l2_t_q4`` with
``rel_l2_t_q1`` (``docs/regimes.md``).

The end-of-training field probes (:mod:`regimebench.diagnostics.fields`) compute these metrics
for every evaluation grid with an axis named ``t``, through this function; a problem's
``extra_metrics`` may call it too (inside the trainer's jitted metrics), and then produces the
very same numbers under the same names. Pure ``jax.numpy``; numpy arrays are accepted.

Records written before this was the one definition (schema 1) may carry ``rel_l2_t_first``
(first quarter, ``n_t // 4`` levels, from the field probes) and a ``rel_l2_t_last`` that was the
*last quarter* on problems without their own time metrics (the field probes') and the final level
on allen-cahn and burgers. ``rel_l2_t_first`` is no longer written and ``rel_l2_t_last`` now always
means the final level; :func:`regimebench.labels.time_windows` reads old records.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["time_windows", "time_window_errors", "QUARTERS"]

QUARTERS = 4


def time_windows(n_t: int, n_windows: int = QUARTERS) -> list[tuple[int, int]]:
    """``[(start, stop), …]`` of ``n_windows`` consecutive windows over ``n_t`` time levels.

    Sizes differ by at most one, the earlier windows taking the extra levels
    (``numpy.array_split``): 10 levels in 4 windows are 3, 3, 2, 2.

    >>> time_windows(10)
    [(0, 3), (3, 6), (6, 8), (8, 10)]
    """
    if n_windows < 1 or n_windows > n_t:
        raise ValueError(f"n_windows must be in 1..{n_t}, got {n_windows}")
    size, extra = divmod(n_t, n_windows)
    out, start = [], 0
    for k in range(n_windows):
        stop = start + size + (1 if k < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def time_window_errors(pred: jax.Array, ref: jax.Array, grid_shape: tuple[int, ...],
                       n_windows: int = QUARTERS, prefix: str = "rel_l2_t",
                       t_axis: int = 0) -> dict[str, jax.Array]:
    """Relative L2 errors over ``n_windows`` consecutive time windows and at the final level.

    Arguments:
        pred, ref: predictions and reference on the evaluation grid, flat ``(m, c)`` (or any shape
            with ``m = prod(grid_shape)`` leading entries, in the grid's C order).
        grid_shape: the evaluation grid's shape.
        n_windows: number of windows (:func:`time_windows`); the metric names assume quarters.
        prefix: metric name prefix.
        t_axis: which grid axis is time (the first, by default).

    Returns:
        ``{f"{prefix}_q{k}": …}`` for ``k = 1 … n_windows`` and ``{f"{prefix}_last": …}``.
    """
    n_t = grid_shape[t_axis]
    windows = time_windows(n_t, n_windows)
    shape = tuple(grid_shape) + (-1,)

    def per_level(a):  # squared norm of each time level
        a = jnp.moveaxis(jnp.reshape(jnp.asarray(a), shape), t_axis, 0)
        return jnp.sum(jnp.reshape(a, (n_t, -1)) ** 2, axis=1)

    d2 = per_level(jnp.asarray(pred) - jnp.asarray(ref))
    r2 = per_level(ref)
    out = {f"{prefix}_q{k + 1}": jnp.sqrt(jnp.sum(d2[a:b]) / jnp.sum(r2[a:b]))
           for k, (a, b) in enumerate(windows)}
    out[f"{prefix}_last"] = jnp.sqrt(d2[-1] / r2[-1])
    return out
