"""Time per training step of every registered weighting and architecture (helmholtz, 1 seed).

Parametrised over the registries, so components added later are benchmarked without edits here.
Each uses its default options with an Adam phase in float64; the architecture benchmarks keep the
``fixed`` weighting and the weighting benchmarks the default 4×64 tanh MLP.
"""

from __future__ import annotations

import pytest
from _common import CHUNK, ROUNDS, GroupRunner, default_setup, device_info

from regimebench.components import architectures, weightings
from regimebench.solver import parse_solver


def _solver(architecture=None, weighting=None):
    raw = {
        "name": "bench", "version": 1, "dtype": "float64", "tasks": ["forward"],
        "architecture": architecture or {"kind": "mlp", "width": 64, "depth": 4},
        "phases": [{"kind": "adam", "lr": 1e-3}],
        "weighting": weighting or {"kind": "fixed"},
        "sampling": {"kind": "fixed"},
    }
    return parse_solver(raw)


def _time_step(benchmark, solver, **info):
    task, _, sizes = default_setup("helmholtz")
    try:
        runner = GroupRunner(task, solver, sizes, 1, 1)
    except (TypeError, ValueError) as e:  # a component that needs options it has no default for
        pytest.skip(f"cannot build with default options: {e}")
    runner.run()  # compile outside the timing
    benchmark.pedantic(runner.run, rounds=ROUNDS, warmup_rounds=1)
    benchmark.extra_info.update(device_info())
    benchmark.extra_info.update(info, sizes=sizes, chunk_steps=CHUNK,
                                ms_per_step=1e3 * benchmark.stats.stats.median / CHUNK)


@pytest.mark.parametrize("kind", weightings.names())
def test_weighting_step(benchmark, kind):
    _time_step(benchmark, _solver(weighting={"kind": kind}), weighting=kind)


@pytest.mark.parametrize("kind", architectures.names())
def test_architecture_step(benchmark, kind):
    _time_step(benchmark, _solver(architecture={"kind": kind}), architecture=kind)
