"""PirateNet's physics-informed initialisation: the output layer fitted to the task's data.

Wang, Li, Chen & Perdikaris (2024), "PirateNets", Sec. 3.3: at initialisation every residual
block of a PirateNet is the identity (its gate ``α`` is 0), so the network is *linear* in its
output layer, ``u(x) = W Φ(x) + b``. Fitting ``(W, b)`` by least squares to the data the problem
gives — the initial condition, the boundary values — starts training from a network that
already (nearly) satisfies them, instead of from a random linear combination of features.

Here the fit is expressed through the task's own residuals, so it needs nothing a task does not
already provide: for the chosen terms (by default those whose role is boundary or initial,
:data:`regimebench.task_wiring.INIT_ROLES`) it solves

    min_{W, b} Σ_k mean_i r_{k,i}(W, b)²     (+ ridge · ‖(W, b) − (W₀, b₀)‖²)

on the seed's first batch. Fitting the initial condition at t = 0 alone leaves the network's
time dependence free, and the least-squares layer can be huge there (measured on allen-cahn with
the jaxpi recipe: PDE loss 2e8 after the fit against 15 before). jaxpi therefore fits the
initial data *extended constant in time* over the whole box ("initial_condition" type, pirate
branch): ``points = "pde"`` evaluates the chosen terms on the interior points instead of their
own, which for an initial residual written pointwise, ``u(t, x) − u₀(x)``, is that fit.

Boundary and initial residuals are affine in ``u`` (``u − g``,
``u(x⁻) − u(x⁺)``, ``∂u/∂n − h``), hence affine in ``(W, b)``: one Gauss–Newton step from the
drawn ``(W₀, b₀)``, with the Jacobian taken by forward mode over the few output-layer
parameters, lands exactly on the least-squares solution (the residual is then orthogonal to
the columns of the Jacobian, the features). The solve is ``jnp.linalg.lstsq`` (SVD), pure and
vmappable over seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .components.architectures import PirateNet

__all__ = ["fit_output_layer", "output_layer", "init_residual_vector"]


def output_layer(model: Any) -> Callable[[Any], Any]:
    """``where(model) -> output layer`` of the PirateNet in ``model`` (the model itself, or one
    held in a wrapper's ``net`` field: a hard constraint, an inverse task's model). ``ValueError``
    if there is none."""
    if isinstance(model, PirateNet):
        return lambda m: m.output
    inner = getattr(model, "net", None)
    if inner is not None:
        where = output_layer(inner)
        return lambda m: where(m.net)
    raise ValueError(f"physics_init: no PirateNet in the model ({type(model).__name__})")


def init_residual_vector(task: Any, model: Any, batch: dict, terms: Sequence[str]) -> jax.Array:
    """The stacked residuals of ``terms``, each scaled by ``1/√n_k``: its squared norm is
    ``Σ_k mean r_k²``, the objective the initialisation minimises."""
    res = task.residuals(model, batch)
    return jnp.concatenate([(res[k] / math.sqrt(res[k].shape[0])).ravel() for k in terms])


def fit_output_layer(model: Any, task: Any, batch: dict, terms: Sequence[str],
                     ridge: float = 0.0, points: str | None = None) -> Any:
    """``model`` with its PirateNet's output layer (weights and bias) fitted by least squares to
    the residuals of ``terms`` on ``batch`` (see the module docstring).

    Arguments:
        model: the trainable model (a PirateNet, or a wrapper holding one in ``net``).
        task: the task whose residuals are fitted.
        batch: training points (the seed's first batch).
        terms: names of the fitted terms (boundary/initial data).
        ridge: Tikhonov weight pulling towards the drawn layer (0: the plain least squares).
        points: evaluate every term on the points of this batch entry instead of its own
            (``"pde"``: the interior of the space-time box; see the module docstring).

    Returns:
        ``model`` with the output layer's ``weight`` and ``bias`` replaced (a factorised layer
        keeps its scales: the residual is affine in its direction matrix too).
    """
    if points is not None:
        batch = {**batch, **{k: batch[points] for k in terms}}
    where = output_layer(model)
    layer = where(model)
    flat0, unravel = ravel_pytree((layer.weight, layer.bias))

    def with_layer(flat):
        w, b = unravel(flat)
        return eqx.tree_at(lambda m: (where(m).weight, where(m).bias), model, (w, b))

    def residual(flat):
        return init_residual_vector(task, with_layer(flat), batch, terms)

    r0 = residual(flat0)
    J = jax.jacfwd(residual)(flat0)
    if ridge:
        J = jnp.concatenate([J, math.sqrt(ridge) * jnp.eye(flat0.shape[0], dtype=J.dtype)])
        r0 = jnp.concatenate([r0, jnp.zeros(flat0.shape, r0.dtype)])
    step = jnp.linalg.lstsq(J, r0)[0]
    return with_layer(flat0 - step)
