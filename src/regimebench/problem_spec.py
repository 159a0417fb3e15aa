"""A catalogue entry as ``problem.toml`` declares it: :class:`ProblemSpec` and its parts.

:func:`regimebench.problem.load_problem` returns one (parsed strictly by
:mod:`regimebench._problem_toml`); its methods reach the entry's code — the task classes of
``problem.py`` (its ``TASKS`` table) and the reference generator — only when asked. The task API
itself (:class:`~regimebench.problem.AbstractTask` and friends) is in :mod:`regimebench.problem`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._catalogue import load_module
from ._registry import did_you_mean
from .budget import tier_evals

__all__ = ["ProblemError", "Axis", "Thresholds", "TaskInfo", "ProblemSpec"]


class ProblemError(ValueError):
    """A problem folder or a request about problems is malformed (bad input, not a bug)."""


@dataclass(frozen=True)
class Axis:
    """A regime-map axis: the parameter it varies, its values, and the canonical one."""

    name: str
    values: tuple[Any, ...]
    canonical: Any
    description: str = ""


@dataclass(frozen=True)
class Thresholds:
    """Regime thresholds of one task (see ``docs/regimes.md``).

    ``train_loss`` is compared with the *normalised* training loss (the unweighted loss divided by
    its value at initialisation); ``test_error`` with rel. L2; ``target`` is the rel. L2 below which
    a seed counts as a success on the leaderboard.
    """

    train_loss: float
    test_error: float
    target: float


@dataclass(frozen=True)
class TaskInfo:
    """One ``[tasks.<name>]`` table of ``problem.toml``.

    ``budgets`` (tier → gradient-evaluation equivalents) overrides the problem's ``[budgets]`` for
    this task only; read budgets through :meth:`ProblemSpec.budget`.
    """

    name: str
    default_solver: str
    description: str
    thresholds: Thresholds
    sizes: Mapping[str, Mapping[str, int]]  # tier -> term -> count
    difficulty: Axis
    data: Axis
    budgets: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ProblemSpec:
    """A catalogue entry as declared in ``problem.toml``, plus its module."""

    name: str
    version: int
    title: str
    equation: str
    params: Mapping[str, Any]
    tasks: Mapping[str, TaskInfo]
    budgets: Mapping[str, int]
    folder: Path

    @property
    def module(self):
        """``problem.py`` of the entry (imported once)."""
        return load_module(self.folder / "problem.py", "problems")

    @property
    def reference_module(self):
        """``reference.py`` of the entry: the generator :func:`cached_reference` builds with."""
        return load_module(self.folder / "reference.py", "problems")

    def task_info(self, task: str | None) -> TaskInfo:
        if task is None:
            return next(iter(self.tasks.values()))
        if task not in self.tasks:
            raise ProblemError(
                f"Problem {self.name!r} has no task {task!r}; it has: {', '.join(self.tasks)}."
            )
        return self.tasks[task]

    def task_class(self, task: str) -> type:
        """The task class that ``problem.py`` lists for ``task`` in its ``TASKS`` table."""
        self.task_info(task)
        table = getattr(self.module, "TASKS", None)
        if not isinstance(table, Mapping):
            raise ProblemError(f"{self.folder / 'problem.py'}: no TASKS table "
                               "({task name: task class})")
        if task not in table:
            raise ProblemError(f"{self.folder / 'problem.py'}: TASKS has no entry for task "
                               f"{task!r} declared in problem.toml")
        return table[task]

    def budget(self, task: str | None, tier: str) -> int:
        """Gradient-evaluation equivalents of ``tier`` for ``task``: the task's ``budgets``, else
        the problem's ``[budgets]``, else the suite default (:mod:`regimebench.budget`)."""
        info = self.task_info(task)
        if info.budgets and tier in info.budgets:
            tier_evals(tier)  # an unknown tier still fails with its message
            return int(info.budgets[tier])
        return tier_evals(tier, self.budgets)

    def resolve_params(self, task: str, overrides: Mapping[str, Any] | None = None) -> dict:
        """Canonical parameters with ``overrides`` (e.g. a difficulty value) applied."""
        params = dict(self.params)
        for k, v in (overrides or {}).items():
            if k not in params:
                raise ProblemError(
                    f"Problem {self.name!r} has no parameter {k!r}."
                    + did_you_mean(k, list(params))
                )
            params[k] = v
        return params

    def sizes(self, task: str, tier: str, data: int | None = None) -> dict[str, int]:
        """Collocation/sample counts for ``tier``; ``data`` overrides the data-axis term."""
        info = self.task_info(task)
        table = info.sizes.get(tier) or info.sizes.get("default")
        if table is None:
            raise ProblemError(f"problem {self.name!r} declares no sizes for tier {tier!r}")
        sizes = dict(table)
        if data is not None:
            term = info.data.name
            if term not in sizes:
                raise ProblemError(f"data axis {term!r} is not a sampled term of {self.name!r}")
            sizes[term] = int(data)
        return sizes

    def reference(self, task: str, params: Mapping[str, Any]):
        """The cached reference of ``task`` at ``params`` (``problem.py``'s
        ``reference(params, task)``; one signature for every problem)."""
        self.task_info(task)
        return self.module.reference(dict(params), task)

    def cached_reference(self, params: Mapping[str, Any]):
        """:func:`~regimebench.reference.cached_reference` under this entry's name and version
        (read from ``problem.toml``), built by its ``reference.py``. ``params`` are the values
        that define the reference (its cache key)."""
        from .reference import cached_reference

        return cached_reference(self.name, self.version, params, self.reference_module)

    def make_task(self, task: str, params: Mapping[str, Any], sizes: Mapping[str, int]):
        """The task object for ``params`` (from :meth:`resolve_params`) and ``sizes``."""
        cls = self.task_class(task)
        return cls.build(dict(params), dict(sizes), self.reference(task, params))
