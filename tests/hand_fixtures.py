"""Hand-made poses and samples for the foundation tests (no renderer needed)."""

from __future__ import annotations

import numpy as np

from handpose.data.sample import HandSample
from handpose.geometry.crop import crop_from_keypoints

#: the camera of a 640x480 frame the toy samples are cut from
TOY_INTRINSICS = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])

# A flat right hand, palm towards the camera, fingers up (-y), in mm, wrist at the origin.
_FINGER_BASES = {1: (-25.0, -20.0), 5: (-22.0, -85.0), 9: (0.0, -90.0), 13: (20.0, -85.0), 17: (38.0, -75.0)}
_SEGMENTS = {1: (35.0, 30.0, 28.0), 5: (42.0, 25.0, 20.0), 9: (45.0, 28.0, 22.0), 13: (42.0, 26.0, 21.0),
             17: (33.0, 20.0, 18.0)}


def open_hand_mm(depth_mm: float = 500.0) -> np.ndarray:
    """(21, 3) joints of an open right hand, camera frame (x right, y down, z forward), mm."""
    joints = np.zeros((21, 3))
    for base, (x, y) in _FINGER_BASES.items():
        joints[base] = (x, y, 0.0)
        direction = np.array([x * 0.6 if base == 1 else x * 0.15, y, 0.0])
        direction /= np.linalg.norm(direction)
        for k, length in enumerate(_SEGMENTS[base]):
            joints[base + k + 1] = joints[base + k] + direction * length
    return joints + np.array([0.0, 0.0, depth_mm])


def random_poses(n: int, seed: int = 0) -> np.ndarray:
    """(n, 21, 3) varied hand-like poses in mm: the open hand, fingers curled by random amounts, rotated."""
    rng = np.random.default_rng(seed)
    base = open_hand_mm(0.0)
    out = np.empty((n, 21, 3))
    for i in range(n):
        pose = base.copy()
        for start in (1, 5, 9, 13, 17):
            curl = rng.uniform(0, 1.4)
            for k in range(3):
                j = start + k + 1
                angle = curl * (k + 1) / 3
                rel = pose[j] - pose[start]
                c, s = np.cos(angle), np.sin(angle)
                pose[j] = pose[start] + np.array([rel[0], c * rel[1] - s * rel[2], s * rel[1] + c * rel[2]])
        a, b = rng.uniform(-np.pi, np.pi, 2)
        rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
        ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
        out[i] = pose @ (ry @ rz).T + np.array([0, 0, 500.0])
    return out


def toy_samples(n: int, size: int = 128, seed: int = 0) -> list[HandSample]:
    """n samples whose crops are distinct random colour patterns, paired with distinct poses, each
    cut from a random place of a 640x480 frame (``TOY_INTRINSICS``; left hands mirrored)."""
    rng = np.random.default_rng(seed)
    poses = random_poses(n, seed)
    samples = []
    for i in range(n):
        crop = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
        kp = rng.uniform(10, size - 10, (21, 2)).astype(np.float32)
        corner = rng.uniform([0.0, 0.0], [520.0, 360.0])
        cut = crop_from_keypoints(np.stack([corner, corner + 120.0]), size, mirrored=bool(i % 2))
        samples.append(HandSample(joints_cam_mm=poses[i].astype(np.float32), is_left=bool(i % 2), crop_rgb=crop,
                                  keypoints_crop_px=kp, intrinsics=TOY_INTRINSICS, crop=cut))
    return samples


def noisy_clip_records(gt_path, seed: int = 0, gap: range = range(40, 50)) -> tuple[list, dict[str, np.ndarray]]:
    """The records of a rendered clip's true hands plus the noise of a per-frame estimate (2 px per
    keypoint; 4 mm per joint; the whole hand off along its ray by 3% of its depth, as depth from 2D
    is), the left hand missing on the frames of ``gap``; and the truth (``keypoints_px``,
    ``joints_cam_mm``: (T, hands, 21, k))."""
    from handpose.io.frame_record import FrameRecord
    from handpose.types import HandPose

    with np.load(gt_path) as gt:
        joints, keypoints, sides = gt["joints_cam_mm"], gt["keypoints_px"], [str(s) for s in gt["sides"]]
    rng = np.random.default_rng(seed)
    records = []
    for t in range(len(joints)):
        hands = tuple(HandPose(side, 0.9, keypoints[t, h] + rng.normal(0, 2.0, (21, 2)),
                               joints[t, h] + rng.normal(0, 4.0, (21, 3))
                               + rng.normal(0, 0.03) * joints[t, h, 0], np.zeros((21, 3)))
                      for h, side in enumerate(sides) if not (side == "left" and t in gap))  # fmt: skip
        records.append(FrameRecord(t, t / 24.0, hands))
    return records, {"keypoints_px": keypoints, "joints_cam_mm": joints}


def track_error(records, key: str, truth: np.ndarray) -> float:
    """Mean per-joint distance of the first hand's ``key`` from ``truth`` (T, hands, 21, k)."""
    return float(np.mean([np.linalg.norm(getattr(r.hands[0], key) - truth[r.frame, 0], axis=-1).mean() for r in records]))


def track_jitter(records, key: str) -> float:
    """Mean norm of the second difference of the first hand's ``key`` over consecutive records."""
    track = np.array([getattr(r.hands[0], key) for r in records])
    return float(np.linalg.norm(track[2:] - 2 * track[1:-1] + track[:-2], axis=-1).mean())
