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
from handpose.smooth.kalman import ConstantVelocity, smooth


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
    """Zero-lag smoothing of a whole recorded track (T, ...) with a constant-velocity model
    (:func:`handpose.smooth.kalman.smooth`, every coordinate its own track).

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
    flat = values.reshape(n, -1, 1)
    r = np.full((1, 1, 1, 1), float(noise_std) ** 2)
    return smooth(ConstantVelocity(1, accel_std), flat, r, times).reshape(values.shape)
