"""Reference data for 2D active (mesoscale bacterial) turbulence: pseudo-spectral ETDRK4, float64.

Model (Wensink et al., PNAS 2012; Dunkel et al., PRL 2013), as used by Maddu et al. 2021
(arXiv 2107.00940, mosaic-group/inverse-dirichlet-pinn)::

    v_t + lambda0 (v . grad) v = -grad p - alpha v - beta |v|^2 v + Gamma0 lap v - Gamma2 lap^2 v,
    div v = 0,

on the periodic square [0, 2 pi)^2, with lambda0 = 3.5, alpha = -1, beta = 0.5, Gamma0 = -0.045,
Gamma2 = 0.045^3 (``lambda1 = 0``). Taking the curl gives the vorticity equation solved here
(``omega = v_x - u_y``, ``M = u^2 + v^2``)::

    omega_t + lambda0 (u omega_x + v omega_y) + alpha omega + beta (M omega + M_x v - M_y u)
            - Gamma0 lap omega + Gamma2 lap^2 omega = 0,

which is exactly the PINN residual ``r1`` of Maddu's code (signs checked by the tests against an
independent evaluation). The velocity is recovered from the stream function ``psi`` with
``-lap psi = omega``, ``u = psi_y``, ``v = -psi_x``, plus the spatial mean velocity ``U`` that the
vorticity does not determine. Averaging the momentum equation over the box (advection, pressure and
Laplacians have zero mean) gives ``dU/dt = -alpha U - beta <M v>``; it is integrated together with
the vorticity, so the stored velocity satisfies the velocity form as well (the original code's
treatment of the mean flow is unknown; ``|U|`` stays at a few 1e-2).

Linearised about rest, a Fourier mode ``exp(i k.x)`` evolves as ``exp(sigma(|k|) t)`` with
``sigma(k) = -alpha - Gamma0 k^2 - Gamma2 k^4`` = ``1 + 0.045 k^2 - 9.1125e-5 k^4`` (maximum
6.556 at ``k = 15.71``; damped for ``k > 22.70``): :func:`growth_rate`.

Discretisation: Fourier pseudo-spectral on an ``N x N`` grid ``x_i = 2 pi i / N`` (``i = 0..N-1``),
arrays indexed ``[i_x, i_y]``; nonlinear products on the grid in conservative form
``d_x(-lambda0 u omega - beta M v) + d_y(-lambda0 v omega + beta M u)``, truncated by the 2/3 rule
(``|k_x|, |k_y| < N/3``). Time: ETDRK4 (Cox & Matthews 2002) with phi-functions by the
Kassam–Trefethen contour integral; the linear operator ``sigma(k)`` (and ``-alpha`` for ``U``) is
treated exactly. The explicit treatment of advection limits the step: with ``dt = 0.01`` (the
snapshot interval of Maddu's files, probably not their integration step) the run blows up once
``|v|`` reaches ~4-5 (``lambda0 |v| k dt`` is O(1) near the dealiasing cut-off; measured here:
NaN by ``t ~ 2`` on N = 256, while ``dt = 5e-3`` survives). The spin-up uses ``dt = 2.5e-3``
(a factor 2 of margin) and the stored window ``dt = 1.25e-3`` (for accuracy).

Instance (this module *defines* it; the flow is chaotic and Maddu's initial data are unpublished,
so pointwise agreement with their files is impossible): vorticity noise of rms ``1e-2`` made of
the Fourier modes ``|k_x|, |k_y| <= 24`` of a seeded 64 x 64 white-noise field (so the initial
data do not depend on ``N``), ``U = 0``; spin-up on ``N = 256`` to ``t = 4.2``; then the window
``t = 4.20, 4.21, ..., 4.69`` (50 frames, every 0.01) on the 64 x 64 patch of grid indices 64:128
in both directions, the setting of Maddu et al.

Accuracy (measured by :func:`build`): only the window matters, so the state at ``t = 4.2`` is
taken as exact and the window is re-integrated with ``dt / 2`` and on ``N = 384`` (the state
zero-padded; ``N = 384``'s 2/3 band ends at 128, which the 256 grid still represents exactly, so
the comparison needs no interpolation). The error floor is the larger relative L2 difference of
``(u, v, omega)`` on the stored patch (measured 1.6e-5, from the dt halving; N: 1.2e-6).

Reproducibility — *not* a discretisation error, but a limit on what "the same instance" means: the
flow is chaotic (perturbations grow by about a factor 10 per 0.3 time units once saturated, i.e.
from t ~ 1.2 on), so round-off alone (another machine, FFT library, thread count or XLA version)
moves the trajectory. :func:`build` measures it by repeating spin-up and window on the transposed
state (:func:`transpose_state`, identical in exact arithmetic): relative L2 of omega 4e-5 at
``t = 4.2`` and 2e-3 at the last frame (8e-4 over the window). Two builds on different machines
should therefore be expected to agree only to ~1e-3, although each is accurate to ~1e-5 as a
solution of the PDE in the window (the PINN is given its data — first frame and patch edges — from
the same reference it is scored against, so each instance is self-consistent). The cache's sha256
records which trajectory a run used. A shorter spin-up (``t_start`` ~ 2, the flow saturates at
t ~ 1.3) would make builds agree to ~1e-9 if that matters more than following Maddu's time stamps.

Public helpers:

* :func:`growth_rate` — the linear dispersion relation ``sigma(k)``;
* :class:`Spectral` / :func:`make_grid` — wavenumbers, dealiasing mask, grid of size ``N``;
* :func:`initial_state` — the seeded initial vorticity spectrum and mean flow;
* :func:`make_stepper` — ETDRK4 coefficients for ``(N, dt, params)`` (any ``N``, small ones for
  tests; a negative ``dt`` steps backwards, useful only over very short times);
* :func:`advance` — integrate a state by a number of steps;
* :func:`window_frames` — integrate and return ``(u, v, omega, U)`` on a patch every few steps;
* :func:`velocity` / :func:`fields` — ``(u, v)`` / ``(u, v, omega)`` on the grid from a state;
* :func:`linear_operator`, :func:`nonlinear_term` — the two parts of the right-hand side;
* :func:`resample` — exact change of resolution of a band-limited state;
* :func:`spectral_divergence`, :func:`spectral_curl` — diagnostics of periodic velocity fields;
* :func:`transpose_state` — the x <-> y mirror image of a state (round-off reproducibility);
* :func:`build` — the :class:`~regimebench.reference.ReferenceSolution` used by the benchmark.

All functions take the state ``(w_hat, U)``: ``w_hat`` the ``rfft2`` of the vorticity,
shape ``(N, N//2 + 1)``, and ``U`` the mean velocity, shape ``(2,)``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from regimebench.reference import ReferenceSolution

GENERATOR_VERSION = 1

DEFAULT_PARAMS: dict[str, float] = {
    "lambda0": 3.5,
    "alpha": -1.0,
    "beta": 0.5,
    "gamma0": -0.045,
    "gamma2": 0.045**3,
    "t_start": 4.2,
    "window": 0.5,
    "seed": 0,
}

N_REFERENCE = 256
N_CHECK = 384
DT_SPINUP = 2.5e-3
DT_WINDOW = 1.25e-3
DT_FRAME = 0.01
#: Grid indices of the stored patch (both directions), as in Maddu et al.
PATCH = slice(64, 128)
#: Initial noise: rms vorticity, the 64 x 64 seed grid and the kept band |k_x|, |k_y| <= K.
NOISE_RMS = 1e-2
NOISE_GRID = 64
NOISE_KMAX = 24


def growth_rate(k, params: Mapping[str, float] | None = None):
    """Linear growth rate ``sigma(k) = -alpha - Gamma0 k^2 - Gamma2 k^4`` of a mode of wavenumber
    magnitude ``k`` about the fluid at rest (advection and the cubic term vanish to first order)."""
    p = {**DEFAULT_PARAMS, **dict(params or {})}
    k2 = np.asarray(k, dtype=np.float64) ** 2
    return -p["alpha"] - p["gamma0"] * k2 - p["gamma2"] * k2**2


@dataclass(frozen=True)
class Spectral:
    """Wavenumbers of an ``N x N`` periodic grid on ``[0, 2 pi)^2`` in ``rfft2`` layout.

    Attributes: ``n``; ``kx`` (N, 1) and ``ky`` (1, N//2+1) integer wavenumbers; ``k2 = |k|^2``;
    ``inv_k2`` (``1/|k|^2``, 0 at k = 0); ``mask`` (2/3 rule: ``|k_x|, |k_y| < N/3``).
    """

    n: int
    kx: np.ndarray
    ky: np.ndarray
    k2: np.ndarray
    inv_k2: np.ndarray
    mask: np.ndarray

    @property
    def x(self) -> np.ndarray:
        """Grid coordinates ``2 pi i / N`` (the same in both directions)."""
        return 2.0 * np.pi * np.arange(self.n) / self.n


def make_grid(n: int) -> Spectral:
    """The :class:`Spectral` description of an ``n x n`` grid (``n`` even)."""
    kx = np.fft.fftfreq(n, 1.0 / n)[:, None]
    ky = np.fft.rfftfreq(n, 1.0 / n)[None, :]
    k2 = kx**2 + ky**2
    inv_k2 = np.divide(1.0, k2, out=np.zeros_like(k2), where=k2 > 0)
    mask = (np.abs(kx) < n / 3.0) & (np.abs(ky) < n / 3.0)
    return Spectral(n, kx, ky, k2, inv_k2, mask.astype(np.float64))


def initial_state(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The seeded initial state ``(w_hat, U)`` on an ``n x n`` grid (``n >= 2 * NOISE_KMAX + 2``).

    A ``NOISE_GRID x NOISE_GRID`` field of standard normal numbers is drawn with
    ``numpy.random.default_rng(seed)``; its Fourier modes with ``|k_x|, |k_y| <= NOISE_KMAX`` are
    kept and scaled so that the rms vorticity is ``NOISE_RMS``. The result is a trigonometric
    polynomial, the same function for every ``n`` (which is why the noise is not drawn on the
    ``n``-grid itself). ``U = 0``.
    """
    rng = np.random.default_rng(seed)
    m = NOISE_GRID
    noise_hat = np.fft.rfft2(rng.standard_normal((m, m)))
    small = make_grid(m)
    keep = (np.abs(small.kx) <= NOISE_KMAX) & (np.abs(small.ky) <= NOISE_KMAX)
    noise_hat = noise_hat * keep
    noise_hat[0, 0] = 0.0  # the mean vorticity of a periodic velocity field is zero
    big = _embed(noise_hat, m, n) * (n / m) ** 2
    w = np.fft.irfft2(big, s=(n, n))
    big *= NOISE_RMS / np.sqrt(np.mean(w**2))
    return big, np.zeros(2)


def _embed(w_hat: np.ndarray, n_from: int, n_to: int) -> np.ndarray:
    """Copy the modes ``|k_x| < min(n)/2`` of an ``rfft2`` array into the layout of another size.

    Modes at or beyond the smaller grid's Nyquist frequency are dropped (for 2/3-dealiased states
    they are zero anyway), so the map is exact for band-limited states; scaling by ``(n_to /
    n_from)^2`` is the caller's business.
    """
    n_min = min(n_from, n_to)
    half = n_min // 2
    out = np.zeros((n_to, n_to // 2 + 1), dtype=np.complex128)
    out[:half, :half] = w_hat[:half, :half]
    out[-(half - 1):, :half] = w_hat[-(half - 1):, :half]
    return out


def resample(state, n_to: int):
    """Exact change of resolution of a band-limited state ``(w_hat, U)`` (zero-padding or
    truncating the spectrum; exact as long as no mode beyond the smaller grid's band is present)."""
    w_hat, u_mean = state
    w_hat = np.asarray(w_hat)
    n_from = w_hat.shape[0]
    return _embed(w_hat, n_from, n_to) * (n_to / n_from) ** 2, np.asarray(u_mean)


def etdrk4_coefficients(lin: np.ndarray, h: float, n_contour: int = 32):
    """ETDRK4 coefficients ``(E, E2, Q, f1, f2, f3)`` for a real diagonal linear operator ``lin``
    and step ``h`` (Cox–Matthews scheme, phi-functions by the Kassam–Trefethen contour average
    over ``n_contour`` points of the unit circle around ``h lin``)."""
    hl = h * np.asarray(lin, dtype=np.float64)
    roots = np.exp(1j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    lr = hl[..., None] + roots
    e_lr = np.exp(lr)
    q = h * np.mean((np.exp(lr / 2) - 1.0) / lr, axis=-1).real
    f1 = h * np.mean((-4.0 - lr + e_lr * (4.0 - 3.0 * lr + lr**2)) / lr**3, axis=-1).real
    f2 = h * np.mean((2.0 + lr + e_lr * (-2.0 + lr)) / lr**3, axis=-1).real
    f3 = h * np.mean((-4.0 - 3.0 * lr - lr**2 + e_lr * (4.0 - lr)) / lr**3, axis=-1).real
    return np.exp(hl), np.exp(hl / 2), q, f1, f2, f3


@dataclass(frozen=True)
class Stepper:
    """Everything :func:`advance` needs for one ``(N, dt, params)``: grid, coefficients, params."""

    grid: Spectral
    dt: float
    params: dict[str, float]
    coeffs_w: tuple[np.ndarray, ...]
    coeffs_u: tuple[np.ndarray, ...]

    def device_args(self) -> tuple[Any, ...]:
        """The arrays and scalars of the stepper as JAX float64 arrays (call under x64)."""
        g = self.grid
        p = self.params
        arrays = dict(kx=g.kx, ky=g.ky, inv_k2=g.inv_k2, mask=g.mask)
        consts = (p["lambda0"], p["beta"])
        return (
            {k: jnp.asarray(v) for k, v in arrays.items()},
            tuple(jnp.asarray(c) for c in self.coeffs_w),
            tuple(jnp.asarray(c) for c in self.coeffs_u),
            tuple(jnp.asarray(c, dtype=jnp.float64) for c in consts),
        )


def linear_operator(grid: Spectral, params: Mapping[str, float]) -> np.ndarray:
    """Diagonal of the linear part acting on ``w_hat``: ``sigma(|k|)`` (see :func:`growth_rate`)."""
    return growth_rate(np.sqrt(grid.k2), params)


def make_stepper(n: int, dt: float, params: Mapping[str, float] | None = None) -> Stepper:
    """ETDRK4 stepper on an ``n x n`` grid with step ``dt`` and model coefficients ``params``."""
    p = {**DEFAULT_PARAMS, **dict(params or {})}
    grid = make_grid(n)
    coeffs_w = etdrk4_coefficients(linear_operator(grid, p), dt)
    coeffs_u = etdrk4_coefficients(np.array(-p["alpha"]), dt)
    return Stepper(grid, float(dt), p, coeffs_w, coeffs_u)


def _fields(w_hat, u_mean, g):
    """``(u, v, omega)`` on the grid (JAX)."""
    n = g["kx"].shape[0]
    psi = w_hat * g["inv_k2"]
    spec = jnp.stack([1j * g["ky"] * psi, -1j * g["kx"] * psi, w_hat])
    u, v, w = jnp.fft.irfft2(spec, s=(n, n), axes=(-2, -1))
    return u + u_mean[0], v + u_mean[1], w


def _nonlinear(w_hat, u_mean, g, consts):
    lambda0, beta = consts
    u, v, w = _fields(w_hat, u_mean, g)
    m = u * u + v * v
    # curl of the momentum nonlinearity in conservative form (div v = 0), one FFT call for both
    flux = jnp.fft.rfft2(jnp.stack([-lambda0 * u * w - beta * m * v,
                                    -lambda0 * v * w + beta * m * u]), axes=(-2, -1))
    n_w = g["mask"] * (1j * g["kx"] * flux[0] + 1j * g["ky"] * flux[1])
    # mean-flow equation dU/dt = -alpha U - beta <M v>; the -alpha U part is linear
    n_u = -beta * jnp.stack([jnp.mean(m * u), jnp.mean(m * v)])
    return n_w, n_u


def _etdrk4_step(state, g, cw, cu, consts):
    w, um = state
    ew, e2w, qw, f1w, f2w, f3w = cw
    eu, e2u, qu, f1u, f2u, f3u = cu
    nw, nu = _nonlinear(w, um, g, consts)
    aw, au = e2w * w + qw * nw, e2u * um + qu * nu
    naw, nau = _nonlinear(aw, au, g, consts)
    bw, bu = e2w * w + qw * naw, e2u * um + qu * nau
    nbw, nbu = _nonlinear(bw, bu, g, consts)
    cw_, cu_ = e2w * aw + qw * (2.0 * nbw - nw), e2u * au + qu * (2.0 * nbu - nu)
    ncw, ncu = _nonlinear(cw_, cu_, g, consts)
    w_new = ew * w + f1w * nw + 2.0 * f2w * (naw + nbw) + f3w * ncw
    u_new = eu * um + f1u * nu + 2.0 * f2u * (nau + nbu) + f3u * ncu
    return w_new, u_new


@partial(jax.jit, static_argnames=("n_steps",))
def _advance(state, g, cw, cu, consts, n_steps: int):
    def body(s, _):
        return _etdrk4_step(s, g, cw, cu, consts), None

    state, _ = jax.lax.scan(body, state, None, length=n_steps)
    return state


def _truncate(w_hat, n_out: int):
    """JAX version of :func:`resample` for ``n_out <= n`` (static shapes)."""
    n = w_hat.shape[0]
    if n_out == n:
        return w_hat
    half = n_out // 2
    top = w_hat[:half, :half]
    bottom = w_hat[n - (half - 1):, :half]
    middle = jnp.zeros((1, half), dtype=w_hat.dtype)  # the dropped Nyquist row k_x = -n_out/2
    pad = jnp.zeros((n_out, 1), dtype=w_hat.dtype)  # the dropped Nyquist column k_y = n_out/2
    out = jnp.concatenate([jnp.concatenate([top, middle, bottom], axis=0), pad], axis=1)
    return out * (n_out / n) ** 2


@partial(jax.jit, static_argnames=("steps_per_frame", "n_frames", "patch"))
def _window(state, g, cw, cu, consts, g_out, steps_per_frame: int, n_frames: int,
            patch: tuple[int, int]):
    lo, hi = patch
    n_out = g_out["kx"].shape[0]

    def snapshot(s):
        u, v, w = _fields(_truncate(s[0], n_out), s[1], g_out)
        return u[lo:hi, lo:hi], v[lo:hi, lo:hi], w[lo:hi, lo:hi], s[1]

    def body(s, _):
        return _etdrk4_step(s, g, cw, cu, consts), None

    def frame(s, _):
        s, _ = jax.lax.scan(body, s, None, length=steps_per_frame)
        return s, snapshot(s)

    first = snapshot(state)
    state_end, rest = jax.lax.scan(frame, state, None, length=n_frames - 1)
    outs = tuple(jnp.concatenate([a[None], b]) for a, b in zip(first, rest, strict=True))
    return state_end, outs


def advance(state, stepper: Stepper, n_steps: int):
    """Integrate ``state = (w_hat, U)`` by ``n_steps`` ETDRK4 steps; returns numpy arrays."""
    with jax.enable_x64(True):
        g, cw, cu, consts = stepper.device_args()
        s = (jnp.asarray(state[0], dtype=jnp.complex128), jnp.asarray(state[1], jnp.float64))
        w, um = _advance(s, g, cw, cu, consts, int(n_steps))
        return np.asarray(w), np.asarray(um)


def window_frames(state, stepper: Stepper, steps_per_frame: int, n_frames: int,
                  patch: slice = PATCH, n_out: int | None = None):
    """Frames ``(u, v, omega)`` on ``patch`` x ``patch`` and the mean flow, every
    ``steps_per_frame`` steps, the first at the given state.

    Arguments:
        state, stepper: initial state and :func:`make_stepper` result (same ``N``).
        steps_per_frame, n_frames: frame spacing in steps and number of frames.
        patch: grid-index range of the patch (both directions) on the output grid.
        n_out: evaluate the frames on a coarser ``n_out``-grid (spectral truncation, exact when
            the state's 2/3 band fits in it, e.g. ``N = 384 -> 256``); default: the state's grid.

    Returns:
        ``(u, v, w, U)`` with shapes ``(n_frames, P, P)`` and ``(n_frames, 2)``.
    """
    n_out = stepper.grid.n if n_out is None else int(n_out)
    g_out = make_grid(n_out)
    with jax.enable_x64(True):
        g, cw, cu, consts = stepper.device_args()
        go = {k: jnp.asarray(getattr(g_out, k)) for k in ("kx", "ky", "inv_k2", "mask")}
        s = (jnp.asarray(state[0], dtype=jnp.complex128), jnp.asarray(state[1], jnp.float64))
        _, (u, v, w, um) = _window(s, g, cw, cu, consts, go, int(steps_per_frame),
                                   int(n_frames), (patch.start, patch.stop))
        return np.asarray(u), np.asarray(v), np.asarray(w), np.asarray(um)


def fields(state) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(u, v, omega)`` on the full grid of a state (numpy, indexed ``[i_x, i_y]``)."""
    w_hat, u_mean = state
    w_hat = np.asarray(w_hat)
    n = w_hat.shape[0]
    g = make_grid(n)
    psi = w_hat * g.inv_k2
    u = np.fft.irfft2(1j * g.ky * psi, s=(n, n)) + u_mean[0]
    v = np.fft.irfft2(-1j * g.kx * psi, s=(n, n)) + u_mean[1]
    return u, v, np.fft.irfft2(w_hat, s=(n, n))


def velocity(state) -> tuple[np.ndarray, np.ndarray]:
    """``(u, v)`` on the full grid of a state."""
    u, v, _ = fields(state)
    return u, v


def nonlinear_term(state, params: Mapping[str, float] | None = None):
    """The non-linear part of the right-hand side, ``(N_w_hat, N_U)``, as the solver uses it."""
    p = {**DEFAULT_PARAMS, **dict(params or {})}
    w_hat = np.asarray(state[0])
    g = make_grid(w_hat.shape[0])
    with jax.enable_x64(True):
        ga = {k: jnp.asarray(getattr(g, k)) for k in ("kx", "ky", "inv_k2", "mask")}
        consts = (jnp.asarray(p["lambda0"]), jnp.asarray(p["beta"]))
        nw, nu = _nonlinear(jnp.asarray(w_hat), jnp.asarray(state[1]), ga, consts)
        return np.asarray(nw), np.asarray(nu)


def spectral_divergence(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``u_x + v_y`` of periodic fields on ``[0, 2 pi)^2`` (arrays ``[i_x, i_y]``), spectrally."""
    g = make_grid(u.shape[0])
    n = g.n
    return np.fft.irfft2(1j * g.kx * np.fft.rfft2(u) + 1j * g.ky * np.fft.rfft2(v), s=(n, n))


def spectral_curl(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``v_x - u_y`` of periodic fields on ``[0, 2 pi)^2`` (arrays ``[i_x, i_y]``), spectrally."""
    g = make_grid(u.shape[0])
    n = g.n
    return np.fft.irfft2(1j * g.kx * np.fft.rfft2(v) - 1j * g.ky * np.fft.rfft2(u), s=(n, n))


def transpose_state(state):
    """The state with ``x`` and ``y`` swapped: ``omega'(x, y) = -omega(y, x)``, ``U' = (U_y, U_x)``.

    The model is invariant under this reflection, so integrating the transposed state and
    transposing back reproduces the trajectory exactly in exact arithmetic, while every FFT sees
    its data in another order: the difference of the two runs measures how far round-off alone
    (another machine, another FFT library) moves the chaotic trajectory.
    """
    w_hat, u_mean = state
    w_hat = np.asarray(w_hat)
    n = w_hat.shape[0]
    w = np.fft.irfft2(w_hat, s=(n, n))
    return np.fft.rfft2(-w.T), np.asarray(u_mean)[::-1].copy()


def _steps(interval: float, dt: float) -> int:
    k = int(round(interval / dt))
    if k < 1 or abs(k * dt - interval) > 1e-9 * interval:
        raise ValueError(f"interval {interval} is not a multiple of dt = {dt}")
    return k


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def build(params: Mapping[str, float]) -> ReferenceSolution:
    """The benchmark data: the window ``[t_start, t_start + window)`` on the 64 x 64 patch.

    ``params``: any of :data:`DEFAULT_PARAMS` (the five model coefficients, ``t_start`` = 4.2,
    ``window`` = 0.5, ``seed`` = 0); missing keys take the defaults.

    Arrays (float64; fields indexed ``[frame, i_x, i_y]``):

    * ``t`` (50,), ``x`` (64,), ``y`` (64,) — frame times and patch coordinates;
    * ``u``, ``v``, ``w`` (50, 64, 64) — velocity and vorticity on the patch;
    * ``mean_velocity`` (50, 2) — the box-mean velocity ``U`` (included in ``u``, ``v``);
    * ``x_full`` (256,), ``u_full0``, ``v_full0``, ``w_full0`` (256, 256) — the whole box at the
      first frame (spectral diagnostics: divergence, spectra).

    Error floor: the larger of the relative L2 differences on the patch (all frames, ``u``, ``v``,
    ``omega`` each; the maximum is taken) between the stored run (``N = 256``, ``dt = 1.25e-3``)
    and the window re-integrated from the same ``t_start`` state with ``dt = 6.25e-4`` and with
    ``N = 384``. Timings and the convergence numbers are in ``info``.
    """
    p = {**DEFAULT_PARAMS, **dict(params)}
    seed = int(p["seed"])
    t_start, window = float(p["t_start"]), float(p["window"])
    n_frames = _steps(window, DT_FRAME)
    info: dict[str, float] = {"seed": seed, "N": N_REFERENCE, "dt_spinup": DT_SPINUP,
                              "dt_window": DT_WINDOW}

    t0 = time.perf_counter()
    spin = make_stepper(N_REFERENCE, DT_SPINUP, p)
    n_spin = _steps(t_start, DT_SPINUP)
    state0 = initial_state(N_REFERENCE, seed)
    state = advance(state0, spin, n_spin)
    info["seconds_spinup"] = time.perf_counter() - t0
    stepper = make_stepper(N_REFERENCE, DT_WINDOW, p)
    per_frame = _steps(DT_FRAME, DT_WINDOW)

    t1 = time.perf_counter()
    u, v, w, um = window_frames(state, stepper, per_frame, n_frames)
    info["seconds_window"] = time.perf_counter() - t1

    # Discretisation error of the window, from the same t_start state: dt halving and N = 384.
    t1 = time.perf_counter()
    checks = {
        "dt": window_frames(state, make_stepper(N_REFERENCE, DT_WINDOW / 2, p), 2 * per_frame,
                            n_frames),
        "N": window_frames(resample(state, N_CHECK), make_stepper(N_CHECK, DT_WINDOW, p),
                           per_frame, n_frames, n_out=N_REFERENCE),
    }
    info["seconds_convergence_checks"] = time.perf_counter() - t1
    floor = 0.0
    for label, (uc, vc, wc, _) in checks.items():
        for name, a, b in (("u", u, uc), ("v", v, vc), ("w", w, wc)):
            r = _rel(a, b)
            info[f"rel_l2_{name}_{label}_check"] = r
            floor = max(floor, r)

    # Reproducibility (not part of the error floor: it is not an error of this trajectory, but
    # it bounds how closely a build on another machine can agree with this one).
    t1 = time.perf_counter()
    state_t = advance(transpose_state(state0), spin, n_spin)
    ut, vt, wt, _ = window_frames(state_t, stepper, per_frame, n_frames)
    ut, vt, wt = np.swapaxes(vt, 1, 2), np.swapaxes(ut, 1, 2), -np.swapaxes(wt, 1, 2)
    info["roundoff_rel_l2_w_t_start"] = _rel(fields(transpose_state(state_t))[2], fields(state)[2])
    info["roundoff_rel_l2_w_first_frame"] = _rel(wt[0], w[0])
    info["roundoff_rel_l2_w_last_frame"] = _rel(wt[-1], w[-1])
    info["roundoff_rel_l2_u_window"] = _rel(ut, u)
    info["roundoff_rel_l2_v_window"] = _rel(vt, v)
    info["roundoff_rel_l2_w_window"] = _rel(wt, w)
    info["seconds_roundoff_check"] = time.perf_counter() - t1

    uf, vf, wf = fields(state)
    x_full = make_grid(N_REFERENCE).x
    info.update({
        "mean_energy_t_start": float(0.5 * np.mean(uf**2 + vf**2)),
        "max_speed_t_start": float(np.sqrt(np.max(uf**2 + vf**2))),
        "max_abs_vorticity_t_start": float(np.max(np.abs(wf))),
        "mean_velocity_norm_t_start": float(np.linalg.norm(state[1])),
        "max_abs_divergence_t_start": float(np.max(np.abs(spectral_divergence(uf, vf)))),
    })
    t = t_start + DT_FRAME * np.arange(n_frames)
    arrays = {
        "t": t, "x": x_full[PATCH], "y": x_full[PATCH], "u": u, "v": v, "w": w,
        "mean_velocity": um, "x_full": x_full, "u_full0": uf, "v_full0": vf, "w_full0": wf,
    }
    method = (f"vorticity pseudo-spectral N={N_REFERENCE} (2/3 dealiasing) + ETDRK4, spin-up "
              f"dt={DT_SPINUP:g} from seeded noise (seed {seed}) to t={t_start:g}, window "
              f"dt={DT_WINDOW:g}, float64; error floor vs dt/2 and N={N_CHECK}")
    return ReferenceSolution(arrays, floor, method, info)

