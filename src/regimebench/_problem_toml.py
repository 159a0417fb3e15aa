"""``problem.toml``, parsed strictly into a :class:`~regimebench.problem_spec.ProblemSpec`, and the
catalogue of entries (:func:`list_problems`, :func:`load_problem`).

Every table is checked against the keys it may hold: an unknown key fails with the closest known
one (``unknown key 'colour' ... Did you mean ...``), a missing key or a value of the wrong kind
with a one-line message naming the file and the table (``problems/x/problem.toml
[tasks.forward.data]: missing key 'name'``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._catalogue import problems_dir
from ._registry import UnknownComponentError, did_you_mean
from .budget import TIERS
from .problem_spec import Axis, ProblemError, ProblemSpec, TaskInfo, Thresholds

__all__ = ["parse_problem_toml", "list_problems", "problem_spec", "load_problem"]

_TOP_KEYS = ("name", "version", "title", "equation", "params", "budgets", "tasks")
_TASK_KEYS = ("default_solver", "description", "thresholds", "difficulty", "data", "sizes",
              "budgets")
_THRESHOLD_KEYS = ("train_loss", "test_error", "target")
_AXIS_KEYS = ("name", "values", "canonical", "description")


class _Where:
    """Where in ``problem.toml`` a value sits, for messages: ``path [tasks.forward.data]``."""

    def __init__(self, path: Path, table: str = ""):
        self.path, self.table = path, table

    def __call__(self, sub: str) -> _Where:
        return _Where(self.path, f"{self.table}.{sub}" if self.table else sub)

    def __str__(self) -> str:
        return f"{self.path} [{self.table}]" if self.table else str(self.path)


def _table(raw: Any, where: _Where, allowed: Sequence[str], required: Sequence[str] = ()) -> dict:
    if not isinstance(raw, Mapping):
        raise ProblemError(f"{where}: expected a table, got {type(raw).__name__}")
    for key in raw:
        if key not in allowed:
            raise ProblemError(f"{where}: unknown key {key!r}." + did_you_mean(key, list(allowed)))
    for key in required:
        if key not in raw:
            raise ProblemError(f"{where}: missing key {key!r}")
    return dict(raw)


def _number(value: Any, where: str, kind=float):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProblemError(f"{where}: expected a number, got {value!r}")
    if kind is int and (int(value) != value or value < 0):
        raise ProblemError(f"{where}: expected a non-negative integer, got {value!r}")
    return kind(value)


def _tier_table(raw: Any, where: _Where, value_kind, extra: Sequence[str] = ()) -> dict:
    tiers = tuple(TIERS) + tuple(extra)
    table = _table(raw, where, tiers)
    return {k: value_kind(v, where(k)) for k, v in table.items()}


def _axis(raw: Any, where: _Where) -> Axis:
    t = _table(raw, where, _AXIS_KEYS, required=("name", "values", "canonical"))
    if not isinstance(t["values"], list) or not t["values"]:
        raise ProblemError(f"{where}: 'values' must be a non-empty list")
    return Axis(name=str(t["name"]), values=tuple(t["values"]), canonical=t["canonical"],
                description=str(t.get("description", "")))


def _sizes(raw: Any, where: _Where) -> dict[str, dict[str, int]]:
    def counts(v, w):
        if not isinstance(v, Mapping):
            raise ProblemError(f"{w}: expected a table of counts per term, e.g. {{ pde = 512 }}")
        return {str(term): _number(n, f"{w} {term!r}", int) for term, n in v.items()}

    return _tier_table(raw, where, counts, extra=("default",))


def _budgets(raw: Any, where: _Where) -> dict[str, int]:
    return _tier_table(raw, where, lambda v, w: _number(v, str(w), int))


def _parse_task(name: str, raw: Any, where: _Where) -> TaskInfo:
    t = _table(raw, where, _TASK_KEYS,
               required=("default_solver", "thresholds", "difficulty", "data", "sizes"))
    th = _table(t["thresholds"], where("thresholds"), _THRESHOLD_KEYS, required=_THRESHOLD_KEYS)
    return TaskInfo(
        name=name,
        default_solver=str(t["default_solver"]),
        description=str(t.get("description", "")),
        thresholds=Thresholds(*(_number(th[k], f"{where('thresholds')} {k!r}")
                                for k in _THRESHOLD_KEYS)),
        sizes=_sizes(t["sizes"], where("sizes")),
        difficulty=_axis(t["difficulty"], where("difficulty")),
        data=_axis(t["data"], where("data")),
        budgets=_budgets(t.get("budgets", {}), where("budgets")),
    )


def parse_problem_toml(folder: Path) -> ProblemSpec:
    """Parse and check ``folder/problem.toml``; :class:`ProblemError` (one line) on any problem:
    malformed TOML, an unknown key (with the closest known ones), a missing key, a bad value."""
    path = folder / "problem.toml"
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ProblemError(f"{path}: malformed TOML ({e})") from None
    where = _Where(path)
    top = _table(raw, where, _TOP_KEYS, required=("name", "version", "tasks"))
    version = top["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ProblemError(f"{path}: 'version' must be a positive integer, got {version!r}")
    tasks_raw = top["tasks"]
    if not isinstance(tasks_raw, Mapping) or not tasks_raw:
        raise ProblemError(f"{path}: [tasks] must declare at least one task, e.g. [tasks.forward]")
    tasks = {str(n): _parse_task(str(n), t, where(f"tasks.{n}")) for n, t in tasks_raw.items()}
    params = top.get("params", {})
    if not isinstance(params, Mapping):
        raise ProblemError(f"{path}: [params] must be a table")
    return ProblemSpec(
        name=str(top["name"]),
        version=version,
        title=str(top.get("title", top["name"])),
        equation=str(top.get("equation", "")),
        params=dict(params),
        tasks=tasks,
        budgets=_budgets(top.get("budgets", {}), where("budgets")),
        folder=folder,
    )


# ---------------------------------------------------------------------------------------------
# The catalogue: every entry's problem.toml, parsed once per process.

_SPECS: dict[Path, ProblemSpec] = {}


def list_problems() -> list[str]:
    """Names of the catalogue's problems (folders with a ``problem.toml``; ``_template`` and other
    names starting with ``_`` excluded), sorted."""
    root = problems_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if (p / "problem.toml").is_file() and not p.name.startswith("_"))


def problem_spec(folder: Path | str) -> ProblemSpec:
    """The :class:`ProblemSpec` of the entry in ``folder`` (or of the folder holding the file
    ``folder``, so ``problem.py`` can write ``SPEC = problem_spec(__file__)``)."""
    folder = Path(folder).resolve()
    if folder.is_file():
        folder = folder.parent
    if folder not in _SPECS:
        _SPECS[folder] = parse_problem_toml(folder)
    return _SPECS[folder]


def load_problem(name: str) -> ProblemSpec:
    """The :class:`ProblemSpec` of catalogue entry ``name``; an unknown name fails helpfully."""
    folder = problems_dir() / name
    if not (folder / "problem.toml").is_file():
        raise UnknownComponentError(
            f"Unknown problem {name!r}." + did_you_mean(name, list_problems())
        )
    return problem_spec(folder)

