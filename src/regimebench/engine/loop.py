"""The host loop of :func:`train`: seed groups, phases, chunks, timing, results.

The loop owns everything that is not a compiled program: it pads and orders seed groups, walks
the phases and their budgets, calls the chunk program until every seed of the group is done,
collects the log points into curves, times compilation apart from execution, and hands each
finished group to the caller (``on_group``) before the next one starts.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import jax
import jax.numpy as jnp
import numpy as np

from ..components.optimizers import AbstractPhase, CostModel
from ..diagnostics import DiagnosticsConfig
from ..diagnostics.end import cross_seed_landscape, field_probes, seed_landscape
from ..outcomes import FailureReason, Status
from ..problem import AbstractTask
from ..solver import SolverSpec
from . import programs
from .layout import resolve_layout, run_layout
from .results import SeedResult, TrainResult, evals_number, finite_or_none
from .setup import PhaseBudget, Setup, build_phases, build_setup, phase_ends
from .state import SeedState
from .step import log_keys

__all__ = ["train", "measure_step_cost"]

GroupCallback = Callable[[list[SeedResult], TrainResult], None]

#: Chunks queued ahead of the one whose log the host is reading (fixed-cost phases).
LOOKAHEAD = 2


@dataclass
class _Clock:
    """Seconds spent per kind of work; compilation is counted apart from everything else."""

    compile_s: float = 0.0
    init_s: float = 0.0
    train_s: float = 0.0
    eval_s: float = 0.0
    diagnostics_s: float = 0.0

    def program(self, fn, *args):
        """The compiled program ``fn`` for ``args`` (compiled now if new; time counted)."""
        program, seconds = programs.compiled(fn, *args)
        self.compile_s += seconds
        return program

    def run(self, kind: str, fn, *args):
        """Execute ``fn(*args)`` to completion, counting its seconds as ``kind``."""
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        setattr(self, kind, getattr(self, kind) + time.perf_counter() - t0)
        return out

    def total(self) -> float:
        return self.init_s + self.train_s + self.eval_s + self.diagnostics_s


@dataclass
class _Run:
    """The fixed facts of one ``train()`` call."""

    setup: Setup
    phases: tuple[AbstractPhase, ...]
    phase_kinds: tuple[str, ...]
    ends: list[int]
    evals: int
    chunk: int
    probes: tuple[int, int] | None
    diagnostics: DiagnosticsConfig | None
    phase_info: list[dict] = field(default_factory=list)


def _seed_keys(seeds: Sequence[int]) -> jax.Array:
    return jnp.stack([jax.random.key_data(jax.random.key(int(s))) for s in seeds])


def _without_opt_state(state: SeedState) -> SeedState:
    # The optimizer state is None before the first phase and a pytree after; evaluation programs
    # do not read it, and dropping it keeps them to one compiled structure.
    return replace(state, opt_state=None)


def _one_seed(state: SeedState) -> SeedState:
    return jax.tree.map(lambda x: x[0], state)


def _phase_costs(run: _Run, i: int, clock: _Clock, state: SeedState) -> tuple[float, float, dict]:
    """(max step cost, step cost, record info) of phase ``i``; measures a measured phase."""
    phase = run.phases[i]
    info = {"kind": run.phase_kinds[i], "cost_model": str(phase.cost_model),
            "budget_end": run.ends[i]}
    if phase.cost_model is not CostModel.MEASURED:
        cost = phase.max_step_cost()
        info.update(step_cost=1.0 if phase.cost_model is CostModel.UNIT else None,
                    max_step_cost=cost)
        return cost, 1.0, info
    ratio, step_flops, grad_flops = measure_step_cost(run.setup, phase, _one_seed(state), clock)
    info.update(step_cost=ratio, max_step_cost=ratio, step_flops=step_flops,
                gradient_flops=grad_flops)
    return ratio, ratio, info


def measure_step_cost(setup: Setup, phase: AbstractPhase, seed_state: SeedState,
                      clock: _Clock | None = None) -> tuple[float, float, float]:
    """``(ratio, step FLOPs, gradient FLOPs)``: XLA's FLOP count of one seed's phase step over
    that of one gradient of the same loss on the same points (``compiled.cost_analysis()``)."""
    clock = clock or _Clock()
    step = jnp.asarray(0, jnp.int32)
    step_prog = clock.program(programs.step_one, setup, phase, seed_state, step)
    grad_prog = clock.program(programs.gradient_one, setup, seed_state)
    step_flops, grad_flops = programs.flops(step_prog), programs.flops(grad_prog)
    return step_flops / grad_flops, step_flops, grad_flops


def _run_group(run: _Run, padded: list[int], clock: _Clock,
               progress: Callable[[float], None]) -> tuple[SeedState, dict, dict]:
    """Train one group (stacked ``padded`` seeds) through every phase.

    Returns the final state, the curves (``key -> (S, points)``) and the final metrics.
    """
    setup = run.setup
    keys = _seed_keys(padded)
    state = clock.run("init_s", clock.program(programs.init_group, setup, keys), setup, keys)
    final = clock.program(programs.final_metrics, setup, _without_opt_state(state))
    first = jax.device_get(clock.run("eval_s", final, setup, _without_opt_state(state)))
    point = {k: first[k] for k in log_keys(setup.task.term_names)}
    point["rel_l2"] = first["rel_l2_curve"]  # curves use the curve subsample throughout
    probe = None
    if run.probes is not None:
        batches = run.probes[0]
        probe_program = clock.program(programs.probes, setup, _without_opt_state(state), batches)

        def probe(state):  # dispatched, not waited for
            return probe_program(setup, _without_opt_state(state), batches)

        point.update(jax.device_get(clock.run("train_s", probe, state)))
    logs = [point]
    gstep = 0
    for i, phase in enumerate(run.phases):
        init = clock.program(programs.init_phase_group, setup, phase, state)
        state = clock.run("train_s", init, setup, phase, state)
        max_cost, step_cost, info = _phase_costs(run, i, clock, state)
        # a chunk spans about evals / n_log equivalents whatever a step costs, so a phase of
        # dear steps (measured) still gets its curve points
        n_chunk = (max(1, math.ceil(run.chunk / step_cost - 1e-9)) if phase.cost_model.fixed
                   else run.chunk)
        info["chunk_steps"] = n_chunk
        if len(run.phase_info) <= i:
            run.phase_info.append(info)
        budget = PhaseBudget.of(run.ends[i], max_cost, step_cost)
        evals, failed = (np.asarray(x) for x in jax.device_get((state.evals, state.failed)))
        # Fixed-cost phases know how many chunks they need; the next chunks are queued before
        # the last log is read, so the device never waits for the host. Other phases (line
        # searches) decide after each chunk.
        planned = (_chunks_needed(evals, failed, run.ends[i], step_cost, n_chunk)
                   if phase.cost_model.fixed else None)

        def inputs(phase_step, gstep, phase=phase, budget=budget, n_chunk=n_chunk):
            return programs.ChunkInputs(setup, phase, budget, jnp.asarray(phase_step, jnp.int32),
                                        jnp.asarray(gstep, jnp.int32), n_chunk)

        chunk = clock.program(programs.run_chunk, inputs(0, 0), state)  # compiled once
        pending: deque = deque()
        dispatched = phase_step = 0
        t0 = time.perf_counter()
        while True:
            while len(pending) < LOOKAHEAD and (
                    dispatched < planned if planned is not None
                    else not pending and not np.all(failed | (evals + max_cost > run.ends[i]))):
                state, log = chunk(inputs(phase_step, gstep), state)
                if probe is not None and (len(logs) + len(pending)) % run.probes[1] == 0:
                    log = {**log, **probe(state)}
                pending.append(log)
                dispatched += 1
                gstep += n_chunk
                phase_step += n_chunk
            if not pending:
                break
            log = jax.device_get(pending.popleft())  # waits for that chunk only
            logs.append(log)
            evals, failed = np.asarray(log["evals"]), np.asarray(log["failed"])
            if planned is not None and np.all(failed):
                planned = dispatched  # every seed froze: queue nothing more
            progress(float(np.min(np.where(failed, run.evals, evals))))
        clock.train_s += time.perf_counter() - t0
    final_out = jax.device_get(clock.run("eval_s", final, setup, _without_opt_state(state)))
    # log points that were not probed hold NaN for the probes (null in records)
    curves = {k: np.stack([np.asarray(lg.get(k, np.full(len(padded), np.nan)))
                           for lg in logs], axis=-1) for k in logs[0]}
    return state, curves, final_out


def _chunks_needed(evals, failed, end: float, cost: float, chunk: int) -> int:
    """Chunks until every active seed of a fixed-cost phase has spent what fits in ``end``: a
    seed steps while ``evals + cost ≤ end``."""
    steps = np.floor((end - np.asarray(evals, np.float64)) / cost + 1e-6)
    steps = np.where(np.asarray(failed), 0, np.maximum(steps, 0))
    return int(math.ceil(float(steps.max()) / chunk)) if steps.size else 0


def _seed_curves(curves: dict, j: int) -> dict[str, list]:
    """Seed ``j``'s curves, cut where its own progress ends: in a vmapped group the chunks go
    on until the slowest seed is done, and a failed seed stays frozen."""
    ev = np.asarray(curves["evals"])[j]
    keep = np.concatenate([[True], ev[1:] > ev[:-1]])
    out = {k: [finite_or_none(x) for x in np.asarray(v)[j][keep]]
           for k, v in curves.items() if k not in ("evals", "failed")}
    out["evals"] = [evals_number(x) for x in ev[keep]]
    return out


def _seed_metrics(final: dict, curves: dict, j: int) -> dict[str, float | None]:
    metrics = {k: finite_or_none(np.asarray(v)[j]) for k, v in final.items()
               if k not in ("evals", "failed", "rel_l2_curve")}
    init_loss = float(np.asarray(curves["loss"])[j, 0])
    final_loss = metrics.get("loss")
    metrics["normalized_loss"] = (
        finite_or_none(final_loss / init_loss) if final_loss is not None and init_loss > 0
        and math.isfinite(init_loss) else None)
    return metrics


def train(task: AbstractTask, solver: SolverSpec, evals: int, sizes: dict[str, int],
          seeds: Sequence[int], *, n_log: int = 100, seed_layout: str | int = "auto",
          progress: Callable[[int, int], None] | None = None, keep_params: bool = False,
          diagnostics: DiagnosticsConfig | None = None,
          on_group: GroupCallback | None = None) -> TrainResult:
    """Train ``seeds`` of ``task`` with ``solver`` for ``evals`` gradient-evaluation equivalents.

    No I/O: returns a :class:`~.results.TrainResult` with one :class:`~.results.SeedResult` per
    seed, in the order of ``seeds``.

    Arguments:
        task: an :class:`~regimebench.problem.AbstractTask` (as ``ProblemSpec.make_task`` builds
            it: float64 physics parameters and reference); the trainer trains on its
            :func:`~regimebench.problem.training_view` in the entry's dtype.
        solver: a validated :class:`~regimebench.solver.SolverSpec`.
        evals: the budget in gradient-evaluation equivalents (phases take fractions of it).
        sizes: collocation counts per term.
        seeds: the seeds; results come back in this order.
        n_log: logging points on the curves (≤ 512); one chunk of ``⌈evals / n_log⌉`` steps
            runs between two points.
        seed_layout: how seeds are grouped (:mod:`.layout`); each group is one vmapped program
            call, groups run one after another, padded to the same size by repeating the
            group's first seed (the copy's results are discarded) so nothing recompiles.
        progress: called as ``progress(evaluations done, evaluations total)`` after every chunk.
        keep_params: keep each seed's final parameters (``SeedResult.params``).
        diagnostics: a :class:`~regimebench.diagnostics.DiagnosticsConfig`: gradient-SNR curves
            during training; with ``landscape``, Hessian and slice probes per seed (when its
            group finishes) and mode connectivity and CKA across seeds (at the end). ``None``:
            off. Field probes of the predictions (``pred_norm_ratio``, spectral and time-window
            errors) are always added to the metrics.
        on_group: called as ``on_group(results, snapshot)`` as soon as a seed group has finished,
            with that group's :class:`SeedResult` (metrics, curves and per-seed diagnostics
            complete) and a :class:`TrainResult` of the run so far (timing, layout, roles), so
            the caller can write the group's records before the next group trains.

    Returns:
        The :class:`TrainResult`. Its ``amended`` lists the seeds whose results changed after
        ``on_group`` saw them (the cross-seed diagnostics, computed once every seed has
        finished); a caller that wrote records from ``on_group`` rewrites those.
    """
    t_all = time.perf_counter()
    seeds = [int(s) for s in seeds]
    resolved = resolve_layout(seed_layout, len(seeds))
    group = resolved.group
    n_groups = math.ceil(len(seeds) / group)
    evals = int(evals)
    n_log = max(1, min(int(n_log), 512))
    setup = build_setup(task, solver, sizes)
    probes = None if diagnostics is None else (int(diagnostics.snr_batches),
                                               int(diagnostics.interval))
    run = _Run(setup, build_phases(solver), tuple(p.kind for p in solver.phases),
               phase_ends(solver, evals), evals, max(1, math.ceil(evals / n_log)), probes,
               diagnostics)
    # (a worker of a multi-process layout records the run's layout, not only its own share)
    layout = {**run_layout(seed_layout, group), "groups": n_groups, "chunk_steps": run.chunk,
              "curve_points": -(-task.eval_set.inputs.shape[0]
                                // task.curve_stride(task.eval_set.inputs.shape[0]))}
    roles = {k: str(v) for k, v in task.term_roles.items()}
    clock = _Clock()
    results: list[SeedResult] = []
    final_params: list = []
    final_preds: list = []
    cross = diagnostics is not None and diagnostics.landscape and len(seeds) >= 2

    def snapshot() -> TrainResult:
        # the phases' cost models and measured step costs travel in the layout, which every
        # record stores
        return TrainResult(list(results), _timing(clock, results, t_all),
                           {**layout, "phases": [dict(p) for p in run.phase_info]}, roles,
                           [dict(p) for p in run.phase_info], setup.static)

    for g in range(n_groups):
        members = seeds[g * group:(g + 1) * group]
        padded = members + [members[0]] * (group - len(members))
        done_before = g * evals

        def group_progress(done: float, done_before=done_before) -> None:
            if progress is not None:
                progress(int(done_before + done), evals * n_groups)

        before = clock.total()
        state, curves, final = _run_group(run, padded, clock, group_progress)
        group_results, params, preds = _finish_group(run, task, members, state, curves, final,
                                                     clock, keep_params)
        for r in group_results:  # a padded copy's share of the time is charged to no seed
            r.seconds = (clock.total() - before) / group
        results.extend(group_results)
        if cross:
            final_params.extend(params)
            final_preds.extend(preds)
        if on_group is not None:
            on_group(group_results, snapshot())

    amended: list[int] = []
    if cross:
        t0 = time.perf_counter()
        extra = cross_seed_landscape(setup, final_params, np.stack(final_preds), seeds,
                                     diagnostics)
        for r, d in zip(results, extra):
            r.diagnostics.update(d)
        amended = list(seeds)
        clock.diagnostics_s += time.perf_counter() - t0
    out = snapshot()
    out.amended = amended
    return out


def _finish_group(run: _Run, task: AbstractTask, members: list[int], state: SeedState,
                  curves: dict, final: dict, clock: _Clock, keep_params: bool
                  ) -> tuple[list[SeedResult], list, np.ndarray]:
    """The results of a trained group's real members (padding dropped): metrics, curves, field
    probes of the predictions and, with landscape diagnostics, the per-seed Hessian probes.

    Returns the results, each member's final parameters and the group's float64 predictions.
    """
    setup, diagnostics = run.setup, run.diagnostics
    t0 = time.perf_counter()
    predict = clock.program(programs.predictions, setup, state.params)
    preds = np.asarray(jax.device_get(predict(setup, state.params)))
    field_m, field_d = field_probes(preds[:len(members)], task.eval_set)
    clock.eval_s += time.perf_counter() - t0
    params = [jax.tree.map(lambda x, j=j: np.asarray(x)[j], state.params)
              for j in range(len(members))]
    diags = [dict(d) for d in field_d]
    if diagnostics is not None and diagnostics.landscape:
        t0 = time.perf_counter()
        for d, extra in zip(diags, seed_landscape(setup, params, members, diagnostics)):
            d.update(extra, config=diagnostics.as_dict())
        clock.diagnostics_s += time.perf_counter() - t0
    failed, failed_step, evals_done = (np.asarray(x) for x in
                                       (state.failed, state.failed_step, state.evals))
    results = []
    for j, seed in enumerate(members):
        metrics = _seed_metrics(final, curves, j)
        metrics.update({k: v for k, v in field_m[j].items() if k not in metrics})
        is_failed = bool(failed[j])
        results.append(SeedResult(
            seed=seed,
            status=Status.FAILED if is_failed else Status.OK,
            failure=FailureReason.NON_FINITE if is_failed else None,
            failed_step=int(failed_step[j]) if is_failed else None,
            evals=evals_number(evals_done[j]),
            metrics=metrics,
            curves=_seed_curves(curves, j),
            params=params[j] if keep_params else None,
            diagnostics=diags[j],
        ))
    return results, params, preds[:len(members)]


def _timing(clock: _Clock, results: list[SeedResult], t_all: float) -> dict[str, float | None]:
    total_evals = float(sum(r.evals for r in results))
    return {
        "compile_s": clock.compile_s,
        "init_s": clock.init_s,
        "train_s": clock.train_s,
        "eval_s": clock.eval_s,
        "diagnostics_s": clock.diagnostics_s,
        "wall_s": time.perf_counter() - t_all,
        "seed_steps_per_s": total_evals / clock.train_s if clock.train_s > 0 else None,
    }

