"""Solver entries: ``solvers/<name>/solver.toml``, validated into a :class:`SolverSpec`.

An entry is data. Example (``solvers/pinn-mlp-adam-lbfgs/solver.toml``)::

    name = "pinn-mlp-adam-lbfgs"
    version = 1
    authors = ["regimebench developers"]
    citation = "Raissi, Perdikaris & Karniadakis (2019), J. Comput. Phys. 378, 686-707"
    description = "Tanh MLP, Adam then L-BFGS"
    tasks = ["forward", "inverse"]
    problems = "all"
    dtype = "float64"

    [architecture]
    kind = "mlp"
    width = 64
    depth = 4

    [[phases]]
    kind = "adam"
    fraction = 0.5
    lr = 1e-3

    [[phases]]
    kind = "lbfgs"
    fraction = 0.5

    [weighting]
    kind = "fixed"

    [sampling]
    kind = "fixed"

    [honesty]
    basis_aware_features = false
    uses_reference_data = false
    tuning_budget = "none: literature defaults"

Every ``kind`` is looked up in its registry and every option is checked against the component's
signature — its name, its type (the factory's annotation, else its default's type), a finite value
— and then by the component itself (architectures declare ``check_options``, which checks sizes,
activation and embedding names and ranges without building a network; weightings, samplers and
optimizer phases are built once). So a typo or a bad value fails before anything is compiled,
with a one-line message::

    solvers/x/solver.toml: Unknown architecture 'mpl'. Did you mean 'mlp'?
    solvers/x/solver.toml [architecture]: option 'width' of architecture 'mlp' must be an
        integer, got a string ('64')
    solvers/x/solver.toml: unknown problem 'helmholz' in 'problems'. Did you mean 'helmholtz'?

**Entries that carry code.** An entry may add a ``module.py`` beside the TOML that registers new
components. Code in a pull request is not data: an entry folder holding any Python file
(:func:`code_files`) is *never imported* unless it is trusted explicitly — ``trust_code=True``,
``--trust-code`` on the command line, or ``REGIMEBENCH_TRUST_CODE=1`` in the environment.
Untrusted, loading it raises :class:`EntryNeedsReview` ("carries code: needs review"), so
``bench list``, ``bench validate --no-smoke``, the planner and the leaderboard site never run a
contributor's code; a maintainer reads it, then runs it (CONTRIBUTING.md, "What CI checks").
"""

from __future__ import annotations

import collections.abc
import hashlib
import inspect
import json
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from ._catalogue import load_module, solvers_dir
from ._registry import Registry, UnknownComponentError, did_you_mean
from .components import architectures, optimizers, samplers, weightings
from .loss_forms import loss_forms
from .task_wiring import TASK_WIRED_OPTIONS, check_task_wired_options

__all__ = ["SolverSpec", "Component", "SolverSpecError", "EntryNeedsReview", "load_solver",
           "list_solvers", "parse_solver", "code_files", "code_trusted", "TRUST_CODE_ENV"]

TOP_LEVEL_KEYS = {
    "name", "version", "authors", "citation", "description", "tasks", "problems", "dtype",
    "architecture", "phases", "weighting", "sampling", "loss", "honesty",
}
# Set to 1 to import the code of entries that carry some (see the module docstring).
TRUST_CODE_ENV = "REGIMEBENCH_TRUST_CODE"
# What counts as code in an entry folder: Python sources, compiled modules and .pth files.
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".pyx", ".so", ".pth")
# An entry's name becomes a folder of every record path: no separators, no "..".
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
_MAX_TOML_BYTES = 1 << 20
HONESTY_KEYS = {"basis_aware_features", "uses_reference_data", "tuning_budget"}
# [architecture] options the engine applies around any network (not the architecture's own):
# ``hard_constraint = true`` wraps it in the task's declared hard constraint
# (regimebench.components.hard_constraints).
MODEL_WRAPPER_OPTIONS = ("hard_constraint",)
TASKS = ("forward", "inverse", "operator")
DEFAULT_LOSS = "strong"
DTYPES = ("float32", "float64")


class SolverSpecError(ValueError):
    """A solver entry is malformed. ``str()`` is the one-line message shown to users."""


class EntryNeedsReview(SolverSpecError):
    """An entry that carries code was not imported: it needs a maintainer's review first.

    ``files`` are its code files (:func:`code_files`); trust it explicitly to import it.
    """

    def __init__(self, folder: Path, files: list[Path]):
        names = ", ".join(str(f.relative_to(folder)) for f in files[:3])
        more = f" and {len(files) - 3} more" if len(files) > 3 else ""
        super().__init__(f"{folder}: carries code ({names}{more}): needs review; it is "
                         "imported only when trusted (--trust-code, or "
                         f"{TRUST_CODE_ENV}=1)")
        self.folder, self.files = folder, files

    def __reduce__(self):
        return (type(self), (self.folder, self.files))


def code_files(folder: Path) -> list[Path]:
    """The files of an entry folder that are code (:data:`CODE_SUFFIXES`), links included, in
    every subfolder (links to folders are not followed)."""
    out = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        out += [Path(root, f) for f in files + dirs if f.endswith(CODE_SUFFIXES)]
    return sorted(out)


def code_trusted(trust_code: bool | None = None) -> bool:
    """Whether code of entries may be imported: ``trust_code`` if given, else the environment
    (``REGIMEBENCH_TRUST_CODE=1``)."""
    if trust_code is not None:
        return bool(trust_code)
    return os.environ.get(TRUST_CODE_ENV, "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Component:
    """A registry key plus its options, e.g. ``Component("mlp", {"width": 64})``."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dict(self.options)}


@dataclass(frozen=True)
class PhaseSpec:
    kind: str
    fraction: float
    options: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "fraction": self.fraction, **dict(self.options)}


@dataclass(frozen=True)
class SolverSpec:
    """A validated solver entry. ``config_hash`` identifies what is trained (not who wrote it)."""

    name: str
    version: int
    authors: tuple[str, ...]
    citation: str
    description: str
    tasks: tuple[str, ...]
    problems: tuple[str, ...] | str
    dtype: str
    architecture: Component
    phases: tuple[PhaseSpec, ...]
    weighting: Component
    sampling: Component
    honesty: Mapping[str, Any]
    folder: Path | None = None
    loss: Component = field(default_factory=lambda: Component(DEFAULT_LOSS))

    def config(self) -> dict[str, Any]:
        """The training configuration: everything that changes numbers, nothing that doesn't.

        The loss form appears only when it is not the default strong form, so entries written
        before loss forms existed keep their configuration hash."""
        out = {
            "architecture": self.architecture.as_dict(),
            "phases": [p.as_dict() for p in self.phases],
            "weighting": self.weighting.as_dict(),
            "sampling": self.sampling.as_dict(),
            "dtype": self.dtype,
        }
        if self.loss.as_dict() != {"kind": DEFAULT_LOSS}:
            out["loss"] = self.loss.as_dict()
        return out

    @property
    def config_hash(self) -> str:
        blob = json.dumps(self.config(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]

    def supports(self, problem: str, task: str) -> bool:
        in_problems = self.problems == "all" or problem in self.problems
        return in_problems and task in self.tasks


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)


def _describe_type(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(dict.fromkeys(_describe_type(a) for a in args))
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    if origin in (list, tuple, collections.abc.Sequence):
        return "a list"
    if origin in (dict, collections.abc.Mapping) or tp in (dict, Mapping):
        return "a table"
    return {type(None): "absent", bool: "a boolean", int: "an integer", float: "a number",
            str: "a string", list: "a list", tuple: "a list"}.get(tp, getattr(tp, "__name__",
                                                                            str(tp)))


def _conforms(value: Any, tp: Any) -> bool:
    """Whether a TOML value fits a factory's annotation (unknown annotations accept anything)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any or tp is None:
        return True
    if origin in (Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if origin in (list, tuple, collections.abc.Sequence) or tp in (list, tuple):
        return isinstance(value, (list, tuple)) and (
            not args or all(_conforms(v, args[0]) for v in value))
    if origin in (dict, collections.abc.Mapping) or tp in (dict, Mapping):
        return isinstance(value, Mapping) and (
            len(args) != 2 or all(_conforms(v, args[1]) for v in value.values()))
    return True  # a class the TOML cannot express (an array, a callable): the factory checks it


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Mapping):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_non_finite(v) for v in value)
    return False


def _option_types(factory: Any) -> dict[str, Any]:
    """The declared type of every option of a factory: its annotation, else its default's type."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # no signature to read (a builtin): the factory checks
        return {}
    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # noqa: BLE001 - one annotation cannot be evaluated: try them one by one
        hints = {}
        space = getattr(inspect.unwrap(factory), "__globals__", {})
        for name, p in params.items():
            try:
                ann = p.annotation
                hints[name] = eval(ann, space) if isinstance(ann, str) else ann  # noqa: S307
            except Exception:  # noqa: BLE001 - this one stays undeclared
                pass
    out = {}
    for name, p in params.items():
        if name in hints and hints[name] is not inspect.Parameter.empty:
            out[name] = hints[name]
        elif p.default is not inspect.Parameter.empty and p.default is not None:
            out[name] = float if type(p.default) is float else type(p.default)
    return out


def _check_options(registry: Registry, kind: str, options: Mapping[str, Any], where: str) -> None:
    """Names (against the factory's signature), types (its annotations) and finiteness of the
    options an entry gives a component; the component's own range checks come after."""
    factory = registry.get(kind)
    sig = inspect.signature(factory)
    params = sig.parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        allowed = [n for n, p in params.items()
                   if p.kind is inspect.Parameter.KEYWORD_ONLY and n != "key"]
        for opt in options:
            if opt not in allowed:
                raise SolverSpecError(
                    f"{where}: unknown option {opt!r} for {registry.kind} {kind!r}."
                    + did_you_mean(opt, allowed)
                )
    declared = _option_types(factory)
    for opt, value in options.items():
        if _non_finite(value):
            raise SolverSpecError(f"{where}: option {opt!r} of {registry.kind} {kind!r} must be "
                                  f"finite, got {value!r}")
        if opt in declared and not _conforms(value, declared[opt]):
            raise SolverSpecError(
                f"{where}: option {opt!r} of {registry.kind} {kind!r} must be "
                f"{_describe_type(declared[opt])}, got {_type_name(value)} ({value!r})")


def _component(raw: Any, registry: Registry, where: str, reserved: tuple[str, ...] = ()) -> Component:
    if isinstance(raw, str):
        raw = {"kind": raw}
    if not isinstance(raw, Mapping) or "kind" not in raw:
        raise SolverSpecError(f"{where}: expected a table with a 'kind' key")
    kind = raw["kind"]
    if not isinstance(kind, str):
        raise SolverSpecError(f"{where}: 'kind' must be a string, got {type(kind).__name__}")
    options = {k: v for k, v in raw.items() if k != "kind"}
    try:
        _check_options(registry, kind, {k: v for k, v in options.items() if k not in reserved},
                       where)
    except UnknownComponentError as e:
        raise SolverSpecError(f"{where}: {e}") from None
    return Component(kind, options)


def _expect(value: Any, types: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise SolverSpecError(f"{where}: expected {_tname(types)}, got a boolean")
    if not isinstance(value, types):
        raise SolverSpecError(f"{where}: expected {_tname(types)}, got {type(value).__name__}")
    return value


def _tname(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


def parse_solver(raw: Mapping[str, Any], *, where: str = "solver.toml",
                 folder: Path | None = None) -> SolverSpec:
    """Validate a parsed ``solver.toml`` table. Raises :class:`SolverSpecError` on any problem."""
    try:
        return _parse(raw, where, folder)
    except UnknownComponentError as e:
        raise SolverSpecError(f"{where}: {e}") from None


def _check_problem_names(problems: tuple[Any, ...], where: str) -> None:
    from .problem import list_problems

    known = list_problems()
    for p in problems:
        _expect(p, str, f"{where}: 'problems' item")
        if known and p not in known:
            raise SolverSpecError(f"{where}: unknown problem {p!r} in 'problems'."
                                  + did_you_mean(p, known))


def _parse(raw: Mapping[str, Any], where: str, folder: Path | None) -> SolverSpec:
    if not isinstance(raw, Mapping):
        raise SolverSpecError(f"{where}: expected a table of keys, got {_type_name(raw)}")
    if "sweep" in raw:
        raise SolverSpecError(
            f"{where}: a [sweep] table is not supported (an entry is one configuration); train a "
            "regime map with `bench sweep --difficulty V1,V2 --data N1,N2`, or make one entry "
            "per configuration")
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise SolverSpecError(
                f"{where}: unknown key {key!r}." + did_you_mean(key, sorted(TOP_LEVEL_KEYS))
            )
    for key in ("name", "version", "architecture", "phases"):
        if key not in raw:
            raise SolverSpecError(f"{where}: missing required key {key!r}")
    name = _expect(raw["name"], str, f"{where}: 'name'")
    if not _NAME.fullmatch(name):
        raise SolverSpecError(f"{where}: 'name' {name!r} must be letters, digits, '.', '_' and "
                              "'-' (it names a folder of every record), at most 100 characters")
    version = _expect(raw["version"], int, f"{where}: 'version'")
    if version < 1:
        raise SolverSpecError(f"{where}: 'version' must be a positive integer")
    authors = tuple(_expect(raw.get("authors", []), list, f"{where}: 'authors'"))
    for a in authors:
        _expect(a, str, f"{where}: 'authors' item")
    tasks = tuple(_expect(raw.get("tasks", ["forward"]), list, f"{where}: 'tasks'"))
    for t in tasks:
        _expect(t, str, f"{where}: 'tasks' item")
        if t not in TASKS:
            raise SolverSpecError(f"{where}: unknown task {t!r}." + did_you_mean(str(t), TASKS))
    problems = raw.get("problems", "all")
    if problems != "all":
        problems = tuple(_expect(problems, list, f"{where}: 'problems'"))
        _check_problem_names(problems, where)
    dtype = _expect(raw.get("dtype", "float32"), str, f"{where}: 'dtype'")
    if dtype not in DTYPES:
        raise SolverSpecError(f"{where}: unknown dtype {dtype!r}." + did_you_mean(dtype, DTYPES))
    citation = _expect(raw.get("citation", ""), str, f"{where}: 'citation'")
    description = _expect(raw.get("description", ""), str, f"{where}: 'description'")

    architecture = _component(raw["architecture"], architectures, f"{where} [architecture]",
                              reserved=MODEL_WRAPPER_OPTIONS + TASK_WIRED_OPTIONS)
    _expect(architecture.options.get("hard_constraint", False), bool,
            f"{where} [architecture]: 'hard_constraint'")
    phases_raw = _expect(raw["phases"], list, f"{where}: 'phases'")
    if not phases_raw:
        raise SolverSpecError(f"{where}: 'phases' must list at least one optimizer phase")
    phases = []
    for i, p in enumerate(phases_raw):
        loc = f"{where} [[phases]] #{i + 1}"
        comp = _component(p, optimizers, loc, reserved=("fraction",))
        opts = dict(comp.options)
        fraction = opts.pop("fraction", 1.0 if len(phases_raw) == 1 else None)
        if fraction is None:
            raise SolverSpecError(f"{loc}: 'fraction' of the budget is required with several phases")
        _expect(fraction, (int, float), f"{loc}: 'fraction'")
        if not 0 < fraction <= 1:  # NaN fails this too
            raise SolverSpecError(f"{loc}: 'fraction' must be in (0, 1], got {fraction}")
        phases.append(PhaseSpec(comp.kind, float(fraction), opts))
    total = sum(p.fraction for p in phases)
    if abs(total - 1.0) > 1e-9:
        raise SolverSpecError(f"{where}: phase fractions must add up to 1, they add up to {total:g}")
    weighting = _component(raw.get("weighting", {"kind": "fixed"}), weightings,
                           f"{where} [weighting]")
    sampling = _component(raw.get("sampling", {"kind": "fixed"}), samplers, f"{where} [sampling]")
    loss = _component(raw.get("loss", {"kind": DEFAULT_LOSS}), loss_forms, f"{where} [loss]")
    honesty = dict(_expect(raw.get("honesty", {}), dict, f"{where}: 'honesty'"))
    for key in honesty:
        if key not in HONESTY_KEYS:
            raise SolverSpecError(
                f"{where} [honesty]: unknown key {key!r}." + did_you_mean(key, sorted(HONESTY_KEYS))
            )
    for key in ("basis_aware_features", "uses_reference_data"):
        _expect(honesty.setdefault(key, False), bool, f"{where} [honesty]: {key!r}")
    if "tuning_budget" in honesty:
        _expect(honesty["tuning_budget"], str, f"{where} [honesty]: 'tuning_budget'")
    spec = SolverSpec(
        name=name, version=version, authors=authors, citation=citation,
        description=description, tasks=tasks, problems=problems, dtype=dtype,
        architecture=architecture, phases=tuple(phases), weighting=weighting, sampling=sampling,
        honesty=honesty, folder=folder, loss=loss,
    )
    _build_check(spec, where)
    return spec


def _build_check(spec: SolverSpec, where: str) -> None:
    """The components' own value checks: an architecture's ``check_options`` (it cannot be built
    without a task), and one instance of every other component, so bad option *values* fail here
    too."""
    arch = architectures.get(spec.architecture.kind)
    check = getattr(arch, "check_options", None)
    engine_options = MODEL_WRAPPER_OPTIONS + TASK_WIRED_OPTIONS
    arch_options = {k: v for k, v in spec.architecture.options.items()
                    if k not in engine_options}
    checks = [("[architecture]", check, arch_options)] if check is not None else []
    checks += [("[architecture]", lambda **o: check_task_wired_options(spec.architecture.kind, o),
                spec.architecture.options)]
    checks += [("[weighting]", weightings.get(spec.weighting.kind), spec.weighting.options),
               ("[sampling]", samplers.get(spec.sampling.kind), spec.sampling.options),
               ("[loss]", loss_forms.get(spec.loss.kind), spec.loss.options)]
    checks += [(f"[[phases]] #{i + 1}", optimizers.get(p.kind), p.options)
               for i, p in enumerate(spec.phases)]
    for label, factory, options in checks:
        try:
            factory(**options)
        except (TypeError, ValueError, KeyError, ArithmeticError) as e:
            text = str(e) if not isinstance(e, KeyError) or isinstance(
                e, UnknownComponentError) else f"missing {e}"
            raise SolverSpecError(f"{where} {label}: {text}") from None
    form = loss_forms.get(spec.loss.kind)
    for i, p in enumerate(spec.phases):
        phase = optimizers.get(p.kind)(**p.options)
        if phase.needs_least_squares and not form(**spec.loss.options).least_squares:
            raise SolverSpecError(f"{where} [[phases]] #{i + 1}: phase {p.kind!r} linearises the "
                                  f"residuals and needs a least-squares loss form; [loss] kind "
                                  f"{spec.loss.kind!r} is not one")


def list_solvers() -> list[str]:
    """Names of the solver entries (folders with a ``solver.toml``; ``_template`` excluded)."""
    root = solvers_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if (p / "solver.toml").is_file() and not p.name.startswith("_"))


def _import_entry_module(module: Path) -> None:
    try:
        load_module(module, "solvers")  # may register components used by the TOML
    except (Exception, SystemExit) as e:  # noqa: BLE001 - one broken entry is one message
        detail = str(e).splitlines()[0] if str(e) else ""
        raise SolverSpecError(f"{module}: cannot import it ({type(e).__name__}"
                              + (f": {detail}" if detail else "") + ")") from None


def load_solver_file(path: Path, *, trust_code: bool | None = None) -> SolverSpec:
    """Load and validate ``path`` (a ``solver.toml`` or the folder holding one).

    An entry folder holding code (:func:`code_files`) is imported only when trusted
    (:func:`code_trusted`: ``trust_code``, else ``REGIMEBENCH_TRUST_CODE``); untrusted, this
    raises :class:`EntryNeedsReview` and nothing of the folder is executed. Trusted, its
    ``module.py`` is imported first (it may register components the TOML uses).
    """
    from .safe_io import UnsafeFile, read_regular

    path = Path(path)
    if path.is_dir():
        path = path / "solver.toml"
    if not path.is_file():
        raise SolverSpecError(f"{path}: no such solver entry file")
    code = code_files(path.parent)
    if code:
        if not code_trusted(trust_code):
            raise EntryNeedsReview(path.parent, code)
        module = path.parent / "module.py"
        if module.is_file():
            _import_entry_module(module)
    try:
        raw = tomllib.loads(read_regular(path, _MAX_TOML_BYTES).decode("utf-8"))
    except UnsafeFile as e:
        raise SolverSpecError(str(e)) from None
    except tomllib.TOMLDecodeError as e:
        raise SolverSpecError(f"{path}: malformed TOML ({e})") from None
    except UnicodeDecodeError:
        raise SolverSpecError(f"{path}: not a UTF-8 text file") from None
    spec = parse_solver(raw, where=str(path), folder=path.parent)
    if spec.name != path.parent.name and path.parent.name != "_template":
        raise SolverSpecError(
            f"{path}: 'name' is {spec.name!r} but the folder is {path.parent.name!r}; they must match"
        )
    return spec


def load_solver(name: str, *, trust_code: bool | None = None) -> SolverSpec:
    """The entry ``solvers/<name>/``; an unknown name fails with the closest known names.

    Entries that carry code need ``trust_code`` (see :func:`load_solver_file`)."""
    folder = solvers_dir() / name
    if not _NAME.fullmatch(name) or not (folder / "solver.toml").is_file():
        raise UnknownComponentError(f"Unknown solver {name!r}." + did_you_mean(name, list_solvers()))
    return load_solver_file(folder, trust_code=trust_code)
