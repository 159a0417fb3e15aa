"""Training-time probes logged with the curves: gradient SNR and per-term gradient norms.

At every ``interval``-th log point (:class:`~regimebench.diagnostics.DiagnosticsConfig`) the
engine evaluates, per seed, the gradient signal-to-noise ratio of the training loss and the
gradient norm of each unweighted term (:mod:`regimebench.diagnostics.snr`), with the program
:func:`regimebench.engine.programs.probes`; elsewhere the probe values are NaN (null in records).
"""

from __future__ import annotations

import equinox as eqx
import jax

from ..diagnostics import gradient_snr, term_grad_norms
from ..outcomes import TermRole
from ..problem import squared_residuals
from .setup import Setup
from .state import SeedState

__all__ = ["snr_split_key", "probe_seed"]


def snr_split_key(setup: Setup, batch) -> str:
    """The batch entry whose points the SNR mini-batches split: the points of the first term
    the task declares a PDE residual (:attr:`TermRole.RESIDUAL`) if it has its own, else the
    first batch entry that is no term's own (the cavity's momenta and continuity share "pde")."""
    names = setup.task.term_names
    residual = setup.task.terms_with_roles({TermRole.RESIDUAL}) or names
    if residual[0] in batch:
        return residual[0]
    shared = [k for k in batch if k not in names]
    return (shared or list(batch))[0]


def probe_seed(setup: Setup, s: SeedState, snr_batches: int) -> dict[str, jax.Array]:
    """Gradient SNR and per-term gradient norms of one seed."""
    names = setup.task.term_names

    def sq_fn(p, batch):
        res = setup.task.residuals(eqx.combine(p, setup.static), batch)
        return {k: squared_residuals(res[k]) for k in names}

    tw = setup.weighting.term_weights(s.weight_state, names)
    pw = setup.weighting.point_weights(s.weight_state, names)
    out = {"snr": gradient_snr(sq_fn, s.params, s.batch, snr_split_key(setup, s.batch),
                               snr_batches, tw, pw)}
    out.update(term_grad_norms(sq_fn, s.params, s.batch, names))
    return out
