"""Zero-lag offline smoothing of the hands of a whole recorded video (``--smooth offline``).

Hands are followed by side: the most confident left hand and the most confident right hand of
each frame form two tracks. Each track's 2D keypoints (px), camera-frame joints (mm) and
normalised pose are smoothed with :func:`handpose.filters.rts_smooth` (a forward Kalman filter
and the Rauch-Tung-Striebel backward pass: no lag, unlike a live filter); frames where a hand is
missing are gaps the smoother bridges, and nothing is written into them. Other hands (a second
hand of the same side) are kept as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Final

import numpy as np

from handpose.filters import rts_smooth
from handpose.io.frame_record import FrameRecord
from handpose.types import HandPose

#: (accel_std, noise_std) of the constant-velocity model per array, in its unit: px, mm, bone lengths
SMOOTHING_PARAMS: Final = {
    "keypoints_px": (3000.0, 2.0),
    "joints_cam_mm": (3000.0, 4.0),
    "joints_norm": (60.0, 0.08),
}


def smooth_records(records: Sequence[FrameRecord]) -> list[FrameRecord]:
    """Records (in frame order) with each side's hand track smoothed; same frames, same hands."""
    if len(records) < 2:
        return list(records)
    times = np.array([r.timestamp_s for r in records], dtype=np.float64)
    if np.any(np.diff(times) <= 0):  # a container with broken timestamps: fall back to frame numbers
        times = np.array([r.frame for r in records], dtype=np.float64)
    hands = [list(r.hands) for r in records]
    for side in ("left", "right"):
        slots = [_best(r.hands, side) for r in records]
        present = np.array([s is not None for s in slots])
        if present.sum() < 2:
            continue
        smoothed = {}
        for key, (accel, noise) in SMOOTHING_PARAMS.items():
            track = np.full((len(records), 21, 2 if key == "keypoints_px" else 3), np.nan)
            for t, slot in enumerate(slots):
                if slot is not None:
                    track[t] = getattr(records[t].hands[slot], key)
            smoothed[key] = rts_smooth(track, times, accel_std=accel, noise_std=noise)
        for t, slot in enumerate(slots):
            if slot is not None:
                hands[t][slot] = dataclasses.replace(hands[t][slot], **{k: v[t] for k, v in smoothed.items()})
    return [dataclasses.replace(r, hands=tuple(h)) for r, h in zip(records, hands, strict=True)]


def _best(hands: Sequence[HandPose], side: str) -> int | None:
    candidates = [i for i, h in enumerate(hands) if h.handedness == side]
    return max(candidates, key=lambda i: hands[i].presence) if candidates else None
