"""The outcome vocabulary of a run: status, failure reason, regime, failure mode, term role and
training phase; and the verdict of a published finding re-tested on the records.

Every outcome a record, the CLI or the site shows is a member of one of these enumerations, never
a loose string. They are :class:`enum.StrEnum`, so a member *is* its JSON value
(``Status.OK == "ok"``, ``json.dumps(Regime.WELL) == '"I"'``) and records written before these
types existed read back unchanged. Each member carries its description (``.description``), from
which ``docs/regimes.md`` and the site's definitions are built; the labelling *rules* live in
:mod:`regimebench.labels`.

>>> Regime("III").title
'Over-Trained'
>>> Status.FAILED.description
'training finished, but the loss or parameters became non-finite (the seed was frozen)'
"""

from __future__ import annotations

import enum

__all__ = ["Status", "FailureReason", "Regime", "FailureMode", "TermRole", "TrainingPhase",
           "Verdict", "VOCABULARIES"]


class _Described(enum.StrEnum):
    """A string enumeration whose members carry a one-line description."""

    description: str

    def __new__(cls, value: str, description: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member


class Status(_Described):
    """How a seed's run ended. A failure is a result (kept, counted); a crash is not."""

    OK = "ok", "training finished with finite loss and parameters"
    FAILED = "failed", ("training finished, but the loss or parameters became non-finite "
                        "(the seed was frozen)")
    CRASHED = "crashed", ("training raised an exception, ran out of memory or its worker died; "
                          "the traceback is recorded and the seed is retried on a rerun")


class FailureReason(_Described):
    """Why a seed's status is not ``ok`` (the record's ``failure`` field)."""

    NON_FINITE = "non_finite", "the loss or a parameter became NaN or infinite"
    EXCEPTION = "exception", "training raised an exception"
    OUT_OF_MEMORY = "out_of_memory", "the device or host ran out of memory"
    WORKER_DIED = "worker_died", "the executor's worker process died before writing a record"


class _Titled(_Described):
    """A described string enumeration whose members also carry a title for prose."""

    title: str

    def __new__(cls, value: str, title: str = "", description: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        member.title = title
        return member


class Regime(_Titled):
    """Training regime of one seed (Wang et al. 2026; thresholds per problem and task).

    ``T_train`` applies to the *normalised* training loss (final unweighted loss divided by its
    value at initialisation), ``T_test`` to the test rel. L2. Members are declared in the order
    every table, chart and tie label lists them (``tuple(Regime)``).
    """

    WELL = "I", "Well-Trained", "normalised training loss < T_train and test rel. L2 < T_test"
    WELL_HIGH_LOSS = "I*", "Well-Trained at a high loss", (
        "test rel. L2 < T_test although the normalised training loss ≥ T_train (not defined by "
        "the paper; flagged)")
    UNDER = "II", "Under-Trained", "normalised training loss ≥ T_train and test rel. L2 ≥ T_test"
    OVER = "III", "Over-Trained", "normalised training loss < T_train but test rel. L2 ≥ T_test"
    NONE = "none", "no label", "the run produced no usable numbers (non-finite or crashed)"


class FailureMode(_Described):
    """Fine-grained failure modes; the rule of each is registered in :mod:`regimebench.labels`."""

    CRASHED = "crashed", "training raised an exception or ran out of memory"
    NON_FINITE = "non_finite", "the loss or parameters became NaN/inf"
    DIVERGED = "diverged", "the loss grew far above its initial or lowest value"
    STAGNATED = "stagnated", "the loss stopped falling while still above T_train"
    TRIVIAL_SOLUTION = "trivial_solution", "the network sits near zero"
    LOSS_TERM_IMBALANCE = "loss_term_imbalance", "one loss term's gradient dwarfs another's"
    BOUNDARY_INITIAL_VIOLATION = "boundary_initial_violation", (
        "a boundary or initial condition is not met")
    CAUSALITY_VIOLATION = "causality_violation", "the error grows along time"
    SPECTRAL_BIAS = "spectral_bias", "the error sits at high spatial wavenumbers"
    DECEPTIVE_SHARPNESS = "deceptive_sharpness", "sharp minimum, yet it trained and generalises"
    DECEPTIVE_FLATNESS = "deceptive_flatness", "flat minimum, yet stuck at a high loss"


class TermRole(_Described):
    """What a named loss term of a task enforces (declared by the task, never guessed)."""

    RESIDUAL = "residual", "the governing equation's residual at interior points"
    BOUNDARY = "boundary", "a boundary condition"
    INITIAL = "initial", "an initial condition"
    DATA = "data", "agreement with observed or reference data"
    CONSTRAINT = "constraint", "an auxiliary equation (e.g. incompressibility)"

    @property
    def is_boundary_or_initial(self) -> bool:
        """Whether the term poses a boundary or initial condition (what
        ``boundary_initial_violation`` checks). ``data`` terms are not: their misfit is measured
        by the test error; ``constraint`` terms (e.g. a divergence) have other units than the
        solution and cannot be judged against its RMS."""
        return self in (TermRole.BOUNDARY, TermRole.INITIAL)


class TrainingPhase(_Described):
    """Phase of training read from the gradient signal-to-noise curve (Anagnostopoulos et al.
    2024); the detector is :func:`regimebench.labels.training_phases`."""

    FITTING = "fitting", "the gradient signal dominates its noise (high SNR)"
    DIFFUSION = "diffusion", ("the SNR has dropped more than a decade below its early maximum: "
                              "noise-dominated gradients")
    TOTAL_DIFFUSION = "total_diffusion", ("after diffusion, the SNR rose abruptly by more than "
                                          "half a decade and stayed up: the gradients align")


class Verdict(_Titled):
    """What the records say about a published finding (:mod:`regimebench.findings`), for one
    setting or over all of them. Members are listed from the strongest to the weakest; ``title``
    is how a verdict is written in prose."""

    REPRODUCED = "reproduced", "reproduced", (
        "every part of the claim holds in direction and the rank-sum test (5 %) tells the groups "
        "apart")
    DIRECTION_ONLY = "direction_only", "reproduced in direction only", (
        "every part of the claim holds in direction, but not every difference is statistically "
        "distinguishable at this many seeds")
    NOT_REPRODUCED = "not_reproduced", "not reproduced", (
        "some part of the claim goes the other way or does not appear")
    NO_RECORDS = "no_records", "no records yet", "the records the finding needs are not there yet"


#: Every outcome vocabulary, in the order the definitions page lists them.
VOCABULARIES: tuple[type[_Described], ...] = (Status, FailureReason, Regime, FailureMode,
                                               TermRole, TrainingPhase, Verdict)
