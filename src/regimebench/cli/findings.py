"""``bench findings``: the verdicts of the published findings the suite re-tests.

Reads the records of a results folder (default: the committed official ones) with the one
loader, judges every finding registered in :mod:`regimebench.findings` on them and prints the
verdicts as Markdown; ``--write-docs`` puts the same text into ``docs/regimes.md`` between its
findings markers (the site shows that page and renders the same verdicts itself). Trains nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import echo, fail, warn


def findings(
    runs: Annotated[Path | None, typer.Option(
        help="results folder to judge (default: the catalogue's leaderboard/runs)")] = None,
    harness: Annotated[str | None, typer.Option(
        help="harness version whose records are judged (default: the running one)")] = None,
    write_docs: Annotated[bool, typer.Option(
        "--write-docs", help="also replace the generated block of docs/regimes.md")] = False,
) -> None:
    """Print the verdict of every re-tested published finding, from the records."""
    from .._catalogue import catalogue_root
    from ..findings import assess_all, replace_docs_block, to_markdown
    from ..harness import HARNESS_VERSION
    from ..leaderboard.load import load_runs
    from ..safe_io import atomic_write

    root = catalogue_root()
    folder = runs if runs is not None else root / "leaderboard" / "runs"
    if not folder.is_dir():
        fail(f"no results folder {folder}")
    loaded, skipped = load_runs(folder)
    for line in skipped:
        warn(line)
    label = (folder.resolve().relative_to(root.resolve()).as_posix()
             if folder.resolve().is_relative_to(root.resolve()) else str(folder))
    block = to_markdown(assess_all(loaded, harness or HARNESS_VERSION), runs_label=label)
    echo(block)
    if write_docs:
        doc = root / "docs" / "regimes.md"
        try:
            text = replace_docs_block(doc.read_text(encoding="utf-8"), block)
            atomic_write(doc, lambda f: f.write(text.encode("utf-8")))
        except (OSError, ValueError) as e:
            fail(f"cannot update {doc}: {e}")
        echo(f"verdicts written to {doc}")
