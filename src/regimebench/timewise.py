"""Errors resolved in time, for time-dependent problems (Allen–Cahn, Burgers, …).

A PINN trained on the whole space-time box at once can fit the late times of a wrong early
trajectory: the residual is small everywhere, yet the error *grows in time* because information
from the initial condition never propagated (the "causality violation" of Wang, Sankaran &
Perdikaris 2024, "Respecting causality for training physics-informed neural networks"). The
summary rel. L2 over the whole grid hides this; errors per time window show it.

:func:`time_window_errors` turns a prediction on a tensor evaluation grid whose first axis is time
into a few scalars (what run records store as ``metrics``), e.g.::

    {"rel_l2_t_q1": …, "rel_l2_t_q2": …, "rel_l2_t_q3": …, "rel_l2_t_q4": …, "rel_l2_t_last": …}

``rel_l2_t_qk`` is the relative L2 error over the k-th quarter of the time slices (normalised by
the reference's norm over the same slices, so windows are comparable even when ‖u‖ changes in
time); ``rel_l2_t_last`` is the error of the final time slice alone. A causality violation shows
as ``rel_l2_t_q4 ≫ rel_l2_t_q1``. Pure JAX: it runs inside the trainer's vmapped, jitted
end-of-run metrics.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["time_window_errors"]


def time_window_errors(pred: jax.Array, ref: jax.Array, grid_shape: tuple[int, ...],
                       n_windows: int = 4, prefix: str = "rel_l2_t") -> dict[str, jax.Array]:
    """Relative L2 errors over ``n_windows`` consecutive time windows and on the last slice.

    Arguments:
        pred, ref: predictions and reference on the evaluation grid, flat ``(m, c)`` (or any shape
            with ``m = prod(grid_shape)`` leading entries), time being the first grid axis.
        grid_shape: the evaluation grid's shape, ``(n_t, …)``.
        n_windows: number of windows; slices are split as evenly as possible (``numpy``'s
            ``array_split`` convention), the earlier windows taking the extra slices.
        prefix: metric name prefix.

    Returns:
        ``{f"{prefix}_q{k}": …}`` for ``k = 1 … n_windows`` and ``{f"{prefix}_last": …}``.
    """
    n_t = grid_shape[0]
    if n_windows < 1 or n_windows > n_t:
        raise ValueError(f"n_windows must be in 1..{n_t}, got {n_windows}")
    diff = jnp.reshape(pred - ref, (n_t, -1))
    base = jnp.reshape(ref, (n_t, -1))
    # Squared norms per time slice; windows are sums of consecutive slices.
    d2 = jnp.sum(diff**2, axis=1)
    r2 = jnp.sum(base**2, axis=1)
    size, extra = divmod(n_t, n_windows)
    out = {}
    start = 0
    for k in range(n_windows):
        stop = start + size + (1 if k < extra else 0)
        out[f"{prefix}_q{k + 1}"] = jnp.sqrt(jnp.sum(d2[start:stop]) / jnp.sum(r2[start:stop]))
        start = stop
    out[f"{prefix}_last"] = jnp.sqrt(d2[-1] / r2[-1])
    return out
