"""Achieved FLOP/s of the helmholtz training step, from XLA's cost analysis.

XLA's cost analysis counts a ``lax.scan`` body once, whatever its trip count (checked: a chunk
of 10 steps reports the FLOPs of a chunk of 1), so the count comes from *one training step*
compiled on its own: ``pinn-mlp-adam``'s Adam step, S seeds vmapped in one group. Not the
helmholtz default entry: its grad-norm weighting refreshes the weights inside a ``lax.cond``
every few steps, and the cost analysis counts that branch in every step, so its count would
overstate the work of an average step. The vanilla entry does the same work every step. Achieved
FLOP/s = FLOPs of one call / median time of one call (the state is fed back, so every timed call
is a real step).

``extra_info`` holds ``flops_per_step``, ``achieved_flops_per_s`` and two fractions:

* ``fraction_of_matmul`` — of the FLOP/s this device reaches on a large square matmul in the
  step's dtype (measured in the same process): a practical roofline, and the only one on a CPU
  whose model the virtual machine hides;
* ``fraction_of_peak`` — of the data-sheet dense peak, for the devices in ``PEAKS``; ``None``
  elsewhere. Against the *vector* (non-tensor-core) FP32 peak: an MLP's tanh and elementwise
  chain runs there, and JAX's default matmul precision on these GPUs is TF32 (``tf32_peak`` is
  stored too).
"""

from __future__ import annotations

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _common import ROUNDS, GroupRunner, default_setup, device_info

from regimebench.engine.step import train_step
from regimebench.solver import load_solver

# Dense (no sparsity) data-sheet peaks in FLOP/s: NVIDIA H100 and H200 datasheets (SXM and PCIe).
PEAKS = {
    "H100 PCIe": {"fp32": 51.2e12, "tf32": 378e12},
    "H100": {"fp32": 66.9e12, "tf32": 494.7e12},  # SXM5; also the H100 80GB HBM3 device kind
    "H200": {"fp32": 66.9e12, "tf32": 494.7e12},
}


def _peak(kind: str) -> dict | None:
    for name in sorted(PEAKS, key=len, reverse=True):  # "H100 PCIe" before "H100"
        if name.lower() in kind.lower():
            return PEAKS[name]
    return None


def _cost(lowered) -> dict:
    analysis = lowered.compile().cost_analysis()
    return analysis[0] if isinstance(analysis, list) else analysis


def _median_seconds(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _matmul_flops_per_s(dtype) -> float:
    n = 8192 if jax.default_backend() == "gpu" else 2048
    a = jax.random.normal(jax.random.key(0), (n, n), dtype)
    mm = jax.jit(lambda x: x @ x)
    jax.block_until_ready(mm(a))
    return 2 * n**3 / _median_seconds(lambda: mm(a), max(3, ROUNDS))


@pytest.mark.parametrize("n_seeds", [1, 16])
def test_training_step_flops(benchmark, n_seeds):
    task, solver, sizes = default_setup("helmholtz", load_solver("pinn-mlp-adam"))
    runner = GroupRunner(task, solver, sizes, n_seeds, n_seeds, phase=0)
    setup, phase, budget = runner.setup, runner.phase, runner.budget
    step = eqx.filter_jit(eqx.filter_vmap(
        lambda s, i: train_step(setup, phase, budget, s, i, i), in_axes=(0, None)))
    state, i = runner.states[0], jnp.asarray(0, jnp.int32)
    flops = _cost(step.lower(state, i).lowered)["flops"]
    box = [step(state, i)]  # compile outside the timing

    def one_step():
        box[0] = step(box[0], i)
        return box[0]

    benchmark.pedantic(one_step, rounds=max(5, ROUNDS * 4), warmup_rounds=2)
    achieved = flops / benchmark.stats.stats.median
    dtype = jnp.dtype(solver.dtype)
    matmul = _matmul_flops_per_s(dtype)
    info = device_info()
    peak = _peak(info["device_kind"])
    benchmark.extra_info.update(info)
    benchmark.extra_info.update(
        problem="helmholtz", solver=solver.name, seeds=n_seeds, dtype=str(dtype), sizes=sizes,
        flops_per_step=flops, achieved_flops_per_s=achieved, matmul_flops_per_s=matmul,
        fraction_of_matmul=achieved / matmul,
        fraction_of_peak=None if peak is None else achieved / peak["fp32"],
        tf32_peak=None if peak is None else peak["tf32"],
    )
    print(f"\nhelmholtz step, S={n_seeds}: {flops / 1e6:.0f} MFLOP, {achieved / 1e9:.2f} GFLOP/s "
          f"= {achieved / matmul:.1%} of a {dtype} matmul ({matmul / 1e9:.1f} GFLOP/s)"
          + ("" if peak is None else f", {achieved / peak['fp32']:.2%} of FP32 peak"))
