"""Active (mesoscale bacterial) turbulence: the Wensink/Dunkel model on Maddu et al.'s window.

Model (velocity form, see ``reference.py`` for the derivation and signs)::

    v_t + λ0 (v·∇)v = −∇p − α v − β|v|² v + Γ0 Δv − Γ2 Δ²v,   ∇·v = 0,

λ0 = 3.5, α = −1, β = 0.5, Γ0 = −0.045, Γ2 = 0.045³, on the periodic box [0, 2π)². The data are
the suite's own seeded trajectory (``reference.py``): 50 frames ``t = 4.20 … 4.69`` on the
64 × 64 patch of grid indices 64:128 (side π/2), the setting of Maddu et al. (2021).

Model form (both tasks). The network maps ``(t, x, y)`` (rescaled to ``[−1, 1]³``) to the velocity
``(u, v)``, and the PDE term is the **vorticity equation** of Maddu et al.'s code, with
``ω = v_x − u_y`` and ``M = u² + v²``::

    r_pde = ω_t + λ0 (u ω_x + v ω_y) + α ω + β (M ω + M_x v − M_y u) − Γ0 Δω + Γ2 Δ²ω,
    r_div = u_x + v_y.

Why this form: the curl removes the pressure, which is neither observed nor determined on a patch
without boundary conditions for it, and the box-mean velocity ``U`` (whose own equation
``dU/dt = −αU − β⟨M v⟩`` involves the whole box, invisible from the patch) drops out too, since
the curl annihilates spatially constant fields. The velocity–pressure form would need a third
output ``p`` and only 4th derivatives, but would fit a pressure that carries the unobservable
box-mean forcing. The price of the vorticity form is 5th derivatives of the network (Δ²ω): they
are computed in Taylor mode (``jax.experimental.jet``): order-5 jets of ``(u, v)`` along six
directions of the (x, y) plane, vmapped over the directions, give every spatial partial up to
order 5 by polarisation (:func:`spatial_partials`); one traced jet keeps compilation small (an
earlier version with four separate order-4 jets of ω took minutes to compile).
A stream-function output would make ``r_div`` vanish identically but needs 6th derivatives.

Tasks
-----
``forward``: terms ``ic`` (u, v on the first frame), ``bc`` (u, v on the four patch edges at all
frames of the window), ``pde`` and ``div`` (uniform points inside the window). The window length
``duration`` (frames from t = 4.2, at most the stored 0.5) is the difficulty axis: a longer window
holds more chaotic evolution to be propagated inward from the initial and edge data.

``inverse``: recover ``(λ0, α, β, Γ0, Γ2)`` from ``n`` velocity samples (data axis) drawn once,
uniformly among all stored grid points of the window, with optional Gaussian noise of standard
deviation ``noise · std(u, v)`` (difficulty axis). Terms ``data``, ``pde``, ``div``. The unknowns
are trained with the network (:meth:`ActiveTurbulenceInverse.build_model`), parametrised as
``c_i = s_i θ_i`` with fixed order-of-magnitude scales ``s = (1, 1, 1, 1e-2, 1e-4)`` and initial
guess ``θ = 0`` (all coefficients 0, as Maddu et al.). Without the scales a unit Adam step on Γ2
would be 10⁴ times its value; the scales are a nondimensionalisation, not the answer.

Evaluation: rel. L2 of the velocity ``(u, v)`` over all grid points of the frames of the window
(64 × 64 × frames). Extra metrics: rel. L2 of ``u`` and ``v`` separately; for ``inverse`` each
recovered coefficient and its relative error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import jet

from regimebench.derivatives import partial
from regimebench.outcomes import TermRole
from regimebench.problem import (
    AbstractTask,
    EvalSet,
    model_dtype,
    problem_spec,
    rel_l2,
    traced_in,
    uniform_box,
)

SPEC = problem_spec(__file__)  # name and version from problem.toml beside this file
COEFFICIENTS = ("lambda0", "alpha", "beta", "gamma0", "gamma2")
#: Order-of-magnitude scales of the inverse task's unknowns (see the module docstring).
COEFFICIENT_SCALES = (1.0, 1.0, 1.0, 1e-2, 1e-4)
FRAME_DT = 0.01


def reference(params: Mapping, task: str):
    """The cached reference window (always the stored 0.5-long window; tasks cut ``duration``;
    both tasks share it)."""
    del task
    defaults = SPEC.reference_module.DEFAULT_PARAMS
    return SPEC.cached_reference({k: params.get(k, v) for k, v in defaults.items()})


# ---------------------------------------------------------------------------------------------
# The residual of the vorticity equation for a field F: (t, x, y) -> (u, v).


#: Directions θ_j = jπ/6 (j = 0…5) in the (x, y) plane: k + 1 distinct directions determine all
#: k-th order partials from k-th directional derivatives, so six give every order up to 5.
_ANGLES = np.pi * np.arange(6) / 6.0
_DIRECTIONS = np.stack([np.zeros(6), np.cos(_ANGLES), np.sin(_ANGLES)], axis=-1)


def _polarisation_inverse(k: int) -> np.ndarray:
    """``B_k`` with ``P = B_k D``: ``D_j`` = k-th derivative along direction ``j`` and
    ``P_i = ∂x^i ∂y^(k−i)`` (``i = 0…k``), from ``D_j = Σ_i C(k,i) cos^i θ_j sin^(k−i) θ_j P_i``."""
    from math import comb

    c, s = np.cos(_ANGLES), np.sin(_ANGLES)
    a = np.stack([comb(k, i) * c**i * s ** (k - i) for i in range(k + 1)], axis=-1)
    return np.linalg.pinv(a)  # (k+1, 6); exact (a has full column rank), float64


_POLARISATION = {k: _polarisation_inverse(k) for k in range(1, 6)}


def spatial_partials(field, z: jax.Array) -> dict[int, jax.Array]:
    """All spatial partials of ``field`` up to order 5 at ``z``: ``{k: P_k}`` with ``P_k`` of shape
    ``(k + 1, c)``, ``P_k[i] = ∂x^i ∂y^(k−i) field`` (``P_0 = field``).

    Taylor mode (``jax.experimental.jet``) of order 5 along the six directions of
    :data:`_DIRECTIONS`, vmapped over directions (one traced jet, so compilation stays small),
    then the polarisation solve per order. In float64 the result agrees with nested forward mode
    to ~1e-10 relative (tested).
    """
    dirs = jnp.asarray(_DIRECTIONS, z.dtype)
    zero = jnp.zeros_like(z)

    def along(d):
        f0, series = jet.jet(field, (z,), ((d, zero, zero, zero, zero),))
        return f0, jnp.stack(series)  # (5, c): derivatives of order 1..5 along d

    with traced_in(z.dtype):  # jet's factorials are Python floats: keep them in z's dtype
        f0, ds = jax.vmap(along)(dirs)  # ds: (6, 5, c)
    out = {0: f0[0][None]}
    for k in range(1, 6):
        out[k] = jnp.asarray(_POLARISATION[k], z.dtype) @ ds[:, k - 1]
    return out


def vorticity_residuals(field, z: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(r_pde, r_div)`` at one point ``z = (t, x, y)``; ``c = (λ0, α, β, Γ0, Γ2)``.

    ``field`` maps ``(t, x, y)`` to ``(u, v)``. Derivatives: ``P[k][i] = ∂x^i ∂y^(k−i)`` of
    (u, v) from :func:`spatial_partials`; ``ω_t = v_xt − u_yt`` by nested forward mode.
    """
    lambda0, alpha, beta, gamma0, gamma2 = c[0], c[1], c[2], c[3], c[4]
    P = spatial_partials(field, z)
    u, v = P[0][0, 0], P[0][0, 1]
    u_x, u_y, v_x, v_y = P[1][1, 0], P[1][0, 0], P[1][1, 1], P[1][0, 1]
    w = v_x - u_y
    w_x = P[2][2, 1] - P[2][1, 0]  # v_xx − u_xy
    w_y = P[2][1, 1] - P[2][0, 0]  # v_xy − u_yy
    lap_w = P[3][3, 1] + P[3][1, 1] - P[3][2, 0] - P[3][0, 0]  # v_xxx + v_xyy − u_xxy − u_yyy
    # Δ²ω = ∂x Δ²v − ∂y Δ²u with Δ² = ∂x⁴ + 2 ∂x²∂y² + ∂y⁴
    bilap_w = (P[5][5, 1] + 2.0 * P[5][3, 1] + P[5][1, 1]
               - P[5][4, 0] - 2.0 * P[5][2, 0] - P[5][0, 0])

    def d_t(p):
        return partial(field, p, 0)

    w_t = partial(d_t, z, 1)[1] - partial(d_t, z, 2)[0]
    m = u * u + v * v
    m_x = 2.0 * (u * u_x + v * v_x)
    m_y = 2.0 * (u * u_y + v * v_y)
    r_pde = (w_t + lambda0 * (u * w_x + v * w_y) + alpha * w
             + beta * (m * w + m_x * v - m_y * u) - gamma0 * lap_w + gamma2 * bilap_w)
    return r_pde, u_x + v_y


# ---------------------------------------------------------------------------------------------
# Data layout shared by the tasks.


class Window(eqx.Module):
    """The reference frames of the window as flat point and value arrays.

    ``points`` ``(F·64·64, 3)`` in ``(t, x, y)`` order (frame-major, then x, then y), ``values``
    ``(F·64·64, 2)`` = ``(u, v)``; ``lower``/``upper`` the box of the window.
    """

    points: jax.Array
    values: jax.Array
    grid_shape: tuple[int, int, int] = eqx.field(static=True)
    lower: tuple[float, float, float] = eqx.field(static=True)
    upper: tuple[float, float, float] = eqx.field(static=True)


def load_window(arrays: dict[str, np.ndarray], duration: float) -> Window:
    n_stored = arrays["t"].shape[0]
    n_frames = int(round(duration / FRAME_DT))
    if not 2 <= n_frames <= n_stored:
        raise ValueError(f"duration must be between {2 * FRAME_DT:g} and "
                         f"{n_stored * FRAME_DT:g}, got {duration}")
    t, x, y = arrays["t"][:n_frames], arrays["x"], arrays["y"]
    T, X, Y = np.meshgrid(t, x, y, indexing="ij")
    pts = np.stack([T.ravel(), X.ravel(), Y.ravel()], axis=-1)
    vals = np.stack([arrays["u"][:n_frames].ravel(), arrays["v"][:n_frames].ravel()], axis=-1)
    lower = (float(t[0]), float(x[0]), float(y[0]))
    upper = (float(t[-1]), float(x[-1]), float(y[-1]))
    return Window(jnp.asarray(pts), jnp.asarray(vals), T.shape, lower, upper)


def _edge_mask(shape: tuple[int, int, int]) -> np.ndarray:
    f, nx, ny = shape
    m = np.zeros((nx, ny), bool)
    m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = True
    return np.broadcast_to(m, shape).ravel()


def _as_model_dtype(model, *arrays):
    """Cast stored data to the model's dtype, so a float32 entry computes in float32 (a no-op on
    the trainer's training view of the task, which holds them in the entry's dtype already)."""
    dtype = model_dtype(model)
    return tuple(a.astype(dtype) for a in arrays)


class _ActiveTurbulenceTask(AbstractTask):
    """Shared parts: the window, the coefficients, the field map and the velocity metrics."""

    problem: ClassVar[str] = SPEC.name
    time_axis: ClassVar[int | None] = 0  # inputs are (t, x, y)
    # The full box [0, 2π)² is periodic. The window is a quarter-period patch, so a 2π-periodic
    # embedding constrains nothing on it, but it is consistent with the true solution.
    periods: ClassVar[Mapping[int, float] | None] = {1: 2 * np.pi, 2: 2 * np.pi}

    window: Window
    eval_set: EvalSet

    @property
    def model_io(self) -> tuple[int, int]:
        return (3, 2)

    @property
    def lower(self) -> tuple[float, ...]:
        """The box the model's inputs are rescaled from (the window), as on pointwise tasks:
        what the periodic embedding needs to express the periods in the model's coordinates."""
        return self.window.lower

    @property
    def upper(self) -> tuple[float, ...]:
        return self.window.upper

    def field(self, model: Any):
        def uv(z: jax.Array) -> jax.Array:
            lo = jnp.asarray(self.window.lower, z.dtype)
            hi = jnp.asarray(self.window.upper, z.dtype)
            return model(2.0 * (z - lo) / (hi - lo) - 1.0)

        return uv

    def predict(self, model, inputs):
        return jax.vmap(self.field(model))(inputs.astype(model_dtype(model)))

    def coefficients(self, model) -> jax.Array:
        raise NotImplementedError

    def _physics(self, model, batch):
        c = self.coefficients(model)
        u = self.field(model)
        r_pde, _ = jax.vmap(lambda z: vorticity_residuals(u, z, c))(batch["pde"])
        div = jax.vmap(lambda z: partial(u, z, 1)[0] + partial(u, z, 2)[1])(batch["div"])
        return r_pde, div

    def _sample_box(self, key, n, dtype):
        return uniform_box(key, n, self.window.lower, self.window.upper, dtype)

    def extra_metrics(self, model):
        pred = self.predict(model, self.eval_set.inputs)
        ref = self.eval_set.targets
        return {"rel_l2_u": rel_l2(pred[:, 0], ref[:, 0]),
                "rel_l2_v": rel_l2(pred[:, 1], ref[:, 1])}


class ActiveTurbulenceForward(_ActiveTurbulenceTask):
    """Forward problem: initial frame and patch edges given, PDE and incompressibility inside."""

    task: ClassVar[str] = "forward"
    term_roles: ClassVar[Mapping[str, TermRole]] = {
        "ic": TermRole.INITIAL, "bc": TermRole.BOUNDARY, "pde": TermRole.RESIDUAL,
        "div": TermRole.CONSTRAINT}

    coeffs: jax.Array  # (5,) the true coefficients
    ic_index: jax.Array  # indices into window.points of the first frame
    bc_index: jax.Array  # indices of the patch edges, all frames

    @classmethod
    def build(cls, params, sizes, reference):
        window, eval_set, coeffs = _window_and_coefficients(params, reference)
        idx = np.arange(window.points.shape[0])
        f, nx, ny = window.grid_shape
        return cls(window=window, eval_set=eval_set, coeffs=coeffs,
                   ic_index=jnp.asarray(idx[: nx * ny]),
                   bc_index=jnp.asarray(idx[_edge_mask(window.grid_shape)]))

    def coefficients(self, model):
        return self.coeffs

    def sample(self, key, sizes, dtype=float):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        return {
            "ic": jax.random.choice(k1, self.ic_index, (sizes["ic"],)),
            "bc": jax.random.choice(k2, self.bc_index, (sizes["bc"],)),
            "pde": self._sample_box(k3, sizes["pde"], dtype),
            "div": self._sample_box(k4, sizes["div"], dtype),
        }

    def residuals(self, model, batch):
        u = self.field(model)
        r_pde, div = self._physics(model, batch)
        out = {"pde": r_pde, "div": div}
        for term in ("ic", "bc"):
            idx = batch[term]
            pts, vals = _as_model_dtype(model, self.window.points[idx], self.window.values[idx])
            out[term] = jax.vmap(u)(pts) - vals
        return out


class InverseModel(eqx.Module):
    """The network and the unknown coefficients ``c = scales · theta``."""

    net: Any
    theta: jax.Array
    scales: tuple[float, ...] = eqx.field(static=True)

    def __call__(self, z):
        return self.net(z)

    @property
    def coefficients(self) -> jax.Array:
        return jnp.asarray(self.scales, self.theta.dtype) * self.theta


class ActiveTurbulenceInverse(_ActiveTurbulenceTask):
    """Inverse problem: the five coefficients from sparse, optionally noisy velocity samples."""

    task: ClassVar[str] = "inverse"
    term_roles: ClassVar[Mapping[str, TermRole]] = {
        "data": TermRole.DATA, "pde": TermRole.RESIDUAL, "div": TermRole.CONSTRAINT}

    true_coeffs: jax.Array
    obs_points: jax.Array  # (n, 3) the fixed sample locations
    obs_values: jax.Array  # (n, 2) observed (noisy) velocities

    @classmethod
    def build(cls, params, sizes, reference):
        window, eval_set, coeffs = _window_and_coefficients(params, reference)
        n = int(sizes["data"])
        rng = np.random.default_rng(OBSERVATION_SEED)
        m = window.points.shape[0]
        if n > m:
            raise ValueError(f"at most {m} velocity samples exist in the window, asked for {n}")
        pick = rng.choice(m, size=n, replace=False)
        values = np.asarray(window.values)[pick]
        noise = float(params["noise"])
        if noise < 0:
            raise ValueError(f"noise must be non-negative, got {noise}")
        scale = np.asarray(window.values).std(axis=0)
        values = values + noise * scale * rng.standard_normal(values.shape)
        return cls(window=window, eval_set=eval_set, true_coeffs=coeffs,
                   obs_points=jnp.asarray(np.asarray(window.points)[pick]),
                   obs_values=jnp.asarray(values))

    def build_model(self, net):
        return InverseModel(net, jnp.zeros(len(COEFFICIENTS)), COEFFICIENT_SCALES)

    def coefficients(self, model):
        return model.coefficients

    def sample(self, key, sizes, dtype=float):
        k3, k4 = jax.random.split(key)
        # the observations are fixed (drawn once by build); the batch names them by index
        return {
            "data": jnp.arange(self.obs_points.shape[0]),
            "pde": self._sample_box(k3, sizes["pde"], dtype),
            "div": self._sample_box(k4, sizes["div"], dtype),
        }

    def residuals(self, model, batch):
        u = self.field(model)
        r_pde, div = self._physics(model, batch)
        idx = batch["data"]
        pts, vals = _as_model_dtype(model, self.obs_points[idx], self.obs_values[idx])
        data = jax.vmap(u)(pts) - vals
        return {"data": data, "pde": r_pde, "div": div}

    def extra_metrics(self, model):
        out = super().extra_metrics(model)
        c = model.coefficients
        for i, name in enumerate(COEFFICIENTS):
            out[f"coef_{name}"] = c[i]
            out[f"coef_{name}_rel_error"] = jnp.abs(c[i] - self.true_coeffs[i]) / jnp.abs(
                self.true_coeffs[i])
        out["coef_max_rel_error"] = jnp.max(jnp.abs(c - self.true_coeffs)
                                            / jnp.abs(self.true_coeffs))
        return out


#: Fixed seed of the inverse task's sample locations and noise: the observations are part of the
#: problem instance, the same for every training seed and entry.
OBSERVATION_SEED = 20210701


def _window_and_coefficients(params, reference) -> tuple[Window, EvalSet, jax.Array]:
    window = load_window(reference.arrays, float(params["duration"]))
    eval_set = EvalSet(window.points, window.values, window.grid_shape, ("t", "x", "y"))
    return window, eval_set, jnp.asarray([float(params[k]) for k in COEFFICIENTS])


TASKS = {"forward": ActiveTurbulenceForward, "inverse": ActiveTurbulenceInverse}
