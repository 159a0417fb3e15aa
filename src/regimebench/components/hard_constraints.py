"""Hard boundary and initial conditions on box domains: ``u = g + φ · net``.

Sukumar & Srivastava (2022), "Exact imposition of boundary conditions with distance functions in
physics-informed deep neural networks" (CMAME 389): multiply the network by an approximate
distance function ``φ`` that vanishes exactly on the constrained faces, and add a *lifting* ``g``
that carries the boundary data there. The constrained loss terms are then zero by construction
and can leave the loss (and a natural-gradient step's Jacobian).

Pointwise tasks hand their model inputs rescaled to ``z ∈ [-1, 1]^d``
(:meth:`regimebench.problem.PointwiseTask.field`), so the faces are ``z_i = ±1`` whatever the
physical box. For face ``z_i = −1`` the factor is ``(1 + z_i)/2``, for ``z_i = +1``
``(1 − z_i)/2``, for both ``1 − z_i²``: each lies in ``[0, 1]``, is exactly zero on its face and
is 1 at the opposite face (or the centre), so ``φ`` is a product of normalised distances. The
lifting is given in *physical* coordinates (the task's ``lower``/``upper`` map ``z`` back), since
that is how problems state their data.

Entries ask for it with ``hard_constraint = true`` in ``[architecture]``; the task supplies
the faces, the lifting and the terms made exact through its declared
:class:`~regimebench.problem.HardConstraint` (:func:`constrain`, :func:`exact_terms`).

Example (Burgers: u = −sin(πx) at t = 0 and u = 0 at x = ±1, points ``(t, x)``)::

    model = BoxConstraint(net, faces=((0, -1), (1, -1), (1, +1)),
                          lower=task.lower, upper=task.upper,
                          lifting=lambda x: -jnp.sin(jnp.pi * x[1:2]))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["BoxConstraint", "box_distance", "parse_faces", "constrain", "exact_terms"]

Face = tuple[int, int]


def parse_faces(faces: Sequence[Sequence[int]], in_size: int) -> tuple[Face, ...]:
    """Validate ``(dim, side)`` pairs (side −1: the face ``z_dim = −1``; +1: ``z_dim = +1``)."""
    out = []
    for f in faces:
        if len(f) != 2 or int(f[1]) not in (-1, 1) or not 0 <= int(f[0]) < in_size:
            raise ValueError(f"hard constraint: a face is (dim, side) with 0 ≤ dim < {in_size} "
                             f"and side ±1, got {tuple(f)!r}")
        out.append((int(f[0]), int(f[1])))
    if len(set(out)) != len(out) or not out:
        raise ValueError(f"hard constraint: faces must be distinct and non-empty, got {out}")
    return tuple(sorted(out))


def box_distance(z: jax.Array, faces: tuple[Face, ...]) -> jax.Array:
    """``φ(z)``: product over dims of the normalised distances to the dim's constrained faces.

    Exactly 0 on every face in ``faces`` (a factor is ``1 ± z_i`` in floating point, which is 0
    when ``z_i = ∓1`` exactly); in ``[0, 1]`` on the box.
    """
    phi = jnp.ones((), z.dtype)
    for dim in sorted({d for d, _ in faces}):
        sides = {s for d, s in faces if d == dim}
        if sides == {-1, 1}:
            phi = phi * (1.0 - z[dim]) * (1.0 + z[dim])
        elif sides == {-1}:
            phi = phi * (1.0 + z[dim]) / 2.0
        else:
            phi = phi * (1.0 - z[dim]) / 2.0
    return phi


class BoxConstraint(eqx.Module):
    """``u(z) = g(x(z)) + φ(z) · net(z)`` on the constrained outputs; the others pass through.

    Arguments:
        net: the network, ``(d,) → (c,)``.
        faces: ``(dim, side)`` pairs of the constrained faces (see :func:`parse_faces`).
        lower, upper: the task's physical box (to evaluate the lifting in physical coordinates).
        lifting: ``g(x) -> (c_constrained,)`` in physical coordinates, equal to the boundary data
            on the constrained faces (``None``: homogeneous data, g = 0). It must be
            differentiable: residuals take its derivatives.
        outputs: indices of the constrained outputs (``None``: all of them).
    """

    net: eqx.Module
    faces: tuple[Face, ...] = eqx.field(static=True)
    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)
    lifting: Callable[[jax.Array], jax.Array] | None = eqx.field(static=True, default=None)
    outputs: tuple[int, ...] | None = eqx.field(static=True, default=None)

    def __init__(self, net, *, faces, lower, upper, lifting=None, outputs=None):
        self.net = net
        self.lower = tuple(float(v) for v in lower)
        self.upper = tuple(float(v) for v in upper)
        if len(self.lower) != len(self.upper):
            raise ValueError("hard constraint: lower and upper need the same length")
        self.faces = parse_faces(faces, len(self.lower))
        self.lifting = lifting
        self.outputs = None if outputs is None else tuple(int(i) for i in outputs)

    def __call__(self, z: jax.Array) -> jax.Array:
        out = self.net(z)
        idx = jnp.arange(out.shape[0]) if self.outputs is None else jnp.asarray(self.outputs)
        phi = box_distance(z, self.faces)
        constrained = phi * out[idx]
        if self.lifting is not None:
            lo = jnp.asarray(self.lower, z.dtype)
            hi = jnp.asarray(self.upper, z.dtype)
            x = lo + (z + 1.0) * (hi - lo) / 2.0
            constrained = constrained + jnp.asarray(self.lifting(x), z.dtype).reshape(-1)
        return out.at[idx].set(constrained)


def _declaration(task):
    hc = getattr(task, "hard_constraint", None)
    if hc is None:
        raise ValueError(f"hard_constraint: problem {task.problem!r} task {task.task!r} declares "
                         "no hard constraint (HardConstraint in its problem.py)")
    return hc


def constrain(net: eqx.Module, task) -> BoxConstraint:
    """``net`` wrapped in the hard constraint ``task`` declares
    (:attr:`regimebench.problem.PointwiseTask.hard_constraint`); a one-line ``ValueError`` if
    it declares none."""
    hc = _declaration(task)
    return BoxConstraint(net, faces=hc.faces, lower=task.lower, upper=task.upper,
                         lifting=hc.lifting, outputs=hc.outputs)


def exact_terms(task) -> tuple[str, ...]:
    """The loss terms the declared hard constraint of ``task`` satisfies exactly."""
    return tuple(_declaration(task).terms)
