"""The options the verbs share, declared once, with their choices as enumerations.

A choice option is annotated with its enumeration, so Typer lists the values in ``--help`` and
shell completion offers them; its parser turns a typo into a one-line error that names the
closest values. Comma-separated lists (``--difficulty 1,4,16``) are parsed here, once.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..choices import (
    DiagnosticsMode,
    Platform,
    SeedLayout,
    Tier,
    WandbMode,
    parse_choice,
    parse_seed_layout,
)
from ..executors import executors

__all__ = ["ExecutorName", "Numbers", "Counts", "executor_options", "trust"]

# The registered executors (local, ray, slurm, and any a plugin registers before the CLI loads).
ExecutorName = enum.StrEnum("ExecutorName", {n.upper(): n for n in executors.names()})
ExecutorName.__module__ = __name__


def _choice(enum_cls: type[enum.StrEnum], what: str):
    def parse(value: Any):
        try:
            return parse_choice(enum_cls, value, what)
        except ValueError as e:
            raise typer.BadParameter(str(e)) from None

    return parse


def _seed_layout(value: Any):
    try:
        return parse_seed_layout(value)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


class Numbers(tuple):
    """Comma-separated numbers (``1,4,16``)."""


class Counts(tuple):
    """Comma-separated positive integers (``64,256,1024``)."""


def _numbers(text: Any) -> Numbers:
    if isinstance(text, Numbers):
        return text
    try:
        values = Numbers(float(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise typer.BadParameter("needs at least one value")
    return values


def _counts(text: Any) -> Counts:
    if isinstance(text, Counts):
        return text
    values = _numbers(text)
    if any(v != int(v) or v < 1 for v in values):
        raise typer.BadParameter(f"expected comma-separated positive integers, got {text!r}")
    return Counts(int(v) for v in values)


def _complete_seed_layout() -> list[str]:
    return [m.value for m in SeedLayout]


def executor_options(address: str | None, gpus_per_run: float | None, partition: str | None,
                     timeout_min: int) -> dict[str, Any]:
    """Keyword options of :func:`regimebench.executors.make_executor` from the CLI's flags."""
    return {"address": address, "gpus_per_run": gpus_per_run, "partition": partition,
            "timeout_min": timeout_min}


# --------------------------------------------------------------------------------- what to train
Problem = Annotated[str, typer.Option("--problem", "-p", help="catalogue problem")]
Task = Annotated[str | None, typer.Option(help="task (default: the problem's first)")]
Solver = Annotated[str | None, typer.Option(
    "--solver", "-s", help="entry name or path (default: the task's default entry)")]
Seeds = Annotated[int, typer.Option(help="number of seeds (0 … N-1)")]
Budget = Annotated[Tier, typer.Option(parser=_choice(Tier, "budget tier"),
                                      help="budget tier (gradient evaluations per seed)")]
OptionalBudget = Annotated[Tier | None, typer.Option(
    parser=_choice(Tier, "budget tier"),
    help="budget tier (default: standard on GPU, cpu otherwise)")]
Evals = Annotated[int | None, typer.Option(
    help="explicit budget in gradient evaluations (overrides the tier's count)")]
Out = Annotated[Path, typer.Option(help="results folder")]
Force = Annotated[bool, typer.Option(help="retrain seeds whose record exists")]
SeedLayoutOpt = Annotated[str, typer.Option(
    "--seed-layout", parser=_seed_layout, autocompletion=_complete_seed_layout,
    metavar="auto|vmap|sequential|N",
    help="how seeds share compiled programs: auto, vmap, sequential, or a group size")]
PlatformOpt = Annotated[Platform | None, typer.Option(
    parser=_choice(Platform, "platform"), help="JAX platform (default: JAX's choice)")]
Diagnostics = Annotated[DiagnosticsMode, typer.Option(
    parser=_choice(DiagnosticsMode, "diagnostics mode"),
    help="auto (the tier's default), off, snr (training probes only), or full (adds Hessian, "
         "mode connectivity, CKA and loss slices)")]
DifficultyValue = Annotated[float | None, typer.Option(
    "--difficulty", help="the task's difficulty parameter (a regime-map cell; default canonical)")]
DataCount = Annotated[int | None, typer.Option(
    "--data", min=1, help="the task's data-axis count (a regime-map cell; default canonical)")]
DifficultyList = Annotated[Numbers | None, typer.Option(
    "--difficulty", parser=_numbers, metavar="V1,V2,...",
    help="difficulty values, comma-separated (default: the problem's grid)")]
DataList = Annotated[Counts | None, typer.Option(
    "--data", parser=_counts, metavar="N1,N2,...",
    help="data-axis counts, comma-separated (default: the problem's grid)")]

# --------------------------------------------------------------------------------- where to train
Executor = Annotated[ExecutorName, typer.Option(
    parser=_choice(ExecutorName, "executor"),
    help="where runs train: local (this process), ray or slurm (both need the dist extra)")]
Address = Annotated[str | None, typer.Option(
    help="Ray cluster address (auto, ray://host:10001); default: a private local instance")]
GpusPerRun = Annotated[float | None, typer.Option(
    help="GPU share of one run (Ray: fractions pack runs on a card; SLURM: rounded up)")]
Partition = Annotated[str | None, typer.Option(help="SLURM partition")]
TimeoutMin = Annotated[int, typer.Option(help="SLURM time limit per run, in minutes")]
IsolateSeeds = Annotated[bool, typer.Option(
    help="one job per seed (failure isolation) instead of one job per run (seeds batched)")]

# --------------------------------------------------------------------------------- mirrors
Wandb = Annotated[bool, typer.Option(
    "--wandb", help="mirror new records (curves, summaries) to Weights & Biases")]
WandbModeOpt = Annotated[WandbMode | None, typer.Option(
    parser=_choice(WandbMode, "wandb mode"),
    help="offline (no login), online, disabled; default $WANDB_MODE or offline")]

# --------------------------------------------------------------------------------- safety
TrustCode = Annotated[bool, typer.Option(
    "--trust-code",
    help="import a solver entry that carries code (module.py or any .py); without it such an "
         "entry is refused as needing review (also: REGIMEBENCH_TRUST_CODE=1)")]
AllowManySeeds = Annotated[bool, typer.Option(
    "--allow-many-seeds",
    help="confirm a request for more than 10 000 seeds (at most 1 000 000 per command)")]


def trust(flag: bool) -> bool | None:
    """The planner's ``trust_code`` for a ``--trust-code`` flag (unset: the environment)."""
    return True if flag else None
