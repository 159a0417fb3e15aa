"""Test configuration: CPU only, float64 enabled, one numeric policy for the whole session.

Reference caches go to a session temporary folder unless ``REGIMEBENCH_CACHE`` is set, so a test
run neither reads stale entries nor writes into the user's cache. CI sets it to a folder that
lives for the whole run, so each reference is built once.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("WANDB_MODE", "disabled")
if "REGIMEBENCH_CACHE" not in os.environ:
    os.environ["REGIMEBENCH_CACHE"] = tempfile.mkdtemp(prefix="regimebench-test-cache-")

from regimebench._config import configure  # noqa: E402

configure(platform="cpu")
