"""Pose-only data for the pose VAE: random anatomical hand poses as 3D joints, no rendering.

Same pose and viewpoint distribution as the rendered crops (``handpose.data.synthetic``): random
articulations from ``hand_poses``, both hands, random sizes and orientations, placed in front of
the camera. Sample ``i`` of seed ``s`` is always the same. Cheap (kinematics only): tens of
thousands of poses per second.
"""

from __future__ import annotations

import numpy as np

from handpose.data.sample import HandSample
from handpose.data.scene import hand_joints, placement_on_ray, random_hand_spec


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
        if not 0 <= index < self.num_samples:
            raise IndexError(f"sample index in [0, {self.num_samples}) expected, got {index}")
        rng = np.random.default_rng([self.seed, index])
        spec = random_hand_spec(rng, self.left_fraction)
        joints = hand_joints(spec)
        joints = joints + placement_on_ray(rng, joints, self.distance_mm, 30.0)
        return HandSample(joints_cam_mm=joints.astype(np.float32), is_left=spec.side == "left")

    def joints_norm(self, start: int, count: int) -> np.ndarray:
        """Normalised poses (count, 21, 3) float32 of samples ``start .. start + count - 1``."""
        return np.stack([self[i].joints_norm for i in range(start, start + count)])
