"""Temporal smoothing of joint tracks: a One Euro filter for live use, an RTS smoother offline.

Both work on arrays of points (K, D) - e.g. 21 joints x 2 px or x 3 mm - vectorised in numpy.

* :class:`OneEuroFilter` (Casiez, Roussel, Vogel, CHI 2012): a low-pass filter whose cutoff
  rises with speed, so a still hand stops jittering and a fast one lags little. The speed is
  measured per point (norm over D), so a point is filtered the same whatever its direction.
  ``beta`` has units of 1/(unit of the data): use the defaults for the unit you filter
  (:data:`PIXEL_DEFAULTS`, :data:`MILLIMETRE_DEFAULTS`, :data:`NORMALISED_DEFAULTS`).
* :func:`rts_smooth`: zero-lag offline smoother for recorded video - a constant-velocity Kalman
  filter run forwards, then the Rauch-Tung-Striebel pass backwards, on every coordinate at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handpose.errors import InputError


@dataclass(frozen=True)
class OneEuroParams:
    """One Euro settings. ``min_cutoff_hz``: cutoff at rest (lower = smoother when still);
    ``beta``: cutoff increase per unit/s of speed (higher = less lag when moving);
    ``d_cutoff_hz``: cutoff of the speed estimate."""

    min_cutoff_hz: float = 1.0
    beta: float = 0.02
    d_cutoff_hz: float = 1.0

    def __post_init__(self) -> None:
        if self.min_cutoff_hz <= 0 or self.d_cutoff_hz <= 0 or self.beta < 0:
            raise InputError(f"positive cutoffs and beta >= 0 expected, got {self}")


#: for 3D joints in millimetres (chosen with ``benchmarks/bench_smoothing.py``: a still hand's
#: jitter falls ~2.3x, a hand swaying at 500 mm/s trails by a few frames' worth)
MILLIMETRE_DEFAULTS = OneEuroParams(min_cutoff_hz=0.5, beta=0.01)
#: for 2D keypoints in pixels (a hand ~0.5 m from a 640x480 camera: ~1.2 px per mm)
PIXEL_DEFAULTS = OneEuroParams(min_cutoff_hz=0.5, beta=0.008)
#: for normalised poses (unit = middle MCP->PIP bone, ~47 mm)
NORMALISED_DEFAULTS = OneEuroParams(min_cutoff_hz=0.5, beta=0.47)


def _alpha(cutoff_hz: np.ndarray | float, dt: float) -> np.ndarray:
    """Smoothing factor of an exponential filter with cutoff ``cutoff_hz`` at sample interval ``dt``."""
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One Euro filter over an array of points (K, D). State lives between calls; no allocation per call
    beyond numpy temporaries of size K x D.

    Call with ``(points, timestamp_s)``; the first call (or the first after :meth:`reset`) returns its
    input. Timestamps must increase; a repeated timestamp returns the previous output.
    """

    def __init__(self, params: OneEuroParams = PIXEL_DEFAULTS) -> None:
        self.params = params
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t = 0.0

    def reset(self) -> None:
        """Forget the history: the next call starts a new track."""
        self._x = None
        self._dx = None

    def __call__(self, points: np.ndarray, timestamp_s: float) -> np.ndarray:
        """Filtered copy (K, D) float64 of ``points`` (K, D) observed at ``timestamp_s``."""
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2:
            raise InputError(f"points of shape (K, D) expected, got {points.shape}")
        if self._x is None or self._dx is None or self._x.shape != points.shape:
            self._x = points.copy()
            self._dx = np.zeros(points.shape[0])
            self._t = timestamp_s
            return self._x.copy()
        dt = timestamp_s - self._t
        if dt <= 0:
            return self._x.copy()
        p = self.params
        speed = np.linalg.norm(points - self._x, axis=1) / dt
        self._dx += _alpha(p.d_cutoff_hz, dt) * (speed - self._dx)
        alpha = _alpha(p.min_cutoff_hz + p.beta * self._dx, dt)
        self._x += alpha[:, None] * (points - self._x)
        self._t = timestamp_s
        return self._x.copy()


def rts_smooth(
    track: np.ndarray, timestamps_s: np.ndarray, accel_std: float, noise_std: float
) -> np.ndarray:
    """Zero-lag smoothing of a whole recorded track (T, ...) with a constant-velocity model.

    Args:
        track: (T, ...) float values at increasing ``timestamps_s`` (T,); any trailing shape
            (e.g. (T, 21, 3) mm). NaN entries are treated as missing observations.
        accel_std: expected acceleration (unit/s^2, white noise) - larger follows faster motion.
        noise_std: measurement noise standard deviation (unit).

    Returns:
        (T, ...) float64 smoothed track (a forward Kalman filter, then the RTS backward pass).
    """
    values = np.asarray(track, dtype=np.float64)
    times = np.asarray(timestamps_s, dtype=np.float64)
    if values.ndim < 1 or times.shape != values.shape[:1]:
        raise InputError(f"track (T, ...) and timestamps (T,) expected, got {values.shape} and {times.shape}")
    if len(times) > 1 and np.any(np.diff(times) <= 0):
        raise InputError("timestamps must strictly increase")
    if accel_std <= 0 or noise_std <= 0:
        raise InputError(f"positive accel_std and noise_std expected, got {accel_std}, {noise_std}")
    n = len(times)
    if n < 2:
        return values.copy()
    flat = values.reshape(n, -1)
    observed = np.isfinite(flat)
    r = noise_std**2
    # state per coordinate: position p, velocity v, covariance [[a, b], [b, c]]; arrays (n, M)
    p_f = np.empty_like(flat)
    v_f = np.empty_like(flat)
    cov_f = np.empty((n, 3) + flat.shape[1:])
    p_pred = np.empty_like(flat)
    v_pred = np.empty_like(flat)
    cov_pred = np.empty_like(cov_f)
    first = np.where(observed[0], flat[0], np.nanmean(flat, axis=0))
    p, v = np.nan_to_num(first), np.zeros(flat.shape[1])
    big = 1e8 * (1.0 + r)  # an uninformative prior: the first observation sets the position
    a, b, c = np.full(flat.shape[1], big), np.zeros(flat.shape[1]), np.full(flat.shape[1], big)
    for k in range(n):
        if k > 0:
            dt = times[k] - times[k - 1]
            q = accel_std**2
            p, v = p + dt * v, v
            a, b, c = (
                a + 2 * dt * b + dt * dt * c + q * dt**4 / 4,
                b + dt * c + q * dt**3 / 2,
                c + q * dt * dt,
            )
        p_pred[k], v_pred[k], cov_pred[k] = p, v, (a, b, c)
        z = flat[k]
        obs = observed[k]
        s = a + r
        kp, kv = a / s, b / s
        innovation = np.where(obs, np.nan_to_num(z) - p, 0.0)
        p = p + np.where(obs, kp, 0.0) * innovation
        v = v + np.where(obs, kv, 0.0) * innovation
        a, b, c = (
            np.where(obs, (1 - kp) * a, a),
            np.where(obs, (1 - kp) * b, b),
            np.where(obs, c - kv * b, c),
        )
        p_f[k], v_f[k], cov_f[k] = p, v, (a, b, c)
    out = np.empty_like(flat)
    p_s, v_s = p_f[-1], v_f[-1]
    out[-1] = p_s
    for k in range(n - 2, -1, -1):
        dt = times[k + 1] - times[k]
        a, b, c = cov_f[k]
        pa, pb, pc = cov_pred[k + 1]
        # gain G = P_f F^T P_pred^-1 with F = [[1, dt], [0, 1]]
        fa, fb, fc = a + dt * b, b, b + dt * c  # P_f F^T rows: [[a + dt b, b], [b + dt c, c]]
        det = pa * pc - pb * pb
        g11 = (fa * pc - fb * pb) / det
        g12 = (fb * pa - fa * pb) / det
        g21 = (fc * pc - c * pb) / det
        g22 = (c * pa - fc * pb) / det
        dp, dv = p_s - p_pred[k + 1], v_s - v_pred[k + 1]
        p_s, v_s = p_f[k] + g11 * dp + g12 * dv, v_f[k] + g21 * dp + g22 * dv
        out[k] = p_s
    return out.reshape(values.shape)
