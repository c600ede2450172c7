"""The constant-velocity Kalman machinery: the smoother is the posterior mean of its model (a known
answer computed without the recursions), the fixed-lag smoother's answer ``lag`` steps back is the
whole-track smoother's on the track so far, its newest answer is the causal filter's, and one step of
look-ahead cuts the tremble for no more than its step of latency."""

from __future__ import annotations

import numpy as np
import pytest

from handpose.errors import InputError
from handpose.smooth.kalman import PRIOR_VARIANCE, ConstantVelocity, FixedLag, smooth
from handpose.smooth.translation import TranslationFilter, TranslationNoise

FPS = 30.0


def _noisy_track(rng, steps=40):
    """A 3D track (mm) with depth-aware covariances and one missing step."""
    times = np.arange(steps) / FPS + rng.uniform(0, 0.004, steps)  # uneven steps
    truth = np.stack([40 * np.sin(times), 10 * times, 600 + 50 * np.cos(2 * times)], axis=1)
    noise = TranslationNoise()
    covariances = np.array([noise.covariance(p, 160.0, p[2] / 550.0) for p in truth])
    measured = np.array([rng.multivariate_normal(p, c) for p, c in zip(truth, covariances)])
    measured[17] = np.nan
    return times, measured, covariances


def test_the_smoother_is_the_posterior_mean_of_the_model():
    """Known answer, computed without the filter's recursions: the joint Gaussian of all states
    (the prior centred on the first measurement, moved by the model's transitions and process
    noise), conditioned on all measurements at once; one step missing."""
    rng = np.random.default_rng(4)
    times = np.cumsum(rng.uniform(0.02, 0.05, 12))
    z = np.cumsum(rng.normal(0, 3.0, 12))[:, None, None]  # (T, 1 track, 1 dim)
    z[5] = np.nan
    r, model, n = 4.0, ConstantVelocity(1, 200.0), len(times)
    means, covs, transitions = [np.array([z[0, 0, 0], 0.0])], [PRIOR_VARIANCE * np.eye(2)], [np.eye(2)]
    for k in range(1, n):
        f, q = model.transition(float(times[k] - times[k - 1]))
        means.append(f @ means[-1])
        covs.append(f @ covs[-1] @ f.T + q)
        transitions.append(f)
    joint = np.zeros((2 * n, 2 * n))  # Cov(x_i, x_j) = F_j ... F_(i+1) Cov(x_i) for i <= j
    for i in range(n):
        block = covs[i]
        for j in range(i, n):
            if j > i:
                block = transitions[j] @ block
            joint[2 * j: 2 * j + 2, 2 * i: 2 * i + 2] = block
            joint[2 * i: 2 * i + 2, 2 * j: 2 * j + 2] = block.T
    seen = [k for k in range(n) if np.isfinite(z[k, 0, 0])]
    h = np.zeros((len(seen), 2 * n))
    h[np.arange(len(seen)), [2 * k for k in seen]] = 1.0
    mean = np.concatenate(means)
    gain = joint @ h.T @ np.linalg.inv(h @ joint @ h.T + r * np.eye(len(seen)))
    expected = (mean + gain @ (z[seen, 0, 0] - h @ mean))[0::2]
    np.testing.assert_allclose(smooth(model, z, np.full((1, 1, 1, 1), r), times)[:, 0, 0], expected, atol=1e-6)


@pytest.mark.parametrize("lag", [1, 3])
def test_fixed_lag_equals_the_whole_track_smoother_on_the_track_so_far(lag):
    times, measured, covariances = _noisy_track(np.random.default_rng(1))
    model = ConstantVelocity(3, 300.0)
    fixed = FixedLag(model, lag)
    for k in range(len(times)):
        fixed.push(measured[k][None], covariances[k][None], float(times[k]))
        if k >= lag:
            so_far = smooth(model, measured[: k + 1, None], covariances[: k + 1, None], times[: k + 1])
            np.testing.assert_allclose(fixed.estimate(lag)[0], so_far[k - lag, 0], atol=1e-6)
    with pytest.raises(InputError):
        fixed.estimate(lag + 1)  # only lag steps are kept


def test_the_newest_estimate_is_the_causal_filter():
    times, measured, covariances = _noisy_track(np.random.default_rng(2))
    measured[17] = measured[16]  # the live filter takes every frame's measurement
    live = TranslationFilter(500.0)
    fixed = FixedLag(ConstantVelocity(3, 500.0), 2)
    for z, c, t in zip(measured, covariances, times):
        fixed.push(z[None], c[None], float(t))
        np.testing.assert_allclose(fixed.estimate(0)[0], live(z, c, float(t)), atol=1e-6)


def test_one_step_of_look_ahead_trembles_less_for_its_step_of_latency():
    """A still hand at 650 mm, then a sudden 10 cm step nearer (the noise the model assumes): with
    the same model, one frame of look-ahead cuts the jitter while the step settles at most about
    one frame later (its look-ahead) than with the causal filter."""
    jitters, latencies = {0: [], 1: []}, {0: [], 1: []}
    noise = TranslationNoise()
    for seed in range(3):
        rng = np.random.default_rng(seed)
        times = np.arange(240) / FPS
        truth = np.tile([50.0, -20.0, 650.0], (240, 1))
        truth[120:, 2] = 550.0
        covariances = np.array([noise.covariance(p, 150.0 * 650.0 / p[2], p[2] / 554.0) for p in truth])
        measured = np.array([rng.multivariate_normal(p, c) for p, c in zip(truth, covariances)])
        for lag in (0, 1):
            fixed, out = FixedLag(ConstantVelocity(3, 100.0), lag), []
            for z, c, t in zip(measured, covariances, times):
                fixed.push(z[None], c[None], float(t))
                if t >= times[lag]:
                    out.append(fixed.estimate(lag)[0])
            out = np.array(out + [fixed.estimate(b)[0] for b in range(lag - 1, -1, -1)])
            jitters[lag].append(np.linalg.norm(np.diff(out[:115], 2, axis=0), axis=1).mean())
            settled = np.argmax(out[120:, 2] < 560.0)  # 90% of the step, then the frames waited
            latencies[lag].append((settled + lag) / FPS)
    assert np.mean(jitters[1]) < 0.9 * np.mean(jitters[0])  # measured 0.81
    assert np.mean(latencies[1]) <= np.mean(latencies[0]) + 2 / FPS


def test_timestamps_must_increase():
    fixed = FixedLag(ConstantVelocity(1, 10.0), 1)
    fixed.push(np.zeros((2, 1)), np.ones((2, 1, 1)), 0.5)
    with pytest.raises(InputError, match="increasing timestamps"):
        fixed.push(np.zeros((2, 1)), np.ones((2, 1, 1)), 0.5)
