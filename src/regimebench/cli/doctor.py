"""``bench doctor``: the health of a results folder.

Examples::

    bench doctor --runs results          # corrupt records, stray temp files, misplaced records
    bench doctor --runs results --fix    # delete stray temp files, move corrupt records aside

Exit code 0 when everything is healthy, 1 when problems were found (and 2 on bad input).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import console, echo, fail, plain


def doctor(
    runs: Annotated[Path, typer.Option(help="results folder to check")] = Path("results"),
    fix: Annotated[bool, typer.Option(
        help="delete stray temporary files and move corrupt records aside (*.corrupt)")] = False,
) -> None:
    """Check a results folder: corrupt records, stray temp files, records in the wrong place.

    Exit code 0 when everything is healthy, 1 when problems were found (and 2 on bad input).
    """
    from ..record import RunSpec, iter_records, record_path, stray_temp_files

    if not runs.is_dir():
        fail(f"{runs} is not a results folder")
    ok, problems = 0, []
    corrupt: list[Path] = []
    for path, rec in iter_records(runs):
        if isinstance(rec, Exception):
            corrupt.append(path)
            problems.append(("corrupt", path, str(rec).removeprefix(f"{path}: ")))
            continue
        # Seam (stats helper): check the record against the typed RunRecord / JSON schema
        # instead of this RunSpec(**spec) TypeError test, after merge.
        try:
            expected = record_path(runs, RunSpec(**rec["spec"]), rec.get("cell") or None)
        except TypeError as e:
            corrupt.append(path)
            problems.append(("corrupt", path, f"spec does not match the schema ({e})"))
            continue
        if expected.resolve() != path.resolve():
            problems.append(("misplaced", path,
                             f"its spec belongs at {expected.relative_to(runs)}; resume will not "
                             "find it there"))
            continue
        ok += 1
    for tmp in stray_temp_files(runs):
        problems.append(("stray temp", tmp, "left by an interrupted write; not a record"))
    echo(f"{runs}: {ok} healthy record(s), {len(problems)} problem(s)")
    if problems:
        table = Table()
        table.add_column("problem", no_wrap=True)
        # A path is what users copy: never broken across lines, however narrow the terminal.
        table.add_column("file", no_wrap=True, overflow="ignore")
        table.add_column("detail")
        for kind, path, detail in problems:
            table.add_row(kind, plain(path.relative_to(runs)), plain(detail))
        console.print(table)
    left = len(problems)
    if fix and problems:
        for tmp in stray_temp_files(runs):
            tmp.unlink(missing_ok=True)
        for path in corrupt:
            os.replace(path, path.with_name(path.name + ".corrupt"))
        left = sum(kind == "misplaced" for kind, _, _ in problems)
        echo("fixed: temporary files deleted, corrupt records moved aside (*.corrupt); "
             "rerun the sweep to redo them" + (f"; {left} misplaced record(s) left for "
                                               "you to move" if left else ""))
    raise typer.Exit(1 if left else 0)
