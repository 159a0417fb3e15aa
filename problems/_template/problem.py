"""Template problem: 1-D Poisson, −u'' = f on (−1, 1), u(±1) = 0, u = sin(kπx).

Copy this folder to start a new problem; every part below is required unless marked optional.
The engine never branches on a problem's name: it only calls what this file declares.

Contract (checked by ``tests/test_problem_contract.py``):

* ``TASKS`` maps each task of ``problem.toml`` to a final task class;
* ``reference(params, task)`` returns the cached reference (one signature for every problem);
* a task class declares ``problem``, ``task``, ``term_roles`` (one :class:`TermRole` per loss
  term, in order), ``time_axis`` and ``periods`` if they apply, and implements ``build``,
  ``sample``, ``residuals`` (and ``predict``, given by :class:`PointwiseTask`);
* physics parameters are float64 *array* fields (``jnp.asarray(value)``): the engine casts them
  to the entry's dtype and passes them to its compiled programs as arguments, so one program
  serves every value of a difficulty sweep;
* ``sample`` draws in the ``dtype`` it is given; ``residuals`` compute in the model's dtype.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import jax
import jax.numpy as jnp

from regimebench.derivatives import second_partial
from regimebench.outcomes import TermRole
from regimebench.problem import (
    EvalSet,
    PointwiseTask,
    problem_spec,
    tensor_grid_eval_set,
    uniform_box,
)

# The entry's name and version, read from problem.toml beside this file (never written here).
SPEC = problem_spec(__file__)
LOWER, UPPER = (-1.0,), (1.0,)


def reference(params: Mapping, task: str):
    """The cached reference for ``params`` (only the parameters that define it go in the key)."""
    del task  # one task; a problem whose tasks differ would branch on it here
    return SPEC.cached_reference({"k": float(params["k"])})


class TemplateForward(PointwiseTask):
    """Forward problem: the PDE residual inside, u at the two end points."""

    problem: ClassVar[str] = SPEC.name
    task: ClassVar[str] = "forward"
    # What each loss term enforces, in the order of the curves and records. Weightings and
    # labels read the roles, never the names.
    term_roles: ClassVar[Mapping[str, TermRole]] = {"pde": TermRole.RESIDUAL,
                                                    "bc": TermRole.BOUNDARY}
    lower: ClassVar[tuple[float, ...]] = LOWER
    upper: ClassVar[tuple[float, ...]] = UPPER
    out_size: ClassVar[int] = 1
    # Optional: time_axis = 0 for inputs (t, x, ...); the evaluation set's axis "t" must match.
    # Optional: periods = {input index: period} for periodic inputs (physical units).

    k: jax.Array  # physics parameter: an array, so a sweep over k compiles once
    eval_set: EvalSet

    @classmethod
    def build(cls, params, sizes, reference):
        ref = reference.arrays
        return cls(k=jnp.asarray(float(params["k"])),
                   eval_set=tensor_grid_eval_set((ref["x"],), ref["u"], ("x",)))

    def sample(self, key, sizes, dtype=float):
        # the two end points, alternately (boundary points of a 1-D box are not random)
        lo, hi = jnp.asarray(LOWER[0], dtype), jnp.asarray(UPPER[0], dtype)
        ends = jnp.where(jnp.arange(sizes["bc"]) % 2 == 0, lo, hi)
        return {"pde": uniform_box(key, sizes["pde"], LOWER, UPPER, dtype), "bc": ends[:, None]}

    def residuals(self, model, batch):
        u = self.field(model)

        def pde(x):
            f = (self.k * jnp.pi) ** 2 * jnp.sin(self.k * jnp.pi * x[0])  # −u'' of the solution
            return -second_partial(u, x, 0)[0] - f

        return {"pde": jax.vmap(pde)(batch["pde"]), "bc": jax.vmap(u)(batch["bc"])[:, 0]}


TASKS = {"forward": TemplateForward}
