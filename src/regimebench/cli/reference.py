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
    import inspect
    import time

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
        module = p.module
        for task in p.tasks:
            if not hasattr(module, "reference"):
                continue
            # Seam (engine helper): the problem API's one reference(params, task) signature and
            # the cache's own hit/miss replace this signature sniffing and wall-time guess.
            params = p.resolve_params(task)
            t0 = time.perf_counter()
            ref = (module.reference(params)
                   if len(inspect.signature(module.reference).parameters) == 1
                   else module.reference(params, task))
            wall = time.perf_counter() - t0
            cached = "hit" if wall < 0.5 * max(ref.build_seconds, 1e-9) else "built"
            table.add_row(plain(name), plain(task), plain(ref.solution.method),
                          fmt(ref.solution.error_floor, ".2e"), f"{ref.build_seconds:.1f}",
                          cached)
    console.print(table)
