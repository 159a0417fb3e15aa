"""End-of-training diagnostics of one run's seeds (called by :func:`regimebench.engine.train`).

Per seed, as soon as its seed group has finished: field probes (:mod:`.fields`) of its
predictions, and (``config.landscape``) the top Hessian eigenvalue, Hutchinson trace and
stochastic-Lanczos spectral density (:mod:`.hessian`) and 1-D/2-D filter-normalised slices
(:mod:`.slices`).
Across seeds, once every seed has finished (≥ 2 seeds, ``config.landscape``): linear mode
connectivity for all pairs, Bézier mode connectivity for consecutive pairs (as in the
multi-regime paper's code), and linear CKA of the predictions on the evaluation grid. Each seed
stores its values against the others (``{"mc_linear": {"<other seed>": mc, …}}``) and their means
(``mc_linear_mean``, ``mc_bezier_mean``, ``cka_mean``), so a single record carries the cross-seed
picture of its run.

The landscape loss (:func:`landscape_loss`) is the entry's own loss form with unit term weights
and no point weights (:meth:`~regimebench.components.optimizers.AbstractLossForm.unweighted`):
``Σ_k mean(r_k²)`` for the strong form, ``|Ω| mean(e) + β Σ_{k≠pde} mean(r_k²)`` for Deep Ritz —
the landscape of the loss the entry minimised, named by ``landscape_objective``. It is evaluated
on one fixed batch sampled with ``config.batch_seed`` (in the entry's dtype) and shared by all
seeds, so every seed (and both ends of a connectivity path) is judged on the same points. Every
probe (Hessian, spectrum, slices, connectivity) uses this one function.

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

from .config import DiagnosticsConfig
from .connectivity import bezier_path, linear_path
from .fields import field_metrics
from .hessian import hutchinson_trace, negative_mass, spectral_density, top_eigenvalue
from .similarity import cka_matrix
from .slices import loss_slices

__all__ = ["field_probes", "seed_landscape", "cross_seed_landscape", "landscape_loss"]


def landscape_loss(setup, batch):
    """``params -> `` the unweighted objective of ``setup``'s loss form on ``batch`` (see the
    module doc; ``setup.loss_form.landscape_name`` names it)."""

    def loss(params):
        return setup.loss_form.unweighted(setup.task, eqx.combine(params, setup.static), batch)

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
    tree_loss = landscape_loss(setup, batch)

    def loss(w):
        return tree_loss(unravel(w))

    k1, k2, k3 = jax.random.split(key, 3)
    lam = top_eigenvalue(loss, flat, k1, iters=config.power_iters, tol=config.power_tol)
    tr = hutchinson_trace(loss, flat, k2, samples=config.trace_samples,
                          min_samples=config.trace_min_samples, tol=config.trace_tol)
    sl = loss_slices(tree_loss, params, k3, n1=config.slice_1d, n2=config.slice_2d,
                     radius=config.slice_range)
    return {"loss": loss(flat), "lam": lam, "tr": tr, "slices": sl}


@eqx.filter_jit
def _seed_spectrum(setup, batch, params, key, config: DiagnosticsConfig):
    flat, unravel = ravel_pytree(params)
    tree_loss = landscape_loss(setup, batch)
    return spectral_density(lambda w: tree_loss(unravel(w)), flat, key,
                            steps=config.lanczos_steps, probes=config.lanczos_probes)


def _esd_record(esd, lambda_max) -> dict:
    """The per-seed spectrum fields (see ``docs/regimes.md``)."""
    nodes = np.asarray(esd["nodes"], float)
    weights = np.asarray(esd["weights"], float)
    probes, steps = nodes.shape
    lam_min = float(np.min(nodes)) if np.all(np.isfinite(nodes)) else None
    return {
        "hessian_esd": {"nodes": [_f(x) for x in nodes.ravel()],
                        "weights": [_f(x / probes) for x in weights.ravel()],
                        "probes": int(probes), "steps": int(steps)},
        "hessian_lambda_min": lam_min,
        "hessian_negative_mass": _f(negative_mass(nodes, weights, lambda_max)),
    }


def seed_landscape(setup, params: Sequence, seeds: Sequence[int],
                   config: DiagnosticsConfig) -> list[dict]:
    """Hessian, spectrum and slice probes of each seed (two compiled programs, called per
    seed)."""
    batch = _landscape_batch(setup, config)
    out = []
    for p, seed in zip(params, seeds):
        key = jax.random.fold_in(jax.random.key(config.batch_seed), int(seed))
        r = jax.device_get(_seed_probes(setup, batch, p, key, config))
        # its own stream: the keys of the older probes (and so their values) are unchanged
        esd = jax.device_get(_seed_spectrum(setup, batch, p, jax.random.fold_in(key, 3), config))
        out.append({
            "landscape_objective": setup.loss_form.landscape_name,
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
            **_esd_record(esd, _f(r["lam"]["value"])),
        })
    return out


@eqx.filter_jit
def _linear_mc(setup, batch, template, a, b, points: int):
    unravel = ravel_pytree(template)[1]
    tree_loss = landscape_loss(setup, batch)
    return linear_path(lambda w: tree_loss(unravel(w)), a, b, points)["mc"]


@eqx.filter_jit
def _bezier_mc(setup, batch, template, a, b, steps: int, fit_points: int, points: int):
    unravel = ravel_pytree(template)[1]
    tree_loss = landscape_loss(setup, batch)
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
