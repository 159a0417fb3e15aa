"""FLOPs of the three ways to build the residual Jacobian, in gradient equivalents.

    PYTHONPATH=src python experiments/second_order/jacobian_cost.py [problem ...]

For each problem (a 2×48 tanh MLP, float64; the points are the smoke tier's, since the
forward-mode Jacobian holds P tangents per point in memory — the ratios hardly depend on N
except the Gram's, which grows like N): XLA flops of
``residual_system`` in each :data:`JACOBIAN_MODES` over the flops of one gradient of the same
loss on the same points; and the whole step (Gram, Cholesky, 16-point line search) for the
default mode.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cost import xla_flops  # noqa: E402

from regimebench.components import natural_gradient as ng  # noqa: E402
from regimebench.components.architectures import architectures  # noqa: E402
from regimebench.problem import load_problem  # noqa: E402


def measure(problem: str, width: int = 48, depth: int = 2) -> dict:
    spec = load_problem(problem)
    sizes = spec.sizes("forward", "smoke")
    task = spec.make_task("forward", spec.resolve_params("forward"), sizes)
    in_size, out_size = task.model_io
    net = architectures.get("mlp")(in_size, out_size, key=jax.random.key(0), width=width,
                                   depth=depth)
    net = jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x, net)
    params, static = eqx.partition(net, eqx.is_inexact_array)
    batch = task.sample(jax.random.key(1), sizes)
    terms = tuple(task.term_names)
    tw = {t: jnp.asarray(1.0) for t in terms}
    pw = {t: None for t in terms}

    def grad(tk, p, b):
        return jax.grad(lambda q: ng.weighted_loss(tk.residuals, static, q, b, tw, pw, terms))(p)

    f_grad = xla_flops(grad, task, params, batch)
    out = {"problem": problem, "params": int(ravel_pytree(params)[0].shape[0]),
           "points": sizes, "grad_flops": f_grad}
    for mode in ng.JACOBIAN_MODES:
        def system(tk, p, b, mode=mode):
            return ng.residual_system(tk.residuals, static, p, b, tw, pw, terms, mode)

        out[f"jacobian_{mode}"] = xla_flops(system, task, params, batch) / f_grad
    cfg = ng.NGConfig(grid_size=16)
    rows = int(jax.eval_shape(lambda tk, p, b: ng.residual_system(
        tk.residuals, static, p, b, tw, pw, terms)[0], task, params, batch).shape[0])

    def step(tk, p, s, b):
        return ng.ng_step(tk.residuals, static, p, s, b, tw, pw, cfg, terms)

    f_step = xla_flops(step, task, params, ng.ng_init(params, cfg), batch)
    n = min(rows, out["params"])
    out.update(rows=rows, step=(f_step + ng.cholesky_flops(n)) / f_grad,
               gram=2.0 * rows * rows * out["params"] / f_grad,
               cholesky=ng.cholesky_flops(n) / f_grad)

    def loss(tk, p, b):
        return ng.weighted_loss(tk.residuals, static, p, b, tw, pw, terms)

    out["loss_eval"] = xla_flops(loss, task, params, batch) / f_grad
    return out


if __name__ == "__main__":
    for name in sys.argv[1:] or ["helmholtz", "burgers", "darcy", "lid-driven-cavity",
                                 "allen-cahn"]:
        print(json.dumps(measure(name)), flush=True)
