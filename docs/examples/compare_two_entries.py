"""Compare two solver entries on helmholtz from Python: train both, then plot their error curves.

    python docs/examples/compare_two_entries.py [--out DIR] [--seeds N] [--budget TIER]

The first entry is a catalogue entry (``pinn-mlp-adam``). The second is a variant built in Python
from a mapping — the same keys and tables as a ``solver.toml``, validated the same way — that
finishes with L-BFGS. Both train on the same problem, seeds and budget through the same planner as
``bench run``, so their records land under ``DIR`` exactly where ``bench run`` would put them (a
second run of this script finds them and trains nothing).

The curves (test rel. L2 against gradient evaluations, one line per seed) are written as
``DIR/curves.csv`` and, when matplotlib is installed, drawn to ``DIR/curves.png``. The default
budget is the ``smoke`` tier (60 gradient evaluations: seconds, not a result); use ``--budget cpu``
for curves worth reading.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import regimebench as rb

# A variant of pinn-mlp-adam-lbfgs with a narrower network, written as a Python mapping.
NARROW_ADAM_LBFGS = {
    "name": "narrow-adam-lbfgs",
    "version": 1,
    "description": "Tanh MLP (width 32), Adam then L-BFGS",
    "tasks": ["forward"],
    "problems": ["helmholtz"],
    "dtype": "float64",
    "architecture": {"kind": "mlp", "width": 32, "depth": 4},
    "phases": [{"kind": "adam", "fraction": 0.5, "lr": 1e-3},
               {"kind": "lbfgs", "fraction": 0.5}],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: temp)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--budget", default="smoke", choices=[t.value for t in rb.Tier])
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="compare-two-entries-"))

    entries = [rb.load_entry("pinn-mlp-adam"), rb.entry_from_mapping(NARROW_ADAM_LBFGS)]
    records = []
    for entry in entries:
        runs = rb.run("helmholtz", entry, seeds=args.seeds, budget=args.budget, out=out)
        print(f"{entry.name}: {runs.trained} seed(s) trained, {len(runs.records)} record(s)")
        records += runs.records

    for row in rb.records_table(records):
        print(f"  {row['solver']:<20} seed {row['seed']}: rel. L2 {row['rel_l2']:.3g}, "
              f"regime {row['regime']}, {row['status']}")

    rows = rb.curves_table(records, "rel_l2")
    with open(out / "curves.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["solver", "seed", "evals", "value"],
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    print(f"curve data: {out / 'curves.csv'} ({len(rows)} points)")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot drawn (the data is in curves.csv)")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for entry, colour in zip(entries, ("tab:blue", "tab:orange")):
        for seed in sorted({r["seed"] for r in rows if r["solver"] == entry.name}):
            pts = [r for r in rows if r["solver"] == entry.name and r["seed"] == seed]
            ax.plot([p["evals"] for p in pts], [p["value"] for p in pts], color=colour,
                    label=entry.name if seed == 0 else None)
    ax.set(xlabel="gradient evaluations", ylabel="test rel. L2", yscale="log",
           title=f"helmholtz, {args.budget} tier, {args.seeds} seed(s) each")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)
    print(f"plot: {out / 'curves.png'}")


if __name__ == "__main__":
    main()
