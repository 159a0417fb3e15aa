"""``bench regimes`` and ``bench relabel``: regime maps and labels from records on disk.

* ``bench regimes --problem P --solver S`` prints the map (majority regime, agreement over seeds,
  mean label stability, median rel. L2) and writes it as JSON for the leaderboard site
  (:func:`regimebench.regime_map.problem_regime_map`); the output path must be absent or a
  regular file (``--json /dev/null`` is refused).
* ``bench relabel [--runs DIR]`` recomputes every record's labels with the problems' current
  thresholds and rules (atomic rewrites; :func:`regimebench.relabel.relabel_dir`).

Neither trains: ``bench sweep`` makes the records a map is drawn from. Both read records with the
one loader and print one warning line per file they skip (corrupt, duplicate, a link, …); the
map's cells are :mod:`regimebench.stats` numbers, laid out by :func:`regimebench.tables.
regime_grid`, and written with :func:`regimebench.regime_map.write_regime_map`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import _options as o
from ._common import echo, fail, print_table, warn


def regimes(
    problem: o.Problem,
    solver: Annotated[str | None, typer.Option("--solver", "-s", help="entry name")] = None,
    task: o.Task = None,
    budget: Annotated[str | None, typer.Option(help="budget folder name, e.g. cpu")] = None,
    harness: Annotated[str | None, typer.Option(
        help="harness version (default: the one the records share)")] = None,
    runs: Annotated[Path, typer.Option(help="results folder to read")] = Path("results"),
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="where to write the map (default: <runs>/regimes-<problem>-<solver>.json)")
    ] = None,
) -> None:
    """Print the regime map of one (problem, solver) and write it as JSON for the site."""
    from .._registry import UnknownComponentError
    from ..problem import ProblemError
    from ..record import RecordError
    from ..regime_map import map_path, problem_regime_map, write_regime_map
    from ..tables import regime_grid

    if not runs.is_dir():
        fail(f"no results folder {runs}")
    try:
        m = problem_regime_map(runs, problem, solver=solver, task=task, budget=budget,
                               harness=harness, warn=warn)
    except (UnknownComponentError, ProblemError, KeyError, ValueError) as e:
        fail(str(e))
    if not m["cells"]:
        fail(f"no records of {problem}/{m['task']}" + (f" with solver {solver}" if solver else "")
             + f" under {runs}")
    print_table(regime_grid(m))
    path = json_out or map_path(runs, problem, m["solver"])
    try:
        write_regime_map(m, path)
    except RecordError as e:
        fail(str(e))
    echo(f"map written to {path}")


def relabel(
    runs: Annotated[Path, typer.Option(help="results folder whose records are relabelled")] = Path(
        "results"),
) -> None:
    """Recompute labels of every record under RUNS with the current thresholds and rules."""
    from ..problem import ProblemError, load_problem
    from ..record import RecordError
    from ..relabel import relabel_dir

    if not runs.is_dir():
        fail(f"no results folder {runs}")

    def thresholds_of(problem: str, task: str):
        return load_problem(problem).task_info(task).thresholds

    try:
        n = relabel_dir(runs, thresholds_of, warn=warn)
    except (RecordError, ProblemError, KeyError) as e:
        fail(str(e))
    echo(f"relabelled {n} record(s) under {runs}")
