"""Small shared builders for the tests (tiny networks and budgets: compilation dominates)."""

from __future__ import annotations

from regimebench.solver import parse_solver


def tiny_solver(phases=None, *, dtype="float64", width=8, depth=2, weighting=None, sampling=None,
                architecture=None, tasks=("forward", "inverse", "operator")):
    raw = {
        "name": "tiny", "version": 1, "dtype": dtype, "tasks": list(tasks),
        "architecture": architecture or {"kind": "mlp", "width": width, "depth": depth},
        "phases": phases or [{"kind": "adam", "lr": 1e-3}],
        "weighting": weighting or {"kind": "fixed"},
        "sampling": sampling or {"kind": "fixed"},
    }
    return parse_solver(raw)


TINY_ENTRY = """\
name = "{name}"
version = 1
authors = ["tests"]
citation = "none"
tasks = ["forward"]
problems = ["helmholtz"]
dtype = "float64"

[architecture]
kind = "{arch}"
width = 8
depth = 2

[[phases]]
kind = "adam"
fraction = 1.0
lr = 1e-3

[weighting]
kind = "fixed"

[sampling]
kind = "fixed"
"""


def tiny_entry(parent, name="tiny", arch="mlp"):
    """A solver entry folder ``parent/name`` with a tiny network (fast to compile)."""
    folder = parent / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "solver.toml").write_text(TINY_ENTRY.format(name=name, arch=arch))
    return folder
