"""Loss forms an entry selects (issue 18): the Ritz contract over every task that declares an
energy, the engine's Ritz loss equals the energy of :mod:`regimebench.ritz`, and an entry asking
for a form its task does not support fails at plan time with one line."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_solver

from regimebench.components.optimizers import Objective
from regimebench.engine.setup import build_setup
from regimebench.loss_forms import RitzLoss, StrongLoss, loss_forms
from regimebench.planner import BenchError, RunRequest, plan
from regimebench.problem import list_problems, load_problem
from regimebench.ritz import energy_density, ritz_energy, ritz_forms
from regimebench.solver import Component

QUAD = 64  # Gauss–Legendre nodes per dimension: these smooth integrands to ~1e-12


def _declaring() -> list[tuple[str, str]]:
    out = []
    for p in list_problems():
        spec = load_problem(p)
        out += [(p, t) for t in spec.tasks
                if getattr(spec.task_class(t), "energy_form", None) is not None]
    return out


DECLARING = _declaring()


def test_the_elliptic_tasks_declare_their_energy():
    assert ("helmholtz", "forward") in DECLARING and ("darcy", "forward") in DECLARING
    for p, t in DECLARING:  # every declared form is registered
        ritz_forms.get(load_problem(p).task_class(t).energy_form)


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


def _task(problem, task="forward", **overrides):
    spec = load_problem(problem)
    return spec.make_task(task, spec.resolve_params(task, overrides), {"pde": 8, "bc": 8})


class Closed(eqx.Module):
    """A closed-form field of the model's input z ∈ [-1, 1]², vanishing on the boundary."""

    fn: object = eqx.field(static=True)

    def __call__(self, z):
        return jnp.atleast_1d(self.fn(z))


def _quadrature(lower, upper):
    g, w = np.polynomial.legendre.leggauss(QUAD)
    lo, hi = np.asarray(lower), np.asarray(upper)
    pts = [lo[i] + (g + 1) * (hi[i] - lo[i]) / 2 for i in range(2)]
    X, Y = np.meshgrid(*pts, indexing="ij")
    return (jnp.asarray(np.stack([X.ravel(), Y.ravel()], -1)),
            jnp.asarray(np.outer(w, w).ravel() * np.prod(hi - lo) / 4))


def _energy(form, task, fn):
    x, w = _quadrature(task.lower, task.upper)
    u = task.field(Closed(fn))
    return float(jnp.sum(w * jax.vmap(lambda p: energy_density(form, u, p))(x)))


BUMP = lambda z: (1 - z[0] ** 2) * (1 - z[1] ** 2)  # noqa: E731
FIELDS = [  # u (smooth) and directions v vanishing on the boundary
    lambda z: BUMP(z) * (1 + 0.3 * z[0] - 0.2 * z[1] ** 2),
    lambda z: BUMP(z) * jnp.cos(1.3 * z[0] + 0.4 * z[1]),
    lambda z: jnp.sin(jnp.pi * z[0]) * jnp.sin(2 * jnp.pi * z[1]),
]


@pytest.mark.parametrize("problem,task", DECLARING)
def test_energy_is_convex_with_the_task_pde_as_euler_lagrange_equation(problem, task):
    """The contract of a declared energy: (i) its first variation is ±∫ R v, R the task's PDE
    residual — one sign for every direction —, so the exact solution is its stationary point;
    (ii) its second variation is positive in every direction, so that point is the minimum.
    Together: the exact solution's energy is below that of any perturbed field."""
    t = _task(problem, task)
    form = ritz_forms.get(type(t).energy_form)(t)
    u = lambda z: jnp.cos(0.7 * z[0] + 0.2) * jnp.exp(0.3 * z[1]) + 0.5 * z[0] * z[1]  # noqa: E731
    x, w = _quadrature(t.lower, t.upper)
    R = t.residuals(Closed(u), {"pde": x, "bc": jnp.zeros((0, 2))})["pde"]
    signs = []
    for v in FIELDS:
        def energy(eps, v=v):
            return _energy(form, t, lambda z: u(z) + eps * v(z))

        # E is a quadratic in ε: its central differences are exact up to rounding (|E| ~ 1e2,
        # so ~1e-13 absolute), δE = (E(h) − E(−h))/2h and the second variation
        # (E(h) − 2E(0) + E(−h))/h².
        h = 0.5
        e_p, e_0, e_m = energy(h), energy(0.0), energy(-h)
        first = (e_p - e_m) / (2 * h)
        second = (e_p - 2 * e_0 + e_m) / h**2
        vv = jax.vmap(lambda p, v=v: t.field(Closed(v))(p)[0])(x)
        weak = float(jnp.sum(w * R * vv))
        # integration by parts is exact for v = 0 on ∂Ω; both sides carry quadrature error only
        assert abs(abs(first) - abs(weak)) < 1e-8 * max(1.0, abs(weak)), (first, weak)
        signs.append(np.sign(first) * np.sign(weak))
        assert second > 1e-3, second  # a(v, v) = ∫ a|∇v|² − κ v² > 0 (coercive)
    assert len(set(signs)) == 1, signs


def test_exact_helmholtz_solution_minimises_the_engine_energy():
    """At the canonical k the closed-form solution's Ritz energy is below perturbed fields'."""
    t = _task("helmholtz")
    form = ritz_forms.get("helmholtz")(t)
    exact = lambda z: jnp.sin(jnp.pi * z[0]) * jnp.sin(4 * jnp.pi * z[1])  # noqa: E731
    e_star = _energy(form, t, exact)
    for v in FIELDS:
        for eps in (-0.1, 0.02, 0.1):
            # gap = ε²/2 a(v, v) ≥ 2e-4 · a(v, v), far above the quadrature error (~1e-10)
            assert _energy(form, t, lambda z, v=v, eps=eps: exact(z) + eps * v(z)) > e_star + 1e-6


@pytest.mark.parametrize("problem", ["helmholtz", "darcy"])
def test_engine_ritz_loss_is_the_ritz_energy_and_reports_strong_terms(problem):
    """The objective of a Ritz entry is ``|Ω| mean e + β mean r_bc²`` — phase 1's
    :func:`ritz_energy` with the penalty ``½ β' |∂Ω| mean u²`` at ``β' = 2β/|∂Ω|`` — and its
    per-term values are the strong form's."""
    spec = load_problem(problem)
    sizes = {"pde": 40, "bc": 16}
    task = spec.make_task("forward", spec.resolve_params("forward"), sizes)
    solver = dataclasses.replace(tiny_solver(), loss=Component("ritz", {"penalty": 7.0}))
    setup = build_setup(task, solver, sizes)
    model = setup.model.build(setup.task, jax.random.key(0))
    params, static = eqx.partition(model, eqx.is_inexact_array)
    batch = setup.task.sample(jax.random.key(1), sizes, jnp.float64)
    weight_state = setup.weighting.init(setup.task.residuals(model, batch))

    def objective(form):
        return Objective(setup.task, setup.weighting, weight_state, batch, static, form=form)

    total, (terms, _) = objective(setup.loss_form).loss(params)
    form = ritz_forms.get(spec.task_class("forward").energy_form)(setup.task)
    expected = ritz_energy(form, setup.task, model, batch, 2 * 7.0 / form.boundary_measure)
    # the same sums in another order: agreement to rounding of |E| ~ 1e2
    np.testing.assert_allclose(float(total), float(expected), rtol=1e-12)
    _, (strong, _) = objective(StrongLoss()).loss(params)
    assert terms.keys() == strong.keys()
    for k in terms:
        np.testing.assert_allclose(float(terms[k]), float(strong[k]), rtol=1e-14)


@pytest.mark.parametrize("kind", ["strong", "ritz"])
def test_landscape_objective_is_the_form_loss_with_unit_weights(kind):
    """The end-of-training probes' loss (:func:`regimebench.diagnostics.end.landscape_loss`) is
    the entry's form under a fixed weighting of ones: RitzLoss's total for a Ritz entry; for the
    strong form exactly the ``Σ_k mean(r_k²)`` the probes measured before forms existed."""
    from regimebench.diagnostics import landscape_loss
    from regimebench.problem import squared_residuals

    spec = load_problem("helmholtz")
    sizes = {"pde": 40, "bc": 16}
    task = spec.make_task("forward", spec.resolve_params("forward"), sizes)
    solver = dataclasses.replace(tiny_solver(), loss=Component(kind, {"penalty": 7.0}
                                                               if kind == "ritz" else {}))
    setup = build_setup(task, solver, sizes)
    assert setup.loss_form.landscape_name == kind
    model = setup.model.build(setup.task, jax.random.key(0))
    params, static = eqx.partition(model, eqx.is_inexact_array)
    batch = setup.task.sample(jax.random.key(1), sizes, jnp.float64)
    got = landscape_loss(setup, batch)(params)
    weight_state = setup.weighting.init(setup.task.residuals(model, batch))  # fixed: all ones
    objective = Objective(setup.task, setup.weighting, weight_state, batch, static,
                          form=setup.loss_form)
    # the same operations on the same numbers; multiplying by a weight of 1 is exact
    np.testing.assert_allclose(float(got), float(objective.loss(params)[0]), rtol=1e-14)
    if kind == "strong":
        res = setup.task.residuals(model, batch)
        before = sum(squared_residuals(res[k]).mean() for k in setup.task.term_names)
        assert float(got) == float(before)  # bitwise: strong records keep their values
    else:  # the energy really is probed: it differs from the strong-form sum
        assert float(got) != float(StrongLoss().unweighted(setup.task, model, batch))


def test_every_loss_form_names_its_landscape_by_its_registry_name():
    for name in loss_forms.names():
        assert loss_forms.get(name)().landscape_name == name


def test_ritz_penalty_must_be_positive():
    with pytest.raises(ValueError, match="penalty"):
        RitzLoss(penalty=0.0)
    with pytest.raises(ValueError, match="penalty"):
        loss_forms.get("ritz")(penalty=-1.0)


def _ritz_entry():
    return dataclasses.replace(tiny_solver(), name="ritz-entry", loss=Component("ritz"))


@pytest.mark.parametrize("problem,task", [("allen-cahn", "forward"), ("darcy", "operator")])
def test_ritz_on_a_task_without_an_energy_fails_at_plan_time(problem, task, tmp_path):
    with pytest.raises(BenchError) as err:
        plan(RunRequest(problem=problem, task=task, solver=_ritz_entry(), seeds=[0],
                        budget="smoke", out=tmp_path))
    msg = str(err.value)
    assert "\n" not in msg and "declares none" in msg and "helmholtz/forward" in msg, msg


def test_ritz_plans_on_a_declaring_task(tmp_path):
    planned = plan(RunRequest(problem="darcy", task="forward", solver=_ritz_entry(), seeds=[0],
                              budget="smoke", out=tmp_path))
    assert planned.specs[0].config["loss"] == {"kind": "ritz"}


def test_default_loss_form_leaves_the_config_hash_alone():
    """Entries written before loss forms existed keep their configuration (and its hash)."""
    solver = tiny_solver()
    assert "loss" not in solver.config()
    strong = dataclasses.replace(solver, loss=Component("strong"))
    assert strong.config_hash == solver.config_hash


def test_a_phase_that_linearises_residuals_refuses_a_non_least_squares_form(monkeypatch):
    """A Gauss–Newton-type phase declares ``needs_least_squares``; pairing it with the Ritz
    energy (not a sum of squared residuals) fails when the entry is parsed."""
    from regimebench.components import optimizers
    from regimebench.components.optimizers import GradientPhase, make_adam
    from regimebench.solver import SolverSpecError, parse_solver

    class LinearisingPhase(GradientPhase):
        needs_least_squares: ClassVar[bool] = True

    def make_linearising(*, lr: float = 1e-3):
        adam = make_adam(lr=lr)
        return LinearisingPhase(build=adam.build, options=adam.options)

    monkeypatch.setitem(optimizers._items, "linearising", make_linearising)
    raw = {"name": "x", "version": 1, "architecture": {"kind": "mlp"},
           "phases": [{"kind": "linearising"}]}
    parse_solver(raw)  # the strong form is least squares
    with pytest.raises(SolverSpecError, match="needs a least-squares loss form"):
        parse_solver({**raw, "loss": {"kind": "ritz"}})


def test_the_natural_gradient_phase_refuses_the_ritz_form():
    """The registered Gauss–Newton phase declares it: its step linearises strong residuals."""
    from regimebench.solver import SolverSpecError, parse_solver

    raw = {"name": "x", "version": 1, "architecture": {"kind": "mlp"},
           "phases": [{"kind": "natural_gradient"}]}
    parse_solver(raw)
    with pytest.raises(SolverSpecError, match="needs a least-squares loss form"):
        parse_solver({**raw, "loss": {"kind": "ritz"}})
