"""Cost of the per-seed end-of-training landscape probes on helmholtz (``--diagnostics full``).

Run: ``PYTHONPATH=src pytest benchmarks/bench_landscape_probes.py --benchmark-only -s``
(``BENCH_ROUNDS`` rounds, default 5; ``BENCH_TIER`` the collocation sizes, default ``cpu``).

For the strong-form twin and the Deep Ritz entry (the pair of issue 20's reproduction (d)), at
the tier's collocation sizes and the default :class:`~regimebench.diagnostics.DiagnosticsConfig`,
times one seed's two compiled probe programs of :mod:`regimebench.diagnostics.end` after a
warm-up call (compilation is paid once per run and reported separately as ``compile_s``):
``probes`` — power iteration, Hutchinson trace, slices; ``spectrum`` — the stochastic Lanczos
quadrature (``lanczos_steps × lanczos_probes`` HVPs). The parameters are the entry's
initialisation: the probes do the same work at any parameter values, except the power
iteration and the trace, which stop when they converge.
"""

from __future__ import annotations

import os
import time

import equinox as eqx
import jax
import pytest

from regimebench.diagnostics import DiagnosticsConfig, end
from regimebench.engine.setup import build_setup
from regimebench.engine.state import cast_floating
from regimebench.problem import load_problem
from regimebench.solver import load_solver

TIER = os.environ.get("BENCH_TIER", "cpu")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PROGRAMS = {"probes": end._seed_probes, "spectrum": end._seed_spectrum}


@pytest.mark.parametrize("program", sorted(PROGRAMS))
@pytest.mark.parametrize("entry", ["deep-ritz-mlp-strong-twin", "deep-ritz-mlp"])
def test_landscape_probe_cost(benchmark, entry, program):
    p = load_problem("helmholtz")
    sizes = p.sizes("forward", TIER)
    task = p.make_task("forward", p.resolve_params("forward"), sizes)
    setup = build_setup(task, load_solver(entry), sizes)
    model = cast_floating(setup.model.build(setup.task, jax.random.key(0)), setup.jnp_dtype)
    params = eqx.partition(model, eqx.is_inexact_array)[0]
    cfg = DiagnosticsConfig()
    batch = end._landscape_batch(setup, cfg)
    key = jax.random.key(0)
    fn = PROGRAMS[program]

    def call():
        return jax.block_until_ready(fn(setup, batch, params, key, cfg))

    t0 = time.perf_counter()
    call()
    benchmark.extra_info["compile_s"] = time.perf_counter() - t0  # compile + one call
    benchmark.extra_info["landscape_objective"] = setup.loss_form.landscape_name
    benchmark.pedantic(call, rounds=ROUNDS, iterations=1)
