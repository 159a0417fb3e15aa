"""Darcy flow, −∇·(a∇u) = 1 on (0, 1)², u = 0 on the boundary: a PINN task and an operator task.

``forward`` (PINN). ``a = exp(σ z)`` with ``z`` the closed-form smooth random field of
``reference.py`` (:func:`coefficient`, :func:`coefficient_gradient`, differentiable in JAX), so
the strong-form residual ``−a Δu − ∇a·∇u − 1`` is evaluated exactly at any point. Terms: ``pde``
(uniform interior points) and ``bc`` (``u`` on the four edges). Evaluation: the reference's
100 × 100 cell centres. Difficulty: σ, the RMS of ``log a`` (contrast max a / min a ≈ e^{4.8σ}).

``operator`` (the FNO Darcy benchmark). The model maps an input field to the solution field on
the same 85 × 85 cell-centred grid. Conventions (see :mod:`regimebench.components.operators`):

* ``model_io = ((1, 85, 85), 1)``: one input channel, the coefficient normalised with the
  training set's scalar mean and standard deviation; the model returns ``(1, 85, 85)``, decoded as
  ``u = ū + s_u · out`` with the training set's scalar mean ``ū`` and standard deviation ``s_u``
  of ``u`` (Li et al. normalise per pixel; scalar constants keep the decoding independent of the
  resolution).
* ``sample`` draws a minibatch of ``sizes["data"]`` distinct training pairs (all of them when the
  batch is at least the training set), as indices: ``{"data": idx, "pde": idx}`` — the physics
  term is evaluated on the same inputs as the data term.
* ``residuals`` (per sample, flattened fields, so the trainer's mean of squares is the mean of
  squared per-sample relative errors — the FNO benchmark's loss is the mean of the per-sample
  relative L2 itself, not squared):
  ``data = (u_pred − u) / ‖u‖``; ``pde = R(u_pred) / ‖f‖`` with ``R`` the cell-centred
  finite-volume residual of ``−∇·(a∇u) − 1`` on the grid (harmonic face means, ghost-cell
  Dirichlet boundary, the scheme of the reference on its coarsest grid) — the physics loss of
  PINO (Li et al. 2021), there written with central differences.
  Entries choose the terms by their weights: ``fno`` and ``deeponet`` give ``pde`` weight 0
  (pure data), ``pino`` uses ``data = 5, pde = 1``. The unweighted ``pde`` loss is recorded for
  every entry as a physics-consistency diagnostic (and enters the regime labels' training loss).
* ``predict`` maps the 200 test inputs in batches of 10 (memory); ``error`` is the **mean over
  test pairs of the per-sample rel. L2** (Li et al.'s metric); the pooled rel. L2 and the worst
  pair are extra metrics. Curves use the first :data:`CURVE_SAMPLES` test pairs.

Difficulty: contrast ``r`` (``a ∈ {3, 3r}``), values 2, 4, 8, 32; data axis: the number of training
pairs, a *parameter* ``n_train`` (100, 500, 1000; it defines the dataset and so the reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from regimebench.derivatives import gradient, laplacian
from regimebench.outcomes import TermRole
from regimebench.problem import (
    AbstractTask,
    EvalSet,
    HardConstraint,
    PointwiseTask,
    model_dtype,
    problem_spec,
    rel_l2,
    uniform_box,
    uniform_box_boundary,
)

SPEC = problem_spec(__file__)  # name and version from problem.toml beside this file
LOWER, UPPER = (0.0, 0.0), (1.0, 1.0)
CURVE_SAMPLES = 8
PREDICT_BATCH = 10


def _ref():
    return SPEC.reference_module


def reference_params(params: dict, task: str) -> dict:
    """The parameters that define the reference of ``task`` (the cache key)."""
    if task == "forward":
        return {"task": "forward", "sigma": float(params["sigma"])}
    if task == "operator":
        return {"task": "operator", "contrast": float(params["contrast"]),
                "n_train": int(params["n_train"]), "n_test": int(params["n_test"]),
                "seed": int(params["seed"])}
    raise ValueError(f"darcy has no task {task!r}")


def reference(params: Mapping, task: str):
    """The cached reference of ``task`` (a :class:`regimebench.reference.CachedReference`)."""
    return SPEC.cached_reference(reference_params(params, task))


# ---------------------------------------------------------------------------------------------
# forward


class DarcyForward(PointwiseTask):
    """PINN: strong-form residual inside, homogeneous Dirichlet data on the edges."""

    problem: ClassVar[str] = SPEC.name
    task: ClassVar[str] = "forward"
    term_roles: ClassVar[Mapping[str, TermRole]] = {"pde": TermRole.RESIDUAL,
                                                    "bc": TermRole.BOUNDARY}
    # −∇·(a∇u) − 1 = 0 is the Euler–Lagrange equation of ∫ ½a|∇u|² − u (regimebench.ritz).
    energy_form: ClassVar[str | None] = "darcy"
    lower: ClassVar[tuple[float, ...]] = LOWER
    upper: ClassVar[tuple[float, ...]] = UPPER
    out_size: ClassVar[int] = 1
    # u = 0 on all four edges: a hard constraint makes the boundary term exact
    hard_constraint: ClassVar[HardConstraint | None] = HardConstraint(
        faces=((0, -1), (0, 1), (1, -1), (1, 1)), terms=("bc",))

    sigma: jax.Array
    eval_set: EvalSet

    @classmethod
    def build(cls, params, sizes, reference):
        arr = reference.arrays
        X, Y = np.meshgrid(arr["x"], arr["y"], indexing="ij")
        pts = np.stack([X.ravel(), Y.ravel()], axis=-1)
        ev = EvalSet(jnp.asarray(pts), jnp.asarray(arr["u"].reshape(-1, 1)), X.shape, ("x", "y"))
        return cls(sigma=jnp.asarray(float(params["sigma"])), eval_set=ev)

    def sample(self, key, sizes, dtype=float):
        kp, kb = jax.random.split(key)
        return {"pde": uniform_box(kp, sizes["pde"], LOWER, UPPER, dtype),
                "bc": uniform_box_boundary(kb, sizes["bc"], LOWER, UPPER, dtype=dtype)}

    def residuals(self, model, batch):
        u = self.field(model)
        ref = _ref()

        def pde(x):
            a = ref.coefficient(x[0], x[1], self.sigma, xp=jnp)
            ax, ay = ref.coefficient_gradient(x[0], x[1], self.sigma, xp=jnp)
            g = gradient(u, x)[0]
            return -a * laplacian(u, x)[0] - ax * g[0] - ay * g[1] - 1.0

        return {"pde": jax.vmap(pde)(batch["pde"]), "bc": jax.vmap(u)(batch["bc"])[:, 0]}

    def residual_scales(self, batch):
        """The PDE residual is ``a(x)`` times that of ``−Δu − ∇log a·∇u − 1/a``: unweighted, the
        low-``a`` regions, where ``u`` curves most, count up to (max a / min a)² less."""
        ref = _ref()
        a = jax.vmap(lambda x: ref.coefficient(x[0], x[1], self.sigma, xp=jnp))(batch["pde"])
        return {"pde": a, "bc": None}


# ---------------------------------------------------------------------------------------------
# operator


def fv_residual(a: jax.Array, u: jax.Array, f: float = 1.0) -> jax.Array:
    """``−∇·(a∇u) − f`` per cell of an ``n × n`` cell-centred grid of the unit square.

    Fluxes through interior faces use the harmonic mean of the two cell coefficients, boundary
    faces the ghost-cell Dirichlet flux ``2 a_c u_c / h`` (u = 0 half a cell away); the result is
    the net outward flux divided by the cell area ``h²``, minus ``f``.
    """
    n = a.shape[-1]
    tx = 2.0 * a[1:, :] * a[:-1, :] / (a[1:, :] + a[:-1, :])
    ty = 2.0 * a[:, 1:] * a[:, :-1] / (a[:, 1:] + a[:, :-1])
    fx = tx * (u[1:, :] - u[:-1, :])  # flux from cell i+1 into cell i (per unit h)
    fy = ty * (u[:, 1:] - u[:, :-1])
    out = jnp.zeros_like(u)
    out = out.at[:-1, :].add(-fx).at[1:, :].add(fx).at[:, :-1].add(-fy).at[:, 1:].add(fy)
    out = out.at[0, :].add(2.0 * a[0, :] * u[0, :]).at[-1, :].add(2.0 * a[-1, :] * u[-1, :])
    out = out.at[:, 0].add(2.0 * a[:, 0] * u[:, 0]).at[:, -1].add(2.0 * a[:, -1] * u[:, -1])
    return out * n * n - f


class DarcyOperator(AbstractTask):
    """The FNO Darcy benchmark: learn ``a ↦ u`` from ``n_train`` pairs, test on 200."""

    problem: ClassVar[str] = SPEC.name
    task: ClassVar[str] = "operator"
    term_roles: ClassVar[Mapping[str, TermRole]] = {"data": TermRole.DATA,
                                                    "pde": TermRole.RESIDUAL}

    a_train: jax.Array  # (n_train, n, n) raw coefficients
    u_train: jax.Array  # (n_train, n, n)
    a_mean: jax.Array  # scalars: arrays, so the training view casts them with the data
    a_std: jax.Array
    u_mean: jax.Array
    u_std: jax.Array
    eval_set: EvalSet  # inputs: raw test coefficients (m, n, n); targets: u (m, n, n)

    @classmethod
    def build(cls, params, sizes, reference):
        arr = reference.arrays
        a_tr, u_tr = arr["a_train"], arr["u_train"]
        if a_tr.shape[0] < 1:
            raise ValueError("the operator task needs at least one training pair (n_train >= 1)")
        ev = EvalSet(jnp.asarray(arr["a_test"]), jnp.asarray(arr["u_test"]),
                     arr["u_test"].shape, ("sample", "x", "y"))
        a_std = float(a_tr.std()) or 1.0  # a constant coefficient (contrast 1) has no spread
        return cls(
            a_train=jnp.asarray(a_tr), u_train=jnp.asarray(u_tr),
            a_mean=jnp.asarray(float(a_tr.mean())), a_std=jnp.asarray(a_std),
            u_mean=jnp.asarray(float(u_tr.mean())), u_std=jnp.asarray(float(u_tr.std())),
            eval_set=ev,
        )

    @property
    def model_io(self):
        n = self.a_train.shape[-1]
        return ((1, n, n), 1)

    def encode(self, a: jax.Array, dtype) -> jax.Array:
        """Raw coefficient ``(n, n)`` → model input ``(1, n, n)`` in ``dtype``."""
        a = a.astype(dtype)
        return ((a - self.a_mean.astype(dtype)) / self.a_std.astype(dtype))[None]

    def apply(self, model, a: jax.Array) -> jax.Array:
        """The predicted solution ``(n, n)`` for one raw coefficient field, in the model's dtype
        (the stored data are float64; a float32 entry computes in float32)."""
        dtype = model_dtype(model)
        out = model(self.encode(a, dtype))[0]
        return self.u_mean.astype(dtype) + self.u_std.astype(dtype) * out

    def sample(self, key, sizes, dtype=float):
        n_train = self.a_train.shape[0]
        m = min(int(sizes["data"]), n_train)
        idx = jax.random.choice(key, n_train, (m,), replace=False)
        return {"data": idx, "pde": idx}

    def residuals(self, model, batch):
        idx = batch["data"]
        a, u = self.a_train[idx], self.u_train[idx]
        pred = jax.vmap(lambda x: self.apply(model, x))(a)
        a, u = a.astype(pred.dtype), u.astype(pred.dtype)
        m, n = a.shape[0], a.shape[-1]
        norm_u = jnp.linalg.norm(u.reshape(m, -1), axis=-1, keepdims=True)
        data = (pred - u).reshape(m, -1) / norm_u
        pde = jax.vmap(fv_residual)(a, pred).reshape(m, -1) / n  # ‖f‖ = n for f = 1 on n² cells
        return {"data": data, "pde": pde}

    def predict(self, model, inputs):
        return jax.lax.map(lambda x: self.apply(model, x), inputs,
                           batch_size=min(PREDICT_BATCH, inputs.shape[0]))

    @staticmethod
    def _per_sample(pred, ref):
        m = ref.shape[0]
        pred = pred.astype(ref.dtype)  # compared in the reference's float64
        return (jnp.linalg.norm((pred - ref).reshape(m, -1), axis=-1)
                / jnp.linalg.norm(ref.reshape(m, -1), axis=-1))

    def error(self, model):
        """Mean over test pairs of the per-sample relative L2 error (in float64)."""
        pred = self.predict(model, self.eval_set.inputs)
        return self._per_sample(pred, self.eval_set.targets).mean()

    def curve_error(self, model):
        """Mean per-sample rel. L2 over the first :data:`CURVE_SAMPLES` test pairs."""
        k = min(CURVE_SAMPLES, self.eval_set.inputs.shape[0])
        pred = self.predict(model, self.eval_set.inputs[:k])
        return self._per_sample(pred, self.eval_set.targets[:k]).mean()

    def extra_metrics(self, model):
        pred = self.predict(model, self.eval_set.inputs)
        ref = self.eval_set.targets
        per = self._per_sample(pred, ref)
        return {"rel_l2_pooled": rel_l2(pred, ref), "rel_l2_max": per.max(),
                "rel_l2_median": jnp.median(per)}


TASKS = {"forward": DarcyForward, "operator": DarcyOperator}


def make_task(task: str, params: dict, sizes: dict) -> Any:
    """The task object (what :meth:`regimebench.problem.ProblemSpec.make_task` returns)."""
    return SPEC.make_task(task, params, sizes)
