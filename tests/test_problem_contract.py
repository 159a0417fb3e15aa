"""The problem contract, checked over every problem in the catalogue and over a seventh toy
problem made from ``problems/_template/`` in a temporary catalogue (``REGIMEBENCH_ROOT``).

What a problem must satisfy (see ``regimebench.problem`` and ``problems/_template/problem.py``):

* a ``TASKS`` table covering exactly the tasks of ``problem.toml``, with final task classes that
  name their problem and task;
* ``reference(params, task)``, one signature; the reference is cached under the version of
  ``problem.toml`` (never one written in ``problem.py``);
* declared term roles: residual keys == term names == keys of ``term_roles``;
* ``sample`` returns the sizes asked for, in the dtype asked for; a float32 model gives float32
  residuals and predictions (errors are then computed in float64);
* physics parameters are array leaves (a Python float would be a compile-time constant);
* the evaluation set's axis ``"t"`` is the task's ``time_axis``; ``periods`` name inputs;
* ``extra_metrics`` names shadow neither the trainer's nor the generic probes';
* a declared ``hard_constraint`` is exact: its terms' residuals vanish to round-off for a random
  constrained network, on valid faces, with a lifting of the right shape.
"""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import zoo_matrix
from helpers import tiny_solver

from regimebench.components import architectures
from regimebench.components.hard_constraints import constrain, parse_faces
from regimebench.diagnostics.fields import field_metrics
from regimebench.engine.step import log_keys
from regimebench.outcomes import TermRole
from regimebench.problem import (
    AbstractTask,
    ProblemError,
    list_problems,
    load_problem,
    model_dtype,
    problem_spec,
    training_view,
)

TEMPLATE = Path(__file__).resolve().parents[1] / "problems" / "_template"
TOY = "toy-poisson"


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    """A catalogue holding one problem copied from the template, as a contributor would."""
    root = tmp_path_factory.mktemp("catalogue")
    (root / "solvers").mkdir()
    folder = root / "problems" / TOY
    shutil.copytree(TEMPLATE, folder)
    toml = folder / "problem.toml"
    toml.write_text(toml.read_text().replace('name = "template"', f'name = "{TOY}"'))
    return root


@pytest.fixture
def spec(request, toy_root, monkeypatch):
    if request.param == TOY:
        monkeypatch.setenv("REGIMEBENCH_ROOT", str(toy_root))
    return load_problem(request.param)


def _cases():
    out = []
    for name in [*list_problems(), TOY]:
        marks = []
        out.append(pytest.param(name, id=name, marks=marks))
    return out


def _small_params(spec, task: str) -> dict:
    """Canonical parameters, with the zoo matrix's small dataset for operator tasks."""
    overrides = dict(zoo_matrix.OPERATOR_CELL["overrides"]) if task == "operator" else {}
    info = spec.task_info(task)
    if task == "operator" and info.data.name in spec.params:
        overrides[info.data.name] = zoo_matrix.OPERATOR_CELL["data"]
    return spec.resolve_params(task, overrides)


def _model(task: AbstractTask, key):
    in_size, out_size = task.model_io
    kind = "fno" if not isinstance(in_size, int) else "mlp"
    net = architectures.get(kind)(in_size, out_size, key=key, **zoo_matrix.TINY[kind])
    model = task.build_model(net)
    return jax.tree.map(lambda x: x.astype(jnp.float32) if eqx.is_inexact_array(x) else x, model)


@pytest.mark.parametrize("spec", _cases(), indirect=True)
def test_problem_contract(spec):
    module = spec.module
    # The task table covers exactly the declared tasks; reference has one signature.
    assert set(module.TASKS) == set(spec.tasks)
    assert list(inspect.signature(module.reference).parameters) == ["params", "task"]
    for task_name in spec.tasks:
        cls = spec.task_class(task_name)
        assert issubclass(cls, AbstractTask) and cls.task == task_name
        assert cls.problem == spec.name
        roles = cls.term_roles
        assert roles and all(isinstance(r, TermRole) for r in roles.values())

        params = _small_params(spec, task_name)
        ref = spec.reference(task_name, params)
        # cached under the version problem.toml declares
        meta = json.loads(Path(ref.path).with_suffix(".json").read_text())
        assert meta["problem"] == spec.name and meta["version"] == spec.version

        sizes = spec.sizes(task_name, "smoke")
        full_task = spec.make_task(task_name, params, sizes)
        # physics parameters and data are arrays, never Python floats
        assert not [x for x in jax.tree.leaves(full_task) if isinstance(x, float)]
        # what a float32 entry trains on: everything float32 but the float64 reference
        task = training_view(full_task, jnp.float32)

        batch = eqx.filter_jit(task.sample)(jax.random.key(0), sizes, jnp.float32)
        for k, n in sizes.items():
            expect = min(n, task.a_train.shape[0]) if task_name == "operator" else n
            assert batch[k].shape[0] == expect, (k, batch[k].shape)
        floating = [x for x in jax.tree.leaves(batch) if jnp.issubdtype(x.dtype, jnp.floating)]
        assert all(x.dtype == jnp.float32 for x in floating)

        model = _model(task, jax.random.key(1))
        assert model_dtype(model) == jnp.float32
        res = eqx.filter_jit(task.residuals)(model, batch)
        # (a jitted dict comes back with sorted keys: compare as sets; the order is the roles')
        assert set(res) == set(task.term_names) and task.term_names == tuple(roles)
        for k, r in res.items():
            assert r.dtype == jnp.float32 and r.ndim in (1, 2), (k, r.dtype, r.shape)
            assert bool(jnp.all(jnp.isfinite(r))), k

        ev = task.eval_set
        assert ev.targets.dtype == jnp.float64  # the reference stays float64
        pred = eqx.filter_jit(task.predict)(model, ev.inputs[:4])
        assert pred.dtype == jnp.float32 and pred.shape == ev.targets[:4].shape
        err = eqx.filter_jit(lambda m, t: t.error(m))(model, task)
        assert err.dtype == jnp.float64 and bool(jnp.isfinite(err))

        # time is declared once: the evaluation axis "t" sits at the task's time axis
        assert len(ev.axes) == len(ev.grid_shape)
        assert ("t" in ev.axes) == (cls.time_axis is not None)
        if cls.time_axis is not None:
            assert ev.axes.index("t") == cls.time_axis
        if cls.periods is not None:
            in_size = task.model_io[0]
            assert all(0 <= i < in_size and p > 0 for i, p in cls.periods.items())

        # extra metric names shadow neither the trainer's nor the field probes'
        full = eqx.filter_jit(lambda m, t: t.predict(m, t.eval_set.inputs))(model, task)
        probes, _ = field_metrics(np.asarray(full, np.float64), np.asarray(ev.targets),
                                  tuple(ev.grid_shape), tuple(ev.axes))
        reserved = set(log_keys(task.term_names)) | {"normalized_loss", "rel_l2_curve"} | set(
            probes)
        extra = eqx.filter_jit(lambda m, t: t.extra_metrics(m))(model, task)
        assert not set(extra) & reserved, set(extra) & reserved


def _hard_constrained():
    out = []
    for name in list_problems():
        spec = load_problem(name)
        out += [pytest.param(name, t, id=f"{name}-{t}") for t in spec.tasks
                if getattr(spec.task_class(t), "hard_constraint", None) is not None]
    return out


@pytest.mark.parametrize("problem, task_name", _hard_constrained())
def test_declared_hard_constraint_is_exact(problem, task_name):
    """Every declared hard constraint makes its terms exact for *any* network: on fresh points
    of the task's own sampler, a random constrained network's residuals of those terms vanish to
    round-off (float64: the rescaling z ↔ x and the lifting's data agree to ~1e-16 per unit of
    the data's slope; 1e-12 leaves room for that and fails on any real mismatch, which is O(1)),
    while the other terms stay O(1) (the constraint does not trivialise the task)."""
    spec = load_problem(problem)
    sizes = spec.sizes(task_name, "smoke")
    with jax.enable_x64(True):
        task = spec.make_task(task_name, spec.resolve_params(task_name), sizes)
        hc = task.hard_constraint
        in_size, out_size = task.model_io
        assert parse_faces(hc.faces, in_size) == tuple(sorted(hc.faces))
        assert hc.terms and set(hc.terms) < set(task.term_names)
        outputs = tuple(range(out_size)) if hc.outputs is None else hc.outputs
        if hc.lifting is not None:
            x = jnp.asarray(task.lower, jnp.float64)
            assert hc.lifting(x).shape == (len(outputs),)
        for seed in range(2):
            net = architectures.get("mlp")(in_size, out_size, key=jax.random.key(seed),
                                           width=8, depth=2)
            net = jax.tree.map(lambda v: v.astype(jnp.float64) if eqx.is_inexact_array(v)
                               else v, net)
            model = task.build_model(constrain(net, task))
            batch = task.sample(jax.random.key(10 + seed), sizes, jnp.float64)
            res = eqx.filter_jit(task.residuals)(model, batch)
            for term in task.term_names:
                size = float(jnp.max(jnp.abs(res[term])))
                if term in hc.terms:
                    assert size < 1e-12, (term, size)
                else:
                    assert size > 1e-3, (term, size)


@pytest.mark.parametrize("problem", list_problems())
def test_residual_scales_are_positive_per_point(problem):
    """Declared residual scales (:meth:`AbstractTask.residual_scales`) name the task's terms and
    give one positive, finite value per point of that term."""
    spec = load_problem(problem)
    for task_name in spec.tasks:
        if task_name == "operator":  # operator tasks are batches of fields, no point scales
            continue
        sizes = spec.sizes(task_name, "smoke")
        # in a float32 entry's training view: scales come in the entry's dtype
        task = training_view(spec.make_task(task_name, spec.resolve_params(task_name), sizes),
                             jnp.float32)
        batch = task.sample(jax.random.key(0), sizes, jnp.float32)
        scales = task.residual_scales(batch)
        assert set(scales) == set(task.term_names)
        shapes = eqx.filter_eval_shape(task.residuals, _model(task, jax.random.key(1)), batch)
        for term, s in scales.items():
            if s is not None:
                assert s.shape == (shapes[term].shape[0],) and s.dtype == jnp.float32, term
                assert bool(jnp.all(jnp.isfinite(s) & (s > 0))), term


def test_toy_problem_from_the_template_trains(toy_root, monkeypatch):
    """The copied template is a working problem end to end (a few steps, one seed)."""
    from regimebench.train import train

    monkeypatch.setenv("REGIMEBENCH_ROOT", str(toy_root))
    spec = load_problem(TOY)
    assert TOY in list_problems()
    sizes = spec.sizes("forward", "smoke")
    task = spec.make_task("forward", spec.resolve_params("forward"), sizes)
    res = train(task, tiny_solver([{"kind": "adam", "lr": 1e-2}], dtype="float32"), 40, sizes,
                [0], n_log=2)
    r = res.seeds[0]
    assert r.status == "ok" and r.curves["loss"][-1] < r.curves["loss"][0]
    assert res.term_roles == {"pde": "residual", "bc": "boundary"}


def test_version_comes_from_problem_toml(toy_root, tmp_path, monkeypatch):
    """Bumping the version in problem.toml alone re-keys the reference (problem.py names none)."""
    name = f"{TOY}-v7"  # problem modules are imported once per folder name
    folder = tmp_path / "problems" / name
    shutil.copytree(toy_root / "problems" / TOY, folder)
    toml = folder / "problem.toml"
    toml.write_text(toml.read_text().replace("version = 1", "version = 7")
                    .replace(f'name = "{TOY}"', f'name = "{name}"'))
    monkeypatch.setenv("REGIMEBENCH_ROOT", str(tmp_path))
    spec = problem_spec(folder)
    ref = spec.reference("forward", spec.resolve_params("forward"))
    assert json.loads(Path(ref.path).with_suffix(".json").read_text())["version"] == 7


@pytest.mark.parametrize("edit, message", [
    (('default_solver = "pinn-mlp-adam"', 'default_solver = "pinn-mlp-adam"\ncolour = "red"'),
     "unknown key 'colour'"),
    (("thresholds = {", "thresholds = { train_los = 1.0,"), "Did you mean 'train_loss'"),
    (("[budgets]\n", "[budgets]\nhuge = 5\n"), "unknown key 'huge'"),
    (("version = 1", "version = 0"), "'version' must be a positive integer"),
    (('default_solver = "pinn-mlp-adam"\n', ""), "missing key 'default_solver'"),
    (('[tasks.forward.data]\nname = "pde"', '[tasks.forward.data]\nnam = "pde"'),
     "unknown key 'nam'. Did you mean 'name'"),
])
def test_problem_toml_is_checked_strictly(toy_root, tmp_path, edit, message):
    folder = tmp_path / TOY
    shutil.copytree(toy_root / "problems" / TOY, folder)
    toml = folder / "problem.toml"
    text = toml.read_text()
    assert edit[0] in text
    toml.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ProblemError, match=message) as info:
        problem_spec(folder)
    assert "\n" not in str(info.value)  # one line


def test_task_budgets_override_the_problem_budgets(toy_root, tmp_path):
    folder = tmp_path / TOY
    shutil.copytree(toy_root / "problems" / TOY, folder)
    toml = folder / "problem.toml"
    toml.write_text(toml.read_text().replace("# [tasks.forward.budgets]\n# cpu = 3000",
                                             "[tasks.forward.budgets]\ncpu = 3000"))
    spec = problem_spec(folder)
    assert spec.budget("forward", "cpu") == 3000  # the task's own
    assert spec.budget("forward", "smoke") == 60  # the problem's [budgets]
    assert spec.budget("forward", "standard") == 40000  # the suite default
    with pytest.raises(ValueError, match="Unknown budget tier"):
        spec.budget("forward", "huge")
