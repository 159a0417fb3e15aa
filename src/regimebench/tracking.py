"""Experiment trackers: optional mirrors of run records (Weights & Biases today).

The JSON run record is the source of truth; a tracker only copies it somewhere nicer to browse.
Mirroring happens after a record is written, from the record itself, so it works the same for
records made by any executor and never changes a number.

``bench run --wandb`` mirrors each new record as one wandb run: the curves (per-term losses,
rel. L2, …) logged against gradient evaluations, and the metrics, labels, status and timing as
the run summary. The mode is ``--wandb-mode``, else ``$WANDB_MODE``, else ``offline``:

* ``offline`` writes ``<results>/.wandb/wandb/offline-run-*`` and needs no account or network;
  upload later with ``wandb sync <that folder>``;
* ``online`` uploads at once and needs ``WANDB_API_KEY`` or an earlier ``wandb login``; without
  one it fails up front instead of prompting;
* ``disabled`` makes every call a no-op (what the test suite sets).

wandb is imported only when ``--wandb`` is given (``pip install "regimebench[wandb]"``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from ._registry import Registry

__all__ = ["Tracker", "NullTracker", "WandbTracker", "trackers", "make_tracker", "TrackingError"]

trackers: Registry[type] = Registry("tracker")


class TrackingError(Exception):
    """The tracker cannot run as asked (not installed, no credentials); one-line message."""


class Tracker(Protocol):
    def mirror(self, record: Mapping[str, Any]) -> str | None:
        """Copy one record; return where it went (a folder or URL), if anywhere."""
        ...


@trackers.register("off")
class NullTracker:
    """No mirror (the default): nothing is imported, nothing is written."""

    def __init__(self, **_ignored: Any):
        pass

    def mirror(self, record: Mapping[str, Any]) -> str | None:
        return None


def _has_wandb_login() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    import netrc

    try:
        auth = netrc.netrc().authenticators("api.wandb.ai")
    except (OSError, netrc.NetrcParseError):
        return False
    return bool(auth and auth[2])


@trackers.register("wandb")
class WandbTracker:
    """Mirror records to Weights & Biases (see the module docstring for the modes)."""

    def __init__(self, *, out: Path, mode: str | None = None, project: str = "regimebench",
                 **_ignored: Any):
        mode = mode or os.environ.get("WANDB_MODE") or "offline"
        if mode not in ("offline", "online", "disabled"):
            raise TrackingError(f"wandb mode must be offline, online or disabled, got {mode!r}")
        try:
            import wandb
        except ImportError:
            raise TrackingError('--wandb needs wandb: pip install "regimebench[wandb]"') from None
        if mode == "online" and not _has_wandb_login():
            raise TrackingError("wandb online mode needs WANDB_API_KEY (or `wandb login` once); "
                                "use --wandb-mode offline and `wandb sync` later")
        self.wandb = wandb
        self.mode = mode
        self.project = project
        # A hidden folder, so the results loaders never take wandb's own JSON files for records.
        self.dir = Path(out) / ".wandb"

    def mirror(self, record: Mapping[str, Any]) -> str | None:
        spec = record["spec"]
        self.dir.mkdir(parents=True, exist_ok=True)
        cell = ",".join(f"{k}={v}" for k, v in sorted((record.get("cell") or {}).items()))
        run = self.wandb.init(
            project=self.project, mode=self.mode, dir=str(self.dir), reinit="create_new",
            group=f"{spec['problem']}/{spec['task']}/{spec['solver']}",
            job_type=spec["budget"],
            name=f"{spec['config_hash']}-s{spec['seed']}" + (f"-{cell}" if cell else ""),
            config={"spec": dict(spec), "cell": record.get("cell") or {},
                    "provenance": record.get("provenance") or {}},
            tags=[spec["problem"], spec["solver"], spec["budget"], record.get("status", "?")],
        )
        curves = record.get("curves") or {}
        steps = curves.get("evals") or []
        for i, step in enumerate(steps):
            row = {k: v[i] for k, v in curves.items()
                   if k != "evals" and isinstance(v, list) and i < len(v) and v[i] is not None
                   and not isinstance(v[i], (list, dict))}
            run.log(row, step=int(step))
        labels = record.get("labels") or {}
        summary = {**{f"metrics/{k}": v for k, v in (record.get("metrics") or {}).items()},
                   **{f"timing/{k}": v for k, v in (record.get("timing") or {}).items()},
                   "status": record.get("status"), "failure": record.get("failure"),
                   "regime": labels.get("regime"),
                   "failure_modes": ",".join(labels.get("failure_modes") or [])}
        run.summary.update({k: v for k, v in summary.items() if v is not None})
        where = getattr(run, "dir", None)
        run.finish()
        return str(Path(where).parent) if where else None


def make_tracker(name: str, **options: Any) -> Tracker:
    """The tracker registered as ``name`` (``off`` or ``wandb``)."""
    return trackers.get(name)(**options)
