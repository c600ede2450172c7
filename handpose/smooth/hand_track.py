"""What the record smoothers share (:mod:`handpose.smooth.offline`, :mod:`handpose.smooth.fixed_lag`):
which hand of a frame is a side's track, the fields they replace, their models' settings, and the
measurement of a hand's wrist position.

Hands are followed by side (which the tracker keeps per track through MediaPipe's label flips,
:mod:`handpose.detect.handedness_vote`): the most confident left and right hand of each frame form
two tracks; other hands are kept as they are. Per track the models are constant-velocity Kalman
models (:mod:`handpose.smooth.kalman`) of

* the 2D keypoints (px), each coordinate its own track;
* the normalised pose, and the camera-frame joints relative to the wrist, each coordinate its own
  track, then each bone given the track's median length (:mod:`handpose.smooth.bones`);
* the wrist's camera-frame position (mm), with the depth-aware measurement noise of
  :class:`handpose.smooth.translation.TranslationNoise`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from handpose.geometry.crop import square_box
from handpose.smooth.translation import TranslationNoise
from handpose.types import HandPose

#: (accel_std, noise_std) of the constant-velocity model per array, in its unit: px, mm, bone lengths.
#: Only their ratio matters to a smoother. The camera-frame pose's was chosen for the lowest EPE on a
#: second rendered clip (``scripts/make_sample_clip.py --seed 11``, not the sample clip it is scored
#: on; docs/steady_3d.md): ratio 125 -> 31 there took EPE 10.47 -> 10.26 mm, and 3D jitter 343 -> 236
#: mm/s^2 on its right hand (truth 181)
SMOOTHING_PARAMS: Final = {
    "keypoints_px": (3000.0, 2.0),
    "relative_mm": (125.0, 4.0),
    "joints_norm": (12.0, 0.1),
}
#: the hands' fields the smoothers replace
FIELDS: Final = ("keypoints_px", "joints_cam_mm", "joints_norm")
#: one track per side: the most confident hand of that side in each frame
SIDES: Final = ("left", "right")


def best_hand(hands: Sequence[HandPose], side: str) -> int | None:
    """Index of the most confident hand of ``side`` among ``hands``, None if there is none."""
    candidates = [i for i, h in enumerate(hands) if h.handedness == side]
    return max(candidates, key=lambda i: hands[i].presence) if candidates else None


def wrist_covariance(joints_mm: np.ndarray, keypoints_px: np.ndarray,
                     noise: TranslationNoise = TranslationNoise()) -> np.ndarray:
    """(3, 3) mm^2 measurement covariance of the wrist position of a hand whose camera-frame joints
    are ``joints_mm`` (21, 3) and 2D keypoints ``keypoints_px`` (21, 2)."""
    side_px = float(square_box(keypoints_px)[1])
    return noise.covariance(joints_mm[0], side_px, _mm_per_px(joints_mm, keypoints_px))


def _mm_per_px(joints_mm: np.ndarray, keypoints_px: np.ndarray) -> float:
    """Millimetres per pixel at the hand's depth (z / focal length), from a pinhole hand: the spread of
    the joints' image-plane coordinates x/z against that of their pixels."""
    z = joints_mm[:, 2].clip(min=1.0)
    plane = joints_mm[:, :2] / z[:, None]
    spread_px = float(np.ptp(keypoints_px, axis=0).max())
    spread_plane = float(np.ptp(plane, axis=0)[np.argmax(np.ptp(keypoints_px, axis=0))])
    return float(joints_mm[0, 2]) * spread_plane / max(spread_px, 1e-6)
