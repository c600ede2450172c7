"""The view frame: the 3D frame the model predicts poses in.

A crop shows a hand the way a camera looking along the ray through the crop's centre would see
it, not the way the real camera does. A hand near the edge of the frame is seen from off the
optical axis (21 degrees at the median on the synthetic test set, up to 40), and nothing in the
crop says by how much, so a pose in the camera frame cannot be read off the crop alone: the same
crop belongs to different camera-frame orientations at different places in the frame.

The model therefore predicts the pose in the crop's *view frame*, that of a virtual camera whose
axes follow the crop:

* z along the ray through the crop's centre (away from the camera),
* y along the crop's own y axis (down the crop) as seen from the camera, made perpendicular to z,
* x = y cross z (right-handed, like the camera frame: x right, y down, z forward).

For an unturned crop at the centre of the frame the view frame is the camera frame; a crop turned
on screen (training augmentation, the roll ensemble) turns its view frame about z with it.
Mirrored crops (left hands) are mirrored in x like everything the model sees, so the rotation
acts on normalised poses (``skeleton.normalize``, x negated for left hands): with ``W`` from
:func:`view_rotation`, a pose (..., 21, 3) goes into the view frame as ``pose @ W.T``
(:func:`to_view`) and back as ``pose @ W`` (:func:`from_view`).
"""

from __future__ import annotations

import numpy as np

from handpose.geometry.crop import CropTransform
from handpose.errors import InputError


def view_rotation(crop: CropTransform | None, intrinsics: np.ndarray | None) -> np.ndarray:
    """(3, 3) float64 rotation from the normalised camera frame (x mirrored for a mirrored crop)
    into the view frame of ``crop``, a cut of a frame with camera matrix ``intrinsics`` (3, 3).

    Without a crop transform or intrinsics the crop is taken to be centred on the optical axis
    and unturned: the identity.
    """
    if crop is None or intrinsics is None:
        return np.eye(3)
    k = np.asarray(intrinsics, np.float64)
    if k.shape != (3, 3):
        raise InputError(f"intrinsics of shape (3, 3) expected, got {k.shape}")
    z = crop.centre_ray(k)
    down = np.linalg.solve(k, np.append(crop.inverse[:, 1], 0.0))  # the crop's y axis, lifted to 3D
    y = down - (down @ z) * z
    norm = np.linalg.norm(y)
    if not np.isfinite(norm) or norm < 1e-12:
        raise InputError(f"crop y axis parallel to its centre ray; is the crop matrix {crop.matrix.tolist()} valid?")
    y /= norm
    rotation = np.stack([np.cross(y, z), y, z])
    if crop.mirrored:
        rotation[0, 1:] *= -1.0
        rotation[1:, 0] *= -1.0
    return rotation


def to_view(poses: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """Normalised camera-frame poses (..., 21, 3) -> view frame, with rotations (..., 3, 3) from
    :func:`view_rotation` (one per pose, or one for all)."""
    return np.einsum("...ij,...kj->...ki", np.asarray(rotations, np.float64), np.asarray(poses, np.float64))


def from_view(poses: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """View-frame poses (..., 21, 3) -> normalised camera frame: the inverse of :func:`to_view`."""
    return np.einsum("...ji,...kj->...ki", np.asarray(rotations, np.float64), np.asarray(poses, np.float64))
