"""Labels of a run record: training regime and failure modes, as pure functions.

Labels are computed from a record's metrics and curves and the problem's
:class:`~regimebench.problem.Thresholds`, never from live training state, so ``bench relabel``
can recompute them offline when thresholds change. Definitions (also in ``docs/regimes.md``):

Regime (Wang et al. 2026, multi-regime SciML; thresholds per problem and task):
    ``I``   Well-Trained  — normalised training loss < T_train and test rel. L2 < T_test;
    ``II``  Under-Trained — normalised training loss ≥ T_train and test rel. L2 ≥ T_test;
    ``III`` Over-Trained  — normalised training loss < T_train but test rel. L2 ≥ T_test;
    ``I*``  low test error at a high training loss (not defined by the paper; flagged);
    ``none`` when the run produced no usable numbers (non-finite, crashed).
The *normalised* training loss is the unweighted loss at the end divided by its value at
initialisation, which makes one threshold meaningful across entries and difficulty values.
Stability: the fraction of the 9 threshold pairs (T_train, T_test) × {0.8, 1, 1.2} that give the
same label.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["regime", "regime_stability", "label_record", "FAILURE_MODES"]

FAILURE_MODES: dict[str, str] = {
    "non_finite": "the loss or parameters became NaN/inf; the seed was frozen at that step",
    "crashed": "training raised an exception or ran out of memory; the traceback is recorded",
}


def regime(normalized_loss: float | None, test_error: float | None, t_train: float,
           t_test: float) -> str:
    """Regime label from the normalised training loss and the test rel. L2."""
    if normalized_loss is None or test_error is None:
        return "none"
    if not (math.isfinite(normalized_loss) and math.isfinite(test_error)):
        return "none"
    low_loss = normalized_loss < t_train
    if test_error < t_test:
        return "I" if low_loss else "I*"
    return "III" if low_loss else "II"


def regime_stability(normalized_loss, test_error, t_train: float, t_test: float) -> float:
    """Fraction of ±20 % threshold perturbations that keep the label."""
    base = regime(normalized_loss, test_error, t_train, t_test)
    factors = (0.8, 1.0, 1.2)
    same = sum(regime(normalized_loss, test_error, t_train * a, t_test * b) == base
               for a, b in itertools.product(factors, factors))
    return same / 9


def label_record(record: Mapping[str, Any], thresholds) -> dict[str, Any]:
    """All labels of one record (``thresholds``: the task's :class:`Thresholds`)."""
    metrics = record.get("metrics") or {}
    nl, err = metrics.get("normalized_loss"), metrics.get("rel_l2")
    modes: list[str] = []
    if record.get("status") == "crashed":
        modes.append("crashed")
    if record.get("failure") == "non_finite":
        modes.append("non_finite")
    usable = record.get("status") == "ok"
    label = regime(nl, err, thresholds.train_loss, thresholds.test_error) if usable else "none"
    stability = (regime_stability(nl, err, thresholds.train_loss, thresholds.test_error)
                 if label != "none" else None)
    return {
        "regime": label,
        "regime_stability": stability,
        "failure_modes": modes,
        "thresholds": {"train_loss": thresholds.train_loss, "test_error": thresholds.test_error,
                       "target": thresholds.target},
    }
