"""Run records: one JSON file per (problem@version, task, solver@config-hash, budget, seed).

The path of a record is a pure function of its :class:`RunSpec`, so a sweep can be resumed by
skipping the records that exist. Writes are atomic (temporary file in the same folder, ``fsync``,
``os.replace``): an interrupted run leaves either the whole record or nothing.

Schema (``schema_version`` 1), all floats finite or ``null``::

    {
      "schema_version": 1,
      "spec":   {problem, problem_version, task, solver, solver_version, config_hash, config,
                 budget, evals, seed, params, sizes},
      "status": "ok" | "failed" | "crashed",
      "failure": null | "non_finite" | "exception" | ...,   # why the status is not ok
      "failed_step": null | int,
      "metrics": {rel_l2, loss, loss_<term>..., normalized_loss, ...},
      "curves":  {evals: [...], loss: [...], loss_<term>: [...], rel_l2: [...], ...},  # ≤ 512 pts
      "labels":  {regime, regime_stability, failure_modes, phases}    # recomputable offline
      "diagnostics": {...},                                             # optional
      "reference": {key, sha256, error_floor, method, build_seconds},
      "timing": {compile_s, train_s, wall_s, seed_steps_per_s, ...},
      "layout": {seed_layout, group_size, groups, chunk_steps},
      "provenance": {git_sha, git_dirty, python, packages, backend, device_kind, x64,
                     matmul_precision, dtype, command, hostname, created},
      "traceback": null | str                                           # for crashed runs
    }
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SCHEMA_VERSION",
    "RunSpec",
    "RecordError",
    "record_path",
    "write_record",
    "read_record",
    "provenance",
    "sanitize",
    "iter_records",
    "stray_temp_files",
    "TEMP_SUFFIX",
]

SCHEMA_VERSION = 1
TEMP_SUFFIX = ".tmp"  # in-flight writes: ``.<record>.json.<random>.tmp``, never read as records


class RecordError(ValueError):
    """A record cannot be read or written (corrupt file, unwritable folder, full disk)."""


@dataclass(frozen=True)
class RunSpec:
    """What one seed of one run is. Picklable: executors ship it to workers."""

    problem: str
    problem_version: int
    task: str
    solver: str
    solver_version: int
    config_hash: str
    budget: str
    evals: int
    seed: int
    params: Mapping[str, Any] = field(default_factory=dict)
    sizes: Mapping[str, int] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)

    def path(self, root: Path) -> Path:
        return record_path(root, self)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _slug(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in text)


def record_path(root: Path, spec: RunSpec, cell: Mapping[str, Any] | None = None) -> Path:
    """``<root>/<problem>@v<N>/<task>/<solver>@<hash>/<budget>[/<cell>]/seed-<k>.json``.

    ``cell`` names non-canonical settings (a regime-map cell such as ``{"a2": 6, "pde": 256}``)
    and becomes one extra folder, ``a2=6,pde=256``.
    """
    parts = [f"{spec.problem}@v{spec.problem_version}", spec.task,
             f"{spec.solver}@{spec.config_hash}", spec.budget]
    if cell:
        parts.append(",".join(f"{_slug(k)}={_slug(v)}" for k, v in sorted(cell.items())))
    return Path(root).joinpath(*parts) / f"seed-{spec.seed}.json"


def sanitize(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become ``None``; numpy scalars and arrays become Python."""
    if isinstance(obj, Mapping):
        return {str(k): sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return sanitize(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_record(path: Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` to ``path`` atomically. Raises :class:`RecordError` with a clear reason."""
    path = Path(path)
    text = json.dumps(sanitize(record), indent=1, allow_nan=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    except OSError as e:
        raise RecordError(f"cannot write records under {path.parent}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise RecordError(f"cannot write record {path}: {e.strerror or e}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_record(path: Path) -> dict[str, Any]:
    """Read and minimally check a record. Raises :class:`RecordError` if it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise RecordError(f"{path}: no such record") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RecordError(f"{path}: not a readable JSON record ({e})") from None
    if not isinstance(data, dict) or "schema_version" not in data or "spec" not in data:
        raise RecordError(f"{path}: not a regimebench run record (no schema_version/spec)")
    if data["schema_version"] > SCHEMA_VERSION:
        raise RecordError(
            f"{path}: schema_version {data['schema_version']} is newer than this regimebench "
            f"understands ({SCHEMA_VERSION}); upgrade regimebench"
        )
    return data


def _git(*args: str, cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("regimebench", "jax", "jaxlib", "equinox", "optax", "diffrax", "numpy", "scipy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def provenance(dtype: str, command: list[str] | None = None) -> dict[str, Any]:
    """Where, with what, and by which command a record was made."""
    from ._catalogue import catalogue_root
    from ._config import numeric_policy

    root = catalogue_root()
    sha = _git("rev-parse", "HEAD", cwd=root)
    dirty = _git("status", "--porcelain", "--untracked-files=no", cwd=root)
    policy = numeric_policy()
    argv = command if command is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
    return {
        "git_sha": sha,
        "git_dirty": bool(dirty) if dirty is not None else None,
        "python": platform.python_version(),
        "packages": _package_versions(),
        "platform": platform.platform(),
        "hostname": platform.node(),
        "dtype": dtype,
        **policy,
        "determinism": {"xla_flags": os.environ.get("XLA_FLAGS", "")},
        "command": shlex.join(argv),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def _visible(path: Path, root: Path) -> bool:
    # Hidden folders under a results root hold tool state, not records: ``.wandb/`` (the wandb
    # mirror writes its own JSON files there), ``.submitit/`` (SLURM logs and pickles).
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def iter_records(root: Path) -> Iterator[tuple[Path, dict[str, Any] | RecordError]]:
    """Every ``*.json`` under ``root`` (sorted), as ``(path, record)`` or ``(path, error)``.

    The one loader for results folders: a corrupt or foreign file comes back as a
    :class:`RecordError` instead of raising, so a caller can skip it with a warning (the
    leaderboard) or report it (``bench doctor``) without losing the good records. Files in hidden
    folders and in-flight temporary files are not records and are not yielded.
    """
    root = Path(root)
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*.json")):
        if not path.is_file() or not _visible(path, root):
            continue
        try:
            yield path, read_record(path)
        except RecordError as e:
            yield path, e


def stray_temp_files(root: Path) -> list[Path]:
    """Temporary files left by a write that was killed (``kill -9``) before its rename."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob(f".*.json.*{TEMP_SUFFIX}")
                  if p.is_file() and _visible(p.parent, root))
