"""Markdown table of harness results: ``python summarise.py results/*.json``.

Columns: run name, problem, the options that differ from the harness defaults, equivalents per
step (tier units, and relative to a gradient on the step's own points), median rel. L2 at each
mark, the per-seed values at the last mark, seeds and wall time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULTS = {"tier": "cpu", "width": 48, "depth": 2, "activation": "tanh", "hard": False,
            "periodic": 0, "loss": "strong", "damping": 1e-8, "relative_damping": False,
            "damping_rule": "gain", "damping_min": 1e-14, "damping_max": 1e2,
            "damping_down": 0.5, "damping_up": 10.0, "momentum": 0.0, "grid": 16,
            "grid_base": 2.0, "space": "auto", "jacobian": "per_point_rev", "resample": 20,
            "float32": False, "ritz_penalty": 0.0, "ritz_mass": 1.0, "cg_iters": 50,
            "search_fresh": False, "rad": 0, "inv_coefficient_weights": False}
SKIP = {"problem", "budget", "marks", "seeds", "logs", "out", "tag", "param", "sizes",
        "weights"}


def config(args: dict) -> str:
    parts = [f"{k}={v}" for k, v in args.items()
             if k not in SKIP and k in DEFAULTS and v != DEFAULTS[k]]
    for k in ("param", "sizes", "weights"):
        if args.get(k):
            parts.append(f"{k}:{','.join(args[k])}")
    return " ".join(parts)


def main(paths):
    rows = []
    for p in paths:
        d = json.loads(Path(p).read_text())
        if "eq_per_step_own" not in d["cost"]:
            continue  # an early run of the harness (different cost normalisation)
        a = d["args"]
        marks = d["marks"]
        last = marks[max(marks, key=float)]
        med = " / ".join(f"{k}: {v['median']:.2e}" for k, v in sorted(marks.items(),
                                                                       key=lambda kv: float(kv[0])))
        rows.append((Path(p).stem, a["problem"], config(a), f"{d['cost']['eq_per_step']:.1f}",
                     f"{d['cost']['eq_per_step_own']:.1f}", med,
                     " ".join(f"{e:.1e}" for e in last["errors"]), str(len(a["seeds"])),
                     f"{d['wall_s']:.0f}"))
    print("| run | problem | config (non-default) | eq/step | eq/step (own pts) | median rel. L2 "
          "at mark | per seed (last mark) | seeds | wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
