"""Budget tiers, counted in gradient-evaluation equivalents so that all entries are compared fairly.

A tier names a number of gradient evaluations of the full training loss, or their equivalents:
an Adam or SOAP step costs one, an L-BFGS step the evaluations its line search made, and a dearer
step (natural gradient, Gauss–Newton) its XLA FLOP count divided by that of one gradient of the
same loss on the same points, measured once per compiled program (the phase's cost model, see
:mod:`regimebench.components.optimizers`). An entry's optimizer phases take fractions of it, and
no phase spends more than its share. A problem may scale the defaults in its ``problem.toml``
(``[budgets]``), and a task may override them for itself (``[tasks.<task>.budgets]``), since "a
few minutes on a laptop" buys very different progress on a 1-D and a 4th-order 2-D PDE; read a
task's budget with :meth:`regimebench.problem.ProblemSpec.budget`.

====== =================== =========================================================
tier   default evaluations meant for
====== =================== =========================================================
smoke  60                  tests and CI: checks that everything runs, seconds
cpu    4000                the laptop default, a few minutes for 3 seeds on 2 cores
standard 40000             official leaderboard numbers, on a GPU
long   200000              studies of late-phase behaviour
====== =================== =========================================================
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["TIERS", "DEFAULT_TIER_EVALS", "tier_evals", "default_tier"]

DEFAULT_TIER_EVALS: dict[str, int] = {"smoke": 60, "cpu": 4000, "standard": 40000, "long": 200000}
TIERS: tuple[str, ...] = tuple(DEFAULT_TIER_EVALS)


def tier_evals(tier: str, overrides: Mapping[str, int] | None = None) -> int:
    """Gradient evaluations of ``tier``, after a problem's ``[budgets]`` overrides."""
    from ._registry import did_you_mean

    if tier not in DEFAULT_TIER_EVALS:
        raise ValueError(f"Unknown budget tier {tier!r}." + did_you_mean(tier, list(TIERS)))
    if overrides and tier in overrides:
        return int(overrides[tier])
    return DEFAULT_TIER_EVALS[tier]


def default_tier() -> str:
    """``standard`` on a GPU, ``cpu`` otherwise."""
    import jax

    return "standard" if jax.default_backend() in ("gpu", "cuda", "rocm") else "cpu"
