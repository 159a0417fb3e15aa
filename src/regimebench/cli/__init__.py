"""The ``bench`` command line (also ``regimebench`` and ``python -m regimebench``).

One module per verb, each a plain function registered here (the verbs never import this
module, so the package has no import cycle):

============================  ===========================================================
``bench list``                :mod:`.listing` — problems, solver entries, components
``bench run``                 :mod:`.run` — one (problem, solver) pair across seeds
``bench batch [--all]``       :mod:`.batch` — one pair or the whole matrix, on any executor
``bench sweep``               :mod:`.sweep` — a (difficulty × data) grid for a regime map
``bench regimes``/``relabel`` :mod:`.regimes` — regime maps and labels from records
``bench findings``            :mod:`.findings` — verdicts of the published findings re-tested
``bench validate``            :mod:`.validate` — a solver entry (with smoke runs) or a record
``bench show``                :mod:`.show` — one record
``bench reproduce``           :mod:`.reproduce` — rerun one record's seed and compare
``bench doctor``              :mod:`.doctor` — the health of a results folder
``bench reference build``     :mod:`.reference` — reference solutions and their error floors
``bench leaderboard``         :mod:`.leaderboard` — build and serve the site
============================  ===========================================================

Shared pieces: :mod:`._common` (consoles, one-line errors, the progress bar, the numeric
policy), :mod:`._options` (the options and their choices), :mod:`._train` (training on an
executor, the results table). Every training verb plans with :mod:`regimebench.planner` and
trains with :func:`regimebench.executors.run_plans`.

Bad input — an unknown problem or solver, a value that is not one of an option's choices,
malformed TOML, an unwritable results folder — is one line on stderr with exit code 2 and no
traceback; nothing half-written is left behind. So are environment errors (a full disk, a
read-only folder, ``--platform gpu`` without a GPU). Exit codes: 0 success; 1 the command ran but
found a problem (seeds crashed, ``doctor`` found problems, a record was not reproduced); 2 bad
input or environment; 3 an entry carries code and was not imported (needs review, see
``--trust-code``); 130 interrupted. Anything else unexpected is a bug: one ``error: internal
error …`` line and exit 1 (``REGIMEBENCH_DEBUG=1`` shows the traceback). Python warnings are one
``warning:`` line each. ``bench --help`` imports no JAX. Shell completion:
``bench --install-completion``.
"""

from __future__ import annotations

import os
import sys

import typer

from . import (
    batch,
    doctor,
    findings,
    leaderboard,
    listing,
    reference,
    regimes,
    reproduce,
    run,
    show,
    sweep,
    validate,
)
from ._common import INTERRUPTED, error, warnings_as_lines

__all__ = ["app", "main", "entry"]

app = typer.Typer(
    name="bench",
    help="regimebench: train SciML models across seeds, label their training regime, "
         "and build the leaderboard.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
app.command("list")(listing.list_)
app.command()(run.run)
app.command()(batch.batch)
app.command()(sweep.sweep)
app.command()(regimes.regimes)
app.command()(regimes.relabel)
app.command()(findings.findings)
app.command()(validate.validate)
app.command()(show.show)
app.command()(reproduce.reproduce)
app.command()(doctor.doctor)
app.add_typer(reference.app, name="reference")
app.add_typer(leaderboard.app, name="leaderboard")


@app.callback()
def _every_command() -> None:
    # Also under Typer's test runner, which does not go through main().
    warnings_as_lines()


def _is_usage_error(error: Exception) -> bool:
    # Click's (and Typer's vendored Click's) usage errors: a message and an exit code.
    return callable(getattr(error, "format_message", None)) and isinstance(
        getattr(error, "exit_code", None), int)


def _os_error(e: OSError) -> str:
    what = e.strerror or str(e) or type(e).__name__
    return f"{what}: {e.filename}" if e.filename else what


def main() -> None:
    """Entry point: runs the app; every usage, input or environment error is one line, exit 2."""
    sys.exit(entry())


def entry(args: list[str] | None = None) -> int:
    """Run the command line on ``args`` (default: ``sys.argv[1:]``) and return its exit code,
    turning every usage, input or environment error into one line (what :func:`main` does)."""
    from .._registry import UnknownComponentError

    warnings_as_lines()
    try:
        code = app(args=args, prog_name="bench", standalone_mode=False)
    except typer.Exit as e:  # fail() inside a command (some Typer versions re-raise it)
        code = e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        error(INTERRUPTED)
        code = 130
    except UnknownComponentError as e:
        error(str(e))
        code = 2
    except BrokenPipeError:  # `bench list | head`: the reader left; nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    except OSError as e:  # a full disk, a read-only folder, a permission: the environment
        error(_os_error(e))
        code = 2
    except MemoryError:
        error("out of memory")
        code = 2
    except Exception as e:
        if _is_usage_error(e):
            error(e.format_message())
            code = e.exit_code
        elif os.environ.get("REGIMEBENCH_DEBUG"):
            raise
        else:
            detail = str(e).splitlines()[0] if str(e) else ""
            error(f"internal error: {type(e).__name__}" + (f": {detail}" if detail else "")
                  + " (a bug: please report it with the command; REGIMEBENCH_DEBUG=1 shows the "
                  "traceback)")
            code = 1
    return code if isinstance(code, int) else 0
