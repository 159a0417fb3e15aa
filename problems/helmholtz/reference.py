"""Reference for Helmholtz 2-D: the manufactured solution, evaluated in float64.

The error floor is the float64 rounding of sin products (~1e-16 relative), recorded as measured
against an independent evaluation in extended precision (``numpy.longdouble``), which also guards
against a sign or convention slip in the grid.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from regimebench.reference import ReferenceSolution

GENERATOR_VERSION = 1
EVAL_POINTS = 201


def build(params: Mapping[str, float]) -> ReferenceSolution:
    a1, a2 = float(params["a1"]), float(params["a2"])
    g = np.linspace(-1.0, 1.0, EVAL_POINTS)
    X, Y = np.meshgrid(g, g, indexing="ij")
    u = np.sin(a1 * np.pi * X) * np.sin(a2 * np.pi * Y)
    gl = np.linspace(np.longdouble(-1), np.longdouble(1), EVAL_POINTS)
    Xl, Yl = np.meshgrid(gl, gl, indexing="ij")
    pi = np.longdouble(np.pi)
    ul = np.sin(np.longdouble(a1) * pi * Xl) * np.sin(np.longdouble(a2) * pi * Yl)
    floor = float(np.linalg.norm((u - ul).ravel()) / np.linalg.norm(ul.ravel()))
    return ReferenceSolution(
        arrays={"x": g, "y": g, "u": u},
        error_floor=floor,
        method=f"analytic sin(a1 pi x) sin(a2 pi y) on a {EVAL_POINTS}x{EVAL_POINTS} grid, float64",
    )
