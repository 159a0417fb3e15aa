"""Tests of the Burgers reference generator (problems/burgers/reference.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from regimebench._catalogue import load_problem_module

burgers = load_problem_module("burgers", "reference")

NU_CANONICAL = 0.01 / np.pi
NU_AXIS = [0.1 / np.pi, 0.05 / np.pi, 0.01 / np.pi, 0.005 / np.pi]

# Basdevant et al. (1986), Comput. Fluids 14: max |u_x| at x = 0 for nu = 0.01/pi is
# 152.00516, reached at t = 1.6037/pi (both printed to the last digit shown).
BASDEVANT_T = 1.6037 / np.pi
BASDEVANT_UX = -152.00516


@pytest.fixture(scope="module")
def canonical(get_reference):
    return get_reference("burgers", {"nu": NU_CANONICAL})


def test_arrays_and_grids(canonical):
    a = canonical.arrays
    assert a["t"].shape == (100,) and a["x"].shape == (256,) and a["u"].shape == (100, 256)
    assert all(a[k].dtype == np.float64 for k in ("t", "x", "u"))
    np.testing.assert_array_equal(a["t"], np.linspace(0.0, 0.99, 100))
    np.testing.assert_array_equal(a["x"], np.linspace(-1.0, 1.0, 256))
    # t = 0: the quadrature nodes collapse onto x, so the formula returns u0 to round-off
    np.testing.assert_allclose(a["u"][0], -np.sin(np.pi * a["x"]), rtol=0, atol=1e-15)


def test_boundary_values_and_symmetry(canonical):
    u = canonical.arrays["u"]
    # u(+-1, t) = 0: the quadrature sums are odd in the nodes there and cancel to round-off
    assert np.max(np.abs(u[:, 0])) < 1e-14 and np.max(np.abs(u[:, -1])) < 1e-14
    # u0 is odd, so u(-x, t) = -u(x, t); the grid is symmetric
    np.testing.assert_allclose(u[:, ::-1], -u, rtol=0, atol=1e-14)


def test_basdevant_oracle():
    ux = burgers.solution_dx(0.0, BASDEVANT_T, NU_CANONICAL)
    # published to 5 decimals (rounding <= 5e-6); our value is accurate to ~1e-12
    assert abs(ux - BASDEVANT_UX) < 1e-5
    # and 1.6037/pi is where the slope at x = 0 is steepest (time printed to 4 decimals)
    res = minimize_scalar(lambda s: float(burgers.solution_dx(0.0, s / np.pi, NU_CANONICAL)),
                          bounds=(1.55, 1.65), method="bounded", options={"xatol": 1e-8})
    assert abs(res.x - 1.6037) < 5e-5
    assert abs(res.fun - BASDEVANT_UX) < 1e-5


def test_error_floor(canonical):
    sol = canonical.solution
    # n = 200 vs n = 150 and vs the trapezoidal rule: round-off (measured 3e-16 relative L2)
    assert 0.0 <= sol.error_floor < 1e-13
    assert abs(sol.info["ux_x0_t1.6037/pi"] - BASDEVANT_UX) < 1e-5


@pytest.mark.parametrize("nu", NU_AXIS)
def test_difficulty_axis_quadrature_convergence(get_reference, nu):
    """Every nu of the axis, including 0.005/pi (weights spanning e^{+-100}), is resolved.

    Two unrelated rules (Gauss–Hermite 150/200 nodes, trapezoid 1001 points) agree to round-off,
    for u (relative L2) and u_x (max relative to max |u_x|). The exponents
    ``cos(pi y)/(2 pi nu)`` are up to 100 and carry absolute errors ~1e-14, which bounds what can
    be asked of u_x.
    """
    ref = get_reference("burgers", {"nu": nu})
    info = ref.solution.info
    assert ref.solution.error_floor < 1e-13
    assert info["ux_max_rel_gh150_vs_gh200"] < 1e-12
    assert info["ux_max_rel_trapezoid1001_vs_gh200"] < 1e-12
    # a genuinely under-resolved rule is detected by the same comparison
    x, t = np.meshgrid(ref.arrays["x"], ref.arrays["t"][1:])
    coarse = burgers.solution(x, t, nu, n=20)
    assert np.linalg.norm(coarse - ref.arrays["u"][1:]) / np.linalg.norm(ref.arrays["u"]) > 1e-6


@pytest.mark.parametrize("nu", [0.1 / np.pi, 0.01 / np.pi, 0.005 / np.pi])
def test_pde_residual_smooth_region(nu):
    """``u_t + u u_x - nu u_xx = 0`` by fourth-order finite differences away from the shock.

    Step 1e-3 in x and t: truncation ~ h^4 |u^(5)| / 30 ~ 1e-11 where the solution varies on O(1)
    scales; round-off in the second difference ~ 1e-15 / h^2 * nu ~ 1e-9 * nu. Measured residual
    < 1e-9 with terms of size ~1, so 1e-7 leaves margin while a wrong sign or a factor on any
    term gives >= 1e-2.
    """
    x = np.array([-0.8, -0.5, -0.3, 0.3, 0.5, 0.8])[:, None]
    t = np.array([0.2, 0.5, 0.8])[None, :]
    h = k = 1e-3

    def u_at(dx, dt):
        return burgers.solution(x + dx, t + dt, nu)

    u_t = (u_at(0, -2 * k) - 8 * u_at(0, -k) + 8 * u_at(0, k) - u_at(0, 2 * k)) / (12 * k)
    u_xx = (-u_at(-2 * h, 0) + 16 * u_at(-h, 0) - 30 * u_at(0, 0) + 16 * u_at(h, 0)
            - u_at(2 * h, 0)) / (12 * h * h)
    u, u_x = burgers.solution_and_dx(x, t, nu)
    u_x_fd = (u_at(-2 * h, 0) - 8 * u_at(-h, 0) + 8 * u_at(h, 0) - u_at(2 * h, 0)) / (12 * h)
    np.testing.assert_allclose(u_x, u_x_fd, rtol=0, atol=1e-8)
    residual = u_t + u * u_x - nu * u_xx
    assert np.max(np.abs(residual)) < 1e-7
    assert np.max(np.abs(u_t)) > 0.5 and np.max(np.abs(nu * u_xx)) > 1e-3  # terms are exercised


def test_derivative_inside_the_shock():
    # Across the shock (width ~ nu) the analytic u_x matches a fine finite difference: step 1e-5
    # against a length scale 3e-3, truncation ~ (1e-5 / 3e-3)^4 ~ 1e-10 relative.
    x = np.linspace(-0.01, 0.01, 11)
    h = 1e-5

    def u_at(dx):
        return burgers.solution(x + dx, 0.5, NU_CANONICAL)

    fd = (u_at(-2 * h) - 8 * u_at(-h) + 8 * u_at(h) - u_at(2 * h)) / (12 * h)
    exact = burgers.solution_dx(x, 0.5, NU_CANONICAL)
    assert np.max(np.abs(exact - fd)) / np.max(np.abs(fd)) < 1e-8
    assert np.min(exact) < -100  # really inside the steep front
