"""regimebench: a reproducible benchmark for training scientific machine-learning models.

Every run trains one (problem, solver) pair across seeds in one compiled JAX program and records,
per seed, errors, curves, diagnostics, a training-regime label and failure modes.

From the shell, ``bench run --problem helmholtz`` (see ``bench --help``). From Python::

    import regimebench as rb

    entry = rb.entry_from_mapping({...})          # or rb.load_entry("pinn-mlp-adam")
    runs = rb.run("helmholtz", entry, seeds=3, budget="smoke")
    rows = rb.curves_table(runs.records)          # plain dicts, ready to plot

The functions below are documented in :mod:`regimebench.api` (the manual of the Python API);
importing this package imports no JAX.
"""

from importlib.metadata import PackageNotFoundError, version

from .api import Runs as Runs
from .api import curves_table as curves_table
from .api import entry_from_mapping as entry_from_mapping
from .api import list_entries as list_entries
from .api import list_problems as list_problems
from .api import load_entry as load_entry
from .api import load_records as load_records
from .api import records_table as records_table
from .api import run as run
from .choices import DiagnosticsMode as DiagnosticsMode
from .choices import SeedLayout as SeedLayout
from .choices import Tier as Tier
from .errors import BenchError as BenchError

try:
    __version__ = version("regimebench")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0+unknown"
