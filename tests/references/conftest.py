"""Shared fixtures for the reference-generator tests.

References are built through :func:`regimebench.reference.cached_reference` into the session's
reference cache, which ``tests/conftest.py`` points at a fresh temporary folder (unless
``REGIMEBENCH_CACHE`` is set, as ``.ci/run`` does, to one folder for the whole run):

* the tests are about the generators, so each session runs ``build`` itself — an entry left in
  the user's cache by an earlier version of a generator cannot hide a regression;
* a test run does not write into the user's cache;
* the problem tests (smoke training runs) load the same cache entries, so each reference is built
  once per session, and the round trip through the ``.npz`` file is exercised on the way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from regimebench._catalogue import load_problem_module
from regimebench.reference import CachedReference, cached_reference

#: Catalogue version under which the tests cache their references (any fixed value works: the
#: cache key only has to be stable within the session).
PROBLEM_VERSION = 1


@pytest.fixture(scope="session")
def get_reference() -> Callable[[str, Mapping[str, Any]], CachedReference]:
    """``get_reference(problem, params)``: the cached reference, built at most once a session."""

    def get(problem: str, params: Mapping[str, Any]) -> CachedReference:
        module = load_problem_module(problem, "reference")
        return cached_reference(problem, PROBLEM_VERSION, params, module)

    return get


@pytest.fixture(autouse=True)
def standard_dtype_promotion():
    """The generators run under JAX's standard dtype promotion here, as they do in
    :func:`regimebench.reference.cached_reference`: they are float64 spectral and finite-difference
    solvers that mix complex and real arrays on purpose (``1j * k * psi``), and the test session's
    strict promotion exists to catch silent float32 → float64 promotion in *training* code."""
    import jax

    with jax.numpy_dtype_promotion("standard"):
        yield
