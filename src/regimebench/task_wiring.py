"""Entry options that take their values from the task, and the plan-time check that they can.

Three things an entry may ask for that only the task can supply:

* ``embedding = [{ kind = "periodic", periods = "task" }, ...]`` in ``[architecture]``: the exact
  periodic embedding with the periods the task declares (its ``periods`` class variable, in
  physical units, rescaled to the model's ``[-1, 1]`` inputs by
  :func:`~regimebench.components.architectures.periods_from_task`);
* ``physics_init = true`` (or ``{ terms = ["ic"], points = "pde", ridge = 0.0 }``) in
  ``[architecture]``: PirateNet's physics-informed initialisation, the output layer fitted by
  least squares to the task's boundary/initial data, on those terms' own points or, with
  ``points``, on another term's (``points = "pde"`` spreads the initial data over the whole
  space-time box: jaxpi's "initial_condition" first guess,
  :func:`regimebench.physics_init.fit_output_layer`);
* ``[loss] kind = "ritz"``: the Deep Ritz energy of a task that declares one
  (:mod:`regimebench.loss_forms`).

:func:`check_entry_for_task` runs at plan time (``bench run``, sweeps, the smoke matrix) so an
entry asking for any of these on a task that cannot supply it fails with one line before
anything is compiled.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .components.architectures import architectures, periods_from_task
from .outcomes import TermRole

__all__ = ["TASK_WIRED_OPTIONS", "TASK_PERIODS", "check_task_wired_options",
           "resolve_architecture_options", "physics_init_config", "check_entry_for_task",
           "default_init_terms"]

#: ``[architecture]`` options handled here rather than by the architecture's factory.
TASK_WIRED_OPTIONS = ("physics_init",)
#: The value of a periodic embedding's ``periods`` that asks for the task's declared periods.
TASK_PERIODS = "task"
#: Roles of the terms PirateNet's initialisation fits by default: the problem's data.
INIT_ROLES = frozenset({TermRole.BOUNDARY, TermRole.INITIAL})


def _embedding_items(options: Mapping[str, Any]) -> list:
    emb = options.get("embedding")
    return [] if emb is None else [emb] if isinstance(emb, Mapping) else list(emb)


def _asks_task_periods(options: Mapping[str, Any]) -> bool:
    return any(isinstance(i, Mapping) and i.get("kind") == "periodic"
               and i.get("periods") == TASK_PERIODS for i in _embedding_items(options))


def physics_init_config(options: Mapping[str, Any]) -> dict[str, Any] | None:
    """``{"terms": tuple | None, "ridge": float, "points": str | None}`` if the architecture
    options ask for the physics-informed initialisation, else ``None``."""
    raw = options.get("physics_init", False)
    if raw is False:
        return None
    raw = {} if raw is True else dict(raw)
    terms = raw.get("terms")
    return {"terms": None if terms is None else tuple(terms), "ridge": float(raw.get("ridge", 0.0)),
            "points": raw.get("points")}


def check_task_wired_options(kind: str, options: Mapping[str, Any]) -> None:
    """Values of the task-wired options, checked without a task (``ValueError``, one line)."""
    raw = options.get("physics_init", False)
    if raw is False:
        return
    if not isinstance(raw, (bool, Mapping)):
        raise ValueError(f"physics_init must be true, false or a table {{ terms, ridge }}, "
                         f"got {raw!r}")
    if isinstance(raw, Mapping):
        unknown = set(raw) - {"terms", "ridge", "points"}
        if unknown:
            raise ValueError(f"physics_init: unknown option(s) {sorted(unknown)}; use terms, "
                             "ridge and points")
        if not isinstance(raw.get("points", ""), str):
            raise ValueError(f"physics_init: 'points' must be a term name, got "
                             f"{raw['points']!r}")
        terms = raw.get("terms", [])
        if not (isinstance(terms, list) and all(isinstance(t, str) for t in terms)):
            raise ValueError(f"physics_init: 'terms' must be a list of term names, got {terms!r}")
        ridge = raw.get("ridge", 0.0)
        if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not ridge >= 0:
            raise ValueError(f"physics_init: 'ridge' must be a number ≥ 0, got {ridge!r}")
    if not getattr(architectures.get(kind), "linear_head", False):
        raise ValueError(f"physics_init needs an architecture that is linear in its output "
                         f"layer at initialisation (piratenet); {kind!r} is not")


def resolve_architecture_options(options: Mapping[str, Any], task: Any) -> dict[str, Any]:
    """The options the architecture's factory receives for ``task``: task-wired options removed,
    ``periods = "task"`` replaced by the task's periods in the model's coordinates."""
    out = {k: copy.deepcopy(v) for k, v in options.items() if k not in TASK_WIRED_OPTIONS}
    if _asks_task_periods(out):
        periods = list(periods_from_task(task))
        emb = out["embedding"]
        items = [emb] if isinstance(emb, Mapping) else emb
        for item in items:
            if item.get("kind") == "periodic" and item.get("periods") == TASK_PERIODS:
                item["periods"] = periods
    return out


def default_init_terms(task: Any) -> tuple[str, ...]:
    """The terms the physics-informed initialisation fits when the entry names none: the task's
    boundary and initial terms."""
    return tuple(k for k, r in task.term_roles.items() if r in INIT_ROLES)


def check_entry_for_task(solver: Any, task_cls: type) -> None:
    """Raise ``ValueError`` (one line) if ``solver`` asks for something ``task_cls`` cannot
    supply: a loss form it does not support, periods it does not declare, initialisation terms
    it does not have."""
    from .loss_forms import loss_forms

    where = f"entry {solver.name!r} on {task_cls.problem}/{task_cls.task}"
    try:
        loss_forms.get(solver.loss.kind)(**solver.loss.options).check_task(task_cls)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    options = solver.architecture.options
    if _asks_task_periods(options) and not getattr(task_cls, "periods", None):
        raise ValueError(f"{where}: the periodic embedding takes its periods from the task "
                         f"(periods = \"task\"), but the task declares no periods")
    init = physics_init_config(options)
    if init is not None:
        names = tuple(getattr(task_cls, "term_roles", {}))
        terms = init["terms"] if init["terms"] is not None else default_init_terms(task_cls)
        missing = [t for t in (*terms, init["points"] or terms[0]) if t not in names]
        if missing or not terms:
            raise ValueError(f"{where}: physics_init fits the terms {list(terms)}, but the "
                             f"task's terms are {list(names)}")
