"""Constant-velocity Kalman filtering of batches of tracks: the model behind the translation filter,
the offline smoother and the fixed-lag smoother (:mod:`handpose.smooth.translation`,
:mod:`handpose.smooth.filters`, :mod:`handpose.smooth.fixed_lag`).

Each of M independent tracks has d positions and their d velocities, state ``x = (p, v)`` (2d,)
with covariance ``P`` (2d, 2d), moved by white-noise acceleration of ``accel`` (unit/s^2) on each
axis. A measurement is the d positions with covariance ``R`` (d, d), or missing.

* :meth:`ConstantVelocity.predict` then :meth:`ConstantVelocity.update`: the causal filter;
* :func:`smooth`: the filter forwards over a whole track, then the Rauch-Tung-Striebel pass
  backwards (no lag);
* :class:`FixedLag`: the filter forwards as measurements arrive, and the backward pass over the last
  few steps only: the estimate of step k from the measurements up to step k + lag, available
  ``lag`` steps late. Its estimate ``lag`` steps back equals :func:`smooth` run on the track so far.

Shapes: means (M, 2d), covariances (M, 2d, 2d), measurements (M, d), measurement covariances
(M, d, d) (or broadcastable), ``observed`` (M,) bool.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np

from handpose.errors import InputError

#: variance (unit^2, and unit^2/s^2 for velocities) of the uninformative prior: the first
#: measurement sets a track's position, the second its velocity
PRIOR_VARIANCE: Final = 1e8


@dataclass(frozen=True)
class Gaussian:
    """M track states: ``mean`` (M, 2d), ``cov`` (M, 2d, 2d)."""

    mean: np.ndarray
    cov: np.ndarray


class ConstantVelocity:
    """The constant-velocity model of d-dimensional positions with white-noise acceleration ``accel``."""

    def __init__(self, dims: int, accel: float) -> None:
        if dims < 1 or accel <= 0:
            raise InputError(f"dims >= 1 and accel > 0 expected, got {dims}, {accel}")
        self.dims = dims
        self.accel = float(accel)
        self._transition: tuple[float, np.ndarray, np.ndarray] | None = None

    def prior(self, tracks: int, position: np.ndarray | None = None) -> Gaussian:
        """An uninformative state for ``tracks`` tracks, centred on ``position`` (M, d) (NaN = 0) or 0."""
        mean = np.zeros((tracks, 2 * self.dims))
        if position is not None:
            mean[:, : self.dims] = np.nan_to_num(np.asarray(position, np.float64).reshape(tracks, self.dims))
        return Gaussian(mean, np.tile(PRIOR_VARIANCE * np.eye(2 * self.dims), (tracks, 1, 1)))

    def transition(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """(2d, 2d) state transition over ``dt`` seconds and its process noise (the last one is
        kept: a video's steps are mostly equal)."""
        if self._transition is not None and self._transition[0] == dt:
            return self._transition[1], self._transition[2]
        d = self.dims
        f = np.eye(2 * d)
        f[:d, d:] = dt * np.eye(d)
        q = np.zeros((2 * d, 2 * d))
        q[:d, :d], q[:d, d:], q[d:, :d], q[d:, d:] = (self.accel**2 * c * np.eye(d) for c in
                                                      (dt**4 / 4, dt**3 / 2, dt**3 / 2, dt**2))
        self._transition = (dt, f, q)
        return f, q

    def predict(self, state: Gaussian, dt: float) -> Gaussian:
        """The state ``dt`` seconds later."""
        f, q = self.transition(dt)
        return Gaussian(state.mean @ f.T, f @ state.cov @ f.T + q)

    def update(self, state: Gaussian, z: np.ndarray, r: np.ndarray, observed: np.ndarray | None = None) -> Gaussian:
        """The state after measuring positions ``z`` (M, d) with covariance ``r``; tracks not
        ``observed`` (M,) keep their prediction."""
        d = self.dims
        z = np.asarray(z, np.float64).reshape(len(state.mean), d)
        if observed is None:
            observed = np.isfinite(z).all(axis=1)
        s = state.cov[:, :d, :d] + r
        gain = np.linalg.solve(s, state.cov[:, :d, :]).transpose(0, 2, 1)  # P H^T S^-1 (M, 2d, d)
        innovation = np.where(observed[:, None], np.nan_to_num(z) - state.mean[:, :d], 0.0)
        gain = gain * observed[:, None, None]
        mean = state.mean + np.einsum("mij,mj->mi", gain, innovation)
        cov = state.cov - gain @ state.cov[:, :d, :]
        return Gaussian(mean, 0.5 * (cov + cov.transpose(0, 2, 1)))

    def position(self, state: Gaussian) -> np.ndarray:
        """(M, d) positions of a state."""
        return state.mean[:, : self.dims]


def backward_step(filtered: Gaussian, predicted_next: Gaussian, smoothed_next: np.ndarray,
                  transition: np.ndarray) -> np.ndarray:
    """One Rauch-Tung-Striebel step: the smoothed mean (M, 2d) at a step from its filtered state,
    the prediction of the next step made from it (with ``transition`` (2d, 2d)) and the next step's
    smoothed mean (M, 2d)."""
    # gain G = P_f F^T P_pred^-1, applied as (P_pred^-1 F P_f)^T (covariances are symmetric)
    gain = np.linalg.solve(predicted_next.cov, transition @ filtered.cov).transpose(0, 2, 1)
    return filtered.mean + np.einsum("mij,mj->mi", gain, smoothed_next - predicted_next.mean)


def smooth(model: ConstantVelocity, z: np.ndarray, r: np.ndarray, timestamps_s: np.ndarray) -> np.ndarray:
    """Zero-lag smoothing of M tracks over T steps: measurements ``z`` (T, M, d) (rows with NaN are
    missing), covariances ``r`` broadcastable to (T, M, d, d), at strictly increasing
    ``timestamps_s`` (T,) -> (T, M, d) smoothed positions."""
    z = np.asarray(z, np.float64)
    n, tracks = z.shape[:2]
    r = np.broadcast_to(r, (n, tracks, model.dims, model.dims))
    observed = np.isfinite(z).all(axis=2)
    first = np.where(observed.any(axis=0), np.argmax(observed, axis=0), 0)
    state = model.prior(tracks, z[first, np.arange(tracks)])
    predicted, filtered, transitions = [], [], []
    for k in range(n):
        f = np.eye(2 * model.dims)
        if k > 0:
            f, _ = model.transition(float(timestamps_s[k] - timestamps_s[k - 1]))
            state = model.predict(state, float(timestamps_s[k] - timestamps_s[k - 1]))
        predicted.append(state)
        transitions.append(f)
        state = model.update(state, z[k], r[k], observed[k])
        filtered.append(state)
    out = np.empty((n, tracks, 2 * model.dims))
    out[-1] = filtered[-1].mean
    for k in range(n - 2, -1, -1):
        out[k] = backward_step(filtered[k], predicted[k + 1], out[k + 1], transitions[k + 1])
    return out[..., : model.dims]


class FixedLag:
    """Streaming smoother of M tracks: :meth:`push` each step's measurements, :meth:`estimate` a
    recent step from everything pushed so far (the backward pass over at most ``lag`` steps)."""

    def __init__(self, model: ConstantVelocity, lag: int) -> None:
        if lag < 0:
            raise InputError(f"lag >= 0 expected, got {lag}")
        self.model = model
        self.lag = lag
        self._steps: deque[tuple[Gaussian, Gaussian, np.ndarray]] = deque(maxlen=lag + 1)  # predicted, filtered, F
        self._state: Gaussian | None = None
        self._t = 0.0

    def push(self, z: np.ndarray, r: np.ndarray, timestamp_s: float, observed: np.ndarray | None = None) -> None:
        """One step: positions ``z`` (M, d) measured at ``timestamp_s`` with covariance ``r`` (NaN or
        not ``observed``: missing, the step is predicted only)."""
        z = np.asarray(z, np.float64).reshape(-1, self.model.dims)
        f = np.eye(2 * self.model.dims)
        if self._state is None:
            state = self.model.prior(len(z), z)
        else:
            dt = timestamp_s - self._t
            if dt <= 0:
                raise InputError(f"increasing timestamps expected, got {timestamp_s} after {self._t}")
            f, _ = self.model.transition(dt)
            state = self.model.predict(self._state, dt)
        self._t = timestamp_s
        self._state = self.model.update(state, z, r, observed)
        self._steps.append((state, self._state, f))

    def estimate(self, back: int) -> np.ndarray:
        """(M, d) smoothed positions of the step ``back`` steps before the latest (0 = the latest,
        the causal filter's answer), from every measurement pushed so far."""
        if not 0 <= back < len(self._steps):
            raise InputError(f"0 <= back < {len(self._steps)} expected, got {back}")
        steps = list(self._steps)
        mean = steps[-1][1].mean
        for k in range(len(steps) - 2, len(steps) - 2 - back, -1):
            predicted_next, _, f_next = steps[k + 1]
            mean = backward_step(steps[k][1], predicted_next, mean, f_next)
        return mean[:, : self.model.dims]
