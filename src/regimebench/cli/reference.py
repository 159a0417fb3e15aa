"""``bench reference build``: build (or load from the cache) every problem's reference solution
and print its error floor and build time."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ._common import console, fail, fmt, plain, setup

app = typer.Typer(help="Reference solutions: build and inspect the cache.", no_args_is_help=True)


@app.command("build")
def build(
    problem: Annotated[str | None, typer.Option("--problem", "-p")] = None,
) -> None:
    """Build (or load from cache) the reference of every problem and task; print floors and times."""
    setup()
    from ..problem import list_problems, load_problem

    names = [problem] if problem else list_problems()
    table = Table(title="Reference solutions")
    for col in ("problem", "task", "method", "error floor", "build s", "cache"):
        table.add_column(col)
    for name in names:
        try:
            p = load_problem(name)
        except KeyError as e:
            fail(str(e))
        for task in p.tasks:
            ref = p.reference(task, p.resolve_params(task))
            table.add_row(plain(name), plain(task), plain(ref.solution.method),
                          fmt(ref.solution.error_floor, ".2e"), f"{ref.build_seconds:.1f}",
                          "hit" if ref.from_cache else "built")
    console.print(table)
