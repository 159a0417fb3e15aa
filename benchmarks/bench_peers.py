"""The trainer against the peers on the same work: seed-steps/s, compilation excluded.

The work (the issue's): helmholtz (a1 = 1, a2 = 4, k = 1), a 4 × 64 tanh MLP, 512 interior and
128 boundary points drawn once and kept fixed, unit term weights, Adam (lr 1e-3), float32, one
seed, ``BENCH_PEER_STEPS`` steps (default 2000). Three ways, in one run:

* ``trainer`` — :func:`regimebench.train.train` as a user calls it (its curves: 100 log points
  on the evaluation subsample); seed-steps/s from the call's own ``timing["train_s"]`` and from
  the wall time of a whole call with every program already compiled;
* ``minimal`` — a hand-written JAX + equinox + optax loop (below, ~40 lines): ``eqx.nn.MLP``,
  the Laplacian by nested ``jax.jvp``, ``lax.scan`` over the steps, no logging;
* ``deepxde`` — DeepXDE 1.x with the PyTorch backend (the optional ``peers`` extra:
  ``pip install -e '.[peers]'``; skipped with the reason when it is not installed), ``torch``
  threads: ``BENCH_TORCH_THREADS`` (default 1, as DeepXDE users on a laptop run it; the issue's
  comparison used one thread) — DeepXDE has no compilation, so its first 50 iterations are a
  warm-up outside the timing.

``extra_info["seed_steps_per_s"]`` per case; ``test_ratios`` prints and stores trainer/minimal
and trainer/deepxde. Targets (issue 19, benchmarks not tests): ≥ 1.0× the minimal loop and
≥ 1.5× DeepXDE.
"""

from __future__ import annotations

import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from _common import ROUNDS, device_info

from regimebench.problem import load_problem
from regimebench.solver import parse_solver
from regimebench.train import train

STEPS = int(os.environ.get("BENCH_PEER_STEPS", "2000"))
TORCH_THREADS = int(os.environ.get("BENCH_TORCH_THREADS", "1"))
SIZES = {"pde": 512, "bc": 128}
A1, A2, K = 1.0, 4.0, 1.0
_RATES: dict[str, float] = {}


def _points(seed: int = 0):
    """512 interior points uniform in [-1, 1]², 128 uniform on the boundary (float32)."""
    rng = np.random.default_rng(seed)
    interior = rng.uniform(-1, 1, (SIZES["pde"], 2))
    t = rng.uniform(-1, 1, SIZES["bc"])
    side = rng.integers(0, 4, SIZES["bc"])  # the four edges have equal length
    fixed = np.where(side % 2 == 0, -1.0, 1.0)  # x = ±1 for sides 0, 1; y = ±1 for 2, 3
    bc = np.where((side < 2)[:, None], np.stack([fixed, t], -1), np.stack([t, fixed], -1))
    return interior.astype(np.float32), bc.astype(np.float32)


def _source(x, y):
    return (K**2 - (A1**2 + A2**2) * np.pi**2) * np.sin(A1 * np.pi * x) * np.sin(A2 * np.pi * y)


# ------------------------------------------------------------------------------------ trainer
def _trainer_solver():
    return parse_solver({
        "name": "peers", "version": 1, "dtype": "float32", "tasks": ["forward"],
        "architecture": {"kind": "mlp", "width": 64, "depth": 4, "activation": "tanh"},
        "phases": [{"kind": "adam", "lr": 1e-3}],
        "weighting": {"kind": "fixed"}, "sampling": {"kind": "fixed"},
    })


def test_trainer(benchmark):
    p = load_problem("helmholtz")
    task = p.make_task("forward", p.resolve_params("forward"), SIZES)
    solver = _trainer_solver()
    timings = []

    def run():
        res = train(task, solver, STEPS, SIZES, [0])
        timings.append(res.timing)
        return res

    run()  # compiles; later calls reuse every program
    benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=0)
    train_s = float(np.median([t["train_s"] for t in timings[1:]]))
    _RATES["trainer"] = STEPS / train_s
    benchmark.extra_info.update(device_info())
    benchmark.extra_info.update(
        steps=STEPS, seed_steps_per_s=STEPS / train_s,
        seed_steps_per_s_whole_call=STEPS / benchmark.stats.stats.median,
        compile_s_first_call=timings[0]["compile_s"])


# ------------------------------------------------------------------------------------ minimal
def _minimal_loop():
    """The hand-written baseline: returns (run(model, opt_state) -> (model, opt_state), state)."""
    xi, xb = (jnp.asarray(a) for a in _points())
    q = jnp.asarray(_source(*np.asarray(xi).T), jnp.float32)
    model = eqx.nn.MLP(2, 1, 64, 4, activation=jnp.tanh, key=jax.random.key(0))
    opt = optax.adam(1e-3)

    def u(m, x):
        return m(x)[0]

    def laplacian(m, x):
        def d(i):
            e = jnp.zeros(2, x.dtype).at[i].set(1.0)
            du = lambda y: jax.jvp(lambda z: u(m, z), (y,), (e,))[1]  # noqa: E731
            return jax.jvp(du, (x,), (e,))[1]

        return d(0) + d(1)

    params, static = eqx.partition(model, eqx.is_inexact_array)

    def loss(p):
        m = eqx.combine(p, static)
        r = jax.vmap(lambda x: laplacian(m, x) + K**2 * u(m, x))(xi) - q
        b = jax.vmap(lambda x: u(m, x))(xb)
        return jnp.mean(r**2) + jnp.mean(b**2)

    def step(carry, _):
        p, s = carry
        updates, s = opt.update(jax.grad(loss)(p), s, p)
        return (optax.apply_updates(p, updates), s), None

    @jax.jit
    def run(p, s):
        (p, s), _ = jax.lax.scan(step, (p, s), None, length=STEPS)
        return p, s

    return run, (params, opt.init(params))


def test_minimal(benchmark):
    with jax.enable_x64(False):  # float32 end to end, as a user writing this loop would
        run, state = _minimal_loop()
        jax.block_until_ready(run(*state))  # compile outside the timing
        box = [state]

        def go():
            box[0] = jax.block_until_ready(run(*box[0]))

        benchmark.pedantic(go, rounds=ROUNDS, warmup_rounds=0)
    _RATES["minimal"] = STEPS / benchmark.stats.stats.median
    benchmark.extra_info.update(device_info())
    benchmark.extra_info.update(steps=STEPS, seed_steps_per_s=_RATES["minimal"])


# ------------------------------------------------------------------------------------ deepxde
def test_deepxde(benchmark):
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    torch = pytest.importorskip("torch", reason="the 'peers' extra is not installed: "
                                               "pip install -e '.[peers]'")
    dde = pytest.importorskip("deepxde", reason="the 'peers' extra is not installed: "
                                               "pip install -e '.[peers]'")
    if dde.backend.backend_name != "pytorch":
        pytest.skip(f"DeepXDE runs on {dde.backend.backend_name}, not pytorch (DDE_BACKEND)")
    torch.set_num_threads(TORCH_THREADS)
    dde.config.set_default_float("float32")
    dde.config.set_random_seed(0)
    xi, xb = _points()

    def pde(x, y):
        lap = dde.grad.hessian(y, x, i=0, j=0) + dde.grad.hessian(y, x, i=1, j=1)
        q = (K**2 - (A1**2 + A2**2) * np.pi**2) * torch.sin(A1 * np.pi * x[:, :1]) * torch.sin(
            A2 * np.pi * x[:, 1:2])
        return lap + K**2 * y - q

    geom = dde.geometry.Rectangle([-1, -1], [1, 1])
    bc = dde.icbc.DirichletBC(geom, lambda x: np.zeros((len(x), 1)), lambda _, on: on)
    # the fixed points, as anchors (num_domain = num_boundary = 0: nothing else is sampled)
    data = dde.data.PDE(geom, pde, [bc], num_domain=0, num_boundary=0,
                        anchors=np.concatenate([xi, xb]))
    net = dde.nn.FNN([2] + [64] * 4 + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=1e-3)
    model.train(iterations=50, display_every=10**9, verbose=0)  # warm-up outside the timing
    benchmark.pedantic(lambda: model.train(iterations=STEPS, display_every=10**9, verbose=0),
                       rounds=max(1, ROUNDS // 2), warmup_rounds=0)
    _RATES["deepxde"] = STEPS / benchmark.stats.stats.median
    benchmark.extra_info.update(device_info())
    benchmark.extra_info.update(steps=STEPS, seed_steps_per_s=_RATES["deepxde"],
                                torch_threads=TORCH_THREADS, deepxde=dde.__version__,
                                torch=torch.__version__)


def test_ratios(benchmark):
    """trainer / minimal and trainer / deepxde (printed; stored in extra_info)."""
    if "trainer" not in _RATES or "minimal" not in _RATES:
        pytest.skip("run with test_trainer and test_minimal in the same session")
    ratios = {f"trainer/{k}": _RATES["trainer"] / v for k, v in _RATES.items() if k != "trainer"}
    benchmark.pedantic(lambda: None, rounds=1)
    benchmark.extra_info.update(rates=dict(_RATES), ratios=ratios)
    print("\nseed-steps/s: " + ", ".join(f"{k} {v:.1f}" for k, v in _RATES.items())
          + "; " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
