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
