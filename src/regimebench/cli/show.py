"""``bench show RECORD``: one run record in a few lines — identity, status, metrics, labels, and
the command that reproduces it, pinned to the commit that made it.

Every field is printed as text: a record is data from anywhere, so markup such as ``[/]`` prints
as itself and control characters (terminal escape sequences) are shown escaped (``\\x1b``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import console, echo, fail, fmt, plain


def show(record: Annotated[Path, typer.Argument(help="a record .json")]) -> None:
    """Summarise one run record: identity, status, metrics, labels and the command."""
    from ..record import RecordError, RunRecord, pinned_command, read_record

    try:
        data = read_record(record)
        rec = RunRecord.from_dict(data)
    except RecordError as e:
        fail(e if str(e).startswith(str(record)) else f"{record}: {e}")
    spec = rec.spec
    line = plain(f"{spec.problem}@v{spec.problem_version}", style="bold")
    line.append(plain(f" / {spec.task} / "))
    line.append(plain(spec.solver, style="bold"))
    line.append(plain(f"@{spec.config_hash} / {spec.budget} / seed {spec.seed}"
                      f" / harness {spec.harness}"))
    console.print(line, highlight=False)
    echo(f"status: {rec.status}" + (f" ({rec.failure})" if rec.failure else ""))
    table = Table(show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in sorted(rec.metrics.items()):
        table.add_row(plain(k), plain(fmt(v)) if isinstance(v, (int, float)) or v is None
                      else plain(v))
    console.print(table)
    labels = rec.labels
    modes = ", ".join(str(m) for m in labels.get("failure_modes") or []) or "none"
    echo(f"regime: {labels.get('regime')} (stability {labels.get('regime_stability')}); "
         f"failure modes: {modes}")
    if rec.reference:
        echo(f"reference: {rec.reference.get('method')} (error floor "
             f"{fmt(rec.reference.get('error_floor'))})")
    prov = rec.provenance
    echo(f"device: {prov.get('device_kind')} ({prov.get('backend')}), dtype {prov.get('dtype')}, "
         f"git {str(prov.get('git_sha'))[:10]}{' (dirty)' if prov.get('git_dirty') else ''}")
    echo(f"reproduce: {pinned_command(data)}")
    if rec.traceback:
        echo(rec.traceback)
