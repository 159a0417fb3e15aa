"""The limits of a request's seeds, checked before anything is planned (no JAX imported here,
so the command line can check its options before it chooses JAX's platform).

Seeds seed JAX's PRNG as 32-bit integers on every platform, x64 or not: :data:`MAX_SEED`. A
request for more than :data:`MANY_SEEDS` seeds is almost surely a typo (``10**12`` for ``12``)
and needs an explicit confirmation (``--allow-many-seeds``); beyond :data:`MAX_SEEDS` the plan
itself (a spec and a record path per seed) would not fit in memory, so one command refuses it
(split the seeds over several commands with ``--seed-start``).
"""

from __future__ import annotations

from .errors import BenchError

__all__ = ["MAX_SEED", "MANY_SEEDS", "MAX_SEEDS", "check_seed_range"]

MAX_SEED = 2**31 - 1
MANY_SEEDS = 10_000
MAX_SEEDS = 1_000_000


def check_seed_range(start: int, count: int, *, allow_many: bool = False) -> None:
    """Fail with :class:`~regimebench.errors.BenchError` unless ``count`` seeds from ``start``
    are a sane request: ``count ≥ 1``, at most :data:`MAX_SEEDS` (and :data:`MANY_SEEDS`
    unless ``allow_many``), seeds in ``[0, MAX_SEED]``. Call it before building any list."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise BenchError(f"--seeds must be a positive integer, got {count}")
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise BenchError(f"--seed-start must be a non-negative integer, got {start}")
    if count > MAX_SEEDS:
        raise BenchError(f"--seeds {count} is more than one command can plan ({MAX_SEEDS}); "
                         "split the seeds over several commands with --seed-start")
    if count > MANY_SEEDS and not allow_many:
        raise BenchError(f"--seeds {count} is more than {MANY_SEEDS} seeds; if you mean it, "
                         "add --allow-many-seeds")
    if start + count - 1 > MAX_SEED:
        raise BenchError(f"seeds must be at most {MAX_SEED} (JAX seeds are 32-bit integers); "
                         f"--seed-start {start} with --seeds {count} goes past it")
