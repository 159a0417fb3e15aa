"""How much diagnostic work a run does (and so how much it costs).

A :class:`DiagnosticsConfig` is given to :func:`regimebench.train.train` (``diagnostics=``). It
does not change training itself, so it is not part of a run's identity (config hash, record path).
``None`` switches every probe off; :func:`default_for_tier` gives the suite's defaults (off in the
``smoke`` tier, where tests and CI must stay fast).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["DiagnosticsConfig", "default_for_tier"]


@dataclass(frozen=True)
class DiagnosticsConfig:
    """Switches and sizes of the probes.

    During training, at every ``interval``-th logging step (the trainer logs once per scan chunk):

    * ``snr_batches`` — B, the number of fixed mini-batches the first loss term's points (``pde``
      for PINNs) are split into for the gradient signal-to-noise ratio. Curves ``snr``,
      ``grad_norm_<term>`` and ``grad_ratio`` (min/max of the per-term gradient norms).
      Cost per probe: about three training steps, so raise ``interval`` when a run has only a
      few steps between logs.

    At the end of training (``landscape=True``), on the entry's loss form with unit weights
    (:func:`regimebench.diagnostics.end.landscape_loss`) over one fixed batch shared by all seeds
    (sampled with ``batch_seed``):

    * ``power_iters``/``power_tol`` — power iteration for the top Hessian eigenvalue;
    * ``trace_samples``/``trace_min_samples``/``trace_tol`` — Hutchinson trace;
    * ``lanczos_steps``/``lanczos_probes`` — stochastic Lanczos quadrature of the Hessian's
      spectral density: ``lanczos_steps × lanczos_probes`` HVPs (72 by default, fewer than the
      power iteration's usual count); 24 steps resolve the extreme eigenvalues and the exact
      moments up to order 47 per probe, and 3 probes give a spread for the bulk;
    * ``bezier_steps``/``bezier_points``/``path_points`` — mode connectivity across seeds;
    * ``slice_1d``/``slice_2d``/``slice_range`` — filter-normalised loss slices.
    """

    snr_batches: int = 16
    interval: int = 1
    landscape: bool = True
    batch_seed: int = 12345
    power_iters: int = 200
    power_tol: float = 1e-5
    trace_samples: int = 100
    trace_min_samples: int = 10
    trace_tol: float = 1e-3
    lanczos_steps: int = 24
    lanczos_probes: int = 3
    bezier_steps: int = 100
    bezier_points: int = 11
    path_points: int = 21
    slice_1d: int = 21
    slice_2d: int = 11
    slice_range: float = 1.0

    def __post_init__(self):
        if self.snr_batches < 2:
            raise ValueError(f"snr_batches must be at least 2, got {self.snr_batches}")
        if self.interval < 1:
            raise ValueError(f"interval must be a positive integer, got {self.interval}")
        if self.lanczos_steps < 2 or self.lanczos_probes < 1:
            raise ValueError(f"lanczos_steps must be at least 2 and lanczos_probes at least 1, "
                             f"got {self.lanczos_steps} and {self.lanczos_probes}")

    def as_dict(self) -> dict:
        return asdict(self)


def default_for_tier(tier: str) -> DiagnosticsConfig | None:
    """The suite's default per budget tier.

    ``smoke``: everything off (tests and CI). ``cpu``: the training-time probes only (SNR and
    gradient-norm curves: +10 % training time at the helmholtz ``cpu`` tier, measured by
    ``benchmarks/bench_snr_overhead.py``), because the end-of-run landscape
    probes compile and run Hessian, Bézier and slice programs that cost as much as a short
    ``cpu`` run on a laptop; ask for them with ``--diagnostics full``. ``standard``/``long``:
    everything.
    """
    if tier == "smoke":
        return None
    if tier == "cpu":
        return DiagnosticsConfig(landscape=False)
    return DiagnosticsConfig()
