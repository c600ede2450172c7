"""Training-time augmentation of labelled crops: a new view of a stored sample at almost no cost.

A fixed set of renders is seen many times in training, and the model learns the renders as well as
the hands. Each time a sample is drawn, :func:`augment` gives it a different look:

* **geometry**: the crop is rolled by an angle, zoomed and shifted about its centre (one 2x3
  similarity warp, borders reflected). The 2D joints take the same warp, and the crop transform
  becomes the warp after the original one: the new crop is another cut of the same frame. The 3D
  joints stay where they are in the camera frame; what the model learns, the pose in the crop's
  view frame (:mod:`handpose.geometry.view_frame`), turns with the crop, and a shift moves the crop-centre
  ray that frame looks along, as the detector's box jitter does.
* **colour**: a gain per channel, contrast about the mean, a brightness offset and Gaussian
  noise, on 8-bit RGB.
* **resolution**: sometimes the crop is shrunk until the hand spans 16-48 px and enlarged back
  (a far or small hand, as the detector hands it over), and sometimes blurred (focus, motion).

The result is a training sample: crop, 2D joints, visibility (a joint that leaves the crop is
marked not visible) and crop transform change; 3D joints, frame keypoints and intrinsics stay.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from handpose.data.photometric import jitter_colour
from handpose.data.sample import HandSample
from handpose.geometry.crop import CropTransform, similarity_about_centre
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
        low_res_prob: chance that the crop is shrunk so that the hand spans ``low_res_hand_px`` px
            (uniform) and enlarged back.
        low_res_hand_px: (min, max) hand size in px of the shrunk crop.
        blur_prob: chance of a Gaussian blur of sigma uniform in [0.5, ``max_blur_sigma``] px.
        max_blur_sigma: largest blur, px.
    """

    max_roll_deg: float = 30.0
    zoom: tuple[float, float] = (0.9, 1.1)
    max_shift: float = 0.05
    max_gain: float = 0.12
    max_contrast: float = 0.2
    max_brightness: float = 15.0
    max_noise: float = 4.0
    low_res_prob: float = 0.0
    low_res_hand_px: tuple[float, float] = (16.0, 48.0)
    blur_prob: float = 0.0
    max_blur_sigma: float = 1.5

    def __post_init__(self) -> None:
        values = (self.max_roll_deg, self.max_shift, self.max_gain, self.max_contrast, self.max_brightness,
                  self.max_noise, self.low_res_prob, self.blur_prob)
        if min(values) < 0 or not 0 < self.zoom[0] <= self.zoom[1]:
            raise InputError(f"non-negative bounds and 0 < zoom[0] <= zoom[1] expected, got {self}")
        if max(self.low_res_prob, self.blur_prob) > 1 or not 4 <= self.low_res_hand_px[0] <= self.low_res_hand_px[1]:
            raise InputError(f"probabilities in [0, 1] and 4 <= low_res_hand_px[0] <= [1] expected, got {self}")
        if self.max_blur_sigma < 0.5:
            raise InputError(f"max_blur_sigma >= 0.5 px expected, got {self.max_blur_sigma}")


def augment(sample: HandSample, rng: np.random.Generator, config: AugmentConfig = AugmentConfig()) -> HandSample:
    """A randomly re-viewed copy of ``sample`` (which must have a crop); see the module docstring."""
    if sample.crop_rgb is None:
        raise InputError("augment needs a sample with a crop (crop_rgb), got a pose-only sample")
    if sample.present and (sample.crop is None or sample.intrinsics is None):
        raise InputError("augment needs a hand sample's crop transform and intrinsics (the pose it teaches lies in "
                         f"the crop's view frame), got crop={sample.crop}, intrinsics={sample.intrinsics}")
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

    keypoints = sample.keypoints_crop_px
    visible = sample.visible
    if sample.present and keypoints is not None:
        keypoints = (keypoints @ warp[:, :2].T + warp[:, 2]).astype(np.float32)
        inside = np.all((keypoints >= -0.5) & (keypoints <= size - 0.5), axis=1)
        visible = None if visible is None else visible & inside
    crop = degrade_resolution(crop, keypoints if sample.present else None, rng, config)
    moved = None if sample.crop is None else CropTransform(
        matrix=warp @ np.vstack([sample.crop.matrix, [0.0, 0.0, 1.0]]), size=size, mirrored=sample.crop.mirrored)
    return dataclasses.replace(sample, crop_rgb=crop, keypoints_crop_px=keypoints, visible=visible, crop=moved)


def degrade_resolution(crop: np.ndarray, keypoints_px: np.ndarray | None, rng: np.random.Generator,
                       config: AugmentConfig) -> np.ndarray:
    """The (S, S, 3) uint8 RGB crop, maybe shrunk so the hand (its keypoints (21, 2) crop px, or
    the crop's middle half when None) spans ``config.low_res_hand_px`` and enlarged back, maybe
    blurred (see :class:`AugmentConfig`). Draws from ``rng`` the same number of times either way."""
    size = crop.shape[0]
    shrink, hand_px, blur, sigma = rng.random(), rng.uniform(*config.low_res_hand_px), rng.random(), rng.uniform(
        0.5, config.max_blur_sigma)
    if shrink < config.low_res_prob:
        span = float(np.ptp(keypoints_px, axis=0).max()) if keypoints_px is not None else size / 2.0
        small = int(round(size * hand_px / max(span, 1.0)))
        if 4 <= small < size:
            crop = cv2.resize(cv2.resize(crop, (small, small), interpolation=cv2.INTER_AREA), (size, size),
                              interpolation=cv2.INTER_LINEAR)
    if blur < config.blur_prob:
        crop = cv2.GaussianBlur(crop, (0, 0), sigma)
    return crop
