"""Errors per time window (regimebench.timewise): the one definition of the time metrics."""

import jax.numpy as jnp
import numpy as np
import pytest

from regimebench.timewise import time_window_errors, time_windows


def test_error_confined_to_late_times_shows_only_in_late_windows():
    rng = np.random.default_rng(0)
    ref = jnp.asarray(rng.normal(size=(10 * 7, 1)))
    pred = ref.reshape(10, 7).at[8:].multiply(1.5).reshape(-1, 1)  # last two slices off by 50 %
    out = time_window_errors(pred, ref, (10, 7))
    # 10 slices in 4 windows: sizes 3, 3, 2, 2 -> slices 8, 9 form the last window exactly
    assert set(out) == {"rel_l2_t_q1", "rel_l2_t_q2", "rel_l2_t_q3", "rel_l2_t_q4", "rel_l2_t_last"}
    assert float(out["rel_l2_t_q1"]) == float(out["rel_l2_t_q2"]) == float(out["rel_l2_t_q3"]) == 0
    np.testing.assert_allclose(float(out["rel_l2_t_q4"]), 0.5, rtol=1e-12)
    np.testing.assert_allclose(float(out["rel_l2_t_last"]), 0.5, rtol=1e-12)


def test_windows_are_normalised_by_their_own_reference_norm():
    t = jnp.arange(1.0, 5.0)[:, None] * jnp.ones((4, 3))  # |u| grows in time
    ref = t.reshape(-1, 1)
    out = time_window_errors(1.1 * ref, ref, (4, 3), n_windows=4)
    for k in range(1, 5):  # a uniform 10 % relative error reads 10 % in every window
        np.testing.assert_allclose(float(out[f"rel_l2_t_q{k}"]), 0.1, rtol=1e-12)


def test_bad_window_count_is_refused():
    with pytest.raises(ValueError, match="n_windows"):
        time_window_errors(jnp.ones((6, 1)), jnp.ones((6, 1)), (3, 2), n_windows=4)


def test_time_windows_split_like_array_split():
    for n_t in (4, 10, 50, 201):
        want = [(int(a[0]), int(a[-1]) + 1) for a in np.array_split(np.arange(n_t), 4)]
        assert time_windows(n_t) == want
    assert [b - a for a, b in time_windows(201)] == [51, 50, 50, 50]  # allen-cahn's grid


def test_time_axis_anywhere_gives_the_same_windows():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(9, 5))  # (t, x)
    pred = ref * (1 + 0.1 * np.arange(9))[:, None]
    first = time_window_errors(pred.reshape(-1, 1), ref.reshape(-1, 1), (9, 5))
    moved = time_window_errors(pred.T.reshape(-1, 1), ref.T.reshape(-1, 1), (5, 9), t_axis=1)
    for k in first:
        np.testing.assert_allclose(float(moved[k]), float(first[k]), rtol=1e-12)


def test_field_probes_and_problem_metrics_are_one_definition():
    """The end-of-training field probes and a problem's extra_metrics (both through
    time_window_errors) give the same numbers under the same names, and no longer the old
    rel_l2_t_first, whose 'quarter' had other boundaries (n_t // 4 levels)."""
    from regimebench.diagnostics.fields import field_metrics

    rng = np.random.default_rng(2)
    n_t, n_x = 201, 16
    ref = rng.normal(size=(n_t * n_x, 1))
    pred = ref * (1 + np.repeat(np.linspace(0, 1, n_t), n_x))[:, None]
    probes, _ = field_metrics(pred, ref, (n_t, n_x), ("t", "x"))
    problem = time_window_errors(jnp.asarray(pred), jnp.asarray(ref), (n_t, n_x))
    assert "rel_l2_t_first" not in probes
    for k, v in problem.items():
        np.testing.assert_allclose(probes[k], float(v), rtol=1e-12)
