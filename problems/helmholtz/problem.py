"""Helmholtz 2-D: Δu + k²u = q on [-1, 1]², u = 0 on the boundary.

Manufactured solution u = sin(a1 π x) sin(a2 π y), so q = (k² − (a1² + a2²) π²) u. Parameters
as in Wang, Teng & Perdikaris (2021): a1 = 1, a2 = 4, k = 1 (their ``lam`` is k²). Difficulty
grows with a2 (more oscillations, stiffer gradient imbalance between the PDE and boundary terms).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import jax
import jax.numpy as jnp

from regimebench.derivatives import laplacian
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
LOWER, UPPER = (-1.0, -1.0), (1.0, 1.0)


def exact(x: jax.Array, a1, a2) -> jax.Array:
    """u(x, y) for points ``x`` of shape ``(..., 2)``."""
    return jnp.sin(a1 * jnp.pi * x[..., 0]) * jnp.sin(a2 * jnp.pi * x[..., 1])


def source(x: jax.Array, a1, a2, k) -> jax.Array:
    """q such that ``exact`` solves Δu + k²u = q."""
    return (k**2 - (a1**2 + a2**2) * jnp.pi**2) * exact(x, a1, a2)


def evaluation_grid(ref) -> EvalSet:
    """201 × 201 tensor grid including the boundary, from the cached float64 reference."""
    return tensor_grid_eval_set((ref["x"], ref["y"]), ref["u"], ("x", "y"))


def reference(params: Mapping, task: str):
    """The cached reference (a :class:`regimebench.reference.CachedReference`)."""
    del task  # one task
    return SPEC.cached_reference({k: params[k] for k in ("a1", "a2")})


class HelmholtzForward(PointwiseTask):
    """Forward problem: PDE residual inside, Dirichlet residual on the four edges."""

    problem: ClassVar[str] = SPEC.name
    task: ClassVar[str] = "forward"
    term_roles: ClassVar[Mapping[str, TermRole]] = {"pde": TermRole.RESIDUAL,
                                                    "bc": TermRole.BOUNDARY}
    # −Δu − k²u + q = 0 is the Euler–Lagrange equation of ∫ ½|∇u|² − ½k²u² + qu (bounded below
    # for k² < π²/2 on this box: the canonical k = 1); regimebench.ritz registers the form.
    energy_form: ClassVar[str | None] = "helmholtz"
    lower: ClassVar[tuple[float, ...]] = LOWER
    upper: ClassVar[tuple[float, ...]] = UPPER
    out_size: ClassVar[int] = 1
    # u = 0 on all four edges: a hard constraint makes the boundary term exact
    hard_constraint: ClassVar[HardConstraint | None] = HardConstraint(
        faces=((0, -1), (0, 1), (1, -1), (1, 1)), terms=("bc",))

    a1: jax.Array
    a2: jax.Array
    k: jax.Array
    eval_set: EvalSet

    @classmethod
    def build(cls, params, sizes, reference):
        return cls(a1=jnp.asarray(float(params["a1"])), a2=jnp.asarray(float(params["a2"])),
                   k=jnp.asarray(float(params["k"])), eval_set=evaluation_grid(reference.arrays))

    def sample(self, key, sizes, dtype=float):
        kp, kb = jax.random.split(key)
        return {
            "pde": uniform_box(kp, sizes["pde"], LOWER, UPPER, dtype),
            "bc": uniform_box_boundary(kb, sizes["bc"], LOWER, UPPER, dtype=dtype),
        }

    def residuals(self, model, batch):
        u = self.field(model)

        def pde(x):
            return laplacian(u, x)[0] + self.k**2 * u(x)[0] - source(x, self.a1, self.a2, self.k)

        return {
            "pde": jax.vmap(pde)(batch["pde"]),
            "bc": jax.vmap(u)(batch["bc"])[:, 0],  # exact u vanishes on ∂Ω
        }


TASKS = {"forward": HelmholtzForward}
