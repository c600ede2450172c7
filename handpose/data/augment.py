"""Training-time augmentation of labelled crops: a new view of a stored sample at almost no cost.

A fixed set of renders is seen many times in training, and the model learns the renders as well as
the hands. Each time a sample is drawn, :func:`augment` gives it a different look:

* **geometry**: the crop is rolled by an angle, zoomed and shifted about its centre (one 2x3
  similarity warp, borders reflected). The 2D joints take the same warp. The 3D joints turn
  about the camera ray through the crop centre, so the rolled crop looks like a crop from a
  camera rolled about that ray. For a mirrored crop (a left hand) the roll in the frame runs the
  other way. Zoom and shift leave the 3D joints alone; they move the crop the way the
  detector's box jitter does.
* **colour**: a gain per channel, contrast about the mean, a brightness offset and Gaussian
  noise, on 8-bit RGB.

The result is a training sample: crop, 2D and 3D joints and visibility, with a joint that
leaves the crop marked not visible. Its frame geometry (frame keypoints, intrinsics, crop
transform) is dropped, because no frame shows the rolled view.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from handpose.data.photometric import jitter_colour
from handpose.data.rig import axis_angle_matrices
from handpose.data.sample import HandSample
from handpose.detect.crop import similarity_about_centre
from handpose.errors import InputError


@dataclass(frozen=True)
class AugmentConfig:
    """How far each augmentation may go; every draw is uniform within these bounds.

    Attributes:
        max_roll_deg: crop rotation within +-this, degrees.
        zoom: (min, max) scale of the crop about its centre.
        max_shift: shift within +-this fraction of the crop side, in x and y separately.
        max_gain: per-channel gain within 1 +- this.
        max_contrast: contrast about the crop's mean within 1 +- this.
        max_brightness: offset within +-this, in 8-bit levels.
        max_noise: standard deviation of the Gaussian noise within [0, this], 8-bit levels.
    """

    max_roll_deg: float = 30.0
    zoom: tuple[float, float] = (0.9, 1.1)
    max_shift: float = 0.05
    max_gain: float = 0.12
    max_contrast: float = 0.2
    max_brightness: float = 15.0
    max_noise: float = 4.0

    def __post_init__(self) -> None:
        values = (self.max_roll_deg, self.max_shift, self.max_gain, self.max_contrast, self.max_brightness,
                  self.max_noise)
        if min(values) < 0 or not 0 < self.zoom[0] <= self.zoom[1]:
            raise InputError(f"non-negative bounds and 0 < zoom[0] <= zoom[1] expected, got {self}")


def crop_centre_ray(sample: HandSample) -> np.ndarray:
    """Unit direction (3,) in the camera frame of the ray through the centre of the sample's crop;
    the optical axis (0, 0, 1) when the sample has no intrinsics or crop transform."""
    if sample.intrinsics is None or sample.crop is None:
        return np.array([0.0, 0.0, 1.0])
    return sample.crop.centre_ray(sample.intrinsics)


def augment(sample: HandSample, rng: np.random.Generator, config: AugmentConfig = AugmentConfig()) -> HandSample:
    """A randomly re-viewed copy of ``sample`` (which must have a crop); see the module docstring."""
    if sample.crop_rgb is None:
        raise InputError("augment needs a sample with a crop (crop_rgb), got a pose-only sample")
    size = sample.crop_rgb.shape[0]
    roll = np.deg2rad(rng.uniform(-config.max_roll_deg, config.max_roll_deg))
    zoom = rng.uniform(*config.zoom)
    shift = rng.uniform(-config.max_shift, config.max_shift, 2) * size
    warp = similarity_about_centre(size, roll, zoom, shift)
    crop = cv2.warpAffine(sample.crop_rgb, warp, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101)
    gains = 1.0 + rng.uniform(-config.max_gain, config.max_gain, 3)
    contrast = 1.0 + rng.uniform(-config.max_contrast, config.max_contrast)
    offset = rng.uniform(-config.max_brightness, config.max_brightness)
    noise = rng.standard_normal(crop.shape, dtype=np.float32) * np.float32(rng.uniform(0.0, config.max_noise))
    crop = jitter_colour(crop, gains, contrast, offset=offset, noise=noise)

    joints = sample.joints_cam_mm
    keypoints = sample.keypoints_crop_px
    visible = sample.visible
    if sample.present and keypoints is not None:
        mirrored = sample.crop.mirrored if sample.crop is not None else sample.is_left
        turn = axis_angle_matrices(crop_centre_ray(sample) * (-roll if mirrored else roll))
        joints = (np.asarray(joints, np.float64) @ turn.T).astype(np.float32)
        keypoints = (keypoints @ warp[:, :2].T + warp[:, 2]).astype(np.float32)
        inside = np.all((keypoints >= -0.5) & (keypoints <= size - 0.5), axis=1)
        visible = sample.visibility & inside
    return dataclasses.replace(sample, crop_rgb=crop, joints_cam_mm=joints, keypoints_crop_px=keypoints,
                               visible=visible, keypoints_px=None, intrinsics=None, crop=None)
