"""Benchmark configuration: collect ``bench_*.py``, same numeric policy as the CLI, no XLA cache.

``pytest benchmarks --benchmark-only`` runs them (``tox -e bench`` adds ``--benchmark-json``);
the default ``pytest`` run never sees them because ``testpaths`` is ``tests/``. The persistent
compilation cache is off here so compile-time benchmarks measure real compilations;
``bench_compile.py`` measures the cache itself in fresh processes.

Environment knobs (for slow machines): ``BENCH_SEEDS`` (default ``1,4,16,64``), ``BENCH_TIER``
(collocation sizes, default ``cpu``), ``BENCH_ROUNDS`` (default 5).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")
if "REGIMEBENCH_CACHE" not in os.environ:
    os.environ["REGIMEBENCH_CACHE"] = tempfile.mkdtemp(prefix="regimebench-bench-cache-")
sys.path.insert(0, str(Path(__file__).parent))  # for _common

from regimebench._config import configure  # noqa: E402

configure(compile_cache=False)


@pytest.fixture(autouse=True)
def _release_compiled_programs():
    """Drop JAX's in-memory compilation caches after every benchmark.

    Each benchmark builds its own trainer and programs; kept alive, ~60 of them in one process
    crashed XLA:CPU with a segmentation fault (twice, at the same late case of
    ``bench_train.py``, which passes when run alone). No benchmark reuses another's programs,
    so nothing timed changes.
    """
    yield
    import gc

    import jax

    from regimebench.engine import programs

    programs.clear()  # the engine's own cache of compiled programs
    jax.clear_caches()
    gc.collect()


def pytest_collect_file(file_path, parent):
    # python_files stays test_*.py for the suite; benchmark modules are collected here instead.
    # A file named on the command line is collected by pytest itself: do not add it twice.
    if parent.session.isinitpath(file_path):
        return None
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
