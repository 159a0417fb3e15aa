"""``bench validate``: check a solver entry (schema, registries, smoke runs) or a run record.

Examples::

    bench validate solvers/my-entry            # what CI runs on a pull request
    bench validate solvers/my-entry --no-smoke # schema, component names and values (seconds)
    bench validate solvers/my-entry --trust-code  # an entry with a module.py, after review
    bench validate results/.../seed-0.json     # a run record, against its JSON Schema

The smoke runs train the entry for one seed at the ``smoke`` tier on CPU on every (problem,
task) it declares, through the same planner and executor as ``bench run``. An entry that carries
code (``module.py`` or any Python file) is not imported unless ``--trust-code`` (or
``REGIMEBENCH_TRUST_CODE=1``) says so: without it the entry is reported as needing review and
nothing of it runs. Exit codes: 0 ok, 1 a smoke run crashed, 2 a bad entry or record, 3 the
entry carries code and needs review.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import _options as o
from ._common import echo, fail, fail_on, fmt, setup


def validate(
    path: Annotated[Path, typer.Argument(help="solver folder, solver.toml, or a record .json")],
    smoke: Annotated[bool, typer.Option(
        "--smoke/--no-smoke",
        help="train at the smoke tier on every declared problem and task, on CPU (what CI "
             "runs); --no-smoke checks only the schema, the component names and values")] = True,
    out: Annotated[Path | None, typer.Option(help="where smoke records go (temp dir)")] = None,
    trust_code: o.TrustCode = False,
) -> None:
    """Check a solver entry (schema, registries, values, smoke runs) or a run record."""
    if path.suffix == ".json":
        from ..record import RecordError
        from ..record_schema import validate_record

        try:
            rec = validate_record(path)
        except RecordError as e:
            head, *violations = str(e).splitlines()
            fail(head + (" " + "; ".join(v.strip() for v in violations) if violations else ""))
        echo(f"ok: record {path} (schema {rec.schema_version}, status {rec.status})")
        return
    from ..solver import EntryNeedsReview, SolverSpecError, load_solver_file

    try:
        spec = load_solver_file(path, trust_code=o.trust(trust_code))
    except EntryNeedsReview as e:
        fail(str(e), 3)
    except (SolverSpecError, KeyError) as e:
        fail(str(e))
    echo(f"ok: {spec.name} v{spec.version} (config {spec.config_hash}): "
         f"{spec.architecture.kind}, " + " → ".join(p.kind for p in spec.phases)
         + f", {spec.weighting.kind} weighting, {spec.sampling.kind} sampling")
    if smoke:
        _smoke(spec, path, out, o.trust(trust_code))


def _smoke(spec, path: Path, out: Path | None, trust_code: bool | None) -> None:
    import tempfile

    setup("cpu")
    from ..planner import BenchError, RunRequest, plan_many
    from ..problem import list_problems, load_problem
    from ._train import train

    out = out or Path(tempfile.mkdtemp(prefix="bench-validate-"))
    requests = [RunRequest(problem=name, task=task, solver=str(path), seeds=[0], budget="smoke",
                           out=out, force=True, platform="cpu", trust_code=trust_code)
                for name in list_problems() for task in load_problem(name).tasks
                if spec.supports(name, task)]
    try:
        plans = plan_many(requests)
    except BenchError as e:
        fail_on(e)
    summary = train(plans, on_job=lambda k, n, outcome: None)
    failures = []
    for planned in plans:
        rec = summary.records_of(planned)[0] or {}
        status = rec.get("status")
        echo(f"  smoke {planned.problem.name}/{planned.task}: {status}, rel. L2 "
             f"{fmt((rec.get('metrics') or {}).get('rel_l2'))}")
        if status == "crashed":
            failures.append(f"{planned.problem.name}/{planned.task}")
    if failures:
        fail(f"smoke runs crashed for {', '.join(failures)}", 1)
