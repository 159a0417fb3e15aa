"""Deep Ritz (energy) loss forms of the elliptic tasks (E & Yu 2018, "The Deep Ritz method").

A symmetric elliptic problem ``−∇·(a∇u) − κu + f = 0`` in Ω with ``u = 0`` on ∂Ω is the
Euler–Lagrange equation of the energy

    E(u) = ∫_Ω e(x) dx,   e = ½ a |∇u|² − ½ κ u² + f u,

which is bounded below when ``κ`` stays below the first Dirichlet eigenvalue of ``−∇·(a∇·)``.
The catalogue's elliptic tasks in this form:

* helmholtz, ``Δu + k²u = q``: ``a = 1, κ = k², f = q``. Multiplying the strong form by −1 gives
  ``−Δu − k²u + q = 0``, so the *sign* of ``f`` is that of ``q``: E = ∫ ½|∇u|² − ½k²u² + qu. On
  [−1, 1]² the first Dirichlet eigenvalue is π²/2, so the canonical k = 1 is bounded below.
* darcy forward, ``−∇·(a∇u) = 1``: ``a = exp(σ z)``, ``κ = 0``, ``f = −1``.

The energy is estimated by Monte Carlo on the task's uniform interior points,
``E ≈ |Ω| · mean_i e(x_i)``; the Dirichlet condition is imposed either by a hard constraint
(:mod:`regimebench.components.hard_constraints`; no boundary term) or by the penalty
``½ β |∂Ω| mean_j u(x_j)²`` on the task's boundary points.

Natural gradient for an energy: the metric is the Gram matrix of the energy's principal part plus
a mass term, ``G = ∫ a ∂θ∇u ∂θ∇uᵀ + m ∂θu ∂θuᵀ`` (+ the penalty's ``β ∂θu ∂θuᵀ`` on ∂Ω), which is
``JᵀJ`` for the per-point rows ``q = [√a ∇u, √m u]`` scaled by ``√(|Ω|/N)``. The right-hand side
``s = [√a ∇u, (f − κu)/√m]`` satisfies ``Jᵀ s = ∇_θ E``, so the sample-space solve of
:mod:`regimebench.components.natural_gradient` applies unchanged (:func:`ritz_ng_step`).
``m > 0`` keeps ``G`` positive definite (the energy's own Hessian, with ``−κ``, is indefinite under
Monte Carlo quadrature); for helmholtz at k = 1 the two are spectrally equivalent.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ._catalogue import load_problem_module
from ._registry import Registry
from .components import natural_gradient as ng
from .derivatives import gradient

__all__ = ["RitzForm", "HelmholtzRitz", "DarcyRitz", "ritz_forms", "energy_density",
           "ritz_energy", "ritz_rows", "ritz_ng_step", "RITZ_TERMS"]

Field = Callable[[jax.Array], jax.Array]

#: The terms of a Ritz loss: the interior energy rows (from the ``pde`` points) and the
#: boundary penalty (from the ``bc`` points).
RITZ_TERMS = ("energy", "bc")


class RitzForm(eqx.Module):
    """The coefficients ``(a, κ, f)`` of a symmetric elliptic problem, pointwise, and its box."""

    lower: eqx.AbstractVar[tuple[float, ...]]
    upper: eqx.AbstractVar[tuple[float, ...]]

    @abc.abstractmethod
    def coefficients(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(a(x), κ(x), f(x))`` at one physical point ``x`` of shape ``(d,)``."""

    @property
    def measure(self) -> float:
        """|Ω| of the box."""
        return math.prod(h - lo for lo, h in zip(self.lower, self.upper))

    @property
    def boundary_measure(self) -> float:
        """|∂Ω| of the box (the sum of its face measures)."""
        w = [h - lo for lo, h in zip(self.lower, self.upper)]
        if len(w) == 1:
            return 2.0
        return 2.0 * sum(math.prod(w[:i] + w[i + 1:]) for i in range(len(w)))


class HelmholtzRitz(RitzForm):
    """``Δu + k²u = q``: a = 1, κ = k², f = q (the task's manufactured source)."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    a1: float
    a2: float
    k: float

    def coefficients(self, x):
        q = load_problem_module("helmholtz", "problem").source(x, self.a1, self.a2, self.k)
        return jnp.ones_like(q), jnp.asarray(self.k**2, x.dtype), q


class DarcyRitz(RitzForm):
    """``−∇·(a∇u) = 1``: a = exp(σ z) (the reference's closed form), κ = 0, f = −1."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    sigma: float

    def coefficients(self, x):
        a = load_problem_module("darcy", "reference").coefficient(x[0], x[1], self.sigma, xp=jnp)
        return a, jnp.zeros_like(a), -jnp.ones_like(a)


ritz_forms: Registry[Callable[[Any], RitzForm]] = Registry("Ritz form")
ritz_forms.register("helmholtz", doc="Δu + k²u = q (bounded below for k² < π²/2)")(
    lambda task: HelmholtzRitz(a1=task.a1, a2=task.a2, k=task.k,
                               lower=tuple(task.lower), upper=tuple(task.upper)))
ritz_forms.register("darcy", doc="−∇·(a∇u) = 1, a = exp(σ z)")(
    lambda task: DarcyRitz(sigma=task.sigma, lower=tuple(task.lower), upper=tuple(task.upper)))


def energy_density(form: RitzForm, u: Field, x: jax.Array) -> jax.Array:
    """``e(x) = ½ a |∇u|² − ½ κ u² + f u`` for a scalar field ``u`` (output shape ``(1,)``)."""
    a, kappa, f = form.coefficients(x)
    g = gradient(u, x)[0]
    v = u(x)[0]
    return 0.5 * a * jnp.sum(g**2) - 0.5 * kappa * v**2 + f * v


def ritz_energy(form: RitzForm, task: Any, model: Any, batch: dict[str, jax.Array],
                boundary_weight: float = 0.0) -> jax.Array:
    """``|Ω| mean e(x_i)`` over ``batch["pde"]`` plus ``½ β |∂Ω| mean u²`` over ``batch["bc"]``
    (``β = boundary_weight``; 0 with a hard constraint)."""
    u = task.field(model)
    energy = form.measure * jnp.mean(jax.vmap(lambda x: energy_density(form, u, x))(batch["pde"]))
    if boundary_weight:
        ub = jax.vmap(u)(batch["bc"])[:, 0]
        energy = energy + 0.5 * boundary_weight * form.boundary_measure * jnp.mean(ub**2)
    return energy


def ritz_rows(form: RitzForm, task: Any, model: Any, batch: dict[str, jax.Array],
              mass: float = 1.0) -> tuple[dict[str, jax.Array], dict[str, jax.Array]]:
    """Per-point rows ``q`` whose Jacobian gives the Gram matrix, and the targets ``s``.

    Returns ``(q, s)``, dicts over :data:`RITZ_TERMS`: ``energy`` ``(n, d + 1)`` =
    ``[√a ∇u, √m u]`` and ``[√a ∇u, (f − κu)/√m]``; ``bc`` ``(n_b,)`` = ``u`` for both.
    Stack them with term weights ``|Ω|`` (``energy``) and ``β |∂Ω|`` (``bc``).
    """
    u = task.field(model)
    sm = math.sqrt(mass)

    def interior(x):
        a, kappa, f = form.coefficients(x)
        g = jnp.sqrt(a) * gradient(u, x)[0]
        v = u(x)[0]
        return jnp.append(g, sm * v), jnp.append(g, (f - kappa * v) / sm)

    q, s = jax.vmap(interior)(batch["pde"])
    ub = jax.vmap(u)(batch["bc"])[:, 0]
    return {"energy": q, "bc": ub}, {"energy": s, "bc": ub}


def ritz_ng_step(form: RitzForm, task: Any, static: Any, params: Any, state: ng.NGState,
                 batch: dict[str, jax.Array], config: ng.NGConfig,
                 boundary_weight: float = 0.0, mass: float = 1.0,
                 search_batch: dict[str, jax.Array] | None = None):
    """One energy natural-gradient step on the Ritz energy (line search on the energy itself).

    With ``boundary_weight = 0`` (a hard constraint) the boundary rows are left out.
    ``search_batch``: independent points on which the line search compares the energies
    (default: ``batch``), as in :func:`~regimebench.components.natural_gradient.ng_step`.
    Returns ``(new params, new state, NGInfo)`` like :func:`~regimebench.components.
    natural_gradient.ng_step`.
    """
    terms = ("energy", "bc") if boundary_weight else ("energy",)
    tw = {"energy": form.measure, "bc": boundary_weight * form.boundary_measure}
    pw = {t: None for t in terms}
    flat, unravel = ravel_pytree(params)

    def rows(model, b):
        return ritz_rows(form, task, model, b, mass)[0]

    _, J = ng.residual_system(rows, static, params, batch, tw, pw, terms, config.jacobian_mode)
    s = ng.stack_rows(ritz_rows(form, task, eqx.combine(params, static), batch, mass)[1],
                      tw, pw, terms)

    search = batch if search_batch is None else search_batch

    def energy(f):
        return ritz_energy(form, task, eqx.combine(unravel(f), static), search, boundary_weight)

    new_flat, new_state, info = ng.ng_update(flat, s, J, state, energy, energy(flat), config,
                                             model_scale=0.5)
    return unravel(new_flat), new_state, info
