"""The worker process of the multi-process seed layouts (``python -m regimebench.seed_worker``).

:mod:`regimebench.seed_processes` starts one per core with XLA's single-thread CPU flags in its
environment and a pickled payload (the plan's request for this worker's seeds and the parent's
numeric policy); the worker configures JAX the same way, re-plans the request and executes it
exactly as ``bench run`` does, printing ``progress DONE TOTAL`` lines for the parent. It lives
apart from :mod:`~regimebench.seed_processes` because it calls the runner, which calls
``seed_processes``: the parent side never imports the runner.
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

from .seed_processes import watch_parent

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Worker entry: ``python -m regimebench.seed_worker PAYLOAD``."""
    watch_parent()
    payload = pickle.loads(Path(argv[0]).read_bytes())
    config = payload["config"]
    from ._config import configure

    cache = config.get("compile_cache", "True")
    configure(platform=config.get("platform"),
              matmul_precision=config.get("matmul_precision", "highest"),
              compile_cache=True if cache == "True" else False if cache == "False" else Path(cache))
    import jax

    for name, value in payload.get("jax", {}).items():
        jax.config.update(name, value)
    from .runner import execute, plan

    def report(done: int, total: int) -> None:
        try:
            print(f"progress {done} {total}", flush=True)
        except OSError:  # the parent is gone (its end of the pipe closed): stop, write nothing
            os._exit(1)

    execute(plan(payload["request"]), progress=report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
