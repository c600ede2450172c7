"""The 21-joint hand skeleton, foreign joint orders, mirroring and pose normalisation.

Canonical order (MediaPipe's, also FreiHAND's)::

    0 wrist
    1 thumb CMC   2 thumb MCP   3 thumb IP    4 thumb TIP
    5 index MCP   6 index PIP   7 index DIP   8 index TIP
    9 middle MCP 10 middle PIP 11 middle DIP 12 middle TIP
   13 ring MCP   14 ring PIP   15 ring DIP   16 ring TIP
   17 pinky MCP  18 pinky PIP  19 pinky DIP  20 pinky TIP

Wrist definition: the labels this project produces (synthetic renders) put joint 0 where
MediaPipe puts it, 20% of the way from the anatomical wrist towards the middle MCP
(see ``handpose.data.synth.rig``). Foreign datasets keep their own wrist.

A "normalised pose" is root-relative (root = wrist, joint 0) and divided by the length of
the middle finger's MCP->PIP bone (joints 9->10), in a right-hand frame: left hands are
mirrored (x -> -x) on the way in and out. Units of un-normalised poses are millimetres.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from handpose.errors import InputError

NUM_JOINTS: Final = 21

JOINT_NAMES: Final[tuple[str, ...]] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)  # fmt: skip

#: parent of each joint; the wrist (root) has parent -1.
PARENTS: Final[tuple[int, ...]] = (
    -1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19,
)  # fmt: skip

#: (parent, child) pairs, one per bone, 20 in all.
BONES: Final[tuple[tuple[int, int], ...]] = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)

#: joints of each finger from its base to its tip (the wrist is not included).
FINGERS: Final[dict[str, tuple[int, ...]]] = {
    "thumb": (1, 2, 3, 4),
    "index": (5, 6, 7, 8),
    "middle": (9, 10, 11, 12),
    "ring": (13, 14, 15, 16),
    "pinky": (17, 18, 19, 20),
}

#: RGB colour of each finger (and of the palm bones from the wrist), for drawing.
FINGER_COLORS_RGB: Final[dict[str, tuple[int, int, int]]] = {
    "thumb": (255, 64, 64),
    "index": (255, 200, 0),
    "middle": (0, 220, 70),
    "ring": (0, 170, 255),
    "pinky": (200, 60, 255),
}


def bone_color_rgb(child: int) -> tuple[int, int, int]:
    """Colour of the bone that ends at joint ``child`` (1..20): its finger's colour."""
    for name, chain in FINGERS.items():
        if child in chain:
            return FINGER_COLORS_RGB[name]
    raise InputError(f"joint index in 1..20 expected, got {child}")


#: the bone whose length is the normalisation unit (middle MCP -> PIP).
SCALE_BONE: Final = (9, 10)

# Index maps: ours[i] = theirs[MAP[i]].
RHD_TO_OURS: Final = np.array([0, 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13, 20, 19, 18, 17])
STB_TO_OURS: Final = np.array([0, 17, 18, 19, 20, 13, 14, 15, 16, 9, 10, 11, 12, 5, 6, 7, 8, 1, 2, 3, 4])
FREIHAND_TO_OURS: Final = np.arange(NUM_JOINTS)
INTERHAND_TO_OURS: Final = np.array(
    [20, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 19, 18, 17, 16]
)
#: WebXR's 25 joints: wrist, thumb metacarpal/proximal/distal/tip, then for each finger
#: metacarpal/proximal/intermediate/distal/tip. The finger metacarpals (5, 10, 15, 20) are dropped.
WEBXR_TO_OURS: Final = np.array(
    [0, 1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19, 21, 22, 23, 24]
)
WEBXR_JOINT_NAMES: Final[tuple[str, ...]] = (
    "wrist",
    "thumb-metacarpal", "thumb-phalanx-proximal", "thumb-phalanx-distal", "thumb-tip",
    *(f"{finger}-{part}"
      for finger in ("index-finger", "middle-finger", "ring-finger", "pinky-finger")
      for part in ("metacarpal", "phalanx-proximal", "phalanx-intermediate", "phalanx-distal", "tip")),
)  # fmt: skip

FOREIGN_ORDERS: Final[dict[str, np.ndarray]] = {
    "rhd": RHD_TO_OURS,
    "stb": STB_TO_OURS,
    "freihand": FREIHAND_TO_OURS,
    "interhand": INTERHAND_TO_OURS,
    "webxr": WEBXR_TO_OURS,
}


def _check_joints(joints: np.ndarray, n: int, name: str) -> None:
    if joints.ndim < 2 or joints.shape[-2] != n or joints.shape[-1] not in (2, 3):
        raise InputError(f"{name}: expected shape (..., {n}, 2|3), got {joints.shape}")


def to_ours(joints: np.ndarray, order: str) -> np.ndarray:
    """Reorder joints (..., K, D) given in a foreign ``order`` into ours (..., 21, D)."""
    index = _order_map(order)
    _check_joints(np.asarray(joints), 25 if order == "webxr" else NUM_JOINTS, f"{order} joints")
    return np.asarray(joints)[..., index, :]


def from_ours(joints: np.ndarray, order: str) -> np.ndarray:
    """Reorder joints (..., 21, D) from our order into ``order``.

    For WebXR the dropped finger metacarpals cannot be recovered and come back as NaN.
    """
    index = _order_map(order)
    joints = np.asarray(joints)
    _check_joints(joints, NUM_JOINTS, "joints")
    n_out = 25 if order == "webxr" else NUM_JOINTS
    out = np.full(joints.shape[:-2] + (n_out, joints.shape[-1]), np.nan, dtype=np.result_type(joints, np.float32))
    out[..., index, :] = joints
    return out


def _order_map(order: str) -> np.ndarray:
    try:
        return FOREIGN_ORDERS[order]
    except KeyError:
        raise InputError(f"joint order must be one of {sorted(FOREIGN_ORDERS)}, got {order!r}") from None


def mirror(joints: np.ndarray) -> np.ndarray:
    """Mirror 3D joints (..., 21, 3) through the x = 0 plane (left hand <-> right hand)."""
    out = np.array(joints, dtype=np.float64 if np.asarray(joints).dtype == np.float64 else np.float32)
    out[..., 0] = -out[..., 0]
    return out


def bone_length(joints: np.ndarray, bone: tuple[int, int] = SCALE_BONE) -> np.ndarray:
    """Length of ``bone`` for joints (..., 21, D): shape (...)."""
    return np.linalg.norm(joints[..., bone[1], :] - joints[..., bone[0], :], axis=-1)


def normalize(joints: np.ndarray, is_left: bool | np.ndarray = False) -> tuple[np.ndarray, np.ndarray]:
    """Normalise 3D joints (..., 21, 3) in mm: root-relative, right-hand frame, unit = middle MCP->PIP.

    Returns ``(normalised (..., 21, 3) float32, scale_mm (...))``; :func:`denormalize` inverts it
    given the wrist position.
    """
    joints = np.asarray(joints, dtype=np.float64)
    _check_joints(joints, NUM_JOINTS, "joints")
    if joints.shape[-1] != 3:
        raise InputError(f"3D joints expected (..., 21, 3), got {joints.shape}")
    if not np.all(np.isfinite(joints)):
        raise InputError("joints contain NaN or inf; a finite (..., 21, 3) array is expected")
    rel = joints - joints[..., :1, :]
    scale = bone_length(rel)
    if np.any(scale <= 1e-9):
        raise InputError("middle MCP->PIP bone has zero length; cannot normalise")
    rel = rel / scale[..., None, None]
    left = np.asarray(is_left, dtype=bool)
    rel[..., 0] = np.where(left[..., None], -rel[..., 0], rel[..., 0])
    return rel.astype(np.float32), scale


def denormalize(
    norm: np.ndarray, scale_mm: float | np.ndarray, root_mm: np.ndarray | None = None, is_left: bool | np.ndarray = False
) -> np.ndarray:
    """Inverse of :func:`normalize`: (..., 21, 3) normalised -> mm, mirrored back for left hands."""
    out = np.array(norm, dtype=np.float64)
    left = np.asarray(is_left, dtype=bool)
    out[..., 0] = np.where(left[..., None], -out[..., 0], out[..., 0])
    out = out * np.asarray(scale_mm, dtype=np.float64)[..., None, None]
    if root_mm is not None:
        out = out + np.asarray(root_mm, dtype=np.float64)[..., None, :]
    return out


def palm_root(joints: np.ndarray) -> np.ndarray:
    """Evaluation root: midpoint of wrist (0) and middle MCP (9); (..., 21, D) -> (..., D)."""
    return 0.5 * (joints[..., 0, :] + joints[..., 9, :])
