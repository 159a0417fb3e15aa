"""regimebench: a reproducible benchmark for training scientific machine-learning models.

Every run trains one (problem, solver) pair across seeds in one compiled JAX program and records,
per seed, errors, curves, diagnostics, a training-regime label and failure modes.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("regimebench")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0+unknown"
