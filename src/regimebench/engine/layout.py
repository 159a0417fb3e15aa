"""Seed layouts: how the seeds of a run are spread over vmapped groups (and processes).

Seeds run in groups through *one* compiled program: a group of ``g`` seeds is one vmapped
program call, and groups follow each other (group size 1 = sequential seeds). ``seed_layout``:

* ``"vmap"`` — one group of all seeds; ``"sequential"`` — groups of one;
* an integer ``g`` (or its string) — groups of at most ``g``;
* ``"auto"`` — vmap every seed on an accelerator; on a CPU, groups of at most :data:`CPU_GROUP`.

On a GPU one small PINN leaves most of the device idle, so all seeds are vmapped together. On a
small CPU a wide vmap gains nothing over running seeds one after another, but small vmapped
groups do (``benchmarks/README.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax

__all__ = ["CPU_GROUP", "Layout", "resolve_layout", "group_size"]

# Seeds per vmapped group on CPU under ``"auto"``. On the 2-core CPU (helmholtz default entry,
# cpu tier, interleaved A/B), groups of 2 gave 0.98–1.8× the seed-steps/s of sequential seeds at
# S = 16 and 1.3–1.45× at S = 4; groups of 4 were less consistent (0.85–1.7×) and one 16-wide
# vmap only matched sequential (benchmarks/README.md, bench_train.py).
CPU_GROUP = 2


@dataclass(frozen=True)
class Layout:
    """A resolved layout: ``group`` seeds per vmapped group, ``processes`` worker processes."""

    group: int
    processes: int = 1


def _cpu_group(n_seeds: int) -> int:
    """At most CPU_GROUP seeds per group, choosing the size that pads the last group least."""
    if n_seeds <= CPU_GROUP:
        return n_seeds
    return min(range(CPU_GROUP, 1, -1), key=lambda g: (math.ceil(n_seeds / g) * g, -g))


def group_size(layout: str | int, n_seeds: int) -> int:
    """Group size of an in-process ``layout`` for ``n_seeds`` seeds (see the module docstring)."""
    if isinstance(layout, int) or (isinstance(layout, str) and layout.isdigit()):
        return max(1, min(int(layout), n_seeds))
    if layout == "vmap":
        return n_seeds
    if layout == "sequential":
        return 1
    if layout == "auto":
        return n_seeds if jax.default_backend() != "cpu" else _cpu_group(n_seeds)
    raise ValueError(f"unknown seed layout {layout!r}: use auto, vmap, sequential or a group size")


def resolve_layout(layout: str | int, n_seeds: int) -> int:
    """Group size for ``layout`` (kept name: see :func:`group_size`)."""
    return group_size(layout, n_seeds)
