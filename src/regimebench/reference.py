"""Reference solutions: the contract every ``problems/<name>/reference.py`` fulfils, and the cache.

A problem's reference generator is a module with

* ``GENERATOR_VERSION: int`` — bump it whenever the numbers it produces could change;
* ``build(params: Mapping[str, float]) -> ReferenceSolution`` — compute the reference in float64,
  with numpy/scipy/JAX, and *measure* its own error floor (self-convergence, Richardson, or an
  analytic comparison), never assume it.

:func:`cached_reference` calls ``build`` at most once per (problem, version, parameters,
generator version) and per machine: the arrays are stored as ``.npz`` under the per-user cache
directory (``$REGIMEBENCH_CACHE``, else ``$XDG_CACHE_HOME/regimebench``, else
``~/.cache/regimebench``), written atomically, together with a small JSON sidecar holding the
sha256 of the file, the measured error floor, the method and the build time. A corrupt entry is
reported and rebuilt (:func:`cached_reference`). Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .safe_io import FileProblem, UnsafeFile, atomic_write, read_regular

__all__ = ["ReferenceSolution", "CachedReference", "cache_dir", "cache_key", "cached_reference"]


@dataclass(frozen=True)
class ReferenceSolution:
    """What a reference generator returns.

    Arguments:
        arrays: named float64 arrays (evaluation coordinates and solution fields; for operator
            tasks, datasets). Names are the problem's own business.
        error_floor: the measured relative L2 error of the reference on its evaluation grid
            (e.g. from a self-convergence study); ``0.0`` for analytic solutions evaluated in float64.
        method: one line naming the numerical method and resolution.
        info: any further scalars worth recording (oracle values, convergence table).
    """

    arrays: dict[str, np.ndarray]
    error_floor: float
    method: str
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CachedReference:
    """A :class:`ReferenceSolution` loaded from (or just written to) the cache."""

    solution: ReferenceSolution
    key: str
    sha256: str
    build_seconds: float
    path: Path | None
    from_cache: bool = False  # loaded from an existing cache entry (not built by this call)

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        return self.solution.arrays

    def provenance(self) -> dict[str, Any]:
        """The fields every run record carries about its reference."""
        return {
            "key": self.key,
            "sha256": self.sha256,
            "error_floor": self.solution.error_floor,
            "method": self.solution.method,
            "build_seconds": self.build_seconds,
        }


def cache_dir() -> Path:
    env = os.environ.get("REGIMEBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "regimebench"


def _canonical(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(obj.items())}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj)
    if isinstance(obj, (np.integer, int)) and not isinstance(obj, bool):
        return int(obj)
    return obj


def cache_key(problem: str, version: int, params: Mapping[str, Any], generator_version: int) -> str:
    """Content key of a reference: sha256 of the canonical JSON of its defining inputs."""
    blob = json.dumps(
        {"problem": problem, "version": version, "params": _canonical(params),
         "generator_version": generator_version},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _sha256(path: Path) -> str:
    # Only a regular file is hashed: a FIFO or a device in the cache must not block or stream.
    if not path.is_file() or path.is_symlink():
        raise UnsafeFile(f"{path}: not a regular file", FileProblem.NOT_REGULAR)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write_bytes(path: Path, writer) -> None:
    atomic_write(path, writer)  # also refuses a FIFO or a device in the entry's place


# A sidecar is a few hundred bytes; the info table of a convergence study a few kB.
_MAX_SIDECAR_BYTES = 1 << 20


def _read_sidecar(meta_path: Path, npz_path: Path) -> dict[str, Any]:
    """The sidecar of a cache entry, checked field by field; ``ValueError`` says what is wrong."""
    meta = json.loads(read_regular(meta_path, _MAX_SIDECAR_BYTES).decode("utf-8"))
    if not isinstance(meta, dict):
        raise ValueError("the sidecar is not a JSON object")
    for name, kind in (("sha256", str), ("method", str), ("error_floor", (int, float)),
                       ("build_seconds", (int, float))):
        value = meta.get(name)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ValueError(f"the sidecar's {name!r} is missing or of the wrong type")
    if not (math.isfinite(meta["error_floor"]) and meta["error_floor"] >= 0):
        raise ValueError(f"the sidecar's error floor {meta['error_floor']!r} is not a number ≥ 0")
    if not isinstance(meta.get("info", {}), dict):
        raise ValueError("the sidecar's 'info' is not a table")
    if meta["sha256"] != _sha256(npz_path):
        raise ValueError("the arrays do not match the sidecar's sha256")
    return meta


def _load_entry(key: str, npz_path: Path, meta_path: Path) -> CachedReference | None:
    """The cached entry, ``None`` when there is none, or a warning and ``None`` when it is
    corrupt (the caller rebuilds it and the atomic rewrite repairs the cache)."""
    if not (os.path.lexists(npz_path) or os.path.lexists(meta_path)):
        return None
    try:
        meta = _read_sidecar(meta_path, npz_path)
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {k: np.array(data[k]) for k in data.files}
    except (OSError, ValueError, KeyError, TypeError, EOFError, RecursionError,
            zipfile.BadZipFile) as e:
        if not (os.path.lexists(npz_path) and os.path.lexists(meta_path)):
            why = "half of it is missing"  # a write killed between the two files
        else:
            why = str(e).removeprefix(f"{meta_path}: ").removeprefix(f"{npz_path}: ")
        warnings.warn(f"reference cache entry {npz_path.parent / key} is corrupt ({why}); "
                      "rebuilding it", RuntimeWarning, stacklevel=3)
        for path in (npz_path, meta_path):  # a FIFO or device in its place must go first
            if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
                path.unlink()
        return None
    sol = ReferenceSolution(arrays, float(meta["error_floor"]), meta["method"],
                            meta.get("info", {}))
    return CachedReference(sol, key, meta["sha256"], float(meta["build_seconds"]), npz_path,
                           from_cache=True)


def _build(generator: Any, params: Mapping[str, Any]):
    """``generator.build(params)`` under JAX's standard dtype promotion.

    Reference generators are float64 spectral and finite-difference solvers that mix complex and
    real arrays on purpose (``1j * k * psi``); the strict promotion a test session sets to catch
    silent float32 → float64 promotion in *training* code does not apply to them.
    """
    import jax

    with jax.numpy_dtype_promotion("standard"):
        return generator.build(dict(params))


def cached_reference(
    problem: str,
    version: int,
    params: Mapping[str, Any],
    generator: Any,
    *,
    use_cache: bool = True,
) -> CachedReference:
    """Return the reference for ``params``, building and caching it on first use.

    A cache entry that cannot be trusted — a sidecar that is not valid JSON or lacks a field,
    arrays whose sha256 differs from the sidecar's, half an entry, a FIFO or device in its
    place — is reported (a :class:`RuntimeWarning`, one ``warning:`` line on the command line)
    and rebuilt; the atomic rewrite repairs the cache.

    Arguments:
        problem, version: the catalogue identity of the problem.
        params: the canonical parameters that define the reference (difficulty value included).
        generator: the ``problems/<name>/reference.py`` module (anything with ``GENERATOR_VERSION``
            and ``build``).
        use_cache: ``False`` builds in memory and writes nothing (tests of the generator itself).
    """
    gen_version = int(generator.GENERATOR_VERSION)
    key = cache_key(problem, version, params, gen_version)
    root = cache_dir() / problem
    npz_path, meta_path = root / f"{key}.npz", root / f"{key}.json"
    if use_cache:
        cached = _load_entry(key, npz_path, meta_path)
        if cached is not None:
            return cached
    t0 = time.perf_counter()
    sol = _build(generator, params)
    seconds = time.perf_counter() - t0
    arrays = {k: np.asarray(v) for k, v in sol.arrays.items()}
    sol = ReferenceSolution(arrays, float(sol.error_floor), sol.method, dict(sol.info))
    if not use_cache:
        digest = hashlib.sha256(b"".join(a.tobytes() for a in arrays.values())).hexdigest()
        return CachedReference(sol, key, digest, seconds, None)
    try:
        _atomic_write_bytes(npz_path, lambda f: np.savez(f, **arrays))
        meta = {"problem": problem, "version": version, "params": _canonical(params),
                "generator_version": gen_version, "sha256": _sha256(npz_path),
                "error_floor": sol.error_floor, "method": sol.method,
                "info": _canonical(sol.info), "build_seconds": seconds}
        _atomic_write_bytes(meta_path, lambda f: f.write(json.dumps(meta, indent=1).encode()))
        return CachedReference(sol, key, meta["sha256"], seconds, npz_path)
    except (OSError, UnsafeFile):
        # An unwritable cache must not stop a run: the reference is still correct in memory.
        digest = hashlib.sha256(b"".join(a.tobytes() for a in arrays.values())).hexdigest()
        return CachedReference(sol, key, digest, seconds, None)
