"""``bench show RECORD``: one run record in a few lines — identity, status, metrics, labels, and
the command that reproduces it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import console, echo, fail, fmt, plain


def show(record: Annotated[Path, typer.Argument(help="a record .json")]) -> None:
    """Summarise one run record: identity, status, metrics, labels and the command."""
    # Seam (stats helper): read through the typed RunRecord (and its pinned command, which
    # prefixes the commit) after merge.
    from ..record import RecordError, read_record

    try:
        rec = read_record(record)
    except RecordError as e:
        fail(str(e))
    spec = rec["spec"]
    line = plain(f"{spec['problem']}@v{spec['problem_version']}", style="bold")
    line.append(plain(f" / {spec['task']} / "))
    line.append(plain(spec["solver"], style="bold"))
    line.append(plain(f"@{spec['config_hash']} / {spec['budget']} / seed {spec['seed']}"))
    console.print(line, highlight=False)
    echo(f"status: {rec['status']}" + (f" ({rec['failure']})" if rec.get("failure") else ""))
    table = Table(show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in sorted((rec.get("metrics") or {}).items()):
        table.add_row(plain(k), fmt(v) if isinstance(v, (int, float)) or v is None else plain(v))
    console.print(table)
    labels = rec.get("labels") or {}
    echo(f"regime: {labels.get('regime')} (stability {labels.get('regime_stability')}); "
         f"failure modes: {', '.join(labels.get('failure_modes', [])) or 'none'}")
    ref = rec.get("reference") or {}
    if ref:
        echo(f"reference: {ref.get('method')} (error floor {fmt(ref.get('error_floor'))})")
    prov = rec.get("provenance") or {}
    echo(f"device: {prov.get('device_kind')} ({prov.get('backend')}), dtype {prov.get('dtype')}, "
         f"git {str(prov.get('git_sha'))[:10]}{' (dirty)' if prov.get('git_dirty') else ''}")
    echo(f"reproduce: {prov.get('command')}")
    if rec.get("traceback"):
        echo(rec["traceback"])
