"""The engine compiles each program once per structure, holds no large constants, and donates
the state between chunks.

Compilations are counted from JAX's own monitoring events: every lowering records
``/jax/core/compile/jaxpr_to_mlir_module_duration`` with the function's name, whether or not the
persistent cache then saves the XLA compilation, so the count is the number of programs built.
"""

import collections
import contextlib
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import zoo_matrix
from helpers import tiny_solver
from jax._src import monitoring

from regimebench.engine import programs
from regimebench.engine.layout import group_size
from regimebench.engine.setup import build_phases, build_setup
from regimebench.problem import load_problem
from regimebench.train import train

SIZES = {"pde": 32, "bc": 16}
LOWERING = "/jax/core/compile/jaxpr_to_mlir_module_duration"
PROGRAMS = ("init_group", "final_metrics", "init_phase_group", "run_chunk", "predictions")


def _task(a2: float = 4.0):
    p = load_problem("helmholtz")
    return p.make_task("forward", p.resolve_params("forward", {"a2": a2}), SIZES)


@pytest.fixture(scope="module")
def task():
    return _task()


@contextlib.contextmanager
def count_lowerings():
    counts: collections.Counter = collections.Counter()

    def listener(event, duration, **kwargs):
        if event == LOWERING:
            counts[kwargs.get("fun_name", "?").removeprefix("jit(").removesuffix(")")] += 1

    monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counts
    finally:
        # jax exposes no public unregister; remove our own callback only
        monitoring._event_duration_secs_listeners.remove(listener)


def test_each_program_lowers_once_across_calls_groups_and_sweep_values(task):
    programs.clear()
    solver = tiny_solver([{"kind": "adam", "lr": 1e-3}], width=8)
    with count_lowerings() as first:
        res = train(task, solver, 12, SIZES, [0, 1, 2], n_log=4, seed_layout="sequential")
    assert res.layout["groups"] == 3 and res.layout["chunk_steps"] == 3  # 4 chunks per group
    assert {name: first[name] for name in PROGRAMS} == dict.fromkeys(PROGRAMS, 1), first
    assert res.timing["compile_s"] > 0
    # A second call with equal shapes, and another difficulty value of the sweep (a2 is an array
    # leaf of the task, not a constant), reuse every program: nothing is lowered again.
    with count_lowerings() as again:
        res2 = train(task, solver, 12, SIZES, [3], n_log=4, seed_layout="sequential")
        res3 = train(_task(a2=2.0), solver, 12, SIZES, [0], n_log=4, seed_layout="sequential")
    assert not any(again[name] for name in PROGRAMS), again
    assert res2.timing["compile_s"] == 0.0 and res3.timing["compile_s"] == 0.0
    # ... and the new value is really used: a2 = 2 is a different problem
    assert res3.seeds[0].metrics["loss"] != res.seeds[0].metrics["loss"]


_CONSTANT = re.compile(r"stablehlo\.constant dense<[^>]*> : tensor<([0-9x]*?)x?([a-z]+[0-9]+)>")
_BITS = {"f64": 64, "f32": 32, "i64": 64, "i32": 32, "ui32": 32, "i1": 8, "f16": 16, "bf16": 16}


def _largest_constant_bytes(text: str) -> int:
    largest = 0
    for shape, dtype in _CONSTANT.findall(text):
        n = int(np.prod([int(d) for d in shape.split("x") if d])) if shape else 1
        largest = max(largest, n * _BITS.get(dtype, 64) // 8)
    return largest


@pytest.mark.parametrize("problem, task_name", [("helmholtz", "forward"),
                                                ("darcy", "operator")])
def test_no_program_holds_a_large_constant(monkeypatch, problem, task_name):
    """The evaluation set (helmholtz: the 201² grid) and stored data (Darcy's training pairs)
    arrive as arguments: no compiled program of a run holds a constant above 64 KiB."""
    programs.clear()
    texts: dict[str, str] = {}
    compiled = programs.compiled

    def recording(fn, *args):
        texts[fn.__name__] = fn.lower(*args).as_text()
        return compiled(fn, *args)

    monkeypatch.setattr(programs, "compiled", recording)
    p = load_problem(problem)
    if task_name == "operator":  # the zoo matrix's small dataset: still 460 KiB of pairs
        params = p.resolve_params(task_name, {"n_train": 8, "n_test": 4})
        arch = {"kind": "fno", **zoo_matrix.TINY["fno"]}
    else:
        params, arch = p.resolve_params(task_name), None
    sizes = p.sizes(task_name, "smoke")
    full = p.make_task(task_name, params, sizes)
    big = [x for x in jax.tree.leaves(full) if eqx.is_array(x) and x.nbytes > 64 * 1024]
    assert big  # the task does hold arrays that would be large constants
    train(full, tiny_solver([{"kind": "adam"}], width=8, architecture=arch), 4, sizes, [0],
          n_log=2)
    assert set(PROGRAMS) <= set(texts)
    for name, text in texts.items():
        assert _largest_constant_bytes(text) <= 64 * 1024, name
    # the check itself sees constants: a program closing over the array holds it
    closed = jax.jit(lambda x: x + big[0]).lower(jnp.zeros_like(big[0])).as_text()
    assert _largest_constant_bytes(closed) >= big[0].nbytes


def test_chunk_donates_its_input_state(task):
    solver = tiny_solver(width=8)
    setup = build_setup(task, solver, SIZES)
    (phase,) = build_phases(solver)
    keys = jnp.stack([jax.random.key_data(jax.random.key(s)) for s in (0, 1)])
    state = programs.init_phase_group(setup, phase, programs.init_group(setup, keys))
    leaves = [x for x in jax.tree.leaves(state) if isinstance(x, jax.Array)]
    from regimebench.engine.setup import PhaseBudget

    step0 = jnp.asarray(0, jnp.int32)
    inputs = programs.ChunkInputs(setup, phase, PhaseBudget.of(4, 1, 1), step0, step0, 2)
    new, _ = programs.run_chunk(inputs, state)
    jax.block_until_ready(new)
    # donated buffers are consumed by the call (on CPU too: jax ≥ 0.4.3x supports donation there)
    assert all(x.is_deleted() for x in leaves)
    assert not any(x.is_deleted() for x in jax.tree.leaves(new) if isinstance(x, jax.Array))
    assert not step0.is_deleted()  # the step counter is not donated: callers may reuse it
    assert not setup.task.eval_set.inputs.is_deleted()  # nor the task's arrays


def test_auto_layout_in_one_process_on_cpu_runs_seeds_one_at_a_time():
    # conftest pins the CPU backend; in one process, auto trains seeds one at a time with the
    # unbatched program (the measured choice, regimebench.engine.layout.auto_layout)
    assert jax.default_backend() == "cpu"
    assert [group_size("auto", n) for n in (1, 3, 4, 16)] == [1, 1, 1, 1]
