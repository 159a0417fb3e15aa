"""``bench doctor``: the health of a results folder.

Examples::

    bench doctor --runs results          # every file the loaders skip, misplaced records, temp files
    bench doctor --runs results --fix    # delete stale temp files, move corrupt records aside

What it reports (:func:`regimebench.record.check_results`): corrupt records (unreadable, foreign
JSON, against the schema, too large), records of a newer schema, duplicates (a copy of a record
under another name, which would count a seed twice), links and files that are not regular files
(never opened), misplaced records (a resume would not find them), and temporary files of
interrupted writes.

``--fix`` (:func:`regimebench.record.fix_results`) moves corrupt records aside (``*.corrupt``) and
duplicates aside (``*.duplicate``), and deletes stale temporary files. A temporary file is a
write *in progress*, and is left alone, while it is younger than ten minutes or its writer (a pid
in its name) is alive; records of a newer schema, links, FIFOs, devices and misplaced records are
left for you to move. Exit code 0 when everything is healthy, 1 when problems were found (after
``--fix``: when some are left), 2 on bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import console, echo, fail, note, plain


def doctor(
    runs: Annotated[Path, typer.Option(help="results folder to check")] = Path("results"),
    fix: Annotated[bool, typer.Option(
        help="move corrupt records and duplicates aside, delete stale temporary files")] = False,
) -> None:
    """Check a results folder: files the loaders skip, records in the wrong place, temp files.

    Exit code 0 when everything is healthy, 1 when problems were found (and 2 on bad input).
    """
    from ..record import check_results, fix_results

    if not runs.is_dir():
        fail(f"{runs} is not a results folder")
    health = check_results(runs)
    echo(f"{runs}: {health.healthy} healthy record(s), {len(health.problems)} problem(s)")
    if health.live:
        note(f"{len(health.live)} write(s) in progress (temporary files younger than ten minutes "
             "or of a live process): left alone")
    if health.problems:
        table = Table()
        table.add_column("problem", no_wrap=True)
        # A path is what users copy: never broken across lines, however narrow the terminal.
        table.add_column("file", no_wrap=True, overflow="ignore")
        table.add_column("detail")
        for kind, path, detail in health.problems:
            table.add_row(plain(kind), plain(path.relative_to(runs)), plain(detail))
        console.print(table)
    left = len(health.problems)
    if fix and health.problems:
        try:
            left = fix_results(health)
        except OSError as e:  # a read-only folder: what was fixed stays fixed
            fail(f"cannot fix {runs}: {e.strerror or e}" + (f" ({e.filename})" if e.filename
                                                             else ""))
        echo("fixed: stale temporary files deleted, corrupt records and duplicates moved aside "
             "(*.corrupt, *.duplicate); rerun the sweep to redo them"
             + (f"; {left} problem(s) left for you (misplaced or newer records, links, "
                "non-regular files)" if left else ""))
    raise typer.Exit(1 if left else 0)
