"""Find the catalogue (``problems/``) and the solver entries (``solvers/``) on disk.

Both folders are content, not code of the engine: they are discovered by path. In a repository
checkout they are the top-level folders; in an installed wheel they ship inside the package as
``regimebench/_catalogue_data/`` (hatch ``force-include``). ``REGIMEBENCH_ROOT`` overrides both,
which is how a pull request's CI points the engine at its own checkout.

Modules inside a catalogue folder (``problems/<name>/problem.py``, ``reference.py``,
``solvers/<name>/module.py``) are imported by path with :func:`load_module`, under stable synthetic
module names so that pickling (executors) and repeated imports work.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["catalogue_root", "problems_dir", "solvers_dir", "load_module", "load_problem_module"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def catalogue_root() -> Path:
    """The folder holding ``problems/`` and ``solvers/``.

    Order: ``$REGIMEBENCH_ROOT``; the repository checkout this package was imported from;
    the copy shipped inside the wheel.
    """
    env = os.environ.get("REGIMEBENCH_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    checkout = _PACKAGE_DIR.parents[1]  # src/regimebench -> repo root
    if (checkout / "problems").is_dir() and (checkout / "solvers").is_dir():
        return checkout
    return _PACKAGE_DIR / "_catalogue_data"


def problems_dir() -> Path:
    return catalogue_root() / "problems"


def solvers_dir() -> Path:
    return catalogue_root() / "solvers"


def _module_name(kind: str, folder: str, stem: str) -> str:
    safe = folder.replace("-", "_").replace(".", "_")
    return f"regimebench._catalogue_modules.{kind}.{safe}.{stem}"


def load_module(path: Path, kind: str) -> ModuleType:
    """Import ``path`` (a ``.py`` file in a catalogue folder) once and return the module.

    ``kind`` is ``"problems"`` or ``"solvers"``; the module name is derived from the folder and
    file name, so the same file is imported only once per process.
    """
    path = Path(path).resolve()
    name = _module_name(kind, path.parent.name, path.stem)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for non-.py paths
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_problem_module(problem: str, stem: str) -> ModuleType:
    """Import ``problems/<problem>/<stem>.py``, e.g. ``load_problem_module("burgers", "reference")``."""
    path = problems_dir() / problem / f"{stem}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no file {stem}.py in problem folder {problems_dir() / problem}")
    return load_module(path, "problems")
