"""One hand size per track.

The hand's size (middle-finger MCP->PIP length, mm) sets the depth of a hand seen by one camera: at
a fixed projected size, depth is proportional to it. It does not change while a hand is tracked, so
a track uses one value: the configured size (``PipelineConfig.hand_size_mm``) - or, when frames
carry depth, the size that makes the keypoints' depth agree with the depth camera's, estimated from
the track's first :data:`ESTIMATE_FRAMES` frames with a depth reading (median of the per-frame
estimates) and then fixed.

A calibration alone cannot give the size: it fixes the focal length, not how big the hand is, and
MediaPipe's metric world landmarks are drawn at its own average-hand scale (middle MCP->PIP median
38.5 mm, 10-90% 35.5-40.8 mm over the ~4,000 real training hands), not measured.
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: frames with a depth reading whose estimates fix a track's hand size
ESTIMATE_FRAMES: Final = 15
#: estimates outside this range (mm) are not a hand's MCP->PIP bone and are ignored
PLAUSIBLE_MM: Final = (25.0, 70.0)


def size_from_depth(size_mm: float, depth_z_mm: float, keypoint_z_mm: float) -> float | None:
    """One frame's hand size (mm): the size that makes the root's depth from the keypoints, lifted
    at ``size_mm`` (``keypoint_z_mm``), agree with the depth camera's (``depth_z_mm``), i.e.
    ``size_mm * depth_z / keypoint_z``; None when the keypoint depth is not positive or the result
    is outside :data:`PLAUSIBLE_MM`."""
    if keypoint_z_mm <= 0:
        return None
    estimate = size_mm * depth_z_mm / keypoint_z_mm
    return estimate if PLAUSIBLE_MM[0] <= estimate <= PLAUSIBLE_MM[1] else None


class TrackHandSize:
    """The hand size (mm) of one track: ``configured_mm`` until depth readings have fixed it."""

    def __init__(self, configured_mm: float) -> None:
        self.configured_mm = float(configured_mm)
        self._estimates: list[float] = []
        self.size_mm = self.configured_mm
        self.fixed = False

    def observe_depth(self, depth_z_mm: float, keypoint_z_mm: float) -> None:
        """One frame's evidence: the root's depth from the depth image, and from the keypoints at the
        current size (:func:`size_from_depth`)."""
        if self.fixed:
            return
        estimate = size_from_depth(self.size_mm, depth_z_mm, keypoint_z_mm)
        if estimate is not None:
            self._estimates.append(estimate)
        if len(self._estimates) >= ESTIMATE_FRAMES:
            self.size_mm = float(np.median(self._estimates))
            self.fixed = True
