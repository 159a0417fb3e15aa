"""``bench regimes`` and ``bench relabel``: regime maps and labels from records on disk.

* ``bench regimes --problem P --solver S`` prints the map (majority regime, agreement over seeds,
  mean label stability) and writes it as JSON for the leaderboard site.
* ``bench relabel [--runs DIR]`` recomputes every record's labels with the problems' current
  thresholds and rules (atomic rewrites).

Neither trains: ``bench sweep`` makes the records a map is drawn from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from . import _options as o
from ._common import console, echo, fail, plain


def _axes(problem: str, task: str | None):
    from .._registry import UnknownComponentError
    from ..problem import ProblemError, load_problem

    try:
        p = load_problem(problem)
        info = p.task_info(task)
    except (UnknownComponentError, ProblemError, KeyError) as e:
        fail(str(e))
    return p, info


def regimes(
    problem: o.Problem,
    solver: Annotated[str | None, typer.Option("--solver", "-s", help="entry name")] = None,
    task: o.Task = None,
    budget: Annotated[str | None, typer.Option(help="budget folder name, e.g. cpu")] = None,
    runs: Annotated[Path, typer.Option(help="results folder to read")] = Path("results"),
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="where to write the map (default: <runs>/regimes-<problem>-<solver>.json)")
    ] = None,
) -> None:
    """Print the regime map of one (problem, solver) and write it as JSON for the site."""
    # Seam (stats helper): the map's majority regime, agreement and median come from the one
    # statistics module after merge; this command only reads and prints them.
    p, info = _axes(problem, task)
    if not runs.is_dir():
        fail(f"no results folder {runs}")
    from ..regime_map import find_records, map_path, regime_map

    try:
        m = regime_map((r for _, r in find_records(runs)), problem=problem,
                       difficulty=info.difficulty.name, data=info.data.name,
                       canonical_difficulty=p.params.get(info.difficulty.name),
                       solver=solver, task=info.name, budget=budget)
    except ValueError as e:
        fail(str(e))
    if not m["cells"]:
        fail(f"no records of {problem}/{info.name}" + (f" with solver {solver}" if solver else "")
             + f" under {runs}")
    d, n = info.difficulty.name, info.data.name
    table = Table(title=plain(f"Regime map: {problem}/{m['task']} / {m['solver']}@"
                              f"{m['config_hash']} / {m['budget']}  (rows: {n}, columns: {d}; "
                              "majority regime, agreement over seeds, mean ±20 % stability)"))
    table.add_column(plain(f"{n} \\ {d}"))
    for dv in m["difficulty_values"]:
        table.add_column(f"{dv:g}" if isinstance(dv, float) else plain(dv), justify="center")
    by = {(c[d], c[n]): c for c in m["cells"]}
    for nv in sorted(m["data_values"], key=float, reverse=True):  # data grows upward
        row = [plain(nv)]
        for dv in m["difficulty_values"]:
            c = by.get((dv, nv))
            if c is None:
                row.append("·")
                continue
            stab = "—" if c["stability"] is None else f"{c['stability']:.2f}"
            err = "—" if c["median_rel_l2"] is None else f"{c['median_rel_l2']:.2g}"
            cell = plain(f"{c['majority']}", style="bold")
            cell.append(f" {c['agreement'] * c['seeds']:.0f}/{c['seeds']} s{stab}\nL2 {err}")
            row.append(cell)
        table.add_row(*row)
    console.print(table)
    path = json_out or map_path(runs, problem, m["solver"])
    try:
        from ..record import write_record

        # write_record is atomic; the map is not a run record but uses the same safe writer
        path.parent.mkdir(parents=True, exist_ok=True)
        write_record(path, m)
    except (OSError, ValueError) as e:
        fail(f"cannot write {path}: {e}")
    echo(f"map written to {path}")


def relabel(
    runs: Annotated[Path, typer.Option(help="results folder whose records are relabelled")] = Path(
        "results"),
) -> None:
    """Recompute labels of every record under RUNS with the current thresholds and rules."""
    # Seam (stats helper): relabelling moves to the labels/stats modules after merge; this
    # command keeps calling regime_map.relabel_dir until then.
    if not runs.is_dir():
        fail(f"no results folder {runs}")
    from ..problem import ProblemError, load_problem
    from ..record import RecordError
    from ..regime_map import relabel_dir

    def thresholds_of(problem: str, task: str):
        return load_problem(problem).task_info(task).thresholds

    try:
        n = relabel_dir(runs, thresholds_of)
    except (RecordError, ProblemError, KeyError) as e:
        fail(str(e))
    echo(f"relabelled {n} record(s) under {runs}")
