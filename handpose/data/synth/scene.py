"""Synthetic hand scenes: a posed, skinned hand with forearm and appearance, lights, occluders, and
their rasterisation with per-joint visibility. Shared by the crop source (``synthetic``) and the
full-frame / sequence renderer (``frames``).

Camera frame: OpenCV (x right, y down, z forward), mm. Colours: linear RGB albedo in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final, Sequence

import numpy as np

from handpose.data.synth import forearm as forearm_mesh
from handpose.data.synth import hand_poses
from handpose.data.synth.occluders import PRIMITIVES, Occluder
from handpose.data.synth.render import Lighting, Material, MeshDraw, Renderer, Rendering
from handpose.data.synth.rig import (
    HandRig,
    Side,
    axis_angle_matrices,
    forward_kinematics,
    joints21_mm,
    load_rig,
    quaternion_matrix,
    skin,
)

#: wrist-local axes -> camera for an upright right hand, palm to the camera: bones (-Z) point up
#: (-y), the back of the hand (+Y) points away (+z).
UPRIGHT_PALM_VIEW: Final = np.stack([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], axis=1)

#: sRGB-ish anchors of skin tone from light to dark, as linear albedo.
_SKIN_LIGHT: Final = np.array([0.80, 0.52, 0.38])
_SKIN_DARK: Final = np.array([0.075, 0.035, 0.018])
_PALM_TINT: Final = np.array([0.75, 0.45, 0.36])
_NAIL_TINT: Final = np.array([0.78, 0.55, 0.50])
#: WebXR indices of the distal phalanges (thumb, index, middle, ring, pinky): they carry the nails.
_DISTAL_JOINTS: Final = (3, 8, 13, 18, 23)
#: (21,) a joint is visible when no surface lies more than this (times the hand scale) in front of
#: it. Joints sit inside the hand: finger joints ~5-12 mm behind the skin, the MCPs up to ~20 mm
#: behind the palm's skin, the wrist label and thumb CMC ~30 mm inside the heel of the hand.
VISIBILITY_TOLERANCE_MM: Final = np.array(
    [33.0, 28.0, 18.0, 14.0, 14.0, 23.0, 14.0, 14.0, 14.0, 23.0, 14.0, 14.0, 14.0, 23.0, 14.0, 14.0, 14.0,
     23.0, 14.0, 14.0, 14.0]
)


@dataclass(frozen=True)
class Appearance:
    """How a hand looks.

    Attributes:
        skin: (3,) linear albedo of the back of the hand and the arm.
        palm: (3,) linear albedo of the palm side (lighter on darker skin).
        forearm: draw a forearm.
        sleeve_from_mm: wrist-frame distance where a sleeve starts, or None for a bare arm.
        sleeve: (3,) linear albedo of the sleeve.
        specular: skin specular strength.
    """

    skin: np.ndarray
    palm: np.ndarray
    forearm: bool = True
    sleeve_from_mm: float | None = None
    sleeve: np.ndarray = field(default_factory=lambda: np.zeros(3))
    specular: float = 0.08


@dataclass(frozen=True)
class HandSpec:
    """Everything that places and poses one hand.

    Attributes:
        side: "right" or "left" (the left mesh is used for left hands).
        articulation: (hand_poses.NUM_DOF,) joint angles, radians.
        scale: hand size relative to the rig (1.0: wrist to middle MCP 91.7 mm).
        rotation: (3, 3) wrist-local axes -> camera frame.
        wrist_mm: (3,) camera-frame position of the rig's wrist joint.
        wrist_bend: (2,) forearm flexion and deviation relative to the hand, radians.
        appearance: skin, sleeve, material.
    """

    side: Side
    articulation: np.ndarray
    scale: float
    rotation: np.ndarray
    wrist_mm: np.ndarray
    wrist_bend: np.ndarray
    appearance: Appearance


@dataclass(frozen=True)
class PosedHand:
    """A hand in the camera frame: ``joints_mm`` (21, 3) labels (MediaPipe wrist), mesh
    ``vertices_mm``/``normals`` (V, 3), and the forearm's (or None)."""

    spec: HandSpec
    joints_mm: np.ndarray
    vertices_mm: np.ndarray
    normals: np.ndarray
    forearm: forearm_mesh.Forearm | None

    def translated(self, shift_mm: np.ndarray) -> PosedHand:
        """The same hand moved by ``shift_mm`` (3,)."""
        arm = self.forearm
        if arm is not None:
            arm = forearm_mesh.Forearm(vertices_mm=arm.vertices_mm + shift_mm, normals=arm.normals, sleeve=arm.sleeve)
        return PosedHand(spec=replace(self.spec, wrist_mm=self.spec.wrist_mm + shift_mm),
                         joints_mm=self.joints_mm + shift_mm, vertices_mm=self.vertices_mm + shift_mm,
                         normals=self.normals, forearm=arm)


def root_transform(rig: HandRig, spec: HandSpec) -> np.ndarray:
    """(4, 4) model frame -> camera frame of ``spec`` (includes the hand scale)."""
    wrist_rest = rig.rest_global[0]
    root = np.eye(4)
    root[:3, :3] = spec.scale * spec.rotation @ wrist_rest[:3, :3].T
    root[:3, 3] = spec.wrist_mm - root[:3, :3] @ wrist_rest[:3, 3]
    return root


def hand_joints(spec: HandSpec) -> np.ndarray:
    """(21, 3) camera-frame joint labels of ``spec`` in mm (kinematics only, no mesh)."""
    rig = load_rig(spec.side)
    return joints21_mm(forward_kinematics(rig, hand_poses.local_rotations(rig, spec.articulation),
                                          root_transform(rig, spec)))


def pose_hand(spec: HandSpec) -> PosedHand:
    """Pose, skin and place the hand (and its forearm) of ``spec``."""
    rig = load_rig(spec.side)
    globals_ = forward_kinematics(rig, hand_poses.local_rotations(rig, spec.articulation), root_transform(rig, spec))
    vertices, normals = skin(rig, globals_)
    arm = None
    if spec.appearance.forearm:
        local = forearm_mesh.make_forearm(spec.scale, spec.appearance.sleeve_from_mm)
        bend = axis_angle_matrices(np.array([spec.wrist_bend[0], spec.wrist_bend[1], 0.0]))
        rot = spec.rotation @ bend
        arm = forearm_mesh.Forearm(
            vertices_mm=local.vertices_mm @ rot.T + spec.wrist_mm,
            normals=local.normals @ rot.T,
            sleeve=local.sleeve,
        )
    return PosedHand(spec=spec, joints_mm=joints21_mm(globals_), vertices_mm=vertices, normals=normals, forearm=arm)


def random_hand_spec(rng: np.random.Generator, left_fraction: float = 0.5,
                     hand_scale: tuple[float, float] = (0.85, 1.12), forearm_prob: float = 0.95,
                     sleeve_prob: float = 0.5) -> HandSpec:
    """A random hand (side, articulation, size, orientation, wrist bend, appearance) with its
    rig wrist at the camera origin; place it with :func:`random_palm_position`."""
    side: Side = "left" if rng.random() < left_fraction else "right"
    return HandSpec(
        side=side,
        articulation=hand_poses.random_articulation(rng),
        scale=float(rng.uniform(*hand_scale)),
        rotation=random_rotation(rng),
        wrist_mm=np.zeros(3),
        wrist_bend=np.radians([rng.normal(scale=20.0), rng.normal(scale=10.0)]),
        appearance=random_appearance(rng, forearm_prob, sleeve_prob),
    )


def random_palm_position(rng: np.random.Generator, distance_mm: tuple[float, float],
                         max_off_axis_deg: float) -> np.ndarray:
    """(3,) mm: a random point at a random distance on a random ray within ``max_off_axis_deg`` of
    the optical axis, where the palm centre (:func:`palm_centre`) of a hand will be put."""
    off = np.radians(max_off_axis_deg) * np.sqrt(rng.random())
    phi = rng.uniform(0, 2 * np.pi)
    ray = np.array([np.sin(off) * np.cos(phi), np.sin(off) * np.sin(phi), np.cos(off)])
    return ray * rng.uniform(*distance_mm)


def palm_centre(joints_mm: np.ndarray) -> np.ndarray:
    """Mean of the wrist and the four finger MCPs: (..., 21, 3) -> (..., 3)."""
    return joints_mm[..., [0, 5, 9, 13, 17], :].mean(axis=-2)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Hand orientation (3, 3) wrist-local -> camera, covering all viewpoints.

    Three quarters: upright-ish hands (fingers within ~70 degrees of up) turned to any yaw (palm,
    back, sides) with roll; one quarter: uniformly random rotations.
    """
    if rng.random() < 0.25:
        return quaternion_matrix(rng.normal(size=4))  # a Gaussian 4-vector is a uniform rotation
    yaw = axis_angle_matrices(np.array([0.0, rng.uniform(-np.pi, np.pi), 0.0]))
    pitch = axis_angle_matrices(np.array([rng.normal(scale=0.5), 0.0, 0.0]))
    roll = axis_angle_matrices(np.array([0.0, 0.0, rng.normal(scale=0.6)]))
    return roll @ pitch @ yaw @ UPRIGHT_PALM_VIEW


def random_appearance(rng: np.random.Generator, forearm_prob: float = 0.95, sleeve_prob: float = 0.5) -> Appearance:
    """Random skin tone (light to dark, with hue jitter), palm tint, forearm and sleeve."""
    tone = rng.random()
    skin = np.exp((1 - tone) * np.log(_SKIN_LIGHT) + tone * np.log(_SKIN_DARK))
    skin = np.clip(skin * np.exp(rng.normal(scale=0.08, size=3)), 0.005, 0.95)
    palm = skin + (0.1 + 0.3 * tone) * (_PALM_TINT * rng.uniform(0.4, 0.8) - skin).clip(0.0)
    has_sleeve = rng.random() < sleeve_prob
    return Appearance(
        skin=skin,
        palm=palm,
        forearm=rng.random() < forearm_prob,
        sleeve_from_mm=float(rng.uniform(10.0, 120.0)) if has_sleeve else None,
        sleeve=rng.uniform(0.0, 0.85, 3) ** 2.0,
        specular=float(rng.uniform(0.02, 0.2)),
    )


def random_lighting(rng: np.random.Generator) -> Lighting:
    """Ambient + key light from the camera's hemisphere + weaker fill, random colour temperature."""
    tint = np.exp(rng.normal(scale=0.08, size=3))
    key = rng.normal(size=3)
    key[2] = abs(key[2]) + 0.3  # travels away from the camera: lights the visible side
    fill = rng.normal(size=3)
    directions = np.stack([key / np.linalg.norm(key), fill / np.linalg.norm(fill)])
    colors = np.stack([rng.uniform(0.5, 1.3) * tint, rng.uniform(0.0, 0.5) * np.ones(3)])
    return Lighting(ambient=rng.uniform(0.12, 0.5) * tint, directions=directions, colors=colors)


def project(points_mm: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points (..., 3) mm to pixels (..., 2)."""
    uvw = points_mm @ K.T
    return uvw[..., :2] / uvw[..., 2:3]


class SceneRenderer:
    """Draws hands, forearms and occluders over a background; one GL context, W x H pixels."""

    def __init__(self, width: int, height: int) -> None:
        self.renderer = Renderer(width, height)
        self._hand_mesh: dict[str, int] = {}
        self._palm_weight: dict[str, np.ndarray] = {}
        self._nail_weight: dict[str, np.ndarray] = {}
        for side in ("right", "left"):
            rig = load_rig(side)
            self._hand_mesh[side] = self.renderer.add_mesh(rig.faces, len(rig.vertices_mm))
            # palm side: normals against the wrist's +Y (back of the hand), faded out towards the
            # wrist so the hand meets the forearm (arm skin colour) without a seam
            back, along = rig.rest_global[0, :3, 1], rig.rest_global[0, :3, 2]
            towards_fingers = -(rig.vertices_mm - rig.rest_global[0, :3, 3]) @ along
            fade = np.clip((towards_fingers - 5.0) / 30.0, 0.0, 1.0)
            self._palm_weight[side] = (np.clip(-2.0 * rig.normals @ back - 0.4, 0.0, 1.0) * fade)[:, None]
            self._nail_weight[side] = _nail_weights(rig)[:, None]
        self._arm_mesh = self.renderer.add_mesh(forearm_mesh.forearm_faces(), forearm_mesh.NUM_VERTICES)
        self._prim_mesh = [self.renderer.add_mesh(p.faces, len(p.vertices)) for p in PRIMITIVES]

    def render(self, K: np.ndarray, background_rgb: np.ndarray, hands: Sequence[PosedHand],
               occluders: Sequence[Occluder] = (), lighting: Lighting | None = None,
               draw_hands: bool = True) -> Rendering:
        """Rasterise the scene (``draw_hands=False`` leaves the hand meshes out, not the arms)."""
        draws = []
        for hand in hands:
            look = hand.spec.appearance
            material = Material(specular=look.specular)
            if draw_hands:
                w = self._palm_weight[hand.spec.side]
                albedo = (1.0 - w) * look.skin + w * look.palm
                nail = self._nail_weight[hand.spec.side]
                albedo = (1.0 - nail) * albedo + nail * (0.5 * look.skin + 0.5 * _NAIL_TINT)
                mesh = self._hand_mesh[hand.spec.side]
                draws.append(MeshDraw(mesh, hand.vertices_mm, hand.normals, albedo, material))
            if hand.forearm is not None:
                arm_albedo = np.where(hand.forearm.sleeve[:, None], look.sleeve, look.skin)
                arm_material = Material(specular=0.02, wrap=0.5) if look.sleeve_from_mm is not None else material
                draws.append(MeshDraw(self._arm_mesh, hand.forearm.vertices_mm, hand.forearm.normals, arm_albedo,
                                      arm_material))
        for occ in occluders:
            draws.append(MeshDraw(self._prim_mesh[occ.primitive], occ.vertices_mm, occ.normals,
                                  np.broadcast_to(occ.albedo, occ.vertices_mm.shape), Material(specular=0.15)))
        return self.renderer.render(K, background_rgb, draws, lighting or _DEFAULT_LIGHTING)


def _nail_weights(rig: HandRig) -> np.ndarray:
    """(V,) in [0, 1]: how much each rest vertex lies on a nail (the back of the outer part of a
    distal phalanx)."""
    weight = np.zeros(len(rig.vertices_mm))
    for distal in _DISTAL_JOINTS:
        frame = rig.rest_global[distal]
        length = np.linalg.norm(rig.rest_global[distal + 1, :3, 3] - frame[:3, 3])
        along = (rig.vertices_mm - frame[:3, 3]) @ -frame[:3, 2] / length  # 0 at the DIP/IP, 1 at the tip
        on_bone = np.where(rig.skin_joints == distal, rig.skin_weights, 0.0).sum(axis=1)
        facing_back = rig.normals @ frame[:3, 1]
        nail = np.clip((along - 0.3) / 0.15, 0, 1) * np.clip((facing_back - 0.5) / 0.2, 0, 1) * (on_bone > 0.5)
        weight = np.maximum(weight, nail)
    return weight


_DEFAULT_LIGHTING: Final = Lighting(
    ambient=np.full(3, 0.35),
    directions=np.array([[0.3, 0.4, 0.87], [-0.6, -0.2, 0.77]]),
    colors=np.array([[0.9, 0.9, 0.9], [0.25, 0.25, 0.25]]),
)


def joint_visibility(rendering: Rendering, joints_mm: np.ndarray, keypoints_px: np.ndarray, scale: float) -> np.ndarray:
    """(21,) bool: the joint projects inside the image and no surface is in front of it by more
    than its :data:`VISIBILITY_TOLERANCE_MM` x ``scale`` (depth-buffer test)."""
    surface = rendering.depth_mm_at(keypoints_px)
    h, w = rendering.depth01.shape
    inside = (keypoints_px[:, 0] > -0.5) & (keypoints_px[:, 0] < w - 0.5) & (keypoints_px[:, 1] > -0.5) & (
        keypoints_px[:, 1] < h - 0.5)
    return inside & (joints_mm[:, 2] - surface <= VISIBILITY_TOLERANCE_MM * scale)
