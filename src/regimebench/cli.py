"""The ``bench`` command line (also ``regimebench`` and ``python -m regimebench``).

Bad input — an unknown problem or solver, malformed TOML, an unknown key, a non-positive seed
count, an unwritable results folder — is reported on one line on stderr with exit code 2 and no
traceback; nothing half-written is left behind. Training failures are not errors: they are
recorded and counted.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="bench",
    help="regimebench: train SciML models across seeds, label their training regime, "
    "and build the leaderboard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
reference_app = typer.Typer(help="Reference solutions: build and inspect the cache.",
                            no_args_is_help=True)
app.add_typer(reference_app, name="reference")

# Piped output (CI logs, ``| tee``) gets a wide console, so tables are not cut at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


class UsageError(Exception):
    """Bad input detected by the CLI itself."""


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _setup(platform: str | None = None) -> None:
    from ._config import configure

    configure(platform=platform)


def _fmt(x, spec: str = ".3e") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return format(x, spec)


# --------------------------------------------------------------------------------------- list
@app.command("list")
def list_cmd(
    what: Annotated[str, typer.Argument(help="problems, solvers or components")] = "problems",
) -> None:
    """List the catalogue's problems, the solver entries, or the registered components."""
    from ._registry import did_you_mean

    choices = ("problems", "solvers", "components")
    if what not in choices:
        _fail(f"cannot list {what!r}." + did_you_mean(what, choices))
    if what == "problems":
        from .problem import list_problems, load_problem

        table = Table(title="Problems")
        for col in ("problem", "version", "task", "default solver", "difficulty axis",
                    "data axis"):
            table.add_column(col)
        for name in list_problems():
            p = load_problem(name)
            for t in p.tasks.values():
                table.add_row(name, str(p.version), t.name, t.default_solver,
                              f"{t.difficulty.name} ∈ {list(t.difficulty.values)}",
                              f"{t.data.name} ∈ {list(t.data.values)}")
        console.print(table)
    elif what == "solvers":
        from .solver import SolverSpecError, list_solvers, load_solver

        table = Table(title="Solver entries")
        for col in ("solver", "version", "tasks", "architecture", "phases", "weighting", "dtype"):
            table.add_column(col)
        for name in list_solvers():
            try:
                s = load_solver(name)
            except SolverSpecError as e:
                table.add_row(name, "invalid", str(e), "", "", "", "")
                continue
            phases = " → ".join(f"{p.kind}({p.fraction:g})" for p in s.phases)
            table.add_row(name, str(s.version), ",".join(s.tasks), s.architecture.kind, phases,
                          s.weighting.kind, s.dtype)
        console.print(table)
    else:
        from .components import architectures, optimizers, samplers, weightings

        table = Table(title="Components")
        table.add_column("kind")
        table.add_column("name")
        table.add_column("description")
        for reg in (architectures, optimizers, weightings, samplers):
            for name in reg:
                table.add_row(reg.kind, name, reg.describe(name))
        console.print(table)


# --------------------------------------------------------------------------------------- run
def _progress_bar(description: str):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("evals"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=err_console, transient=False)


def print_results(records: list[dict], command: str) -> None:
    """The per-seed table and the median line, as ``bench run`` prints them."""
    if not records:
        return
    spec = records[0]["spec"]
    table = Table(title=f"{spec['problem']}@v{spec['problem_version']} / {spec['task']} / "
                        f"{spec['solver']}@{spec['config_hash']} / {spec['budget']} "
                        f"({spec['evals']} gradient evaluations)")
    for col in ("seed", "rel. L2", "final loss", "status", "regime", "failure modes", "seconds"):
        table.add_column(col, justify="right" if col not in ("status", "failure modes") else "left")
    errs = []
    for rec in records:
        m = rec.get("metrics", {})
        labels = rec.get("labels", {})
        err = m.get("rel_l2") if rec.get("status") == "ok" else None
        errs.append(err if err is not None else math.inf)  # failures count as worst, never dropped
        timing = rec.get("timing", {})
        seconds = timing.get("seed_wall_s")
        table.add_row(str(rec["spec"]["seed"]), _fmt(m.get("rel_l2")), _fmt(m.get("loss")),
                      rec.get("status", "?"), labels.get("regime", "—"),
                      ", ".join(labels.get("failure_modes", [])) or "—", _fmt(seconds, ".1f"))
    med = statistics.median(errs)
    ok = sum(r.get("status") == "ok" for r in records)
    table.add_section()
    table.add_row("median", _fmt(med), "", f"{ok}/{len(records)} ok", "", "", "")
    console.print(table)
    console.print(f"reproduce: [bold]{command}[/]", highlight=False, soft_wrap=True)


@app.command()
def run(
    problem: Annotated[str, typer.Option("--problem", "-p", help="catalogue problem")],
    task: Annotated[str | None, typer.Option(help="task (default: the problem's first)")] = None,
    solver: Annotated[str | None, typer.Option(
        "--solver", "-s", help="entry name or path (default: the task's default entry)")] = None,
    seeds: Annotated[int, typer.Option(help="number of seeds (0 … N-1)")] = 3,
    seed_start: Annotated[int, typer.Option(help="first seed")] = 0,
    budget: Annotated[str | None, typer.Option(
        help="tier: smoke, cpu, standard, long (default: standard on GPU, cpu otherwise)")] = None,
    out: Annotated[Path, typer.Option(help="results folder")] = Path("results"),
    force: Annotated[bool, typer.Option(help="retrain seeds whose record exists")] = False,
    seed_layout: Annotated[str, typer.Option(
        help="auto, vmap, sequential, or a group size")] = "auto",
    platform: Annotated[str | None, typer.Option(help="cpu or gpu (default: JAX's)")] = None,
    wandb: Annotated[bool, typer.Option(
        "--wandb", help="mirror new records (curves, summaries) to Weights & Biases")] = False,
    wandb_mode: Annotated[str | None, typer.Option(
        help="offline (default; no login), online, disabled; default $WANDB_MODE or offline")
    ] = None,
    diagnostics: Annotated[str, typer.Option(
        help="auto (the tier's default), off, snr (training curves only), or full "
             "(adds Hessian, mode connectivity, CKA and loss slices)")] = "auto",
) -> None:
    """Train one (problem, solver) pair across seeds and write one record per seed."""
    if seeds < 1:
        _fail(f"--seeds must be a positive integer, got {seeds}")
    if seed_start < 0:
        _fail(f"--seed-start must be non-negative, got {seed_start}")
    _setup(platform)
    from .budget import default_tier
    from .runner import BenchError, RunRequest, check_writable, execute, plan
    from .tracking import TrackingError, make_tracker

    try:  # before training: a missing wandb or login must not cost a run
        tracker = make_tracker("wandb" if wandb else "off", out=out, mode=wandb_mode)
    except TrackingError as e:
        _fail(str(e))

    from .cli_regimes import _diagnostics

    command = ["bench", "run", "--problem", problem]
    request = RunRequest(problem=problem, task=task, solver=solver,
                         seeds=list(range(seed_start, seed_start + seeds)),
                         budget=budget or default_tier(), out=out, force=force,
                         seed_layout=seed_layout, diagnostics=_diagnostics(diagnostics))
    try:
        planned = plan(request)
    except BenchError as e:
        _fail(str(e))
    # A solver given as a path is recorded as that path: the command must rerun as printed.
    solver_arg = solver if solver and Path(solver).exists() else planned.solver.name
    command += ["--task", planned.task, "--solver", solver_arg,
                "--seeds", str(seeds), "--budget", request.budget]
    if seed_start:
        command += ["--seed-start", str(seed_start)]
    if diagnostics != "auto":
        command += ["--diagnostics", diagnostics]
    request.command = command
    todo = planned.todo
    try:
        if todo:
            check_writable(out)
    except BenchError as e:
        _fail(str(e))
    skipped = len(planned.specs) - len(todo)
    if skipped:
        err_console.print(f"{skipped} seed(s) already have records under {out} (use --force to "
                          "retrain); skipping them.")
    t0 = time.perf_counter()
    try:
        if todo:
            err_console.print(
                f"Training {planned.problem.name}/{planned.task} with {planned.solver.name} "
                f"for {planned.evals} gradient evaluations × {len(todo)} seed(s) "
                f"(budget {request.budget}; compiling first)…")
            with _progress_bar("training") as progress:
                bar = progress.add_task("training", total=planned.evals * len(todo))

                def on_progress(done: int, total: int) -> None:
                    progress.update(bar, completed=done, total=total)

                records = execute(planned, progress=on_progress)
        else:
            records = execute(planned)
    except BenchError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted; finished records are kept, rerun the same command to resume", 130)
    print_results(records, " ".join(command))
    console.print(f"{len(records)} record(s) in {out} ({time.perf_counter() - t0:.1f} s)")
    for i in todo:  # mirror only what this command trained
        where = tracker.mirror(records[i])
        if where:
            err_console.print(f"wandb: seed {records[i]['spec']['seed']} mirrored to {where}",
                              highlight=False)


# --------------------------------------------------------------------------------------- validate
@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="solver folder, solver.toml, or a record .json")],
    smoke: Annotated[bool, typer.Option(
        "--smoke/--no-smoke",
        help="train at the smoke tier on every declared problem and task, on CPU (what CI "
             "runs); --no-smoke checks only the schema and the component names")] = True,
    out: Annotated[Path | None, typer.Option(help="where smoke records go (temp dir)")] = None,
) -> None:
    """Check a solver entry (schema, registries, smoke runs) or a run record, as CI does."""
    if path.suffix == ".json":
        from .record import RecordError, read_record

        try:
            rec = read_record(path)
        except RecordError as e:
            _fail(str(e))
        console.print(f"ok: record {path} (schema {rec['schema_version']}, status {rec['status']})")
        return
    from .solver import SolverSpecError, load_solver_file

    try:
        spec = load_solver_file(path)
    except (SolverSpecError, KeyError) as e:
        _fail(str(e))
    console.print(f"ok: {spec.name} v{spec.version} (config {spec.config_hash}): "
                  f"{spec.architecture.kind}, " + " → ".join(p.kind for p in spec.phases)
                  + f", {spec.weighting.kind} weighting, {spec.sampling.kind} sampling")
    if smoke:
        _validate_smoke(spec, path, out)


def _validate_smoke(spec, path: Path, out: Path | None) -> None:
    import tempfile

    _setup("cpu")
    from .problem import list_problems, load_problem
    from .runner import BenchError, RunRequest, execute, plan

    out = out or Path(tempfile.mkdtemp(prefix="bench-validate-"))
    failures = []
    for name in list_problems():
        problem = load_problem(name)
        for task in problem.tasks:
            if not spec.supports(name, task):
                continue
            request = RunRequest(problem=name, task=task, solver=str(path), seeds=[0],
                                 budget="smoke", out=out, force=True)
            try:
                rec = execute(plan(request))[0]
            except BenchError as e:
                _fail(str(e))
            status = rec.get("status")
            console.print(f"  smoke {name}/{task}: {status}, rel. L2 "
                          f"{_fmt(rec.get('metrics', {}).get('rel_l2'))}")
            if status == "crashed":
                failures.append(f"{name}/{task}")
    if failures:
        _fail(f"smoke runs crashed for {', '.join(failures)}", 1)


# --------------------------------------------------------------------------------------- show
@app.command()
def show(record: Annotated[Path, typer.Argument(help="a record .json")]) -> None:
    """Summarise one run record: identity, status, metrics, labels and the command."""
    from .record import RecordError, read_record

    try:
        rec = read_record(record)
    except RecordError as e:
        _fail(str(e))
    spec = rec["spec"]
    console.print(f"[bold]{spec['problem']}@v{spec['problem_version']}[/] / {spec['task']} / "
                  f"[bold]{spec['solver']}[/]@{spec['config_hash']} / {spec['budget']} / "
                  f"seed {spec['seed']}", highlight=False)
    console.print(f"status: {rec['status']}" + (f" ({rec['failure']})" if rec.get("failure") else ""))
    table = Table(show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in sorted((rec.get("metrics") or {}).items()):
        table.add_row(k, _fmt(v) if isinstance(v, (int, float)) or v is None else str(v))
    console.print(table)
    labels = rec.get("labels", {})
    console.print(f"regime: {labels.get('regime')} (stability {labels.get('regime_stability')}); "
                  f"failure modes: {', '.join(labels.get('failure_modes', [])) or 'none'}")
    ref = rec.get("reference") or {}
    if ref:
        console.print(f"reference: {ref.get('method')} (error floor {_fmt(ref.get('error_floor'))})")
    prov = rec.get("provenance", {})
    console.print(f"device: {prov.get('device_kind')} ({prov.get('backend')}), dtype {prov.get('dtype')}, "
                  f"git {str(prov.get('git_sha'))[:10]}{' (dirty)' if prov.get('git_dirty') else ''}")
    console.print(f"reproduce: [bold]{prov.get('command')}[/]", highlight=False, soft_wrap=True)
    if rec.get("traceback"):
        console.print(rec["traceback"], highlight=False)


# --------------------------------------------------------------------------------------- reference
@reference_app.command("build")
def reference_build(
    problem: Annotated[str | None, typer.Option("--problem", "-p")] = None,
) -> None:
    """Build (or load from cache) the reference of every problem and task; print floors and times."""
    _setup()
    from .problem import list_problems, load_problem

    names = [problem] if problem else list_problems()
    table = Table(title="Reference solutions")
    for col in ("problem", "task", "method", "error floor", "build s", "cache"):
        table.add_column(col)
    for name in names:
        try:
            p = load_problem(name)
        except KeyError as e:
            _fail(str(e))
        module = p.module
        for task in p.tasks:
            if not hasattr(module, "reference"):
                continue
            params = p.resolve_params(task)
            t0 = time.perf_counter()
            ref = module.reference(params) if _arity(module.reference) == 1 else \
                module.reference(params, task)
            wall = time.perf_counter() - t0
            cached = "hit" if wall < 0.5 * max(ref.build_seconds, 1e-9) else "built"
            table.add_row(name, task, ref.solution.method, _fmt(ref.solution.error_floor, ".2e"),
                          f"{ref.build_seconds:.1f}", cached)
    console.print(table)


def _arity(fn) -> int:
    import inspect

    return len(inspect.signature(fn).parameters)


# --------------------------------------------------------------------------------------- main
# Feature commands live in their own modules (one job each) and register on ``app`` on import.
# from . import cli_<feature>  # noqa: E402,F401   <- one line per feature module
from . import cli_exec, cli_leaderboard, cli_regimes  # noqa: E402,F401


def main() -> None:
    """Entry point: runs the Typer app, turning known input errors into one-line messages."""
    from ._registry import UnknownComponentError

    try:
        app()
    except UnknownComponentError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False)
        sys.exit(2)
