"""The trainer compiles once per (problem, solver, shapes) and donates the state between chunks.

Compilations are counted from JAX's own monitoring events: every jit lowering records
``/jax/core/compile/jaxpr_to_mlir_module_duration`` with the function's name, whether or not the
persistent cache then saves the XLA compilation, so the count is the number of programs built.
"""

import collections
import contextlib

import jax
import jax.numpy as jnp
import pytest
from helpers import tiny_solver
from jax._src import monitoring

from regimebench.problem import load_problem
from regimebench.train import Trainer, resolve_layout, train

SIZES = {"pde": 32, "bc": 16}
LOWERING = "/jax/core/compile/jaxpr_to_mlir_module_duration"


@pytest.fixture(scope="module")
def task():
    p = load_problem("helmholtz")
    return p.make_task("forward", p.resolve_params("forward"), SIZES)


@contextlib.contextmanager
def count_lowerings():
    counts: collections.Counter = collections.Counter()

    def listener(event, duration, **kwargs):
        if event == LOWERING:
            counts[kwargs.get("fun_name", "?")] += 1

    monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counts
    finally:
        # jax exposes no public unregister; remove our own callback only
        monitoring._event_duration_secs_listeners.remove(listener)


def test_one_compilation_across_chunks_and_seed_groups(task):
    solver = tiny_solver([{"kind": "adam", "lr": 1e-3}], width=8)
    with count_lowerings() as one_group:
        train(task, solver, 12, SIZES, [0], n_log=4, seed_layout="sequential")
    with count_lowerings() as three_groups:
        res = train(task, solver, 12, SIZES, [0, 1, 2], n_log=4, seed_layout="sequential")
    assert res.layout["groups"] == 3 and res.layout["chunk_steps"] == 3  # 4 chunks per group
    assert one_group["jit(run_chunk)"] == 1 and three_groups["jit(run_chunk)"] == 1
    # A new Trainer builds its programs again, but three seed groups build no more programs than
    # one group did (JAX's small helpers such as jnp.stack are cached by the first run, hence ≤):
    # nothing recompiles per group or per chunk.
    for name, n in three_groups.items():
        assert n <= one_group[name], (name, three_groups, one_group)


def test_chunk_donates_its_input_state(task):
    trainer = Trainer(task, tiny_solver(width=8), 4, SIZES, n_log=2, seed_layout="vmap")
    state = trainer._init_phase(0, trainer.init([0, 1]))
    leaves = [x for x in jax.tree.leaves(state) if isinstance(x, jax.Array)]
    step0 = jnp.asarray(0)
    new, _ = trainer._chunk_fn(0)(step0, state)
    jax.block_until_ready(new)
    # donated buffers are consumed by the call (on CPU too: jax ≥ 0.4.3x supports donation there)
    assert all(x.is_deleted() for x in leaves)
    assert not any(x.is_deleted() for x in jax.tree.leaves(new) if isinstance(x, jax.Array))
    assert not step0.is_deleted()  # the step counter is not donated: callers may reuse it


def test_auto_layout_on_cpu_uses_small_vmapped_groups():
    # conftest pins the CPU backend; the group sizes are the measured choice (benchmarks/README.md)
    assert jax.default_backend() == "cpu"
    assert [resolve_layout("auto", n) for n in (1, 3, 4, 5, 16, 64)] == [1, 2, 2, 2, 2, 2]
