"""Reference solution of the 1D viscous Burgers problem: exact Cole–Hopf formula by quadrature.

Problem::

    u_t + u u_x = nu u_xx,   x in [-1, 1],   t in [0, 1],
    u(0, x) = -sin(pi x),    u(t, -1) = u(t, 1) = 0.

The canonical ``nu`` is 0.01/pi (Raissi et al. 2019, PINNacle, jaxpi); the difficulty axis uses
nu in {0.1/pi, 0.05/pi, 0.01/pi, 0.005/pi}.

Exact solution. ``u0`` is odd and 2-periodic, so the solution of the whole-line problem is odd
about ``x = +-1`` as well and vanishes there: the Dirichlet problem *is* the whole-line problem.
The Cole–Hopf transform ``u = -2 nu phi_x / phi`` turns it into the heat equation
``phi_t = nu phi_xx`` with ``phi(0, x) = f(x) = exp(-cos(pi x) / (2 pi nu))`` (up to a constant
factor), whence, with ``eta = 2 sqrt(nu t) z`` and ``y = x - 2 sqrt(nu t) z``::

    u(x, t)   = - E[sin(pi y)],
    u_x(x, t) = - pi E[cos(pi y)] - Var[sin(pi y)] / (2 nu),

where ``E`` and ``Var`` are the mean and variance under the probability weights
``p(z) ∝ exp(-z^2) f(y)`` (``u_x`` follows from ``f' = f sin(pi y) / (2 nu)`` and the quotient rule;
writing it as a variance avoids the cancellation of two terms of size ``1/(2 nu)``).

Quadrature: Gauss–Hermite in ``z`` (``n = 200`` nodes by default). ``f`` spans ``exp(+-1/(2 pi nu))``
(``e^{+-100}`` at nu = 0.005/pi), so the weights are formed from ``log w_i - cos(pi y_i)/(2 pi nu)``
by a log-sum-exp (softmax), never by exponentiating ``f`` itself. The sums converge exponentially
in ``n``; :func:`build` measures the error floor by comparing ``n = 200`` with ``n = 150`` and with
an independent composite trapezoidal rule in ``z``. Measured on the 100 x 256 grid: agreement to
round-off (~1e-15 relative L2) for every nu of the difficulty axis, including 0.005/pi. The
residual round-off comes from ``cos(pi y)/(2 pi nu)`` (exponents of size 50-100 carry absolute
errors ~1e-14).

Public helpers (numpy, any broadcastable shapes of ``x`` and ``t``):

* :func:`initial_condition` — ``u0(x)``;
* :func:`solution` — ``u(x, t)``;
* :func:`solution_dx` — ``u_x(x, t)``;
* :func:`solution_and_dx` — both at once;
* :func:`build` — the :class:`~regimebench.reference.ReferenceSolution` used by the benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite import hermgauss

from regimebench.reference import ReferenceSolution

GENERATOR_VERSION = 1

DEFAULT_PARAMS: dict[str, float] = {"nu": 0.01 / np.pi}

#: Evaluation grid of the benchmark (Raissi's ``burgers_shock.mat``): 100 times 0, 0.01, ..., 0.99
#: and 256 points ``linspace(-1, 1, 256)``.
N_T_EVAL = 100
N_X_EVAL = 256
T_EVAL_END = 0.99

#: Gauss–Hermite orders of the stored reference and of its self-convergence check. numpy's
#: ``hermgauss`` is reliable far beyond 200, but 150-200 nodes already reach round-off here.
N_QUAD = 200
N_QUAD_CHECK = 150

#: Points of the independent trapezoidal check rule in z.
N_TRAPEZOID = 1001

# Bound the size of the (points x nodes) work arrays.
_CHUNK_ELEMENTS = 1 << 21


def initial_condition(x):
    """``u0(x) = -sin(pi x)``."""
    return -np.sin(np.pi * np.asarray(x, dtype=np.float64))


@lru_cache(maxsize=8)
def gauss_hermite_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``z_i`` and log-weights ``log w_i`` of ``n``-point Gauss–Hermite (weight exp(-z^2))."""
    z, w = hermgauss(n)
    z.setflags(write=False)
    logw = np.log(w)
    logw.setflags(write=False)
    return z, logw


def trapezoid_rule(nu: float, n: int = N_TRAPEZOID) -> tuple[np.ndarray, np.ndarray]:
    """A composite trapezoidal rule in ``z`` with the Gaussian folded into the log-weights.

    The integrand ``exp(-z^2 - cos(pi y)/(2 pi nu))`` is below ``1e-35`` of its maximum beyond
    ``z^2 = 2/(2 pi nu) + 80``; the rule covers that interval (truncation is negligible) and,
    for a smooth rapidly decaying integrand, the trapezoidal rule converges geometrically with
    the node spacing. Used only as an independent check of the Gauss–Hermite sums.
    """
    half = np.sqrt(2.0 / (2.0 * np.pi * nu) + 80.0)
    z = np.linspace(-half, half, n)
    return z, np.log(z[1] - z[0]) - z**2


def _moments(x: np.ndarray, t: np.ndarray, nu: float, z: np.ndarray, logw: np.ndarray):
    """``(E[sin], E[cos], Var[sin])`` of ``pi y`` for 1-D arrays ``x``, ``t`` of equal length."""
    y = x[:, None] - (2.0 * np.sqrt(nu * t))[:, None] * z[None, :]
    expo = logw[None, :] - np.cos(np.pi * y) / (2.0 * np.pi * nu)
    expo -= expo.max(axis=1, keepdims=True)  # log-sum-exp: the largest weight becomes 1
    p = np.exp(expo)
    p /= p.sum(axis=1, keepdims=True)
    s = np.sin(np.pi * y)
    mean_s = np.sum(p * s, axis=1)
    mean_c = np.sum(p * np.cos(np.pi * y), axis=1)
    var_s = np.sum(p * (s - mean_s[:, None]) ** 2, axis=1)
    return mean_s, mean_c, var_s


def solution_and_dx(x, t, nu: float = DEFAULT_PARAMS["nu"], n: int = N_QUAD,
                    rule: tuple[np.ndarray, np.ndarray] | None = None):
    """Exact ``u(x, t)`` and ``u_x(x, t)`` by the Cole–Hopf formula.

    Arguments:
        x, t: broadcastable arrays (``t >= 0``; ``x`` anywhere on the real line — the solution is
            odd and 2-periodic in ``x``).
        nu: viscosity.
        n: Gauss–Hermite order (ignored when ``rule`` is given).
        rule: optional ``(z, log_weights)`` quadrature rule for ``∫ exp(-z^2) g(z) dz``, e.g.
            :func:`trapezoid_rule`, to cross-check the default.

    Returns:
        ``(u, u_x)``, float64 arrays of the broadcast shape.
    """
    x, t = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64))
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    shape = x.shape
    xf, tf = x.ravel(), t.ravel()
    z, logw = rule if rule is not None else gauss_hermite_rule(n)
    u = np.empty_like(xf)
    ux = np.empty_like(xf)
    chunk = max(1, _CHUNK_ELEMENTS // len(z))
    for i in range(0, len(xf), chunk):
        sl = slice(i, i + chunk)
        mean_s, mean_c, var_s = _moments(xf[sl], tf[sl], nu, z, logw)
        u[sl] = -mean_s
        ux[sl] = -np.pi * mean_c - var_s / (2.0 * nu)
    return u.reshape(shape), ux.reshape(shape)


def solution(x, t, nu: float = DEFAULT_PARAMS["nu"], n: int = N_QUAD) -> np.ndarray:
    """Exact ``u(x, t)`` (see :func:`solution_and_dx`)."""
    return solution_and_dx(x, t, nu, n)[0]


def solution_dx(x, t, nu: float = DEFAULT_PARAMS["nu"], n: int = N_QUAD) -> np.ndarray:
    """Exact ``u_x(x, t)`` (see :func:`solution_and_dx`)."""
    return solution_and_dx(x, t, nu, n)[1]


def build(params: Mapping[str, float]) -> ReferenceSolution:
    """The benchmark reference on the 100 x 256 evaluation grid.

    ``params``: ``{"nu": float}`` (default 0.01/pi).

    Arrays: ``t`` (100,) = ``linspace(0, 0.99, 100)``, ``x`` (256,) = ``linspace(-1, 1, 256)``,
    ``u`` (100, 256) with ``u[i, j] = u(t[i], x[j])``.

    Error floor: the larger relative L2 difference, over the whole grid, of the ``n = 200``
    Gauss–Hermite values to ``n = 150`` and to a 1001-point trapezoidal rule (two rules with
    unrelated error mechanisms). ``info`` also records the same comparisons for ``u_x`` (max
    relative to ``max |u_x|``), the boundary values, ``u_x(0, 1.6037/pi)`` (Basdevant et al.
    1986: -152.00516 for nu = 0.01/pi) and timings.
    """
    p = {**DEFAULT_PARAMS, **dict(params)}
    nu = float(p["nu"])
    t = np.linspace(0.0, T_EVAL_END, N_T_EVAL)
    x = np.linspace(-1.0, 1.0, N_X_EVAL)
    tt, xx = np.meshgrid(t, x, indexing="ij")
    t0 = time.perf_counter()
    u, ux = solution_and_dx(xx, tt, nu, N_QUAD)
    seconds = time.perf_counter() - t0
    u_chk, ux_chk = solution_and_dx(xx, tt, nu, N_QUAD_CHECK)
    u_tr, ux_tr = solution_and_dx(xx, tt, nu, rule=trapezoid_rule(nu))

    def rel(a, b):
        return float(np.linalg.norm(a - b) / np.linalg.norm(b))

    d_gh, d_tr = rel(u_chk, u), rel(u_tr, u)
    scale_ux = float(np.max(np.abs(ux)))
    info = {
        "nu": nu,
        "n_quadrature": N_QUAD,
        f"rel_l2_gh{N_QUAD_CHECK}_vs_gh{N_QUAD}": d_gh,
        f"rel_l2_trapezoid{N_TRAPEZOID}_vs_gh{N_QUAD}": d_tr,
        f"max_abs_gh{N_QUAD_CHECK}_vs_gh{N_QUAD}": float(np.max(np.abs(u_chk - u))),
        f"max_abs_trapezoid{N_TRAPEZOID}_vs_gh{N_QUAD}": float(np.max(np.abs(u_tr - u))),
        f"ux_max_rel_gh{N_QUAD_CHECK}_vs_gh{N_QUAD}": float(np.max(np.abs(ux_chk - ux))) / scale_ux,
        f"ux_max_rel_trapezoid{N_TRAPEZOID}_vs_gh{N_QUAD}": float(np.max(np.abs(ux_tr - ux)))
        / scale_ux,
        "max_abs_ux_on_grid": scale_ux,
        "max_abs_boundary": float(max(np.max(np.abs(u[:, 0])), np.max(np.abs(u[:, -1])))),
        "ux_x0_t1.6037/pi": float(solution_dx(0.0, 1.6037 / np.pi, nu)),
        "seconds_gh": seconds,
    }
    method = (f"exact Cole-Hopf solution, Gauss-Hermite n={N_QUAD} with log-sum-exp weights, "
              f"float64; error floor vs n={N_QUAD_CHECK} and trapezoid {N_TRAPEZOID}")
    return ReferenceSolution({"t": t, "x": x, "u": u}, max(d_gh, d_tr), method, info)
