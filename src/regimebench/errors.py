"""The error a user of the command line or the Python API gets for bad input.

:class:`BenchError` is raised before anything trains (an unknown problem or entry, a bad seed
count, a budget tier that does not exist, an unwritable results folder) or when results cannot be
written (a full disk). Its ``str()`` is a one-line message; the command line prints it as
``error: …`` and exits with code 2. Training failures are never errors: they are recorded.
Re-exported by :mod:`regimebench`, :mod:`regimebench.planner` and :mod:`regimebench.runner`.
"""

from __future__ import annotations

__all__ = ["BenchError"]


class BenchError(Exception):
    """Bad input or an environment problem; the CLI prints it on one line and exits with 2."""
