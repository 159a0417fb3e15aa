"""``bench sweep``, ``bench regimes`` and ``bench relabel``: regime maps from the command line.

* ``bench sweep --problem P --solver S --difficulty v1,v2 --data n1,n2 --seeds K`` trains every
  (difficulty, data) cell with K seeds; cells whose records exist are reused (resume).
* ``bench regimes --problem P --solver S`` prints the map (majority regime, agreement over seeds,
  mean label stability) and writes it as JSON for the leaderboard site.
* ``bench relabel [--runs DIR]`` recomputes every record's labels with the problems' current
  thresholds and rules (atomic rewrites).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .cli import _fail, _setup, app, console, err_console

__all__ = ["sweep", "regimes", "relabel"]

_DIAG_MODES = ("auto", "off", "snr", "full")


def _floats(text: str, what: str) -> list[float]:
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        _fail(f"{what} must be a comma-separated list of numbers, got {text!r}")
    if not vals:
        _fail(f"{what} needs at least one value")
    return vals


def _ints(text: str, what: str) -> list[int]:
    vals = _floats(text, what)
    if any(v != int(v) or v < 1 for v in vals):
        _fail(f"{what} must be positive integers, got {text!r}")
    return [int(v) for v in vals]


def _diagnostics(mode: str):
    from .diagnostics import DiagnosticsConfig

    if mode not in _DIAG_MODES:
        _fail(f"--diagnostics must be one of {', '.join(_DIAG_MODES)}, got {mode!r}")
    return {"auto": "auto", "off": None, "snr": DiagnosticsConfig(landscape=False),
            "full": DiagnosticsConfig()}[mode]


def _axes(problem: str, task: str | None):
    from ._registry import UnknownComponentError
    from .problem import ProblemError, load_problem

    try:
        p = load_problem(problem)
        info = p.task_info(task)
    except (UnknownComponentError, ProblemError, KeyError) as e:
        _fail(str(e))
    return p, info


@app.command()
def sweep(
    problem: Annotated[str, typer.Option("--problem", "-p", help="catalogue problem")],
    solver: Annotated[str | None, typer.Option("--solver", "-s", help="entry name or path")] = None,
    task: Annotated[str | None, typer.Option(help="task (default: the problem's first)")] = None,
    difficulty: Annotated[str | None, typer.Option(
        help="difficulty values, comma-separated (default: the problem's grid)")] = None,
    data: Annotated[str | None, typer.Option(
        help="data-axis counts, comma-separated (default: the problem's grid)")] = None,
    seeds: Annotated[int, typer.Option(help="seeds per cell (0 … K-1)")] = 3,
    budget: Annotated[str, typer.Option(help="tier: smoke, cpu, standard, long")] = "cpu",
    evals: Annotated[int | None, typer.Option(
        help="explicit budget in gradient evaluations (overrides the tier's count)")] = None,
    diagnostics: Annotated[str, typer.Option(
        help="auto (tier default), off, snr (training probes only), full")] = "auto",
    out: Annotated[Path, typer.Option(help="results folder")] = Path("results"),
    seed_layout: Annotated[str, typer.Option(help="auto, vmap, sequential, or a group size")] = "auto",
    platform: Annotated[str | None, typer.Option(help="cpu or gpu (default: JAX's)")] = None,
) -> None:
    """Train a (difficulty × data) grid of cells for a regime map (finished cells are reused)."""
    if seeds < 1:
        _fail(f"--seeds must be a positive integer, got {seeds}")
    if evals is not None and evals < 1:
        _fail(f"--evals must be a positive integer, got {evals}")
    p, info = _axes(problem, task)
    dvals = _floats(difficulty, "--difficulty") if difficulty else list(info.difficulty.values)
    nvals = _ints(data, "--data") if data else [int(v) for v in info.data.values]
    diag = _diagnostics(diagnostics)
    _setup(platform)
    from .planner import sweep_requests
    from .runner import BenchError, RunRequest, check_writable, execute, plan

    try:
        reqs = sweep_requests(RunRequest(problem=problem, task=info.name, solver=solver,
                                         seeds=range(seeds), budget=budget, out=out, evals=evals,
                                         diagnostics=diag), dvals, nvals)
        planned = [plan(r) for r in reqs]  # validate every cell before training any
        if any(pl.todo for pl in planned):
            check_writable(out)
    except BenchError as e:
        _fail(str(e))
    t0 = time.perf_counter()
    for k, pl in enumerate(planned, 1):
        cell = ", ".join(f"{a}={b:g}" if isinstance(b, float) else f"{a}={b}"
                         for a, b in pl.cell.items())
        pl.request.command = ["bench", "sweep", "--problem", problem, "--task", pl.task,
                              "--solver", pl.solver.name,
                              "--difficulty", f"{pl.cell[info.difficulty.name]:g}",
                              "--data", str(pl.cell[info.data.name]), "--seeds", str(seeds),
                              "--budget", budget] + (["--evals", str(evals)] if evals else []) + (
                                  ["--diagnostics", diagnostics] if diagnostics != "auto" else [])
        todo = len(pl.todo)
        err_console.print(f"[{k}/{len(planned)}] {cell}: "
                          + (f"training {todo} seed(s)…" if todo else "reusing records"))
        try:
            records = execute(pl)
        except BenchError as e:
            _fail(str(e))
        except KeyboardInterrupt:
            _fail("interrupted; finished cells are kept, rerun the same command to resume", 130)
        regimes = ", ".join(r.get("labels", {}).get("regime", "?") for r in records)
        err_console.print(f"    regimes: {regimes}")
    console.print(f"{len(planned)} cell(s) in {out} ({time.perf_counter() - t0:.1f} s); "
                  f"map: bench regimes --problem {problem} --solver {planned[0].solver.name} "
                  f"--runs {out}", highlight=False, soft_wrap=True)


@app.command()
def regimes(
    problem: Annotated[str, typer.Option("--problem", "-p", help="catalogue problem")],
    solver: Annotated[str | None, typer.Option("--solver", "-s", help="entry name")] = None,
    task: Annotated[str | None, typer.Option(help="task (default: the problem's first)")] = None,
    budget: Annotated[str | None, typer.Option(help="budget folder name, e.g. cpu")] = None,
    runs: Annotated[Path, typer.Option(help="results folder to read")] = Path("results"),
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="where to write the map (default: <runs>/regimes-<problem>-<solver>.json)")
    ] = None,
) -> None:
    """Print the regime map of one (problem, solver) and write it as JSON for the site."""
    p, info = _axes(problem, task)
    if not runs.is_dir():
        _fail(f"no results folder {runs}")
    from .regime_map import find_records, map_path, regime_map

    try:
        m = regime_map((r for _, r in find_records(runs)), problem=problem,
                       difficulty=info.difficulty.name, data=info.data.name,
                       canonical_difficulty=p.params.get(info.difficulty.name),
                       solver=solver, task=info.name, budget=budget)
    except ValueError as e:
        _fail(str(e))
    if not m["cells"]:
        _fail(f"no records of {problem}/{info.name}" + (f" with solver {solver}" if solver else "")
              + f" under {runs}")
    d, n = info.difficulty.name, info.data.name
    table = Table(title=f"Regime map: {problem}/{m['task']} / {m['solver']}@{m['config_hash']} / "
                        f"{m['budget']}  (rows: {n}, columns: {d}; majority regime, "
                        "agreement over seeds, mean ±20 % stability)")
    table.add_column(f"{n} \\ {d}")
    for dv in m["difficulty_values"]:
        table.add_column(f"{dv:g}" if isinstance(dv, float) else str(dv), justify="center")
    by = {(c[d], c[n]): c for c in m["cells"]}
    for nv in sorted(m["data_values"], key=float, reverse=True):  # data grows upward
        row = [str(nv)]
        for dv in m["difficulty_values"]:
            c = by.get((dv, nv))
            if c is None:
                row.append("·")
                continue
            stab = "—" if c["stability"] is None else f"{c['stability']:.2f}"
            err = "—" if c["median_rel_l2"] is None else f"{c['median_rel_l2']:.2g}"
            row.append(f"[bold]{c['majority']}[/] {c['agreement'] * c['seeds']:.0f}/{c['seeds']}"
                       f" s{stab}\nL2 {err}")
        table.add_row(*row)
    console.print(table)
    path = json_out or map_path(runs, problem, m["solver"])
    try:
        from .record import write_record

        # write_record is atomic; the map is not a run record but uses the same safe writer
        path.parent.mkdir(parents=True, exist_ok=True)
        write_record(path, m)
    except (OSError, ValueError) as e:
        _fail(f"cannot write {path}: {e}")
    console.print(f"map written to {path}")


@app.command()
def relabel(
    runs: Annotated[Path, typer.Option(help="results folder whose records are relabelled")] = Path(
        "results"),
) -> None:
    """Recompute labels of every record under RUNS with the current thresholds and rules."""
    if not runs.is_dir():
        _fail(f"no results folder {runs}")
    from .problem import ProblemError, load_problem
    from .record import RecordError
    from .regime_map import relabel_dir

    def thresholds_of(problem: str, task: str):
        return load_problem(problem).task_info(task).thresholds

    try:
        n = relabel_dir(runs, thresholds_of)
    except (RecordError, ProblemError, KeyError) as e:
        _fail(str(e))
    console.print(f"relabelled {n} record(s) under {runs}")
