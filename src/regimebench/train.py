"""The trainer: S seeds of one (task, solver entry, budget) in one compiled program.

Seeds are a batch dimension. Parameters, optimizer state, weighting state and collocation points
of every seed are stacked along a leading axis and one step is ``eqx.filter_vmap``-ed over it.
Steps run in ``lax.scan`` chunks; the host sees the state only between chunks, where it logs
per-term losses and rel. L2 for the curves and reports progress.

Failures are data: a seed whose loss or parameters become non-finite is *frozen* at its last
finite state and marked failed (with the step), while the other seeds go on.

Seed layout. On a GPU one small PINN leaves most of the device idle, so all seeds are vmapped
together. On a small CPU a wide vmap gains nothing over running seeds one after another, but
small vmapped groups do (measured: ``benchmarks/README.md``), so seeds run in groups through the
*same* compiled program (group size 1 = sequential). ``seed_layout`` is ``"auto"`` (vmap on
accelerators, groups of at most :data:`CPU_GROUP` on CPU), ``"vmap"``, ``"sequential"`` or a
group size; it is recorded in every run record.

:func:`train` is pure with respect to the file system: it returns a :class:`TrainResult`; writing
records is the runner's job.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .components import architectures, optimizers, samplers, weightings
from .components.weightings import CONSTRAINT_PREFIXES, WeightingContext
from .diagnostics import DiagnosticsConfig, end_of_training, gradient_snr, term_grad_norms
from .problem import AbstractTask
from .solver import SolverSpec

__all__ = ["Trainer", "TrainResult", "SeedResult", "train", "resolve_layout"]

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}


class SeedState(eqx.Module):
    """Everything one seed carries between steps (stacked over seeds inside the trainer)."""

    params: Any
    opt_state: Any
    weight_state: Any
    batch: dict
    key: jax.Array
    evals: jax.Array  # gradient evaluations spent so far
    failed: jax.Array  # bool: froze after a non-finite loss or parameter
    failed_step: jax.Array  # step at which it failed (-1: never)


@dataclass
class SeedResult:
    """The outcome of one seed, before it becomes a record."""

    seed: int
    status: str  # "ok" or "failed"
    failure: str | None
    failed_step: int | None
    evals: int
    metrics: dict[str, float]
    curves: dict[str, list]
    seconds: float = 0.0  # wall time of this seed's group divided by the group's size
    params: Any = field(repr=False, default=None)
    diagnostics: dict = field(default_factory=dict)  # end-of-training probes (regimebench.diagnostics)


@dataclass
class TrainResult:
    seeds: list[SeedResult]
    timing: dict[str, float]
    layout: dict[str, Any]
    static: Any = field(repr=False, default=None)  # the model's non-array part, for diagnostics


# Seeds per vmapped group on CPU under ``"auto"``. On the 2-core CPU (helmholtz default entry,
# cpu tier, interleaved A/B), groups of 2 gave 0.98–1.8× the seed-steps/s of sequential seeds at
# S = 16 and 1.3–1.45× at S = 4; groups of 4 were less consistent (0.85–1.7×) and one 16-wide
# vmap only matched sequential (benchmarks/README.md, bench_train.py).
CPU_GROUP = 2


def _cpu_group(n_seeds: int) -> int:
    """At most CPU_GROUP seeds per group, choosing the size that pads the last group least."""
    if n_seeds <= CPU_GROUP:
        return n_seeds
    return min(range(CPU_GROUP, 1, -1), key=lambda g: (math.ceil(n_seeds / g) * g, -g))


def resolve_layout(layout: str | int, n_seeds: int) -> int:
    """Group size for ``layout`` (see module docstring)."""
    if isinstance(layout, int) or (isinstance(layout, str) and layout.isdigit()):
        return max(1, min(int(layout), n_seeds))
    if layout == "vmap":
        return n_seeds
    if layout == "sequential":
        return 1
    if layout == "auto":
        return n_seeds if jax.default_backend() != "cpu" else _cpu_group(n_seeds)
    raise ValueError(f"unknown seed layout {layout!r}: use auto, vmap, sequential or a group size")


def _tree_select(pred: jax.Array, new, old):
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), new, old)


def _strong(tree):
    """Drop weak types, so the state entering a chunk has exactly the type leaving it.

    Optimizer ``init`` functions create weakly typed scalars (counts, step sizes) that the first
    update makes strong; without this, every chunk function would compile twice.
    """
    return jax.tree.map(lambda x: jnp.asarray(x, dtype=x.dtype) if eqx.is_array(x) else x, tree)


def _all_finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree) if eqx.is_inexact_array(x)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def _sq(r: jax.Array) -> jax.Array:
    r2 = r**2
    return r2.sum(axis=-1) if r2.ndim > 1 else r2  # vector residuals: squared norm per point


class Trainer:
    """Trains one task with one solver entry for ``evals`` gradient evaluations.

    Arguments:
        task: an :class:`~regimebench.problem.AbstractTask`.
        solver: a validated :class:`~regimebench.solver.SolverSpec`.
        evals: the budget, in gradient evaluations.
        sizes: collocation counts per term (the problem's, for the tier).
        n_log: number of logging points on the curves (≤ 512).
        seed_layout: see the module docstring.
        progress: called as ``progress(evals_done, evals_total)`` after every chunk.
        diagnostics: a :class:`~regimebench.diagnostics.DiagnosticsConfig` to log gradient SNR
            and per-term gradient norms at every ``interval``-th logging step (curves ``snr``,
            ``grad_norm_<term>``, ``grad_ratio``; null where skipped), or ``None`` (off).
    """

    def __init__(self, task: AbstractTask, solver: SolverSpec, evals: int, sizes: dict[str, int],
                 *, n_log: int = 100, seed_layout: str | int = "auto",
                 progress: Callable[[int, int], None] | None = None,
                 diagnostics: DiagnosticsConfig | None = None):
        self.task = task
        self.diagnostics = diagnostics
        self.solver = solver
        self.evals = int(evals)
        self.sizes = dict(sizes)
        self.dtype = DTYPES[solver.dtype]
        self.n_log = max(1, min(int(n_log), 512))
        self.seed_layout = seed_layout
        self.progress = progress
        self.weighting = weightings.get(solver.weighting.kind)(**solver.weighting.options).bind(task)
        self.sampler = samplers.get(solver.sampling.kind)(**solver.sampling.options)
        self.phases = [optimizers.get(p.kind)(**p.options) for p in solver.phases]
        # Phase budgets: rounded fractions, the last phase taking the remainder.
        ends, acc = [], 0.0
        for p in solver.phases:
            acc += p.fraction
            ends.append(int(round(acc * self.evals)))
        ends[-1] = self.evals
        self.phase_ends = ends
        self.chunk = max(1, math.ceil(self.evals / self.n_log))
        self._static = None
        # Compiled functions are built once per Trainer and reused by every seed group, so a run
        # compiles each of them once (a fresh ``filter_jit(lambda ...)`` per group would not hit
        # JAX's cache: the cache is keyed on the function object).
        self._chunk_fns: dict[int, Callable] = {}
        self._phase_init_fns: dict[int, Callable] = {}
        self._init_fn: Callable | None = None
        self._final_fn: Callable | None = None

    # ---------------------------------------------------------------------------- init
    def _make_model(self, key):
        in_size, out_size = self.task.model_io
        arch = self.solver.architecture
        net = architectures.get(arch.kind)(in_size, out_size, key=key, **arch.options)
        return self.task.build_model(net)

    def _cast(self, tree):
        return jax.tree.map(lambda x: x.astype(self.dtype) if eqx.is_inexact_array(x) else x, tree)

    def init(self, seeds: Sequence[int]) -> SeedState:
        """Stacked initial states of ``seeds`` (parameters, points, weighting, first optimizer)."""
        keys = jnp.stack([jax.random.key_data(jax.random.key(int(s))) for s in seeds])
        task, sizes = self.task, self.sizes

        def one(kd):
            key = jax.random.wrap_key_data(kd)
            k_model, k_sample, k_run = jax.random.split(key, 3)
            model = self._cast(self._make_model(k_model))
            params, static = eqx.partition(model, eqx.is_inexact_array)
            batch = self._cast(self.sampler.init(task, k_sample, sizes))
            if self.weighting.init_reads_residuals:
                res = task.residuals(model, batch)
            else:  # shapes suffice: do not put the PDE into the init program
                shapes = jax.eval_shape(task.residuals, model, batch)
                res = jax.tree.map(lambda sd: jnp.zeros(sd.shape, sd.dtype), shapes)
            return params, static, batch, res, k_run

        # The static part (activation functions, shapes) is identical across seeds: take it once.
        if self._static is None:
            _, static, *_ = eqx.filter_eval_shape(one, keys[0])
            self._static = static
        if self._init_fn is not None:
            return self._init_fn(keys)

        def one_state(kd):
            params, _, batch, res, k_run = one(kd)
            return SeedState(
                params=params,
                opt_state=None,
                weight_state=self.weighting.init(res),
                batch=batch,
                key=jax.random.key_data(k_run),
                evals=jnp.asarray(0, jnp.int32),
                failed=jnp.asarray(False),
                failed_step=jnp.asarray(-1, jnp.int32),
            )

        self._init_fn = eqx.filter_jit(lambda k: _strong(eqx.filter_vmap(one_state)(k)))
        return self._init_fn(keys)

    # ---------------------------------------------------------------------------- losses
    def _losses(self, params, weight_state, batch):
        """(weighted total, unweighted per-term mean-square losses, residuals)."""
        model = eqx.combine(params, self._static)
        res = self.task.residuals(model, batch)
        names = self.task.term_names
        tw, pw = self.weighting.weigh(weight_state, names, res, batch)
        terms, total = {}, 0.0
        for k in names:
            sq = _sq(res[k])
            terms[k] = sq.mean()
            weighted = sq.mean() if pw[k] is None else (pw[k] * sq).mean()
            total = total + tw[k] * weighted
        return total, terms, res

    def _term_grads_fn(self, params, batch):
        def one_term(p, name):
            res = self.task.residuals(eqx.combine(p, self._static), batch)
            return _sq(res[name]).mean()

        return lambda: {k: jax.grad(one_term)(params, k) for k in self.task.term_names}

    # ---------------------------------------------------------------------------- steps
    def _plain_step(self, phase, phase_end):
        tx = phase.transform

        def step(s: SeedState, gstep):
            active = (~s.failed) & (s.evals < phase_end)

            def loss_fn(p):
                total, terms, res = self._losses(p, s.weight_state, s.batch)
                return total, (terms, res)

            (loss, (terms, res)), grads = jax.value_and_grad(loss_fn, has_aux=True)(s.params)
            updates, opt_state = tx.update(grads, s.opt_state, s.params)
            params = optax.apply_updates(s.params, updates)
            ctx = WeightingContext(res, s.batch, gstep, self._term_grads_fn(s.params, s.batch))
            weight_state = self.weighting.update(s.weight_state, ctx)
            key, k_s = jax.random.split(jax.random.wrap_key_data(s.key))
            batch = self.sampler.update(
                self.task, s.batch, k_s, gstep, self.sizes,
                residual_fn=lambda pts: self.task.residuals(
                    eqx.combine(params, self._static), pts),
            )
            batch = self._cast(batch)
            new = SeedState(params, opt_state, weight_state, batch, jax.random.key_data(key),
                            s.evals + 1, s.failed, s.failed_step)
            ok = jnp.isfinite(loss) & _all_finite(params)
            return self._commit(s, new, active, ok, gstep)

        return step

    def _line_search_step(self, phase, phase_end):
        tx = phase.transform

        def step(s: SeedState, gstep):
            active = (~s.failed) & (s.evals < phase_end)

            def value_fn(p):
                return self._losses(p, s.weight_state, s.batch)[0]

            # The zoom line search leaves value and gradient at the accepted point in the state,
            # so each step costs exactly the line search's evaluations.
            value = optax.tree_utils.tree_get(s.opt_state, "value")
            grad = optax.tree_utils.tree_get(s.opt_state, "grad")
            updates, opt_state = tx.update(grad, s.opt_state, s.params, value=value, grad=grad,
                                           value_fn=value_fn)
            params = optax.apply_updates(s.params, updates)
            n_evals = optax.tree_utils.tree_get(opt_state, "num_linesearch_steps")
            new = SeedState(params, opt_state, s.weight_state, s.batch, s.key,
                            s.evals + jnp.maximum(n_evals, 1).astype(jnp.int32),
                            s.failed, s.failed_step)
            new_value = optax.tree_utils.tree_get(opt_state, "value")
            ok = jnp.isfinite(new_value) & _all_finite(params)
            return self._commit(s, new, active, ok, gstep)

        return step

    @staticmethod
    def _commit(old: SeedState, new: SeedState, active, ok, gstep) -> SeedState:
        kept = _tree_select(active & ok, new, old)
        fail_now = active & ~ok
        return eqx.tree_at(
            lambda s: (s.failed, s.failed_step),
            kept,
            (old.failed | fail_now, jnp.where(fail_now, gstep.astype(jnp.int32), old.failed_step)),
        )

    def _init_phase(self, index: int, state: SeedState) -> SeedState:
        if index not in self._phase_init_fns:
            self._phase_init_fns[index] = self._make_phase_init(self.phases[index])
        return self._phase_init_fns[index](state)

    def _make_phase_init(self, phase) -> Callable:
        tx = phase.transform

        def one(s: SeedState):
            opt_state = tx.init(s.params)
            evals = s.evals
            if phase.line_search:
                value, grad = jax.value_and_grad(
                    lambda p: self._losses(p, s.weight_state, s.batch)[0])(s.params)
                opt_state = optax.tree_utils.tree_set(opt_state, value=value, grad=grad)
                evals = jnp.where(s.failed, evals, evals + 1)
            return eqx.tree_at(lambda t: (t.opt_state, t.evals), s, (opt_state, evals),
                               is_leaf=lambda x: x is None)

        return eqx.filter_jit(lambda st: _strong(eqx.filter_vmap(one)(st)))

    def _chunk_fn(self, index: int):
        if index in self._chunk_fns:
            return self._chunk_fns[index]
        phase, end = self.phases[index], self.phase_ends[index]
        step = (self._line_search_step if phase.line_search else self._plain_step)(phase, end)
        vstep = eqx.filter_vmap(step, in_axes=(0, None))
        chunk = self.chunk

        # The incoming state is dead once the chunk returns, so its buffers are donated: XLA
        # writes the new state in place instead of allocating a second copy of parameters,
        # optimizer state and points. ``step0`` comes first because equinox donates everything
        # except the first argument, and a caller may well reuse its step counter.
        @eqx.filter_jit(donate="all-except-first")
        def run_chunk(step0, state: SeedState):
            def body(s, i):
                return vstep(s, step0 + i), None

            state, _ = jax.lax.scan(body, state, jnp.arange(chunk))
            log = eqx.filter_vmap(self._log)(state)
            if self.diagnostics is not None:
                log = {**log, **self._probe_log(state, step0 // chunk + 1)}
            return state, log

        self._chunk_fns[index] = run_chunk
        return run_chunk

    def _log(self, s: SeedState, full: bool = False) -> dict[str, jax.Array]:
        total, terms, _ = self._losses(s.params, s.weight_state, s.batch)
        model = eqx.combine(s.params, self._static)
        out = {f"loss_{k}": v for k, v in terms.items()}
        out["loss"] = sum(terms.values())
        out["loss_weighted"] = total
        # Term weights over training (constant for fixed weightings): evidence for balancing.
        tw = self.weighting.term_weights(s.weight_state, self.task.term_names)
        out.update({f"weight_{k}": jnp.asarray(v, total.dtype) for k, v in tw.items()})
        out["rel_l2"] = self.task.error(model) if full else self.task.curve_error(model)
        out["evals"] = s.evals
        return out

    def _log_keys(self) -> list[str]:
        names = self.task.term_names
        return ([f"loss_{k}" for k in names] + ["loss", "loss_weighted"]
                + [f"weight_{k}" for k in names] + ["rel_l2", "evals"])

    def _split_key(self, batch) -> str:
        """The batch entry the SNR mini-batches split: the first term's own points if it has
        them, else the first entry that is not boundary, initial or data points (the cavity's
        terms share one "pde" batch)."""
        first = self.task.term_names[0]
        if first in batch:
            return first
        inner = [k for k in batch if not k.startswith(CONSTRAINT_PREFIXES)]
        return (inner or list(batch))[0]

    def _probe(self, s: SeedState) -> dict[str, jax.Array]:
        """Gradient SNR and per-term gradient norms of one seed (see regimebench.diagnostics)."""
        names = self.task.term_names

        def sq_fn(p, batch):
            res = self.task.residuals(eqx.combine(p, self._static), batch)
            return {k: _sq(res[k]) for k in names}

        tw = self.weighting.term_weights(s.weight_state, names)
        pw = self.weighting.point_weights(s.weight_state, names)
        out = {"snr": gradient_snr(sq_fn, s.params, s.batch, self._split_key(s.batch),
                                   self.diagnostics.snr_batches, tw, pw)}
        out.update(term_grad_norms(sq_fn, s.params, s.batch, names))
        return out

    def _probe_log(self, state: SeedState, log_index) -> dict[str, jax.Array]:
        """Probes of all seeds at every ``interval``-th log (NaN, recorded as null, elsewhere)."""
        probe = eqx.filter_vmap(self._probe)
        shapes = eqx.filter_eval_shape(probe, state)

        def skipped():
            return jax.tree.map(lambda sd: jnp.full(sd.shape, jnp.nan, sd.dtype), shapes)

        return jax.lax.cond(jnp.asarray(log_index) % self.diagnostics.interval == 0,
                            lambda: probe(state), skipped)

    # ---------------------------------------------------------------------------- run
    def run(self, state: SeedState) -> tuple[SeedState, dict[str, np.ndarray], dict[str, float]]:
        """Train stacked ``state`` through all phases; returns final state, curves, timing."""
        # The first curve point comes from the final-metrics program (a superset of the log,
        # with rel. L2 on the full evaluation grid), so no separate log program is compiled.
        first = self.final_metrics(state)
        logs: list[dict] = [{k: first[k] for k in self._log_keys()}]
        if self.diagnostics is not None:
            logs[0].update(jax.device_get(eqx.filter_jit(self._probe_log)(state, 0)))
        compile_s, train_s, gstep = 0.0, 0.0, 0
        for i in range(len(self.phases)):
            state = self._init_phase(i, state)
            fn = self._chunk_fn(i)
            first = True
            while True:
                evals = np.asarray(jax.device_get(state.evals))
                failed = np.asarray(jax.device_get(state.failed))
                if np.all(failed | (evals >= self.phase_ends[i])):
                    break
                t0 = time.perf_counter()
                state, log = fn(jnp.asarray(gstep), state)
                log = jax.device_get(log)
                dt = time.perf_counter() - t0
                if first:
                    compile_s += dt  # first call: compilation plus one chunk (see timing notes)
                    first = False
                else:
                    train_s += dt
                gstep += self.chunk
                logs.append(log)
                if self.progress is not None:
                    self.progress(int(np.min(np.where(failed, self.evals, log["evals"]))), self.evals)
        curves = {k: np.stack([lg[k] for lg in logs], axis=-1) for k in logs[0]}
        return state, curves, {"compile_s": compile_s, "train_s": train_s, "steps": gstep}

    def final_metrics(self, state: SeedState) -> dict[str, np.ndarray]:
        """End-of-run metrics per seed (stacked): losses, rel. L2, the task's extra metrics."""

        if self._final_fn is None:
            def one(s):
                out = self._log(s, full=True)
                model = eqx.combine(s.params, self._static)
                out.update(self.task.extra_metrics(model))
                return out

            self._final_fn = eqx.filter_jit(eqx.filter_vmap(one))
        # Without the optimizer state (unused here): it is None before the first phase and a
        # pytree after, and the two structures would compile this program twice.
        return jax.device_get(self._final_fn(dataclasses.replace(state, opt_state=None)))


def _to_float(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def train(task: AbstractTask, solver: SolverSpec, evals: int, sizes: dict[str, int],
          seeds: Sequence[int], *, n_log: int = 100, seed_layout: str | int = "auto",
          progress: Callable[[int, int], None] | None = None,
          keep_params: bool = False,
          diagnostics: DiagnosticsConfig | None = None) -> TrainResult:
    """Train ``seeds`` and return one :class:`SeedResult` per seed (no I/O).

    ``diagnostics`` (a :class:`~regimebench.diagnostics.DiagnosticsConfig`, or ``None``: off)
    adds gradient-SNR curves during training and, at the end, the landscape probes of
    :func:`regimebench.diagnostics.end_of_training` in each seed's ``diagnostics``. Cheap
    prediction-error probes (``pred_norm_ratio``, spectral and time-slice errors) are always added
    to the metrics.

    Seeds run in groups of the layout's size through one compiled program; the last group is
    padded by repeating its first seed (results of padding are discarded) so that every group
    has the same shapes and nothing recompiles.
    """
    seeds = [int(s) for s in seeds]
    group = resolve_layout(seed_layout, len(seeds))
    n_groups = math.ceil(len(seeds) / group)
    done_before = 0

    def group_progress(done, total):
        if progress is not None:
            progress(done_before + done, total * n_groups)

    trainer = Trainer(task, solver, evals, sizes, n_log=n_log, seed_layout=seed_layout,
                      progress=group_progress, diagnostics=diagnostics)
    final_params: list = []
    results: list[SeedResult] = []
    timing = {"compile_s": 0.0, "train_s": 0.0, "init_s": 0.0}
    t_all = time.perf_counter()
    for g in range(n_groups):
        members = seeds[g * group:(g + 1) * group]
        padded = members + [members[0]] * (group - len(members))
        t_group = t0 = time.perf_counter()
        state = trainer.init(padded)
        jax.block_until_ready(state)
        timing["init_s"] += time.perf_counter() - t0
        state, curves, t = trainer.run(state)
        compile_share = t["compile_s"] if g == 0 else 0.0
        timing["compile_s"] += compile_share
        timing["train_s"] += t["train_s"] + (t["compile_s"] if g > 0 else 0.0)
        final = trainer.final_metrics(state)
        # Per-seed seconds exclude compilation (recorded once, in timing["compile_s"]).
        group_wall = time.perf_counter() - t_group - compile_share
        failed = np.asarray(state.failed)
        failed_step = np.asarray(state.failed_step)
        evals_done = np.asarray(state.evals)
        for j, seed in enumerate(members):
            metrics = {k: _to_float(np.asarray(v)[j]) for k, v in final.items() if k != "evals"}
            init_loss = float(curves["loss"][j, 0])
            final_loss = metrics.get("loss")
            metrics["normalized_loss"] = (
                _to_float(final_loss / init_loss) if final_loss is not None and init_loss > 0
                and math.isfinite(init_loss) else None
            )
            # A seed's curve ends where its own progress ends: in a vmapped group the chunks go on
            # until the slowest seed is done, and a failed seed stays frozen.
            ev = np.asarray(curves["evals"])[j]
            keep = np.concatenate([[True], ev[1:] > ev[:-1]])
            seed_curves = {k: [_to_float(x) for x in np.asarray(v)[j][keep]]
                           for k, v in curves.items()}
            seed_curves["evals"] = [int(x) for x in ev[keep]]
            params = jax.tree.map(lambda x, j=j: np.asarray(x)[j], state.params)
            final_params.append(params)
            params = params if keep_params else None
            is_failed = bool(failed[j])
            results.append(SeedResult(
                seed=seed,
                status="failed" if is_failed else "ok",
                failure="non_finite" if is_failed else None,
                failed_step=int(failed_step[j]) if is_failed else None,
                evals=int(evals_done[j]),
                metrics=metrics,
                curves=seed_curves,
                seconds=group_wall / len(members),
                params=params,
            ))
        done_before += evals
    t_diag = time.perf_counter()
    extra, diags = end_of_training(task, trainer._static, final_params, seeds, sizes, diagnostics)
    for r, m, d in zip(results, extra, diags):
        r.metrics.update({k: v for k, v in m.items() if k not in r.metrics})
        r.diagnostics = d
    timing["diagnostics_s"] = time.perf_counter() - t_diag
    wall = time.perf_counter() - t_all
    timing["wall_s"] = wall
    total_evals = sum(r.evals for r in results)
    timing["seed_steps_per_s"] = total_evals / timing["train_s"] if timing["train_s"] > 0 else None
    layout = {"seed_layout": str(seed_layout), "group_size": group, "groups": n_groups,
              "chunk_steps": trainer.chunk}
    return TrainResult(results, timing, layout, static=trainer._static)
