"""Zero-lag offline smoothing of the hands of a whole recorded video (``--smooth offline``).

Hands are followed by side (which the tracker keeps per track through MediaPipe's label flips,
:mod:`handpose.detect.handedness_vote`): the most confident left and right hand of each frame form
two tracks; other hands are kept as they are. Per track:

* 2D keypoints (px): :func:`handpose.smooth.filters.rts_smooth` (a constant-velocity Kalman filter
  forwards, Rauch-Tung-Striebel backwards: no lag);
* normalised pose, and the camera-frame joints relative to the wrist: the same smoother, then each
  bone given the track's median length (:mod:`handpose.smooth.bones`);
* the wrist's camera-frame position: :func:`handpose.smooth.translation.smooth_translations`, with
  the depth-aware measurement noise of :class:`handpose.smooth.translation.TranslationNoise`.

Frames where a hand is missing are gaps the smoothers bridge; nothing is written into them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Final

import numpy as np

from handpose.geometry.crop import square_box
from handpose.io.frame_record import FrameRecord
from handpose.smooth.bones import bone_lengths, with_bone_lengths
from handpose.smooth.filters import rts_smooth
from handpose.smooth.translation import TranslationNoise, smooth_translations
from handpose.types import HandPose

#: (accel_std, noise_std) of the constant-velocity model per array, in its unit: px, mm, bone lengths
#: (the pose's chosen on the sample clip with ``benchmarks/bench_steady_3d.py``)
SMOOTHING_PARAMS: Final = {
    "keypoints_px": (3000.0, 2.0),
    "relative_mm": (500.0, 4.0),
    "joints_norm": (12.0, 0.1),
}


def smooth_records(records: Sequence[FrameRecord]) -> list[FrameRecord]:
    """Records (in frame order) with each hand track smoothed; same frames, same hands."""
    if len(records) < 2:
        return list(records)
    times = np.array([r.timestamp_s for r in records], dtype=np.float64)
    if np.any(np.diff(times) <= 0):  # a container with broken timestamps: fall back to frame numbers
        times = np.array([r.frame for r in records], dtype=np.float64)
    hands = [list(r.hands) for r in records]
    for slots in _tracks(records):
        present = [t for t, slot in enumerate(slots) if slot is not None]
        if len(present) < 2:
            continue
        found = [records[t].hands[slots[t]] for t in present]
        smoothed = _smooth_track(found, times, present, len(records))
        for t in present:
            hands[t][slots[t]] = dataclasses.replace(hands[t][slots[t]], **{k: v[t] for k, v in smoothed.items()})
    return [dataclasses.replace(r, hands=tuple(h)) for r, h in zip(records, hands, strict=True)]


def _smooth_track(found: list[HandPose], times: np.ndarray, present: list[int], n: int) -> dict[str, np.ndarray]:
    def track(values: list[np.ndarray]) -> np.ndarray:
        out = np.full((n,) + values[0].shape, np.nan)
        out[present] = values
        return out

    keypoints = track([np.asarray(h.keypoints_px, np.float64) for h in found])
    joints = track([np.asarray(h.joints_cam_mm, np.float64) for h in found])
    norm = track([np.asarray(h.joints_norm, np.float64) for h in found])
    root = joints[:, 0]
    relative = joints - root[:, None]
    noise = TranslationNoise()
    covariances = np.tile(np.eye(3), (n, 1, 1))
    for t in present:
        side_px = float(square_box(keypoints[t])[1])
        covariances[t] = noise.covariance(root[t], side_px, _mm_per_px(joints[t], keypoints[t]))
    accel, std = SMOOTHING_PARAMS["relative_mm"]
    relative = rts_smooth(relative, times, accel, std)
    relative = with_bone_lengths(relative, np.median(bone_lengths(relative[present]), axis=0))
    accel, std = SMOOTHING_PARAMS["joints_norm"]
    norm = rts_smooth(norm, times, accel, std)
    norm = with_bone_lengths(norm, np.median(bone_lengths(norm[present]), axis=0))
    accel, std = SMOOTHING_PARAMS["keypoints_px"]
    return {
        "keypoints_px": rts_smooth(keypoints, times, accel, std).astype(np.float32),
        "joints_cam_mm": (relative + smooth_translations(root, covariances, times)[:, None]).astype(np.float32),
        "joints_norm": norm.astype(np.float32),
    }


def _mm_per_px(joints_mm: np.ndarray, keypoints_px: np.ndarray) -> float:
    """Millimetres per pixel at the hand's depth (z / focal length), from a pinhole hand: the spread of
    the joints' image-plane coordinates x/z against that of their pixels."""
    z = joints_mm[:, 2].clip(min=1.0)
    plane = joints_mm[:, :2] / z[:, None]
    spread_px = float(np.ptp(keypoints_px, axis=0).max())
    spread_plane = float(np.ptp(plane, axis=0)[np.argmax(np.ptp(keypoints_px, axis=0))])
    return float(joints_mm[0, 2]) * spread_plane / max(spread_px, 1e-6)


def _tracks(records: Sequence[FrameRecord]) -> list[list[int | None]]:
    """Per side, the index of that side's most confident hand in each record (None where absent)."""
    return [[_best(r.hands, side) for r in records] for side in ("left", "right")]


def _best(hands: Sequence[HandPose], side: str) -> int | None:
    candidates = [i for i, h in enumerate(hands) if h.handedness == side]
    return max(candidates, key=lambda i: hands[i].presence) if candidates else None
