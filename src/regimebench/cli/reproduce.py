"""``bench reproduce RECORD``: rerun the seed of one record and say whether it reproduces.

Examples::

    bench reproduce leaderboard/runs/helmholtz@v1/forward/pinn-mlp-adam@.../cpu/seed-0.json
    bench reproduce RECORD --tolerance 0.05 --out /tmp/rerun

The record's run is planned again from the catalogue (:func:`regimebench.reproduce.
reproduce_record`); if the catalogue now plans something else (the entry, problem or budget
changed) the command says so and prints the commit-pinned command that would rerun it. Otherwise
the seed trains into ``--out`` (default: a new temporary folder) and its rel. L2 is compared with
the record's against a relative tolerance (default: the task's ``reproduce_rtol``, else 1 %).
Exit codes: 0 reproduced, 1 not reproduced (the numbers differ, or the status), 2 bad input (not
a record, a catalogue that no longer plans it), 3 the entry carries code and needs review.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from . import _options as o
from ._common import echo, fail, fail_on, setup


def reproduce(
    record: Annotated[Path, typer.Argument(help="a run record .json")],
    tolerance: Annotated[float | None, typer.Option(
        help="relative tolerance on rel. L2 (default: the task's reproduce_rtol, else 0.01)")
    ] = None,
    out: Annotated[Path | None, typer.Option(
        help="results folder for the rerun's record (default: a new temporary folder)")] = None,
    solver: Annotated[str | None, typer.Option(
        "--solver", "-s", help="the entry's folder, if it is not in the catalogue by its name")
    ] = None,
    platform: o.PlatformOpt = None,
    trust_code: o.TrustCode = False,
) -> None:
    """Rerun one record's seed and compare its rel. L2 with the record's (exit 1 if it differs)."""
    if tolerance is not None and not (math.isfinite(tolerance) and tolerance >= 0):
        fail(f"--tolerance must be a finite number ≥ 0, got {tolerance}")
    from ..errors import BenchError
    from ..record import RecordError, read_record

    try:
        read_record(record)  # a bad file fails here, before JAX starts
    except RecordError as e:
        fail(str(e))
    setup(platform)
    from ..reproduce import reproduce_record

    try:
        report = reproduce_record(record, tolerance=tolerance, out=out, solver=solver,
                                  trust_code=o.trust(trust_code))
    except RecordError as e:
        fail(str(e))
    except BenchError as e:
        fail_on(e)
    echo(report.summary())
    raise typer.Exit(0 if report.within else 1)
