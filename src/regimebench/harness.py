"""The harness version: which training numerics produced a record.

A record's numbers depend on the problem (``problem_version``), the solver entry
(``config_hash``) *and* the code that trains and evaluates it — the trainer, the dtype policy,
the samplers, the metrics. The first two are in every spec; :data:`HARNESS_VERSION` names the
third. It is part of a record's identity: it is in the spec (``spec.harness``), in the record
path (so a resumed sweep never mixes versions) and in the group key the statistics pool seeds
by (:func:`regimebench.record.group_key`).

**Bump it whenever training numerics change** (a different loss reduction, dtype policy,
sampler, metric, or optimiser default): records of the old and new versions are then never
pooled. If a change is known not to change the numbers (measured, e.g. bit-identical reruns of
one seed per problem), declare the new version equivalent to the old one in
:data:`EQUIVALENT` instead, and their records pool as before.

Records written before the field existed carry no harness and are version :data:`LEGACY`
("1"). Version "2" starts with the commit that introduced the field: the numerics had already
moved since the version-1 official records were made (issue 13: rerunning burgers seed 0 of
``pinn-mlp-adam`` at ``main`` abde60a gave rel. L2 0.232 where the committed record says 0.276),
and the dtype policy changes with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["HARNESS_VERSION", "LEGACY", "EQUIVALENT", "harness_of", "comparable_harness"]

HARNESS_VERSION = "2"
LEGACY = "1"

#: version → an older version whose numbers it is declared to reproduce. Only measured
#: equivalences belong here; the statistics pool records whose versions map to the same root.
EQUIVALENT: dict[str, str] = {}


def harness_of(record_or_spec: Mapping[str, Any]) -> str:
    """The harness version of a record (or of its spec dict); :data:`LEGACY` when absent."""
    spec = record_or_spec.get("spec", record_or_spec)
    value = spec.get("harness") if isinstance(spec, Mapping) else None
    return str(value) if value is not None else LEGACY


def comparable_harness(version: str) -> str:
    """The oldest version declared equivalent to ``version`` (itself if none): what group keys
    use, so declared-equivalent versions pool and all others never do."""
    seen = {version}
    while version in EQUIVALENT:
        version = EQUIVALENT[version]
        if version in seen:
            raise ValueError(f"harness equivalence table has a cycle through {version!r}")
        seen.add(version)
    return version
