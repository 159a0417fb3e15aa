"""The ``bench`` command line (also ``regimebench`` and ``python -m regimebench``).

One module per verb, each a plain function registered here (the verbs never import this
module, so the package has no import cycle):

============================  ===========================================================
``bench list``                :mod:`.listing` — problems, solver entries, components
``bench run``                 :mod:`.run` — one (problem, solver) pair across seeds
``bench batch [--all]``       :mod:`.batch` — one pair or the whole matrix, on any executor
``bench sweep``               :mod:`.sweep` — a (difficulty × data) grid for a regime map
``bench regimes``/``relabel`` :mod:`.regimes` — regime maps and labels from records
``bench validate``            :mod:`.validate` — a solver entry (with smoke runs) or a record
``bench show``                :mod:`.show` — one record
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
traceback; nothing half-written is left behind. ``bench --help`` imports no JAX. Shell
completion: ``bench --install-completion``.
"""

from __future__ import annotations

import sys

import typer

from . import batch, doctor, leaderboard, listing, reference, regimes, run, show, sweep, validate
from ._common import INTERRUPTED, error

__all__ = ["app", "main"]

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
app.command()(validate.validate)
app.command()(show.show)
app.command()(doctor.doctor)
app.add_typer(reference.app, name="reference")
app.add_typer(leaderboard.app, name="leaderboard")


def _is_usage_error(error: Exception) -> bool:
    # Click's (and Typer's vendored Click's) usage errors: a message and an exit code.
    return callable(getattr(error, "format_message", None)) and isinstance(
        getattr(error, "exit_code", None), int)


def main() -> None:
    """Entry point: runs the app; every usage error or known input error is one line, exit 2."""
    from .._registry import UnknownComponentError

    try:
        code = app(standalone_mode=False)
    except typer.Exit as e:  # fail() inside a command (some Typer versions re-raise it)
        code = e.exit_code
    except typer.Abort:
        error(INTERRUPTED)
        code = 130
    except UnknownComponentError as e:
        error(str(e))
        code = 2
    except Exception as e:
        if not _is_usage_error(e):
            raise
        error(e.format_message())
        code = e.exit_code
    sys.exit(code if isinstance(code, int) else 0)
