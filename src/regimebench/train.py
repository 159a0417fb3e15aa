"""The trainer's public entry point (the engine lives in :mod:`regimebench.engine`).

``from regimebench.train import train`` keeps working; see :func:`regimebench.engine.train`.
"""

from .engine import SeedResult, TrainResult, resolve_layout, train

__all__ = ["train", "TrainResult", "SeedResult", "resolve_layout"]
