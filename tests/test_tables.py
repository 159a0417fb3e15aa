"""The CLI's table rows (regimebench.tables): values exactly as printed, from regimebench.stats."""

from __future__ import annotations

import pytest

from regimebench.tables import regime_grid, run_table


def _rec(seed, err, regime, status="ok", cell=None, budget="cpu"):
    return {"spec": {"problem": "helmholtz", "problem_version": 1, "task": "forward",
                     "solver": "s", "config_hash": "h", "budget": budget, "evals": 100,
                     "seed": seed},
            "cell": cell or {}, "status": status, "failure": None if status == "ok" else "non_finite",
            "metrics": {"rel_l2": err, "loss": 0.5},
            "labels": {"regime": regime, "failure_modes": [] if status == "ok" else ["non_finite"],
                       "thresholds": {"target": 0.01}},
            "timing": {"seed_wall_s": 12.34}}


def test_run_table_rows_and_summary():
    t = run_table([_rec(1, 1.177, "III"), _rec(0, 2.811, "II")])
    assert t.title == "helmholtz@v1 / forward / s@h / cpu (100 gradient evaluations)"
    assert [r[0] for r in t.rows] == ["0", "1"]  # seed order
    assert t.rows[0] == ("0", "2.811e+00", "5.000e-01", "ok", "II", "—", "12.3")
    median, interval = t.summary
    assert median[:5] == ("median", "1.819e+00", "", "2/2 ok", "tie: II / III")
    assert interval[1:4] == ("1.177e+00 – 2.811e+00", "", "50 % interval, n = 2")


def test_run_table_counts_failures_as_infinite():
    t = run_table([_rec(0, 0.1, "II"), _rec(1, None, "none", status="failed"),
                   _rec(2, 0.3, "II"), {}])  # {}: a seed without a record is left out
    assert t.summary[0][1:5] == ("3.000e-01", "", "2/3 ok", "II")
    assert t.summary[1][1] == "1.000e-01 – failed (∞)"
    with pytest.raises(ValueError, match="one group"):
        run_table([_rec(0, 0.1, "II"), _rec(1, 0.1, "II", budget="smoke")])


def test_regime_grid_layout():
    cells = [{"a2": 1.0, "pde": 64, "seeds": 2, "majority": "tie: I / III", "agreement": 0.5,
              "stability": 0.5, "median_rel_l2": 0.104},
             {"a2": 4.0, "pde": 1024, "seeds": 2, "majority": "II", "agreement": 1.0,
              "stability": None, "median_rel_l2": None}]
    m = {"problem": "helmholtz", "task": "forward", "solver": "s", "config_hash": "h",
         "budget": "cpu", "axes": {"difficulty": "a2", "data": "pde"},
         "difficulty_values": [1.0, 4.0], "data_values": [64, 1024], "cells": cells}
    t = regime_grid(m)
    assert t.columns == ("pde \\ a2", "1", "4")
    assert t.rows == (("1024", "·", "II 2/2 s—\nL2 failed (∞)"),  # data grows upward
                      ("64", "tie: I / III 1/2 s0.50\nL2 0.104", "·"))
