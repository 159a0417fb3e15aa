"""Labels of a run record: training regime, training phases and failure modes, as pure functions.

Labels are computed from a record's metrics, curves, diagnostics and declared term roles and the
problem's :class:`~regimebench.problem.Thresholds`, never from live training state, so
``bench relabel`` recomputes them offline, identically, when thresholds (or these rules) change.
The vocabulary — :class:`~regimebench.outcomes.Regime`, :class:`~regimebench.outcomes.FailureMode`,
:class:`~regimebench.outcomes.TrainingPhase` — lives in :mod:`regimebench.outcomes` with each
member's description; the written definitions, with their sources, are in ``docs/regimes.md``;
the constants below are the rules' parameters.

Regime (Wang et al. 2026): :func:`regime` from the *normalised* training loss (the unweighted
loss at the end divided by its value at initialisation, which makes one threshold meaningful
across entries and difficulty values) and the test rel. L2. Stability: the fraction of the 9
threshold pairs (T_train, T_test) × {0.8, 1, 1.2} that give the same label.

Training phases (Anagnostopoulos et al. 2024) from the gradient-SNR curve: see
:func:`training_phases`. Failure modes: one registered rule per
:class:`~regimebench.outcomes.FailureMode` member (:data:`FAILURE_MODES` holds each rule's
definition; a test checks the registry is complete).

Two labels are relative to a **family** of runs: the records of one group
(:func:`regimebench.record.group_key`: same problem@version, task, solver@hash, budget, cell and
harness). :func:`label_record` labels one record alone (family-free: what is written when a seed
finishes); :func:`label_group` labels a whole group with its family — the runner calls it when a
run ends, ``bench relabel`` calls it per group, and both give the same labels.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .outcomes import FailureMode, FailureReason, Regime, Status, TermRole, TrainingPhase
from .record import group_key

__all__ = ["regime", "regime_stability", "label_record", "label_group", "training_phases",
           "landscape_family", "Family", "FAILURE_MODES", "failure_modes", "effective_grad_ratio",
           "term_roles", "time_windows"]

# Rule parameters (documented in docs/regimes.md).
DIVERGED_GROWTH = 10.0  # final loss > 10 × initial loss ...
DIVERGED_FROM_MIN = 1e3  # ... or > 1000 × the lowest logged loss
STAGNATION_GAIN = 0.9  # last half of training lowers the loss by less than 10 %
TRIVIAL_NORM = 0.1  # ‖u_θ‖ / ‖u‖ below this ...
TRIVIAL_ERROR = 0.9  # ... with rel. L2 at least this
IMBALANCE_RATIO = 1e-2  # min/max weighted per-term gradient norm below this, last half
CONSTRAINT_RMS = 0.1  # RMS boundary/initial residual above 10 % of the reference RMS
CAUSALITY_GROWTH = 10.0  # error in the last quarter of t ≥ 10 × error in the first quarter
SPECTRAL_HIGH_FRAC = 0.5  # most of the error above the reference's median wavenumber
FAMILY_MIN = 4  # records with a Hessian eigenvalue needed for family quantiles
SNR_SMOOTH = 5  # centred moving average of log10 SNR (log points)
SNR_DROP = 1.0  # decades below the early maximum: end of fitting
SNR_JUMP = 0.5  # decades of rise over SNR_SMOOTH log points: total diffusion
SNR_EARLY = 0.2  # fraction of the log points that counts as "early"


# ------------------------------------------------------------------------------------ regime
def regime(normalized_loss: float | None, test_error: float | None, t_train: float,
           t_test: float) -> Regime:
    """Regime from the normalised training loss and the test rel. L2 (``none`` if either is
    missing or non-finite)."""
    if normalized_loss is None or test_error is None:
        return Regime.NONE
    if not (math.isfinite(normalized_loss) and math.isfinite(test_error)):
        return Regime.NONE
    low_loss = normalized_loss < t_train
    if test_error < t_test:
        return Regime.WELL if low_loss else Regime.WELL_HIGH_LOSS
    return Regime.OVER if low_loss else Regime.UNDER


def regime_stability(normalized_loss, test_error, t_train: float, t_test: float) -> float:
    """Fraction of ±20 % threshold perturbations that keep the label."""
    base = regime(normalized_loss, test_error, t_train, t_test)
    factors = (0.8, 1.0, 1.2)
    same = sum(regime(normalized_loss, test_error, t_train * a, t_test * b) == base
               for a, b in itertools.product(factors, factors))
    return same / 9


# ------------------------------------------------------------------------------------ phases
def _finite_series(xs: Sequence | None, ys: Sequence | None) -> tuple[np.ndarray, np.ndarray]:
    if not xs or not ys:
        return np.zeros(0), np.zeros(0)
    pairs = [(float(x), float(y)) for x, y in zip(xs, ys)
             if x is not None and y is not None and math.isfinite(y) and y > 0]
    if not pairs:
        return np.zeros(0), np.zeros(0)
    a = np.asarray(pairs)
    return a[:, 0], a[:, 1]


def training_phases(evals: Sequence | None, snr: Sequence | None) -> dict[str, Any]:
    """Fitting → diffusion → total diffusion from the SNR curve, with the step of each change.

    With ``s = log10 SNR`` smoothed by a centred moving average of ``SNR_SMOOTH`` points:

    * end of fitting (start of diffusion): the first log point where ``s`` drops more than
      ``SNR_DROP`` decades below its maximum over the early ``SNR_EARLY`` fraction of the run;
    * start of total diffusion: after the end of fitting, the window of ``SNR_SMOOTH`` log points
      with the largest rise of ``s``, if that rise exceeds ``SNR_JUMP`` decades and ``s`` stays at
      least half a jump above the window's start for the rest of the run; the step is the first
      point of the window at which half the rise is reached.

    Returns ``{"fitting_end", "total_diffusion_start", "final_phase", "total_diffusion"}`` (steps
    in gradient evaluations; ``None`` where not reached; all ``None`` without an SNR curve).
    """
    x, y = _finite_series(evals, snr)
    out = {"fitting_end": None, "total_diffusion_start": None, "final_phase": None,
           "total_diffusion": None}
    if len(y) < 2 * SNR_SMOOTH:
        return out
    s = np.log10(y)
    k = SNR_SMOOTH
    pad = np.pad(s, (k // 2, k - 1 - k // 2), mode="edge")
    s = np.convolve(pad, np.ones(k) / k, mode="valid")
    early = max(2, int(math.ceil(SNR_EARLY * len(s))))
    s_max = s[:early].max()
    below = np.nonzero(s < s_max - SNR_DROP)[0]
    if len(below) == 0:
        out.update(final_phase=TrainingPhase.FITTING, total_diffusion=False)
        return out
    i_fit = int(below[0])
    out["fitting_end"] = int(x[i_fit])
    best, best_i = 0.0, None
    for i in range(i_fit, len(s) - k + 1):
        rise = s[i + k - 1] - s[i]
        if rise > best and np.all(s[i + k - 1:] >= s[i] + 0.5 * rise):
            best, best_i = rise, i
    if best_i is not None and best > SNR_JUMP:
        j = best_i + int(np.argmax(s[best_i:best_i + k] >= s[best_i] + 0.5 * best))
        out.update(total_diffusion_start=int(x[j]), final_phase=TrainingPhase.TOTAL_DIFFUSION,
                   total_diffusion=True)
    else:
        out.update(final_phase=TrainingPhase.DIFFUSION, total_diffusion=False)
    return out


# ------------------------------------------------------------------------------------ family
@dataclass(frozen=True)
class Family:
    """Landscape statistics of a family of runs (the records of one group): the 25th and 75th
    percentiles of ln|λ_max| (Hessian top eigenvalue) over its records."""

    q_lo: float
    q_hi: float
    size: int


def _ln_lambda(record: Mapping[str, Any]) -> float | None:
    lam = (record.get("diagnostics") or {}).get("hessian_lambda_max")
    if lam is None or not math.isfinite(lam) or lam == 0:
        return None
    return math.log(abs(lam))


def landscape_family(records: Iterable[Mapping[str, Any]]) -> Family | None:
    """Quantiles of ln|λ_max| over ``records``; ``None`` with fewer than ``FAMILY_MIN`` values."""
    vals = [v for v in (_ln_lambda(r) for r in records if r.get("status") == Status.OK)
            if v is not None]
    if len(vals) < FAMILY_MIN:
        return None
    q_lo, q_hi = np.percentile(vals, [25, 75])
    return Family(float(q_lo), float(q_hi), len(vals))


# ------------------------------------------------------------------------------------ failures
@dataclass(frozen=True)
class Context:
    """What a failure rule may look at."""

    record: Mapping[str, Any]
    thresholds: Any
    regime: Regime
    family: Family | None

    @property
    def metrics(self) -> Mapping[str, Any]:
        return self.record.get("metrics") or {}

    @property
    def curves(self) -> Mapping[str, Any]:
        return self.record.get("curves") or {}

    def metric(self, name: str) -> float | None:
        return self._float(self.metrics.get(name))

    @staticmethod
    def _float(v: Any) -> float | None:
        return float(v) if v is not None and math.isfinite(float(v)) else None


Rule = Callable[[Context], bool]
#: Each failure mode's rule, in words with its parameters (the site's definitions page shows it
#: beside the member's description). Keyed by :class:`FailureMode`, in registration order.
FAILURE_MODES: dict[FailureMode, str] = {}
_RULES: dict[FailureMode, Rule] = {}


def _mode(mode: FailureMode, definition: str):
    """Register the rule of ``mode`` (each member exactly once)."""
    if not isinstance(mode, FailureMode):
        raise TypeError(f"failure rules are registered for FailureMode members, got {mode!r}")
    if mode in _RULES:
        raise ValueError(f"a rule for {mode} is already registered")

    def register(fn: Rule) -> Rule:
        FAILURE_MODES[mode] = definition
        _RULES[mode] = fn
        return fn

    return register


@_mode(FailureMode.CRASHED, "training raised an exception or ran out of memory; the traceback "
                            "is recorded")
def _crashed(c: Context) -> bool:
    return c.record.get("status") == Status.CRASHED


@_mode(FailureMode.NON_FINITE, "the loss or parameters became NaN/inf; the seed was frozen at "
                               "that step")
def _non_finite(c: Context) -> bool:
    return c.record.get("failure") == FailureReason.NON_FINITE


@_mode(FailureMode.DIVERGED, f"final unweighted loss > {DIVERGED_GROWTH:g}× its initial value, or > "
                   f"{DIVERGED_FROM_MIN:g}× the lowest logged loss")
def _diverged(c: Context) -> bool:
    nl = c.metric("normalized_loss")
    if nl is not None and nl > DIVERGED_GROWTH:
        return True
    _, loss = _finite_series(c.curves.get("evals"), c.curves.get("loss"))
    final = c.metric("loss")
    return bool(len(loss) and final is not None and final > DIVERGED_FROM_MIN * loss.min())


@_mode(FailureMode.STAGNATED, "normalised loss ≥ T_train and the second half of training lowered the "
                    f"loss by less than {100 * (1 - STAGNATION_GAIN):g} %")
def _stagnated(c: Context) -> bool:
    nl = c.metric("normalized_loss")
    x, loss = _finite_series(c.curves.get("evals"), c.curves.get("loss"))
    if nl is None or nl < c.thresholds.train_loss or len(loss) < 4:
        return False
    mid = x[0] + 0.5 * (x[-1] - x[0])
    i = int(np.searchsorted(x, mid))
    return bool(loss[i:].min() >= STAGNATION_GAIN * loss[i])


@_mode(FailureMode.TRIVIAL_SOLUTION, f"‖u_θ‖/‖u‖ < {TRIVIAL_NORM:g} on the evaluation grid with rel. L2 "
                           f"≥ {TRIVIAL_ERROR:g} (the network sits near zero)")
def _trivial(c: Context) -> bool:
    r, e = c.metric("pred_norm_ratio"), c.metric("rel_l2")
    return r is not None and e is not None and r < TRIVIAL_NORM and e >= TRIVIAL_ERROR


def effective_grad_ratio(curves: Mapping[str, Any]) -> list | None:
    """min_k / max_k of the per-term gradient norms *as the optimizer sees them*, per log point.

    The probes log ``grad_norm_<k>`` of each unweighted term; an entry with term weights
    (``weight_<k>`` curves: grad-norm, inverse-Dirichlet, fixed weights ≠ 1) scales term ``k``'s
    gradient by ``w_k``, so the imbalance the update actually has is that of ``w_k·‖∇L_k‖``.
    Without weight curves this is the logged ``grad_ratio``. Per-point weights (RBA, causal) are
    not folded in: for those entries the ratio is that of the unweighted terms.
    """
    names = [k[len("grad_norm_"):] for k in curves if k.startswith("grad_norm_")]
    if not names or not all(f"weight_{k}" in curves for k in names):
        return curves.get("grad_ratio")
    out = []
    for values in zip(*[zip(curves[f"grad_norm_{k}"], curves[f"weight_{k}"]) for k in names]):
        scaled = [g * w for g, w in values if g is not None and w is not None]
        ok = len(scaled) == len(names) and all(math.isfinite(v) for v in scaled)
        out.append(min(scaled) / max(scaled) if ok and max(scaled) > 0 else None)
    return out


@_mode(FailureMode.LOSS_TERM_IMBALANCE, "min/max of the per-term gradient norms, each scaled by its term "
                              f"weight, below {IMBALANCE_RATIO:g} at every logged point of the "
                              "last half")
def _imbalance(c: Context) -> bool:
    x, ratio = _finite_series(c.curves.get("evals"), effective_grad_ratio(c.curves))
    if len(ratio) < 2:
        return False
    late = ratio[x >= x[0] + 0.5 * (x[-1] - x[0])]
    return bool(len(late) >= 1 and np.all(late < IMBALANCE_RATIO))


# Records written before tasks declared their term roles (no ``terms`` field) name boundary and
# initial terms by prefix; this is the only place the prefixes are still read.
_LEGACY_CONSTRAINT_PREFIXES = {"bc": TermRole.BOUNDARY, "ic": TermRole.INITIAL}


def term_roles(record: Mapping[str, Any]) -> dict[str, TermRole]:
    """``{term: role}`` of a record: its declared ``terms``; for older records without them,
    ``bc*`` terms are boundary and ``ic*`` terms initial (the only roles the rules need)."""
    declared = record.get("terms")
    if declared:
        return {str(k): TermRole(v) for k, v in declared.items()}
    out = {}
    for key in record.get("metrics") or {}:
        name = key.removeprefix("loss_")
        if key.startswith("loss_") and name[:2] in _LEGACY_CONSTRAINT_PREFIXES:
            out[name] = _LEGACY_CONSTRAINT_PREFIXES[name[:2]]
    return out


@_mode(FailureMode.BOUNDARY_INITIAL_VIOLATION,
       "a term the task declares a boundary or initial condition has RMS residual "
       f"√loss > {CONSTRAINT_RMS:g}× the reference's RMS (data and constraint terms are not "
       "judged: the test error measures the data misfit, and a constraint's units are not the "
       "solution's)")
def _constraint(c: Context) -> bool:
    scale = c.metric("target_rms")
    if not scale:
        return False
    terms = [f"loss_{t}" for t, role in term_roles(c.record).items()
             if role.is_boundary_or_initial]
    return any(c.metric(k) is not None and math.sqrt(c.metric(k)) > CONSTRAINT_RMS * scale
               for k in terms)


def time_windows(metrics: Mapping[str, Any]) -> tuple[Any, Any]:
    """(error over the first quarter of t, error over the last quarter of t) of a record.

    The names are :mod:`regimebench.timewise`'s ``rel_l2_t_q1`` and ``rel_l2_t_q4``. Records
    written before every time-resolved grid had them (schema 1) may carry only the field probes'
    ``rel_l2_t_first`` / ``rel_l2_t_last``, which were the first/last quarters then; where the
    quarter names exist they win (on allen-cahn and burgers ``rel_l2_t_last`` was the final time
    level, which is not what the rule reads).
    """
    if metrics.get("rel_l2_t_q1") is not None or metrics.get("rel_l2_t_q4") is not None:
        return metrics.get("rel_l2_t_q1"), metrics.get("rel_l2_t_q4")
    return metrics.get("rel_l2_t_first"), metrics.get("rel_l2_t_last")


@_mode(FailureMode.CAUSALITY_VIOLATION,
       f"the rel. L2 over the last quarter of the time levels (rel_l2_t_q4) ≥ "
       f"{CAUSALITY_GROWTH:g}× that over the first quarter (rel_l2_t_q1), and ≥ T_test (the "
       "error grows along t)")
def _causality(c: Context) -> bool:
    first, last = (Context._float(v) for v in time_windows(c.metrics))
    if first is None or last is None:
        return False
    return last >= c.thresholds.test_error and last >= CAUSALITY_GROWTH * first


@_mode(FailureMode.SPECTRAL_BIAS, f"rel. L2 ≥ T_test and more than {SPECTRAL_HIGH_FRAC:g} of the error's "
                        "energy lies above the reference's median spatial wavenumber")
def _spectral(c: Context) -> bool:
    frac, err = c.metric("spectral_err_high_frac"), c.metric("rel_l2")
    if frac is None or err is None:
        return False
    return err >= c.thresholds.test_error and frac > SPECTRAL_HIGH_FRAC


@_mode(FailureMode.DECEPTIVE_SHARPNESS, "regime I and ln|λ_max| ≥ the 75th percentile of its family "
                              "(sharp, yet it trained and generalises)")
def _sharp(c: Context) -> bool:
    v = _ln_lambda(c.record)
    return (c.family is not None and v is not None and c.regime == Regime.WELL
            and v >= c.family.q_hi)


@_mode(FailureMode.DECEPTIVE_FLATNESS, "regime II and ln|λ_max| ≤ the 25th percentile of its family "
                             "(flat, yet stuck at a high loss)")
def _flat(c: Context) -> bool:
    v = _ln_lambda(c.record)
    return (c.family is not None and v is not None and c.regime == Regime.UNDER
            and v <= c.family.q_lo)


def failure_modes(record: Mapping[str, Any], thresholds, *,
                  regime_label: Regime | str | None = None,
                  family: Family | None = None) -> list[FailureMode]:
    """The failure modes ``record`` shows, in registry order."""
    label = Regime(regime_label) if regime_label is not None else Regime.NONE
    ctx = Context(record, thresholds, label, family)
    return [mode for mode, rule in _RULES.items() if rule(ctx)]


# ------------------------------------------------------------------------------------ record
def label_record(record: Mapping[str, Any], thresholds,
                 family: Family | None = None) -> dict[str, Any]:
    """All labels of one record (``thresholds``: the task's :class:`Thresholds`).

    ``family`` (see :func:`landscape_family`) enables the two landscape labels, which are
    relative to other runs of the same family; without it they are never set.
    """
    metrics = record.get("metrics") or {}
    nl, err = metrics.get("normalized_loss"), metrics.get("rel_l2")
    usable = record.get("status") == Status.OK
    label = (regime(nl, err, thresholds.train_loss, thresholds.test_error) if usable
             else Regime.NONE)
    stability = (regime_stability(nl, err, thresholds.train_loss, thresholds.test_error)
                 if label != Regime.NONE else None)
    curves = record.get("curves") or {}
    return {
        "regime": label,
        "regime_stability": stability,
        "failure_modes": failure_modes(record, thresholds, regime_label=label, family=family),
        "phases": training_phases(curves.get("evals"), curves.get("snr")),
        "thresholds": {"train_loss": thresholds.train_loss, "test_error": thresholds.test_error,
                       "target": thresholds.target},
        "family": None if family is None else {"ln_lambda_q25": family.q_lo,
                                               "ln_lambda_q75": family.q_hi,
                                               "size": family.size},
    }


def label_group(records: Sequence[Mapping[str, Any]], thresholds) -> list[dict[str, Any]]:
    """The labels of every record of one group, with the group as the landscape family.

    ``records`` must all have the same :func:`~regimebench.record.group_key` (the seeds of one
    problem@version, task, solver@hash, budget, cell and harness); pass *all* of the group's
    records on disk, as the runner does when a run ends and ``bench relabel`` does per group, so
    both compute the same family and the same labels. Returns one labels dict per record, in
    order. Raises ``ValueError`` for records of several groups.
    """
    keys = {group_key(r) for r in records}
    if len(keys) > 1:
        raise ValueError("label_group needs the records of one group, got "
                         + "; ".join(map(str, sorted(keys))))
    family = landscape_family(records)
    return [label_record(r, thresholds, family) for r in records]
