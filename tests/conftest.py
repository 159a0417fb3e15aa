"""Test configuration: CPU only, float64 enabled, one numeric policy for the whole session.

The session also makes JAX strict, as equinox's own test suite does: ``jax_numpy_dtype_promotion
= "strict"`` (no implicit promotion between dtypes: a float32 entry that silently met a float64
array would raise, not compute in float64) and ``jax_numpy_rank_promotion = "raise"`` (no
implicit broadcasting of arrays of different ranks). Third-party code that promotes implicitly
(optax's bias corrections, ``jax.experimental.jet``) is traced inside
:func:`regimebench.problem.traced_in`.

Reference caches go to a session temporary folder unless ``REGIMEBENCH_CACHE`` is set, so a test
run neither reads stale entries nor writes into the user's cache. CI sets it to a folder that
lives for the whole run, so each reference is built once.
"""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("WANDB_MODE", "disabled")
if "REGIMEBENCH_CACHE" not in os.environ:
    os.environ["REGIMEBENCH_CACHE"] = tempfile.mkdtemp(prefix="regimebench-test-cache-")

from regimebench._config import configure  # noqa: E402

configure(platform="cpu")

import jax  # noqa: E402

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


def pytest_collection_finish(session):
    """Start the zoo smoke matrix's worker processes now, if this session runs any of its cases.

    They train in the background while the other tests run (see ``tests/zoo_matrix.py``); the
    matrix tests, collected last, wait for them.
    """
    from pathlib import Path

    from zoo_matrix import MATRIX_RUN

    items = [i for i in session.items if getattr(i, "originalname", None) == "test_entry_trains"]
    if session.config.option.collectonly or not items:
        return
    zoo = items[0].module  # tests/test_zoo_smoke.py, as collected
    out = Path(tempfile.mkdtemp(prefix="zoo-matrix-"))
    run = zoo.zoo_matrix.MatrixRun(zoo.selected(session), out, zoo.cost, zoo.WORKERS)
    session.config.stash[MATRIX_RUN] = run


def pytest_sessionfinish(session):
    import shutil

    from zoo_matrix import MATRIX_RUN

    run = session.config.stash.get(MATRIX_RUN, None)
    if run is not None:
        run.stop()
        shutil.rmtree(run.out, ignore_errors=True)


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module. One pytest process compiles a few
    thousand programs over the suite; keeping them all alive only grows its native memory (the
    suite once died with a segmentation fault three quarters of the way through, in a test that
    only traces), and no test reuses another module's programs."""
    yield
    jax.clear_caches()
