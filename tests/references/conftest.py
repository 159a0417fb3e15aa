"""Shared fixtures for the reference-generator tests.

The references are built through :func:`regimebench.reference.cached_reference` into a cache
directory private to the test session, not the user's cache:

* the tests are about the generators, so they must run ``build`` itself — an entry left in the
  user cache by an earlier version of a generator (same ``GENERATOR_VERSION``, changed code)
  would otherwise hide a regression;
* a test run must not write into the user's cache.

Each reference is still built only once per session (the cache is shared by all tests), and the
round trip through the ``.npz`` file is exercised on the way. The environment variable is set only
around the ``cached_reference`` call, so tests elsewhere in the suite never see it.
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
def reference_cache_dir():
    # the session's cache (tests/conftest.py sets REGIMEBENCH_CACHE to a fresh folder unless the
    # caller set one), so the problem tests reuse the references these tests build
    import os

    return os.environ["REGIMEBENCH_CACHE"]


@pytest.fixture(scope="session")
def get_reference(reference_cache_dir) -> Callable[[str, Mapping[str, Any]], CachedReference]:
    """``get_reference(problem, params)``: the cached reference, built at most once a session."""

    def get(problem: str, params: Mapping[str, Any]) -> CachedReference:
        module = load_problem_module(problem, "reference")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("REGIMEBENCH_CACHE", str(reference_cache_dir))
            return cached_reference(problem, PROBLEM_VERSION, params, module)

    return get
