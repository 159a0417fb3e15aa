"""Mode connectivity between two parameter vectors (Garipov et al. 2018; Yang et al. 2021).

For a path γ from θ (t = 0) to θ' (t = 1) evaluated on a grid of t including both ends,

    mc = ½ (L(θ) + L(θ')) − L(γ(t*)),   t* = argmax_t |½ (L(θ) + L(θ')) − L(γ(t))|

(the sign convention of Yang et al. 2021): mc < 0 — a loss barrier, poorly connected; mc ≈ 0 —
well connected; mc > 0 — the path finds *lower* loss than the endpoints (under-fitted ends).

* :func:`linear_path` — γ(t) = (1 − t) θ + t θ'.
* :func:`bezier_path` — quadratic Bézier γ(t) = (1 − t)² θ + 2t(1 − t) φ + t² θ' whose control
  point φ (initialised at the midpoint) is fitted by L-BFGS to the mean loss along the curve,
  as in Garipov et al. (their ``num_bends = 3``).

Losses that are not finite along the path are kept as NaN and make ``mc`` NaN (a failure is
data, it is not smoothed away).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

__all__ = ["mc", "linear_path", "bezier_path"]

Loss = Callable[[jax.Array], jax.Array]


def mc(losses: jax.Array) -> jax.Array:
    """``mc`` of losses on a t-grid whose first and last entries are the endpoints."""
    mid = 0.5 * (losses[0] + losses[-1])
    k = jnp.argmax(jnp.abs(mid - losses))
    return mid - losses[k]


def linear_path(loss: Loss, a: jax.Array, b: jax.Array, points: int = 21) -> dict:
    """Losses along the straight segment and its ``mc``."""
    ts = jnp.linspace(0.0, 1.0, points, dtype=a.dtype)
    losses = jax.vmap(lambda t: loss((1 - t) * a + t * b))(ts)
    return {"t": ts, "losses": losses, "mc": mc(losses)}


def _bezier(a, phi, b, t):
    return (1 - t) ** 2 * a + 2 * t * (1 - t) * phi + t**2 * b


def bezier_path(loss: Loss, a: jax.Array, b: jax.Array, *, steps: int = 100,
                fit_points: int = 11, points: int = 21) -> dict:
    """Fit the control point by ``steps`` L-BFGS iterations; return losses along the curve.

    ``fit_points`` values of t (ends included) define the training objective (Garipov et al. use
    a stochastic t; a fixed grid keeps it deterministic); ``points`` the evaluation grid.
    """
    dtype = a.dtype
    t_fit = jnp.linspace(0.0, 1.0, fit_points, dtype=dtype)[1:-1]  # ends do not depend on φ

    def objective(phi):
        return jnp.mean(jax.vmap(lambda t: loss(_bezier(a, phi, b, t)))(t_fit))

    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(objective)
    phi0 = 0.5 * (a + b)

    def step(carry, _):
        phi, state = carry
        value, grad = value_and_grad(phi, state=state)
        with jax.numpy_dtype_promotion("standard"):  # optax's L-BFGS mixes int32 and int64
            updates, state = opt.update(grad, state, phi, value=value, grad=grad,
                                        value_fn=objective)
        new = optax.apply_updates(phi, updates)
        # keep the last finite control point if a line search wanders into NaN land
        ok = jnp.all(jnp.isfinite(new))
        return (jnp.where(ok, new, phi), state), None

    if steps > 0:
        (phi, _), _ = jax.lax.scan(step, (phi0, opt.init(phi0)), None, length=steps)
    else:
        phi = phi0
    ts = jnp.linspace(0.0, 1.0, points, dtype=dtype)
    losses = jax.vmap(lambda t: loss(_bezier(a, phi, b, t)))(ts)
    return {"t": ts, "losses": losses, "mc": mc(losses)}
