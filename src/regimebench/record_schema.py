"""The JSON Schema of a run record, generated from the type, and the validator that checks it.

The schema is not written by hand: :func:`record_schema` derives it from
:class:`regimebench.record.RunRecord` (a dataclass), its :class:`~regimebench.record.RunSpec`,
the ``TypedDict`` of its labels and the outcome enumerations. The copy committed at
``src/regimebench/schema/run-record.schema.json`` is what other tools read; a test fails when it
is out of date, and this module regenerates it::

    python -m regimebench.record_schema            # rewrites the committed file

Fields with a default in the type are optional in the schema (records of schema 1, written
before ``kind``, ``terms`` and ``spec.harness`` existed, still validate); unknown fields are
errors. :func:`validate_record` (what ``bench validate RECORD`` calls) checks a file or dict with
``jsonschema`` and then the record's own invariants (a failed record names its reason, …).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

from .record import (
    SCHEMA_FILE,
    SCHEMA_VERSION,
    RecordError,
    RecordKind,
    RunRecord,
    _load_json,
    file_kind,
    schema_errors,
)

__all__ = ["SCHEMA_PATH", "record_schema", "schema_errors", "validate_record", "write_schema"]

SCHEMA_PATH = SCHEMA_FILE
_ID = "https://github.com/regimebench/regimebench/schema/run-record.schema.json"


def _describe(tp: Any) -> str | None:
    doc = getattr(tp, "__doc__", None)
    return " ".join(doc.split()) if doc else None


def _schema_of(tp: Any) -> dict[str, Any]:
    """JSON Schema (draft 7) of one Python type annotation."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return {}
    if tp is type(None):
        return {"type": "null"}
    if origin in (Union, types.UnionType):
        subs = [_schema_of(a) for a in args]
        if all(set(s) == {"type"} for s in subs):  # plain types: one "type" list
            return {"type": [s["type"] for s in subs]}
        return {"anyOf": subs}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"type": "string", "enum": [m.value for m in tp]}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if origin in (dict, collections.abc.Mapping):
        return {"type": "object", "additionalProperties": _schema_of(args[1]) if args else {}}
    if origin in (list, tuple, collections.abc.Sequence):
        return {"type": "array", "items": _schema_of(args[0]) if args else {}}
    if dataclasses.is_dataclass(tp) or typing.is_typeddict(tp):
        return _object_schema(tp)
    raise TypeError(f"no JSON Schema for annotation {tp!r}")


def _object_schema(tp: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(tp)
    if dataclasses.is_dataclass(tp):
        required = [f.name for f in dataclasses.fields(tp)
                    if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING]
    else:
        required = sorted(tp.__required_keys__)
    out: dict[str, Any] = {"type": "object"}
    if (text := _describe(tp)) is not None:
        out["description"] = text
    out["properties"] = {name: _schema_of(hint) for name, hint in hints.items()}
    if required:
        out["required"] = required
    out["additionalProperties"] = False
    return out


@functools.cache
def record_schema() -> dict[str, Any]:
    """The JSON Schema of a run record, generated from :class:`~regimebench.record.RunRecord`."""
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "$id": _ID,
              "title": "regimebench run record", **_object_schema(RunRecord)}
    props = schema["properties"]
    # Always stored, although the type gives them defaults (the constructors fill them in).
    schema["required"] = ["schema_version", *schema["required"]]
    props["schema_version"] = {"type": "integer", "minimum": 1, "maximum": SCHEMA_VERSION}
    props["kind"] = {"type": "string", "const": RecordKind.RUN.value}
    return schema


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the generated schema (what the committed file must equal)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record_schema(), indent=1, ensure_ascii=False) + "\n")
    return path


def validate_record(record: Path | str | Mapping[str, Any]) -> RunRecord:
    """Check one record (a path or a parsed dict) against the schema and the record invariants.

    Returns the typed :class:`~regimebench.record.RunRecord`; raises
    :class:`~regimebench.record.RecordError` with every schema violation listed, one per line
    after the first.
    """
    where = str(record) if isinstance(record, (str, Path)) else "record"
    data = _load_json(Path(record)) if isinstance(record, (str, Path)) else record
    if file_kind(data) != RecordKind.RUN:
        raise RecordError(f"{where}: not a regimebench run record")
    try:
        problems = schema_errors(data)
    except RecursionError:
        problems = ["(record): nested too deeply"]
    if problems:
        raise RecordError(f"{where}: {len(problems)} schema violation(s):\n  "
                          + "\n  ".join(problems))
    try:
        return RunRecord.from_dict(data)
    except RecordError as e:
        raise RecordError(f"{where}: {e}") from None


if __name__ == "__main__":  # pragma: no cover - regenerates the committed schema
    print(write_schema())
