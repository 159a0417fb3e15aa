"""Run records: one JSON file per (problem@version, task, solver@config-hash, budget, harness,
cell, seed).

A record is a :class:`RunRecord` (a frozen dataclass, built by its ``ok``/``failed``/``crashed``
constructors) stored as JSON. Its JSON Schema is generated from the type
(:mod:`regimebench.record_schema`, committed as ``schema/run-record.schema.json``) and every read
checks it. The path of a record is a pure function of its :class:`RunSpec` and cell, so a sweep
is resumed by skipping the records that exist. Writes are atomic (temporary file in the same
folder, ``fsync``, ``os.replace``): an interrupted run leaves either the whole record or nothing.

Schema (``schema_version`` :data:`SCHEMA_VERSION`), all floats finite or ``null``::

    {
      "schema_version": 2, "kind": "run",
      "spec":   {problem, problem_version, task, solver, solver_version, config_hash, config,
                 budget, evals, seed, params, sizes, harness},
      "cell":   {<difficulty or data axis>: value, ...},        # {} for the canonical setting
      "status": "ok" | "failed" | "crashed",                     # outcomes.Status
      "failure": null | "non_finite" | "exception" | ...,        # outcomes.FailureReason
      "failed_step": null | int, "evals_done": int | float,
      "metrics": {rel_l2, loss, loss_<term>..., normalized_loss, ...},
      "curves":  {evals: [...], loss: [...], loss_<term>: [...], rel_l2: [...], ...},  # ≤ 512 pts
      "terms":   {<term>: "residual" | "boundary" | "initial" | "data" | "constraint"},
      "labels":  {regime, regime_stability, failure_modes, phases, thresholds, family},
      "diagnostics": {...},
      "reference": {key, sha256, error_floor, method, build_seconds},
      "timing": {compile_s, train_s, wall_s, seed_steps_per_s, ...},
      "layout": {seed_layout, group_size, groups, chunk_steps},
      "solver_info": {citation, honesty},
      "provenance": {git_sha, git_dirty, python, packages, backend, device_kind, x64,
                     matmul_precision, dtype, command, hostname, created},
      "traceback": null | str                                    # for crashed runs
    }

Schema 1 (records written before these types) had no ``kind``, ``terms`` or ``spec.harness``;
such records still read, validate and aggregate (harness "1", roles from term names).

**What a results folder holds.** :func:`iter_records` is the one loader; its rule:

* only regular ``*.json`` files count; anything under a hidden folder (``.wandb/``,
  ``.submitit/``) and hidden files (the ``.<name>.json.<pid>-<random>.tmp`` of an in-flight
  write) is tool state, never read. A FIFO, a device or a file larger than
  :data:`MAX_RECORD_BYTES` is never opened, and symbolic links are never followed
  (:mod:`regimebench.safe_io`);
* a JSON file is classified by its *content* (:func:`file_kind`): ``"kind": "run"`` (or, schema
  1, a ``spec``) is a run record; ``"kind": "regime-map"`` (or, schema 1, ``axes`` and
  ``cells``) is a map written by ``bench regimes`` beside the records — skipped quietly, wherever
  it lies; anything else (foreign JSON, a corrupt file) comes back as a :class:`RecordError`, so
  callers can warn (the site) or report (``bench doctor``) without losing the good records;
* one run and seed counts once: a second file with the same group and seed (a copy of a record
  under another name) comes back as a :class:`RecordError` of kind ``duplicate``.

Records are written atomically and readable by the group (:func:`write_record`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import functools
import json
import math
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from .harness import HARNESS_VERSION, LEGACY, comparable_harness, harness_of
from .outcomes import FailureMode, FailureReason, Regime, Status, TermRole, TrainingPhase
from .safe_io import (
    TEMP_SUFFIX,
    FileProblem,
    UnsafeFile,
    atomic_write,
    read_regular,
    temp_file_is_live,
)

__all__ = [
    "SCHEMA_VERSION",
    "RecordKind",
    "RunSpec",
    "RunRecord",
    "Labels",
    "RecordError",
    "GroupKey",
    "group_key",
    "cell_label",
    "record_path",
    "write_record",
    "read_record",
    "file_kind",
    "schema_errors",
    "SCHEMA_FILE",
    "provenance",
    "pinned_command",
    "sanitize",
    "iter_records",
    "stray_temp_files",
    "FileProblem",
    "MAX_RECORD_BYTES",
    "ResultsHealth",
    "check_results",
    "fix_results",
    "TEMP_SUFFIX",
]

SCHEMA_VERSION = 2
# The largest file read as a record or a map. A record's curves hold at most 512 points each, so
# records are ~100 kB; anything a hundred times larger is not one (or is a link to /dev/zero).
MAX_RECORD_BYTES = 16 * 2**20


class RecordError(UnsafeFile):
    """A record cannot be read or written (corrupt file, unwritable folder, full disk).

    ``problem`` (a :class:`~regimebench.safe_io.FileProblem`) says what is wrong with the file:
    corrupt, a newer schema, a link, not a regular file, a duplicate, … (``bench doctor``)."""


class RecordKind(enum.StrEnum):
    """What a JSON file under a results folder is (its ``kind`` field)."""

    RUN = "run"
    REGIME_MAP = "regime-map"


@dataclass(frozen=True)
class RunSpec:
    """What one seed of one run is. Picklable: executors ship it to workers.

    ``harness`` is the training-code version (:mod:`regimebench.harness`); specs of records
    written before it existed read back as :data:`~regimebench.harness.LEGACY`.
    """

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
    harness: str = HARNESS_VERSION

    def path(self, root: Path, cell: Mapping[str, Any] | None = None) -> Path:
        return record_path(root, self, cell)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        """The spec of a stored record (schema 1 has no harness: it is :data:`LEGACY`)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise RecordError(f"spec has unknown fields {sorted(unknown)}")
        try:
            return cls(**{"harness": LEGACY, **data})
        except TypeError as e:
            raise RecordError(f"spec does not match the schema ({e})") from None


# ------------------------------------------------------------------------------ the record
class Phases(TypedDict, total=False):
    """``labels.phases``: the training phases read from the SNR curve (steps in evaluations)."""

    fitting_end: int | None
    total_diffusion_start: int | None
    final_phase: TrainingPhase | None
    total_diffusion: bool | None


class ThresholdValues(TypedDict, total=False):
    """``labels.thresholds``: the task's thresholds the labels were computed with."""

    train_loss: float
    test_error: float
    target: float | None


class FamilyValues(TypedDict, total=False):
    """``labels.family``: the landscape family's quantiles of ln|λ_max| (see labels.py)."""

    ln_lambda_q25: float
    ln_lambda_q75: float
    size: int


class Labels(TypedDict, total=False):
    """``record["labels"]``, recomputable offline by :mod:`regimebench.labels`."""

    regime: Regime
    regime_stability: float | None
    failure_modes: list[FailureMode]
    phases: Phases
    thresholds: ThresholdValues
    family: FamilyValues | None


@dataclass(frozen=True)
class RunRecord:
    """One seed's run record. Build it with :meth:`ok`, :meth:`failed` or :meth:`crashed`;
    store it with :func:`write_record` (``to_dict`` gives the JSON-ready dict)."""

    spec: RunSpec
    status: Status
    failure: FailureReason | None = None
    failed_step: int | None = None
    evals_done: int | float = 0  # fractional after measured phases (to 1e-3)
    cell: Mapping[str, float | int | str] = field(default_factory=dict)
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    curves: Mapping[str, list[float | None]] = field(default_factory=dict)
    terms: Mapping[str, TermRole] = field(default_factory=dict)
    labels: Labels = field(default_factory=dict)
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    reference: Mapping[str, Any] | None = None
    timing: Mapping[str, float | None] = field(default_factory=dict)
    layout: Mapping[str, Any] = field(default_factory=dict)
    solver_info: Mapping[str, Any] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    traceback: str | None = None
    kind: RecordKind = RecordKind.RUN
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self):
        status = Status(self.status)
        failure = FailureReason(self.failure) if self.failure is not None else None
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "failure", failure)
        object.__setattr__(self, "kind", RecordKind(self.kind))
        object.__setattr__(self, "terms", {str(k): TermRole(v) for k, v in self.terms.items()})
        if (status == Status.OK) != (failure is None):
            raise RecordError(f"a {status} record must {'not ' if status == Status.OK else ''}"
                              "name a failure reason")
        if status == Status.CRASHED and failure == FailureReason.NON_FINITE:
            raise RecordError("a crashed record's failure is an exception, out of memory or a "
                              "dead worker, not non_finite (that is a failed record)")

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def ok(cls, spec: RunSpec, **fields: Any) -> RunRecord:
        """A seed that finished with finite loss and parameters."""
        return cls(spec=spec, status=Status.OK, failure=None, **fields)

    @classmethod
    def failed(cls, spec: RunSpec, *, failed_step: int | None,
               failure: FailureReason = FailureReason.NON_FINITE, **fields: Any) -> RunRecord:
        """A seed that finished but went non-finite at ``failed_step`` (frozen from there)."""
        return cls(spec=spec, status=Status.FAILED, failure=failure, failed_step=failed_step,
                   **fields)

    @classmethod
    def crashed(cls, spec: RunSpec, *, failure: FailureReason, traceback: str,
                **fields: Any) -> RunRecord:
        """A seed whose training raised, ran out of memory, or whose worker died."""
        return cls(spec=spec, status=Status.CRASHED, failure=failure, traceback=traceback,
                   **fields)

    def with_labels(self, labels: Mapping[str, Any]) -> RunRecord:
        return dataclasses.replace(self, labels=dict(labels))

    # -- (de)serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict (non-finite floats become ``null``; enums their values)."""
        out = {"schema_version": self.schema_version, "kind": str(self.kind),
               "spec": self.spec.as_dict()}
        for f in dataclasses.fields(self):
            if f.name not in out:
                out[f.name] = getattr(self, f.name)
        return sanitize(out)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """The typed record of a stored dict (schema 1 or 2). Raises :class:`RecordError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise RecordError(f"record has unknown fields {sorted(unknown)}")
        if not isinstance(data.get("spec"), Mapping):
            raise RecordError("record has no spec object")
        values = {k: v for k, v in data.items() if v is not None or k in (
            "failure", "failed_step", "reference", "traceback")}
        values["spec"] = RunSpec.from_dict(data["spec"])
        try:
            return cls(**values)
        except (TypeError, ValueError) as e:
            raise RecordError(str(e)) from None

    @property
    def path(self) -> Path:
        """The record's path relative to a results folder."""
        return record_path(Path(), self.spec, self.cell or None)


# ------------------------------------------------------------------------------ identity
def _value_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _slug(value: Any) -> str:
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in _value_text(value))


def cell_label(cell: Mapping[str, Any] | None) -> str:
    """``"a2=4,pde=1024"`` (sorted by name; floats as ``%g``); ``""`` for the canonical cell."""
    return ",".join(f"{k}={_value_text(v)}" for k, v in sorted((cell or {}).items()))


@dataclass(frozen=True, order=True)
class GroupKey:
    """The seeds the statistics pool: same problem@version, task, solver@config-hash, budget,
    cell and (declared-equivalent) harness version. Also the landscape labels' family."""

    problem: str
    problem_version: int
    task: str
    solver: str
    config_hash: str
    budget: str
    cell: str
    harness: str

    def __str__(self) -> str:
        cell = f"/{self.cell}" if self.cell else ""
        return (f"{self.problem}@v{self.problem_version}/{self.task}/{self.solver}@"
                f"{self.config_hash}/{self.budget}{cell} (harness {self.harness})")


def group_key(record: Mapping[str, Any]) -> GroupKey:
    """The :class:`GroupKey` of a stored record (dict)."""
    spec = record["spec"]
    cell = record.get("cell") if isinstance(record.get("cell"), Mapping) else {}
    return GroupKey(str(spec["problem"]), int(spec.get("problem_version") or 0), str(spec["task"]),
                    str(spec["solver"]), str(spec.get("config_hash", "")), str(spec["budget"]),
                    cell_label(cell), comparable_harness(harness_of(record)))


def record_path(root: Path, spec: RunSpec, cell: Mapping[str, Any] | None = None) -> Path:
    """``<root>/<problem>@v<N>/<task>/<solver>@<hash>/<budget>[/harness-<H>][/<cell>]/seed-<k>.json``.

    ``cell`` names non-canonical settings (a regime-map cell such as ``{"a2": 6, "pde": 256}``)
    and becomes one extra folder, ``a2=6,pde=256``. The harness folder is absent for
    :data:`~regimebench.harness.LEGACY` records, which were written before it existed.
    """
    parts = [f"{spec.problem}@v{spec.problem_version}", spec.task,
             f"{spec.solver}@{spec.config_hash}", spec.budget]
    if str(spec.harness) != LEGACY:
        parts.append(f"harness-{_slug(spec.harness)}")
    if cell:
        parts.append(",".join(f"{_slug(k)}={_slug(v)}" for k, v in sorted(cell.items())))
    return Path(root).joinpath(*parts) / f"seed-{spec.seed}.json"


def sanitize(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become ``None``; numpy scalars and arrays become Python;
    enumeration members become their values."""
    if isinstance(obj, enum.Enum):
        return obj.value
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


# ------------------------------------------------------------------------------ files
def write_record(path: Path, record: Mapping[str, Any] | RunRecord) -> Path:
    """Write ``record`` (a :class:`RunRecord`, a record dict, or a map) to ``path`` atomically.

    The file is readable by the group (mode ``0666`` minus the umask), and a ``path`` that exists
    but is not a regular file (a device, a FIFO, a link) is refused
    (:func:`regimebench.safe_io.atomic_write`). Raises :class:`RecordError` with a clear reason.
    """
    path = Path(path)
    data = record.to_dict() if isinstance(record, RunRecord) else record
    text = json.dumps(sanitize(data), indent=1, allow_nan=False)
    try:
        atomic_write(path, lambda f: f.write(text.encode()))
    except UnsafeFile as e:
        raise RecordError(str(e), e.problem) from None
    except OSError as e:
        raise RecordError(f"cannot write record {path}: {e.strerror or e}") from None
    return path


def file_kind(data: Any) -> RecordKind | None:
    """What a parsed JSON document is: a run record, a regime map, or ``None`` (foreign)."""
    if not isinstance(data, dict):
        return None
    if "kind" in data:
        try:
            return RecordKind(data["kind"])
        except (ValueError, TypeError):
            return None
    if "schema_version" in data and "spec" in data:  # schema 1 run record
        return RecordKind.RUN
    if "schema_version" in data and "axes" in data and "cells" in data:  # schema 1 map
        return RecordKind.REGIME_MAP
    return None


def _load_json(path: Path, *, follow_symlinks: bool = True) -> Any:
    """The parsed JSON of the regular file ``path`` (:func:`~regimebench.safe_io.read_regular`:
    never a FIFO, a device or a file larger than :data:`MAX_RECORD_BYTES`)."""
    try:
        raw = read_regular(path, MAX_RECORD_BYTES, follow_symlinks=follow_symlinks)
    except UnsafeFile as e:
        if e.problem == FileProblem.MISSING:
            raise RecordError(f"{path}: no such record", FileProblem.MISSING) from None
        raise RecordError(str(e), e.problem) from None
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not a readable JSON record (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise RecordError(f"{path}: not a readable JSON record ({e})") from None
    except RecursionError:
        raise RecordError(f"{path}: not a readable JSON record (nested too deeply)") from None


# The committed JSON Schema of a run record. It is generated from the types below by
# :mod:`regimebench.record_schema` (a test keeps the file equal to the generated schema); the
# reader checks against the file, so this module does not import the generator.
SCHEMA_FILE = Path(__file__).resolve().parent / "schema" / "run-record.schema.json"


@functools.cache
def _validator():
    import jsonschema

    return jsonschema.Draft7Validator(json.loads(SCHEMA_FILE.read_text()))


def schema_errors(data: Any) -> list[str]:
    """Every violation of the run-record schema by ``data``, as one-line messages."""
    out = []
    for err in sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in
                                                                    e.absolute_path]):
        where = "/".join(str(p) for p in err.absolute_path) or "(record)"
        out.append(f"{where}: {err.message}")
    return out


def _check_run(path: Path | str, data: Any) -> dict[str, Any]:
    """``data`` if it is a valid run record, else :class:`RecordError` (prefixed by ``path``)."""
    kind = file_kind(data)
    if kind != RecordKind.RUN:
        what = "a regime map" if kind == RecordKind.REGIME_MAP else "not a regimebench run record"
        raise RecordError(f"{path}: {what} (no schema_version/spec)"
                          if kind is None else f"{path}: {what}, not a run record")
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise RecordError(
            f"{path}: schema_version {version} is newer than this regimebench understands "
            f"({SCHEMA_VERSION}); upgrade regimebench", FileProblem.NEWER)
    try:
        problems = schema_errors(data)
    except RecursionError:
        problems = ["(record): nested too deeply"]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RecordError(f"{path}: does not match the run-record schema: {problems[0]}{more}")
    return data


def read_record(path: Path, *, follow_symlinks: bool = True) -> dict[str, Any]:
    """Read a run record and check it against the schema. Raises :class:`RecordError`.

    Returns the stored dict, unchanged (schema 1 records are not upgraded in memory: the site
    publishes them as they are). Only a regular file is read; ``follow_symlinks=False`` refuses a
    symbolic link too (what the resume rule uses at a seed's path).
    """
    return _check_run(path, _load_json(path, follow_symlinks=follow_symlinks))


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


def pinned_command(record: Mapping[str, Any], command: str | None = None) -> str:
    """``git checkout <sha> && <command>``: the record's command at the commit that made it.

    ``command`` defaults to the record's ``provenance.command`` (the CLI may pass one it built,
    e.g. for a single seed). Without a recorded commit the command is returned as is; a record
    made from a dirty tree gets a trailing comment saying the checkout is not the code that ran.
    """
    prov = record.get("provenance") or {}
    command = command if command is not None else (prov.get("command") or "")
    sha = prov.get("git_sha")
    if not sha:
        return command
    pinned = f"git checkout {shlex.quote(str(sha))} && {command}"
    if prov.get("git_dirty"):
        pinned += "  # the record was made with uncommitted changes on top of this commit"
    return pinned


# ------------------------------------------------------------------------------ loading
def _hidden(name: str) -> bool:
    # Hidden folders under a results root hold tool state, not records: ``.wandb/`` (the wandb
    # mirror writes its own JSON files there), ``.submitit/`` (SLURM logs and pickles); hidden
    # files are in-flight writes.
    return name.startswith(".")


def _walk(root: Path, unreadable: list[tuple[Path, RecordError]]
          ) -> Iterator[tuple[Path, bool]]:
    """``(path, is_link_to_folder)`` of every visible ``*.json`` entry and every link to a
    folder under ``root``; links are never followed (a link may leave the folder or loop).
    Folders that cannot be listed are appended to ``unreadable``."""
    def cannot_list(e: OSError) -> None:
        where = Path(e.filename) if e.filename else root
        unreadable.append((where, RecordError(
            f"{where}: cannot list this folder ({e.strerror or e}); its records are not read",
            FileProblem.UNREADABLE)))

    for folder, dirs, files in os.walk(root, followlinks=False, onerror=cannot_list):
        dirs[:] = [d for d in dirs if not _hidden(d)]
        for d in dirs:
            if os.path.islink(os.path.join(folder, d)):
                yield Path(folder, d), True
        for name in files:
            if name.endswith(".json") and not _hidden(name):
                yield Path(folder, name), False


def _link_error(path: Path, root: Path, folder: bool) -> RecordError:
    target = Path(os.path.realpath(path))
    inside = target == root or root in target.parents
    where = "to a file in the same folder" if inside else "leaving the results folder"
    what = "a symbolic link to a folder" if folder else "a symbolic link"
    return RecordError(f"{path}: {what} ({where}: {os.readlink(path)}), never followed; "
                       "records are regular files", FileProblem.LINK)


def _identity(path: Path, rec: Mapping[str, Any]) -> tuple[GroupKey, int] | None:
    try:
        return group_key(rec), int(rec["spec"]["seed"])
    except (KeyError, TypeError, ValueError):
        return None


def _at_own_path(root: Path, path: Path, rec: Mapping[str, Any]) -> bool:
    try:
        expected = record_path(root, RunSpec.from_dict(rec["spec"]), rec.get("cell") or None)
    except (RecordError, TypeError, KeyError):
        return False
    return expected == path


def iter_records(root: Path) -> Iterator[tuple[Path, dict[str, Any] | RecordError]]:
    """Every run record under ``root`` (sorted by path), as ``(path, record)`` or
    ``(path, error)``: **the** loader for results folders (see the module docstring's rule).

    Regime maps are passed over quietly. Everything else that is not a valid, countable record
    comes back as a :class:`RecordError` (its ``problem`` says why) instead of raising, so a
    caller prints one warning line per file and goes on:

    * a corrupt, foreign, too large or schema-violating file, or JSON nested too deeply;
    * anything that is not a regular file: a FIFO or device is never opened, a symbolic link
      (to a file or a folder) is never followed — it could leave the folder or count a record
      twice;
    * a *duplicate*: a second file holding the same run and seed (same group, same seed) as
      another, e.g. a copy of ``seed-0.json`` saved as ``seed-7.json``. The record at the path
      its spec names is kept (else the first by path); the copies are reported, so no seed is
      counted twice.
    """
    root = Path(root)
    if not root.is_dir():
        return
    found: list[tuple[Path, dict[str, Any] | RecordError]] = []
    for path, link_to_folder in _walk(root, found):
        if link_to_folder or path.is_symlink():
            found.append((path, _link_error(path, root, link_to_folder)))
            continue
        try:
            data = _load_json(path, follow_symlinks=False)
        except RecordError as e:
            found.append((path, e))
            continue
        if file_kind(data) == RecordKind.REGIME_MAP:
            continue
        try:
            found.append((path, _check_run(path, data)))
        except RecordError as e:
            found.append((path, e))
    found.sort(key=lambda item: item[0])
    by_identity: dict[tuple[GroupKey, int], list[Path]] = {}
    for path, rec in found:
        if not isinstance(rec, RecordError) and (ident := _identity(path, rec)) is not None:
            by_identity.setdefault(ident, []).append(path)
    copies: dict[Path, Path] = {}
    records = dict(found)
    for paths in by_identity.values():
        if len(paths) > 1:
            own = [p for p in paths if _at_own_path(root, p, records[p])]
            keep = own[0] if own else paths[0]
            copies.update({p: keep for p in paths if p != keep})
    for path, rec in found:
        if path in copies:
            yield path, RecordError(
                f"{path}: the same run and seed as {copies[path]} (a copy?); counted once",
                FileProblem.DUPLICATE)
        else:
            yield path, rec


def stray_temp_files(root: Path, *, include_live: bool = False) -> list[Path]:
    """Temporary files left by a write that was killed (``kill -9``) before its rename.

    A temporary file that may still be written (:func:`regimebench.safe_io.temp_file_is_live`:
    younger than ten minutes, or its writer process is alive) is not stray and is left out,
    unless ``include_live``.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not _hidden(d)]
        for name in files:
            path = Path(folder, name)
            if (name.startswith(".") and ".json." in name and name.endswith(TEMP_SUFFIX)
                    and not path.is_symlink() and (include_live or not temp_file_is_live(path))):
                out.append(path)
    return sorted(out)


# ------------------------------------------------------------------------------ health
# What `bench doctor --fix` does to each kind of problem: move the file aside under this suffix.
# Everything else (links, FIFOs, misplaced records, newer-schema records) is the user's to move:
# the tool cannot know what they are for, and a newer record must not be lost.
_SET_ASIDE = {FileProblem.CORRUPT: ".corrupt", FileProblem.TOO_LARGE: ".corrupt",
              FileProblem.DUPLICATE: ".duplicate"}


@dataclass
class ResultsHealth:
    """What :func:`check_results` found: healthy records, ``(problem, path, detail)`` problems
    (``problem`` a :class:`~regimebench.safe_io.FileProblem`), and temporary files of writes
    that may still be in progress (``live``: never deleted)."""

    root: Path
    healthy: int = 0
    problems: list[tuple[FileProblem, Path, str]] = field(default_factory=list)
    live: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_results(root: Path) -> ResultsHealth:
    """Check a results folder (what ``bench doctor`` prints): every file
    :func:`iter_records` skips (corrupt, newer schema, too large, not a regular file, link,
    duplicate), records whose spec belongs at another path (misplaced: a resume would not find
    them), and temporary files of interrupted writes (live ones are listed apart)."""
    root = Path(root)
    health = ResultsHealth(root)
    for path, rec in iter_records(root):
        if isinstance(rec, RecordError):
            health.problems.append((rec.problem, path, str(rec).removeprefix(f"{path}: ")))
            continue
        try:
            expected = record_path(root, RunSpec.from_dict(rec["spec"]), rec.get("cell") or None)
        except RecordError as e:
            health.problems.append((FileProblem.CORRUPT, path, str(e)))
            continue
        if expected != path:
            health.problems.append((FileProblem.MISPLACED, path,
                                    f"its spec belongs at {expected.relative_to(root)}; resume "
                                    "will not find it there"))
            continue
        health.healthy += 1
    for tmp in stray_temp_files(root, include_live=True):
        if temp_file_is_live(tmp):
            health.live.append(tmp)
        else:
            health.problems.append((FileProblem.STRAY_TEMP, tmp,
                                    "left by an interrupted write; not a record"))
    return health


def fix_results(health: ResultsHealth) -> int:
    """Repair what :func:`check_results` found: delete stray temporary files (checked again: a
    file that became live is kept), move corrupt records aside (``*.corrupt``) and duplicates
    aside (``*.duplicate``). Returns the number of problems left for the user (misplaced and
    newer-schema records, links, FIFOs and devices)."""
    left = 0
    for problem, path, _ in health.problems:
        if problem == FileProblem.STRAY_TEMP:
            if not temp_file_is_live(path):
                path.unlink(missing_ok=True)
        elif problem in _SET_ASIDE and path.is_file() and not path.is_symlink():
            os.replace(path, path.with_name(path.name + _SET_ASIDE[problem]))
        else:
            left += 1
    return left
