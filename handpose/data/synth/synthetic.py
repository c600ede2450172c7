"""On-the-fly synthetic hand crops (RHD-style) with exact labels: the default training data.

Sample ``i`` of seed ``s`` is always the same (its random generator is seeded with ``[s, i]``).
Each sample renders a square window of ``render_scale x crop_size`` pixels around one hand (a
window of a virtual camera frame: its ``K`` has the principal point wherever the hand's
off-axis direction puts it), then cuts the model crop out of it with the live pipeline's own
crop code (``handpose.geometry.crop``) from the 2D keypoints, with detector-like jitter of the box
(shift, scale), mirrored for left hands. Image effects (motion blur, defocus, colour jitter,
noise, JPEG) are applied to the crop.

Labels: ``joints_cam_mm`` (21, 3) in the window camera's frame, ``keypoints_px`` in window px
(= ``project(joints_cam_mm, K)``), ``keypoints_crop_px = crop.to_crop(keypoints_px)``,
``visible`` from a depth-buffer test (the hand itself and occluders). Joint 0 is MediaPipe's
wrist (``handpose.data.synth.rig``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from handpose.data.synth.backgrounds import BackgroundBank
from handpose.data.synth.occluders import random_occluder
from handpose.data.photometric import jitter_colour
from handpose.data.sample import HandSample
from handpose.data.synth.scene import (
    PosedHand,
    SceneRenderer,
    joint_visibility,
    palm_centre,
    pose_hand,
    project,
    random_hand_spec,
    random_lighting,
    random_palm_position,
)
from handpose.geometry.crop import crop_transform, square_box
from handpose.errors import HandposeError, InputError


@dataclass(frozen=True)
class SyntheticConfig:
    """Knobs of the synthetic crop source (probabilities in [0, 1], ranges as (low, high)).

    Attributes:
        crop_size: model input side in px.
        render_scale: rendered window side / crop side.
        box_fill: (low, high) keypoint box side (with the crop margin) in crop px / crop_size,
            before jitter; > 1 means the window is downsampled into the crop.
        box_shift: crop centre jitter, fraction of the box side (uniform +-).
        box_scale: crop side jitter, fraction (uniform +-).
        distance_mm: (low, high) camera to hand distance.
        max_off_axis_deg: largest angle between the optical axis and the hand.
        hand_scale: (low, high) hand size relative to the rig.
        left_fraction: share of left hands.
        negative_fraction: share of negative crops (no hand; present=False).
        forearm_prob, sleeve_prob, occluder_prob, motion_blur_prob, defocus_prob, jpeg_prob:
            probabilities of each effect.
        distractor_prob: probability of a second, unlabelled hand beside the labelled one
            (never in negative crops).
        noise_sigma: (low, high) Gaussian pixel noise in uint8 units.
    """

    crop_size: int = 128
    render_scale: float = 2.0
    box_fill: tuple[float, float] = (0.85, 1.3)
    box_shift: float = 0.10
    box_scale: float = 0.15
    distance_mm: tuple[float, float] = (250.0, 900.0)
    max_off_axis_deg: float = 30.0
    hand_scale: tuple[float, float] = (0.85, 1.12)
    left_fraction: float = 0.5
    negative_fraction: float = 0.1
    forearm_prob: float = 0.95
    sleeve_prob: float = 0.5
    occluder_prob: float = 0.3
    distractor_prob: float = 0.1
    motion_blur_prob: float = 0.2
    defocus_prob: float = 0.15
    jpeg_prob: float = 0.5
    noise_sigma: tuple[float, float] = (0.0, 6.0)

    def __post_init__(self) -> None:
        if self.crop_size < 16:
            raise InputError(f"crop_size >= 16 expected, got {self.crop_size}")
        worst = self.box_fill[1] * (1 + self.box_scale) / 2 + self.box_shift * self.box_fill[1]
        if worst > self.render_scale / 2:
            raise InputError(f"render_scale {self.render_scale} too small for box_fill {self.box_fill} with jitter; "
                             f"at least {2 * worst:.2f} expected")
        for name in ("left_fraction", "negative_fraction", "forearm_prob", "sleeve_prob", "occluder_prob",
                     "distractor_prob", "motion_blur_prob", "defocus_prob", "jpeg_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"{name} in [0, 1] expected, got {getattr(self, name)}")


class SyntheticHandSource:
    """Indexable source of rendered :class:`HandSample` crops, ``len = num_samples``.

    The GL context is made lazily in the process that renders, so the source works in
    DataLoader workers (started with "spawn", "forkserver", or "fork" from a process that has not
    rendered). Mesa's CPU driver deadlocks in a child forked from a process that has rendered;
    this source refuses to render there instead (HandposeError) rather than hang.
    """

    def __init__(self, config: SyntheticConfig = SyntheticConfig(), seed: int = 0, num_samples: int = 100_000,
                 backgrounds: BackgroundBank | None = None) -> None:
        self.config = config
        self.seed = int(seed)
        self.num_samples = int(num_samples)
        self._backgrounds = backgrounds
        self._scene: SceneRenderer | None = None
        self._scene_pid = -1
        self._window = int(round(config.render_scale * config.crop_size))

    def __len__(self) -> int:
        return self.num_samples

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_scene"] = None
        return state

    def __getitem__(self, index: int) -> HandSample:
        if not 0 <= index < self.num_samples:
            raise IndexError(f"sample index in [0, {self.num_samples}) expected, got {index}")
        return self.sample(index)

    def sample(self, index: int) -> HandSample:
        """Render sample ``index`` (deterministic for this source's seed and config)."""
        if self._scene is not None and self._scene_pid != os.getpid():
            raise HandposeError(
                "this SyntheticHandSource rendered before the process was forked, and OpenGL (Mesa) "
                "hangs in a forked child; start workers with multiprocessing context 'spawn' or "
                "'forkserver', or do not render in the parent")
        if self._scene is None:
            self._scene = SceneRenderer(self._window, self._window)
            self._scene_pid = os.getpid()
        if self._backgrounds is None:
            self._backgrounds = BackgroundBank.default()
        cfg, rng, window = self.config, np.random.default_rng([self.seed, index]), self._window
        negative = rng.random() < cfg.negative_fraction
        spec = random_hand_spec(rng, cfg.left_fraction, cfg.hand_scale, cfg.forearm_prob, cfg.sleeve_prob)
        hand = pose_hand(spec)
        target = random_palm_position(rng, cfg.distance_mm, cfg.max_off_axis_deg)
        hand = hand.translated(target - palm_centre(hand.joints_mm))
        # focal length and principal point: the keypoint box fills box_fill x crop_size, centred
        normalized = hand.joints_mm[:, :2] / hand.joints_mm[:, 2:3]
        centre_n, side_n = square_box(normalized)
        focal = rng.uniform(*cfg.box_fill) * cfg.crop_size / side_n
        principal = (window - 1) / 2.0 - focal * centre_n
        K = np.array([[focal, 0.0, principal[0]], [0.0, focal, principal[1]], [0.0, 0.0, 1.0]])
        keypoints = project(hand.joints_mm, K)

        hands = [hand]
        if not negative and rng.random() < cfg.distractor_prob:
            hands.append(_distractor_hand(rng, hand, cfg))
        occluders = []
        if rng.random() < cfg.occluder_prob:
            for _ in range(rng.integers(1, 3)):
                target = hand.joints_mm[rng.integers(21)]
                occluders.append(random_occluder(rng, target, 25.0 * spec.scale))
        background = self._backgrounds.sample(rng, window, window)
        rendering = self._scene.render(K, background, hands, occluders, random_lighting(rng), draw_hands=not negative)
        visible = (np.zeros(21, bool) if negative
                   else joint_visibility(rendering, hand.joints_mm, keypoints, spec.scale))

        centre, side_px = square_box(keypoints)
        centre = centre + rng.uniform(-cfg.box_shift, cfg.box_shift, 2) * side_px
        side_px *= 1.0 + rng.uniform(-cfg.box_scale, cfg.box_scale)
        crop = crop_transform(centre, side_px, cfg.crop_size, mirrored=spec.side == "left")
        crop_rgb = degrade(crop.warp(rendering.rgb), rng, cfg)
        return HandSample(
            joints_cam_mm=hand.joints_mm.astype(np.float32),
            is_left=spec.side == "left",
            crop_rgb=crop_rgb,
            keypoints_crop_px=crop.to_crop(keypoints).astype(np.float32),
            keypoints_px=keypoints.astype(np.float32),
            intrinsics=K,
            visible=visible,
            crop=crop,
            present=not negative,
        )


def _distractor_hand(rng: np.random.Generator, hand: PosedHand, cfg: SyntheticConfig) -> PosedHand:
    """Another (unlabelled) hand beside ``hand``, one to one and a half hand lengths away, so it
    may show at the crop's edge or overlap it, as in two-hand scenes."""
    other = pose_hand(random_hand_spec(rng, cfg.left_fraction, cfg.hand_scale, cfg.forearm_prob, cfg.sleeve_prob))
    angle = rng.uniform(0, 2 * np.pi)
    offset = rng.uniform(150.0, 250.0) * hand.spec.scale * np.array([np.cos(angle), np.sin(angle), 0.0])
    offset[2] = rng.uniform(-100.0, 100.0)
    return other.translated(palm_centre(hand.joints_mm) + offset - palm_centre(other.joints_mm))


def degrade(crop_rgb: np.ndarray, rng: np.random.Generator, cfg: SyntheticConfig) -> np.ndarray:
    """Camera-like effects on a (S, S, 3) uint8 RGB crop: motion blur, defocus, colour jitter,
    noise, JPEG re-encoding. Returns a new uint8 RGB array."""
    image = crop_rgb
    if rng.random() < cfg.motion_blur_prob:
        length = int(rng.integers(3, 10))
        kernel = np.zeros((length, length), np.float32)
        angle = rng.uniform(0, np.pi)
        c = (length - 1) / 2
        d = np.linspace(-c, c, 2 * length)
        kernel[np.rint(c + d * np.sin(angle)).astype(int), np.rint(c + d * np.cos(angle)).astype(int)] = 1.0
        image = cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REPLICATE)
    if rng.random() < cfg.defocus_prob:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))
    gains = rng.uniform(0.85, 1.15, 3) * rng.uniform(0.7, 1.3)
    contrast, saturation = rng.uniform(0.75, 1.25), rng.uniform(0.6, 1.3)
    noise = rng.normal(scale=rng.uniform(*cfg.noise_sigma), size=image.shape)
    image = jitter_colour(image, gains, contrast, saturation, noise=noise)
    if rng.random() < cfg.jpeg_prob:
        _, buf = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        assert decoded is not None  # we just encoded it
        image = np.ascontiguousarray(decoded[:, :, ::-1])
    return image
