"""The problem abstraction: a catalogue entry, its tasks, and what the trainer asks of them.

A catalogue entry is a folder ``problems/<name>/`` holding

* ``problem.toml`` — the *fixed* facts: name, version, tasks with their default solver entry,
  canonical parameters, the difficulty axis and data axis used by regime maps, regime thresholds,
  collocation sizes per budget tier, and optional budget overrides;
* ``problem.py`` — ``make_task(task, params, sizes) -> AbstractTask``: the equations;
* ``reference.py`` — the reference generator (see :mod:`regimebench.reference`);
* ``README.md`` — the user-facing description with citations.

A *task* (``forward``, ``inverse``, ``operator``) is a final :class:`equinox.Module` that knows
how to sample training points, how to turn a model into **named, per-point residuals** (``pde``,
``bc``, ``ic``, ``data``, …) and how to evaluate the model against the reference. The trainer only
ever talks to a task; it never branches on the problem's name.

The training loss of a run is ``Σ_k w_k · mean_i(p_{k,i} · r_{k,i}²)`` where ``r_k`` are the
residuals of term ``k``, ``w_k`` the term weights and ``p_k`` optional per-point weights, both
supplied by the entry's weighting component. The *unweighted* loss ``Σ_k mean(r_k²)`` is what
regime labels use, so entries with different weightings are judged on the same quantity.
"""

from __future__ import annotations

import abc
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._catalogue import load_module, problems_dir
from ._registry import UnknownComponentError, did_you_mean

__all__ = [
    "AbstractTask",
    "PointwiseTask",
    "EvalSet",
    "Axis",
    "Thresholds",
    "ProblemSpec",
    "ProblemError",
    "list_problems",
    "load_problem",
    "rel_l2",
    "tensor_grid_eval_set",
    "uniform_box",
    "uniform_box_boundary",
]

Batch = dict[str, jax.Array]
Residuals = dict[str, jax.Array]


class ProblemError(ValueError):
    """A problem folder or a request about problems is malformed (bad input, not a bug)."""


def rel_l2(pred: jax.Array, ref: jax.Array) -> jax.Array:
    """‖pred − ref‖₂ / ‖ref‖₂ over all entries (the metric of every cited repository)."""
    return jnp.linalg.norm((pred - ref).ravel()) / jnp.linalg.norm(ref.ravel())


class EvalSet(eqx.Module):
    """Evaluation inputs and reference outputs.

    ``inputs`` are points ``(m, d)`` for pointwise tasks (or input fields for operator tasks);
    ``targets`` are ``(m, c)``; ``grid_shape`` lets pages and diagnostics reshape a flat set back
    to its tensor grid (e.g. ``(201, 201)``), with ``axes`` naming its dimensions.
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


class AbstractTask(eqx.Module):
    """One training objective of one problem. Subclasses are final and hold all their fields.

    Required of subclasses:
        ``term_names`` — the loss terms, in a fixed order;
        ``sample(key, sizes)`` — a fresh batch of training points (a dict of arrays);
        ``residuals(model, batch)`` — per-point residuals per term, each ``(n,)`` or ``(n, c)``;
        ``predict(model, inputs)`` — model outputs on evaluation inputs, shaped like ``targets``;
        ``eval_set`` — the :class:`EvalSet`.
    """

    problem: eqx.AbstractClassVar[str]
    task: eqx.AbstractClassVar[str]
    term_names: eqx.AbstractClassVar[tuple[str, ...]]
    eval_set: eqx.AbstractVar[EvalSet]

    @property
    @abc.abstractmethod
    def model_io(self) -> tuple[int, int]:
        """``(in_size, out_size)`` of the model the architecture registry must build."""

    @abc.abstractmethod
    def sample(self, key: jax.Array, sizes: Mapping[str, int]) -> Batch: ...

    @abc.abstractmethod
    def residuals(self, model: Any, batch: Batch) -> Residuals: ...

    @abc.abstractmethod
    def predict(self, model: Any, inputs: jax.Array) -> jax.Array: ...

    def error(self, model: Any) -> jax.Array:
        """Relative L2 error against the reference on the full evaluation set."""
        return rel_l2(self.predict(model, self.eval_set.inputs), self.eval_set.targets)

    def curve_error(self, model: Any, max_points: int = 4096) -> jax.Array:
        """Relative L2 on an evenly strided subset of at most ``max_points`` evaluation inputs.

        Used for the training curves, which are evaluated at every logging step; the final
        metric always uses the full set (:meth:`error`).
        """
        n = self.eval_set.inputs.shape[0]
        stride = max(1, -(-n // max_points))
        inputs, targets = self.eval_set.inputs[::stride], self.eval_set.targets[::stride]
        return rel_l2(self.predict(model, inputs), targets)

    def build_model(self, net: Any) -> Any:
        """The trainable model around the architecture's network ``net``.

        The default is ``net`` itself. Inverse tasks return a module holding ``net`` *and* the
        unknown coefficients (initial guesses), so both are trained; the coefficients then appear
        in ``residuals`` through the model and in ``extra_metrics``.
        """
        return net

    def extra_metrics(self, model: Any) -> dict[str, jax.Array]:
        """Problem-specific end-of-run metrics (e.g. error by time slice). Empty by default."""
        return {}


class PointwiseTask(AbstractTask):
    """A task whose model is a field ``x ↦ u(x)`` on a box (all PINN tasks).

    ``lower`` and ``upper`` bound the box; the model sees inputs rescaled to ``[-1, 1]^d`` (every
    architecture then works on every problem without per-problem tuning of its input scale).
    """

    lower: eqx.AbstractClassVar[tuple[float, ...]]
    upper: eqx.AbstractClassVar[tuple[float, ...]]
    out_size: eqx.AbstractClassVar[int]
    #: Index of the time coordinate among the inputs (``None``: a steady problem). Causal
    #: weighting reads it; time-dependent tasks must set it.
    time_axis: ClassVar[int | None] = None

    @property
    def model_io(self) -> tuple[int, int]:
        return (len(self.lower), self.out_size)

    def field(self, model: Any):
        """The physical field ``u(x)`` of ``model``: rescales ``x`` to ``[-1, 1]^d`` first."""
        lo = jnp.asarray(self.lower)
        hi = jnp.asarray(self.upper)

        def u(x: jax.Array) -> jax.Array:
            z = 2.0 * (x - lo.astype(x.dtype)) / (hi - lo).astype(x.dtype) - 1.0
            return model(z)

        return u

    def predict(self, model: Any, inputs: jax.Array) -> jax.Array:
        return jax.vmap(self.field(model))(inputs)


# ---------------------------------------------------------------------------------------------
# Samplers shared by the problems.


def uniform_box(key: jax.Array, n: int, lower, upper) -> jax.Array:
    """``n`` points uniform in the box ``[lower, upper]`` (shape ``(n, d)``)."""
    lo, hi = jnp.asarray(lower, float), jnp.asarray(upper, float)
    return lo + (hi - lo) * jax.random.uniform(key, (n, lo.shape[0]), dtype=lo.dtype)


def uniform_box_boundary(key: jax.Array, n: int, lower, upper, dims=None) -> jax.Array:
    """``n`` points uniform on the faces of the box normal to ``dims`` (all faces by default).

    Faces are chosen with probability proportional to their measure, so the density on the
    boundary is uniform.
    """
    lo, hi = jnp.asarray(lower, float), jnp.asarray(upper, float)
    d = lo.shape[0]
    dims = tuple(range(d)) if dims is None else tuple(dims)
    widths = hi - lo
    areas = jnp.asarray([jnp.prod(jnp.delete(widths, i)) if d > 1 else 1.0 for i in dims])
    kf, ks, kp = jax.random.split(key, 3)
    face = jax.random.choice(kf, len(dims), (n,), p=areas / areas.sum())
    side = jax.random.bernoulli(ks, 0.5, (n,))
    pts = uniform_box(kp, n, lo, hi)
    dim_of_face = jnp.asarray(dims)[face]
    value = jnp.where(side, hi[dim_of_face], lo[dim_of_face])
    return pts.at[jnp.arange(n), dim_of_face].set(value)


# ---------------------------------------------------------------------------------------------
# Catalogue entries (problem.toml + problem.py).


@dataclass(frozen=True)
class Axis:
    """A regime-map axis: the parameter it varies, its values, and the canonical one."""

    name: str
    values: tuple[Any, ...]
    canonical: Any
    description: str = ""


@dataclass(frozen=True)
class Thresholds:
    """Regime thresholds of one task (see ``docs/regimes.md``).

    ``train_loss`` is compared with the *normalised* training loss (the unweighted loss divided by
    its value at initialisation); ``test_error`` with rel. L2; ``target`` is the rel. L2 below which
    a seed counts as a success on the leaderboard.
    """

    train_loss: float
    test_error: float
    target: float


@dataclass(frozen=True)
class TaskInfo:
    name: str
    default_solver: str
    description: str
    thresholds: Thresholds
    sizes: Mapping[str, Mapping[str, int]]  # tier -> term -> count
    difficulty: Axis
    data: Axis


@dataclass(frozen=True)
class ProblemSpec:
    """A catalogue entry as declared in ``problem.toml``, plus its module."""

    name: str
    version: int
    title: str
    equation: str
    params: Mapping[str, Any]
    tasks: Mapping[str, TaskInfo]
    budgets: Mapping[str, int]
    folder: Path
    reference_params: tuple[str, ...] = field(default=())

    @property
    def module(self):
        return load_module(self.folder / "problem.py", "problems")

    def task_info(self, task: str | None) -> TaskInfo:
        if task is None:
            return next(iter(self.tasks.values()))
        if task not in self.tasks:
            raise ProblemError(
                f"Problem {self.name!r} has no task {task!r}; it has: {', '.join(self.tasks)}."
            )
        return self.tasks[task]

    def resolve_params(self, task: str, overrides: Mapping[str, Any] | None = None) -> dict:
        """Canonical parameters with ``overrides`` (e.g. a difficulty value) applied."""
        params = dict(self.params)
        for k, v in (overrides or {}).items():
            if k not in params:
                raise ProblemError(
                    f"Problem {self.name!r} has no parameter {k!r}."
                    + did_you_mean(k, list(params))
                )
            params[k] = v
        return params

    def sizes(self, task: str, tier: str, data: int | None = None) -> dict[str, int]:
        """Collocation/sample counts for ``tier``; ``data`` overrides the data-axis term."""
        info = self.task_info(task)
        table = info.sizes.get(tier) or info.sizes.get("default")
        if table is None:
            raise ProblemError(f"problem {self.name!r} declares no sizes for tier {tier!r}")
        sizes = dict(table)
        if data is not None:
            term = info.data.name
            if term not in sizes:
                raise ProblemError(f"data axis {term!r} is not a sampled term of {self.name!r}")
            sizes[term] = int(data)
        return sizes

    def make_task(self, task: str, params: Mapping[str, Any], sizes: Mapping[str, int]):
        return self.module.make_task(task, dict(params), dict(sizes))


def _axis(table: Mapping[str, Any], where: str) -> Axis:
    try:
        return Axis(
            name=str(table["name"]),
            values=tuple(table["values"]),
            canonical=table["canonical"],
            description=str(table.get("description", "")),
        )
    except KeyError as e:
        raise ProblemError(f"{where}: missing key {e.args[0]!r}") from None


def _parse_problem(folder: Path) -> ProblemSpec:
    path = folder / "problem.toml"
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ProblemError(f"{path}: malformed TOML ({e})") from None
    try:
        tasks = {}
        for tname, t in raw["tasks"].items():
            th = t["thresholds"]
            tasks[tname] = TaskInfo(
                name=tname,
                default_solver=t["default_solver"],
                description=t.get("description", ""),
                thresholds=Thresholds(float(th["train_loss"]), float(th["test_error"]),
                                      float(th["target"])),
                sizes={k: {kk: int(vv) for kk, vv in v.items()} for k, v in t["sizes"].items()},
                difficulty=_axis(t["difficulty"], f"{path} [tasks.{tname}.difficulty]"),
                data=_axis(t["data"], f"{path} [tasks.{tname}.data]"),
            )
        return ProblemSpec(
            name=raw["name"],
            version=int(raw["version"]),
            title=raw.get("title", raw["name"]),
            equation=raw.get("equation", ""),
            params=dict(raw.get("params", {})),
            tasks=tasks,
            budgets={k: int(v) for k, v in raw.get("budgets", {}).items()},
            folder=folder,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ProblemError(f"{path}: invalid problem declaration ({e!r})") from None


_SPECS: dict[Path, ProblemSpec] = {}


def list_problems() -> list[str]:
    """Names of the catalogue's problems (folders with a ``problem.toml``), sorted."""
    root = problems_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "problem.toml").is_file())


def load_problem(name: str) -> ProblemSpec:
    """The :class:`ProblemSpec` of catalogue entry ``name``; an unknown name fails helpfully."""
    folder = problems_dir() / name
    if not (folder / "problem.toml").is_file():
        raise UnknownComponentError(
            f"Unknown problem {name!r}." + did_you_mean(name, list_problems())
        )
    if folder not in _SPECS:
        _SPECS[folder] = _parse_problem(folder)
    return _SPECS[folder]
