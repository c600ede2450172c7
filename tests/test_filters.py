"""One Euro filter and RTS smoother: known answers on exact signals, noise reduction, lag."""

from __future__ import annotations

import numpy as np
import pytest

from handpose.errors import InputError
from handpose.smooth.filters import MILLIMETRE_DEFAULTS, OneEuroFilter, OneEuroParams, rts_smooth

FPS = 30.0


def _lag_frames(truth: np.ndarray, estimate: np.ndarray) -> int:
    """Shift (frames) that best aligns ``estimate`` to ``truth`` (positive = estimate is late)."""
    shifts = range(-10, 11)
    errors = [np.mean((truth[20:-20] - np.roll(estimate, -s)[20:-20]) ** 2) for s in shifts]
    return list(shifts)[int(np.argmin(errors))]


def test_one_euro_first_value_passes_and_constant_stays_constant():
    f = OneEuroFilter(MILLIMETRE_DEFAULTS)
    points = np.arange(63, dtype=float).reshape(21, 3)
    for k in range(10):
        np.testing.assert_allclose(f(points, k / FPS), points)
    f.reset()
    np.testing.assert_allclose(f(points + 5, 1.0), points + 5)


def test_one_euro_reduces_jitter_of_a_still_hand():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(MILLIMETRE_DEFAULTS)
    truth = rng.normal(size=(21, 3)) * 50
    out = np.array([f(truth + rng.normal(scale=3.0, size=truth.shape), k / FPS) for k in range(300)])
    raw_std, filtered_std = 3.0, np.std(out[50:] - truth, axis=0).mean()
    assert filtered_std < raw_std / 2


def test_one_euro_speed_term_cuts_lag_on_a_moving_hand():
    t = np.arange(200) / FPS
    truth = 100.0 * np.sin(2 * np.pi * 0.5 * t)  # mm, 0.5 Hz sway
    lags = {}
    for beta in (0.0, MILLIMETRE_DEFAULTS.beta):
        f = OneEuroFilter(OneEuroParams(min_cutoff_hz=MILLIMETRE_DEFAULTS.min_cutoff_hz, beta=beta))
        out = np.array([f(np.full((21, 3), x), tk)[0, 0] for x, tk in zip(truth, t)])
        lags[beta] = np.abs(out - truth)[30:].max()
    assert lags[MILLIMETRE_DEFAULTS.beta] < 0.5 * lags[0.0]


def test_rts_reproduces_an_exact_constant_velocity_track():
    t = np.cumsum(np.full(50, 1 / FPS))
    track = (3.0 + 40.0 * t)[:, None, None] * np.ones((1, 21, 3))
    np.testing.assert_allclose(rts_smooth(track, t, accel_std=100.0, noise_std=1.0), track, atol=1e-6)


def test_rts_removes_noise_without_lag_and_fills_gaps():
    rng = np.random.default_rng(1)
    t = np.arange(300) / FPS
    truth = 80.0 * np.sin(2 * np.pi * 0.7 * t)
    noisy = truth + rng.normal(scale=4.0, size=t.shape)
    noisy[100:105] = np.nan
    smooth = rts_smooth(noisy, t, accel_std=2000.0, noise_std=4.0)
    assert np.all(np.isfinite(smooth))
    assert np.sqrt(np.mean((smooth - truth) ** 2)) < 4.0 / 2
    assert _lag_frames(truth, smooth) == 0


def test_bad_input():
    with pytest.raises(InputError, match="increase"):
        rts_smooth(np.zeros(3), np.array([0.0, 0.0, 1.0]), 1.0, 1.0)
    with pytest.raises(InputError, match=r"\(K, D\)"):
        OneEuroFilter()(np.zeros(3), 0.0)
    with pytest.raises(InputError):
        OneEuroParams(min_cutoff_hz=0.0)
