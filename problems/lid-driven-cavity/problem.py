"""Lid-driven cavity: steady incompressible Navier–Stokes on the unit square, velocity–pressure form.

    u u_x + v u_y + p_x − (u_xx + u_yy)/Re = 0        (momentum_x)
    u v_x + v v_y + p_y − (v_xx + v_yy)/Re = 0        (momentum_y)
    u_x + v_y = 0                                     (continuity)

on (0, 1)², with a *uniform* lid (u, v) = (1, 0) on y = 1 and no-slip (0, 0) on the other walls;
canonical Re = 100. The model maps (x, y) to (u, v, p). The pressure enters only through its
gradient, so it is determined up to a constant; no gauge condition is imposed and p is not
evaluated.

Loss terms: ``momentum_x``, ``momentum_y``, ``continuity`` at points uniform in the square, and
``bc`` (two components per point, ``u − u_wall`` and ``v``) at points uniform on the four walls,
with ``u_wall = 1`` exactly on the lid ``y = 1`` and 0 on the other three walls.

The lid corners are singular: u jumps from 1 (lid) to 0 (side walls) at (0, 1) and (1, 1). A
smooth network cannot follow the jump, so the ``bc`` residual has a floor near those corners and
the velocity error concentrates there. The metric is the rel. L2 of the velocity ``(u, v)`` on
the reference's 257 × 257 node grid *without the two lid-corner nodes*, where the velocity has no
value (any value in [0, 1] is as right as any other); ``extra_metrics`` adds the full-grid value
(with the reference's corner value u = 1) and the u and v errors separately (jaxpi's metric).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from regimebench.derivatives import laplacian, partial
from regimebench.outcomes import TermRole
from regimebench.problem import (
    EvalSet,
    PointwiseTask,
    problem_spec,
    rel_l2,
    uniform_box,
    uniform_box_boundary,
)

SPEC = problem_spec(__file__)  # name and version from problem.toml beside this file
LOWER, UPPER = (0.0, 0.0), (1.0, 1.0)
LID_SPEED = 1.0


def evaluation_grid(ref) -> tuple[EvalSet, jax.Array]:
    """The 257² node grid ("ij": x first) with targets (u, v), and the mask of regular nodes."""
    X, Y = np.meshgrid(ref["x"], ref["y"], indexing="ij")
    pts = np.stack([X.ravel(), Y.ravel()], axis=-1)
    targets = np.stack([ref["u"].ravel(), ref["v"].ravel()], axis=-1)
    ev = EvalSet(jnp.asarray(pts), jnp.asarray(targets), X.shape, ("x", "y"))
    return ev, jnp.asarray(ref["regular"].ravel())


def reference(params: Mapping, task: str):
    """The cached reference (a :class:`regimebench.reference.CachedReference`) for ``params["Re"]``."""
    del task  # one task
    return SPEC.cached_reference({"Re": float(params["Re"])})


def _masked_rel_l2(pred: jax.Array, ref: jax.Array, mask: jax.Array) -> jax.Array:
    """rel. L2 over the rows of ``(m, c)`` arrays where ``mask`` (``(m,)``, 0 or 1) is 1, in the
    reference's dtype (a float32 prediction is cast up)."""
    w = mask[:, None].astype(ref.dtype)
    pred = pred.astype(ref.dtype)
    return jnp.sqrt(jnp.sum(w * (pred - ref) ** 2) / jnp.sum(w * ref**2))


class LidDrivenCavityForward(PointwiseTask):
    """Forward problem: momentum and continuity inside, wall velocities on the boundary."""

    problem: ClassVar[str] = SPEC.name
    task: ClassVar[str] = "forward"
    term_roles: ClassVar[Mapping[str, TermRole]] = {
        "momentum_x": TermRole.RESIDUAL, "momentum_y": TermRole.RESIDUAL,
        "continuity": TermRole.CONSTRAINT, "bc": TermRole.BOUNDARY}
    lower: ClassVar[tuple[float, ...]] = LOWER
    upper: ClassVar[tuple[float, ...]] = UPPER
    out_size: ClassVar[int] = 3  # (u, v, p)

    Re: jax.Array
    eval_set: EvalSet
    regular: jax.Array  # (m,) 1.0 at every evaluation node except the two lid corners

    @classmethod
    def build(cls, params, sizes, reference):
        ev, regular = evaluation_grid(reference.arrays)
        return cls(Re=jnp.asarray(float(params["Re"])), eval_set=ev, regular=regular)

    def sample(self, key, sizes, dtype=float):
        kp, kb = jax.random.split(key)
        return {
            "pde": uniform_box(kp, sizes["pde"], LOWER, UPPER, dtype),
            "bc": uniform_box_boundary(kb, sizes["bc"], LOWER, UPPER, dtype=dtype),
        }

    def residuals(self, model, batch):
        f = self.field(model)

        def interior(z):
            w = f(z)
            w_x, w_y = partial(f, z, 0), partial(f, z, 1)
            lap = laplacian(f, z)
            u, v = w[0], w[1]
            mx = u * w_x[0] + v * w_y[0] + w_x[2] - lap[0] / self.Re
            my = u * w_x[1] + v * w_y[1] + w_y[2] - lap[1] / self.Re
            return mx, my, w_x[0] + w_y[1]

        def wall(z):
            w = f(z)
            # The sampler puts lid points exactly on y = 1; side-wall points never reach it.
            u_wall = jnp.where(z[1] >= UPPER[1], jnp.asarray(LID_SPEED, z.dtype),
                               jnp.zeros((), z.dtype))
            return jnp.stack([w[0] - u_wall, w[1]])

        mx, my, cont = jax.vmap(interior)(batch["pde"])
        return {"momentum_x": mx, "momentum_y": my, "continuity": cont,
                "bc": jax.vmap(wall)(batch["bc"])}

    def predict(self, model, inputs):
        return super().predict(model, inputs)[:, :2]  # (u, v); p is not evaluated

    def error(self, model):
        """rel. L2 of (u, v) on the evaluation grid without the two lid-corner nodes."""
        ev = self.eval_set
        return _masked_rel_l2(self.predict(model, ev.inputs), ev.targets, self.regular)

    def curve_error(self, model):
        ev = self.eval_set
        s = self.curve_stride(ev.inputs.shape[0])
        return _masked_rel_l2(self.predict(model, ev.inputs[::s]), ev.targets[::s],
                              self.regular[::s])

    def extra_metrics(self, model):
        ev = self.eval_set
        pred = self.predict(model, ev.inputs)
        m = self.regular
        return {
            "rel_l2_u": _masked_rel_l2(pred[:, :1], ev.targets[:, :1], m),
            "rel_l2_v": _masked_rel_l2(pred[:, 1:], ev.targets[:, 1:], m),
            "rel_l2_full_grid": rel_l2(pred, ev.targets),
        }


TASKS = {"forward": LidDrivenCavityForward}
