"""Labelled hand poses for the gesture classifier, drawn like the renderer's (no images).

Half the poses are a gesture template (``vocabulary.TEMPLATES``) with 8 degrees of noise on every
joint angle, half the renderer's own random articulations (``hand_poses.random_articulation``:
named poses, blends of two, random curls), which are mostly ``none``. Side, size, orientation and
placement come from the renderer's distributions (``scene.random_hand_spec``,
``random_palm_position``); most thumb-up, thumb-down and pointing-up templates are then turned so
that the finger points up (or down) within 35 degrees, which random orientations seldom do. The
joints are the model's keypoints (MediaPipe's points, ``handpose.data.convention``) and every
pose is named by the rules of :mod:`handpose.gesture.vocabulary`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from handpose import skeleton
from handpose.data.convention import KeypointOffsets
from handpose.data.synth import hand_poses
from handpose.data.synth.pose_source import specs_joints_mm
from handpose.data.synth.rig import axis_angle_matrices
from handpose.data.synth.scene import palm_centre, random_hand_spec, random_palm_position
from handpose.errors import InputError
from handpose.gesture.vocabulary import TEMPLATES, finger_states, gesture_labels

_TEMPLATE_NAMES = tuple(TEMPLATES)
#: templates turned to point their finger (base, tip joint) up (-1) or down (+1) in the image
_POINTED = {"thumb_up": (2, 4, -1.0), "thumb_down": (2, 4, 1.0), "pointing_up": (5, 8, -1.0)}


@dataclass(frozen=True)
class GestureSamples:
    """N labelled poses.

    Attributes:
        joints_norm: (N, 21, 3) float32 normalised poses (right-hand frame, camera-oriented).
        angles: (N, NUM_DOF) float64 joint angles, radians.
        gesture: (N,) int64 index into ``vocabulary.GESTURES``, -1 where the rules cannot tell.
        fingers: (N, 5) int8 extended (1) / folded (0) / unsure (-1), thumb first.
    """

    joints_norm: np.ndarray
    angles: np.ndarray
    gesture: np.ndarray
    fingers: np.ndarray

    @classmethod
    def concat(cls, parts: list[GestureSamples]) -> GestureSamples:
        """The samples of ``parts`` one after another."""
        return cls(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("joints_norm", "angles", "gesture",
                                                                                "fingers")))

    def save(self, path: str | os.PathLike[str]) -> None:
        from handpose.io.atomic import atomic_path

        with atomic_path(path) as tmp, open(tmp, "wb") as file:
            np.savez(file, joints_norm=self.joints_norm, angles=self.angles, gesture=self.gesture, fingers=self.fingers)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> GestureSamples:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["joints_norm"], data["angles"], data["gesture"], data["fingers"])
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{path}: not a saved GestureSamples file ({exc})") from None


def _turn_towards(joints: np.ndarray, base: int, tip: int, target: np.ndarray) -> np.ndarray:
    """``joints`` (21, 3) turned about their palm centre so that base -> tip points along ``target`` (3,)."""
    d = joints[tip] - joints[base]
    d = d / np.linalg.norm(d)
    axis = np.cross(d, target)
    angle = np.arctan2(np.linalg.norm(axis), float(d @ target))
    r = axis_angle_matrices(axis / max(np.linalg.norm(axis), 1e-12) * angle)
    centre = palm_centre(joints)
    return (joints - centre) @ r.T + centre


def sample_gestures(count: int, seed: int, pointed_fraction: float = 0.7) -> GestureSamples:
    """``count`` labelled poses, the same for the same ``seed`` (see the module docstring)."""
    if count < 1:
        raise InputError(f"count >= 1 expected, got {count}")
    rng = np.random.default_rng(seed)
    specs, targets, turns = [], [], []
    for _ in range(count):
        spec = random_hand_spec(rng)
        name = None
        if rng.random() < 0.5:
            name = _TEMPLATE_NAMES[rng.integers(len(_TEMPLATE_NAMES))]
            angles = TEMPLATES[name] + np.radians(8.0) * rng.standard_normal(hand_poses.NUM_DOF)
            spec = replace(spec, articulation=hand_poses.clip_to_limits(angles))
        specs.append(spec)
        targets.append(random_palm_position(rng, (250.0, 900.0), 30.0))
        turn = None
        if name in _POINTED and rng.random() < pointed_fraction:
            base, tip, sign = _POINTED[name]
            jitter = rng.normal(scale=np.radians(20.0), size=2).clip(-0.6, 0.6)
            target = np.array([np.sin(jitter[0]), sign * np.cos(jitter[0]) * np.cos(jitter[1]), np.sin(jitter[1])])
            turn = (base, tip, target / np.linalg.norm(target))
        turns.append(turn)
    joints, is_left = specs_joints_mm(specs, np.stack(targets))
    for i, turn in enumerate(turns):
        if turn is not None:
            joints[i] = _turn_towards(joints[i], *turn)
    offsets = KeypointOffsets.load()
    for left in (False, True):
        rows = is_left == left
        if rows.any():
            joints[rows] = offsets.apply(joints[rows], left)
    norm = skeleton.normalize(joints, is_left)[0]
    angles = np.stack([s.articulation for s in specs])
    return GestureSamples(joints_norm=norm, angles=angles, gesture=gesture_labels(angles, norm),
                          fingers=finger_states(angles))
