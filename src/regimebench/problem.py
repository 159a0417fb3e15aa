"""The problem abstraction: a catalogue entry, its tasks, and what the trainer asks of them.

A catalogue entry is a folder ``problems/<name>/`` holding

* ``problem.toml`` — the *fixed* facts: name, version, tasks with their default solver entry,
  canonical parameters, the difficulty axis and data axis used by regime maps, regime thresholds,
  collocation sizes per budget tier, and optional budget overrides (per problem and per task);
* ``problem.py`` — the equations: one final task class per task, listed in a table
  ``TASKS = {"forward": MyForward, ...}``, and ``reference(params, task)``;
* ``reference.py`` — the reference generator (see :mod:`regimebench.reference`);
* ``README.md`` — the user-facing description with citations.

``problems/_template/`` is a complete entry to copy; ``tests/test_problem_contract.py`` checks
every entry (and a copy of the template) against the contract below.

A *task* (``forward``, ``inverse``, ``operator``) is a final :class:`equinox.Module` that knows
how to sample training points, how to turn a model into **named, per-point residuals** (``pde``,
``bc``, ``ic``, ``data``, …) and how to evaluate the model against the reference. The trainer only
ever talks to a task; it never branches on the problem's name. What each term enforces is
*declared* (:attr:`AbstractTask.term_roles`, a :class:`~regimebench.outcomes.TermRole` per term),
never guessed from its name: weightings that treat equation residuals and constraints differently
(grad-norm), the gradient-SNR probe and the labels read the roles.

The training loss of a run is ``Σ_k w_k · mean_i(p_{k,i} · r_{k,i}²)`` where ``r_k`` are the
residuals of term ``k``, ``w_k`` the term weights and ``p_k`` optional per-point weights, both
supplied by the entry's weighting component. The *unweighted* loss ``Σ_k mean(r_k²)`` is what
regime labels use, so entries with different weightings are judged on the same quantity.

Numeric policy. A task holds its physics parameters (``a2``, ``ν``, ``Re``, …) and data as
float64 *array* leaves, so one compiled program serves every value of a difficulty sweep. The
trainer trains on :func:`training_view` of the task: every floating leaf cast to the entry's
dtype, except the reference values of the evaluation set, which stay float64. A float32 entry
therefore samples, trains and predicts in float32, and its errors are computed in float64 against
the float64 reference (:func:`rel_l2` casts the prediction up).
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._problem_toml import list_problems, load_problem, problem_spec
from .outcomes import TermRole
from .problem_spec import Axis, ProblemError, ProblemSpec, TaskInfo, Thresholds

__all__ = [
    "AbstractTask",
    "PointwiseTask",
    "HardConstraint",
    "EvalSet",
    "Axis",
    "Thresholds",
    "TaskInfo",
    "ProblemSpec",
    "ProblemError",
    "EQUATION_ROLES",
    "CURVE_POINTS",
    "list_problems",
    "load_problem",
    "problem_spec",
    "rel_l2",
    "squared_residuals",
    "model_dtype",
    "training_view",
    "traced_in",
    "tensor_grid_eval_set",
    "uniform",
    "uniform_box",
    "uniform_box_boundary",
]

Batch = dict[str, jax.Array]
Residuals = dict[str, jax.Array]

#: Roles of the terms that are equations to satisfy inside the domain (the PDE residual and
#: auxiliary equations such as incompressibility), as opposed to boundary, initial and data terms.
EQUATION_ROLES = frozenset({TermRole.RESIDUAL, TermRole.CONSTRAINT})

#: Training curves evaluate rel. L2 on a fixed subsample of at most this many evaluation points:
#: every ⌈m / CURVE_POINTS⌉-th point of the flattened evaluation set (the same points at every
#: log and for every seed). The final metrics use the whole set. See :meth:`AbstractTask.curve_error`.
CURVE_POINTS = 1024


def rel_l2(pred: jax.Array, ref: jax.Array) -> jax.Array:
    """‖pred − ref‖₂ / ‖ref‖₂ over all entries (the metric of every cited repository).

    Computed in ``ref``'s dtype: a float32 prediction is cast up and compared in float64.
    """
    pred = pred.astype(ref.dtype)
    return jnp.linalg.norm((pred - ref).ravel()) / jnp.linalg.norm(ref.ravel())


def squared_residuals(r: jax.Array) -> jax.Array:
    """Squared residual per point: ``r²`` for ``(n,)``, the squared norm over components for
    ``(n, c)``. The one definition the loss, the weightings and the probes use."""
    r2 = r**2
    return r2.sum(axis=-1) if r2.ndim > 1 else r2


def model_dtype(model: Any):
    """The floating dtype of ``model``'s parameters (float64 if it has none)."""
    leaves = [x for x in jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array))]
    return jnp.result_type(*leaves) if leaves else jnp.dtype(jnp.float64)


@contextlib.contextmanager
def traced_in(dtype):
    """Trace third-party code (optax, ``jax.experimental.jet``) so that it computes in ``dtype``.

    Such code makes constants from Python numbers (``b1 ** count``, factorials), which trace as
    float64 while x64 is on, and mixes them in ways strict dtype promotion rejects. Inside this
    context x64 is off when ``dtype`` is 32-bit or narrower (so those constants are float32: an
    entry computes in its declared dtype), and promotion is ``standard``.
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(jax.numpy_dtype_promotion("standard"))
        if jnp.dtype(dtype).itemsize < 8:
            stack.enter_context(jax.enable_x64(False))
        yield


class EvalSet(eqx.Module):
    """Evaluation inputs and reference outputs.

    ``inputs`` are points ``(m, d)`` for pointwise tasks (or input fields for operator tasks);
    ``targets`` are ``(m, c)``; ``grid_shape`` lets pages and diagnostics reshape a flat set back
    to its tensor grid (e.g. ``(201, 201)``), with ``axes`` naming its dimensions. An axis named
    ``"t"`` is time, and must be the task's ``time_axis`` (checked by the contract test).
    """

    inputs: jax.Array
    targets: jax.Array
    grid_shape: tuple[int, ...] = eqx.field(static=True)
    axes: tuple[str, ...] = eqx.field(static=True)


def tensor_grid_eval_set(coords: Sequence[Any], values: Any, axes: tuple[str, ...]) -> EvalSet:
    """An :class:`EvalSet` on the tensor grid of 1-D ``coords`` (``ij`` order, first axis slowest).

    ``values`` has the grid's shape, optionally with a trailing channel axis; it is flattened to
    ``(m, c)`` in the same order as the points.
    """
    mesh = np.meshgrid(*[np.asarray(c) for c in coords], indexing="ij")
    points = np.stack([m.ravel() for m in mesh], axis=-1)
    vals = np.asarray(values)
    channels = vals.shape[len(mesh[0].shape):] or (1,)
    return EvalSet(jnp.asarray(points), jnp.asarray(vals.reshape(-1, *channels)),
                   tuple(mesh[0].shape), tuple(axes))


def training_view(task: AbstractTask, dtype) -> AbstractTask:
    """``task`` as an entry of ``dtype`` trains on it (see the module docstring).

    Every floating array leaf is cast to ``dtype`` — physics parameters, stored data, evaluation
    inputs — except ``eval_set.targets``, the float64 reference the errors are computed against.
    Integer leaves (indices) are left alone.
    """
    targets = task.eval_set.targets
    cast = jax.tree.map(lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, task)
    return eqx.tree_at(lambda t: t.eval_set.targets, cast, targets)


class AbstractTask(eqx.Module):
    """One training objective of one problem. Subclasses are final and hold all their fields.

    Declared by subclasses (class variables):
        ``problem``, ``task`` — the catalogue names;
        ``term_roles`` — ``{term: TermRole}``, one entry per loss term in a fixed order (the
        order of :attr:`term_names`, of the curves and of the records);
        ``time_axis`` — the index of the time input (``None``: steady); the evaluation set's
        axis named ``"t"`` must sit at this index;
        ``periods`` — ``{input index: period}`` of inputs the solution is periodic in, in the
        task's physical units (``None``: none), for architectures with exact periodic embeddings;
        ``energy_form`` — the name of a form in :data:`regimebench.ritz.ritz_forms` whose energy
        has the task's PDE term as its Euler–Lagrange equation (``None``: none), for entries with
        the Deep Ritz loss form (:mod:`regimebench.loss_forms`).

    Required of subclasses (methods):
        ``build(params, sizes, reference)`` — the task for canonical ``params``;
        ``sample(key, sizes, dtype)`` — a fresh batch of training points (a dict of arrays) in
        ``dtype``;
        ``residuals(model, batch)`` — per-point residuals per term, each ``(n,)`` or ``(n, c)``,
        in the model's dtype;
        ``predict(model, inputs)`` — model outputs on evaluation inputs, shaped like ``targets``;
        ``eval_set`` — the :class:`EvalSet` (float64 reference values).

    Physics parameters must be array fields (``jnp.asarray(value)``), not Python floats: a Python
    float is a compile-time constant, and each value of a sweep would compile its own program.
    """

    problem: eqx.AbstractClassVar[str]
    task: eqx.AbstractClassVar[str]
    term_roles: eqx.AbstractClassVar[Mapping[str, TermRole]]
    time_axis: ClassVar[int | None] = None
    periods: ClassVar[Mapping[int, float] | None] = None
    energy_form: ClassVar[str | None] = None
    eval_set: eqx.AbstractVar[EvalSet]

    @property
    def term_names(self) -> tuple[str, ...]:
        """The loss terms, in their declared order (the keys of :attr:`term_roles`)."""
        return tuple(self.term_roles)

    def terms_with_roles(self, roles) -> tuple[str, ...]:
        """The terms whose role is in ``roles``, in declared order."""
        return tuple(k for k, r in self.term_roles.items() if r in roles)

    @classmethod
    @abc.abstractmethod
    def build(cls, params: Mapping[str, Any], sizes: Mapping[str, int], reference: Any
              ) -> AbstractTask:
        """The task for ``params`` (canonical values with overrides) and the cached
        ``reference`` (a :class:`~regimebench.reference.CachedReference`)."""

    @property
    @abc.abstractmethod
    def model_io(self) -> tuple[Any, int]:
        """``(in_size, out_size)`` of the model the architecture registry must build."""

    @abc.abstractmethod
    def sample(self, key: jax.Array, sizes: Mapping[str, int], dtype=float) -> Batch: ...

    @abc.abstractmethod
    def residuals(self, model: Any, batch: Batch) -> Residuals: ...

    @abc.abstractmethod
    def predict(self, model: Any, inputs: jax.Array) -> jax.Array: ...

    def error(self, model: Any) -> jax.Array:
        """Relative L2 error against the reference on the full evaluation set."""
        return rel_l2(self.predict(model, self.eval_set.inputs), self.eval_set.targets)

    @staticmethod
    def curve_stride(n: int) -> int:
        """Stride of the curve subsample of an evaluation set of ``n`` points (:data:`CURVE_POINTS`)."""
        return max(1, -(-n // CURVE_POINTS))

    def curve_error(self, model: Any) -> jax.Array:
        """Relative L2 on the fixed curve subsample: every :meth:`curve_stride`-th evaluation point.

        Used for the training curves, which are evaluated at every logging step; the final
        metric always uses the full set (:meth:`error`).
        """
        s = self.curve_stride(self.eval_set.inputs.shape[0])
        inputs, targets = self.eval_set.inputs[::s], self.eval_set.targets[::s]
        return rel_l2(self.predict(model, inputs), targets)

    def build_model(self, net: Any) -> Any:
        """The trainable model around the architecture's network ``net``.

        The default is ``net`` itself. Inverse tasks return a module holding ``net`` *and* the
        unknown coefficients (initial guesses), so both are trained; the coefficients then appear
        in ``residuals`` through the model and in ``extra_metrics``.
        """
        return net

    def residual_scales(self, batch: Batch) -> dict[str, jax.Array | None]:
        """The natural size of each term's residual at each point of ``batch``: ``(n,)``
        positive values, or ``None`` (the default, every term): a factor that multiplies the
        whole residual (darcy's strong form is ``a(x)`` times ``−Δu − ∇log a·∇u − 1/a``), so
        that dividing by it makes points of the domain comparable. Weightings may use it
        (``residual_scale``: per-point weights ``1/s²``); the task's loss never does."""
        del batch
        return {k: None for k in self.term_names}

    def extra_metrics(self, model: Any) -> dict[str, jax.Array]:
        """Problem-specific end-of-run metrics (e.g. error by time slice). Empty by default.

        Names must not shadow the trainer's (``loss*``, ``weight_*``, ``rel_l2``, ``evals``,
        ``normalized_loss``) or the generic probes' (:mod:`regimebench.diagnostics.fields`).
        """
        return {}


class HardConstraint(NamedTuple):
    """What a task declares so that entries may impose its boundary/initial data exactly
    (``hard_constraint = true`` in an entry's ``[architecture]``;
    :mod:`regimebench.components.hard_constraints` builds ``u = g + φ · net`` from it).

    Fields:
        ``faces`` — ``(dim, side)`` pairs of the box faces carrying Dirichlet data, in the
        rescaled coordinates (side −1: ``z_dim = −1``, the face at ``lower[dim]``; +1: at
        ``upper[dim]``);
        ``terms`` — the loss terms the constraint satisfies exactly (to round-off): their
        residuals vanish for every network, so a natural-gradient step leaves their rows out;
        ``lifting`` — ``g(x)`` in *physical* coordinates, a module-level function returning the
        constrained outputs (shape ``(len(outputs),)``), equal to the data on every face in
        ``faces`` (``None``: homogeneous data); it must be smooth, residuals differentiate it;
        ``outputs`` — the constrained output indices (``None``: all).

    ``tests/test_problem_contract.py`` checks every declaration: the listed terms' residuals of a
    constrained random network vanish to round-off on freshly sampled points.
    """

    faces: tuple[tuple[int, int], ...]
    terms: tuple[str, ...]
    lifting: Callable[[jax.Array], jax.Array] | None = None
    outputs: tuple[int, ...] | None = None


class PointwiseTask(AbstractTask):
    """A task whose model is a field ``x ↦ u(x)`` on a box (all PINN tasks).

    ``lower`` and ``upper`` bound the box; the model sees inputs rescaled to ``[-1, 1]^d`` (every
    architecture then works on every problem without per-problem tuning of its input scale).
    ``hard_constraint`` (optional) declares the task's Dirichlet data for exact imposition
    (:class:`HardConstraint`; ``None``: the task offers none).
    """

    lower: eqx.AbstractClassVar[tuple[float, ...]]
    upper: eqx.AbstractClassVar[tuple[float, ...]]
    out_size: eqx.AbstractClassVar[int]
    hard_constraint: ClassVar[HardConstraint | None] = None

    @property
    def model_io(self) -> tuple[int, int]:
        return (len(self.lower), self.out_size)

    def field(self, model: Any):
        """The physical field ``u(x)`` of ``model``: rescales ``x`` to ``[-1, 1]^d`` first."""

        def u(x: jax.Array) -> jax.Array:
            lo = jnp.asarray(self.lower, x.dtype)
            hi = jnp.asarray(self.upper, x.dtype)
            return model(2.0 * (x - lo) / (hi - lo) - 1.0)

        return u

    def predict(self, model: Any, inputs: jax.Array) -> jax.Array:
        """``u`` at ``inputs``, computed in the model's dtype."""
        return jax.vmap(self.field(model))(inputs.astype(model_dtype(model)))


# ---------------------------------------------------------------------------------------------
# Samplers shared by the problems.


def uniform(key: jax.Array, shape: tuple[int, ...], dtype=float) -> jax.Array:
    """Uniform ``[0, 1)`` numbers of ``dtype``, with no wider value in the traced program (the
    default bounds of :func:`jax.random.uniform` are Python floats, traced as float64 under x64)."""
    dtype = jnp.dtype(dtype)
    return jax.random.uniform(key, shape, dtype, minval=jnp.zeros((), dtype),
                              maxval=jnp.ones((), dtype))


def uniform_box(key: jax.Array, n: int, lower, upper, dtype=float) -> jax.Array:
    """``n`` points uniform in the box ``[lower, upper]`` (shape ``(n, d)``), drawn in ``dtype``."""
    lo, hi = jnp.asarray(lower, dtype)[None, :], jnp.asarray(upper, dtype)[None, :]
    return lo + (hi - lo) * uniform(key, (n, lo.shape[1]), lo.dtype)


def uniform_box_boundary(key: jax.Array, n: int, lower, upper, dims=None, dtype=float) -> jax.Array:
    """``n`` points uniform on the faces of the box normal to ``dims`` (all faces by default).

    Faces are chosen with probability proportional to their measure, so the density on the
    boundary is uniform. Points are drawn in ``dtype``.
    """
    lo_np, hi_np = np.asarray(lower, np.float64), np.asarray(upper, np.float64)
    d = lo_np.shape[0]
    dims = tuple(range(d)) if dims is None else tuple(dims)
    widths = hi_np - lo_np
    # Face measures are facts about the box, computed on the host; a face is drawn by inverting
    # their cumulative distribution.
    areas = np.asarray([np.prod(np.delete(widths, i)) if d > 1 else 1.0 for i in dims])
    cdf = jnp.asarray(np.cumsum(areas)[:-1] / areas.sum(), dtype)
    kf, ks, kp = jax.random.split(key, 3)
    lo, hi = jnp.asarray(lower, dtype), jnp.asarray(upper, dtype)
    face = jnp.searchsorted(cdf, uniform(kf, (n,), lo.dtype), side="right")
    side = uniform(ks, (n,), lo.dtype) < 0.5
    pts = uniform_box(kp, n, lo, hi, lo.dtype)
    dim_of_face = jnp.asarray(dims)[face]
    value = jnp.where(side, hi[dim_of_face], lo[dim_of_face])
    return pts.at[jnp.arange(n), dim_of_face].set(value)
