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
signature, so a typo fails before anything is compiled, with a one-line message::

    solvers/x/solver.toml: Unknown architecture 'mpl'. Did you mean 'mlp'?

An optional ``module.py`` beside the TOML is imported first; it may register new components.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._catalogue import load_module, solvers_dir
from ._registry import Registry, UnknownComponentError, did_you_mean
from .components import architectures, optimizers, samplers, weightings

__all__ = ["SolverSpec", "Component", "SolverSpecError", "load_solver", "list_solvers",
           "parse_solver"]

TOP_LEVEL_KEYS = {
    "name", "version", "authors", "citation", "description", "tasks", "problems", "dtype",
    "architecture", "phases", "weighting", "sampling", "honesty", "sweep",
}
HONESTY_KEYS = {"basis_aware_features", "uses_reference_data", "tuning_budget"}
TASKS = ("forward", "inverse", "operator")
DTYPES = ("float32", "float64")


class SolverSpecError(ValueError):
    """A solver entry is malformed. ``str()`` is the one-line message shown to users."""


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
    sweep: Mapping[str, tuple[Any, ...]]
    folder: Path | None = None

    def config(self) -> dict[str, Any]:
        """The training configuration: everything that changes numbers, nothing that doesn't."""
        return {
            "architecture": self.architecture.as_dict(),
            "phases": [p.as_dict() for p in self.phases],
            "weighting": self.weighting.as_dict(),
            "sampling": self.sampling.as_dict(),
            "dtype": self.dtype,
        }

    @property
    def config_hash(self) -> str:
        blob = json.dumps(self.config(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]

    def supports(self, problem: str, task: str) -> bool:
        in_problems = self.problems == "all" or problem in self.problems
        return in_problems and task in self.tasks


def _check_options(registry: Registry, kind: str, options: Mapping[str, Any], where: str) -> None:
    factory = registry.get(kind)
    sig = inspect.signature(factory)
    params = sig.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = [n for n, p in params.items()
               if p.kind is inspect.Parameter.KEYWORD_ONLY and n != "key"]
    for opt in options:
        if opt not in allowed:
            raise SolverSpecError(
                f"{where}: unknown option {opt!r} for {registry.kind} {kind!r}."
                + did_you_mean(opt, allowed)
            )


def _component(raw: Any, registry: Registry, where: str, reserved: tuple[str, ...] = ()) -> Component:
    if isinstance(raw, str):
        raw = {"kind": raw}
    if not isinstance(raw, Mapping) or "kind" not in raw:
        raise SolverSpecError(f"{where}: expected a table with a 'kind' key")
    kind = raw["kind"]
    if not isinstance(kind, str):
        raise SolverSpecError(f"{where}: 'kind' must be a string, got {type(kind).__name__}")
    options = {k: v for k, v in raw.items() if k != "kind"}
    _check_options(registry, kind, {k: v for k, v in options.items() if k not in reserved}, where)
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


def _parse(raw: Mapping[str, Any], where: str, folder: Path | None) -> SolverSpec:
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise SolverSpecError(
                f"{where}: unknown key {key!r}." + did_you_mean(key, sorted(TOP_LEVEL_KEYS))
            )
    for key in ("name", "version", "architecture", "phases"):
        if key not in raw:
            raise SolverSpecError(f"{where}: missing required key {key!r}")
    name = _expect(raw["name"], str, f"{where}: 'name'")
    version = _expect(raw["version"], int, f"{where}: 'version'")
    if version < 1:
        raise SolverSpecError(f"{where}: 'version' must be a positive integer")
    authors = tuple(_expect(raw.get("authors", []), list, f"{where}: 'authors'"))
    tasks = tuple(_expect(raw.get("tasks", ["forward"]), list, f"{where}: 'tasks'"))
    for t in tasks:
        if t not in TASKS:
            raise SolverSpecError(f"{where}: unknown task {t!r}." + did_you_mean(str(t), TASKS))
    problems = raw.get("problems", "all")
    if problems != "all":
        problems = tuple(_expect(problems, list, f"{where}: 'problems'"))
    dtype = _expect(raw.get("dtype", "float32"), str, f"{where}: 'dtype'")
    if dtype not in DTYPES:
        raise SolverSpecError(f"{where}: unknown dtype {dtype!r}." + did_you_mean(dtype, DTYPES))

    architecture = _component(raw["architecture"], architectures, f"{where} [architecture]")
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
        if not 0 < fraction <= 1:
            raise SolverSpecError(f"{loc}: 'fraction' must be in (0, 1], got {fraction}")
        phases.append(PhaseSpec(comp.kind, float(fraction), opts))
    total = sum(p.fraction for p in phases)
    if abs(total - 1.0) > 1e-9:
        raise SolverSpecError(f"{where}: phase fractions must add up to 1, they add up to {total:g}")
    weighting = _component(raw.get("weighting", {"kind": "fixed"}), weightings,
                           f"{where} [weighting]")
    sampling = _component(raw.get("sampling", {"kind": "fixed"}), samplers, f"{where} [sampling]")
    honesty = dict(_expect(raw.get("honesty", {}), dict, f"{where}: 'honesty'"))
    for key in honesty:
        if key not in HONESTY_KEYS:
            raise SolverSpecError(
                f"{where} [honesty]: unknown key {key!r}." + did_you_mean(key, sorted(HONESTY_KEYS))
            )
    honesty.setdefault("basis_aware_features", False)
    honesty.setdefault("uses_reference_data", False)
    sweep = {k: tuple(v) for k, v in _expect(raw.get("sweep", {}), dict, f"{where}: 'sweep'").items()}
    spec = SolverSpec(
        name=name, version=version, authors=authors,
        citation=str(raw.get("citation", "")), description=str(raw.get("description", "")),
        tasks=tasks, problems=problems, dtype=dtype, architecture=architecture,
        phases=tuple(phases), weighting=weighting, sampling=sampling, honesty=honesty,
        sweep=sweep, folder=folder,
    )
    _build_check(spec, where)
    return spec


def _build_check(spec: SolverSpec, where: str) -> None:
    """Instantiate the non-network components once, so bad option *values* fail here too."""
    for label, registry, comp in (
        ("weighting", weightings, spec.weighting),
        ("sampling", samplers, spec.sampling),
        *(("phase", optimizers, Component(p.kind, p.options)) for p in spec.phases),
    ):
        try:
            registry.get(comp.kind)(**comp.options)
        except (TypeError, ValueError) as e:
            raise SolverSpecError(f"{where} [{label}]: {e}") from None


def list_solvers() -> list[str]:
    """Names of the solver entries (folders with a ``solver.toml``; ``_template`` excluded)."""
    root = solvers_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if (p / "solver.toml").is_file() and not p.name.startswith("_"))


def load_solver_file(path: Path) -> SolverSpec:
    """Load and validate ``path`` (a ``solver.toml`` or the folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "solver.toml"
    if not path.is_file():
        raise SolverSpecError(f"{path}: no such solver entry file")
    module = path.parent / "module.py"
    if module.is_file():
        load_module(module, "solvers")  # may register components used below
    try:
        raw = tomllib.loads(path.read_text())
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


def load_solver(name: str) -> SolverSpec:
    """The entry ``solvers/<name>/``; an unknown name fails with the closest known names."""
    folder = solvers_dir() / name
    if not (folder / "solver.toml").is_file():
        raise UnknownComponentError(f"Unknown solver {name!r}." + did_you_mean(name, list_solvers()))
    return load_solver_file(folder)
