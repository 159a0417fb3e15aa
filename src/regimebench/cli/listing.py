"""``bench list problems|solvers|components``: the catalogue, the entries, the components."""

from __future__ import annotations

import enum
from typing import Annotated

import typer
from rich.table import Table

from ._common import console, plain


class Listable(enum.StrEnum):
    """What ``bench list`` can list."""

    PROBLEMS = "problems"
    SOLVERS = "solvers"
    COMPONENTS = "components"


def _parse(value):
    from ..choices import parse_choice

    try:
        return parse_choice(Listable, value, "list target")
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def list_(
    what: Annotated[Listable, typer.Argument(parser=_parse, help="what to list")] =
        Listable.PROBLEMS,
) -> None:
    """List the catalogue's problems, the solver entries, or the registered components."""
    {Listable.PROBLEMS: _problems, Listable.SOLVERS: _solvers,
     Listable.COMPONENTS: _components}[what]()


def _problems() -> None:
    from ..problem import list_problems, load_problem

    table = Table(title="Problems")
    for col in ("problem", "version", "task", "default solver", "difficulty axis", "data axis"):
        table.add_column(col)
    for name in list_problems():
        p = load_problem(name)
        for t in p.tasks.values():
            table.add_row(plain(name), str(p.version), plain(t.name), plain(t.default_solver),
                          plain(f"{t.difficulty.name} ∈ {list(t.difficulty.values)}"),
                          plain(f"{t.data.name} ∈ {list(t.data.values)}"))
    console.print(table)


def _solvers() -> None:
    # An entry that carries code is listed as needing review, never imported (unless
    # REGIMEBENCH_TRUST_CODE=1); a broken entry is one "invalid" row, not the end of the list.
    from ..solver import EntryNeedsReview, SolverSpecError, list_solvers, load_solver

    table = Table(title="Solver entries")
    for col in ("solver", "version", "tasks", "architecture", "phases", "weighting", "dtype"):
        table.add_column(col)
    for name in list_solvers():
        try:
            s = load_solver(name)
        except EntryNeedsReview as e:
            files = ", ".join(f.name for f in e.files[:3])
            table.add_row(plain(name), "needs review", plain(f"carries code ({files}): not "
                                                               "imported"), "", "", "", "")
            continue
        except SolverSpecError as e:
            table.add_row(plain(name), "invalid", plain(e), "", "", "", "")
            continue
        phases = " → ".join(f"{p.kind}({p.fraction:g})" for p in s.phases)
        table.add_row(plain(name), str(s.version), plain(",".join(s.tasks)),
                      plain(s.architecture.kind), plain(phases), plain(s.weighting.kind),
                      plain(s.dtype))
    console.print(table)


def _components() -> None:
    from ..components import architectures, optimizers, samplers, weightings
    from ..loss_forms import loss_forms

    table = Table(title="Components")
    for col in ("kind", "name", "description"):
        table.add_column(col)
    for reg in (architectures, optimizers, weightings, samplers, loss_forms):
        for name in reg:
            table.add_row(plain(reg.kind), plain(name), plain(reg.describe(name)))
    console.print(table)
