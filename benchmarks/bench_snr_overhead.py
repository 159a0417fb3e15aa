"""Overhead of training-time gradient probes (SNR, per-term gradient norms) on helmholtz.

Run: ``PYTHONPATH=src pytest benchmarks/bench_snr_overhead.py --benchmark-only``
(``REGIMEBENCH_BENCH_EVALS`` changes the budget; default 3000 gradient evaluations, the
helmholtz ``cpu`` tier, i.e. 30 training steps per log with the default 100 logs).

Both variants train the canonical ``pinn-mlp-adam`` entry on helmholtz at the ``cpu`` tier's
collocation sizes with the default logging schedule (100 logs per run); "with" adds the default
:class:`~regimebench.diagnostics.DiagnosticsConfig` probes (B = 16 mini-batches, every log)
without the end-of-training landscape probes, which run once and are timed separately in the
record (``timing.diagnostics_s``). The figure of merit is ``train_s`` (compiled chunks after
the first): compilation is paid once per run whatever the budget. The ratio of the two means is
printed and stored in ``extra_info``; the target is ≤ 1.30.
"""

from __future__ import annotations

import os
import statistics

import pytest

# benchmarks/conftest.py configures JAX (CPU unless told otherwise, no persistent compilation
# cache: configuring again here would switch the cache on for every benchmark in the process).
from regimebench.diagnostics import DiagnosticsConfig  # noqa: E402
from regimebench.problem import load_problem  # noqa: E402
from regimebench.solver import load_solver  # noqa: E402
from regimebench.train import train  # noqa: E402

EVALS = int(os.environ.get("REGIMEBENCH_BENCH_EVALS", "3000"))  # the helmholtz cpu tier
_TIMES: dict[str, list[float]] = {}


@pytest.fixture(scope="module")
def setup():
    p = load_problem("helmholtz")
    sizes = p.sizes("forward", "cpu")
    task = p.make_task("forward", p.resolve_params("forward"), sizes)
    return task, load_solver("pinn-mlp-adam"), sizes


def _run(setup, diagnostics, name):
    task, solver, sizes = setup
    res = train(task, solver, EVALS, sizes, [0], n_log=100, diagnostics=diagnostics)
    _TIMES.setdefault(name, []).append(res.timing["train_s"])
    return res


@pytest.mark.parametrize("variant", ["without", "with"])
def test_snr_overhead(benchmark, setup, variant):
    diag = DiagnosticsConfig(landscape=False) if variant == "with" else None
    _run(setup, diag, variant)  # warm the compilation cache outside the timed rounds
    benchmark.pedantic(_run, args=(setup, diag, variant), rounds=3, iterations=1)
    benchmark.extra_info["train_s"] = _TIMES[variant][1:]
    if variant == "with" and "without" in _TIMES:
        ratio = statistics.fmean(_TIMES["with"][1:]) / statistics.fmean(_TIMES["without"][1:])
        benchmark.extra_info["train_s_ratio"] = ratio
        print(f"\nSNR logging overhead (train_s ratio with/without): {ratio:.3f}")
