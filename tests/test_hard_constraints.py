"""Hard boundary constraints, periods read from the task, PirateNet's physics-informed init."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from regimebench.components.architectures import (
    PeriodicEmbedding,
    architectures,
    periods_from_task,
    pirate_physics_init,
)
from regimebench.components.hard_constraints import BoxConstraint, box_distance
from regimebench.problem import load_problem, uniform_box, uniform_box_boundary


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def _f64(tree):
    return jax.tree.map(lambda x: x.astype(jnp.float64) if eqx.is_inexact_array(x) else x, tree)


def test_wrapper_is_zero_on_the_boundary_of_the_helmholtz_task():
    spec = load_problem("helmholtz")
    task = spec.make_task("forward", spec.resolve_params("forward"), {"pde": 64, "bc": 256})
    net = _f64(architectures.get("mlp")(2, 1, key=jax.random.key(0), width=16, depth=2))
    model = BoxConstraint(net, faces=((0, -1), (0, 1), (1, -1), (1, 1)),
                          lower=task.lower, upper=task.upper)
    res = task.residuals(model, task.sample(jax.random.key(1), {"pde": 64, "bc": 256}))
    # The sampler puts boundary points exactly on x = ±1, the task's rescaling maps them to
    # z = ±1 exactly, and a factor 1 ∓ z is then an exact 0: the wrapper vanishes to round-off
    # (in fact exactly). The interior is untouched: the PDE residual is O(1) there.
    assert float(jnp.max(jnp.abs(res["bc"]))) <= 1e-15
    assert float(jnp.mean(jnp.abs(res["pde"]))) > 1e-3


def test_wrapper_carries_the_lifting_on_a_physical_box():
    # A Burgers-like constraint on (t, x) ∈ [0, 1] × [-1, 1]: u = −sin(πx) at t = 0 and u = 0
    # at x = ±1, with a second, unconstrained output passing through.
    lower, upper = (0.0, -1.0), (1.0, 1.0)
    net = _f64(architectures.get("mlp")(2, 2, key=jax.random.key(2), width=16, depth=2))
    model = BoxConstraint(net, faces=((0, -1), (1, -1), (1, 1)), lower=lower, upper=upper,
                          lifting=lambda x: -jnp.sin(jnp.pi * x[1:2]), outputs=(0,))

    def field(x):
        z = 2.0 * (x - jnp.asarray(lower)) / (jnp.asarray(upper) - jnp.asarray(lower)) - 1.0
        return model(z)

    key0, key1, key2 = jax.random.split(jax.random.key(3), 3)
    t0 = uniform_box(key0, 100, (0.0, -1.0), (0.0, 1.0))
    walls = uniform_box_boundary(key1, 100, lower, upper, dims=(1,))
    inner = uniform_box(key2, 100, lower, upper)
    u_t0 = jax.vmap(field)(t0)
    u_walls = jax.vmap(field)(walls)
    # −sin(πx) is evaluated in float64: its own rounding (≤ 2 ulp of 1) bounds the mismatch;
    # on the walls the lifting is sin(±π) ≈ 1.2e-16, not exactly 0.
    np.testing.assert_allclose(np.asarray(u_t0[:, 0]), -np.sin(np.pi * np.asarray(t0[:, 1])),
                               atol=1e-15)
    assert float(jnp.max(jnp.abs(u_walls[:, 0]))) <= 1e-15
    # The unconstrained output is the raw network's.
    raw = jax.vmap(lambda x: net(2.0 * (x - jnp.asarray(lower))
                                 / (jnp.asarray(upper) - jnp.asarray(lower)) - 1.0))(inner)
    np.testing.assert_array_equal(np.asarray(jax.vmap(field)(inner)[:, 1]),
                                  np.asarray(raw[:, 1]))


def test_distance_is_normalised_and_positive_inside():
    z = jax.random.uniform(jax.random.key(4), (500, 2), minval=-1, maxval=1)
    phi = jax.vmap(lambda p: box_distance(p, ((0, -1), (0, 1), (1, -1))))(z)
    assert float(phi.min()) > 0 and float(phi.max()) <= 1.0
    assert float(box_distance(jnp.asarray([0.0, 1.0]), ((0, -1), (0, 1), (1, -1)))) == 1.0


def test_bad_faces_fail_clearly():
    net = architectures.get("mlp")(2, 1, key=jax.random.key(0), width=4, depth=1)
    with pytest.raises(ValueError, match="dim, side"):
        BoxConstraint(net, faces=((2, 1),), lower=(0, 0), upper=(1, 1))
    with pytest.raises(ValueError, match="distinct"):
        BoxConstraint(net, faces=((0, 1), (0, 1)), lower=(0, 0), upper=(1, 1))


class _PeriodicTask(eqx.Module):
    problem: ClassVar[str] = "toy"
    lower: ClassVar[tuple[float, ...]] = (0.0, 0.0)
    upper: ClassVar[tuple[float, ...]] = (1.0, 2 * np.pi)
    periods: ClassVar = {1: 2 * np.pi}


class _PlainTask(eqx.Module):
    problem: ClassVar[str] = "plain"
    lower: ClassVar[tuple[float, ...]] = (0.0, -1.0)
    upper: ClassVar[tuple[float, ...]] = (1.0, 1.0)


def test_periods_from_task_rescale_and_make_the_model_periodic():
    assert periods_from_task(_PeriodicTask()) == (0.0, 2.0)
    # A task without declared periods takes the fallback (allen-cahn: x has period 2 on [-1, 1]).
    assert periods_from_task(_PlainTask(), {1: 2.0}) == (0.0, 2.0)
    emb = PeriodicEmbedding(2, periods=periods_from_task(_PlainTask(), {1: 2.0}), harmonics=3)
    net = _f64(architectures.get("mlp")(emb.out_size, 1, key=jax.random.key(5), width=8,
                                        depth=2))
    t = jnp.linspace(-1, 1, 7)
    left = jax.vmap(lambda s: net(emb(jnp.stack([s, -1.0]))))(t)
    right = jax.vmap(lambda s: net(emb(jnp.stack([s, 1.0]))))(t)
    # cos/sin of 2πk·(±1)/2 agree to a few ulps, so the outputs do too.
    np.testing.assert_allclose(np.asarray(left), np.asarray(right), atol=1e-14)


def test_periods_from_task_fails_clearly():
    with pytest.raises(ValueError, match="declares no periods"):
        periods_from_task(_PlainTask())
    with pytest.raises(ValueError, match="not valid"):
        periods_from_task(_PlainTask(), {5: 2.0})


def test_pirate_physics_init_solves_the_output_least_squares():
    net = _f64(architectures.get("piratenet")(2, 1, key=jax.random.key(6), width=16, blocks=2))
    x = jax.random.uniform(jax.random.key(7), (200, 2), minval=-1, maxval=1)
    y = (x[:, 1] ** 2 * jnp.cos(jnp.pi * x[:, 1]))[:, None]
    fitted = pirate_physics_init(net, x, y, ridge=0.0)
    resid = jax.vmap(fitted)(x) - y
    feats = jax.vmap(fitted.features)(x)
    A = jnp.concatenate([feats, jnp.ones((200, 1))], axis=1)
    # Normal equations: the least-squares residual is orthogonal to every feature, up to the
    # conditioning of the 17×17 Gram matrix times eps (features are O(1)).
    cond = float(jnp.linalg.cond(A.T @ A))
    assert float(jnp.max(jnp.abs(A.T @ resid))) < 1e2 * cond * 1e-16 * 200
    # and it beats the random output layer by far
    assert float(jnp.mean(resid**2)) < 0.1 * float(jnp.mean((jax.vmap(net)(x) - y) ** 2))


def test_pirate_physics_init_keeps_factorised_scales():
    net = _f64(architectures.get("piratenet")(2, 1, key=jax.random.key(8), width=16, blocks=1,
                                              rwf={"mean": 1.0, "std": 0.1}))
    x = jax.random.uniform(jax.random.key(9), (100, 2), minval=-1, maxval=1)
    y = jnp.sin(x[:, :1])
    a = pirate_physics_init(net, x, y, ridge=1e-10)
    np.testing.assert_array_equal(np.asarray(a.output.log_scale), np.asarray(net.output.log_scale))
    plain = _f64(architectures.get("piratenet")(2, 1, key=jax.random.key(8), width=16, blocks=1))
    # Same features (the factorised layers compute the unfactorised draw at init): same fit.
    b = pirate_physics_init(plain, x, y, ridge=1e-10)
    np.testing.assert_allclose(np.asarray(jax.vmap(a)(x)), np.asarray(jax.vmap(b)(x)),
                               atol=1e-8)
