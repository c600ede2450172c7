"""The hand's camera-space position (the wrist, mm), filtered with a constant-velocity Kalman filter
whose measurement noise follows how the position is measured.

From 2D keypoints and a hand size, the position's direction from the camera is well measured (its
error is about the keypoints' pixel error), but its depth comes from the hand's projected size: a 1%
error in that size is a 1% error in depth, 6.5 mm at 65 cm. So the measurement noise is modelled in
(x/z, y/z, log z): ``lateral_px`` px of the root's image position and ``size_px`` px of the hand's
projected size (plus ``size_fraction`` of that size), for a hand ``side_px`` px wide at a depth where
a pixel spans ``mm_per_px`` (= z / focal length):

* lateral: ``sigma_lat = lateral_px * mm_per_px`` (mm) across the line of sight;
* depth: ``sigma_logz = hypot(size_px / side_px, size_fraction)``, i.e. ``sigma_z = z * sigma_logz``
  (mm) - it grows with depth and falls with the hand's pixel size - along the line of sight, which is why the
  covariance in camera coordinates is ``sigma_lat^2 diag(1, 1, 0) + sigma_logz^2 t t^T``: a depth
  error moves the hand along the ray through it, not straight back.

With a depth image the depth is read, not inferred, and :data:`DEPTH_READING_NOISE` applies instead.

:class:`TranslationFilter` is the live (causal) filter; :func:`smooth_translations` runs the same
filter forwards over a whole track and the Rauch-Tung-Striebel pass backwards (no lag). Both use a
white-noise-acceleration model with ``accel_mm_s2``: the live filter a higher one (less lag, more
jitter) than the offline smoother, which has no lag to trade. Camera frame as in :mod:`handpose.geometry.lift`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from handpose.errors import InputError
from handpose.smooth.kalman import ConstantVelocity, Gaussian, smooth


@dataclass(frozen=True)
class TranslationNoise:
    """Measurement noise of a translation from 2D keypoints.

    Attributes:
        lateral_px: error (px) of the root's image position.
        size_px: error (px) of the hand's projected size, and ``size_fraction`` its error as a
            fraction of that size (the model's 2D error is a share of the hand's box: on the
            real validation photos 0.056 of its side per joint); the two add in quadrature.
        depth_reading_mm: error (mm) of a depth reading at the palm (depth cameras).
    """

    lateral_px: float = 1.5
    size_px: float = 1.5
    size_fraction: float = 0.03
    depth_reading_mm: float = 4.0

    def covariance(self, t_mm: np.ndarray, side_px: float, mm_per_px: float, from_depth: bool = False) -> np.ndarray:
        """(3, 3) mm^2 covariance of a translation ``t_mm`` (3,) measured on a hand whose box is
        ``side_px`` px wide where a pixel spans ``mm_per_px`` (see the module docstring)."""
        side_px = max(float(side_px), 1.0)
        lateral = self.lateral_px * mm_per_px
        ray = np.asarray(t_mm, np.float64) / max(float(t_mm[2]), 1.0)  # (x/z, y/z, 1)
        relative = np.hypot(self.size_px / side_px, self.size_fraction)
        depth = self.depth_reading_mm if from_depth else float(t_mm[2]) * relative
        return lateral**2 * np.diag([1.0, 1.0, 0.0]) + depth**2 * np.outer(ray, ray) + 1e-6 * np.eye(3)


#: expected acceleration of a hand (mm/s^2, white noise): larger follows faster motion, smooths less.
#: Chosen with ``benchmarks/bench_steady_3d.py`` (docs/steady_3d.md): live, where it sets the lag,
#: and offline, where it does not
LIVE_ACCEL_MM_S2: Final = 500.0
OFFLINE_ACCEL_MM_S2: Final = 100.0


class TranslationFilter:
    """Live constant-velocity Kalman filter of one track's translation; :meth:`reset` for a new track."""

    def __init__(self, accel_mm_s2: float = LIVE_ACCEL_MM_S2) -> None:
        if accel_mm_s2 <= 0:
            raise InputError(f"accel_mm_s2 > 0 expected, got {accel_mm_s2}")
        self.accel = accel_mm_s2
        self._model = ConstantVelocity(3, accel_mm_s2)
        self.reset()

    def reset(self) -> None:
        self._state: Gaussian | None = None
        self._t = 0.0

    def __call__(self, t_mm: np.ndarray, covariance: np.ndarray, timestamp_s: float) -> np.ndarray:
        """Filtered position (3,) mm after the measurement ``t_mm`` (3,) with ``covariance`` (3, 3)."""
        z = np.asarray(t_mm, np.float64)[None]
        if self._state is None:
            state, self._t = self._model.prior(1, z), timestamp_s
        elif timestamp_s > self._t:
            state, self._t = self._model.predict(self._state, timestamp_s - self._t), timestamp_s
        else:
            state = self._state
        self._state = self._model.update(state, z, covariance[None])
        return self._model.position(self._state)[0].copy()


def smooth_translations(t_mm: np.ndarray, covariances: np.ndarray, timestamps_s: np.ndarray,
                        accel_mm_s2: float = OFFLINE_ACCEL_MM_S2) -> np.ndarray:
    """Zero-lag smoothing of a whole track: (T, 3) mm measurements with (T, 3, 3) covariances at
    strictly increasing ``timestamps_s`` (T,) -> (T, 3) mm. Rows of NaN are missing measurements
    (bridged by the model, their output is the prediction)."""
    t_mm = np.asarray(t_mm, np.float64)
    n = len(t_mm)
    if t_mm.shape != (n, 3) or covariances.shape != (n, 3, 3) or np.shape(timestamps_s) != (n,):
        raise InputError(f"(T, 3), (T, 3, 3), (T,) expected, got {t_mm.shape}, {covariances.shape}, "
                         f"{np.shape(timestamps_s)}")
    if n > 1 and np.any(np.diff(timestamps_s) <= 0):
        raise InputError("timestamps must strictly increase")
    if not np.isfinite(t_mm).all(axis=1).any():
        return t_mm.copy()
    return smooth(ConstantVelocity(3, accel_mm_s2), t_mm[:, None], covariances[:, None], timestamps_s)[:, 0]
