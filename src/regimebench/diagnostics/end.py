"""End-of-training diagnostics of one run's seeds (called by :func:`regimebench.train.train`).

Per seed (vmapped over seeds): field probes (:mod:`.fields`), top Hessian eigenvalue and
Hutchinson trace (:mod:`.hessian`), 1-D/2-D filter-normalised slices (:mod:`.slices`).
Across seeds (≥ 2 seeds): linear mode connectivity for all pairs, Bézier mode connectivity for
consecutive pairs (as in the multi-regime paper's code), and linear CKA of the predictions on
the evaluation grid. Each seed stores its values against the others
(``{"mc_linear": {"<other seed>": mc, …}}``) and their means (``mc_linear_mean``,
``mc_bezier_mean``, ``cka_mean``), so a single record carries the cross-seed picture of its run.

The landscape loss is the full **unweighted** training loss ``Σ_k mean(r_k²)`` on one fixed
batch sampled with ``config.batch_seed`` and shared by all seeds, so every seed (and both ends of a
connectivity path) is judged on the same points.
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

from .config import DiagnosticsConfig
from .connectivity import bezier_path, linear_path
from .fields import field_metrics
from .hessian import hutchinson_trace, top_eigenvalue
from .similarity import cka_matrix
from .slices import loss_slices

__all__ = ["end_of_training", "unweighted_loss"]


def _sq(r):
    r2 = r**2
    return r2.sum(axis=-1) if r2.ndim > 1 else r2


def unweighted_loss(task, static, batch):
    """``params -> Σ_k mean(r_k²)`` of ``task`` on ``batch``."""

    def loss(params):
        res = task.residuals(eqx.combine(params, static), batch)
        return sum(_sq(res[k]).mean() for k in task.term_names)

    return loss


def _f(x):
    x = float(x)
    return x if np.isfinite(x) else None


def _pairs_mean(seeds, table: dict, i: int):
    vals = [v for (a, b), v in table.items() if i in (a, b) and v is not None]
    per = {str(seeds[b if a == i else a]): v for (a, b), v in table.items() if i in (a, b)}
    return (float(np.mean(vals)) if vals else None), per


def end_of_training(task, static, params: Sequence, seeds: Sequence[int], sizes: dict,
                    config: DiagnosticsConfig | None) -> tuple[list[dict], list[dict]]:
    """(extra metrics per seed, diagnostics per seed) for the seeds' final ``params``."""
    t0 = time.perf_counter()
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *params)
    ev = task.eval_set
    preds = np.asarray(eqx.filter_jit(eqx.filter_vmap(
        lambda p: task.predict(eqx.combine(p, static), ev.inputs)))(stacked))
    targets = np.asarray(ev.targets)
    metrics, diags = [], []
    for j in range(len(seeds)):
        m, d = field_metrics(preds[j], targets, tuple(ev.grid_shape), tuple(ev.axes))
        metrics.append(m)
        diags.append(d)
    if config is None or not config.landscape:
        return metrics, diags

    template = params[0]
    dtype = jax.tree.leaves(template)[0].dtype
    flat0, unravel = ravel_pytree(template)
    flats = jnp.stack([ravel_pytree(p)[0] for p in params])
    batch = task.sample(jax.random.key(config.batch_seed), sizes)
    batch = jax.tree.map(lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, batch)
    tree_loss = unweighted_loss(task, static, batch)

    def loss(w):
        return tree_loss(unravel(w))

    keys = jax.vmap(lambda s: jax.random.fold_in(jax.random.key(config.batch_seed), s))(
        jnp.asarray(list(seeds)))

    @jax.jit
    def per_seed(w, key):
        k1, k2, k3 = jax.random.split(key, 3)
        lam = top_eigenvalue(loss, w, k1, iters=config.power_iters, tol=config.power_tol)
        tr = hutchinson_trace(loss, w, k2, samples=config.trace_samples,
                              min_samples=config.trace_min_samples, tol=config.trace_tol)
        sl = loss_slices(tree_loss, unravel(w), k3, n1=config.slice_1d, n2=config.slice_2d,
                         radius=config.slice_range)
        return {"loss": loss(w), "lam": lam, "tr": tr, "slices": sl}

    out = jax.device_get(jax.vmap(per_seed)(flats, keys))
    for j in range(len(seeds)):
        diags[j].update({
            "landscape_loss": _f(out["loss"][j]),
            "hessian_lambda_max": _f(out["lam"]["value"][j]),
            "hessian_power_iterations": int(out["lam"]["iterations"][j]),
            "hessian_trace": _f(out["tr"]["value"][j]),
            "hessian_trace_stderr": _f(out["tr"]["stderr"][j]),
            "hessian_trace_samples": int(out["tr"]["samples"][j]),
            "slices": {
                "alpha_1d": [_f(x) for x in out["slices"]["alpha_1d"][j]],
                "loss_1d": [_f(x) for x in out["slices"]["loss_1d"][j]],
                "alpha_2d": [_f(x) for x in out["slices"]["alpha_2d"][j]],
                "loss_2d": [[_f(x) for x in row] for row in out["slices"]["loss_2d"][j]],
            },
        })

    n = len(seeds)
    if n >= 2:
        all_pairs = list(itertools.combinations(range(n), 2))
        consecutive = [(i, i + 1) for i in range(n - 1)]
        ia, ib = (jnp.asarray([p[k] for p in all_pairs]) for k in (0, 1))
        lin = jax.device_get(jax.jit(jax.vmap(
            lambda a, b: linear_path(loss, a, b, config.path_points)["mc"]))(flats[ia], flats[ib]))
        ca, cb = (jnp.asarray([p[k] for p in consecutive]) for k in (0, 1))
        bez = jax.device_get(jax.jit(jax.vmap(lambda a, b: bezier_path(
            loss, a, b, steps=config.bezier_steps, fit_points=config.bezier_points,
            points=config.path_points)["mc"]))(flats[ca], flats[cb]))
        cka = np.asarray(cka_matrix(jnp.asarray(preds)))
        lin_t = {p: _f(v) for p, v in zip(all_pairs, lin)}
        bez_t = {p: _f(v) for p, v in zip(consecutive, bez)}
        for j in range(n):
            diags[j]["mc_linear_mean"], diags[j]["mc_linear"] = _pairs_mean(seeds, lin_t, j)
            diags[j]["mc_bezier_mean"], diags[j]["mc_bezier"] = _pairs_mean(seeds, bez_t, j)
            others = [k for k in range(n) if k != j]
            diags[j]["cka"] = {str(seeds[k]): _f(cka[j, k]) for k in others}
            vals = [cka[j, k] for k in others if np.isfinite(cka[j, k])]
            diags[j]["cka_mean"] = float(np.mean(vals)) if vals else None
    seconds = time.perf_counter() - t0
    for d in diags:
        d["config"] = config.as_dict()
        d["seconds"] = seconds
    return metrics, diags
