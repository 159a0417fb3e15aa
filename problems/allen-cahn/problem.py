"""Allen–Cahn 1-D: u_t − ε u_xx + 5u³ − 5u = 0 on x ∈ [−1, 1] (periodic), t ∈ [0, 1].

Initial condition u(0, x) = x² cos(πx); canonical ε = 1e-4 (Raissi et al. 2019; jaxpi). Points
are ``(t, x)``, time first, and the evaluation grid is the reference's 201 (t) × 512 (x) tensor
grid ``x_j = −1 + 2j/512`` (x = 1 is the periodic image of x = −1).

Loss terms:

* ``pde`` — the residual above at interior points, uniform in the box;
* ``ic`` — ``u(0, x) − x² cos(πx)`` at points uniform on t = 0;
* ``bc`` — periodicity, two components per point: ``u(t, −1) − u(t, 1)`` and
  ``u_x(t, −1) − u_x(t, 1)`` at times uniform in [0, 1]. An architecture with an exact periodic
  embedding in x makes this term vanish identically; it stays in the loss (at zero cost to such
  an entry) so that every entry is judged on the same terms.

Note the initial data are continuous but not smooth-periodic: u0'(−1⁺) = 2, u0'(1⁻) = −2, so the
``u_x`` part of ``bc`` contradicts ``ic`` at t = 0; the kink smooths out over a width √(ε t).

The error per quarter of the time interval and at the last time level (``rel_l2_t_q1`` …
``rel_l2_t_q4``, ``rel_l2_t_last``) comes from the generic field probes, which compute it with
:func:`regimebench.timewise.time_window_errors` for every task whose evaluation grid has a
``t`` axis: the error of a PINN that violates causality
grows in time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import jax
import jax.numpy as jnp

from regimebench.derivatives import partial, second_partial
from regimebench.outcomes import TermRole
from regimebench.problem import (
    EvalSet,
    HardConstraint,
    PointwiseTask,
    problem_spec,
    tensor_grid_eval_set,
    uniform_box,
)

SPEC = problem_spec(__file__)  # name and version from problem.toml beside this file
# Points are (t, x).
LOWER, UPPER = (0.0, -1.0), (1.0, 1.0)


def initial_condition(x: jax.Array) -> jax.Array:
    """u0(x) = x² cos(πx)."""
    return x**2 * jnp.cos(jnp.pi * x)


def evaluation_grid(ref) -> EvalSet:
    """The 201 × 512 (t, x) grid of the cached float64 reference, flattened time-major."""
    return tensor_grid_eval_set((ref["t"], ref["x"]), ref["u"], ("t", "x"))


def reference(params: Mapping, task: str):
    """The cached reference (a :class:`regimebench.reference.CachedReference`) for ``params["eps"]``."""
    del task  # one task
    return SPEC.cached_reference({"eps": float(params["eps"])})


def initial_lifting(z: jax.Array) -> jax.Array:
    """The lifting of a hard constraint at a physical point ``(t, x)``: ``u0(x)``."""
    return initial_condition(z[1:2])


class AllenCahnForward(PointwiseTask):
    """Forward problem: PDE inside, initial condition at t = 0, periodicity at x = ±1."""

    problem: ClassVar[str] = SPEC.name
    task: ClassVar[str] = "forward"
    term_roles: ClassVar[Mapping[str, TermRole]] = {
        "pde": TermRole.RESIDUAL, "ic": TermRole.INITIAL, "bc": TermRole.BOUNDARY}
    time_axis: ClassVar[int | None] = 0  # inputs are (t, x)
    periods: ClassVar[Mapping[int, float] | None] = {1: 2.0}  # x ∈ [-1, 1) is periodic
    lower: ClassVar[tuple[float, ...]] = LOWER
    upper: ClassVar[tuple[float, ...]] = UPPER
    out_size: ClassVar[int] = 1
    # u = u0 at t = 0 (the periodicity is the embedding's business): "ic" becomes exact
    hard_constraint: ClassVar[HardConstraint | None] = HardConstraint(
        faces=((0, -1),), terms=("ic",), lifting=initial_lifting)

    eps: jax.Array
    eval_set: EvalSet

    @classmethod
    def build(cls, params, sizes, reference):
        return cls(eps=jnp.asarray(float(params["eps"])), eval_set=evaluation_grid(reference.arrays))

    def sample(self, key, sizes, dtype=float):
        kp, ki, kb = jax.random.split(key, 3)
        return {
            "pde": uniform_box(kp, sizes["pde"], LOWER, UPPER, dtype),
            # (0, x) with x uniform in [-1, 1]
            "ic": uniform_box(ki, sizes["ic"], (0.0, -1.0), (0.0, 1.0), dtype),
            # (t, -1) with t uniform in [0, 1]; the residual pairs each with (t, +1)
            "bc": uniform_box(kb, sizes["bc"], (0.0, -1.0), (1.0, -1.0), dtype),
        }

    def residuals(self, model, batch):
        field = self.field(model)

        def u(z):
            return field(z)[0]

        def pde(z):
            u_t = partial(u, z, 0)
            u_xx = second_partial(u, z, 1)
            v = u(z)
            return u_t - self.eps * u_xx + 5.0 * v**3 - 5.0 * v

        def ic(z):
            return u(z) - initial_condition(z[1])

        def bc(z):
            # z lies on x = -1; its periodic partner is z + (0, 2).
            w = z + jnp.asarray([0.0, 2.0], dtype=z.dtype)
            return jnp.stack([u(z) - u(w), partial(u, z, 1) - partial(u, w, 1)])

        return {
            "pde": jax.vmap(pde)(batch["pde"]),
            "ic": jax.vmap(ic)(batch["ic"]),
            "bc": jax.vmap(bc)(batch["bc"]),
        }



TASKS = {"forward": AllenCahnForward}
