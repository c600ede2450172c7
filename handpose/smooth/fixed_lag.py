"""Live smoothing with a look-ahead of a few frames (``--smooth fixed-lag``, ``--lag-frames``).

A causal filter can only trade lag for tremble. Waiting ``lag`` frames before putting a frame out
lets its estimate use the frames after it too: the offline smoother's models
(:mod:`handpose.smooth.hand_track`) run forwards as the frames arrive (:class:`handpose.smooth.kalman.FixedLag`),
and each frame leaves ``lag`` frames late, smoothed backwards from the newest one. Each bone gets
the median of its smoothed lengths over the track's last :data:`BONE_FRAMES` frames put out.

The price is ``lag`` frame intervals of latency (one frame: 33 ms at 30 fps) on top of the filter's
own lag. On the real ASL video, one frame of look-ahead shakes less than half as much as the
causal live filter at a total latency of about 65 ms against 25 ms (docs/steady_3d.md).

A side's track bridges up to :data:`MAX_GAP_FRAMES` frames without its hand (predicting only);
after a longer gap it starts again. Timestamps that do not increase are replaced by the previous
one plus the last frame interval.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Final

import numpy as np

from handpose.errors import InputError
from handpose.io.frame_record import FrameRecord
from handpose.smooth.bones import bone_lengths, with_bone_lengths
from handpose.smooth.hand_track import SIDES, SMOOTHING_PARAMS, best_hand, wrist_covariance
from handpose.smooth.kalman import ConstantVelocity, FixedLag
from handpose.smooth.translation import OFFLINE_ACCEL_MM_S2
from handpose.types import HandPose

#: frames of look-ahead of the live demo and ``--smooth fixed-lag`` unless told otherwise
DEFAULT_LAG_FRAMES: Final = 1
#: a side's track that has had no hand for more frames than this (and than the lag) starts again
MAX_GAP_FRAMES: Final = 10
#: the bone lengths a track's poses are rebuilt with: median over this many of its latest frames
BONE_FRAMES: Final = 300
#: time step (s) assumed when a source's timestamps do not increase and there is no earlier step
FALLBACK_STEP_S: Final = 1.0 / 30.0

Relabel = Callable[[np.ndarray], dict[str, object]]


class _Coordinates:
    """One array of a track (e.g. 21 x 2 px), each coordinate its own constant-velocity model."""

    def __init__(self, name: str, shape: tuple[int, int], lag: int) -> None:
        accel, noise_std = SMOOTHING_PARAMS[name]
        self.shape = shape
        self.model = FixedLag(ConstantVelocity(1, accel), lag)
        self.variance = np.full((shape[0] * shape[1], 1, 1), noise_std**2)

    def push(self, values: np.ndarray | None, timestamp_s: float) -> None:
        flat = np.full((len(self.variance), 1), np.nan) if values is None else np.reshape(values, (-1, 1))
        self.model.push(flat, self.variance, timestamp_s)

    def estimate(self, back: int) -> np.ndarray:
        return self.model.estimate(back).reshape(self.shape)


class _SideTrack:
    """One side's models: 2D keypoints, pose relative to the wrist (mm), normalised pose, wrist."""

    def __init__(self, lag: int) -> None:
        self.keypoints = _Coordinates("keypoints_px", (21, 2), lag)
        self.relative = _Coordinates("relative_mm", (21, 3), lag)
        self.norm = _Coordinates("joints_norm", (21, 3), lag)
        self.wrist = FixedLag(ConstantVelocity(3, OFFLINE_ACCEL_MM_S2), lag)
        self.relative_bones: deque[np.ndarray] = deque(maxlen=BONE_FRAMES)
        self.norm_bones: deque[np.ndarray] = deque(maxlen=BONE_FRAMES)
        self.gap = 0

    def push(self, hand: HandPose | None, timestamp_s: float) -> None:
        """This frame's hand of the side (None: missing, the models predict)."""
        if hand is None:
            for coordinates in (self.keypoints, self.relative, self.norm):
                coordinates.push(None, timestamp_s)
            self.wrist.push(np.full((1, 3), np.nan), np.eye(3)[None], timestamp_s)
            self.gap += 1
            return
        joints = np.asarray(hand.joints_cam_mm, np.float64)
        keypoints = np.asarray(hand.keypoints_px, np.float64)
        self.keypoints.push(keypoints, timestamp_s)
        self.relative.push(joints - joints[0], timestamp_s)
        self.norm.push(np.asarray(hand.joints_norm, np.float64), timestamp_s)
        self.wrist.push(joints[:1], wrist_covariance(joints, keypoints)[None], timestamp_s)
        self.gap = 0

    def smoothed(self, back: int) -> dict[str, np.ndarray]:
        """The smoothed fields (float32) of the frame ``back`` frames before the latest; call once per frame."""
        relative = self.relative.estimate(back)
        norm = self.norm.estimate(back)
        self.relative_bones.append(bone_lengths(relative))
        self.norm_bones.append(bone_lengths(norm))
        relative = with_bone_lengths(relative, np.median(self.relative_bones, axis=0))
        norm = with_bone_lengths(norm, np.median(self.norm_bones, axis=0))
        return {
            "keypoints_px": self.keypoints.estimate(back).astype(np.float32),
            "joints_cam_mm": (relative + self.wrist.estimate(back)).astype(np.float32),
            "joints_norm": norm.astype(np.float32),
        }


class FixedLagSmoother:
    """Records in, the same records ``lag_frames`` frames later out, each side's hand smoothed.

    :meth:`push` each record in frame order (unsmoothed hands: the pipeline with smoothing off) and
    get back the record ``lag_frames`` before it, if any; :meth:`flush` at the end gives the rest.
    ``relabel``: fields derived from the normalised pose (21, 3), set again from the smoothed one
    (the gesture). Same frames, same hands out as in.
    """

    def __init__(self, lag_frames: int = DEFAULT_LAG_FRAMES, relabel: Relabel | None = None) -> None:
        if lag_frames < 0:
            raise InputError(f"lag_frames >= 0 expected, got {lag_frames}")
        self.lag = lag_frames
        self.relabel = relabel
        self._tracks: dict[str, _SideTrack] = {}
        self._pending: deque[tuple[FrameRecord, dict[str, int]]] = deque()  # record, side -> slot
        self._clock: tuple[float, float] | None = None  # last timestamp used, last step

    def push(self, record: FrameRecord) -> list[FrameRecord]:
        """Take one frame's record; the record ``lag_frames`` before it, smoothed (or none yet)."""
        t = self._timestamp(record.timestamp_s)
        slots = {}
        for side in SIDES:
            slot = best_hand(record.hands, side)
            track = self._tracks.get(side)
            if slot is None:
                if track is not None:
                    track.push(None, t)
                    if track.gap > max(self.lag, MAX_GAP_FRAMES):
                        del self._tracks[side]
                continue
            if track is None:
                track = self._tracks[side] = _SideTrack(self.lag)
            track.push(record.hands[slot], t)
            slots[side] = slot
        self._pending.append((record, slots))
        return [self._emit()] if len(self._pending) > self.lag else []

    def flush(self) -> list[FrameRecord]:
        """The records still held back, smoothed with what came after them; the smoother starts afresh."""
        out = [self._emit() for _ in range(len(self._pending))]
        self._tracks.clear()
        self._clock = None
        return out

    def _emit(self) -> FrameRecord:
        back = len(self._pending) - 1
        record, slots = self._pending.popleft()
        hands = list(record.hands)
        for side, slot in slots.items():
            values = self._tracks[side].smoothed(back)
            derived = {} if self.relabel is None else self.relabel(values["joints_norm"])
            hands[slot] = dataclasses.replace(hands[slot], **values, **derived)
        return dataclasses.replace(record, hands=tuple(hands))

    def _timestamp(self, timestamp_s: float) -> float:
        if self._clock is None:
            self._clock = (timestamp_s, FALLBACK_STEP_S)
        else:
            last, step = self._clock
            self._clock = (timestamp_s, timestamp_s - last) if timestamp_s > last else (last + step, step)
        return self._clock[0]


def smooth_stream(records: Iterable[FrameRecord], lag_frames: int = DEFAULT_LAG_FRAMES,
                  relabel: Relabel | None = None) -> Iterator[FrameRecord]:
    """``records`` (in frame order) through a :class:`FixedLagSmoother`: what a live run with that
    look-ahead puts out, every record once, in order."""
    smoother = FixedLagSmoother(lag_frames, relabel)
    for record in records:
        yield from smoother.push(record)
    yield from smoother.flush()
