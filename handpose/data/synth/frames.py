"""Full synthetic camera frames with one or two hands, and smooth moving-hand sequences.

For tests and demos that need whole frames with known answers: metric 3D (known camera-frame
joints and ``K``), the smoothing benchmark (a smoothly moving hand), the project's sample clip.
Hands get a forearm, skin, soft lighting and a real-photo background when photos are available,
so that a real detector (MediaPipe) finds them in most frames.

Camera frame: OpenCV (x right, y down, z forward), mm; images RGB uint8; 2D in px.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator, Sequence

import numpy as np

from handpose.data.synth import hand_poses
from handpose.data.synth.backgrounds import BackgroundBank
from handpose.data.synth.render import Lighting
from handpose.data.synth.rig import Side, axis_angle_matrices
from handpose.data.synth.scene import (
    UPRIGHT_PALM_VIEW,
    Appearance,
    HandSpec,
    PosedHand,
    SceneRenderer,
    hand_joints,
    joint_visibility,
    palm_centre,
    pose_hand,
    project,
    random_appearance,
    random_hand_spec,
    random_lighting,
    random_palm_position,
)
from handpose.errors import InputError


@dataclass(frozen=True)
class RenderedHand:
    """Ground truth of one hand in a frame.

    Attributes:
        side: "right" or "left".
        joints_cam_mm: (21, 3) float64 camera-frame joints (joint 0 = MediaPipe's wrist), mm.
        keypoints_px: (21, 2) float64 their projections, px.
        visible: (21,) bool depth-test visibility.
        spec: the hand's full description.
    """

    side: Side
    joints_cam_mm: np.ndarray
    keypoints_px: np.ndarray
    visible: np.ndarray
    spec: HandSpec


@dataclass(frozen=True)
class SyntheticFrame:
    """A rendered frame: ``rgb`` (H, W, 3) uint8 RGB, ``intrinsics`` K (3, 3), ``depth_mm`` (H, W)
    float32 camera z (``inf`` on the background), its ``hands``, ``index`` and ``timestamp_s``."""

    rgb: np.ndarray
    intrinsics: np.ndarray
    depth_mm: np.ndarray
    hands: tuple[RenderedHand, ...]
    index: int = 0
    timestamp_s: float = 0.0


def default_intrinsics(width: int, height: int, hfov_deg: float = 60.0) -> np.ndarray:
    """A pinhole K (3, 3) with square pixels, centred principal point and horizontal FOV ``hfov_deg``."""
    f = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


class FrameRenderer:
    """Renders W x H frames of posed hands over backgrounds (one GL context)."""

    def __init__(self, width: int = 640, height: int = 480, backgrounds: BackgroundBank | None = None) -> None:
        self.width, self.height = int(width), int(height)
        self._scene = SceneRenderer(self.width, self.height)
        self._backgrounds = backgrounds if backgrounds is not None else BackgroundBank.default()

    def background(self, rng: np.random.Generator, photo: bool | None = None) -> np.ndarray:
        """A random (H, W, 3) uint8 RGB background patch (``photo``: see ``BackgroundBank.sample``)."""
        return self._backgrounds.sample(rng, self.height, self.width, photo)

    def render(self, hands: Sequence[HandSpec], K: np.ndarray, background_rgb: np.ndarray,
               lighting: Lighting | None = None, index: int = 0, timestamp_s: float = 0.0) -> SyntheticFrame:
        """Render ``hands`` seen through ``K`` over ``background_rgb`` (H, W, 3) uint8 RGB."""
        posed: list[PosedHand] = [pose_hand(spec) for spec in hands]
        rendering = self._scene.render(K, background_rgb, posed, (), lighting)
        truth = []
        for hand in posed:
            if np.any(hand.joints_mm[:, 2] <= 10.0):
                raise InputError("every joint must be in front of the camera (z > 10 mm)")
            keypoints = project(hand.joints_mm, K)
            truth.append(RenderedHand(
                side=hand.spec.side,
                joints_cam_mm=hand.joints_mm,
                keypoints_px=keypoints,
                visible=joint_visibility(rendering, hand.joints_mm, keypoints, hand.spec.scale),
                spec=hand.spec,
            ))
        return SyntheticFrame(rgb=rendering.rgb.copy(), intrinsics=K, depth_mm=rendering.depth_mm,
                              hands=tuple(truth), index=index, timestamp_s=timestamp_s)


def hand_spec(side: Side, articulation: np.ndarray, wrist_mm: np.ndarray, yaw_deg: float = 0.0,
              pitch_deg: float = 0.0, roll_deg: float = 0.0, scale: float = 1.0,
              appearance: Appearance | None = None) -> HandSpec:
    """A hand at ``wrist_mm`` (camera frame): upright with the palm to the camera, then turned by
    yaw (about the vertical), pitch (about the horizontal) and roll (in the image plane)."""
    rotation = (axis_angle_matrices(np.radians([0.0, 0.0, roll_deg]))
                @ axis_angle_matrices(np.radians([pitch_deg, 0.0, 0.0]))
                @ axis_angle_matrices(np.radians([0.0, yaw_deg, 0.0])) @ UPRIGHT_PALM_VIEW)
    look = appearance or Appearance(skin=np.array([0.55, 0.33, 0.22]), palm=np.array([0.62, 0.38, 0.28]),
                                    sleeve_from_mm=60.0, sleeve=np.array([0.08, 0.12, 0.25]))
    return HandSpec(side=side, articulation=np.asarray(articulation, np.float64), scale=scale, rotation=rotation,
                    wrist_mm=np.asarray(wrist_mm, np.float64), wrist_bend=np.zeros(2), appearance=look)


def random_frame(renderer: FrameRenderer, rng: np.random.Generator, K: np.ndarray | None = None,
                 distance_mm: tuple[float, float] = (300.0, 650.0), max_off_axis_deg: float = 18.0) -> SyntheticFrame:
    """One random hand (pose, side, orientation, skin, sleeve, light, background) in a full frame,
    from the same distributions as the training crops (``handpose.data.synth.scene``), with a forearm."""
    K = default_intrinsics(renderer.width, renderer.height) if K is None else K
    spec = random_hand_spec(rng, forearm_prob=1.0)
    shift = random_palm_position(rng, distance_mm, max_off_axis_deg) - palm_centre(hand_joints(spec))
    spec = replace(spec, wrist_mm=spec.wrist_mm + shift)
    return renderer.render([spec], K, renderer.background(rng), random_lighting(rng))


def hand_sequence(n_frames: int, fps: float = 30.0, seed: int = 0, width: int = 640, height: int = 480,
                  two_hands: bool = False, seconds_per_gesture: float = 1.5,
                  renderer: FrameRenderer | None = None) -> Iterator[SyntheticFrame]:
    """A smooth clip: the hand(s) move, turn and go through gestures (smoothly interpolated).

    Deterministic per ``seed``. The right hand (and, with ``two_hands``, a left one beside it)
    stays mostly palm-on or slightly turned, 350-600 mm from the camera, fully in the frame, in
    front of a real-photo background when photos are available.
    """
    if n_frames < 1 or fps <= 0:
        raise InputError(f"n_frames >= 1 and fps > 0 expected, got {n_frames}, {fps}")
    rng = np.random.default_rng(seed)
    renderer = renderer or FrameRenderer(width, height)
    K = default_intrinsics(renderer.width, renderer.height)
    background = renderer.background(rng, photo=True)
    lighting = random_lighting(rng)
    sides: tuple[Side, ...] = ("right", "left") if two_hands else ("right",)
    n_keys = int(np.ceil(n_frames / fps / seconds_per_gesture)) + 2
    tracks = []
    for k, side in enumerate(sides):
        names = rng.choice(hand_poses.GESTURE_NAMES, size=n_keys)
        keys = np.stack([hand_poses.GESTURES[n] for n in names])
        look = random_appearance(rng, forearm_prob=1.0)
        look = Appearance(skin=look.skin, palm=look.palm, forearm=True, sleeve_from_mm=look.sleeve_from_mm,
                          sleeve=look.sleeve, specular=look.specular)
        x_centre = 0.0 if not two_hands else (-110.0 if side == "right" else 110.0)
        phases = rng.uniform(0, 2 * np.pi, 6)
        tracks.append((side, keys, look, x_centre, phases))
    for i in range(n_frames):
        t = i / fps
        specs = []
        for side, keys, look, x_centre, ph in tracks:
            g = t / seconds_per_gesture
            k = int(g)
            articulation = hand_poses.interpolate(keys[k], keys[k + 1], min((g - k) / 0.6, 1.0))
            wrist = np.array([
                x_centre + 70.0 * np.sin(0.5 * t + ph[0]),
                70.0 + 40.0 * np.sin(0.7 * t + ph[1]),
                470.0 + 90.0 * np.sin(0.3 * t + ph[2]),
            ])
            mirror = -1.0 if side == "left" else 1.0
            specs.append(hand_spec(side, articulation, wrist, yaw_deg=mirror * 35.0 * np.sin(0.6 * t + ph[3]),
                                   pitch_deg=15.0 * np.sin(0.45 * t + ph[4]),
                                   roll_deg=mirror * 20.0 * np.sin(0.35 * t + ph[5]), appearance=look))
        yield renderer.render(specs, K, background, lighting, index=i, timestamp_s=t)
