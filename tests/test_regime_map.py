"""Regime maps and relabelling: the pure summary, the CLI around it, and a tiny real sweep."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import tiny_solver

from regimebench.diagnostics import DiagnosticsConfig
from regimebench.labels import label_record
from regimebench.problem import Thresholds, load_problem
from regimebench.record import read_record, write_record
from regimebench.regime_map import regime_map
from regimebench.train import train

TH = Thresholds(train_loss=1e-3, test_error=0.1, target=1e-2)


def bench(*args):
    return subprocess.run([sys.executable, "-m", "regimebench", *args], capture_output=True,
                          text=True, timeout=600)


def synthetic(a2, pde, seed, nl, err):
    rec = {"schema_version": 1, "status": "ok", "failure": None, "cell": {"a2": a2, "pde": pde},
           "spec": {"problem": "helmholtz", "problem_version": 1, "task": "forward",
                    "solver": "pinn-mlp-adam", "solver_version": 1, "config_hash": "abc",
                    "budget": "cpu", "evals": 100, "seed": seed,
                    "params": {"a1": 1.0, "a2": a2, "k": 1.0}, "sizes": {"pde": pde, "bc": 128}},
           "metrics": {"normalized_loss": nl, "rel_l2": err, "loss": nl},
           "curves": {}, "diagnostics": {}, "provenance": {"command": "bench sweep ..."}}
    rec["labels"] = label_record(rec, TH)
    return rec


def write_grid(root: Path):
    # (a2=1): all I; (a2=8, pde=64): III, III, II; (a2=8, pde=1024): II everywhere
    cells = {(1.0, 64): [(1e-4, 0.01)] * 3, (1.0, 1024): [(1e-4, 0.01)] * 3,
             (8.0, 64): [(1e-4, 0.5), (1e-4, 0.6), (0.5, 0.9)],
             (8.0, 1024): [(0.5, 0.9)] * 3}
    for (a2, pde), runs in cells.items():
        for seed, (nl, err) in enumerate(runs):
            write_record(root / f"a2={a2:g},pde={pde}" / f"seed-{seed}.json",
                         synthetic(a2, pde, seed, nl, err))


def test_regime_map_majority_and_agreement(tmp_path):
    write_grid(tmp_path)
    recs = [read_record(p) for p in tmp_path.rglob("seed-*.json")]
    m = regime_map(recs, problem="helmholtz", difficulty="a2", data="pde")
    by = {(c["a2"], c["pde"]): c for c in m["cells"]}
    assert by[(1.0, 64)]["majority"] == "I" and by[(1.0, 64)]["agreement"] == 1.0
    assert by[(8.0, 64)]["majority"] == "III" and by[(8.0, 64)]["agreement"] == 2 / 3
    assert by[(8.0, 1024)]["majority"] == "II"
    assert m["difficulty_values"] == [1.0, 8.0] and m["data_values"] == [64, 1024]


def test_ties_are_shown_as_ties_and_the_median_is_the_one_definition(tmp_path):
    recs = [synthetic(4.0, 1024, 0, 0.5, 2.811), synthetic(4.0, 1024, 1, 1e-4, 1.177)]  # II, III
    m = regime_map(recs, problem="helmholtz", difficulty="a2", data="pde")
    (cell,) = m["cells"]
    assert cell["majority"] == "tie: II / III" and cell["tie"] is True
    assert cell["majority_regimes"] == ["II", "III"] and cell["agreement"] == 0.5
    # even count: the geometric mean of the middle pair (what the site and the CLI show too)
    assert cell["median_rel_l2"] == pytest.approx((2.811 * 1.177) ** 0.5, rel=1e-12)
    assert cell["interval"]["label"] == "50 % interval, n = 2"
    assert (cell["interval"]["low"], cell["interval"]["high"]) == (1.177, 2.811)
    assert m["kind"] == "regime-map" and m["harness"] == "1"


def test_a_data_axis_that_is_a_parameter_and_a_missing_value_do_not_break_the_map():
    """The operator task's data axis (n_train) is a problem parameter, not a sampled size; a
    canonical record without a cell takes it from its parameters. A value known nowhere (no
    canonical given) is a cell of its own, listed first, instead of a crash."""
    a, b = synthetic(1.0, 64, 0, 1e-4, 0.01), synthetic(1.0, 64, 1, 1e-4, 0.01)
    for r in (a, b):
        r["cell"] = {}
        r["spec"]["params"]["n_train"] = 1000
    m = regime_map([a], problem="helmholtz", difficulty="a2", data="n_train")
    assert [(c["a2"], c["n_train"]) for c in m["cells"]] == [(1.0, 1000)]
    del b["spec"]["params"]["a2"]
    m = regime_map([a, b], problem="helmholtz", difficulty="a2", data="n_train")
    assert [(c["a2"], c["n_train"]) for c in m["cells"]] == [(None, 1000), (1.0, 1000)]


def test_maps_written_beside_records_are_not_records(tmp_path):
    from regimebench.record import iter_records

    write_grid(tmp_path)
    recs = [read_record(p) for p in tmp_path.rglob("seed-*.json")]
    m = regime_map(recs, problem="helmholtz", difficulty="a2", data="pde")
    write_record(tmp_path / "regimes-helmholtz-pinn-mlp-adam.json", m)
    write_record(tmp_path / "a2=1,pde=64" / "elsewhere.json", m)  # by content, not by name
    found = list(iter_records(tmp_path))
    assert len(found) == 12 and not any(isinstance(r, Exception) for _, r in found)


def test_regimes_and_relabel_commands(tmp_path):
    write_grid(tmp_path)
    # make one record's labels stale: relabel must fix exactly that one
    p = tmp_path / "a2=1,pde=64" / "seed-0.json"
    rec = read_record(p)
    rec["labels"]["regime"] = "II"
    write_record(p, rec)
    r = bench("relabel", "--runs", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "relabelled 1 record" in r.stdout
    assert read_record(p)["labels"]["regime"] == "I"
    out = tmp_path / "map.json"
    r = bench("regimes", "--problem", "helmholtz", "--runs", str(tmp_path), "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "III" in r.stdout and "Regime map" in r.stdout
    data = json.loads(out.read_text())
    assert {c["majority"] for c in data["cells"]} == {"I", "II", "III"}


def test_bad_input_is_one_line_exit_2(tmp_path):
    r = bench("sweep", "--problem", "helmholtz", "--difficulty", "one,two", "--out", str(tmp_path))
    assert r.returncode == 2 and "comma-separated" in r.stderr and "Traceback" not in r.stderr
    r = bench("sweep", "--problem", "helmholtz", "--data", "0", "--out", str(tmp_path))
    assert r.returncode == 2 and "positive" in r.stderr
    r = bench("regimes", "--problem", "helmholtz", "--runs", str(tmp_path / "missing"))
    assert r.returncode == 2 and "no results folder" in r.stderr
    r = bench("relabel", "--runs", str(tmp_path / "missing"))
    assert r.returncode == 2
    assert not list(tmp_path.rglob("*.json"))  # nothing half-written


@pytest.mark.slow
def test_sweep_runs_cells_and_resumes(tmp_path):
    args = ("sweep", "--problem", "helmholtz", "--solver", "pinn-mlp-adam", "--difficulty", "1",
            "--data", "16", "--seeds", "1", "--budget", "smoke", "--out", str(tmp_path))
    r = bench(*args)
    assert r.returncode == 0, r.stderr
    paths = sorted(tmp_path.rglob("seed-0.json"))
    assert [p.parent.name for p in paths] == ["a2=1,pde=16"]
    assert read_record(paths[0])["spec"]["sizes"]["pde"] == 16
    assert read_record(paths[0])["status"] == "ok"
    r = bench(*args)
    assert r.returncode == 0 and r.stderr.count("reusing records") == 1


@pytest.mark.slow
def test_train_with_diagnostics_fills_curves_and_diagnostics():
    sizes = {"pde": 32, "bc": 8}
    p = load_problem("helmholtz")
    task = p.make_task("forward", p.resolve_params("forward"), sizes)
    cfg = DiagnosticsConfig(snr_batches=4, interval=2, power_iters=5, trace_samples=3,
                            trace_min_samples=2, bezier_steps=1, bezier_points=3, path_points=3,
                            slice_1d=3, slice_2d=2)
    res = train(task, tiny_solver([{"kind": "adam", "lr": 1e-2}]), 12, sizes, [0, 1], n_log=4,
                seed_layout="vmap", diagnostics=cfg)
    for s in res.seeds:
        snr = s.curves["snr"]
        assert snr[0] is not None and snr[1] is None  # probed at logs 0, 2, 4 only
        assert all(np.isfinite(x) for x in snr[::2])
        assert {"grad_norm_pde", "grad_norm_bc", "grad_ratio"} <= set(s.curves)
        d = s.diagnostics
        assert np.isfinite(d["hessian_lambda_max"]) and np.isfinite(d["hessian_trace"])
        assert d["landscape_objective"] == "strong"
        esd = d["hessian_esd"]
        assert len(esd["nodes"]) == len(esd["weights"]) == esd["probes"] * esd["steps"]
        assert sum(esd["weights"]) == pytest.approx(1.0, abs=1e-12)  # float64 entry
        assert d["hessian_lambda_min"] == min(esd["nodes"])
        assert len(d["slices"]["loss_1d"]) == 3 and len(d["slices"]["loss_2d"]) == 2
        assert set(d["cka"]) == {str(1 - s.seed)} and d["mc_bezier_mean"] is not None
        assert 0 < s.metrics["pred_norm_ratio"] < np.inf
