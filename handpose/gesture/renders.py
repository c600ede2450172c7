"""Rendered frames of named gestures with their true labels, to judge the whole chain (detector,
pose model, gesture classifier) on images with known answers.

A frame holds one hand (either side, a random skin and photo background, 380-520 mm away) making
a gesture template (``vocabulary.TEMPLATES``) with a little noise on its joint angles, turned a
little from upright palm-on (yaw, pitch, roll); thumb-up, thumb-down and pointing-up hands are
rolled in the image plane so that their finger points up (or down). The true gesture and finger
count come from the same rules as the training labels (:mod:`handpose.gesture.vocabulary`), on the
rendered pose in the model's keypoint convention; a draw the rules cannot name is drawn again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from handpose import skeleton
from handpose.data.convention import KeypointOffsets
from handpose.data.synth import hand_poses
from handpose.data.synth.frames import FrameRenderer, SyntheticFrame, default_intrinsics, hand_spec
from handpose.data.synth.scene import HandSpec, hand_joints, random_appearance, random_lighting
from handpose.errors import InputError
from handpose.gesture.samples import GestureSamples
from handpose.gesture.vocabulary import GESTURES, TEMPLATES, finger_states, gesture_labels

if TYPE_CHECKING:
    from handpose.infer.pipeline import HandPosePipeline

#: templates rolled so that (base, tip) points up (-1) or down (+1) in the image
_POINTED = {"thumb_up": (2, 4, -1.0), "thumb_down": (2, 4, 1.0), "pointing_up": (5, 8, -1.0)}


@dataclass(frozen=True)
class GestureFrame:
    """A rendered frame and the true gesture (``vocabulary.GESTURES`` name) and finger count of its hand."""

    frame: SyntheticFrame
    gesture: str
    finger_count: int


def labelled_spec(spec: HandSpec, offsets: KeypointOffsets) -> tuple[int, int]:
    """(gesture index or -1, finger count or -1) of a hand spec by the vocabulary's rules."""
    joints = offsets.apply(hand_joints(spec), spec.side == "left")
    norm = skeleton.normalize(joints, spec.side == "left")[0]
    states = finger_states(spec.articulation[None])[0]
    count = int(states.sum()) if np.all(states >= 0) else -1
    return int(gesture_labels(spec.articulation[None], norm[None])[0]), count


def _roll_towards(spec: HandSpec, name: str) -> HandSpec:
    """``spec`` rolled in the image plane (about the camera's z through its wrist) so that the
    gesture's finger points most nearly up or down (templates in ``_POINTED``; others as they are)."""
    if name not in _POINTED:
        return spec
    base, tip, sign = _POINTED[name]
    best, best_cos = spec, -2.0
    for roll in np.radians(np.arange(-180.0, 180.0, 10.0)):
        c, s = np.cos(roll), np.sin(roll)
        turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        candidate = replace(spec, rotation=turn @ spec.rotation)
        joints = hand_joints(candidate)
        d = joints[tip] - joints[base]
        cos = sign * d[1] / np.linalg.norm(d)
        if cos > best_cos:
            best, best_cos = candidate, cos
    return best


def gesture_frame(renderer: FrameRenderer, name: str, rng: np.random.Generator,
                  offsets: KeypointOffsets | None = None, noise_deg: float = 4.0) -> GestureFrame:
    """One frame of the template ``name`` (see the module docstring), drawn again until the rules name it."""
    offsets = offsets or KeypointOffsets.load()
    K = default_intrinsics(renderer.width, renderer.height)
    while True:
        side = "left" if rng.random() < 0.5 else "right"
        angles = hand_poses.clip_to_limits(TEMPLATES[name] + np.radians(noise_deg) * rng.standard_normal(
            hand_poses.NUM_DOF))
        mirror = -1.0 if side == "left" else 1.0
        spec = hand_spec(side, angles, [rng.uniform(-50, 50), rng.uniform(20, 70), rng.uniform(380, 520)],
                         yaw_deg=mirror * rng.uniform(-30, 30), pitch_deg=rng.uniform(-20, 20),
                         roll_deg=rng.uniform(-25, 25), appearance=random_appearance(rng, forearm_prob=1.0))
        spec = _roll_towards(spec, name)
        gesture, count = labelled_spec(spec, offsets)
        if gesture >= 0 and count >= 0:
            frame = renderer.render([spec], K, renderer.background(rng, photo=True), random_lighting(rng))
            return GestureFrame(frame, GESTURES[gesture], count)


def pipeline_samples(pipeline: HandPosePipeline, renderer: FrameRenderer, count: int, seed: int) -> GestureSamples:
    """Labelled poses as the pose model sees them: ``count`` frames of the templates in turn (seed
    ``seed``) through ``pipeline`` (image mode, no smoothing); each found hand's ``joints_norm``
    with the true joint angles and the rules' labels (frames whose hand is not found are skipped)."""
    offsets, rng, names = KeypointOffsets.load(), np.random.default_rng(seed), list(TEMPLATES)
    poses, angles, labels = [], [], []
    for i in range(count):
        item = gesture_frame(renderer, names[i % len(names)], rng, offsets)
        hands = pipeline(item.frame.rgb).hands
        if hands:
            poses.append(hands[0].joints_norm)
            angles.append(item.frame.hands[0].spec.articulation)
            labels.append(GESTURES.index(item.gesture))
    if not poses:
        raise InputError(f"no hand found in {count} rendered frames")
    a = np.stack(angles)
    return GestureSamples(joints_norm=np.stack(poses).astype(np.float32), angles=a,
                          gesture=np.array(labels, np.int64), fingers=finger_states(a))


def model_poses_of_renders(frames: int, seed: int, cache: Path | None = None, threads: int = 1) -> GestureSamples:
    """:func:`pipeline_samples` of ``frames`` frames of seed ``seed`` through the default pipeline
    (image mode, no smoothing, no gestures), read from ``cache`` when that file exists and
    written there otherwise (collecting costs about 1 s of CPU per frame)."""
    if cache is not None and cache.is_file():
        return GestureSamples.load(cache)
    from handpose.infer.pipeline import HandPosePipeline, PipelineConfig

    config = PipelineConfig(detector_mode="image", smoothing=False, threads=threads, gesture_classifier=None)
    with HandPosePipeline(config) as pipeline:
        samples = pipeline_samples(pipeline, FrameRenderer(640, 480), frames, seed)
    if cache is not None:
        samples.save(cache)
    return samples
