"""Viscous Burgers 1-D: u_t + u u_x = ν u_xx on x ∈ [−1, 1], t ∈ [0, 1].

Initial condition u(0, x) = −sin(πx), Dirichlet u(t, ±1) = 0; canonical ν = 0.01/π (Raissi et al.
2019; PINNacle; jaxpi). A shock-like front of width ~ν forms at x = 0 by t ≈ 1/π. Points are
``(t, x)``, time first; the evaluation grid is the reference's 100 (t) × 256 (x) tensor grid
(t = 0, 0.01, …, 0.99, x = linspace(−1, 1, 256), the grid of Raissi's ``burgers_shock.mat``).

Loss terms:

* ``pde`` — the residual ``u_t + u u_x − ν u_xx`` at points uniform in the box;
* ``ic`` — ``u(0, x) + sin(πx)`` at points uniform on t = 0;
* ``bc`` — ``u(t, ±1)`` at points uniform on the two walls.

``extra_metrics`` reports the error per quarter of the time interval and at t = 0.99
(:func:`regimebench.timewise.time_window_errors`).
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp

from regimebench._catalogue import load_problem_module
from regimebench.derivatives import partial, second_partial
from regimebench.problem import (
    EvalSet,
    PointwiseTask,
    load_problem,
    tensor_grid_eval_set,
    uniform_box,
    uniform_box_boundary,
)
from regimebench.reference import cached_reference
from regimebench.timewise import time_window_errors

NAME = "burgers"
# Points are (t, x).
LOWER, UPPER = (0.0, -1.0), (1.0, 1.0)


def initial_condition(x: jax.Array) -> jax.Array:
    """u0(x) = −sin(πx)."""
    return -jnp.sin(jnp.pi * x)


def evaluation_grid(ref) -> EvalSet:
    """The 100 × 256 (t, x) grid of the cached float64 reference, flattened time-major."""
    return tensor_grid_eval_set((ref["t"], ref["x"]), ref["u"], ("t", "x"))


def reference(params: dict):
    """The cached reference (a :class:`regimebench.reference.CachedReference`) for ``params["nu"]``."""
    return cached_reference(NAME, load_problem(NAME).version, {"nu": float(params["nu"])},
                            load_problem_module(NAME, "reference"))


class BurgersForward(PointwiseTask):
    """Forward problem: PDE inside, initial condition at t = 0, u = 0 on x = ±1."""

    problem: ClassVar[str] = NAME
    task: ClassVar[str] = "forward"
    term_names: ClassVar[tuple[str, ...]] = ("pde", "ic", "bc")
    time_axis: ClassVar[int | None] = 0  # inputs are (t, x)
    lower: ClassVar[tuple[float, ...]] = LOWER
    upper: ClassVar[tuple[float, ...]] = UPPER
    out_size: ClassVar[int] = 1

    nu: float
    eval_set: EvalSet

    def sample(self, key, sizes):
        kp, ki, kb = jax.random.split(key, 3)
        return {
            "pde": uniform_box(kp, sizes["pde"], LOWER, UPPER),
            "ic": uniform_box(ki, sizes["ic"], (0.0, -1.0), (0.0, 1.0)),
            # the faces normal to x (dim 1): x = -1 and x = +1, t uniform
            "bc": uniform_box_boundary(kb, sizes["bc"], LOWER, UPPER, dims=(1,)),
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

    def extra_metrics(self, model):
        ev = self.eval_set
        return time_window_errors(self.predict(model, ev.inputs), ev.targets, ev.grid_shape)


def make_task(task: str, params: dict, sizes: dict) -> BurgersForward:
    if task != "forward":
        raise ValueError(f"{NAME} has no task {task!r}")
    ref = reference(params)
    return BurgersForward(nu=float(params["nu"]), eval_set=evaluation_grid(ref.arrays))
