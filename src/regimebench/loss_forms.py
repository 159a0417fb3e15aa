"""Loss forms an entry can select: ``[loss] kind = "strong"`` (default) or ``"ritz"``.

A loss form says what a phase minimises (:class:`~regimebench.components.optimizers.
AbstractLossForm`). Registered kinds:

=========== =================================================================================
``strong``   the residual least squares ``Σ_k w_k mean(p r²)`` of every term (the default)
``ritz``     Deep Ritz (E & Yu 2018): the PDE term replaced by the energy whose Euler–Lagrange
             equation it is, the other terms kept as penalties (``penalty`` × their mean square)
=========== =================================================================================

**The Ritz contract.** A task supports the energy form by *declaring* it: the class variable
``energy_form`` names a form of :data:`regimebench.ritz.ritz_forms` (helmholtz and darcy
forward do). The form checks this at plan time (:meth:`AbstractEntryLossForm.check_task`), so an
entry asking for ``ritz`` on any other task fails with one line before anything is compiled.
The energy is estimated by Monte Carlo on the PDE term's points (``|Ω| · mean e(x_i)``, weighted
by the term's weight and per-point weights); boundary conditions enter by the penalty (or by a
hard constraint on the model, in which case their residuals are zero anyway).

Whatever the form, the per-term values it reports — the records' ``loss_<term>`` curves, the
regime labels, the smoke matrix — are the strong-form mean squares, so a Ritz entry and its
strong-form twin are judged on the same numbers; only ``loss_weighted`` is the energy.
The end-of-training landscape probes are the exception, on purpose: they measure the landscape
of the loss the entry minimised, the form's :meth:`~AbstractLossForm.unweighted` objective (for
Ritz the energy plus the penalties, with unit weights), named ``ritz`` in the record.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from ._registry import Registry
from .components.optimizers import AbstractLossForm, StrongForm, strong_terms
from .outcomes import TermRole
from .ritz import energy_density, ritz_forms

__all__ = ["loss_forms", "AbstractEntryLossForm", "StrongLoss", "RitzLoss", "energy_term"]


class AbstractEntryLossForm(AbstractLossForm):
    """A loss form an entry selects: it also says whether a task supports it."""

    @abc.abstractmethod
    def check_task(self, task_cls: type) -> None:
        """Raise ``ValueError`` (one line) if ``task_cls`` cannot be trained with this form."""


class StrongLoss(AbstractEntryLossForm):
    """The strong form (every task supports it)."""

    least_squares: ClassVar[bool] = True
    landscape_name: ClassVar[str] = "strong"

    def check_task(self, task_cls):
        return None

    def loss(self, objective, params):
        return StrongForm().loss(objective, params)

    def unweighted(self, task, model, batch):
        return StrongForm().unweighted(task, model, batch)


def energy_term(task: Any) -> str:
    """The term the Ritz energy replaces: the task's one PDE residual term (``ValueError`` if it
    has none or several)."""
    roles = task.term_roles
    names = [k for k, r in roles.items() if r is TermRole.RESIDUAL]
    if len(names) != 1:
        raise ValueError(f"the Ritz loss form needs exactly one PDE residual term, "
                         f"{task.problem}/{task.task} has {len(names)}")
    return names[0]


class RitzLoss(AbstractEntryLossForm):
    """Deep Ritz: ``w_pde |Ω| mean(p e) + penalty · Σ_{k ≠ pde} w_k mean(p r_k²)``.

    ``e = ½ a|∇u|² − ½ κ u² + f u`` is the energy density of the task's declared form
    (:mod:`regimebench.ritz`); ``penalty`` (β) multiplies the other terms (boundary data), as
    E & Yu's boundary penalty does. The total is not a least-squares sum: Gauss–Newton phases
    cannot linearise it (``least_squares = False``).
    """

    least_squares: ClassVar[bool] = False
    landscape_name: ClassVar[str] = "ritz"
    penalty: float = eqx.field(static=True, default=100.0)

    def __check_init__(self):
        if not (isinstance(self.penalty, (int, float)) and self.penalty > 0):
            raise ValueError(f"ritz option 'penalty' must be a positive number, got "
                             f"{self.penalty!r}")

    def check_task(self, task_cls):
        declared = getattr(task_cls, "energy_form", None)
        if declared is None:
            raise ValueError(
                f"the Ritz loss form needs a task that declares an energy (energy_form); "
                f"{task_cls.problem}/{task_cls.task} declares none (tasks that do: "
                + ", ".join(_declaring_tasks()) + ")")
        ritz_forms.get(declared)  # an unknown name: "Did you mean …?"
        energy_term(task_cls)

    def loss(self, objective, params):
        res = objective.residuals(params)  # strong-form residuals: reported, and the penalties
        tw, pw = objective.weights(res)
        terms, weighted = strong_terms(objective.task.term_names, res, pw)
        model = objective.model(params)
        return self._total(objective.task, model, objective.batch, weighted, tw, pw), (terms, res)

    def unweighted(self, task, model, batch):
        """``|Ω| mean(e) + penalty · Σ_{k ≠ pde} mean(r_k²)``."""
        res = task.residuals(model, batch)
        terms, _ = strong_terms(task.term_names, res, {k: None for k in task.term_names})
        unit = {k: 1.0 for k in task.term_names}
        return self._total(task, model, batch, terms, unit, {k: None for k in task.term_names})

    def _total(self, task, model, batch, weighted, tw, pw):
        """The Ritz total from the (point-weighted) mean squares of the penalised terms, the
        term weights ``tw`` and the point weights ``pw`` (``None``: 1) of the energy term."""
        name = energy_term(task)
        form = ritz_forms.get(task.energy_form)(task)
        u = task.field(model)
        e = jax.vmap(lambda x: energy_density(form, u, x))(batch[name]).reshape(-1)
        energy = form.measure * (jnp.mean(e) if pw[name] is None else jnp.mean(pw[name] * e))
        total = tw[name] * energy
        for k in task.term_names:
            if k != name:
                total = total + self.penalty * tw[k] * weighted[k]
        return total


def _declaring_tasks() -> list[str]:
    """``problem/task`` of every catalogue task that declares an energy form."""
    from .problem import list_problems, load_problem

    out = []
    for p in list_problems():
        spec = load_problem(p)
        for t in spec.tasks:
            if getattr(spec.task_class(t), "energy_form", None) is not None:
                out.append(f"{p}/{t}")
    return out


loss_forms: Registry[Any] = Registry("loss form")


@loss_forms.register("strong", doc="residual least squares of every term (the default)")
def make_strong() -> StrongLoss:
    """The strong form: ``Σ_k w_k mean(p r²)``."""
    return StrongLoss()


@loss_forms.register("ritz", doc="Deep Ritz energy of the PDE term, boundary terms by penalty "
                     "(tasks that declare energy_form)")
def make_ritz(*, penalty: float = 100.0) -> RitzLoss:
    """Deep Ritz (E & Yu 2018) with boundary penalty ``penalty`` (β)."""
    return RitzLoss(penalty=float(penalty))
