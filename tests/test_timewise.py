"""Errors per time window (regimebench.timewise)."""

import jax.numpy as jnp
import numpy as np
import pytest

from regimebench.timewise import time_window_errors


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
