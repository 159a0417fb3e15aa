"""One colour per solver entry across the whole site, and the regimes' colours.

A solver's colour is assigned once per build, from the sorted list of every entry name the build
knows (catalogue and records), so the same entry has the same colour on every page, table swatch
and chart. The palette joins Okabe & Ito's eight colour-blind-safe colours (without yellow and
black, which vanish on white or read as text) with Paul Tol's "muted" scheme; when there are
more entries than colours the list repeats with another point shape (:attr:`Style.shape`), and
colour is never the only encoding: every chart names the entry in its legend and tooltip, every
table writes the name beside the swatch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..outcomes import Regime

__all__ = ["PALETTE", "SHAPES", "Style", "solver_styles", "REGIME_COLOURS", "TIE_COLOUR",
           "NO_RUNS_COLOUR"]

#: Okabe & Ito (2008) less yellow and black, then Tol's "muted" (2021): 14 distinguishable hues.
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
    "#332288", "#999933", "#882255", "#44AA99", "#AA4499", "#117733", "#CC6677", "#DDCC77")
#: Vega point shapes for the second, third, ... pass through the palette.
SHAPES: tuple[str, ...] = ("circle", "square", "triangle-up", "diamond", "cross")

#: Regimes: green (trained) to red (over-trained), grey without a label. A regime is always
#: written beside its colour (the label is the encoding; the colour only helps the eye).
REGIME_COLOURS: dict[Regime, str] = {
    Regime.WELL: "#2e7d32", Regime.WELL_HIGH_LOSS: "#9ccc65", Regime.UNDER: "#f9a825",
    Regime.OVER: "#c62828", Regime.NONE: "#757575"}
TIE_COLOUR = "#ffffff"  # a tied cell is drawn blank, with its "tie: I / III" label
NO_RUNS_COLOUR = "#eeeeee"  # a declared regime-map cell without runs


@dataclass(frozen=True)
class Style:
    """How one solver entry is drawn everywhere: ``colour`` (hex) and point ``shape``."""

    colour: str
    shape: str


def solver_styles(names: Iterable[str]) -> dict[str, Style]:
    """``{name: Style}`` for every entry name, in sorted order through :data:`PALETTE`.

    >>> s = solver_styles(["pinn-rba", "fno", "pinn-rba"]); s["fno"].colour, s["pinn-rba"].colour
    ('#0072B2', '#E69F00')
    """
    ordered = sorted(set(names))
    return {name: Style(PALETTE[i % len(PALETTE)], SHAPES[(i // len(PALETTE)) % len(SHAPES)])
            for i, name in enumerate(ordered)}
