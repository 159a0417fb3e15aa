"""Diagnostics: gradient SNR and per-term gradient probes during training; Hessian, mode
connectivity, CKA, loss slices and prediction-error probes at the end. Pure JAX functions,
vmapped over seeds by their callers. Definitions in ``docs/regimes.md``.
"""

from .config import DiagnosticsConfig, default_for_tier
from .connectivity import bezier_path, linear_path, mc
from .end import cross_seed_landscape, field_probes, landscape_loss, seed_landscape
from .fields import field_metrics
from .hessian import (
    hutchinson_trace,
    hvp,
    lanczos,
    negative_mass,
    spectral_density,
    top_eigenvalue,
)
from .similarity import cka_matrix, linear_cka
from .slices import filter_normalized_direction, loss_slices
from .snr import gradient_snr, term_grad_norms

__all__ = [
    "DiagnosticsConfig", "default_for_tier", "gradient_snr", "term_grad_norms", "hvp",
    "top_eigenvalue", "hutchinson_trace", "mc", "linear_path", "bezier_path", "linear_cka",
    "cka_matrix", "filter_normalized_direction", "loss_slices", "field_metrics",
    "field_probes", "seed_landscape", "cross_seed_landscape", "landscape_loss",
    "lanczos", "spectral_density", "negative_mass",
]
