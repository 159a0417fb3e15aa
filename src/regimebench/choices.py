"""The named choices of a run request: budget tier, diagnostics mode, seed layout, platform.

Each is an :class:`enum.StrEnum`, so a member *is* its string (``Tier.SMOKE == "smoke"``) and can
be passed wherever a name is accepted. The planner validates requests with them, the Python API
accepts them, and the command line turns them into options that ``--help`` lists and shell
completion offers. This module imports nothing heavy (no JAX), so the CLI can build its options
from it at start-up.

>>> Tier("smoke")
<Tier.SMOKE: 'smoke'>
>>> parse_seed_layout("4"), parse_seed_layout("vmap"), parse_seed_layout("2x1")
(4, <SeedLayout.VMAP: 'vmap'>, WorkerLayout(processes=2, group=1))
"""

from __future__ import annotations

import enum
import re
from typing import Any, NamedTuple

from ._registry import did_you_mean
from .budget import TIERS

__all__ = ["Tier", "DiagnosticsMode", "SeedLayout", "Platform", "WandbMode", "parse_choice",
           "WorkerLayout", "parse_seed_layout"]

# Tiers are declared once, in regimebench.budget; this is their enumeration.
Tier = enum.StrEnum("Tier", {name.upper(): name for name in TIERS})
Tier.__doc__ = "A budget tier (see :mod:`regimebench.budget` for what each one buys)."
Tier.__module__ = __name__


class DiagnosticsMode(enum.StrEnum):
    """How much diagnostic work a run does; it never changes training, only what is recorded."""

    AUTO = "auto"  # the tier's default (off at smoke, training probes at cpu, all above)
    OFF = "off"
    SNR = "snr"  # training-time probes only: gradient SNR and per-term gradient norms
    FULL = "full"  # plus end-of-run Hessian, mode connectivity, CKA and loss slices

    def config(self, tier: str):
        """The :class:`~regimebench.diagnostics.DiagnosticsConfig` (or ``None``) of this mode."""
        from .diagnostics.config import DiagnosticsConfig, default_for_tier

        if self is DiagnosticsMode.AUTO:
            return default_for_tier(str(tier))
        return {DiagnosticsMode.OFF: None, DiagnosticsMode.SNR: DiagnosticsConfig(landscape=False),
                DiagnosticsMode.FULL: DiagnosticsConfig()}[self]


class SeedLayout(enum.StrEnum):
    """How the seeds of one run share compiled programs (a positive group size is also valid)."""

    AUTO = "auto"  # vmap on accelerators; on CPU, groups sized for the cores
    VMAP = "vmap"  # all seeds in one vmapped program
    SEQUENTIAL = "sequential"  # one seed at a time (group size 1)


class Platform(enum.StrEnum):
    """The JAX platform a process trains on (``$JAX_PLATFORMS``)."""

    CPU = "cpu"
    GPU = "gpu"
    TPU = "tpu"


class WandbMode(enum.StrEnum):
    """Modes of the Weights & Biases mirror (see :mod:`regimebench.tracking`)."""

    OFFLINE = "offline"
    ONLINE = "online"
    DISABLED = "disabled"


def parse_choice(enum_cls: type[enum.StrEnum], value: Any, what: str) -> enum.StrEnum:
    """``enum_cls(value)``, or a :class:`ValueError` naming the closest members.

    >>> parse_choice(Tier, "smok", "budget tier")
    Traceback (most recent call last):
    ...
    ValueError: Unknown budget tier 'smok'. Did you mean 'smoke'?
    """
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        raise ValueError(f"Unknown {what} {value!r}."
                         + did_you_mean(str(value), [m.value for m in enum_cls])) from None


class WorkerLayout(NamedTuple):
    """The ``"<p>x<g>"`` seed layout: ``processes`` single-threaded workers, groups of ``group``."""

    processes: int
    group: int

    def __str__(self) -> str:
        return f"{self.processes}x{self.group}"


_WORKERS = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")


def parse_seed_layout(value: str | int) -> SeedLayout | int | WorkerLayout:
    """The one reading of a seed layout: a :class:`SeedLayout`, a positive group size (``"4"``
    and ``4`` both mean 4) or a :class:`WorkerLayout` (``"2x1"``). How many seeds a layout then
    trains where is :func:`regimebench.engine.layout.resolve_layout`'s job."""
    if isinstance(value, bool):
        raise ValueError(f"Unknown seed layout {value!r}")
    if isinstance(value, WorkerLayout | SeedLayout):
        return value
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        size = int(value)
        if size < 1:
            raise ValueError(f"a seed-layout group size must be positive, got {size}")
        return size
    m = _WORKERS.match(str(value))
    if m:
        processes, group = int(m.group(1)), int(m.group(2))
        if processes < 1 or group < 1:
            raise ValueError(f"seed layout {value!r}: processes and group size must be ≥ 1")
        return WorkerLayout(processes, group)
    try:
        return SeedLayout(value)
    except ValueError:
        raise ValueError(f"Unknown seed layout {value!r}: use auto, vmap, sequential, a "
                         "positive group size or <processes>x<group size> (e.g. 2x1)") from None
