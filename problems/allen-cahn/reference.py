"""Reference solution of the 1D Allen–Cahn problem (Fourier pseudo-spectral + ETDRK4, float64).

Problem::

    u_t - eps u_xx + 5 u^3 - 5 u = 0,   x in [-1, 1] periodic,   t in [0, 1],
    u(0, x) = x^2 cos(pi x).

The canonical ``eps`` is 1e-4 (Raissi et al. 2019; jaxpi); the difficulty axis uses
eps in {1e-2, 1e-3, 1e-4, 5e-5}.

Method (Kassam & Trefethen, SIAM J. Sci. Comput. 26, 2005): the solution is represented by its
values on the periodic grid ``x_j = -1 + 2 j / N`` (``j < N``), i.e. by ``N`` Fourier modes with
angular wavenumbers ``pi m``. The stiff linear part ``L = 5 - eps (pi m)^2`` is integrated exactly
and the nonlinear part ``-5 u^3`` (evaluated on the grid, not dealiased) by the fourth-order
exponential time-differencing Runge–Kutta scheme ETDRK4; its phi-functions are evaluated by the
contour-integral average over 32 points of the unit circle around ``h L``, which avoids the
cancellation of the textbook formulas for small ``|h L|``.

Initial data: ``u0`` is continuous but has a slope jump at ``x = +-1`` (``u0'(-1+) = 2``,
``u0'(1-) = -2``); its Fourier coefficients decay only like ``m^-2``. Sampling ``u0`` on the grid
(as the public ``AC.mat`` data do) aliases the discarded modes onto the kept ones, an ``O(N^-2)``
error in the low modes that diffusion never removes: that is why those data (N = 512) carry about
1e-5 relative L2 error. This module starts instead from the exact Fourier coefficients of ``u0``
(:func:`initial_modes`, closed form); only the discarded high modes are missing, diffusion damps
them within a few ``1/(eps (pi N/2)^2)`` and the solution converges spectrally in ``N``.

Accuracy (measured by :func:`build`, see ``info``): the stored ``N = 4096`` run is compared with
``N = 8192`` on the 201 x 512 evaluation grid; at the canonical ``eps = 1e-4`` they agree to about
1e-13 relative L2 (``N = 2048``: about 1e-9, concentrated at the first output time near ``x = +-1``).
The time error of ETDRK4 with ``dt = 2.5e-4`` is at the same round-off level.

Public helpers (pure functions, usable by tests and by the PINN problem code):

* :func:`initial_condition` — ``u0(x)``;
* :func:`grid` — the periodic grid;
* :func:`etdrk4_coefficients` — ETDRK4 phi-function coefficients for a diagonal linear operator;
* :func:`solve` — the spectral solution on the full ``N``-point grid at chosen output times;
* :func:`fourier_interpolate` — exact trigonometric interpolation of grid values to any ``x``;
* :func:`fourier_maximum` — the maximum of that interpolant (grid argmax refined by Newton);
* :func:`build` — the :class:`~regimebench.reference.ReferenceSolution` used by the benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from regimebench.reference import ReferenceSolution

GENERATOR_VERSION = 1

DEFAULT_PARAMS: dict[str, float] = {"eps": 1e-4}

#: Evaluation grid of the benchmark: 201 times on [0, 1] and the 512-point periodic grid
#: ``x_i = -1 + 2 i / 512`` (Raissi's ``AC.mat`` convention; x = 1 is the same point as x = -1).
N_T_EVAL = 201
N_X_EVAL = 512

#: Resolution of the stored reference and of the finer run used to measure its error.
N_REFERENCE = 4096
N_CHECK = 8192
DT_REFERENCE = 2.5e-4


def initial_condition(x):
    """``u0(x) = x^2 cos(pi x)`` (works on numpy or JAX arrays)."""
    xp = jnp if isinstance(x, jax.Array) else np
    return x**2 * xp.cos(np.pi * x)


def grid(n: int) -> np.ndarray:
    """The periodic grid ``x_j = -1 + 2 j / n``, ``j = 0 .. n-1`` (x = 1 excluded)."""
    return -1.0 + 2.0 * np.arange(n) / n


def wavenumbers(n: int) -> np.ndarray:
    """Angular wavenumbers ``pi m`` of the ``rfft`` modes ``m = 0 .. n/2`` on a period-2 domain."""
    return np.pi * np.arange(n // 2 + 1, dtype=np.float64)


def initial_modes(n: int) -> np.ndarray:
    """Exact Fourier coefficients of ``u0``, truncated to ``n`` modes, in ``numpy.fft.rfft`` layout.

    ``u0(x) = sum_m c_m exp(i pi m x)`` with ``c_m = int_0^1 x^2 cos(pi x) cos(pi m x) dx =
    (g(m+1) + g(m-1)) / 2``, ``g(0) = 1/3`` and ``g(j) = 2 (-1)^j / (pi j)^2``. On the grid
    ``x_j = -1 + 2 j / n`` the ``rfft`` of a band-limited function is ``n c_m (-1)^m``. The Nyquist
    mode is set to zero (its coefficient is O(n^-2) and diffusion damps it at once).

    Why not ``rfft(u0(grid))``: ``u0`` has a slope jump at ``x = +-1`` (its coefficients decay only
    like ``m^-2``), so sampling aliases the discarded modes onto the kept ones with an ``O(n^-2)``
    error that diffusion never removes (the low modes are not damped). Starting from the exact
    truncated coefficients leaves only the discarded high modes, which diffusion damps like
    ``exp(-eps (pi m)^2 t)``; the solution then converges spectrally in ``n``.
    """
    m = np.arange(n // 2 + 1, dtype=np.float64)

    def g(j):
        safe = np.where(j == 0, 1.0, j)
        return np.where(j == 0, 1.0 / 3.0, 2.0 * np.cos(np.pi * j) / (np.pi * safe) ** 2)

    coeffs = 0.5 * (g(m + 1.0) + g(m - 1.0))
    v = (n * coeffs * np.cos(np.pi * m)).astype(np.complex128)
    if n % 2 == 0:
        v[-1] = 0.0
    return v


def etdrk4_coefficients(lin: np.ndarray, h: float, n_contour: int = 32):
    """ETDRK4 coefficients for ``v' = L v + N(v)`` with diagonal ``L`` (Kassam & Trefethen 2005).

    Arguments:
        lin: the diagonal of ``L`` (real or complex array).
        h: the time step.
        n_contour: number of points on the unit circle around each ``h L`` used to evaluate the
            phi-functions by the Cauchy integral (mean over the circle); 32 gives round-off accuracy.

    Returns:
        ``(E, E2, Q, f1, f2, f3)`` with ``E = exp(hL)``, ``E2 = exp(hL/2)``, ``Q = h phi1(hL/2)/2``
        and the three final-stage weights, all with the shape of ``lin``. Real ``lin`` gives real
        coefficients.
    """
    lin = np.asarray(lin)
    hl = h * lin
    roots = np.exp(1j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    lr = hl[..., None] + roots
    e_lr = np.exp(lr)

    def mean(z):
        m = np.mean(z, axis=-1)
        return m.real if np.isrealobj(lin) else m

    q = h * mean((np.exp(lr / 2) - 1.0) / lr)
    f1 = h * mean((-4.0 - lr + e_lr * (4.0 - 3.0 * lr + lr**2)) / lr**3)
    f2 = h * mean((2.0 + lr + e_lr * (-2.0 + lr)) / lr**3)
    f3 = h * mean((-4.0 - 3.0 * lr - lr**2 + e_lr * (4.0 - lr)) / lr**3)
    return np.exp(hl), np.exp(hl / 2), q, f1, f2, f3


@partial(jax.jit, static_argnames=("n", "steps_per_output", "n_outputs"))
def _integrate(v0, coeffs, n: int, steps_per_output: int, n_outputs: int):
    """Advance ``v0`` (rfft of u) and return the grid values at ``n_outputs`` stored times."""
    e, e2, q, f1, f2, f3 = coeffs

    def nonlinear(v):
        u = jnp.fft.irfft(v, n=n)
        return -5.0 * jnp.fft.rfft(u**3)

    def step(v, _):
        nv = nonlinear(v)
        a = e2 * v + q * nv
        na = nonlinear(a)
        b = e2 * v + q * na
        nb = nonlinear(b)
        c = e2 * a + q * (2.0 * nb - nv)
        nc = nonlinear(c)
        return e * v + f1 * nv + 2.0 * f2 * (na + nb) + f3 * nc, None

    def output(v, _):
        v, _ = jax.lax.scan(step, v, None, length=steps_per_output)
        return v, jnp.fft.irfft(v, n=n)

    _, us = jax.lax.scan(output, v0, None, length=n_outputs)
    return us


def solve(eps: float, n: int = N_REFERENCE, dt: float = DT_REFERENCE,
          t_out: np.ndarray | None = None, *, exact_ic_modes: bool = True,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrate Allen–Cahn with ``n`` Fourier modes and ETDRK4 step ``dt``.

    Arguments:
        eps: the diffusion coefficient.
        n: number of grid points (even).
        dt: time step; every output interval must be an integer number of steps.
        t_out: increasing output times starting at 0 and equally spaced (default: 201 points on
            [0, 1]).
        exact_ic_modes: start from the exact truncated Fourier coefficients of ``u0``
            (:func:`initial_modes`, spectrally convergent); ``False`` starts from the FFT of the
            sampled ``u0``, the convention of the public ``AC.mat`` data (converges like ``n^-2``).

    Returns:
        ``(t_out, x, u)`` with ``x = grid(n)`` and ``u[i, j] = u(t_out[i], x[j])``; ``u[0]`` is the
        exact initial condition sampled on the grid (not its truncated Fourier series, which
        oscillates near the slope jump at ``x = +-1``).
    """
    if t_out is None:
        t_out = np.linspace(0.0, 1.0, N_T_EVAL)
    t_out = np.asarray(t_out, dtype=np.float64)
    dt_out = t_out[1] - t_out[0]
    if t_out[0] != 0.0 or not np.allclose(np.diff(t_out), dt_out, rtol=1e-12, atol=0):
        raise ValueError("t_out must start at 0 and be equally spaced")
    steps = int(round(dt_out / dt))
    if steps < 1 or abs(steps * dt - dt_out) > 1e-12 * dt_out:
        raise ValueError(f"output interval {dt_out} is not a multiple of dt={dt}")
    x = grid(n)
    lin = 5.0 - eps * wavenumbers(n) ** 2
    coeffs = etdrk4_coefficients(lin, dt)
    u0 = initial_condition(x)
    with jax.enable_x64(True):
        v0 = jnp.asarray(initial_modes(n) if exact_ic_modes else np.fft.rfft(u0))
        cj = tuple(jnp.asarray(c, dtype=jnp.complex128) for c in coeffs)
        us = np.asarray(_integrate(v0, cj, n, steps, len(t_out) - 1))
    return t_out, x, np.concatenate([u0[None, :], us], axis=0)


def _fourier_series(u_grid: np.ndarray):
    """Coefficients ``c_m`` and wavenumbers with ``u(x) = sum_m Re(c_m exp(i pi m (x + 1)))``."""
    u_grid = np.asarray(u_grid, dtype=np.float64)
    n = u_grid.shape[-1]
    c = np.fft.rfft(u_grid, axis=-1) / n
    c[..., 1:] *= 2.0
    if n % 2 == 0:
        c[..., -1] /= 2.0  # the Nyquist mode is a pure cosine, counted once
        c[..., -1] = c[..., -1].real
    return c, wavenumbers(n)


def fourier_interpolate(u_grid: np.ndarray, x) -> np.ndarray:
    """Evaluate the trigonometric interpolant of grid values at arbitrary points.

    Arguments:
        u_grid: values on ``grid(n)`` (last axis of length ``n``; leading axes are batched).
        x: evaluation points (any shape), interpreted periodically.

    Returns:
        array of shape ``u_grid.shape[:-1] + np.shape(x)``.
    """
    c, k = _fourier_series(u_grid)
    x = np.asarray(x, dtype=np.float64)
    phase = np.exp(1j * np.multiply.outer(x + 1.0, k))  # x.shape + (n/2+1,)
    return np.real(np.tensordot(c, phase, axes=([-1], [-1])))


def fourier_maximum(u_grid: np.ndarray, tol: float = 1e-14) -> tuple[float, float]:
    """Maximum over ``x`` of the trigonometric interpolant of ``u_grid`` (1-D array).

    The grid argmax brackets the continuous maximum to within one cell; Newton's method on the
    interpolant's derivative then locates it to round-off. This is the maximum of the spectral
    solution itself, not of its samples: on a grid of spacing ``h`` the sampled maximum can be
    low by up to ``|u''| h^2 / 8``.

    Returns:
        ``(x_max, u_max)``.
    """
    c, k = _fourier_series(u_grid)
    n = len(u_grid)
    x0 = grid(n)[int(np.argmax(u_grid))]
    h = 2.0 / n
    x = x0
    for _ in range(50):
        ph = np.exp(1j * k * (x + 1.0))
        d1 = np.real(np.sum(c * 1j * k * ph))
        d2 = np.real(np.sum(c * -(k**2) * ph))
        if d2 >= 0:  # not in a concave region: the grid max is as good as it gets
            x = x0
            break
        dx = -d1 / d2
        x = float(np.clip(x + dx, x0 - h, x0 + h))
        if abs(dx) < tol:
            break
    return x, float(fourier_interpolate(u_grid, x))


def build(params: Mapping[str, float]) -> ReferenceSolution:
    """The benchmark reference on the 201 x 512 evaluation grid.

    ``params``: ``{"eps": float}`` (default 1e-4). Runs, all from the exact truncated initial
    modes: ``N = 4096, dt = 2.5e-4`` (stored), ``N = 8192, dt = 2.5e-4`` (error floor),
    ``N = 4096, dt = 5e-4`` (time error) and ``N = 1024, 2048`` (convergence table). The stored
    values are the ``N = 4096`` grid values at every 8th point, so no interpolation is involved.

    Error floor: the larger of two relative L2 differences over all 201 x 512 values, ``N = 4096``
    vs ``N = 8192`` (convergence in ``N`` is spectral here, each doubling gains orders of
    magnitude, see ``info``, so this is the spatial error of ``N = 4096``) and ``dt = 5e-4`` vs
    ``2.5e-4`` (the time error of the coarser step, an upper bound for the stored one). Both are
    at the 1e-14 .. 1e-12 level except for ``eps = 5e-5``, where the spatial part is ~1e-12.

    Arrays: ``t`` (201,), ``x`` (512,), ``u`` (201, 512). ``info`` holds the convergence table
    (relative L2 and max abs against ``N = 8192``), the point values ``u(1, 0)`` and
    ``max_x u(1, x)`` (maximum of the spectral interpolant, :func:`fourier_maximum`) and timings.
    """
    p = {**DEFAULT_PARAMS, **dict(params)}
    eps = float(p["eps"])
    t_eval = np.linspace(0.0, 1.0, N_T_EVAL)
    timings: dict[str, float] = {}
    runs: dict[tuple[int, float], np.ndarray] = {}
    u_final = np.empty(0)
    for n, dt in ((1024, DT_REFERENCE), (2048, DT_REFERENCE), (N_REFERENCE, DT_REFERENCE),
                  (N_CHECK, DT_REFERENCE), (N_REFERENCE, 2 * DT_REFERENCE)):
        t0 = time.perf_counter()
        _, _, u = solve(eps, n, dt, t_eval)
        timings[f"seconds_N{n}_dt{dt:g}"] = time.perf_counter() - t0
        runs[(n, dt)] = u[:, :: n // N_X_EVAL]  # the 512-point grid is a subset of every grid
        if (n, dt) == (N_REFERENCE, DT_REFERENCE):
            u_final = u[-1]  # full resolution: max over x is not attained on the 512-point grid

    def rel(a, b):
        return float(np.linalg.norm(a - b) / np.linalg.norm(b))

    ref = runs[(N_REFERENCE, DT_REFERENCE)]
    fine = runs[(N_CHECK, DT_REFERENCE)]
    d_space = rel(ref, fine)
    d_time = rel(runs[(N_REFERENCE, 2 * DT_REFERENCE)], ref)
    # Both differences measure the error of the coarser run of their pair, so each bounds the
    # corresponding error of the stored run from above; the larger one is the floor.
    err_floor = max(d_space, d_time)
    info: dict[str, float] = {"eps": eps, "N": N_REFERENCE, "dt": DT_REFERENCE}
    for n in (1024, 2048, N_REFERENCE):
        info[f"rel_l2_N{n}_vs_N{N_CHECK}"] = rel(runs[(n, DT_REFERENCE)], fine)
        info[f"max_abs_N{n}_vs_N{N_CHECK}"] = float(np.max(np.abs(runs[(n, DT_REFERENCE)] - fine)))
    info["rel_l2_N1024_vs_N2048"] = rel(runs[(1024, DT_REFERENCE)], runs[(2048, DT_REFERENCE)])
    info["rel_l2_dt5e-4_vs_dt2.5e-4"] = d_time
    x_eval = grid(N_X_EVAL)
    x_max, u_max = fourier_maximum(u_final)
    info.update({
        "u_t1_x0": float(u_final[N_REFERENCE // 2]),
        "max_u_t1": u_max,
        "argmax_u_t1": x_max,
        "max_u_t1_on_eval_grid": float(np.max(ref[-1])),
        **timings,
    })
    method = (f"Fourier pseudo-spectral N={N_REFERENCE} (exact initial modes) + ETDRK4 "
              f"(Kassam-Trefethen, contour phi-functions) dt={DT_REFERENCE:g}, float64; "
              f"error floor vs N={N_CHECK}")
    return ReferenceSolution({"t": t_eval, "x": x_eval, "u": ref}, err_floor, method, info)
