"""The rigged WebXR hand: GLB loading, finger chains, forward kinematics and linear blend skinning.

The meshes (``assets/right.glb``, ``assets/left.glb``; MIT, from ``@webxr-input-profiles/assets``
1.0.20) carry 25 joints named after the WebXR hand joints, all direct children of one
``Armature`` node (a flat hierarchy). This module rebuilds the anatomical chains
wrist -> metacarpal -> proximal -> intermediate -> distal -> tip, expresses each joint's rest
transform relative to its anatomical parent, and poses the hand by local rotations.

Rig facts (DESIGN.md section 2): units are metres in the file (everything this module returns is
in millimetres); each bone points along its joint's local -Z, local +Y points out of the back of
the hand; flexion towards the palm is a negative rotation about local X; abduction is a rotation
about local Y whose sign is mirrored between the right and the left mesh; bind pose = rest pose.

Wrist label: joint 0 of the 21 labels this module produces is MediaPipe's wrist, which sits 20% of
the way from the rig's (anatomical) wrist joint towards the middle-finger MCP:
``wrist_label = rig_wrist + WRIST_LABEL_FRACTION * (middle_mcp - rig_wrist)``.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

import numpy as np

from handpose import skeleton
from handpose.errors import InputError

ASSET_DIR: Final = Path(__file__).resolve().parent / "assets"
NUM_RIG_JOINTS: Final = 25
WRIST_LABEL_FRACTION: Final = 0.2
Side = Literal["right", "left"]

#: anatomical parent of each of the 25 WebXR joints (order of ``skeleton.WEBXR_JOINT_NAMES``).
RIG_PARENTS: Final[tuple[int, ...]] = (
    -1,
    0, 1, 2, 3,
    0, 5, 6, 7, 8,
    0, 10, 11, 12, 13,
    0, 15, 16, 17, 18,
    0, 20, 21, 22, 23,
)  # fmt: skip

_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_DTYPES = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}


@dataclass(frozen=True)
class HandRig:
    """A skinned hand mesh in its rest (= bind) pose, millimetres, the GLB's model frame.

    Attributes:
        side: "right" or "left".
        vertices_mm: (V, 3) float64 rest vertex positions.
        normals: (V, 3) float64 rest vertex normals (unit).
        faces: (F, 3) int32 triangle vertex indices.
        skin_joints: (V, 4) int64 joint indices (WebXR order) of each vertex's influences.
        skin_weights: (V, 4) float64 weights, rows sum to 1.
        rest_global: (25, 4, 4) float64 rest transform of each joint (joint frame -> model frame, mm).
        rest_local: (25, 4, 4) float64 rest transform relative to the anatomical parent
            (``RIG_PARENTS``); for the wrist, equal to ``rest_global[0]``.
        inverse_bind: (25, 4, 4) float64 inverse bind matrices from the file (mm).
        spread_sign: (25,) float64: +1 or -1 such that a positive angle times this sign about
            local Y spreads the finger away from the middle finger (for the middle finger itself:
            towards the thumb). Computed from the rest geometry, so it holds for both meshes.
    """

    side: Side
    vertices_mm: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    skin_joints: np.ndarray
    skin_weights: np.ndarray
    rest_global: np.ndarray
    rest_local: np.ndarray
    inverse_bind: np.ndarray
    spread_sign: np.ndarray


@cache
def load_rig(side: Side = "right") -> HandRig:
    """Load the vendored ``{side}.glb`` (cached: one parse per process)."""
    if side not in ("right", "left"):
        raise InputError(f"side 'right' or 'left' expected, got {side!r}")
    return parse_glb(ASSET_DIR / f"{side}.glb", side)


def parse_glb(path: Path, side: Side) -> HandRig:
    """Parse a binary glTF 2.0 file holding one skinned mesh with the 25 WebXR hand joints."""
    data = Path(path).read_bytes()
    if len(data) < 20 or data[:4] != b"glTF":
        raise InputError(f"{path}: binary glTF (magic 'glTF') expected, got {data[:4]!r}")
    json_len, json_type = struct.unpack_from("<II", data, 12)
    if json_type != 0x4E4F534A:
        raise InputError(f"{path}: JSON chunk expected first")
    gltf = json.loads(data[20 : 20 + json_len])
    bin_start = 20 + json_len
    bin_len, _ = struct.unpack_from("<II", data, bin_start)
    binary = data[bin_start + 8 : bin_start + 8 + bin_len]

    def accessor(index: int) -> np.ndarray:
        acc = gltf["accessors"][index]
        view = gltf["bufferViews"][acc["bufferView"]]
        n_comp = _COMPONENTS[acc["type"]]
        dtype = np.dtype(_DTYPES[acc["componentType"]])
        offset = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
        stride = view.get("byteStride", 0) or n_comp * dtype.itemsize
        n_bytes = stride * (acc["count"] - 1) + n_comp * dtype.itemsize
        raw = np.frombuffer(binary, np.uint8, count=n_bytes, offset=offset)
        rows = np.lib.stride_tricks.as_strided(raw, (acc["count"], n_comp * dtype.itemsize), (stride, 1))
        return np.ascontiguousarray(rows).view(dtype).reshape(acc["count"], n_comp)

    skin = gltf["skins"][0]
    nodes = gltf["nodes"]
    names = [nodes[j]["name"] for j in skin["joints"]]
    if sorted(names) != sorted(skeleton.WEBXR_JOINT_NAMES):
        raise InputError(f"{path}: the 25 WebXR joints expected, got {names}")
    to_webxr = np.array([skeleton.WEBXR_JOINT_NAMES.index(n) for n in names])  # skin slot -> WebXR index
    order = np.argsort(to_webxr)  # WebXR index -> skin slot
    rest_global = np.stack([_node_matrix(nodes[skin["joints"][k]]) for k in order])
    rest_global[:, :3, 3] *= 1000.0
    inverse_bind = accessor(skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)[order].astype(np.float64)
    inverse_bind[:, :3, 3] *= 1000.0
    rest_local = rest_global.copy()
    for j, p in enumerate(RIG_PARENTS):
        if p >= 0:
            rest_local[j] = np.linalg.inv(rest_global[p]) @ rest_global[j]

    prim = gltf["meshes"][0]["primitives"][0]
    attrs = prim["attributes"]
    vertices = accessor(attrs["POSITION"]).astype(np.float64) * 1000.0
    normals = accessor(attrs["NORMAL"]).astype(np.float64)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    joints = to_webxr[accessor(attrs["JOINTS_0"]).astype(np.int64)]
    weights = accessor(attrs["WEIGHTS_0"]).astype(np.float64)
    weights /= weights.sum(axis=1, keepdims=True)
    faces = accessor(prim["indices"]).reshape(-1, 3).astype(np.int32)
    return HandRig(
        side=side,
        vertices_mm=vertices,
        normals=normals,
        faces=faces,
        skin_joints=joints,
        skin_weights=weights,
        rest_global=rest_global,
        rest_local=rest_local,
        inverse_bind=inverse_bind,
        spread_sign=_spread_signs(rest_global),
    )


def _node_matrix(node: dict) -> np.ndarray:
    """4x4 of a glTF node's TRS (metres)."""
    m = np.eye(4)
    x, y, z, w = node.get("rotation", (0.0, 0.0, 0.0, 1.0))
    m[:3, :3] = quaternion_matrix(np.array([w, x, y, z]))
    m[:3, :3] *= np.asarray(node.get("scale", (1.0, 1.0, 1.0)))[None, :]
    m[:3, 3] = node.get("translation", (0.0, 0.0, 0.0))
    return m


def quaternion_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) of a quaternion (w, x, y, z) (normalised here)."""
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


def _spread_signs(rest_global: np.ndarray) -> np.ndarray:
    """Sign per joint turning a positive local-Y angle into spreading (see :class:`HandRig`)."""
    pos = rest_global[:, :3, 3]
    middle_mcp, radial = pos[11], pos[6] - pos[11]
    signs = np.ones(NUM_RIG_JOINTS)
    for j in range(1, NUM_RIG_JOINTS):
        base = 5 * (j // 5)  # the finger's metacarpal joint (0 for the thumb)
        away = radial if base in (0, 10) else pos[base + 1] - middle_mcp
        y_axis, bone = rest_global[j, :3, 1], -rest_global[j, :3, 2]
        # a small positive rotation about local Y moves the bone's far end along y_axis x bone
        signs[j] = 1.0 if np.dot(np.cross(y_axis, bone), away) >= 0 else -1.0
    return signs


def axis_angle_matrices(axis_angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from axis-angle vectors (..., 3) in radians (Rodrigues)."""
    axis_angle = np.asarray(axis_angle, dtype=np.float64)
    angle = np.linalg.norm(axis_angle, axis=-1, keepdims=True)
    axis = axis_angle / np.maximum(angle, 1e-12)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zeros = np.zeros_like(x)
    cross = np.stack([zeros, -z, y, z, zeros, -x, -y, x, zeros], axis=-1).reshape(axis.shape[:-1] + (3, 3))
    s, c = np.sin(angle)[..., None], np.cos(angle)[..., None]
    eye = np.broadcast_to(np.eye(3), cross.shape)
    return eye + s * cross + (1 - c) * (cross @ cross)


def forward_kinematics(rig: HandRig, local_rotations: np.ndarray, root: np.ndarray | None = None) -> np.ndarray:
    """Global joint transforms of a posed hand.

    Args:
        rig: the hand.
        local_rotations: (..., 25, 3, 3) rotation of each joint in its own rest frame (identity = rest).
        root: optional (..., 4, 4) rigid transform applied on top (model frame -> world, mm).

    Returns:
        (..., 25, 4, 4) float64 joint frame -> world transforms, mm.
    """
    local_rotations = np.asarray(local_rotations, dtype=np.float64)
    if local_rotations.shape[-3:] != (NUM_RIG_JOINTS, 3, 3):
        raise InputError(f"local rotations of shape (..., 25, 3, 3) expected, got {local_rotations.shape}")
    batch = local_rotations.shape[:-3]
    posed_local = np.broadcast_to(rig.rest_local, batch + (NUM_RIG_JOINTS, 4, 4)).copy()
    posed_local[..., :3, :3] = posed_local[..., :3, :3] @ local_rotations
    out = np.empty_like(posed_local)
    out[..., 0, :, :] = posed_local[..., 0, :, :] if root is None else root @ posed_local[..., 0, :, :]
    for j in range(1, NUM_RIG_JOINTS):
        out[..., j, :, :] = out[..., RIG_PARENTS[j], :, :] @ posed_local[..., j, :, :]
    return out


def skin(rig: HandRig, joint_globals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear blend skinning: posed ``(vertices (V, 3), normals (V, 3))`` in mm from (25, 4, 4) globals.

    Normals are blended with the same matrices (rigid joints) and renormalised.
    """
    skinning = joint_globals @ rig.inverse_bind  # (25, 4, 4)
    blended = np.einsum("vk,vkij->vij", rig.skin_weights, skinning[rig.skin_joints][:, :, :3, :])  # (V, 3, 4)
    vertices = np.einsum("vij,vj->vi", blended[:, :, :3], rig.vertices_mm) + blended[:, :, 3]
    normals = np.einsum("vij,vj->vi", blended[:, :, :3], rig.normals)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return vertices, normals


def joints21_mm(joint_globals: np.ndarray) -> np.ndarray:
    """Our 21 labelled joints (..., 21, 3) in mm from rig globals (..., 25, 4, 4).

    Joint 0 is MediaPipe's wrist (see the module docstring), the others are the rig joints
    mapped by ``skeleton.WEBXR_TO_OURS``.
    """
    positions = joint_globals[..., :3, 3]
    joints = positions[..., skeleton.WEBXR_TO_OURS, :].copy()
    joints[..., 0, :] += WRIST_LABEL_FRACTION * (joints[..., 9, :] - joints[..., 0, :])
    return joints
