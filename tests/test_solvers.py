"""Solver entries: every committed entry validates; malformed entries fail with one clear line."""

import pytest

from regimebench.components import architectures, optimizers, samplers, weightings
from regimebench.solver import (
    SolverSpecError,
    list_solvers,
    load_solver,
    load_solver_file,
    parse_solver,
)

BASE = {"name": "x", "version": 1, "architecture": {"kind": "mlp"},
        "phases": [{"kind": "adam"}]}


@pytest.mark.parametrize("name", list_solvers())
def test_every_entry_validates(name):
    spec = load_solver(name)
    assert spec.name == name
    assert len(spec.config_hash) == 10
    assert (spec.folder / "README.md").is_file(), "every entry documents its method"


def test_template_validates():
    from regimebench._catalogue import solvers_dir

    load_solver_file(solvers_dir() / "_template")


def test_config_hash_tracks_training_config_only():
    a = parse_solver(BASE)
    b = parse_solver({**BASE, "name": "y", "authors": ["someone"]})
    c = parse_solver({**BASE, "architecture": {"kind": "mlp", "width": 32}})
    assert a.config_hash == b.config_hash != c.config_hash


@pytest.mark.parametrize("raw, message", [
    ({**BASE, "archtecture": {}}, "unknown key 'archtecture'. Did you mean 'architecture'?"),
    ({**BASE, "architecture": {"kind": "mpl"}}, "Unknown architecture 'mpl'. Did you mean 'mlp'?"),
    ({**BASE, "architecture": {"kind": "mlp", "widht": 3}}, "unknown option 'widht'"),
    ({**BASE, "phases": [{"kind": "adma"}]}, "Unknown optimizer 'adma'. Did you mean 'adam'?"),
    ({**BASE, "phases": []}, "at least one optimizer phase"),
    ({**BASE, "phases": [{"kind": "adam", "fraction": 0.5}, {"kind": "lbfgs", "fraction": 0.2}]},
     "add up to 1"),
    ({**BASE, "phases": [{"kind": "adam"}, {"kind": "lbfgs"}]}, "'fraction' of the budget"),
    ({**BASE, "dtype": "float16"}, "unknown dtype 'float16'"),
    ({**BASE, "version": "1"}, "'version': expected int"),
    ({**BASE, "version": True}, "got a boolean"),
    ({**BASE, "tasks": ["forwrd"]}, "unknown task 'forwrd'. Did you mean 'forward'?"),
    ({**BASE, "weighting": {"kind": "fixd"}}, "Unknown weighting 'fixd'. Did you mean 'fixed'?"),
    ({**BASE, "sampling": {"kind": "resampled", "every": 0}}, "positive integer"),
    ({**BASE, "honesty": {"uses_refrence_data": True}}, "Did you mean 'uses_reference_data'?"),
    ({k: v for k, v in BASE.items() if k != "phases"}, "missing required key 'phases'"),
])
def test_malformed_entries(raw, message):
    with pytest.raises(SolverSpecError) as e:
        parse_solver(raw, where="solvers/x/solver.toml")
    text = str(e.value)
    assert message in text
    assert "\n" not in text and text.startswith("solvers/x/solver.toml")


def test_malformed_toml_file(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "solver.toml").write_text('name = "broken"\nversion = \n')
    with pytest.raises(SolverSpecError, match="malformed TOML"):
        load_solver_file(folder)


def test_unknown_solver_name_suggests():
    with pytest.raises(KeyError, match="Did you mean 'pinn-mlp-adam'"):
        load_solver("pinn-mlp-adamm")


def test_registries_are_populated():
    assert "mlp" in architectures and "adam" in optimizers and "lbfgs" in optimizers
    assert "fixed" in weightings and "fixed" in samplers and "resampled" in samplers
