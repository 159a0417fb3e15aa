"""Labels on synthetic records: each rule has a record that triggers it and one that does not."""

import math

import numpy as np
import pytest

from regimebench import labels as labels_module
from regimebench.labels import (
    FAILURE_MODES,
    Family,
    label_group,
    label_record,
    landscape_family,
    regime,
    regime_stability,
    term_roles,
    training_phases,
)
from regimebench.outcomes import FailureMode, Regime, TermRole, TrainingPhase
from regimebench.problem import Thresholds

TH = Thresholds(train_loss=1e-3, test_error=0.1, target=1e-2)
EVALS = list(range(0, 1000, 10))


def rec(**metrics):
    """A healthy regime-I record; keyword arguments override metrics, ``curves``/``diagnostics``/
    ``status``/``failure`` override those fields."""
    base = {"status": "ok", "failure": None,
            "metrics": {"loss": 1e-3, "normalized_loss": 1e-4, "rel_l2": 1e-2, "loss_pde": 9e-4,
                        "loss_bc": 1e-4, "target_rms": 0.5, "pred_norm_ratio": 1.0,
                        "spectral_err_high_frac": 0.2, "rel_l2_t_q1": 5e-3,
                        "rel_l2_t_q4": 1e-2},
            "curves": {"evals": EVALS, "loss": list(np.geomspace(10.0, 1e-3, len(EVALS))),
                       "grad_ratio": [0.3] * len(EVALS)},
            "diagnostics": {"hessian_lambda_max": 100.0}}
    for k in ("curves", "diagnostics", "status", "failure"):
        if k in metrics:
            base[k] = metrics.pop(k)
    base["metrics"].update(metrics)
    return base


def modes(r, family=None):
    return label_record(r, TH, family)["failure_modes"]


def test_healthy_record_has_no_failure_mode():
    lab = label_record(rec(), TH)
    assert lab["regime"] == "I" and lab["failure_modes"] == []


def test_regimes_and_stability():
    assert regime(1e-4, 0.01, 1e-3, 0.1) == "I"
    assert regime(1e-1, 0.5, 1e-3, 0.1) == "II"
    assert regime(1e-4, 0.5, 1e-3, 0.1) == "III"
    assert regime(1e-1, 0.01, 1e-3, 0.1) == "I*"
    assert regime(None, 0.01, 1e-3, 0.1) == "none" and regime(math.nan, 0.1, 1, 1) == "none"
    assert regime_stability(1e-4, 0.01, 1e-3, 0.1) == 1.0  # far from both thresholds
    # test error 0.09: below T_test but above 0.8 T_test, so 3 of 9 perturbations flip it
    assert regime_stability(1e-4, 0.09, 1e-3, 0.1) == pytest.approx(6 / 9)


@pytest.mark.parametrize("name,bad,good", [
    ("crashed", dict(status="crashed"), dict()),
    ("non_finite", dict(status="failed", failure="non_finite"), dict(status="failed")),
    ("diverged", dict(normalized_loss=50.0), dict(normalized_loss=0.5)),
    ("diverged", dict(loss=10.0, normalized_loss=1.0), dict(loss=5e-3, normalized_loss=1e-3)),
    ("stagnated", dict(normalized_loss=0.5, curves={"evals": EVALS, "loss": [5.0] * 100}),
     dict(normalized_loss=0.5)),
    ("trivial_solution", dict(pred_norm_ratio=0.02, rel_l2=0.99),
     dict(pred_norm_ratio=0.02, rel_l2=0.3)),
    ("loss_term_imbalance", dict(curves={"evals": EVALS, "grad_ratio": [0.5] * 50 + [1e-3] * 50}),
     dict(curves={"evals": EVALS, "grad_ratio": [1e-3] * 50 + [0.5] * 50})),
    # unweighted gradients 1e3 apart: a bc weight of 400 balances them (ratio 0.4), weight 1 not
    ("loss_term_imbalance",
     dict(curves={"evals": EVALS, "grad_norm_pde": [200.0] * 100, "grad_norm_bc": [0.2] * 100,
                  "weight_pde": [1.0] * 100, "weight_bc": [1.0] * 100, "grad_ratio": [1e-3] * 100}),
     dict(curves={"evals": EVALS, "grad_norm_pde": [200.0] * 100, "grad_norm_bc": [0.2] * 100,
                  "weight_pde": [1.0] * 100, "weight_bc": [400.0] * 100,
                  "grad_ratio": [1e-3] * 100})),
    ("boundary_initial_violation", dict(loss_bc=0.01), dict(loss_bc=1e-4)),
    ("boundary_initial_violation", dict(loss_ic_u=0.04), dict(loss_ic_u=1e-4)),
    ("causality_violation", dict(rel_l2_t_q1=0.01, rel_l2_t_q4=0.5, rel_l2=0.3),
     dict(rel_l2_t_q1=0.1, rel_l2_t_q4=0.5, rel_l2=0.3)),
    ("spectral_bias", dict(rel_l2=0.3, spectral_err_high_frac=0.8),
     dict(rel_l2=0.3, spectral_err_high_frac=0.2)),
])
def test_failure_mode_rule(name, bad, good):
    assert name in modes(rec(**bad))
    assert name not in modes(rec(**good))


def test_landscape_labels_are_relative_to_a_family():
    fam = landscape_family([rec(diagnostics={"hessian_lambda_max": v})
                            for v in (1.0, 10.0, 100.0, 1000.0, 1e4)])
    assert isinstance(fam, Family) and fam.size == 5
    sharp = rec(diagnostics={"hessian_lambda_max": 1e4})  # regime I, top quartile
    assert "deceptive_sharpness" in modes(sharp, fam)
    assert "deceptive_sharpness" not in modes(rec(diagnostics={"hessian_lambda_max": 10.0}), fam)
    assert "deceptive_sharpness" not in modes(sharp)  # no family, no relative label
    stuck = dict(normalized_loss=0.5, rel_l2=0.9)  # regime II
    assert "deceptive_flatness" in modes(rec(**stuck, diagnostics={"hessian_lambda_max": 1.0}), fam)
    assert "deceptive_flatness" not in modes(
        rec(**stuck, diagnostics={"hessian_lambda_max": 1e4}), fam)
    assert landscape_family([rec()] * 3) is None  # too few runs for quantiles


def test_every_failure_mode_is_tested_and_documented():
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "regimes.md").read_text()
    for name in FAILURE_MODES:
        assert f"`{name}`" in doc


def test_failure_mode_registry_is_complete():
    """One rule per FailureMode member, each with a description and a rule definition; no rule
    for anything that is not a member (the optax-style table of everything registered)."""
    assert list(FAILURE_MODES) == list(FailureMode)  # registered in declaration order, all of them
    assert set(labels_module._RULES) == set(FailureMode)
    for mode in FailureMode:
        assert mode.description and FAILURE_MODES[mode]
    with pytest.raises(TypeError):
        labels_module._mode("new_mode", "a string is not a member")
    with pytest.raises(ValueError, match="already registered"):
        labels_module._mode(FailureMode.CRASHED, "twice")


def test_labels_are_enumeration_members():
    lab = label_record(rec(normalized_loss=0.5, rel_l2=0.9), TH)
    assert lab["regime"] is Regime.UNDER
    assert all(isinstance(m, FailureMode) for m in lab["failure_modes"])


# ------------------------------------------------------------------------------ term roles
def test_boundary_rule_reads_declared_roles():
    # a boundary term named "wall" (no bc prefix) is judged once the task declares its role
    wall = rec(loss_wall=0.04)
    assert "boundary_initial_violation" not in modes(wall)  # undeclared: not guessed
    wall["terms"] = {"pde": "residual", "wall": "boundary"}
    assert "boundary_initial_violation" in modes(wall)
    # data and constraint terms are not boundary/initial conditions, whatever their size
    data = rec(loss_data=0.04, loss_bc=1e-6)
    data["terms"] = {"pde": "residual", "bc": "boundary", "data": "data"}
    assert "boundary_initial_violation" not in modes(data)
    # a declared role wins over the legacy prefix: "bc" declared as data is not judged
    renamed = rec(loss_bc=0.04)
    renamed["terms"] = {"pde": "residual", "bc": "data"}
    assert "boundary_initial_violation" not in modes(renamed)


def test_legacy_records_get_roles_from_prefixes():
    r = rec(loss_ic_u=1e-4)
    assert term_roles(r) == {"bc": TermRole.BOUNDARY, "ic_u": TermRole.INITIAL}
    r["terms"] = {"pde": "residual"}
    assert term_roles(r) == {"pde": TermRole.RESIDUAL}


# ------------------------------------------------------------------------------ time windows
def test_causality_reads_quarters_and_legacy_records():
    # the final time level alone (rel_l2_t_last) is not what the rule reads
    level = rec(rel_l2_t_q1=0.1, rel_l2_t_q4=0.2, rel_l2_t_last=5.0, rel_l2=0.3)
    assert "causality_violation" not in modes(level)
    # schema-1 records of problems without their own time metrics carry first/last quarters
    legacy = rec(rel_l2=0.3)
    for k in ("rel_l2_t_q1", "rel_l2_t_q4"):
        del legacy["metrics"][k]
    legacy["metrics"].update(rel_l2_t_first=0.01, rel_l2_t_last=0.5)
    assert "causality_violation" in modes(legacy)


# ------------------------------------------------------------------------------ groups
def _grouped(seed, lam, **metrics):
    r = rec(diagnostics={"hessian_lambda_max": lam}, **metrics)
    r["spec"] = {"problem": "helmholtz", "problem_version": 1, "task": "forward",
                 "solver": "s", "config_hash": "h", "budget": "cpu", "seed": seed}
    r["cell"] = {}
    return r


def test_label_group_is_label_record_with_the_group_as_family():
    group = [_grouped(k, lam) for k, lam in enumerate((1.0, 10.0, 100.0, 1000.0, 1e4))]
    out = label_group(group, TH)
    fam = landscape_family(group)
    assert out == [label_record(r, TH, fam) for r in group]
    assert "deceptive_sharpness" in out[-1]["failure_modes"]
    # a single seed's write-time labels are family-free
    assert "deceptive_sharpness" not in label_record(group[-1], TH)["failure_modes"]
    other = _grouped(5, 1.0)
    other["spec"]["budget"] = "smoke"
    with pytest.raises(ValueError, match="one group"):
        label_group([*group, other], TH)


def _snr(segments):
    return [10.0 ** v for level, n in segments for v in [level] * n]


def test_training_phases_fitting_diffusion_total_diffusion():
    # fitting at SNR 10, diffusion at 0.01 from step 200, total diffusion (SNR 1) from step 600
    snr = _snr([(1.0, 20), (-2.0, 40), (0.0, 40)])
    ph = training_phases(EVALS, snr)
    assert ph["final_phase"] is TrainingPhase.TOTAL_DIFFUSION and ph["total_diffusion"] is True
    assert 180 <= ph["fitting_end"] <= 220
    assert 570 <= ph["total_diffusion_start"] <= 630


def test_training_phases_without_total_diffusion_or_curve():
    ph = training_phases(EVALS, _snr([(1.0, 20), (-2.0, 80)]))
    assert ph["final_phase"] == "diffusion" and ph["total_diffusion"] is False
    assert ph["total_diffusion_start"] is None and ph["fitting_end"] is not None
    assert training_phases(EVALS, [None] * 100)["final_phase"] is None
    # a transient bump that falls back is not total diffusion
    ph = training_phases(EVALS, _snr([(1.0, 20), (-2.0, 40), (0.0, 10), (-2.0, 30)]))
    assert ph["total_diffusion"] is False
