"""Diagnostic kernels against dense linear algebra on a tiny network (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from regimebench.components.architectures import MLP
from regimebench.diagnostics import (
    bezier_path,
    cka_matrix,
    field_metrics,
    filter_normalized_direction,
    gradient_snr,
    hutchinson_trace,
    lanczos,
    linear_cka,
    linear_path,
    loss_slices,
    mc,
    negative_mass,
    spectral_density,
    term_grad_norms,
    top_eigenvalue,
)


@pytest.fixture(scope="module")
def tiny():
    """A 2→6→6→1 tanh MLP fitted to nothing in particular: a generic, indefinite Hessian."""
    net = MLP(2, 1, key=jax.random.key(0), width=6, depth=2)
    net = jax.tree.map(lambda x: x.astype(jnp.float64) if hasattr(x, "dtype") else x, net)
    x = jax.random.uniform(jax.random.key(1), (32, 2), jnp.float64, -1, 1)
    y = jnp.sin(3 * x[:, 0]) * x[:, 1]
    flat, unravel = ravel_pytree(net)

    def loss(w):
        m = unravel(w)
        return jnp.mean((jax.vmap(m)(x)[:, 0] - y) ** 2)

    return flat, loss


def test_power_iteration_matches_dense_top_eigenvalue(tiny):
    flat, loss = tiny
    eig = np.linalg.eigvalsh(np.asarray(jax.hessian(loss)(flat)))
    dense = eig[np.argmax(np.abs(eig))]  # largest magnitude, sign kept (PyHessian's convention)
    got = top_eigenvalue(loss, flat, jax.random.key(2))
    assert abs(float(got["value"]) - dense) / abs(dense) < 1e-4


def test_hutchinson_trace_within_three_standard_errors(tiny):
    flat, loss = tiny
    dense = float(np.trace(np.asarray(jax.hessian(loss)(flat))))
    got = hutchinson_trace(loss, flat, jax.random.key(3), samples=100, min_samples=30)
    se = float(got["stderr"])
    # The estimate is a mean of ≥ 30 i.i.d. unbiased probes: nearly normal, so |error| < 3 SE
    # holds with probability ≈ 99.7 %; the key is fixed, so the test is deterministic.
    assert se > 0
    assert abs(float(got["value"]) - dense) < 3 * se


def _symmetric(n, seed, spectrum=None):
    """A random symmetric ``n × n`` matrix (float64): Gaussian (indefinite), or with the given
    eigenvalues in a random orthogonal basis."""
    rng = np.random.default_rng(seed)
    if spectrum is None:
        a = rng.normal(size=(n, n))
        return (a + a.T) / 2
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return (q * np.asarray(spectrum)) @ q.T


@pytest.mark.parametrize("kind", ["indefinite", "spd-diagonal"])
def test_lanczos_with_as_many_steps_as_dimensions_recovers_the_spectrum(kind):
    n = 30
    if kind == "indefinite":
        a = _symmetric(n, 0)
    else:  # distinct, widely spread positive eigenvalues (condition number 1e4)
        a = np.diag(np.logspace(-2, 2, n))
    v0 = jnp.asarray(np.random.default_rng(1).choice([-1.0, 1.0], n))
    out = lanczos(lambda v: jnp.asarray(a) @ v, v0, jax.random.key(0), steps=n)
    eig = np.linalg.eigvalsh(a)
    # m = n with full reorthogonalisation: T is A in an orthonormal basis, so its eigenvalues
    # are A's to a backward error of a few ε‖A‖ (≈ 1e-14 here); 1e-8 leaves a wide margin.
    np.testing.assert_allclose(np.asarray(out["nodes"]), eig, atol=1e-8 * np.abs(eig).max())
    # the weights are the squared first row of an orthogonal matrix: they sum to 1 to rounding,
    # and they are the squared components of the unit start vector in A's eigenbasis
    assert float(out["weights"].sum()) == pytest.approx(1.0, abs=1e-12)
    vecs = np.linalg.eigh(a)[1]
    expected = (vecs.T @ (np.asarray(v0) / np.sqrt(n))) ** 2
    np.testing.assert_allclose(np.asarray(out["weights"]), expected, atol=1e-10)


def test_lanczos_quadrature_is_exact_for_low_moments_and_survives_breakdown():
    """With m < n steps the nodes and weights are an m-point Gauss quadrature of the start
    vector's spectral measure: exact for moments of degree ≤ 2m − 1. A start vector in three
    eigenspaces makes the Krylov space invariant after 3 steps; Lanczos restarts, and the
    later (zero-weight) block adds only genuine eigenvalues."""
    a = _symmetric(80, 2)
    v0 = jnp.asarray(np.random.default_rng(3).normal(size=80))
    vh = np.asarray(v0) / np.linalg.norm(np.asarray(v0))
    out = lanczos(lambda v: jnp.asarray(a) @ v, v0, jax.random.key(1), steps=6)
    nodes, weights = np.asarray(out["nodes"]), np.asarray(out["weights"])
    for p in range(1, 12):  # 2m − 1 = 11; float64 rounding grows like ‖A‖^p
        exact = vh @ np.linalg.matrix_power(a, p) @ vh
        assert np.sum(weights * nodes**p) == pytest.approx(exact, rel=1e-9, abs=1e-9 * 10**p)
    # Ritz values interlace: inside [λ_min, λ_max]
    eig = np.linalg.eigvalsh(a)
    assert eig[0] - 1e-10 <= nodes.min() and nodes.max() <= eig[-1] + 1e-10

    d = jnp.asarray(np.repeat([1.0, 2.0, 3.0], 10))
    out = lanczos(lambda v: d * v, jnp.ones(30), jax.random.key(2), steps=12)
    nodes, weights = np.asarray(out["nodes"]), np.asarray(out["weights"])
    assert np.all(np.min(np.abs(nodes[:, None] - np.array([1.0, 2.0, 3.0])), axis=1) < 1e-10)
    np.testing.assert_allclose([weights[np.abs(nodes - k) < 1e-6].sum() for k in (1, 2, 3)],
                               1 / 3, atol=1e-12)


def test_slq_moments_estimate_the_normalised_trace_moments():
    """Each probe's density has moments v̂ᵀH^p v̂ with v̂ a normalised Rademacher vector: an
    unbiased estimate of tr(H^p)/n. Over 40 probes the mean lies within 4 standard errors of it
    (normal approximation; the key is fixed, so the test is deterministic)."""
    n = 300
    spectrum = np.concatenate([np.linspace(-2.0, -0.1, 30), np.linspace(0.0, 1.0, 250),
                               np.linspace(5.0, 20.0, 20)])
    a = jnp.asarray(_symmetric(n, 4, spectrum))
    loss = lambda w: 0.5 * w @ a @ w  # noqa: E731  (Hessian = a everywhere)
    out = spectral_density(loss, jnp.zeros(n), jax.random.key(5), steps=10, probes=40)
    nodes, weights = np.asarray(out["nodes"]), np.asarray(out["weights"])
    assert nodes.shape == weights.shape == (40, 10)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    for p in (1, 2):
        per_probe = np.sum(weights * nodes**p, axis=1)
        se = per_probe.std(ddof=1) / np.sqrt(len(per_probe))
        exact = np.sum(spectrum**p) / n
        assert se > 0 and abs(per_probe.mean() - exact) < 4 * se, (p, per_probe.mean(), exact)
    # every Ritz value is ≥ λ_min = −2 (interlacing), up to rounding; the extreme ones converge
    # first, so 10 steps already place the smallest deep in the negative cluster (measured
    # −1.91 with this key; the next-to-extreme eigenvalues are −1.93, −1.87, …)
    assert -2.0 - 1e-10 <= nodes.min() < -1.0


def test_slq_smallest_ritz_value_matches_the_dense_hessian(tiny):
    flat, loss = tiny
    eig = np.linalg.eigvalsh(np.asarray(jax.hessian(loss)(flat)))
    n = flat.size
    full = spectral_density(loss, flat, jax.random.key(6), steps=n, probes=1)
    # n steps: the whole spectrum, to rounding of the HVPs (float64, ‖H‖ ~ 1)
    np.testing.assert_allclose(np.sort(np.asarray(full["nodes"][0])), eig,
                               atol=1e-8 * np.abs(eig).max())
    part = spectral_density(loss, flat, jax.random.key(7), steps=n // 2, probes=2)
    nodes = np.asarray(part["nodes"])
    # fewer steps: Ritz values stay inside the spectrum (interlacing), so min(nodes) ≥ λ_min
    assert nodes.min() >= eig[0] - 1e-8 * np.abs(eig).max()
    assert nodes.max() <= eig[-1] + 1e-8 * np.abs(eig).max()


def test_negative_mass_counts_only_clearly_negative_curvature():
    # a third of the eigenvalues at −1, a third at −1e-6 (flat: below 1e-3 |λ_max| = 1e-3), a
    # third at +1; Rademacher probes have equal weight 1/n on each eigenvector of a diagonal H,
    # and with m = n steps the quadrature is the spectrum itself: the mass is exactly 1/3.
    d = jnp.asarray(np.repeat([-1.0, -1e-6, 1.0], 10) * np.linspace(1.0, 1.5, 30))
    out = spectral_density(lambda w: 0.5 * jnp.sum(d * w**2), jnp.zeros(30), jax.random.key(8),
                           steps=30, probes=2)
    lam_max = float(jnp.abs(d).max())
    assert negative_mass(out["nodes"], out["weights"], lam_max) == pytest.approx(1 / 3, abs=1e-9)
    # flattened nodes/weights (how a record stores them, weights / probes) give the same share
    flat = negative_mass(np.ravel(out["nodes"]), np.ravel(out["weights"]) / 2, lam_max)
    assert flat == pytest.approx(1 / 3, abs=1e-9)
    assert np.isnan(negative_mass(out["nodes"], out["weights"], None))


def test_cka_of_a_model_with_itself_is_one_and_invariant_to_affine_maps():
    y = jax.random.normal(jax.random.key(4), (500, 2), jnp.float64)
    assert float(linear_cka(y, y)) == pytest.approx(1.0, abs=1e-12)
    assert float(linear_cka(y, 3.0 * y + 1.0)) == pytest.approx(1.0, abs=1e-12)
    z = jax.random.normal(jax.random.key(5), (500, 2), jnp.float64)
    assert float(linear_cka(y, z)) < 0.05  # independent outputs are nearly orthogonal
    # scalar outputs: CKA is the squared Pearson correlation
    a, b = y[:, :1], y[:, :1] + 0.5 * z[:, :1]
    r = np.corrcoef(np.asarray(a[:, 0]), np.asarray(b[:, 0]))[0, 1]
    assert float(linear_cka(a, b)) == pytest.approx(r**2, rel=1e-10)
    m = np.asarray(cka_matrix(jnp.stack([a, b])))
    np.testing.assert_allclose(np.diag(m), 1.0, atol=1e-12)


def test_mode_connectivity_of_identical_endpoints_is_zero(tiny):
    flat, loss = tiny
    assert float(linear_path(loss, flat, flat)["mc"]) == 0.0
    # Bézier: at a minimum the control point has nothing to gain, so mc stays 0.
    quad = lambda w: jnp.sum((w - 1.0) ** 2)  # noqa: E731
    w = jnp.ones(5, jnp.float64)
    assert abs(float(bezier_path(quad, w, w, steps=10)["mc"])) < 1e-12


def test_mode_connectivity_signs():
    def double_well(w):  # minima at ±1 in the first coordinate, barrier of height 1 at 0
        return (w[0] ** 2 - 1) ** 2 + jnp.sum(w[1:] ** 2)

    a, b = jnp.array([-1.0, 0.0]), jnp.array([1.0, 0.0])
    assert float(linear_path(double_well, a, b)["mc"]) == pytest.approx(-1.0, abs=1e-12)
    # every path between the wells crosses w0 = 0, where the loss is ≥ 1: a fitted Bézier curve
    # cannot remove the barrier, so mc stays clearly negative.
    assert float(bezier_path(double_well, a, b, steps=30)["mc"]) < -0.5
    # endpoints above a valley between them: mc > 0 (under-fitted ends)
    assert float(mc(jnp.array([2.0, 0.5, 2.0]))) == pytest.approx(1.5)


def test_filter_normalised_direction_matches_row_norms():
    net = MLP(2, 1, key=jax.random.key(6), width=5, depth=1)
    d = filter_normalized_direction(net, jax.random.key(7))
    for p, q in zip(jax.tree.leaves(net), jax.tree.leaves(d)):
        if p.ndim >= 2:
            np.testing.assert_allclose(np.linalg.norm(q, axis=1), np.linalg.norm(p, axis=1),
                                       rtol=1e-5)
        else:
            assert np.all(np.asarray(q) == 0)  # biases are not perturbed
    out = loss_slices(lambda m: jnp.sum(jax.tree.leaves(m)[0] ** 2), net, jax.random.key(8),
                      n1=5, n2=3)
    assert out["loss_1d"].shape == (5,) and out["loss_2d"].shape == (3, 3)
    # the centre of the slices is the model itself
    assert float(out["loss_1d"][2]) == pytest.approx(float(jnp.sum(net.layers[0].weight ** 2)))


def _sq_fn(w, batch):
    return {"pde": (batch["pde"] @ w - 1.0) ** 2, "bc": (batch["bc"] @ w) ** 2}


def test_gradient_snr_and_term_norms():
    w = {"m": jnp.ones((2, 1), jnp.float64)}
    sq = lambda p, b: {k: v[:, 0] for k, v in _sq_fn(p["m"], b).items()}  # noqa: E731
    ones = jnp.ones((40, 2), jnp.float64)
    batch = {"pde": ones, "bc": 0.5 * ones[:8]}
    tw = {"pde": jnp.asarray(1.0), "bc": jnp.asarray(1.0)}
    # identical points in every mini-batch: zero spread, infinite SNR
    assert not np.isfinite(float(gradient_snr(sq, w, batch, "pde", 4, tw)))
    noisy = {**batch, "pde": jax.random.normal(jax.random.key(9), (40, 2), jnp.float64)}
    snr = float(gradient_snr(sq, w, noisy, "pde", 4, tw))
    assert 0 < snr < np.inf
    norms = term_grad_norms(sq, w, batch, ("pde", "bc"))
    assert float(norms["grad_ratio"]) == pytest.approx(
        min(float(norms["grad_norm_pde"]), float(norms["grad_norm_bc"]))
        / max(float(norms["grad_norm_pde"]), float(norms["grad_norm_bc"])))


def test_gradient_snr_matches_its_definition():
    """μ and σ over B explicit mini-batch gradients of the whole weighted loss (split pde term +
    every bc point, with term and per-point weights) give the same SNR as the probe, which takes
    the bc gradient once instead of B times (float64: agreement to rounding)."""
    net = MLP(2, 1, key=jax.random.key(3), width=5, depth=2)
    net = jax.tree.map(lambda x: x.astype(jnp.float64) if hasattr(x, "dtype") else x, net)
    pde = jax.random.uniform(jax.random.key(4), (42, 2), jnp.float64, -1, 1)  # 42 = 4·10 + 2
    bc = jax.random.uniform(jax.random.key(5), (8, 2), jnp.float64, -1, 1)

    def sq(m, b):
        u = lambda x: jax.vmap(m)(x)[:, 0]  # noqa: E731
        return {"pde": (u(b["pde"]) - jnp.sin(3 * b["pde"][:, 0])) ** 2, "bc": u(b["bc"]) ** 2}

    tw = {"pde": jnp.asarray(0.7), "bc": jnp.asarray(3.0)}
    pw = {"pde": jnp.linspace(0.5, 2.0, 42), "bc": jnp.linspace(1.0, 3.0, 8)}
    got = float(gradient_snr(sq, net, {"pde": pde, "bc": bc}, "pde", 4, tw, pw))

    def loss(m, i):
        s = sq(m, {"pde": pde[10 * i:10 * i + 10], "bc": bc})
        return (tw["pde"] * (pw["pde"][10 * i:10 * i + 10] * s["pde"]).mean()
                + tw["bc"] * (pw["bc"] * s["bc"]).mean())

    grads = [[g for g in jax.tree.leaves(jax.grad(loss)(net, i)) if g.ndim >= 2] for i in range(4)]
    stacked = [np.stack([np.asarray(g[j]) for g in grads]) for j in range(len(grads[0]))]
    mu = np.sqrt(sum(np.sum(x.mean(0) ** 2) for x in stacked))
    sd = np.sqrt(sum(np.sum(x.std(0) ** 2) for x in stacked))
    assert got == pytest.approx(mu / sd, rel=1e-10)


def test_field_metrics_spectral_and_time_probes():
    t = np.linspace(0, 1, 40)
    x = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    T, X = np.meshgrid(t, x, indexing="ij")
    u = np.sin(X) * (1 + T)
    target = u.reshape(-1, 1)
    high = (u + 0.2 * np.sin(20 * X) * T**4).reshape(-1, 1)  # fine-scale error, growing in t
    low = (1.3 * u).reshape(-1, 1)  # large-scale error
    m_hi, d_hi = field_metrics(high, target, (40, 64), ("t", "x"))
    m_lo, _ = field_metrics(low, target, (40, 64), ("t", "x"))
    assert m_hi["spectral_err_high_frac"] > 0.9 and m_lo["spectral_err_high_frac"] < 0.1
    # the quarters of regimebench.timewise (the one definition; 40 levels: 10 per quarter)
    assert m_hi["rel_l2_t_q4"] > 10 * m_hi["rel_l2_t_q1"]
    assert "rel_l2_t_first" not in m_hi
    assert len(d_hi["error_by_time"]) == 40
    assert m_lo["pred_norm_ratio"] == pytest.approx(1.3)


def test_snr_probe_on_terms_that_share_points():
    """The cavity's terms (momentum_x, momentum_y, continuity) share the "pde" points and have
    no batch entry of their own: the SNR probe splits the shared points (it used to crash with
    a KeyError, so every cavity run at the cpu tier failed), with RBA's per-point weights too."""
    from zoo_matrix import tiny_variant  # width 8, depth 1: same program shape, cheap compile

    from regimebench.diagnostics import DiagnosticsConfig
    from regimebench.problem import load_problem
    from regimebench.solver import load_solver
    from regimebench.train import train

    p = load_problem("lid-driven-cavity")
    sizes = p.sizes("forward", "smoke")
    task = p.make_task("forward", p.resolve_params("forward"), sizes)
    for name in ("pinn-mlp-adam", "pinn-rba"):
        res = train(task, tiny_variant(load_solver(name)), 20, sizes, [0], n_log=2,
                    diagnostics=DiagnosticsConfig(landscape=False))
        snr = [v for v in res.seeds[0].curves["snr"] if v is not None]
        assert res.seeds[0].status == "ok" and snr and all(v > 0 for v in snr)


def test_ritz_entry_probes_its_own_energy_landscape():
    """The engine's per-seed landscape probes (:func:`seed_landscape`, what training with
    ``--diagnostics full`` calls) on a Deep Ritz entry: the record says its landscape is the
    Ritz objective, and carries a spectral density whose weights sum to 1, whose smallest node
    is ``hessian_lambda_min``, and whose nodes lie inside the spectrum bounded by the power
    iteration's ``|λ_max|``. (Training first would only add compile time: the probes read the
    parameters alone; ``test_regime_map`` covers the path through ``train``.)"""
    import equinox as eqx
    from zoo_matrix import tiny_variant  # width 8, depth 1: same program shape, cheap compile

    from regimebench.diagnostics import DiagnosticsConfig, landscape_loss, seed_landscape
    from regimebench.engine.setup import build_setup
    from regimebench.engine.state import cast_floating
    from regimebench.problem import load_problem
    from regimebench.solver import load_solver

    p = load_problem("helmholtz")
    sizes = p.sizes("forward", "smoke")
    task = p.make_task("forward", p.resolve_params("forward"), sizes)
    setup = build_setup(task, tiny_variant(load_solver("deep-ritz-mlp")), sizes)
    model = cast_floating(setup.model.build(setup.task, jax.random.key(0)), setup.jnp_dtype)
    params = eqx.partition(model, eqx.is_inexact_array)[0]  # as the engine initialises them
    cfg = DiagnosticsConfig(trace_samples=4, trace_min_samples=2, slice_1d=3, slice_2d=2,
                            lanczos_steps=12, lanczos_probes=2)
    d = seed_landscape(setup, [params], [0], cfg)[0]
    assert d["landscape_objective"] == "ritz"
    batch = setup.task.sample(jax.random.key(cfg.batch_seed), sizes, setup.jnp_dtype)
    assert d["landscape_loss"] == float(landscape_loss(setup, batch)(params))
    esd = d["hessian_esd"]
    assert (esd["probes"], esd["steps"]) == (2, 12)
    nodes, weights = np.array(esd["nodes"]), np.array(esd["weights"])
    assert nodes.shape == weights.shape == (24,) and np.all(np.isfinite(nodes))
    # float32 entry: each probe's weights sum to 1 to ~m·ε₃₂; stored divided by the probes
    assert weights.sum() == pytest.approx(1.0, abs=1e-5) and np.all(weights >= 0)
    assert d["hessian_lambda_min"] == nodes.min()
    # Ritz values and the power iteration's Rayleigh quotient are both inside the spectrum;
    # the power iteration converged (its relative change < 1e-5), so |λ_max| is the spectral
    # radius to about that accuracy: 1e-3 also covers float32 rounding of the HVPs
    assert d["hessian_power_iterations"] < cfg.power_iters
    assert np.abs(nodes).max() <= abs(d["hessian_lambda_max"]) * (1 + 1e-3)
    assert 0.0 <= d["hessian_negative_mass"] <= 1.0
