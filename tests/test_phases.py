"""Optimizer phases: cost models in gradient-evaluation equivalents, and a new phase kind plugs
in through the registry without touching the engine."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import tiny_solver

from regimebench.components import optimizers
from regimebench.components.optimizers import AbstractPhase, CostModel, PhaseStep
from regimebench.engine import measure_step_cost, programs
from regimebench.engine.setup import build_phases, build_setup
from regimebench.problem import load_problem
from regimebench.train import train

SIZES = {"pde": 64, "bc": 32}


@pytest.fixture(scope="module")
def task():
    p = load_problem("helmholtz")
    return p.make_task("forward", p.resolve_params("forward"), SIZES)


def _seed_state(setup, phase):
    keys = jnp.stack([jax.random.key_data(jax.random.key(0))])
    state = programs.init_phase_group(setup, phase, programs.init_group(setup, keys))
    return jax.tree.map(lambda x: x[0], state)


def test_adam_step_costs_one_gradient(task):
    """XLA's FLOP count of an Adam step over that of one gradient of the same loss is 1 within
    10 %: the step is one gradient plus an elementwise update (~10 FLOPs per parameter against
    ~10⁴ per parameter for the gradient of a Laplacian residual on 96 points)."""
    solver = tiny_solver([{"kind": "adam", "lr": 1e-3}], width=16, depth=3)
    setup = build_setup(task, solver, SIZES)
    (phase,) = build_phases(solver)
    ratio, step_flops, grad_flops = measure_step_cost(setup, phase, _seed_state(setup, phase))
    assert grad_flops > 0 and step_flops >= grad_flops
    assert abs(ratio - 1.0) < 0.1, (ratio, step_flops, grad_flops)


class ExtraGradientPhase(AbstractPhase):
    """The extragradient method (Korpelevich 1976): a look-ahead gradient step, then the step
    from the look-ahead point's gradient. Two gradients per step, counted by measurement."""

    cost_model: ClassVar[CostModel] = CostModel.MEASURED
    adapts: ClassVar[bool] = True
    lr: float = eqx.field(static=True)

    def max_step_cost(self):
        return None

    def init(self, objective, params):
        return (), jnp.zeros((), jnp.float32)

    def step(self, objective, params, opt_state, step):
        (loss, (_, res)), g = jax.value_and_grad(objective.loss, has_aux=True)(params)
        ahead = optax.apply_updates(params, jax.tree.map(lambda x: -self.lr * x, g))
        g_ahead = jax.grad(objective.value)(ahead)
        new = optax.apply_updates(params, jax.tree.map(lambda x: -self.lr * x, g_ahead))
        return PhaseStep(new, opt_state, loss, None, res)


@pytest.fixture
def extragradient():
    name = "test-extragradient"

    @optimizers.register(name)
    def make(*, lr: float = 1e-4) -> ExtraGradientPhase:
        return ExtraGradientPhase(lr=float(lr))

    yield name
    optimizers._items.pop(name)  # registered for this test only


def test_a_measured_phase_plugs_in_and_is_charged_its_flops(task, extragradient):
    solver = tiny_solver([{"kind": extragradient, "lr": 1e-5}], width=16, depth=3)
    budget = 40
    res = train(task, solver, budget, SIZES, [0, 1], n_log=4)
    (info,) = res.phases
    assert info["kind"] == extragradient and info["cost_model"] == "measured"
    # two gradients per step, measured: 2 within 10 %
    assert abs(info["step_cost"] - 2.0) < 0.2, info
    assert info["step_flops"] > info["gradient_flops"] > 0
    for r in res.seeds:
        assert r.status == "ok"
        steps = round(r.evals / info["step_cost"])
        assert r.evals == pytest.approx(steps * info["step_cost"], rel=1e-5)
        # never more than the budget, and less than one step short of it
        assert budget - info["step_cost"] < r.evals <= budget + 1e-3
        assert r.curves["loss"][-1] < r.curves["loss"][0]
