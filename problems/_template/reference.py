"""Reference of the template problem: the manufactured solution, evaluated in float64.

A reference generator has two members (see :mod:`regimebench.reference`): ``GENERATOR_VERSION``
(bump it whenever the numbers it produces could change) and ``build(params)``, which computes the
reference in float64 and *measures* its error floor. Here the solution is analytic, so the floor
is the rounding of float64 against an evaluation in extended precision.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from regimebench.reference import ReferenceSolution

GENERATOR_VERSION = 1
EVAL_POINTS = 257


def build(params: Mapping[str, float]) -> ReferenceSolution:
    k = float(params["k"])
    x = np.linspace(-1.0, 1.0, EVAL_POINTS)
    u = np.sin(k * np.pi * x)
    xl = np.linspace(np.longdouble(-1), np.longdouble(1), EVAL_POINTS)
    ul = np.sin(np.longdouble(k) * np.longdouble(np.pi) * xl)
    floor = float(np.linalg.norm(u - ul) / np.linalg.norm(ul))
    return ReferenceSolution(arrays={"x": x, "u": u}, error_floor=floor,
                             method=f"analytic sin(k pi x) on {EVAL_POINTS} points, float64")
