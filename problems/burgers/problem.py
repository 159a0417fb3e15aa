"""Viscous Burgers 1-D: u_t + u u_x = ν u_xx on x ∈ [−1, 1], t ∈ [0, 1].

Initial condition u(0, x) = −sin(πx), Dirichlet u(t, ±1) = 0; canonical ν = 0.01/π (Raissi et al.
2019; PINNacle; jaxpi). A shock-like front of width ~ν forms at x = 0 by t ≈ 1/π. Points are
``(t, x)``, time first; the evaluation grid is the reference's 100 (t) × 256 (x) tensor grid
(t = 0, 0.01, …, 0.99, x = linspace(−1, 1, 256), the grid of Raissi's ``burgers_shock.mat``).

Loss terms:

* ``pde`` — the residual ``u_t + u u_x − ν u_xx`` at points uniform in the box;
* ``ic`` — ``u(0, x) + sin(πx)`` at points uniform on t = 0;
* ``bc`` — ``u(t, ±1)`` at points uniform on the two walls.

The error per quarter of the time interval and at the last time level (``rel_l2_t_q1`` …
``rel_l2_t_q4``, ``rel_l2_t_last``) comes from the generic field probes, which compute it with
:func:`regimebench.timewise.time_window_errors` for every task whose evaluation grid has a
``t`` axis.
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
    uniform_box_boundary,
)

SPEC = problem_spec(__file__)  # name and version from problem.toml beside this file
# Points are (t, x).
LOWER, UPPER = (0.0, -1.0), (1.0, 1.0)


def initial_condition(x: jax.Array) -> jax.Array:
    """u0(x) = −sin(πx)."""
    return -jnp.sin(jnp.pi * x)


def evaluation_grid(ref) -> EvalSet:
    """The 100 × 256 (t, x) grid of the cached float64 reference, flattened time-major."""
    return tensor_grid_eval_set((ref["t"], ref["x"]), ref["u"], ("t", "x"))


def reference(params: Mapping, task: str):
    """The cached reference (a :class:`regimebench.reference.CachedReference`) for ``params["nu"]``."""
    del task  # one task
    return SPEC.cached_reference({"nu": float(params["nu"])})


def initial_lifting(z: jax.Array) -> jax.Array:
    """The lifting of a hard constraint at a physical point ``(t, x)``: ``u0(x)``, which is the
    data at t = 0 and vanishes (to round-off) at x = ±1."""
    return initial_condition(z[1:2])


class BurgersForward(PointwiseTask):
    """Forward problem: PDE inside, initial condition at t = 0, u = 0 on x = ±1."""

    problem: ClassVar[str] = SPEC.name
    task: ClassVar[str] = "forward"
    term_roles: ClassVar[Mapping[str, TermRole]] = {
        "pde": TermRole.RESIDUAL, "ic": TermRole.INITIAL, "bc": TermRole.BOUNDARY}
    time_axis: ClassVar[int | None] = 0  # inputs are (t, x)
    lower: ClassVar[tuple[float, ...]] = LOWER
    upper: ClassVar[tuple[float, ...]] = UPPER
    out_size: ClassVar[int] = 1
    # u = u0 at t = 0 and u = 0 at x = ±1: a hard constraint makes "ic" and "bc" exact
    hard_constraint: ClassVar[HardConstraint | None] = HardConstraint(
        faces=((0, -1), (1, -1), (1, 1)), terms=("ic", "bc"), lifting=initial_lifting)

    nu: jax.Array
    eval_set: EvalSet

    @classmethod
    def build(cls, params, sizes, reference):
        return cls(nu=jnp.asarray(float(params["nu"])), eval_set=evaluation_grid(reference.arrays))

    def sample(self, key, sizes, dtype=float):
        kp, ki, kb = jax.random.split(key, 3)
        return {
            "pde": uniform_box(kp, sizes["pde"], LOWER, UPPER, dtype),
            "ic": uniform_box(ki, sizes["ic"], (0.0, -1.0), (0.0, 1.0), dtype),
            # the faces normal to x (dim 1): x = -1 and x = +1, t uniform
            "bc": uniform_box_boundary(kb, sizes["bc"], LOWER, UPPER, dims=(1,), dtype=dtype),
        }

    def residuals(self, model, batch):
        field = self.field(model)

        def u(z):
            return field(z)[0]

        def pde(z):
            v = u(z)
            return partial(u, z, 0) + v * partial(u, z, 1) - self.nu * second_partial(u, z, 1)

        def ic(z):
            return u(z) - initial_condition(z[1])

        return {
            "pde": jax.vmap(pde)(batch["pde"]),
            "ic": jax.vmap(ic)(batch["ic"]),
            "bc": jax.vmap(u)(batch["bc"]),
        }



TASKS = {"forward": BurgersForward}
