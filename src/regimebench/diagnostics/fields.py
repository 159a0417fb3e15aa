"""Cheap probes of a trained model's prediction error on the evaluation grid (numpy, per seed).

They feed failure-mode labels that need more than one number (see ``docs/regimes.md``):

* ``pred_norm_ratio`` = ‖u_θ‖₂ / ‖u‖₂ — near 0 for a trivial (near-zero) solution;
* ``target_rms`` = RMS of the reference — the scale boundary/initial residuals are judged on;
* ``spectral_err_high_frac`` — the fraction of the error's energy at spatial wavenumbers above
  ``spectral_k_split``, the radial wavenumber (in grid frequency units) below which half of the
  reference's energy lies; ``spectral_ref_high_frac`` is the same fraction for the reference.
  Computed by an FFT over the *spatial* axes of the grid (axes not named ``t``), energies
  summed over time and output channels. A network with spectral bias gets the large scales right
  and misses the fine ones, so its error sits above the reference's energy median;
* ``rel_l2_t_q1`` … ``rel_l2_t_q4`` and ``rel_l2_t_last`` — rel. L2 per quarter of the time
  levels and at the final level, for grids with an axis named ``t``, as defined (and computed) by
  :func:`regimebench.timewise.time_window_errors`; plus ``error_by_time`` (≤ 64 points) in the
  diagnostics: the signal of a causality violation, where the error grows along t.

A problem whose ``extra_metrics`` also calls :func:`~regimebench.timewise.time_window_errors`
produces the same metrics under the same names (the trainer keeps the problem's values, computed
in the entry's dtype, and fills only the missing keys).
"""

from __future__ import annotations

import math

import numpy as np

from ..timewise import QUARTERS, time_window_errors

__all__ = ["field_metrics"]


def _radial_k(shape: tuple[int, ...]) -> np.ndarray:
    freqs = np.meshgrid(*[np.fft.fftfreq(n) * n for n in shape], indexing="ij")
    return np.sqrt(sum(f**2 for f in freqs))


def spectral_summary(err: np.ndarray, ref: np.ndarray, spatial: tuple[int, ...]) -> dict:
    """High-wavenumber energy fractions of ``err`` and ``ref`` (same shape; see module doc)."""
    if not spatial:
        return {}
    other = tuple(i for i in range(err.ndim) if i not in spatial)
    e_pow = np.abs(np.fft.fftn(err, axes=spatial)) ** 2
    r_pow = np.abs(np.fft.fftn(ref, axes=spatial)) ** 2
    if other:
        e_pow, r_pow = e_pow.sum(axis=other), r_pow.sum(axis=other)
    k = _radial_k(tuple(err.shape[i] for i in spatial)).ravel()
    e_pow, r_pow = e_pow.ravel(), r_pow.ravel()
    if r_pow.sum() <= 0 or e_pow.sum() <= 0:
        return {}
    order = np.argsort(k, kind="stable")
    cum = np.cumsum(r_pow[order]) / r_pow.sum()
    k_split = float(k[order][np.searchsorted(cum, 0.5)])
    high = k > k_split
    return {
        "spectral_k_split": k_split,
        "spectral_err_high_frac": float(e_pow[high].sum() / e_pow.sum()),
        "spectral_ref_high_frac": float(r_pow[high].sum() / r_pow.sum()),
    }


def _rel(e: np.ndarray, r: np.ndarray) -> float:
    nr = float(np.linalg.norm(r))
    return float(np.linalg.norm(e) / nr) if nr > 0 else math.nan


def time_summary(err: np.ndarray, ref: np.ndarray, t_axis: int) -> tuple[dict, list]:
    """The time-window metrics of :mod:`regimebench.timewise`, and the error by time level.

    ``err`` and ``ref`` have the grid's shape plus a trailing channel axis.
    """
    nt = err.shape[t_axis]
    e = np.moveaxis(err, t_axis, 0).reshape(nt, -1)
    r = np.moveaxis(ref, t_axis, 0).reshape(nt, -1)
    by_t = [_rel(e[i], r[i]) for i in range(nt)]
    stride = max(1, math.ceil(nt / 64))
    if nt < QUARTERS:
        return {}, by_t[::stride]
    windows = time_window_errors(err + ref, ref, err.shape[:-1], t_axis=t_axis)
    return {k: float(v) for k, v in windows.items()}, by_t[::stride]


def field_metrics(pred: np.ndarray, target: np.ndarray, grid_shape: tuple[int, ...],
                  axes: tuple[str, ...]) -> tuple[dict, dict]:
    """(metrics, diagnostics) of one seed's predictions ``pred`` against ``target``."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    tn = float(np.linalg.norm(target))
    metrics = {
        "pred_norm_ratio": float(np.linalg.norm(pred) / tn) if tn > 0 else math.nan,
        "target_rms": float(np.sqrt(np.mean(target**2))),
    }
    diags: dict = {}
    n = int(np.prod(grid_shape)) if grid_shape else 0
    if not np.all(np.isfinite(pred)) or n == 0 or target.shape[0] != n or len(axes) != len(grid_shape):
        return metrics, diags
    shape = tuple(grid_shape) + (target.size // n,)
    err, ref = (pred - target).reshape(shape), target.reshape(shape)
    spatial = tuple(i for i, a in enumerate(axes) if a != "t")
    metrics.update(spectral_summary(err, ref, spatial))
    if "t" in axes:
        m, by_t = time_summary(err, ref, axes.index("t"))
        metrics.update(m)
        diags["error_by_time"] = by_t
    return metrics, diags
