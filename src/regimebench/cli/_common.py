"""What every verb shares: the consoles, one-line errors, the progress bar, the numeric policy.

All text a command prints goes through :func:`echo`, :func:`note`, :func:`warn`, :func:`error`
or :func:`fail` (or through :func:`plain` into a table cell), so it is never read as Rich markup
(a file or entry named ``[/]`` prints as itself) and control characters from records or file
names reach the terminal escaped (``\\x1b``), never interpreted. Errors are one line on stderr
with exit code 2 (:func:`fail`); training failures are not errors, they are recorded and counted.

Nothing here imports JAX, so ``bench --help`` stays fast.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

__all__ = ["console", "err_console", "plain", "echo", "note", "warn", "error", "fail", "setup",
           "fail_on", "fmt", "print_table", "warnings_as_lines", "progress_bar", "INTERRUPTED"]

# Piped output (CI logs, ``| tee``) gets a wide console, so tables are not cut at 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

INTERRUPTED = "interrupted; finished records are kept, rerun the same command to resume"

# C0 and C1 control characters except tab and newline (escape sequences, bells, backspaces).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: Any, style: str = "") -> Text:
    """``text`` as a Rich :class:`~rich.text.Text`: markup is not interpreted, controls escaped."""
    return Text(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)), style=style)


def echo(message: Any, style: str = "") -> None:
    """Print one result line on stdout."""
    console.print(plain(message, style), soft_wrap=True, highlight=False)


def note(message: Any) -> None:
    """Print one line of progress or context on stderr (stdout stays the command's result)."""
    err_console.print(plain(message), soft_wrap=True, highlight=False)


def warn(message: Any) -> None:
    """Print one ``warning:`` line on stderr; the command goes on."""
    err_console.print(Text.assemble(("warning:", "yellow"), " ", plain(message)),
                      soft_wrap=True, highlight=False)


def error(message: Any) -> None:
    """Print ``error: message`` as one line on stderr (newlines in ``message`` become spaces)."""
    one_line = " ".join(str(message).split("\n"))
    err_console.print(Text.assemble(("error:", "bold red"), " ", plain(one_line)),
                      soft_wrap=True, highlight=False)


def fail(message: Any, code: int = 2) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with ``code`` (2: bad input)."""
    error(message)
    raise typer.Exit(code)


def fail_on(e: Exception) -> NoReturn:
    """:func:`fail` with an exception's message and its ``exit_code`` (default 2)."""
    fail(str(e), getattr(e, "exit_code", 2))


def setup(platform: str | None = None) -> None:
    """Set the process's numeric policy (:func:`regimebench._config.configure`) once.

    An explicit ``platform`` is checked at once: ``--platform gpu`` on a machine where JAX finds
    no GPU is one line and exit 2 here, not a traceback at the first computation.
    """
    from .. import _config

    try:
        _config.configure(platform=None if platform is None else str(platform))
        if platform is not None:
            import jax

            jax.devices()
    except RuntimeError as e:  # JAX's "Unable to initialize backend …"
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        fail(f"--platform {platform}: JAX cannot use this platform here ({first})")


def print_table(table: Any) -> None:
    """Print a :class:`regimebench.tables.Table`: its rows, a separator, its summary rows;
    ``right`` columns right-aligned. Every cell is plain text (never markup)."""
    from rich.table import Table

    out = Table(title=plain(table.title))
    for col in table.columns:
        out.add_column(plain(col), justify="right" if col in table.right else "left")
    for row in table.rows:
        out.add_row(*(plain(c) for c in row))
    if table.summary:
        out.add_section()
        for row in table.summary:
            out.add_row(*(plain(c) for c in row))
    console.print(out)


def warnings_as_lines() -> None:
    """Show Python warnings (a skipped record of the API, a corrupt cache entry being rebuilt)
    as one ``warning:`` line each, instead of Python's two lines with a source location."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        warn(message)

    warnings.showwarning = show


def fmt(x: Any, spec: str = ".3e") -> str:
    """A number for a table: ``—`` for missing or non-finite values."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    return format(x, spec)


@contextmanager
def progress_bar(description: str, total: int, unit: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields ``update(completed)``.

    When stderr is not a terminal (CI logs, ``nohup`` files) there is no bar to redraw; instead
    one plain line is printed each time another tenth of ``total`` is done, with the time so
    far and a linear estimate of the time left, so a log of a long background run says how far
    it got.
    """
    if not err_console.is_terminal:
        yield _progress_lines(description, total, unit)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn(unit), TimeElapsedColumn(), TimeRemainingColumn(),
                        console=err_console)
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda completed: progress.update(task, completed=completed)


def _progress_lines(description: str, total: int, unit: str,
                    clock: Callable[[], float] = time.monotonic) -> Callable[[int], None]:
    """``update(completed)`` for logs: a line at each further tenth of ``total`` reached."""
    start = clock()
    printed = [0]  # tenths already reported

    def update(completed: int) -> None:
        tenths = min(10, (10 * completed) // total) if total > 0 else 10
        if tenths <= printed[0]:
            return
        printed[0] = tenths
        elapsed = clock() - start
        left = elapsed * (total - completed) / completed if 0 < completed < total else 0.0
        note(f"{description}: {completed}/{total} {unit} ({10 * tenths} %), "
             f"{_duration(elapsed)} so far" + (f", about {_duration(left)} left" if left else ""))

    return update


def _duration(seconds: float) -> str:
    """``1 h 02 min``, ``3 min 05 s`` or ``12 s``."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"
