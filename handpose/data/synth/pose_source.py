"""Pose-only data for the pose VAE: random anatomical hand poses as 3D joints, no rendering.

Same pose and viewpoint distribution as the rendered crops (``handpose.data.synth.synthetic``): random
articulations from ``hand_poses``, both hands, random sizes and orientations, placed in front of
the camera. Sample ``i`` of seed ``s`` is always the same, whether drawn alone or in a batch.
:meth:`PoseSource.joints_cam_mm` runs the kinematics of a whole batch at once (~8k poses/s on
one core, mostly spent drawing the random poses).
"""

from __future__ import annotations

import numpy as np

from handpose.data.synth import hand_poses
from handpose.data.synth.rig import forward_kinematics, joints21_mm, load_rig
from handpose.data.sample import HandSample
from handpose.data.synth.scene import HandSpec, palm_centre, random_hand_spec, random_palm_position, root_transform
from handpose.errors import InputError
from handpose.skeleton import normalize


class PoseSource:
    """Indexable source of :class:`HandSample` with only ``joints_cam_mm`` and ``is_left`` set.

    Args:
        seed: the source's seed.
        num_samples: its length.
        left_fraction: share of left hands.
        distance_mm: (low, high) camera to palm distance.
    """

    def __init__(self, seed: int = 0, num_samples: int = 1_000_000, left_fraction: float = 0.5,
                 distance_mm: tuple[float, float] = (250.0, 900.0)) -> None:
        self.seed = int(seed)
        self.num_samples = int(num_samples)
        self.left_fraction = left_fraction
        self.distance_mm = distance_mm

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> HandSample:
        joints, is_left = self.joints_cam_mm(index, 1)
        return HandSample(joints_cam_mm=joints[0], is_left=bool(is_left[0]))

    def _draw(self, index: int) -> tuple[HandSpec, np.ndarray]:
        rng = np.random.default_rng([self.seed, index])
        return random_hand_spec(rng, self.left_fraction), random_palm_position(rng, self.distance_mm, 30.0)

    def joints_cam_mm(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Samples ``start .. start + count - 1``: ``(joints (count, 21, 3) float32 mm, is_left (count,) bool)``."""
        if count < 1 or start < 0 or start + count > self.num_samples:
            raise IndexError(f"samples in [0, {self.num_samples}) expected, got {start}..{start + count - 1}")
        draws = [self._draw(i) for i in range(start, start + count)]
        joints, is_left = specs_joints_mm([spec for spec, _ in draws], np.stack([target for _, target in draws]))
        return joints.astype(np.float32), is_left

    def joints_norm(self, start: int, count: int) -> np.ndarray:
        """Normalised poses (count, 21, 3) float32 (right-hand frame) of samples ``start ..``."""
        if count < 1:
            raise InputError(f"count >= 1 expected, got {count}")
        joints, is_left = self.joints_cam_mm(start, count)
        return normalize(joints, is_left)[0]


def specs_joints_mm(specs: list[HandSpec], palm_targets_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kinematics of many hands at once: ``(joints (N, 21, 3) float64 mm, is_left (N,) bool)``
    for N specs, each hand moved so that its palm centre (``scene.palm_centre``) lands on its row of
    ``palm_targets_mm`` (N, 3)."""
    is_left = np.array([spec.side == "left" for spec in specs])
    joints = np.empty((len(specs), 21, 3))
    for side in ("right", "left"):
        rows = np.flatnonzero(is_left == (side == "left"))
        if len(rows) == 0:
            continue
        rig = load_rig(side)
        angles = np.stack([specs[r].articulation for r in rows])
        roots = np.stack([root_transform(rig, specs[r]) for r in rows])
        joints[rows] = joints21_mm(forward_kinematics(rig, hand_poses.local_rotations(rig, angles), roots))
    joints += (np.asarray(palm_targets_mm, np.float64) - palm_centre(joints))[:, None, :]
    return joints, is_left
