"""End-of-training diagnostics of one run's seeds (called by :func:`regimebench.engine.train`).

Per seed, as soon as its seed group has finished: field probes (:mod:`.fields`) of its
predictions, and (``config.landscape``) the top Hessian eigenvalue and Hutchinson trace
(:mod:`.hessian`) and 1-D/2-D filter-normalised slices (:mod:`.slices`).
Across seeds, once every seed has finished (≥ 2 seeds, ``config.landscape``): linear mode
connectivity for all pairs, Bézier mode connectivity for consecutive pairs (as in the
multi-regime paper's code), and linear CKA of the predictions on the evaluation grid. Each seed
stores its values against the others (``{"mc_linear": {"<other seed>": mc, …}}``) and their means
(``mc_linear_mean``, ``mc_bezier_mean``, ``cka_mean``), so a single record carries the cross-seed
picture of its run.

The landscape loss is the full **unweighted** training loss ``Σ_k mean(r_k²)`` on one fixed
batch sampled with ``config.batch_seed`` (in the entry's dtype) and shared by all seeds, so every
seed (and both ends of a connectivity path) is judged on the same points.

The probes are module-level compiled functions taking the run's
:class:`~regimebench.engine.setup.Setup`, the batch and the parameters as arguments, so they
compile once per structure, like the training programs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..problem import squared_residuals
from .config import DiagnosticsConfig
from .connectivity import bezier_path, linear_path
from .fields import field_metrics
from .hessian import hutchinson_trace, top_eigenvalue
from .similarity import cka_matrix
from .slices import loss_slices

__all__ = ["field_probes", "seed_landscape", "cross_seed_landscape", "unweighted_loss"]


def unweighted_loss(task, static, batch):
    """``params -> Σ_k mean(r_k²)`` of ``task`` on ``batch``."""

    def loss(params):
        res = task.residuals(eqx.combine(params, static), batch)
        return sum(squared_residuals(res[k]).mean() for k in task.term_names)

    return loss


def _f(x):
    x = float(x)
    return x if np.isfinite(x) else None


def field_probes(preds: np.ndarray, eval_set) -> tuple[list[dict], list[dict]]:
    """(metrics, diagnostics) per seed from float64 predictions ``(S, m, c)`` on the evaluation set."""
    targets = np.asarray(eval_set.targets)
    out = [field_metrics(p, targets, tuple(eval_set.grid_shape), tuple(eval_set.axes))
           for p in preds]
    return [m for m, _ in out], [d for _, d in out]


def _landscape_batch(setup, config: DiagnosticsConfig):
    return setup.task.sample(jax.random.key(config.batch_seed), setup.sizes_dict,
                             setup.jnp_dtype)


@eqx.filter_jit
def _seed_probes(setup, batch, params, key, config: DiagnosticsConfig):
    flat, unravel = ravel_pytree(params)
    tree_loss = unweighted_loss(setup.task, setup.static, batch)

    def loss(w):
        return tree_loss(unravel(w))

    k1, k2, k3 = jax.random.split(key, 3)
    lam = top_eigenvalue(loss, flat, k1, iters=config.power_iters, tol=config.power_tol)
    tr = hutchinson_trace(loss, flat, k2, samples=config.trace_samples,
                          min_samples=config.trace_min_samples, tol=config.trace_tol)
    sl = loss_slices(tree_loss, params, k3, n1=config.slice_1d, n2=config.slice_2d,
                     radius=config.slice_range)
    return {"loss": loss(flat), "lam": lam, "tr": tr, "slices": sl}


def seed_landscape(setup, params: Sequence, seeds: Sequence[int],
                   config: DiagnosticsConfig) -> list[dict]:
    """Hessian and slice probes of each seed (one compiled program, called per seed)."""
    batch = _landscape_batch(setup, config)
    out = []
    for p, seed in zip(params, seeds):
        key = jax.random.fold_in(jax.random.key(config.batch_seed), int(seed))
        r = jax.device_get(_seed_probes(setup, batch, p, key, config))
        out.append({
            "landscape_loss": _f(r["loss"]),
            "hessian_lambda_max": _f(r["lam"]["value"]),
            "hessian_power_iterations": int(r["lam"]["iterations"]),
            "hessian_trace": _f(r["tr"]["value"]),
            "hessian_trace_stderr": _f(r["tr"]["stderr"]),
            "hessian_trace_samples": int(r["tr"]["samples"]),
            "slices": {
                "alpha_1d": [_f(x) for x in r["slices"]["alpha_1d"]],
                "loss_1d": [_f(x) for x in r["slices"]["loss_1d"]],
                "alpha_2d": [_f(x) for x in r["slices"]["alpha_2d"]],
                "loss_2d": [[_f(x) for x in row] for row in r["slices"]["loss_2d"]],
            },
        })
    return out


@eqx.filter_jit
def _linear_mc(setup, batch, template, a, b, points: int):
    unravel = ravel_pytree(template)[1]
    tree_loss = unweighted_loss(setup.task, setup.static, batch)
    return linear_path(lambda w: tree_loss(unravel(w)), a, b, points)["mc"]


@eqx.filter_jit
def _bezier_mc(setup, batch, template, a, b, steps: int, fit_points: int, points: int):
    unravel = ravel_pytree(template)[1]
    tree_loss = unweighted_loss(setup.task, setup.static, batch)
    return bezier_path(lambda w: tree_loss(unravel(w)), a, b, steps=steps,
                       fit_points=fit_points, points=points)["mc"]


def _pairs_mean(seeds, table: dict, i: int):
    vals = [v for (a, b), v in table.items() if i in (a, b) and v is not None]
    per = {str(seeds[b if a == i else a]): v for (a, b), v in table.items() if i in (a, b)}
    return (float(np.mean(vals)) if vals else None), per


def cross_seed_landscape(setup, params: Sequence, preds: np.ndarray, seeds: Sequence[int],
                         config: DiagnosticsConfig) -> list[dict]:
    """Mode connectivity and CKA of every seed against the others (``[]`` for one seed)."""
    n = len(seeds)
    if n < 2:
        return [{} for _ in seeds]
    t0 = time.perf_counter()
    batch = _landscape_batch(setup, config)
    template = params[0]
    flats = [ravel_pytree(p)[0] for p in params]
    all_pairs = list(itertools.combinations(range(n), 2))
    consecutive = [(i, i + 1) for i in range(n - 1)]
    lin_t = {(i, j): _f(_linear_mc(setup, batch, template, flats[i], flats[j],
                                   config.path_points)) for i, j in all_pairs}
    bez_t = {(i, j): _f(_bezier_mc(setup, batch, template, flats[i], flats[j],
                                   config.bezier_steps, config.bezier_points,
                                   config.path_points)) for i, j in consecutive}
    cka = np.asarray(cka_matrix(jnp.asarray(preds)))
    out = []
    for j in range(n):
        d: dict = {}
        d["mc_linear_mean"], d["mc_linear"] = _pairs_mean(seeds, lin_t, j)
        d["mc_bezier_mean"], d["mc_bezier"] = _pairs_mean(seeds, bez_t, j)
        others = [k for k in range(n) if k != j]
        d["cka"] = {str(seeds[k]): _f(cka[j, k]) for k in others}
        vals = [cka[j, k] for k in others if np.isfinite(cka[j, k])]
        d["cka_mean"] = float(np.mean(vals)) if vals else None
        d["cross_seed_seconds"] = time.perf_counter() - t0
        out.append(d)
    return out
