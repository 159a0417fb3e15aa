"""Standalone natural-gradient / Gauss–Newton training on catalogue tasks, FLOP-fairly counted.

Run from the worktree root (float64 throughout unless ``--float32``)::

    PYTHONPATH=src python experiments/second_order/harness.py helmholtz --width 48 --depth 2 \
        --budget 3000 --seeds 0 1 2 --out /tmp/ngd/helm.json

Every step is charged its gradient-evaluation equivalents: XLA flops of the compiled step
(Jacobian, Gram, solve, line search) plus the analytic Cholesky flops, over the XLA flops of one
gradient of the same weighted loss on the same points (``cost.py``). The run stops when the next
step would exceed the budget; rel. L2 (``task.error``) is logged against equivalents, and
recorded at every ``--marks`` budget it passes (e.g. 3000 and 40000 from one run: the sequence
of steps up to a mark is exactly that of a run with that budget).

Seeds are vmapped (the step runs under ``jax.vmap``, as the trainer will run it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cost import xla_flops  # noqa: E402
from models import build_model, loss_terms  # noqa: E402

from regimebench.components import natural_gradient as ng  # noqa: E402
from regimebench.components import samplers  # noqa: E402
from regimebench.problem import load_problem  # noqa: E402

DEFAULT_PARAMS = {"helmholtz": {}, "burgers": {}, "darcy": {}, "lid-driven-cavity": {},
                  "allen-cahn": {}}


def make_task(problem: str, overrides: dict, tier: str, size_overrides: dict):
    spec = load_problem(problem)
    params = spec.resolve_params("forward", overrides)
    sizes = spec.sizes("forward", tier)
    sizes.update(size_overrides)
    return spec.make_task("forward", params, sizes), sizes


def parse_kv(items):
    out = {}
    for it in items or []:
        k, v = it.split("=")
        try:
            out[k] = int(v)
        except ValueError:
            out[k] = float(v)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("problem")
    ap.add_argument("--param", nargs="*", help="problem parameter overrides k=v")
    ap.add_argument("--tier", default="cpu", help="collocation sizes of this tier")
    ap.add_argument("--sizes", nargs="*", help="size overrides term=n")
    ap.add_argument("--width", type=int, default=48)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--activation", default="tanh")
    ap.add_argument("--hard", action="store_true", help="hard boundary/initial constraint")
    ap.add_argument("--periodic", type=int, default=0,
                    help="exact periodic embedding with this many harmonics (0: off)")
    ap.add_argument("--loss", default="strong", choices=["strong", "ritz"])
    ap.add_argument("--ritz-penalty", type=float, default=0.0,
                    help="Ritz boundary penalty β (0: needs --hard)")
    ap.add_argument("--ritz-mass", type=float, default=1.0)
    ap.add_argument("--damping", type=float, default=1e-8)
    ap.add_argument("--relative-damping", action="store_true")
    ap.add_argument("--damping-rule", default="gain", choices=list(ng.DAMPING_RULES))
    ap.add_argument("--damping-min", type=float, default=1e-14)
    ap.add_argument("--damping-max", type=float, default=1e2)
    ap.add_argument("--damping-down", type=float, default=0.5)
    ap.add_argument("--damping-up", type=float, default=10.0)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--grid", type=int, default=16, help="line-search grid size")
    ap.add_argument("--grid-base", type=float, default=2.0)
    ap.add_argument("--space", default="auto")
    ap.add_argument("--cg-iters", type=int, default=50)
    ap.add_argument("--jacobian", default="per_point_rev")
    ap.add_argument("--resample", type=int, default=20, help="steps per batch of points")
    ap.add_argument("--rad", type=int, default=0,
                    help="RAD resampling of the pde points from a pool this many times larger "
                         "(Wu et al. 2023, k = c = 1; the pool's residuals are charged)")
    ap.add_argument("--inv-coefficient-weights", action="store_true",
                    help="darcy: per-point weights 1/a(x)² on the pde term (the residual "
                         "divided by the coefficient)")
    ap.add_argument("--search-fresh", action="store_true",
                    help="line search on an independent batch (drawn with each batch)")
    ap.add_argument("--weights", nargs="*", help="term weights term=w (default 1)")
    ap.add_argument("--budget", type=float, default=3000)
    ap.add_argument("--marks", nargs="*", type=float, default=[3000, 40000])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--float32", action="store_true")
    ap.add_argument("--logs", type=int, default=40, help="error evaluations along the run")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", default="")
    args = ap.parse_args(argv)

    dtype = jnp.float32 if args.float32 else jnp.float64
    task, sizes = make_task(args.problem, parse_kv(args.param), args.tier, parse_kv(args.sizes))
    weights = {t: 1.0 for t in task.term_names}
    weights.update(parse_kv(args.weights))
    terms = loss_terms(task, args)
    cfg = ng.NGConfig(damping=args.damping, relative_damping=args.relative_damping,
                      damping_rule=args.damping_rule, damping_min=args.damping_min,
                      damping_max=args.damping_max, damping_down=args.damping_down,
                      damping_up=args.damping_up, momentum=args.momentum,
                      grid_size=args.grid, grid_base=args.grid_base,
                      jacobian_mode=args.jacobian, space=args.space, terms=terms,
                      cg_iters=args.cg_iters)

    def cast(tree):
        return jax.tree.map(lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, tree)

    keys = jnp.stack([jax.random.key_data(jax.random.key(s)) for s in args.seeds])

    def init_one(kd):
        k_model, k_run = jax.random.split(jax.random.wrap_key_data(kd))
        model = cast(build_model(task, args, k_model))
        params, _ = eqx.partition(model, eqx.is_inexact_array)
        return params, jax.random.key_data(k_run)

    _, static = eqx.partition(cast(build_model(task, args, jax.random.key(0))),
                              eqx.is_inexact_array)
    params, run_keys = jax.vmap(init_one)(keys)
    tw = {t: jnp.asarray(weights[t], dtype) for t in terms}
    pw = {t: None for t in terms}

    def point_weights(b):
        if not args.inv_coefficient_weights:
            return pw
        from regimebench._catalogue import load_problem_module
        ref = load_problem_module("darcy", "reference")
        a = ref.coefficient(b["pde"][:, 0], b["pde"][:, 1], task.sigma, xp=jnp)
        return {**pw, "pde": 1.0 / a**2}

    # ---- the step, and its cost in gradient equivalents
    p0 = jax.tree.map(lambda x: x[0], params)
    state0 = ng.ng_init(p0, cfg)
    batch0 = cast(task.sample(jax.random.key(123), sizes))
    tier_batch = cast(task.sample(jax.random.key(123),
                                  load_problem(args.problem).sizes("forward", args.tier)))
    n_params = int(ravel_pytree(p0)[0].shape[0])
    all_terms = tuple(task.term_names)
    ones = {t: jnp.asarray(1.0, dtype) for t in all_terms}
    nones = {t: None for t in all_terms}

    if args.loss == "strong":
        def step_fn(task_, p, s, b, b_search=None):
            return ng.ng_step(task_.residuals, static, p, s, b, tw, point_weights(b), cfg,
                              terms, b_search,
                              None if b_search is None else point_weights(b_search))

        def own_grad_fn(task_, p, b):
            return jax.grad(lambda q: ng.weighted_loss(task_.residuals, static, q, b, tw,
                                                       point_weights(b), terms))(p)

        def rows_fn(task_, p, b):
            return ng.residual_system(task_.residuals, static, p, b, tw, point_weights(b),
                                      terms, cfg.jacobian_mode)
    else:
        from regimebench.ritz import ritz_energy, ritz_forms, ritz_ng_step, ritz_rows
        if not args.hard and not args.ritz_penalty:
            raise SystemExit("--loss ritz needs --hard or --ritz-penalty > 0")
        form = ritz_forms.get(args.problem)(task)
        beta = args.ritz_penalty
        rterms = ("energy", "bc") if beta else ("energy",)
        rtw = {"energy": form.measure, "bc": beta * form.boundary_measure}

        def step_fn(task_, p, s, b, b_search=None):
            return ritz_ng_step(form, task_, static, p, s, b, cfg, boundary_weight=beta,
                                mass=args.ritz_mass, search_batch=b_search)

        def own_grad_fn(task_, p, b):
            return jax.grad(lambda q: ritz_energy(form, task_, eqx.combine(q, static), b,
                                                  beta))(p)

        def rows_fn(task_, p, b):
            return ng.residual_system(
                lambda m, bb: ritz_rows(form, task_, m, bb, args.ritz_mass)[0], static, p, b,
                rtw, {t: None for t in rterms}, rterms, cfg.jacobian_mode)

    def ref_grad_fn(task_, p, b):
        # One gradient of the strong-form loss of every term on the tier's points: the unit in
        # which the default (Adam) entries spend the tier's budget.
        return jax.grad(lambda q: ng.weighted_loss(task_.residuals, static, q, b, ones, nones,
                                                   all_terms))(p)

    n_rows = int(jax.eval_shape(rows_fn, task, p0, batch0)[0].shape[0])
    sample_space = cfg.space == "sample" or (cfg.space == "auto" and n_rows <= n_params)
    f_ref = xla_flops(ref_grad_fn, task, p0, tier_batch)
    f_own = xla_flops(own_grad_fn, task, p0, batch0)
    f_step_xla = xla_flops(step_fn, task, p0, state0, batch0,
                           batch0 if args.search_fresh else None)
    f_rows = xla_flops(rows_fn, task, p0, batch0)
    f_chol = 0.0 if cfg.space == "cg" else ng.cholesky_flops(n_rows if sample_space
                                                             else n_params)
    f_step = f_step_xla + f_chol
    # RAD: one forward residual pass on the candidate pool per batch, amortised over the steps
    # that use the batch.
    rad = samplers.get("rad")(every=1, pool=args.rad, terms=["pde"]) if args.rad else None
    f_rad = 0.0
    if rad is not None:
        def rad_fn(task_, p, b, key):
            return rad.update(task_, b, key, jnp.asarray(0), sizes,
                              residual_fn=lambda pts: task_.residuals(eqx.combine(p, static),
                                                                      pts))

        f_rad = xla_flops(rad_fn, task, p0, batch0, jax.random.key(0))
    eq_step = (f_step + f_rad / args.resample) / f_ref
    cost = {"ref_grad_flops": f_ref, "own_grad_flops": f_own, "step_flops_xla": f_step_xla,
            "cholesky_flops": f_chol, "jacobian_flops": f_rows, "rad_flops": f_rad,
            "eq_per_step": eq_step,
            "eq_per_step_own": f_step / f_own, "eq_jacobian_own": f_rows / f_own,
            "rows": n_rows, "params": n_params,
            "solve_space": "cg" if cfg.space == "cg" else
            "sample" if sample_space else "parameter"}
    print(json.dumps(cost), flush=True)

    # ---- training
    K = args.resample
    marks = sorted({m for m in args.marks if m <= args.budget} | {args.budget})
    mark_steps = [int(math.floor(m / eq_step + 1e-9)) for m in marks]
    total_steps = mark_steps[-1]
    log_every = max(1, total_steps // max(1, args.logs))

    def chunk_one(task_, p, s, kd, n_active):
        key, k_s = jax.random.split(jax.random.wrap_key_data(kd))
        b = cast(task_.sample(k_s, sizes))
        if rad is not None:
            b = rad.update(task_, b, jax.random.fold_in(k_s, 2), jnp.asarray(0), sizes,
                           residual_fn=lambda pts: task_.residuals(eqx.combine(p, static), pts))
        b_search = (cast(task_.sample(jax.random.fold_in(k_s, 1), sizes))
                    if args.search_fresh else None)

        def body(carry, i):
            p, s = carry
            new_p, new_s, info = step_fn(task_, p, s, b, b_search)
            on = i < n_active
            p = jax.tree.map(lambda a, c: jnp.where(on, a, c), new_p, p)
            s = jax.tree.map(lambda a, c: jnp.where(on, a, c), new_s, s)
            return (p, s), info

        (p, s), infos = jax.lax.scan(body, (p, s), jnp.arange(K))
        return p, s, jax.random.key_data(key), infos

    chunk = eqx.filter_jit(jax.vmap(chunk_one, in_axes=(None, 0, 0, 0, None)))
    error = eqx.filter_jit(jax.vmap(lambda t, p: t.error(eqx.combine(p, static)),
                                    in_axes=(None, 0)))
    states = jax.vmap(lambda p: ng.ng_init(p, cfg))(params)
    curve = [(0.0, np.asarray(error(task, params)).tolist(), None)]
    at_marks, losses = {}, []
    done, next_log, mi, t0 = 0, log_every, 0, time.perf_counter()
    while done < total_steps:
        n = min(K, mark_steps[mi] - done)
        params, states, run_keys, infos = chunk(task, params, states, run_keys, jnp.asarray(n))
        done += n
        loss_now = np.asarray(infos.new_loss[:, n - 1]).tolist()
        losses.append((done * eq_step, loss_now, np.asarray(infos.damping[:, n - 1]).tolist(),
                       np.asarray(infos.grid_index[:, :n]).mean(axis=1).tolist()))
        hit_mark = done == mark_steps[mi]
        if done >= next_log or hit_mark:
            err = np.asarray(error(task, params)).tolist()
            curve.append((done * eq_step, err, loss_now))
            print(f"eq {done * eq_step:9.0f} step {done:6d} err {np.median(err):.3e} "
                  f"loss {np.median(loss_now):.3e} lam {np.median(losses[-1][2]):.1e} "
                  f"t {time.perf_counter() - t0:7.1f}s", flush=True)
            while next_log <= done:
                next_log += log_every
        if hit_mark:
            at_marks[str(int(marks[mi]))] = {"steps": done, "eq": done * eq_step,
                                             "errors": err, "median": float(np.median(err))}
            mi += 1
    wall = time.perf_counter() - t0
    out = {"args": vars(args), "cost": cost, "sizes": sizes, "terms": list(terms),
           "marks": at_marks, "curve": curve, "losses": losses, "wall_s": wall,
           "final_median": float(np.median(curve[-1][1]))}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out))
    print(json.dumps({k: v["median"] for k, v in at_marks.items()}), f"wall {wall:.0f}s")


if __name__ == "__main__":
    main()
