"""FLOP counts from XLA's cost analysis, and the gradient-evaluation equivalents of a step.

equivalents(step) = (XLA flops of the compiled step + analytic LAPACK flops) / XLA flops of one
gradient of the same weighted loss on the same points.

Why the analytic term: on CPU, ``jnp.linalg.cholesky`` lowers to a LAPACK custom call that the
cost analysis counts as ~5 N² flops whatever N (measured: 2.0e5 "flops" for N = 200, where the
factorisation takes N³/3 = 2.7e6); :func:`regimebench.components.natural_gradient.cholesky_flops`
supplies the textbook count. Loops are avoided in the measured programs (XLA counts a while
loop's body once).
"""

from __future__ import annotations

import equinox as eqx


def xla_flops(fn, *args) -> float:
    """Flops of ``fn(*args)`` as compiled by XLA (``eqx.filter_jit``: arrays are traced)."""
    compiled = eqx.filter_jit(fn).lower(*args).lowered.compile()
    analysis = compiled.cost_analysis()
    if isinstance(analysis, (list, tuple)):
        analysis = analysis[0]
    return float(analysis["flops"])
